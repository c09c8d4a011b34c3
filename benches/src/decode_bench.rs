//! Decode throughput of canvass ingest next to the ffmpeg CLI on the same clips.
//!
//! `cargo run --release -p canvass-benches --bin decode-bench [-- CLIP_DIR [RUNS]]`
//!
//! Makes noisy 720p and 1080p H.264 clips (with B-frames) with the ffmpeg CLI once, then times,
//! per clip, the median of RUNS (default 3) runs of:
//! - `ffmpeg -threads 0 -i CLIP -f null -` (decode only: the reference),
//! - canvass ingest at 2 fps (decode every frame, scale + JPEG two frames a second: the default),
//! - canvass ingest at 0 fps (decode, scale and JPEG-encode every frame).
//!
//! Prints a Markdown table for the README.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use canvass_ingest::{IngestConfig, InputSpec};
use canvass_schemas::FrameMessage;
use canvass_transport::{FrameSink, TransportError};

struct CountingSink(u64);

impl FrameSink for CountingSink {
    fn send(&mut self, _frame: FrameMessage) -> Result<(), TransportError> {
        self.0 += 1;
        Ok(())
    }
}

fn make_clip(dir: &Path, name: &str, size: &str) -> PathBuf {
    let path = dir.join(name);
    if path.exists() {
        return path;
    }
    eprintln!("making {}", path.display());
    // Film-grain-like noise on a moving pattern: close to the entropy of real camera footage,
    // unlike a clean test pattern that decodes unrealistically fast.
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate=30,noise=alls=25:allf=t+u"))
        .args([
            "-t", "10", "-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "60", "-pix_fmt",
            "yuv420p",
        ])
        .arg(&path)
        .status()
        .expect("ffmpeg CLI");
    assert!(status.success(), "ffmpeg could not make {name}");
    path
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

/// Frames per second decoded by the ffmpeg CLI; the frame count comes from canvass's run.
fn ffmpeg_cli_seconds(clip: &Path) -> f64 {
    let started = Instant::now();
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-threads", "0", "-i"])
        .arg(clip)
        .args(["-f", "null", "-"])
        .status()
        .expect("ffmpeg CLI");
    assert!(status.success());
    started.elapsed().as_secs_f64()
}

fn canvass_run(clip: &Path, fps: f64) -> (u64, f64) {
    let spec = InputSpec::parse(clip.to_str().unwrap());
    let config = IngestConfig { fps, ..IngestConfig::default() };
    let mut sink = CountingSink(0);
    let started = Instant::now();
    let report = canvass_ingest::ingest(&spec, "bench", &config, &mut sink, &mut |_| {}).expect("ingest");
    (report.frames_decoded, started.elapsed().as_secs_f64())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).cloned().unwrap_or_else(|| "target/bench-clips".into()));
    let runs: usize = args.get(2).map_or(3, |r| r.parse().expect("RUNS is a number"));
    std::fs::create_dir_all(&dir).unwrap();
    let clips = [
        ("720p", make_clip(&dir, "noise_720p_h264.mp4", "1280x720")),
        ("1080p", make_clip(&dir, "noise_1080p_h264.mp4", "1920x1080")),
    ];
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "decode throughput, {cores} cores, median of {runs} runs, 10 s noisy H.264 clips at 30 fps with B-frames\n"
    );
    println!(
        "| clip | ffmpeg CLI decode (fps) | canvass ingest, 2 fps sampling (fps) | ratio | canvass, every frame scaled + JPEG (fps) |"
    );
    println!("|---|---|---|---|---|");
    for (label, clip) in &clips {
        let (frames, _) = canvass_run(clip, 2.0); // warm the page cache
        let reference = frames as f64 / median((0..runs).map(|_| ffmpeg_cli_seconds(clip)).collect());
        let sampled = frames as f64 / median((0..runs).map(|_| canvass_run(clip, 2.0).1).collect());
        let every = frames as f64 / median((0..runs).map(|_| canvass_run(clip, 0.0).1).collect());
        println!("| {label} | {reference:.0} | {sampled:.0} | {:.2} | {every:.0} |", sampled / reference);
    }
}
