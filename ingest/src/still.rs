//! One frame of stored footage at a media time, as a JPEG: what an investigator looks at next to
//! an event's thumbnail (the whole scene at that moment, at the size canvass samples).

use ffmpeg_next::media::Type;
use ffmpeg_next::util::frame::video::Video;
use ffmpeg_next::{Error as FfError, ffi};

use crate::convert::{FrameConverter, encode_jpeg, target_size};
use crate::decode::{container_start_time, to_us};
use crate::input::InputSpec;
use crate::{IngestError, open_input};

/// A still of `input` (a stored file) at `media_time_us` (media time as canvass counts it, from
/// the container's start), at most `max_side` pixels; and the media time of the frame found (the
/// first at or after the time asked, or the last frame if the time is past the end).
pub fn frame_at(input: &str, media_time_us: i64, max_side: u32) -> Result<(Vec<u8>, i64), IngestError> {
    let spec = InputSpec::parse(input);
    if spec.path().is_none() {
        return Err(IngestError::Open { reason: "stills are cut from stored files, not streams".into() });
    }
    frame_in(&mut open_input(&spec, None)?, media_time_us, max_side)
}

/// `frame_at` of a file read through `reader` (stored evidence, by ranged reads).
pub fn frame_at_reader(
    reader: Box<dyn crate::MediaRead>,
    media_time_us: i64,
    max_side: u32,
) -> Result<(Vec<u8>, i64), IngestError> {
    crate::init();
    let mut input = crate::custom_io::open(reader)
        .map_err(|(e, why)| IngestError::Open { reason: why.unwrap_or_else(|| e.to_string()) })?;
    frame_in(&mut input, media_time_us, max_side)
}

fn frame_in(
    ctx: &mut ffmpeg_next::format::context::Input,
    media_time_us: i64,
    max_side: u32,
) -> Result<(Vec<u8>, i64), IngestError> {
    let stream =
        ctx.streams().best(Type::Video).ok_or_else(|| IngestError::NoVideoStream { found: "none".into() })?;
    let (stream_index, time_base) = (stream.index(), stream.time_base());
    let codec_ctx = ffmpeg_next::codec::Context::from_parameters(stream.parameters())
        .map_err(|e| IngestError::Decoder(e.to_string()))?;
    let mut decoder = codec_ctx.decoder().video().map_err(|e| IngestError::Decoder(e.to_string()))?;
    let container_start = match container_start_time(ctx) {
        ffi::AV_NOPTS_VALUE => None,
        t => Some(t),
    };
    if let Some(start) = container_start {
        // Seek to the keyframe at or before the time (AV_TIME_BASE is microseconds); decoding
        // from there reaches the exact frame.
        let target = start + media_time_us;
        ctx.seek(target, ..target + 1).map_err(|e| IngestError::Decoder(format!("seek failed: {e}")))?;
    }
    let mut first_ts: Option<i64> = None;
    let mut last: Option<(Video, i64)> = None;
    let mut frame = Video::empty();
    let mut found = |decoder: &mut ffmpeg_next::decoder::Video,
                     last: &mut Option<(Video, i64)>|
     -> Option<(Video, i64)> {
        while decoder.receive_frame(&mut frame).is_ok() {
            let Some(ts) = frame.timestamp() else { continue };
            let ts_us = to_us(ts, time_base);
            let start = container_start.unwrap_or(*first_ts.get_or_insert(ts_us));
            let media = ts_us - start;
            *last = Some((frame.clone(), media));
            if media >= media_time_us {
                return last.take();
            }
        }
        None
    };
    for (stream, packet) in ctx.packets() {
        if stream.index() != stream_index {
            continue;
        }
        if decoder.send_packet(&packet).is_err() {
            continue; // a corrupt packet: the next keyframe recovers
        }
        if let Some(hit) = found(&mut decoder, &mut last) {
            return still(hit, max_side);
        }
    }
    let _ = decoder.send_eof();
    if let Some(hit) = found(&mut decoder, &mut last) {
        return still(hit, max_side);
    }
    last.map_or(Err(IngestError::NoFrames { corrupt_packets: 0 }), |hit| still(hit, max_side))
}

fn still((frame, media_us): (Video, i64), max_side: u32) -> Result<(Vec<u8>, i64), IngestError> {
    let size = target_size(frame.width(), frame.height(), frame.aspect_ratio(), max_side);
    let convert_error = |e: FfError| IngestError::Decoder(format!("cannot convert the frame: {e}"));
    let mut converter =
        FrameConverter::new(frame.format(), frame.width(), frame.height(), size).map_err(convert_error)?;
    let rgb = converter.scale_to_rgb(&frame).map_err(convert_error)?;
    let jpeg = encode_jpeg(&rgb, size.0, size.1, 85).map_err(|e| IngestError::Decoder(e.to_string()))?;
    Ok((jpeg, media_us))
}
