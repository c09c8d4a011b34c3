//! A span of stored footage as an MP4 a browser plays: the video stream copied from the keyframe
//! before the span when its codec and pixel format play in browsers (no quality lost, cheap),
//! otherwise decoded and re-encoded to H.264. The clip's time 0 is its first frame; `Clip`
//! says which media time that is, so a player can be set to an event's moment.

use std::path::Path;

use ffmpeg_next::codec::{self, Id};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::format::context::{Input, Output};
use ffmpeg_next::media::Type;
use ffmpeg_next::software::scaling;
use ffmpeg_next::util::frame::video::Video;
use ffmpeg_next::{Dictionary, Packet, Rational, encoder, ffi, format, picture};

use crate::decode::{container_start_time, to_us};
use crate::input::InputSpec;
use crate::{IngestError, open_input};

/// How a clip is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClipMethod {
    /// Copy when the codec plays in browsers, else re-encode.
    #[default]
    Auto,
    /// Copy the stream (from the keyframe before the span): fails for codecs browsers do not play.
    Copy,
    /// Decode and re-encode to H.264, starting at the span's first frame.
    Reencode,
}

/// A clip that was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// Media time (as canvass counts it, from the container's start) of the clip's time 0.
    pub start_us: i64,
    /// Media time of the end of the clip's last frame.
    pub end_us: i64,
    /// `Copy` or `Reencode`: what was done.
    pub method: ClipMethod,
    /// The source's video codec.
    pub source_codec: String,
    pub frames: u64,
}

impl Clip {
    pub fn duration_us(&self) -> i64 {
        self.end_us - self.start_us
    }
}

/// Re-encoded clips are at most this wide or tall: clips are for watching, the original is kept.
const REENCODE_MAX_SIDE: u32 = 1920;

/// Writes the footage of `input` (a stored file) from `from_us` to `to_us` (media time) to
/// `out` as MP4.
pub fn clip(
    input: &str,
    from_us: i64,
    to_us: i64,
    method: ClipMethod,
    out: &Path,
) -> Result<Clip, IngestError> {
    let spec = InputSpec::parse(input);
    if spec.path().is_none() {
        return Err(IngestError::Open { reason: "clips are cut from stored files, not streams".into() });
    }
    clip_in(&mut open_input(&spec, None)?, from_us, to_us, method, out)
}

/// `clip` of a file read through `reader` (stored evidence, by ranged reads).
pub fn clip_reader(
    reader: Box<dyn crate::MediaRead>,
    from_us: i64,
    to_us: i64,
    method: ClipMethod,
    out: &Path,
) -> Result<Clip, IngestError> {
    crate::init();
    let mut input = crate::custom_io::open(reader)
        .map_err(|(e, why)| IngestError::Open { reason: why.unwrap_or_else(|| e.to_string()) })?;
    clip_in(&mut input, from_us, to_us, method, out)
}

/// Whether browsers play this stream as it is inside MP4: H.264, VP9 or AV1 in 8-bit 4:2:0.
fn plays_in_browsers(id: Id, format: i32) -> bool {
    let yuv420 =
        [ffi::AVPixelFormat::AV_PIX_FMT_YUV420P as i32, ffi::AVPixelFormat::AV_PIX_FMT_YUVJ420P as i32];
    matches!(id, Id::H264 | Id::VP9 | Id::AV1) && yuv420.contains(&format)
}

fn clip_in(
    ctx: &mut Input,
    from_us: i64,
    to_us: i64,
    method: ClipMethod,
    out: &Path,
) -> Result<Clip, IngestError> {
    if to_us <= from_us {
        return Err(IngestError::Open { reason: format!("an empty span ({from_us} to {to_us} µs)") });
    }
    let stream =
        ctx.streams().best(Type::Video).ok_or_else(|| IngestError::NoVideoStream { found: "none".into() })?;
    let parameters = stream.parameters();
    let id = parameters.id();
    let format = unsafe { (*parameters.as_ptr()).format };
    let source_codec = format!("{id:?}").to_ascii_lowercase();
    let method = match method {
        ClipMethod::Auto if plays_in_browsers(id, format) => ClipMethod::Copy,
        ClipMethod::Auto => ClipMethod::Reencode,
        ClipMethod::Copy if !plays_in_browsers(id, format) => {
            return Err(IngestError::UnsupportedCodec {
                codec: format!("{source_codec} (to copy into a browser clip)"),
            });
        }
        chosen => chosen,
    };
    let container_start = match container_start_time(ctx) {
        ffi::AV_NOPTS_VALUE => 0,
        t => t,
    };
    // To the keyframe at or before the span's start (AV_TIME_BASE is microseconds).
    let target = container_start + from_us.max(0);
    ctx.seek(target, ..target + 1).map_err(|e| IngestError::Decoder(format!("seek failed: {e}")))?;
    let mut output = format::output_as(out, "mp4")
        .map_err(|e| IngestError::Unreadable(format!("cannot write the clip: {e}")))?;
    let span = Span { container_start, from_us, to_us };
    let (start_us, end_us, frames) = match method {
        ClipMethod::Reencode => reencode(ctx, &mut output, span)?,
        _ => copy(ctx, &mut output, span)?,
    };
    output.write_trailer().map_err(|e| IngestError::Unreadable(format!("cannot finish the clip: {e}")))?;
    if frames == 0 || end_us <= from_us {
        return Err(IngestError::PastTheEnd { from_s: from_us as f64 / 1e6, end_s: end_us as f64 / 1e6 });
    }
    Ok(Clip { start_us, end_us, method, source_codec, frames })
}

#[derive(Clone, Copy)]
struct Span {
    container_start: i64,
    from_us: i64,
    to_us: i64,
}

impl Span {
    fn media_us(&self, ts: i64, base: Rational) -> i64 {
        to_us(ts, base) - self.container_start
    }
}

fn write_error(e: ffmpeg_next::Error) -> IngestError {
    IngestError::Unreadable(format!("cannot write the clip: {e}"))
}

/// The MP4 index goes first, so a player starts before the last byte arrives.
fn header(output: &mut Output) -> Result<(), IngestError> {
    let mut options = Dictionary::new();
    options.set("movflags", "+faststart");
    output.write_header_with(options).map(|_| ()).map_err(write_error)
}

/// Copies the stream's packets from the keyframe the seek found to the first packet past the
/// span; returns (start, end, frames).
fn copy(ctx: &mut Input, output: &mut Output, span: Span) -> Result<(i64, i64, u64), IngestError> {
    let stream = ctx.streams().best(Type::Video).expect("checked by the caller");
    let (index, in_base) = (stream.index(), stream.time_base());
    let rate = stream.avg_frame_rate();
    let mut out_stream = output.add_stream(encoder::find(Id::None)).map_err(write_error)?;
    out_stream.set_parameters(stream.parameters());
    // The source container's tag may mean nothing in MP4; the muxer picks its own.
    unsafe { (*out_stream.parameters().as_mut_ptr()).codec_tag = 0 };
    out_stream.set_time_base(in_base);
    header(output)?;
    let out_base = output.stream(0).expect("added above").time_base();
    let frame_us = frame_duration_us(rate);
    let mut shift: Option<(i64, i64)> = None; // (first keyframe's pts, its media time)
    let (mut end_us, mut frames) = (0i64, 0u64);
    for (s, mut packet) in ctx.packets() {
        if s.index() != index {
            continue;
        }
        let Some(pts) = packet.pts().or(packet.dts()) else { continue };
        let decode_ts = packet.dts().unwrap_or(pts);
        if shift.is_none() {
            if !packet.is_key() {
                continue; // the seek landed before a keyframe: nothing decodes until one
            }
            shift = Some((pts, span.media_us(pts, in_base)));
        }
        if span.media_us(decode_ts, in_base) > span.to_us {
            break;
        }
        let (zero, _) = shift.expect("set above");
        let media = span.media_us(pts, in_base);
        end_us = end_us.max(media + packet_duration_us(&packet, in_base, frame_us));
        packet.set_pts(Some(pts - zero));
        packet.set_dts(packet.dts().map(|d| d - zero));
        packet.set_stream(0);
        packet.set_position(-1);
        packet.rescale_ts(in_base, out_base);
        packet.write_interleaved(output).map_err(write_error)?;
        frames += 1;
    }
    let start_us = shift.map_or(span.from_us, |(_, media)| media);
    Ok((start_us, end_us, frames))
}

fn frame_duration_us(rate: Rational) -> i64 {
    if rate.numerator() > 0 && rate.denominator() > 0 {
        1_000_000 * i64::from(rate.denominator()) / i64::from(rate.numerator())
    } else {
        40_000
    }
}

fn packet_duration_us(packet: &Packet, base: Rational, fallback: i64) -> i64 {
    match packet.duration() {
        d if d > 0 => to_us(d, base),
        _ => fallback,
    }
}

/// Decodes from the keyframe the seek found, drops frames before the span, and encodes the
/// rest to H.264; returns (start, end, frames).
fn reencode(ctx: &mut Input, output: &mut Output, span: Span) -> Result<(i64, i64, u64), IngestError> {
    let stream = ctx.streams().best(Type::Video).expect("checked by the caller");
    let (index, in_base) = (stream.index(), stream.time_base());
    let rate = stream.avg_frame_rate();
    let mut decoder = codec::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().video())
        .map_err(|e| IngestError::Decoder(e.to_string()))?;
    let h264 = encoder::find_by_name("libx264").or_else(|| encoder::find(Id::H264)).ok_or_else(|| {
        IngestError::UnsupportedCodec { codec: "h264 (no H.264 encoder in this FFmpeg build)".into() }
    })?;
    let mut encoding: Option<Encoding> = None;
    let (mut start_us, mut end_us, mut frames) = (None::<i64>, 0i64, 0u64);
    let frame_us = frame_duration_us(rate);
    let mut frame = Video::empty();
    let mut drain = |decoder: &mut ffmpeg_next::decoder::Video,
                     encoding: &mut Option<Encoding>,
                     output: &mut Output|
     -> Result<bool, IngestError> {
        while decoder.receive_frame(&mut frame).is_ok() {
            let Some(ts) = frame.timestamp() else { continue };
            let media = span.media_us(ts, in_base);
            if media + frame_us <= span.from_us {
                continue;
            }
            if media > span.to_us {
                return Ok(true);
            }
            let enc = match encoding {
                Some(enc) => enc,
                None => encoding.insert(Encoding::open(h264, &frame, rate, output)?),
            };
            let first = *start_us.get_or_insert(media);
            enc.send(&frame, media - first, output)?;
            end_us = media + frame_us;
            frames += 1;
        }
        Ok(false)
    };
    let mut past_span = false;
    for (s, packet) in ctx.packets() {
        if s.index() != index {
            continue;
        }
        if decoder.send_packet(&packet).is_err() {
            continue; // a corrupt packet: the next keyframe recovers
        }
        if drain(&mut decoder, &mut encoding, output)? {
            past_span = true;
            break;
        }
    }
    if !past_span {
        let _ = decoder.send_eof();
        drain(&mut decoder, &mut encoding, output)?;
    }
    if let Some(enc) = encoding.as_mut() {
        enc.finish(output)?;
    }
    Ok((start_us.unwrap_or(span.from_us), end_us, frames))
}

/// The H.264 encoder of a re-encoded clip, opened on its first frame (its size and format).
struct Encoding {
    encoder: encoder::video::Encoder,
    scaler: scaling::Context,
    scaled: Video,
    out_base: Rational,
    frame_us: i64,
}

/// The encoder counts time in microseconds; the muxer picks its own time base.
const MICROS: Rational = Rational(1, 1_000_000);

impl Encoding {
    fn open(
        codec: ffmpeg_next::Codec,
        first: &Video,
        rate: Rational,
        output: &mut Output,
    ) -> Result<Self, IngestError> {
        let (width, height) = even_size(first.width(), first.height());
        let failed =
            |e: ffmpeg_next::Error| IngestError::Decoder(format!("cannot start the H.264 encoder: {e}"));
        let mut enc = codec::Context::new_with_codec(codec).encoder().video().map_err(failed)?;
        enc.set_width(width);
        enc.set_height(height);
        enc.set_aspect_ratio(first.aspect_ratio());
        enc.set_format(Pixel::YUV420P);
        enc.set_time_base(MICROS);
        if rate.numerator() > 0 {
            enc.set_frame_rate(Some(rate));
        }
        if output.format().flags().contains(format::Flags::GLOBAL_HEADER) {
            enc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut options = Dictionary::new();
        options.set("preset", "veryfast");
        options.set("crf", "23");
        let encoder = enc.open_with(options).map_err(failed)?;
        let mut stream = output.add_stream(codec).map_err(write_error)?;
        stream.set_parameters(&encoder);
        stream.set_time_base(MICROS);
        header(output)?;
        let out_base = output.stream(0).expect("added above").time_base();
        let scaler = scaling::Context::get(
            first.format(),
            first.width(),
            first.height(),
            Pixel::YUV420P,
            width,
            height,
            scaling::Flags::BILINEAR,
        )
        .map_err(failed)?;
        Ok(Encoding { encoder, scaler, scaled: Video::empty(), out_base, frame_us: frame_duration_us(rate) })
    }

    fn send(&mut self, frame: &Video, pts_us: i64, output: &mut Output) -> Result<(), IngestError> {
        self.scaler
            .run(frame, &mut self.scaled)
            .map_err(|e| IngestError::Decoder(format!("cannot scale: {e}")))?;
        self.scaled.set_pts(Some(pts_us));
        self.scaled.set_kind(picture::Type::None);
        self.encoder
            .send_frame(&self.scaled)
            .map_err(|e| IngestError::Decoder(format!("cannot encode: {e}")))?;
        self.write_packets(output)
    }

    fn finish(&mut self, output: &mut Output) -> Result<(), IngestError> {
        self.encoder.send_eof().map_err(|e| IngestError::Decoder(format!("cannot finish encoding: {e}")))?;
        self.write_packets(output)
    }

    fn write_packets(&mut self, output: &mut Output) -> Result<(), IngestError> {
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            if packet.duration() <= 0 {
                // Without it the muxer gives the last frame no time, and players drop it.
                packet.set_duration(self.frame_us);
            }
            packet.rescale_ts(MICROS, self.out_base);
            packet.write_interleaved(output).map_err(write_error)?;
        }
        Ok(())
    }
}

/// The frame's size within `REENCODE_MAX_SIDE`, even (4:2:0 needs it).
fn even_size(width: u32, height: u32) -> (u32, u32) {
    let scale = (REENCODE_MAX_SIDE as f64 / width.max(height) as f64).min(1.0);
    let even = |v: u32| ((v as f64 * scale) as u32 / 2 * 2).max(2);
    (even(width), even(height))
}
