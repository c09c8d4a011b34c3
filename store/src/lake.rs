//! Writing and reading the lake.

use std::collections::{BTreeMap, BTreeSet};

use canvass_schemas::{Colour, DetectionEvent, ObjectClass};
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use sha2::{Digest, Sha256};

use crate::object_store::ObjectStore;
use crate::summary::SegmentSummary;
use crate::{StoreError, segment};

pub const EVENTS_PREFIX: &str = "events/v1/";
const SUMMARY_SUFFIX: &str = ".summary.json";
/// Segments are closed at this many events (about 10 MB of Parquet).
pub const MAX_EVENTS_PER_SEGMENT: usize = 100_000;

/// What a query can rule out before opening segments. Empty sets and `None` mean "any".
#[derive(Debug, Clone, Default)]
pub struct Pruning {
    pub sources: BTreeSet<String>,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    pub classes: BTreeSet<ObjectClass>,
    pub colours: BTreeSet<Colour>,
    pub min_confidence: Option<f32>,
}

/// How much of the lake a scan touched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub summaries_read: usize,
    pub segments_opened: usize,
}

/// An event and when its segment was written.
pub type WrittenEvent = (DetectionEvent, DateTime<Utc>);

pub struct EventLake<S> {
    store: S,
}

/// Partition of an event: source, day and hour of its start.
fn partition_prefix(source: &str, wall: DateTime<Utc>) -> String {
    format!("{EVENTS_PREFIX}source={source}/date={}/hour={:02}/", wall.format("%Y-%m-%d"), wall.hour())
}

/// A segment's name: the hash of its sorted event ids, so writing the same events again
/// replaces the same object instead of adding a copy.
fn segment_name(events: &[DetectionEvent]) -> String {
    let mut hasher = Sha256::new();
    for e in events {
        hasher.update(e.event_id.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize()[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// `date=YYYY-MM-DD/` in a folder key, as a day.
fn parse_date_dir(dir: &str) -> Option<NaiveDate> {
    let name = dir.trim_end_matches('/').rsplit('/').next()?;
    NaiveDate::parse_from_str(name.strip_prefix("date=")?, "%Y-%m-%d").ok()
}

impl<S: ObjectStore> EventLake<S> {
    pub fn new(store: S) -> Self {
        EventLake { store }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Writes events as segments, one or more per partition; returns the segment keys. Each
    /// segment is complete before its summary is written, and readers only see segments that
    /// have a summary.
    pub fn write(&self, events: &[DetectionEvent]) -> Result<Vec<String>, StoreError> {
        let mut partitions: BTreeMap<String, Vec<DetectionEvent>> = BTreeMap::new();
        for e in events {
            partitions.entry(partition_prefix(&e.source_id, e.wall_start)).or_default().push(e.clone());
        }
        let mut keys = Vec::new();
        let written_at = Utc::now();
        for (prefix, mut group) in partitions {
            group.sort_by(|a, b| a.event_id.cmp(&b.event_id));
            group.dedup_by(|a, b| a.event_id == b.event_id);
            for chunk in group.chunks(MAX_EVENTS_PER_SEGMENT) {
                let key = format!("{prefix}{}.parquet", segment_name(chunk));
                self.store.put(&key, &segment::encode(chunk)?)?;
                let summary = serde_json::to_vec(&SegmentSummary::of(key.clone(), chunk, written_at))
                    .expect("summaries serialise");
                self.store.put(&format!("{key}{SUMMARY_SUFFIX}"), &summary)?;
                keys.push(key);
            }
        }
        Ok(keys)
    }

    pub fn put_thumbnail(&self, key: &str, jpeg: &[u8]) -> Result<(), StoreError> {
        self.store.put(key, jpeg)
    }

    pub fn thumbnail(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.store.get(key)
    }

    /// Summaries of the segments that can hold events matching `pruning`: partitions are
    /// ruled out by their path (source, day), segments by their summary.
    pub fn segments(
        &self,
        pruning: &Pruning,
        stats: &mut ScanStats,
    ) -> Result<Vec<SegmentSummary>, StoreError> {
        let source_dirs: Vec<String> = if pruning.sources.is_empty() {
            self.store.list_dirs(EVENTS_PREFIX)?
        } else {
            pruning.sources.iter().map(|s| format!("{EVENTS_PREFIX}source={s}/")).collect()
        };
        let first_day = pruning.after.map(|t| t.date_naive());
        let last_day = pruning.before.map(|t| t.date_naive());
        let mut found = Vec::new();
        for source_dir in source_dirs {
            for date_dir in self.store.list_dirs(&source_dir)? {
                let Some(day) = parse_date_dir(&date_dir) else { continue };
                if first_day.is_some_and(|d| day < d) || last_day.is_some_and(|d| day > d) {
                    continue;
                }
                for object in self.store.list(&date_dir)? {
                    if !object.key.ends_with(SUMMARY_SUFFIX) {
                        continue;
                    }
                    stats.summaries_read += 1;
                    let summary: SegmentSummary = match serde_json::from_slice(&self.store.get(&object.key)?)
                    {
                        Ok(summary) => summary,
                        Err(e) => {
                            tracing::warn!(key = %object.key, error = %e, "skipping unreadable segment summary");
                            continue;
                        }
                    };
                    if summary_can_match(&summary, pruning) {
                        found.push(summary);
                    }
                }
            }
        }
        Ok(found)
    }

    pub fn read_segment(
        &self,
        summary: &SegmentSummary,
        stats: &mut ScanStats,
    ) -> Result<Vec<DetectionEvent>, StoreError> {
        stats.segments_opened += 1;
        segment::decode(self.store.get(&summary.segment)?)
    }

    /// Every event that passes `pruning` and `keep`, once each (by event id), with scan stats.
    pub fn scan(
        &self,
        pruning: &Pruning,
        keep: impl Fn(&DetectionEvent) -> bool,
    ) -> Result<(Vec<DetectionEvent>, ScanStats), StoreError> {
        let (events, stats) = self.scan_with_write_times(pruning, keep)?;
        Ok((events.into_iter().map(|(event, _)| event).collect(), stats))
    }

    /// Like `scan`, with the time each event's segment was written.
    pub fn scan_with_write_times(
        &self,
        pruning: &Pruning,
        keep: impl Fn(&DetectionEvent) -> bool,
    ) -> Result<(Vec<WrittenEvent>, ScanStats), StoreError> {
        let mut stats = ScanStats::default();
        let mut seen = BTreeSet::new();
        let mut events = Vec::new();
        for summary in self.segments(pruning, &mut stats)? {
            for event in self.read_segment(&summary, &mut stats)? {
                if event_matches(&event, pruning) && keep(&event) && seen.insert(event.event_id.clone()) {
                    events.push((event, summary.written_at));
                }
            }
        }
        Ok((events, stats))
    }
}

fn summary_can_match(s: &SegmentSummary, p: &Pruning) -> bool {
    let in_time = p.after.is_none_or(|t| s.wall_max >= t) && p.before.is_none_or(|t| s.wall_min <= t);
    let class_ok = p.classes.is_empty() || !p.classes.is_disjoint(&s.classes);
    let colour_ok = p.colours.is_empty() || !p.colours.is_disjoint(&s.colours);
    let conf_ok = p.min_confidence.is_none_or(|c| s.max_confidence >= c);
    in_time && class_ok && colour_ok && conf_ok
}

/// The same conditions as the pruning, on one event.
pub fn event_matches(e: &DetectionEvent, p: &Pruning) -> bool {
    let in_time = p.after.is_none_or(|t| e.wall_end >= t) && p.before.is_none_or(|t| e.wall_start <= t);
    let source_ok = p.sources.is_empty() || p.sources.contains(&e.source_id);
    let class_ok = p.classes.is_empty() || p.classes.contains(&e.class);
    let colour_ok =
        p.colours.is_empty() || e.attributes.colour.as_ref().is_some_and(|c| p.colours.contains(&c.value));
    let conf_ok = p.min_confidence.is_none_or(|c| e.confidence >= c);
    in_time && source_ok && class_ok && colour_ok && conf_ok
}

#[cfg(test)]
mod tests;
