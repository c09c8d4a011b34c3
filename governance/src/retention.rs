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
}

impl Default for Retention {
    fn default() -> Self {
        Retention { default_days: 30, policies: Vec::new() }
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

/// Deletes every event that ended more than its retention period before `now` and that no hold
/// in force keeps, with its thumbnail. A segment left with no events is removed; one with some
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
    let old_enough = Pruning { before: Some(oldest_kept), ..Default::default() };
    let mut report = RetentionReport::default();
    let mut deleted_by_source: BTreeMap<String, usize> = BTreeMap::new();
    for summary in lake.segments_in_range(&old_enough, &mut stats)? {
        report.segments_checked += 1;
        let events = lake.segment_events(&summary)?;
        let (mut keep, mut expired) = (Vec::new(), Vec::new());
        for event in events {
            let cutoff = now - Duration::days(retention.days(&event.source_id) as i64);
            if event.wall_end >= cutoff {
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
