//! Decode throughput of canvass ingest next to the ffmpeg CLI on the same clips.
//!
//! `cargo run --release -p canvass-benches --bin decode-bench [-- CLIP_DIR [RUNS]]`
//!
//! Makes noisy 720p and 1080p H.264 clips (with B-frames) with the ffmpeg CLI once, then times,
//! per clip, the median of RUNS (default 3) runs of:
//! - `ffmpeg -threads 0 -i CLIP -f null -` (decode only: the reference),
//! - canvass ingest at 2 fps (decode what sampling needs, scale + JPEG two frames a second: the
//!   default),
//! - canvass ingest at 0 fps (decode, scale and JPEG-encode every frame).
//!
//! Throughput is the clip's frames over each run's time. Prints a Markdown table for the README.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use canvass_benches::clips;
use canvass_benches::measure::{median, run_measured};
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

/// A 10 s noisy 30 fps H.264 clip with B-frames of `size`: film-grain-like noise on a moving
/// pattern is close to the entropy of real camera footage, unlike a clean test pattern that
/// decodes unrealistically fast.
fn make_clip(dir: &Path, name: &str, size: &str) -> PathBuf {
    let source = format!("testsrc2=size={size}:rate=30,noise=alls=25:allf=t+u");
    let args =
        ["-t", "10", "-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "60", "-pix_fmt", "yuv420p"];
    clips::make(dir, name, &["-f", "lavfi", "-i", &source], &args).expect("ffmpeg CLI")
}

/// Seconds the ffmpeg CLI takes to decode every frame of `clip`.
fn ffmpeg_cli_seconds(clip: &Path) -> f64 {
    let mut ffmpeg = Command::new("ffmpeg");
    ffmpeg.args(["-v", "error", "-threads", "0", "-i"]).arg(clip).args(["-f", "null", "-"]);
    run_measured(&mut ffmpeg).expect("ffmpeg CLI").0.wall_s
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
        // The clip's frames (fps 0 decodes every one), which also warms the page cache; at 2 fps
        // canvass decodes fewer.
        let (frames, _) = canvass_run(clip, 0.0);
        let reference = frames as f64 / median((0..runs).map(|_| ffmpeg_cli_seconds(clip)).collect());
        let sampled = frames as f64 / median((0..runs).map(|_| canvass_run(clip, 2.0).1).collect());
        let every = frames as f64 / median((0..runs).map(|_| canvass_run(clip, 0.0).1).collect());
        println!("| {label} | {reference:.0} | {sampled:.0} | {:.2} | {every:.0} |", sampled / reference);
    }
}
