//! Ingest: decode an evidence file or a live stream with FFmpeg, keep frames at a target rate by
//! media time, scale them to the detector's working size, and hand them to a `FrameSink`.
//!
//! Module map: `input` (what to open), `decode` (the decode loop), `decode_skip` (which frames
//! need not be decoded at all), `sampler` (which frames to keep), `convert` (swscale + JPEG),
//! `clock` (wall-clock time), `reconnect` (streams),
//! `diagnose` (why a file would not open), `probe` (`canvass probe`), `still` and `clip` (a frame
//! or a span of stored footage, for watching).

mod clip;
mod clock;
mod convert;
mod custom_io;
mod decode;
mod decode_skip;
mod diagnose;
mod error;
mod input;
mod probe;
mod reconnect;
mod sampler;
mod still;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use canvass_schemas::{ImageEncoding, WallClockSource};
use canvass_transport::FrameSink;
use chrono::{DateTime, Utc};
use ffmpeg_next::Dictionary;
use ffmpeg_next::format::context::Input;

pub use canvass_schemas::sanitize_source_id;
pub use clip::{Clip, ClipMethod, clip, clip_reader};
pub use clock::WallClock;
pub use convert::encode_jpeg;
pub use custom_io::MediaRead;
pub use decode_skip::DecodeMode;
pub use error::IngestError;
pub use input::InputSpec;
pub use probe::{ProbeReport, StreamInfo, probe};
pub use reconnect::ReconnectPolicy;
pub use still::{frame_at, frame_at_reader};

/// How to ingest. `Default` matches the CLI's defaults.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Frames kept per second of media time; 0 keeps every frame.
    pub fps: f64,
    /// Longest side of the frames handed on, in pixels; 0 keeps the decoded size.
    pub max_side: u32,
    pub jpeg_quality: u8,
    /// How sampled frames travel: JPEG where they cross a process boundary (Kafka), raw RGB
    /// when the detector is in the same process.
    pub frame_encoding: ImageEncoding,
    /// Which frames the decoder may skip (see `DecodeMode`).
    pub decode: DecodeMode,
    /// Read a file no faster than its own frame rate, as a camera would send it (live tests
    /// and benchmarks).
    pub realtime: bool,
    /// Decoder threads; 0 lets FFmpeg choose (one per core).
    pub decoder_threads: usize,
    /// Wall-clock time of the first frame, overriding the container's `creation_time`.
    pub start: Option<DateTime<Utc>>,
    /// Treat `http(s)://` inputs as live feeds (reconnect at their end) rather than files.
    pub http_is_live: bool,
    pub reconnect: ReconnectPolicy,
    /// Network read timeout for URLs.
    pub io_timeout: Duration,
    /// Set to stop ingest cleanly (Ctrl-C, SIGTERM); frames already decoded are delivered.
    pub stop: Arc<AtomicBool>,
    /// The name frames (and so events) give the input when it is read from elsewhere: stored
    /// evidence reprocessed from a private copy keeps the name it was ingested under, so its
    /// events keep their ids.
    pub input_name: Option<String>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            fps: 2.0,
            max_side: 640,
            jpeg_quality: 85,
            frame_encoding: ImageEncoding::Jpeg,
            decode: DecodeMode::Auto,
            realtime: false,
            decoder_threads: 0,
            start: None,
            http_is_live: false,
            reconnect: ReconnectPolicy::default(),
            io_timeout: Duration::from_secs(10),
            stop: Arc::new(AtomicBool::new(false)),
            input_name: None,
        }
    }
}

/// Where ingest of one input stands, for progress bars.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub frames_decoded: u64,
    pub frames_sampled: u64,
    pub media_time_us: i64,
    /// Declared duration of the input, when it has one.
    pub duration_us: Option<i64>,
    /// Reconnects of a stream so far.
    pub reconnects: u32,
}

/// What ingest of one input did.
#[derive(Debug, Clone)]
pub struct IngestReport {
    pub input: String,
    pub source_id: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub frames_decoded: u64,
    pub frames_sampled: u64,
    /// Packets the demuxer flagged or the decoder rejected, and frames decoded with errors;
    /// each was skipped or concealed, not fatal.
    pub corrupt_packets: u64,
    /// Media time of the last decoded frame.
    pub media_end_us: i64,
    pub wall_clock: WallClock,
    pub reconnects: u32,
    /// Media time lost to reconnects (a live stream runs on while it is down).
    pub missed_us: i64,
    /// Stopped by the stop flag rather than by the end of the input.
    pub interrupted: bool,
    pub elapsed: Duration,
}

impl IngestReport {
    pub fn wall_clock_source(&self) -> WallClockSource {
        self.wall_clock.source
    }
}

/// Initialises FFmpeg once per process. FFmpeg's own log is silenced because ingest reports
/// problems itself; set `CANVASS_FFMPEG_LOG=warning` (or error/info/debug) to see it.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        ffmpeg_next::init().expect("ffmpeg initialises");
        use ffmpeg_next::util::log::Level;
        let level = match std::env::var("CANVASS_FFMPEG_LOG").unwrap_or_default().as_str() {
            "error" => Level::Error,
            "warning" => Level::Warning,
            "info" => Level::Info,
            "debug" => Level::Debug,
            _ => Level::Quiet,
        };
        ffmpeg_next::util::log::set_level(level);
    });
}

/// Opens an input with the options that matter for network sources and a stop hook.
pub(crate) fn open_input(spec: &InputSpec, config: Option<&IngestConfig>) -> Result<Input, IngestError> {
    init();
    spec.preflight()?;
    let mut options = Dictionary::new();
    let stop = config.map(|c| c.stop.clone()).unwrap_or_default();
    let io_timeout = config.map_or(Duration::from_secs(10), |c| c.io_timeout);
    if let InputSpec::Url { scheme, .. } = spec {
        let timeout_us = io_timeout.as_micros().to_string();
        options.set("rw_timeout", &timeout_us);
        if scheme.starts_with("rtsp") {
            // TCP interleaving survives NAT and lossy links that drop RTP over UDP.
            options.set("rtsp_transport", "tcp");
            options.set("timeout", &timeout_us);
        }
    }
    let started = Instant::now();
    ffmpeg_next::format::input_with_interrupt_and_dictionary(
        spec.ffmpeg_target(),
        move || stop.load(Ordering::Relaxed),
        options,
    )
    .map_err(|e| match e {
        ffmpeg_next::Error::HttpUnauthorized | ffmpeg_next::Error::HttpForbidden => {
            IngestError::AccessDenied { reason: e.to_string() }
        }
        // A server that accepts and then says nothing ends in FFmpeg's generic "invalid data"
        // once the socket timeout passes: say what happened instead.
        _ if spec.path().is_none() && started.elapsed() >= io_timeout.mul_f64(0.9) => IngestError::Open {
            reason: format!(
                "no answer within {} s ({})",
                io_timeout.as_secs_f64(),
                e.to_string().to_lowercase()
            ),
        },
        _ => IngestError::Open { reason: diagnose::explain_open_failure(spec.path(), &e) },
    })
}

/// Ingests one input into `sink`. For files this returns at the end of the file; for live
/// streams it reconnects with backoff until the stop flag is set or the retries run out.
///
/// Frames are delivered as they are decoded, so an error after some frames (a truncated file)
/// still leaves those frames with the sink.
pub fn ingest(
    spec: &InputSpec,
    source_id: &str,
    config: &IngestConfig,
    sink: &mut dyn FrameSink,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<IngestReport, IngestError> {
    let started = Instant::now();
    let live = spec.is_live(config.http_is_live);
    // A finite URL is retried a few times; a live stream for as long as the policy allows.
    let max_attempts = config.reconnect.max_attempts.or((!live).then_some(5));
    let is_url = matches!(spec, InputSpec::Url { .. });
    let name = config.input_name.clone().unwrap_or_else(|| spec.display_name());
    let mut state = decode::RunState::new(name, source_id.to_string());
    state.live = live;
    let mut failed_attempts = 0u32;
    loop {
        if config.stop.load(Ordering::Relaxed) {
            return state.finish(started, true);
        }
        let last_error = match open_input(spec, Some(config)) {
            Ok(mut ctx) => {
                let frames_before = state.frames_decoded;
                let end = decode::run_session(&mut ctx, &mut state, config, sink, on_progress)?;
                if state.frames_decoded > frames_before {
                    failed_attempts = 0;
                }
                match end {
                    decode::SessionEnd::Stopped => return state.finish(started, true),
                    decode::SessionEnd::EndOfInput if !live => return state.finish_input(started),
                    decode::SessionEnd::ReadError(e) if !is_url => {
                        return Err(state.read_error(e));
                    }
                    decode::SessionEnd::EndOfInput => "stream ended".to_string(),
                    decode::SessionEnd::ReadError(e) => e,
                }
            }
            Err(e) if !is_url => return Err(e),
            Err(e @ IngestError::AccessDenied { .. }) => return Err(e),
            Err(e) => e.to_string(),
        };
        failed_attempts += 1;
        if max_attempts.is_some_and(|max| failed_attempts >= max) {
            return Err(IngestError::GaveUp { attempts: failed_attempts, last_error });
        }
        let delay = config.reconnect.delay(failed_attempts);
        tracing::warn!(input = %spec.display_name(), error = %last_error, retry_in_s = delay.as_secs_f64(), "reconnecting");
        state.reconnects += 1;
        if !reconnect::sleep_unless_stopped(delay, &config.stop) {
            return state.finish(started, true);
        }
    }
}

/// Ingests a file read through `reader` (stored evidence, by ranged reads: no local copy),
/// named `name` in its frames. One pass: there is nothing to reconnect to.
pub fn ingest_reader(
    reader: Box<dyn MediaRead>,
    name: &str,
    source_id: &str,
    config: &IngestConfig,
    sink: &mut dyn FrameSink,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<IngestReport, IngestError> {
    init();
    let started = Instant::now();
    let mut input = custom_io::open(reader).map_err(|(e, source_error)| IngestError::Open {
        reason: match source_error {
            Some(why) => format!("reading it failed: {why}"),
            None => format!("FFmpeg cannot read it as video: {e}"),
        },
    })?;
    let mut state = decode::RunState::new(name.to_string(), source_id.to_string());
    let end = decode::run_session(&mut input, &mut state, config, sink, on_progress)?;
    match end {
        decode::SessionEnd::Stopped => state.finish(started, true),
        decode::SessionEnd::EndOfInput => state.finish_input(started),
        decode::SessionEnd::ReadError(e) => {
            Err(state.read_error(input.source_error().map_or(e, |why| format!("reading it failed: {why}"))))
        }
    }
}
