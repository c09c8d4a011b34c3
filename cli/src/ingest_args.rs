//! How inputs are decoded and sampled: shared by `canvass run` and the `canvass ingest` worker.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::bail;
use canvass_ingest::{IngestConfig, InputSpec};
use chrono::{DateTime, Utc};

use crate::config::FileConfig;

#[derive(clap::Args)]
pub struct IngestArgs {
    /// Source (camera) id for every input; default: derived from each file name or URL.
    #[arg(long)]
    pub source: Option<String>,
    /// Frames sampled per second of video; 0 keeps every frame. [default: 2]
    #[arg(long, env = "CANVASS_FPS")]
    pub fps: Option<f64>,
    /// Wall-clock time of the first frame (RFC 3339, e.g. 2026-11-23T08:00:00Z); default: the
    /// file's creation_time tag, else the time of ingest. Only with a single input.
    #[arg(long)]
    pub start: Option<DateTime<Utc>>,
    /// Longest side of sampled frames in pixels; 0 keeps the decoded size. [default: 640]
    #[arg(long, env = "CANVASS_MAX_SIDE")]
    pub max_side: Option<u32>,
    /// JPEG quality of sampled frames, 1-100. [default: 85]
    #[arg(long, env = "CANVASS_JPEG_QUALITY", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub jpeg_quality: Option<u8>,
    /// Which frames to decode: auto (skip non-reference frames when sampling sparsely, only
    /// keyframes once they come at least as often as samples), all, nonref or keyframes.
    /// [default: auto]
    #[arg(long, env = "CANVASS_DECODE", value_name = "MODE")]
    pub decode: Option<canvass_ingest::DecodeMode>,
    /// Read files no faster than their own frame rate, as a live camera sends them.
    #[arg(long)]
    pub realtime: bool,
    /// Decoder threads; 0 = one per core. [default: 0]
    #[arg(long, env = "CANVASS_DECODER_THREADS")]
    pub decoder_threads: Option<usize>,
    /// Treat http(s) URLs as live feeds: reconnect when they end.
    #[arg(long)]
    pub live: bool,
    /// Reconnect attempts in a row before giving up on a URL. [default: unlimited for live
    /// streams, 5 for others]
    #[arg(long, env = "CANVASS_MAX_RETRIES")]
    pub max_retries: Option<u32>,
}

impl IngestArgs {
    /// Flags over the file's `[ingest]` over the defaults, checked.
    pub fn config(&self, file: &FileConfig, inputs: usize) -> anyhow::Result<IngestConfig> {
        if self.start.is_some() && inputs > 1 {
            bail!("--start gives the wall-clock time of one recording; run each file separately");
        }
        let defaults = IngestConfig::default();
        let fps = self.fps.or(file.ingest.fps).unwrap_or(defaults.fps);
        if !fps.is_finite() || fps < 0.0 {
            bail!("--fps must be 0 (every frame) or a positive number, got {fps}");
        }
        let jpeg_quality = self.jpeg_quality.or(file.ingest.jpeg_quality).unwrap_or(defaults.jpeg_quality);
        if !(1..=100).contains(&jpeg_quality) {
            bail!("jpeg_quality must be 1-100, got {jpeg_quality}");
        }
        let mut reconnect = defaults.reconnect.clone();
        reconnect.max_attempts = self.max_retries.or(file.ingest.max_retries);
        Ok(IngestConfig {
            fps,
            max_side: self.max_side.or(file.ingest.max_side).unwrap_or(defaults.max_side),
            jpeg_quality,
            decoder_threads: self
                .decoder_threads
                .or(file.ingest.decoder_threads)
                .unwrap_or(defaults.decoder_threads),
            decode: self.decode.or(file.ingest.decode).unwrap_or(defaults.decode),
            realtime: self.realtime,
            start: self.start,
            http_is_live: self.live,
            reconnect,
            stop: Arc::new(AtomicBool::new(false)),
            ..defaults
        })
    }

    /// The source id an input gets.
    pub fn source_id(&self, input: &str) -> String {
        match &self.source {
            Some(source) => canvass_ingest::sanitize_source_id(source),
            None => InputSpec::parse(input).default_source_id(),
        }
    }
}

/// The file's `[ingest]` over the defaults, for jobs of stored evidence (no flags of their own).
pub fn file_defaults(file: &FileConfig) -> anyhow::Result<IngestConfig> {
    let none = IngestArgs {
        source: None,
        fps: None,
        start: None,
        max_side: None,
        jpeg_quality: None,
        decoder_threads: None,
        decode: None,
        realtime: false,
        live: false,
        max_retries: None,
    };
    none.config(file, 1)
}
