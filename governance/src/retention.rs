//! The retention sweep.

use std::collections::BTreeMap;

use crate::audit::{Action, AuditLog};
use canvass_store::{EventLake, ObjectStore, Pruning, ScanStats, StoreError, keys};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

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
    /// Ingest log entries of inputs older than their source's period.
    pub ingest_log_deleted: usize,
    /// Detector checkpoints no worker has written for longer than the shortest period.
    pub checkpoints_deleted: usize,
    /// Alerts no webhook accepted (each holds an event and its thumbnail), past their period.
    pub dead_alerts_deleted: usize,
}

/// What a deletion of one segment's expired events will do, written before it starts and
/// removed once the sweep's audit entry records it: a sweep killed part-way is finished by the
/// next one, so no thumbnail, segment or deletion is left behind unaccounted.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Intent {
    segment: String,
    thumbnails: Vec<String>,
    deleted_by_source: BTreeMap<String, usize>,
}

fn delete_if_there<S: ObjectStore>(store: &S, key: &str) -> Result<bool, StoreError> {
    match store.delete(key) {
        Ok(()) => Ok(true),
        Err(StoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Carries out an intent: the old segment (summary first, so readers never find a summary
/// without its segment) and the expired thumbnails. Safe to repeat.
fn carry_out<S: ObjectStore>(
    store: &S,
    intent: &Intent,
    report: &mut RetentionReport,
) -> Result<(), StoreError> {
    delete_if_there(store, &keys::summary(&intent.segment))?;
    delete_if_there(store, &intent.segment)?;
    for thumbnail in &intent.thumbnails {
        if delete_if_there(store, thumbnail)? {
            report.thumbnails_deleted += 1;
        }
    }
    Ok(())
}

/// How far back a sweep looks in the audit log for its own unfinished cleanup (read only when
/// a stopped sweep left intents).
const RECENT_SWEEPS: usize = 10_000;

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
    let mut done_intents = Vec::new();
    // First finish what a killed sweep began. An intent whose segment is still visible had
    // deleted nothing yet: the sweep below does that segment afresh.
    let store = lake.store();
    let intents = store.list(keys::RETENTION_INTENTS)?;
    // Intents a sweep recorded in the audit log but was stopped before removing: done already.
    let mut recorded = std::collections::BTreeSet::new();
    if !intents.is_empty() {
        for entry in audit.recent(RECENT_SWEEPS)? {
            if entry.action.action == "retention_delete"
                && let Some(keys) = entry.action.detail["intents"].as_array()
            {
                recorded.extend(keys.iter().filter_map(|k| k.as_str().map(String::from)));
            }
        }
    }
    for object in intents {
        let intent: Intent = match serde_json::from_slice(&store.get(&object.key)?) {
            Ok(intent) => intent,
            Err(e) => {
                tracing::error!(key = %object.key, "unreadable retention intent skipped: {e}");
                continue;
            }
        };
        let visible = match store.get(&keys::summary(&intent.segment)) {
            Ok(_) => true,
            Err(StoreError::NotFound(_)) => false,
            Err(e) => return Err(e.into()),
        };
        if recorded.contains(&object.key) {
            carry_out(store, &intent, &mut RetentionReport::default())?;
        } else if !visible {
            tracing::warn!(segment = %intent.segment, "finishing a retention deletion a stopped sweep began");
            carry_out(store, &intent, &mut report)?;
            for (source, n) in &intent.deleted_by_source {
                *deleted_by_source.entry(source.clone()).or_default() += n;
                report.events_deleted += n;
            }
        }
        done_intents.push(object.key);
    }
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
        let mut intent = Intent {
            segment: summary.segment.clone(),
            thumbnails: expired.iter().map(|e| e.thumbnail_key.clone()).collect(),
            deleted_by_source: BTreeMap::new(),
        };
        for event in &expired {
            *intent.deleted_by_source.entry(event.source_id.clone()).or_default() += 1;
        }
        let intent_key = keys::retention_intent(&summary.segment);
        store.put(&intent_key, &serde_json::to_vec(&intent).expect("intents serialise"))?;
        done_intents.push(intent_key);
        if keep.is_empty() {
            report.segments_removed += 1;
        } else {
            // The same kept events make the same segment name: a repeat rewrites it in place.
            lake.write_as_of(&keep, summary.written_at)?;
            report.segments_rewritten += 1;
        }
        carry_out(store, &intent, &mut report)?;
        for (source, n) in intent.deleted_by_source {
            *deleted_by_source.entry(source).or_default() += n;
        }
        report.events_deleted += expired.len();
    }
    let held = |source: &str| holds.iter().any(|h| h.covers_source(source, now));
    let deleted_log = sweep_ingest_log(store, retention, now, &held)?;
    report.ingest_log_deleted = deleted_log.len();
    let deleted_checkpoints = sweep_checkpoints(store, oldest_kept, &held)?;
    report.checkpoints_deleted = deleted_checkpoints.len();
    let deleted_alerts = sweep_dead_alerts(store, retention, now, &held)?;
    report.dead_alerts_deleted = deleted_alerts.len();
    let deleted_other = report.ingest_log_deleted + report.checkpoints_deleted + report.dead_alerts_deleted;
    if report.events_deleted + deleted_other > 0 {
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
                "intents": done_intents,
                "ingest_log_deleted": deleted_log,
                "checkpoints_deleted": deleted_checkpoints,
                "dead_alerts_deleted": deleted_alerts,
                "default_days": retention.default_days,
            }),
            result_count: Some(report.events_deleted),
        })?;
    }
    // Recorded: the intents are done.
    for key in done_intents {
        delete_if_there(store, &key)?;
    }
    tracing::info!(
        deleted = report.events_deleted,
        held = report.events_held,
        segments_removed = report.segments_removed,
        segments_rewritten = report.segments_rewritten,
        ingest_log = report.ingest_log_deleted,
        checkpoints = report.checkpoints_deleted,
        "retention sweep"
    );
    Ok(report)
}

/// The JSON object at `key`; `None` if it went meanwhile or is unreadable (reported: one bad
/// object does not stop a sweep).
fn read_or_skip<S: ObjectStore>(
    store: &S,
    key: &str,
    what: &str,
) -> Result<Option<serde_json::Value>, StoreError> {
    match store.get(key).map(|bytes| serde_json::from_slice(&bytes)) {
        Ok(Ok(value)) => Ok(Some(value)),
        Ok(Err(e)) => {
            tracing::error!(%key, "unreadable {what} skipped: {e}");
            Ok(None)
        }
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Deletes the ingest log entries of inputs ingested longer ago than their source's period
/// (no hold naming the source); returns their keys. Whole days newer than the shortest period
/// are not read.
fn sweep_ingest_log<S: ObjectStore>(
    store: &S,
    retention: &Retention,
    now: DateTime<Utc>,
    held: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, StoreError> {
    let newest_day = (now - Duration::days(retention.shortest_days() as i64)).date_naive();
    let mut deleted = Vec::new();
    for day in store.list_dirs(keys::INGEST_LOG)? {
        if keys::day_of_folder(&day).is_none_or(|d| d > newest_day) {
            continue;
        }
        for object in store.list(&day)? {
            let Some(entry) = read_or_skip(store, &object.key, "ingest log entry")? else { continue };
            let source = entry["source_id"].as_str().unwrap_or_default();
            let at: Option<DateTime<Utc>> = entry["ingested_at"].as_str().and_then(|t| t.parse().ok());
            let expired = at.is_some_and(|at| at < now - Duration::days(retention.days(source) as i64));
            if expired && !held(source) && delete_if_there(store, &object.key)? {
                deleted.push(object.key);
            }
        }
    }
    Ok(deleted)
}

/// Deletes webhook dead letters older than their source's period; one naming a held source
/// stays.
fn sweep_dead_alerts<S: ObjectStore>(
    store: &S,
    retention: &Retention,
    now: DateTime<Utc>,
    held: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, StoreError> {
    let mut deleted = Vec::new();
    for object in store.list(keys::DEAD_ALERTS)? {
        let Some(letter) = read_or_skip(store, &object.key, "alert dead letter")? else { continue };
        let source = letter["alert"]["event"]["source_id"].as_str().unwrap_or_default();
        let at: Option<DateTime<Utc>> = letter["failed_at"].as_str().and_then(|t| t.parse().ok());
        let expired = at.is_some_and(|at| at < now - Duration::days(retention.days(source) as i64));
        if expired && !held(source) && delete_if_there(store, &object.key)? {
            deleted.push(object.key);
        }
    }
    Ok(deleted)
}

/// Deletes detector checkpoints last written before `oldest_kept` (a worker group that
/// stopped): they hold crops and tracks of footage that old. One naming a held source stays.
fn sweep_checkpoints<S: ObjectStore>(
    store: &S,
    oldest_kept: DateTime<Utc>,
    held: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, StoreError> {
    let mut deleted = Vec::new();
    for object in store.list(keys::CHECKPOINTS)? {
        let Some(checkpoint) = read_or_skip(store, &object.key, "checkpoint")? else { continue };
        let written: Option<DateTime<Utc>> = checkpoint["written_at"].as_str().and_then(|t| t.parse().ok());
        if written.is_none_or(|at| at >= oldest_kept) {
            continue;
        }
        let sources = ["streams", "pending"]
            .iter()
            .flat_map(|list| checkpoint[list].as_array().into_iter().flatten())
            .filter_map(|item| item["source_id"].as_str());
        if sources.clone().any(held) {
            continue;
        }
        if delete_if_there(store, &object.key)? {
            deleted.push(object.key);
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests;
