//! Example events for tests: change what a test is about with struct update syntax, keep the
//! rest plausible.

use chrono::{DateTime, Duration, Utc};

use canvass_schemas::{
    Attributes, BestFrame, BoundingBox, Category, Colour, ColourAttribute, DetectionEvent,
    EVENT_SCHEMA_VERSION, EventId, ModelRef, ObjectClass, wire_name,
};

use crate::keys;

/// A red car seen by `source` for one second from `start`; `n` tells events apart (it is the
/// first frame's sequence number, so it goes into the event id).
pub fn event(source: &str, start: DateTime<Utc>, n: u64) -> DetectionEvent {
    event_by(source, start, n, &model("aa"))
}

/// The same, from a given model file.
pub fn event_by(source: &str, start: DateTime<Utc>, n: u64, model: &ModelRef) -> DetectionEvent {
    event_of(source, start, n, ObjectClass::Car, model)
}

/// The same, of any class (weapons get no colour).
pub fn event_of(
    source: &str,
    start: DateTime<Utc>,
    n: u64,
    class: ObjectClass,
    model: &ModelRef,
) -> DetectionEvent {
    let colour = (class.category() == Category::Vehicle)
        .then_some(ColourAttribute { value: Colour::Red, confidence: 0.8 });
    let event_id = EventId::derive(source, "in.mp4", &model.sha256, class, n, 0);
    DetectionEvent {
        schema_version: EVENT_SCHEMA_VERSION,
        thumbnail_key: keys::thumbnail(source, &event_id),
        event_id,
        source_id: source.into(),
        input: "in.mp4".into(),
        category: class.category(),
        class,
        taxonomy_label: class.taxonomy_label().into(),
        model_class: wire_name(&class),
        attributes: Attributes { colour, ..Default::default() },
        confidence: 0.8,
        mean_confidence: 0.7,
        frames: 2,
        media_start_us: n as i64 * 500_000,
        media_end_us: n as i64 * 500_000 + 1_000_000,
        wall_start: start,
        wall_end: start + Duration::seconds(1),
        best_frame: BestFrame {
            sequence: n,
            media_time_us: n as i64 * 500_000,
            bbox: BoundingBox { x: 0.1, y: 0.1, width: 0.2, height: 0.2 },
            confidence: 0.8,
        },
        model: model.clone(),
        case: None,
        evidence_sha256: None,
    }
}

/// A vehicle model file with the given checksum.
pub fn model(sha256: &str) -> ModelRef {
    ModelRef { name: "yolox_nano_coco".into(), version: "1".into(), sha256: sha256.into() }
}
