//! The retention sweep.

use std::collections::BTreeMap;

use crate::audit::{Action, AuditLog};
use canvass_store::{EventLake, ObjectStore, Pruning, ScanStats, StoreError};
use chrono::{DateTime, Duration, Utc};

use crate::GovernanceError;
use crate::access::source_matches;
use crate::holds::Hold;

/// How long events are kept: the first policy whose patterns match the source (an agency's
/// jurisdiction and period), else the default.
#[derive(Debug, Clone)]
pub struct Retention {
    pub default_days: u32,
    pub policies: Vec<(Vec<String>, u32)>,
    pub clock: RetentionClock,
}

/// What an event's age is counted from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionClock {
    /// When canvass stored it (its segment's write time, kept through retention rewrites): a
    /// 2022 clip ingested today is kept its full period, and a wrong future `creation_time`
    /// does not keep footage forever.
    #[default]
    Ingest,
    /// When the footage says it happened (the event's wall-clock end).
    Footage,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { default_days: 30, policies: Vec::new(), clock: RetentionClock::Ingest }
    }
}

impl Retention {
    fn days(&self, source: &str) -> u32 {
        let policy =
            self.policies.iter().find(|(patterns, _)| patterns.iter().any(|p| source_matches(p, source)));
        policy.map_or(self.default_days, |(_, days)| *days)
    }

    fn shortest_days(&self) -> u32 {
        self.policies
            .iter()
            .map(|(_, days)| *days)
            .chain([self.default_days])
            .min()
            .expect("the default is there")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub segments_checked: usize,
    pub segments_removed: usize,
    pub segments_rewritten: usize,
    pub events_deleted: usize,
    /// Expired events kept because a hold covers them.
    pub events_held: usize,
    pub thumbnails_deleted: usize,
}

/// Deletes every event older than its retention period at `now` (by `retention.clock`) that no
/// hold in force keeps, with its thumbnail. A segment left with no events is removed; one with some
/// is rewritten with those (written before the old one is removed, so readers never miss them).
pub fn sweep<S: ObjectStore, A: ObjectStore>(
    lake: &EventLake<S>,
    holds: &[Hold],
    audit: &AuditLog<A>,
    retention: &Retention,
    now: DateTime<Utc>,
) -> Result<RetentionReport, GovernanceError> {
    let oldest_kept = now - Duration::days(retention.shortest_days() as i64);
    let mut stats = ScanStats::default();
    // By footage time, only segments with old footage can hold expired events; by ingest
    // time, any segment written long enough ago, whatever its footage says.
    let candidates = match retention.clock {
        RetentionClock::Footage => Pruning { before: Some(oldest_kept), ..Default::default() },
        RetentionClock::Ingest => Pruning::default(),
    };
    let mut report = RetentionReport::default();
    let mut deleted_by_source: BTreeMap<String, usize> = BTreeMap::new();
    for summary in lake.segments_in_range(&candidates, &mut stats)? {
        if retention.clock == RetentionClock::Ingest && summary.written_at >= oldest_kept {
            continue;
        }
        report.segments_checked += 1;
        let events = lake.segment_events(&summary)?;
        let (mut keep, mut expired) = (Vec::new(), Vec::new());
        for event in events {
            let cutoff = now - Duration::days(retention.days(&event.source_id) as i64);
            let age_from = match retention.clock {
                RetentionClock::Ingest => summary.written_at,
                RetentionClock::Footage => event.wall_end,
            };
            if age_from >= cutoff {
                keep.push(event);
            } else if holds.iter().any(|h| h.keeps(&event, now)) {
                report.events_held += 1;
                keep.push(event);
            } else {
                expired.push(event);
            }
        }
        if expired.is_empty() {
            continue;
        }
        if keep.is_empty() {
            report.segments_removed += 1;
        } else {
            lake.write_as_of(&keep, summary.written_at)?;
            report.segments_rewritten += 1;
        }
        lake.remove_segment(&summary)?;
        for event in &expired {
            match lake.store().delete(&event.thumbnail_key) {
                Ok(()) => report.thumbnails_deleted += 1,
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
            *deleted_by_source.entry(event.source_id.clone()).or_default() += 1;
        }
        report.events_deleted += expired.len();
    }
    if report.events_deleted > 0 {
        audit.record(Action {
            actor: "janitor".into(),
            role: "system".into(),
            action: "retention_delete".into(),
            case: None,
            purpose: Some("retention policy".into()),
            agency: None,
            detail: serde_json::json!({
                "deleted_by_source": deleted_by_source,
                "segments_removed": report.segments_removed,
                "segments_rewritten": report.segments_rewritten,
                "kept_by_hold": report.events_held,
                "default_days": retention.default_days,
            }),
            result_count: Some(report.events_deleted),
        })?;
    }
    tracing::info!(
        deleted = report.events_deleted,
        held = report.events_held,
        segments_removed = report.segments_removed,
        segments_rewritten = report.segments_rewritten,
        "retention sweep"
    );
    Ok(report)
}

#[cfg(test)]
mod tests;
