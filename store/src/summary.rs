//! What a segment holds, in a few kilobytes: enough to decide without opening it whether a query
//! can match (Quickwit prunes splits the same way).

use std::collections::BTreeSet;

use canvass_schemas::{Colour, DetectionEvent, ModelRef, ObjectClass};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::filters::MIN_COLOUR_SCORE;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentSummary {
    /// Key of the Parquet object.
    pub segment: String,
    /// Its size, so readers can fetch its footer and columns by range.
    pub bytes: u64,
    pub events: usize,
    /// Earliest event start.
    pub wall_min: DateTime<Utc>,
    /// Latest event start: two segments whose start ranges do not overlap cannot share an event.
    pub last_start: DateTime<Utc>,
    /// Latest event end.
    pub wall_max: DateTime<Utc>,
    pub sources: BTreeSet<String>,
    pub classes: BTreeSet<ObjectClass>,
    pub colours: BTreeSet<Colour>,
    /// The model files that produced the events.
    pub models: BTreeSet<ModelRef>,
    pub max_confidence: f32,
    /// When the segment was written: where two versions of a model cover the same source and
    /// time, search shows the one written last (batch reprocessing with a newer model).
    pub written_at: DateTime<Utc>,
    /// The cases whose evidence the events were found in (absent in summaries of v1 segments).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub cases: BTreeSet<String>,
}

impl SegmentSummary {
    /// Summarises a non-empty batch of events.
    pub fn of(segment: String, bytes: u64, events: &[DetectionEvent], written_at: DateTime<Utc>) -> Self {
        assert!(!events.is_empty(), "segments are never empty");
        SegmentSummary {
            segment,
            bytes,
            events: events.len(),
            wall_min: events.iter().map(|e| e.wall_start).min().expect("non-empty"),
            last_start: events.iter().map(|e| e.wall_start).max().expect("non-empty"),
            wall_max: events.iter().map(|e| e.wall_end).max().expect("non-empty"),
            sources: events.iter().map(|e| e.source_id.clone()).collect(),
            classes: events.iter().map(|e| e.class).collect(),
            // Every colour a search could find the event by, not only its first.
            colours: events
                .iter()
                .flat_map(|e| {
                    let distribution = e.attributes.colours.iter().filter(|c| c.score >= MIN_COLOUR_SCORE);
                    e.attributes
                        .colour
                        .as_ref()
                        .map(|c| c.value)
                        .into_iter()
                        .chain(distribution.map(|c| c.colour))
                })
                .collect(),
            models: events.iter().map(|e| e.model.clone()).collect(),
            max_confidence: events.iter().map(|e| e.confidence).fold(0.0, f32::max),
            written_at,
            cases: events.iter().filter_map(|e| e.case.clone()).collect(),
        }
    }
}
