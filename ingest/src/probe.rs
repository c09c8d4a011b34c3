//! `canvass probe`: what an input holds, without decoding it.

use ffmpeg_next::media::Type;
use ffmpeg_next::{Rational, format};

use crate::{IngestError, InputSpec, open_input};

#[derive(Debug, Clone, serde::Serialize)]
pub struct ProbeReport {
    pub input: String,
    pub container: String,
    /// Seconds, when the container declares it.
    pub duration_s: Option<f64>,
    pub start_s: f64,
    pub bit_rate: Option<i64>,
    pub creation_time: Option<String>,
    pub streams: Vec<StreamInfo>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StreamInfo {
    pub index: usize,
    pub kind: String,
    pub codec: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub pixel_format: Option<String>,
    /// Average frame rate; variable-rate streams report their mean.
    pub frame_rate: Option<f64>,
    pub frames: Option<i64>,
    pub duration_s: Option<f64>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u16>,
}

pub fn probe(spec: &InputSpec) -> Result<ProbeReport, IngestError> {
    let ctx = open_input(spec, None)?;
    Ok(describe(spec, &ctx))
}

fn seconds(value: i64, base: Rational) -> Option<f64> {
    (value != ffmpeg_next::ffi::AV_NOPTS_VALUE && base.denominator() != 0)
        .then(|| value as f64 * base.numerator() as f64 / base.denominator() as f64)
}

pub(crate) fn rate(r: Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0).then(|| r.numerator() as f64 / r.denominator() as f64)
}

pub(crate) fn describe(spec: &InputSpec, ctx: &format::context::Input) -> ProbeReport {
    let av_time_base = Rational::new(1, ffmpeg_next::ffi::AV_TIME_BASE);
    let streams = ctx
        .streams()
        .map(|stream| {
            let params = stream.parameters();
            let kind = params.medium();
            let codec = params.id().name().to_string();
            let mut info = StreamInfo {
                index: stream.index(),
                kind: format!("{kind:?}").to_lowercase(),
                codec,
                width: None,
                height: None,
                pixel_format: None,
                frame_rate: None,
                frames: (stream.frames() > 0).then(|| stream.frames()),
                duration_s: seconds(stream.duration(), stream.time_base()).filter(|d| *d > 0.0),
                sample_rate: None,
                channels: None,
            };
            // A codec this FFmpeg cannot decode still gets its kind and name listed.
            let decoder = ffmpeg_next::codec::Context::from_parameters(params).map(|c| c.decoder());
            match (kind, decoder) {
                (Type::Video, Ok(decoder)) => {
                    info.frame_rate = rate(stream.avg_frame_rate()).or_else(|| rate(stream.rate()));
                    if let Ok(video) = decoder.video() {
                        info.width = Some(video.width());
                        info.height = Some(video.height());
                        info.pixel_format = video.format().descriptor().map(|d| d.name().to_string());
                    }
                }
                (Type::Audio, Ok(decoder)) => {
                    if let Ok(audio) = decoder.audio() {
                        info.sample_rate = Some(audio.rate());
                        info.channels = Some(audio.channels());
                    }
                }
                _ => {}
            }
            info
        })
        .collect();
    ProbeReport {
        input: spec.display_name(),
        container: ctx.format().name().to_string(),
        duration_s: seconds(ctx.duration(), av_time_base).filter(|d| *d > 0.0),
        start_s: seconds(crate::decode::container_start_time(ctx), av_time_base).unwrap_or(0.0),
        bit_rate: (ctx.bit_rate() > 0).then(|| ctx.bit_rate()),
        creation_time: ctx.metadata().get("creation_time").map(str::to_string),
        streams,
    }
}
