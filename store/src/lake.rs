//! Writing and reading the lake.

use std::collections::{BTreeMap, BTreeSet};

use canvass_schemas::{Colour, DetectionEvent, ObjectClass};
use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use crate::filters::{MotionFilter, TimeOfDay};
use crate::object_store::ObjectStore;
use crate::scan::{self, Match, RowView};
use crate::summary::SegmentSummary;
use crate::{StoreError, keys, segment};

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
    /// Only these events (looking one up by id).
    pub event_ids: BTreeSet<String>,
    /// Only events found in evidence of these cases.
    pub cases: BTreeSet<String>,
    pub motion: MotionFilter,
    /// Hours and weekdays, checked row by row.
    pub time_of_day: Option<TimeOfDay>,
}

/// How much of the lake a scan touched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub summaries_read: usize,
    pub segments_opened: usize,
}

pub struct EventLake<S> {
    store: S,
}

/// A segment's name: the hash of its sorted event ids, so writing the same events again
/// replaces the same object instead of adding a copy.
fn segment_name(events: &[DetectionEvent]) -> String {
    let mut ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    ids.sort_unstable();
    let mut hasher = Sha256::new();
    for id in ids {
        hasher.update(id.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize()[..12].iter().map(|b| format!("{b:02x}")).collect()
}

impl<S: ObjectStore> EventLake<S> {
    pub fn new(store: S) -> Self {
        EventLake { store }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Writes events as segments, one or more per day; returns the segment keys. Rows are
    /// sorted by source and time, which keeps a source's events together for readers that
    /// skip by Parquet statistics. Each segment is complete before its summary is written, and
    /// readers only see segments that have a summary.
    pub fn write(&self, events: &[DetectionEvent]) -> Result<Vec<String>, StoreError> {
        self.write_as_of(events, Utc::now())
    }

    /// `write`, recording `written_at` as the write time: a segment rewritten without some of
    /// its events (retention) keeps its place among model versions.
    pub fn write_as_of(
        &self,
        events: &[DetectionEvent],
        written_at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let mut days: BTreeMap<NaiveDate, Vec<DetectionEvent>> = BTreeMap::new();
        for e in events {
            days.entry(e.wall_start.date_naive()).or_default().push(e.clone());
        }
        let mut keys = Vec::new();
        for (day, mut group) in days {
            group.sort_by(|a, b| a.event_id.cmp(&b.event_id));
            group.dedup_by(|a, b| a.event_id == b.event_id);
            group.sort_by(|a, b| {
                (&a.source_id, a.wall_start, &a.event_id).cmp(&(&b.source_id, b.wall_start, &b.event_id))
            });
            for chunk in group.chunks(MAX_EVENTS_PER_SEGMENT) {
                let key = keys::segment(day, &segment_name(chunk));
                let encoded = segment::encode(chunk)?;
                self.store.put(&key, &encoded)?;
                let summary = SegmentSummary::of(key.clone(), encoded.len() as u64, chunk, written_at);
                let summary = serde_json::to_vec(&summary).expect("summaries serialise");
                self.store.put(&keys::summary(&key), &summary)?;
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

    /// Summaries of the segments that hold events of the query's sources and time range: days
    /// are ruled out by their folder, segments by their summary. What they hold (classes,
    /// colours) is checked by `find`, so callers can reason about every segment in range.
    pub fn segments_in_range(
        &self,
        pruning: &Pruning,
        stats: &mut ScanStats,
    ) -> Result<Vec<SegmentSummary>, StoreError> {
        let first_day = pruning.after.map(|t| t.date_naive());
        let last_day = pruning.before.map(|t| t.date_naive());
        let mut summary_keys = Vec::new();
        for date_dir in self.store.list_dirs(keys::EVENTS)? {
            let Some(day) = keys::day_of_folder(&date_dir) else { continue };
            // An event is filed under its start day and may end on the next.
            if first_day.is_some_and(|d| day < d - chrono::Days::new(1)) || last_day.is_some_and(|d| day > d)
            {
                continue;
            }
            summary_keys.extend(
                self.store
                    .list(&date_dir)?
                    .into_iter()
                    .map(|o| o.key)
                    .filter(|k| k.ends_with(keys::SUMMARY_SUFFIX)),
            );
        }
        stats.summaries_read += summary_keys.len();
        let summaries = scan::parallel_map(&summary_keys, |key| {
            Ok(match serde_json::from_slice::<SegmentSummary>(&self.store.get(key)?) {
                Ok(summary) => Some(summary),
                Err(e) => {
                    tracing::warn!(%key, error = %e, "skipping unreadable segment summary");
                    None
                }
            })
        })?;
        let in_range = |s: &SegmentSummary| {
            pruning.after.is_none_or(|t| s.wall_max >= t)
                && pruning.before.is_none_or(|t| s.wall_min <= t)
                && (pruning.sources.is_empty() || !pruning.sources.is_disjoint(&s.sources))
        };
        Ok(summaries.into_iter().flatten().filter(in_range).collect())
    }

    /// The rows of `candidates` (from `segments_in_range`) that match `pruning` and `keep`,
    /// once per event id, in no particular order. Opens only segments whose summary can match.
    pub fn find(
        &self,
        candidates: &[SegmentSummary],
        pruning: &Pruning,
        keep: Option<&(dyn Fn(&RowView) -> bool + Sync)>,
        stats: &mut ScanStats,
    ) -> Result<Vec<Match>, StoreError> {
        let (matches, opened) = scan::find(&self.store, candidates, pruning, keep)?;
        stats.segments_opened += opened;
        Ok(matches)
    }

    /// The whole events for `matches`, in the order given.
    pub fn fetch(
        &self,
        candidates: &[SegmentSummary],
        matches: &[Match],
    ) -> Result<Vec<DetectionEvent>, StoreError> {
        let mut by_segment: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for m in matches {
            by_segment.entry(m.segment).or_default().push(m.row);
        }
        let groups: Vec<(usize, Vec<usize>)> = by_segment
            .into_iter()
            .map(|(segment, mut rows)| {
                rows.sort_unstable();
                rows.dedup();
                (segment, rows)
            })
            .collect();
        let decoded = scan::parallel_map(&groups, |(segment, rows)| {
            let key = &candidates[*segment].segment;
            let events =
                segment::decode_rows(self.store.get(key)?, rows).map_err(|e| scan::in_segment(key, e))?;
            Ok(rows.iter().copied().zip(events).collect::<BTreeMap<usize, DetectionEvent>>())
        })?;
        let by_place: BTreeMap<(usize, usize), DetectionEvent> = groups
            .iter()
            .zip(decoded)
            .flat_map(|((segment, _), events)| events.into_iter().map(move |(row, e)| ((*segment, row), e)))
            .collect();
        Ok(matches.iter().map(|m| by_place[&(m.segment, m.row)].clone()).collect())
    }

    /// Every event of one segment.
    pub fn segment_events(&self, summary: &SegmentSummary) -> Result<Vec<DetectionEvent>, StoreError> {
        segment::decode(self.store.get(&summary.segment)?).map_err(|e| scan::in_segment(&summary.segment, e))
    }

    /// Removes a segment: its summary first, so readers stop seeing it before its data goes.
    pub fn remove_segment(&self, summary: &SegmentSummary) -> Result<(), StoreError> {
        self.store.delete(&keys::summary(&summary.segment))?;
        self.store.delete(&summary.segment)
    }

    /// Every event that matches `pruning`, once each (by event id), with scan stats.
    pub fn scan(&self, pruning: &Pruning) -> Result<(Vec<DetectionEvent>, ScanStats), StoreError> {
        let mut stats = ScanStats::default();
        let candidates = self.segments_in_range(pruning, &mut stats)?;
        let matches = self.find(&candidates, pruning, None, &mut stats)?;
        Ok((self.fetch(&candidates, &matches)?, stats))
    }
}

#[cfg(test)]
mod tests;
