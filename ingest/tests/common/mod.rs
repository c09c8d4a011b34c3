//! Shared helpers for ingest tests: real clips made by the ffmpeg CLI, and a sink that keeps
//! what it is given.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

use canvass_ingest::{IngestConfig, IngestError, IngestReport, InputSpec};
use canvass_schemas::{FrameHeader, FrameMessage};
use canvass_transport::{FrameSink, TransportError};

/// The set-up step's asset folder (`scripts/setup`), or `CANVASS_ASSETS`.
pub fn assets_dir() -> PathBuf {
    let dir = std::env::var_os("CANVASS_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets"));
    assert!(dir.join("media/video").is_dir(), "{} has no media: run scripts/setup first", dir.display());
    dir
}

pub fn sample_video(name: &str) -> PathBuf {
    assets_dir().join("media/video").join(name)
}

/// Runs the ffmpeg CLI to make a test clip in `dir`; `args` go between `-y` and the output.
pub fn make_clip(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .expect("the ffmpeg CLI is installed (scripts/setup)");
    assert!(status.success(), "ffmpeg failed making {name}");
    out
}

/// A noisy, moving test pattern: `testsrc2` plus temporal noise, so encoders do real work.
pub fn lavfi_source(size: &str, rate: u32, seconds: f64) -> Vec<String> {
    vec![
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        format!("testsrc2=size={size}:rate={rate},noise=alls=20:allf=t"),
        "-t".into(),
        seconds.to_string(),
    ]
}

#[derive(Default)]
pub struct CollectSink {
    pub frames: Vec<FrameMessage>,
}

impl FrameSink for CollectSink {
    fn send(&mut self, frame: FrameMessage) -> Result<(), TransportError> {
        // Through the wire format, exactly as the channel and Kafka transports carry it.
        self.frames.push(FrameMessage::decode(&frame.encode())?);
        Ok(())
    }
}

pub struct Outcome {
    pub result: Result<IngestReport, IngestError>,
    pub frames: Vec<FrameHeader>,
    pub images: Vec<Vec<u8>>,
}

pub fn ingest_with(input: &str, config: &IngestConfig) -> Outcome {
    let mut sink = CollectSink::default();
    let spec = InputSpec::parse(input);
    let result = canvass_ingest::ingest(&spec, &spec.default_source_id(), config, &mut sink, &mut |_| {});
    let (frames, images) = sink.frames.into_iter().map(|m| (m.header, m.image)).unzip();
    Outcome { result, frames, images }
}

pub fn ingest_path(path: &Path, fps: f64) -> Outcome {
    ingest_with(path.to_str().unwrap(), &IngestConfig { fps, ..IngestConfig::default() })
}

pub fn media_times(frames: &[FrameHeader]) -> Vec<i64> {
    frames.iter().map(|f| f.media_time_us).collect()
}

/// Asserts sampled frames sit within `tolerance_us` of slots `0, 1/fps, 2/fps, ...`.
pub fn assert_on_grid(frames: &[FrameHeader], fps: f64, tolerance_us: i64) {
    let slot = 1e6 / fps;
    for (k, f) in frames.iter().enumerate() {
        let expected = (k as f64 * slot).round() as i64;
        assert!(
            (f.media_time_us - expected).abs() <= tolerance_us,
            "frame {k} at {} us, expected {expected} ± {tolerance_us}",
            f.media_time_us
        );
    }
}
