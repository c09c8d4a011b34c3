//! How events are shown: one row shape for the terminal table and the `--json` objects, shared
//! by `canvass run` (its summary) and `canvass search`.

use canvass_schemas::{DetectionEvent, wire_name};
use chrono::SecondsFormat;
use serde::Serialize;

/// One event as a user sees it.
#[derive(Serialize)]
pub struct Hit<'a> {
    pub event_id: &'a str,
    pub source: &'a str,
    pub class: String,
    pub colour: Option<String>,
    pub confidence: f32,
    pub start: String,
    pub end: String,
    pub media_start_s: f64,
    pub media_end_s: f64,
    /// Media time of the best frame and the object's box in it: x, y, width, height as
    /// fractions of the frame.
    pub best_s: f64,
    pub best_box: [f32; 4],
    pub thumbnail: String,
    pub input: &'a str,
    pub model: String,
    /// The case whose evidence the event was found in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<&'a str>,
    /// The colour distribution, best first.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub colours: &'a [canvass_schemas::ColourScore],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motion: Option<&'a canvass_schemas::Motion>,
}

impl<'a> Hit<'a> {
    /// `base` is where thumbnail keys resolve (`s3://bucket/prefix`), or empty for the key alone.
    pub fn of(e: &'a DetectionEvent, base: &str) -> Self {
        Hit {
            event_id: &e.event_id,
            source: &e.source_id,
            class: wire_name(&e.class),
            colour: e.attributes.colour.as_ref().map(|c| wire_name(&c.value)),
            confidence: e.confidence,
            start: e.wall_start.to_rfc3339_opts(SecondsFormat::Millis, true),
            end: e.wall_end.to_rfc3339_opts(SecondsFormat::Millis, true),
            media_start_s: e.media_start_us as f64 / 1e6,
            media_end_s: e.media_end_us as f64 / 1e6,
            best_s: e.best_frame.media_time_us as f64 / 1e6,
            best_box: {
                let b = &e.best_frame.bbox;
                [b.x, b.y, b.width, b.height]
            },
            thumbnail: match base {
                "" => e.thumbnail_key.clone(),
                base => format!("{}/{}", base.trim_end_matches('/'), e.thumbnail_key),
            },
            input: &e.input,
            model: format!("{}@{}", e.model.name, e.model.version),
            case: e.case.as_deref(),
            colours: &e.attributes.colours,
            motion: e.attributes.motion.as_ref(),
        }
    }
}

pub fn print_table(hits: &[Hit]) {
    println!(
        "{:<24} {:<20} {:<10} {:<7} {:>5} {:>12}  thumbnail",
        "time", "source", "class", "colour", "conf", "media s"
    );
    for h in hits {
        println!(
            "{:<24} {:<20} {:<10} {:<7} {:>5.2} {:>5.1}-{:<6.1}  {}",
            h.start,
            h.source,
            h.class,
            h.colour.as_deref().unwrap_or("-"),
            h.confidence,
            h.media_start_s,
            h.media_end_s,
            h.thumbnail
        );
    }
}
