//! What a segment holds, in a few hundred bytes: enough to decide without opening it whether a
//! query can match (Quickwit prunes splits the same way).

use std::collections::BTreeSet;

use canvass_schemas::{Colour, DetectionEvent, ObjectClass};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentSummary {
    /// Key of the Parquet object.
    pub segment: String,
    pub events: usize,
    pub wall_min: DateTime<Utc>,
    pub wall_max: DateTime<Utc>,
    pub sources: BTreeSet<String>,
    pub classes: BTreeSet<ObjectClass>,
    pub colours: BTreeSet<Colour>,
    /// `name@version` of the models that produced the events.
    pub models: BTreeSet<String>,
    pub max_confidence: f32,
    /// When the segment was written: with several model versions for a source, search shows
    /// the most recently written one (batch reprocessing with a newer model).
    pub written_at: DateTime<Utc>,
}

impl SegmentSummary {
    /// Summarises a non-empty batch of events.
    pub fn of(segment: String, events: &[DetectionEvent], written_at: DateTime<Utc>) -> Self {
        assert!(!events.is_empty(), "segments are never empty");
        SegmentSummary {
            segment,
            events: events.len(),
            wall_min: events.iter().map(|e| e.wall_start).min().expect("non-empty"),
            wall_max: events.iter().map(|e| e.wall_end).max().expect("non-empty"),
            sources: events.iter().map(|e| e.source_id.clone()).collect(),
            classes: events.iter().map(|e| e.class).collect(),
            colours: events.iter().filter_map(|e| e.attributes.colour.as_ref().map(|c| c.value)).collect(),
            models: events.iter().map(|e| format!("{}@{}", e.model.name, e.model.version)).collect(),
            max_confidence: events.iter().map(|e| e.confidence).fold(0.0, f32::max),
            written_at,
        }
    }
}
