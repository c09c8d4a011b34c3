//! The decode loop: packets from one opened input, through the decoder, to sampled frames.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use canvass_schemas::{FRAME_SCHEMA_VERSION, FrameHeader, FrameMessage, ImageEncoding, WallClockSource};
use canvass_transport::FrameSink;
use chrono::Utc;
use ffmpeg_next::codec::threading;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::media::Type;
use ffmpeg_next::util::frame::video::Video;
use ffmpeg_next::{Error as FfError, Packet, Rational, ffi};

use crate::convert::{FrameConverter, encode_jpeg, target_size};
use crate::decode_skip::SkipPolicy;
use crate::probe::rate;
use crate::sampler::FrameSampler;
use crate::{IngestConfig, IngestError, IngestReport, Progress, WallClock};

/// Consecutive read errors after which a file is considered unreadable from that point on.
const MAX_CONSECUTIVE_READ_ERRORS: u32 = 32;
/// A file whose last frame is further than this from its declared end was cut short.
const TRUNCATION_SLACK_US: i64 = 1_000_000;
/// Used when a stream declares no frame rate at all.
const FALLBACK_FRAME_INTERVAL_US: i64 = 40_000;
/// Call the progress hook at least every this many decoded frames.
const PROGRESS_EVERY_FRAMES: u64 = 30;

pub(crate) enum SessionEnd {
    EndOfInput,
    Stopped,
    /// The input failed mid-way; for a stream, a reason to reconnect.
    ReadError(String),
}

/// State that lives across reconnects of one input.
/// How long a live clock keeps following its frames' arrival.
const ANCHOR_WINDOW_US: i64 = 10_000_000;

pub(crate) struct RunState {
    input: String,
    source_id: String,
    pub(crate) frames_decoded: u64,
    frames_sampled: u64,
    corrupt_packets: u64,
    pub(crate) reconnects: u32,
    /// Media time lost to reconnects: the stream ran on while nothing was received.
    missed_us: i64,
    /// A live input: its frames arrive as they happen.
    pub(crate) live: bool,
    /// A live input's clock of the ingest time follows its frames' arrival: opening a stream
    /// reads ahead (probing) and decodes that backlog in a burst, so the moment it opened is
    /// later than its first frame arrived. Media time 0 is taken as the earliest `now - media
    /// time` over the first frames, which no frame can have arrived before.
    anchor_to_arrival: bool,
    codec: String,
    width: u32,
    height: u32,
    wall_clock: Option<WallClock>,
    sampler: Option<FrameSampler>,
    converter: Option<FrameConverter>,
    first_open: Option<Instant>,
    /// Media time given to the start of the current connection.
    session_offset_us: i64,
    /// Last media time handed out, to keep time moving forward across reconnects.
    last_media_us: Option<i64>,
    /// Last frame's own timestamp (not relative to the start), for the truncation check.
    last_stream_ts_us: Option<i64>,
    frame_interval_us: i64,
    declared_duration_us: Option<i64>,
}

impl RunState {
    pub(crate) fn new(input: String, source_id: String) -> Self {
        RunState {
            input,
            source_id,
            frames_decoded: 0,
            frames_sampled: 0,
            corrupt_packets: 0,
            reconnects: 0,
            missed_us: 0,
            live: false,
            anchor_to_arrival: false,
            codec: String::new(),
            width: 0,
            height: 0,
            wall_clock: None,
            sampler: None,
            converter: None,
            first_open: None,
            session_offset_us: 0,
            last_media_us: None,
            last_stream_ts_us: None,
            frame_interval_us: FALLBACK_FRAME_INTERVAL_US,
            declared_duration_us: None,
        }
    }

    fn report(&self, started: Instant, interrupted: bool) -> IngestReport {
        IngestReport {
            input: self.input.clone(),
            source_id: self.source_id.clone(),
            codec: self.codec.clone(),
            width: self.width,
            height: self.height,
            frames_decoded: self.frames_decoded,
            frames_sampled: self.frames_sampled,
            corrupt_packets: self.corrupt_packets,
            media_end_us: self.last_media_us.unwrap_or(0),
            wall_clock: self.wall_clock.unwrap_or(WallClock::resolve(None, None, Utc::now())),
            reconnects: self.reconnects,
            missed_us: self.missed_us,
            interrupted,
            elapsed: started.elapsed(),
        }
    }

    pub(crate) fn finish(&self, started: Instant, interrupted: bool) -> Result<IngestReport, IngestError> {
        Ok(self.report(started, interrupted))
    }

    /// The end of a file: fine if it decoded to (about) its declared end.
    pub(crate) fn finish_input(&self, started: Instant) -> Result<IngestReport, IngestError> {
        let Some(last) = self.last_media_us else {
            return Err(IngestError::NoFrames { corrupt_packets: self.corrupt_packets });
        };
        if let Some(declared) = self.declared_duration_us {
            // Containers disagree on whether a declared duration counts from the start time or
            // from 0 (Matroska with an offset), so only call it truncated if both readings say so.
            let last_end = last.max(self.last_stream_ts_us.unwrap_or(last));
            let decoded_until = last_end + self.frame_interval_us;
            if decoded_until + TRUNCATION_SLACK_US < declared {
                return Err(IngestError::Truncated {
                    decoded_until_s: decoded_until as f64 / 1e6,
                    declared_s: declared as f64 / 1e6,
                    frames_sampled: self.frames_sampled,
                });
            }
        }
        Ok(self.report(started, false))
    }

    pub(crate) fn read_error(&self, reason: String) -> IngestError {
        IngestError::Read {
            at_s: self.last_media_us.unwrap_or(0) as f64 / 1e6,
            reason,
            frames_sampled: self.frames_sampled,
        }
    }
}

/// A timestamp in `base` units, in microseconds.
pub(crate) fn to_us(value: i64, base: Rational) -> i64 {
    let us = Rational::new(1, 1_000_000);
    unsafe { ffi::av_rescale_q(value, base.into(), us.into()) }
}

/// Decodes one connection to the input until it ends, fails or is stopped.
pub(crate) fn run_session(
    ctx: &mut Input,
    state: &mut RunState,
    config: &IngestConfig,
    sink: &mut dyn FrameSink,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<SessionEnd, IngestError> {
    let stream = ctx
        .streams()
        .best(Type::Video)
        .filter(|s| !s.disposition().contains(ffmpeg_next::format::stream::Disposition::ATTACHED_PIC))
        .ok_or_else(|| IngestError::NoVideoStream { found: describe_streams(ctx) })?;
    let stream_index = stream.index();
    let time_base = stream.time_base();
    let frame_rate = rate(stream.avg_frame_rate()).or_else(|| rate(stream.rate()));

    let mut codec_ctx = ffmpeg_next::codec::Context::from_parameters(stream.parameters())
        .map_err(|e| IngestError::Decoder(e.to_string()))?;
    codec_ctx.set_threading(threading::Config {
        kind: threading::Type::Frame,
        count: config.decoder_threads,
        ..Default::default()
    });
    let codec_name = stream.parameters().id().name().to_string();
    let mut decoder = codec_ctx.decoder().video().map_err(|e| match e {
        FfError::DecoderNotFound => IngestError::UnsupportedCodec { codec: codec_name.clone() },
        other => IngestError::Decoder(other.to_string()),
    })?;

    // Media time 0 is the container's start, as a player shows it; a stream whose timestamps
    // start at 10 s has its first frame at media time 0.
    let start_us = match container_start_time(ctx) {
        ffi::AV_NOPTS_VALUE => None,
        t => Some(t), // AV_TIME_BASE is microseconds
    };
    let now = Instant::now();
    let first_open = *state.first_open.get_or_insert(now);
    if let Some(last) = state.last_media_us {
        // Reconnected: carry on from the time that really passed, never backwards.
        let elapsed = now.duration_since(first_open).as_micros() as i64;
        state.session_offset_us = elapsed.max(last + state.frame_interval_us);
        let missed = state.session_offset_us - (last + state.frame_interval_us);
        state.missed_us += missed;
        tracing::warn!(input = %state.input, missed_s = missed as f64 / 1e6, "reconnected: the stream went on without us for this long");
    }
    if state.wall_clock.is_none() {
        let container_tag = ctx.metadata().get("creation_time").map(str::to_string);
        let tag = container_tag.or_else(|| stream.metadata().get("creation_time").map(str::to_string));
        let clock = WallClock::resolve(config.start, tag.as_deref(), Utc::now());
        tracing::info!(input = %state.input, source = ?clock.source, origin = %clock.origin.to_rfc3339(), "wall clock");
        state.anchor_to_arrival = state.live && clock.source == WallClockSource::Ingest;
        state.wall_clock = Some(clock);
        state.frame_interval_us = frame_rate.map_or(FALLBACK_FRAME_INTERVAL_US, |r| (1e6 / r).round() as i64);
        state.sampler = Some(FrameSampler::new(config.fps, state.frame_interval_us));
        state.codec = codec_name;
        state.width = decoder.width();
        state.height = decoder.height();
        let stream_duration = (stream.duration() > 0).then(|| to_us(stream.duration(), time_base));
        let container_duration = (ctx.duration() > 0).then(|| ctx.duration());
        state.declared_duration_us = stream_duration.or(container_duration);
    }

    let mut skip = SkipPolicy::new(config.decode, config.fps, state.frame_interval_us);
    decoder.skip_frame(skip.current());
    let mut session =
        Session { state, stream_start_us: start_us, time_base, last_ts_us: None, config, sink, on_progress };
    let mut packet = Packet::empty();
    let mut consecutive_read_errors = 0u32;
    // `realtime`: when this session started and the first packet's timestamp.
    let mut pace: Option<(Instant, i64)> = None;
    let end = loop {
        if config.stop.load(Ordering::Relaxed) {
            break SessionEnd::Stopped;
        }
        match packet.read(ctx) {
            Ok(()) => consecutive_read_errors = 0,
            Err(FfError::Eof) => break SessionEnd::EndOfInput,
            Err(FfError::Exit) => break SessionEnd::Stopped,
            Err(e) => {
                consecutive_read_errors += 1;
                session.state.corrupt_packets += 1;
                if consecutive_read_errors >= MAX_CONSECUTIVE_READ_ERRORS {
                    break SessionEnd::ReadError(e.to_string().to_lowercase());
                }
                continue;
            }
        }
        if packet.stream() != stream_index {
            continue;
        }
        if packet.is_corrupt() {
            session.state.corrupt_packets += 1;
        }
        if let Some(ts_us) = packet.pts().or(packet.dts()).map(|ts| to_us(ts, time_base)) {
            let media_us =
                session.stream_start_us.map(|start| session.state.session_offset_us + ts_us - start);
            let sampler = session.state.sampler.as_ref().expect("sampler set before decoding");
            let near_sample = media_us.is_none_or(|t| sampler.is_near_slot(t));
            if let Some(discard) = skip.on_packet(packet.is_key(), ts_us, near_sample) {
                decoder.skip_frame(discard);
            }
            if skip.skips() {
                // Frames go undecoded, so the last decoded one may be well before the end: the
                // truncation check goes by what was read.
                let last = session.state.last_stream_ts_us.get_or_insert(ts_us);
                *last = (*last).max(ts_us);
            }
            if config.realtime {
                let (started, first_us) = *pace.get_or_insert((Instant::now(), ts_us));
                let due = started + std::time::Duration::from_micros((ts_us - first_us).max(0) as u64);
                if !crate::reconnect::sleep_unless_stopped(
                    due.saturating_duration_since(Instant::now()),
                    &config.stop,
                ) {
                    break SessionEnd::Stopped;
                }
            }
        }
        if decoder.send_packet(&packet).is_err() {
            // The decoder rejected this packet (corrupt data); it resynchronises on the next.
            session.state.corrupt_packets += 1;
        }
        session.drain(&mut decoder)?;
    };
    // Flush the frames the decoder still holds (B-frame reordering, frame threads).
    if !matches!(end, SessionEnd::Stopped) && decoder.send_eof().is_ok() {
        session.drain(&mut decoder)?;
    }
    Ok(end)
}

struct Session<'a> {
    state: &'a mut RunState,
    stream_start_us: Option<i64>,
    time_base: Rational,
    last_ts_us: Option<i64>,
    config: &'a IngestConfig,
    sink: &'a mut dyn FrameSink,
    on_progress: &'a mut dyn FnMut(&Progress),
}

impl Session<'_> {
    fn drain(&mut self, decoder: &mut ffmpeg_next::decoder::Video) -> Result<(), IngestError> {
        let mut frame = Video::empty();
        while decoder.receive_frame(&mut frame).is_ok() {
            self.on_frame(&frame)?;
        }
        Ok(())
    }

    fn on_frame(&mut self, frame: &Video) -> Result<(), IngestError> {
        let state = &mut *self.state;
        state.frames_decoded += 1;
        if frame.is_corrupt() || frame.has_decode_errors() {
            state.corrupt_packets += 1;
        }
        // Frames without a timestamp (raw elementary streams) get one a frame after the last.
        let ts_us = match frame.timestamp() {
            Some(ts) => to_us(ts, self.time_base),
            None => self.last_ts_us.map_or(0, |t| t + state.frame_interval_us),
        };
        self.last_ts_us = Some(ts_us);
        state.last_stream_ts_us = Some(state.last_stream_ts_us.map_or(ts_us, |t| t.max(ts_us)));
        let start = *self.stream_start_us.get_or_insert(ts_us);
        let media_time_us = state.session_offset_us + (ts_us - start);
        if state.anchor_to_arrival
            && let Some(clock) = &mut state.wall_clock
        {
            // This frame came now: media time 0 was at most `media_time_us` ago, in wall time
            // and for the reconnect arithmetic alike.
            let arrived_at_zero = Utc::now() - chrono::Duration::microseconds(media_time_us.max(0));
            if arrived_at_zero < clock.origin {
                clock.origin = arrived_at_zero;
                let ago = Duration::from_micros(media_time_us.max(0) as u64);
                state.first_open = Some(Instant::now().checked_sub(ago).unwrap_or_else(Instant::now));
            }
            // A few seconds in, the backlog is long decoded and frames come as they happen.
            state.anchor_to_arrival = media_time_us < ANCHOR_WINDOW_US;
        }
        if state.last_media_us.is_none_or(|last| media_time_us > last) {
            state.last_media_us = Some(media_time_us);
        }
        let keep = state.sampler.as_mut().expect("sampler set before decoding").keep(media_time_us);
        if keep {
            let message = self.convert(frame, media_time_us)?;
            self.sink.send(message)?;
            self.state.frames_sampled += 1;
        }
        let state = &*self.state;
        if keep || state.frames_decoded.is_multiple_of(PROGRESS_EVERY_FRAMES) {
            (self.on_progress)(&Progress {
                frames_decoded: state.frames_decoded,
                frames_sampled: state.frames_sampled,
                media_time_us,
                duration_us: state.declared_duration_us,
                reconnects: state.reconnects,
            });
        }
        Ok(())
    }

    fn convert(&mut self, frame: &Video, media_time_us: i64) -> Result<FrameMessage, IngestError> {
        let state = &mut *self.state;
        if !state.converter.as_ref().is_some_and(|c| c.matches(frame)) {
            // First frame, or the stream changed resolution.
            let size = target_size(frame.width(), frame.height(), frame.aspect_ratio(), self.config.max_side);
            let converter = FrameConverter::new(frame.format(), frame.width(), frame.height(), size)
                .map_err(|e| {
                    IngestError::Decoder(format!("cannot scale {:?} frames: {e}", frame.format()))
                })?;
            state.converter = Some(converter);
        }
        let converter = state.converter.as_mut().expect("set above");
        let (width, height) = converter.output_size();
        let rgb = converter
            .scale_to_rgb(frame)
            .map_err(|e| IngestError::Decoder(format!("scaling failed: {e}")))?;
        let encoding = self.config.frame_encoding;
        let image = match encoding {
            ImageEncoding::Rgb24 => rgb,
            ImageEncoding::Jpeg => encode_jpeg(&rgb, width, height, self.config.jpeg_quality)
                .map_err(|e| IngestError::Decoder(format!("jpeg encoding failed: {e}")))?,
        };
        let clock = state.wall_clock.expect("clock set before decoding");
        Ok(FrameMessage {
            header: FrameHeader {
                schema_version: FRAME_SCHEMA_VERSION,
                source_id: state.source_id.clone(),
                input: state.input.clone(),
                sequence: state.frames_sampled,
                media_time_us,
                wall_time: clock.at(media_time_us),
                wall_clock_source: clock.source,
                original_width: frame.width(),
                original_height: frame.height(),
                width,
                height,
                encoding,
                encoded_bytes: image.len() as u32,
            },
            image,
        })
    }
}

fn describe_streams(ctx: &Input) -> String {
    let found: Vec<String> = ctx
        .streams()
        .map(|s| {
            let p = s.parameters();
            format!("{} {}", format!("{:?}", p.medium()).to_lowercase(), p.id().name())
        })
        .collect();
    if found.is_empty() { "none".into() } else { found.join(", ") }
}

/// The container's start time in microseconds (`AVFormatContext.start_time`, which the safe
/// wrapper does not expose).
pub(crate) fn container_start_time(ctx: &Input) -> i64 {
    unsafe { (*ctx.as_ptr()).start_time }
}
