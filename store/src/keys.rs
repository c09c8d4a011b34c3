//! Every object key canvass writes, in one place. The layout is the same in a data folder and
//! in a bucket (under its prefix); each family carries a version so a new format can sit
//! beside the old one.
//!
//! ```text
//! events/v1/date=YYYY-MM-DD/<segment>.parquet               events that start that day (UTC)
//! events/v1/date=YYYY-MM-DD/<segment>.parquet.summary.json  written last: makes the segment visible
//! thumbs/source=<source>/<event_id>.jpg                     best-frame crop of each event
//! audit/v1/<seq, 20 digits>.json                            hash-chained audit entries
//! audit-head/v1/head.json                                   the newest entry, authenticated
//! holds/v1/<id>.json                                        legal holds
//! registry/v1/cameras/<id>.json                             cameras registered by their owners
//! registry/v1/claims/source/<source>.json                   which camera governs a source id
//! registry/v1/claims/stream/<url digest>.json               which camera governs a stream
//! checkpoints/v1/detect/<group>/<topic>/<partition>.json    detector workers' partition state
//! retention/v1/intents/<segment name>.json                  a retention deletion under way
//! ingest/v1/log/date=YYYY-MM-DD/<time>-<pid>-<n>.json       how one input's ingest went
//! disclosure/v1/user=<hex>/<seq>.json                       events shown to a user (budget)
//! requests/v1/<id>.json                                     footage requests to camera owners
//! cases/v1/<id>.json                                        cases, one per id, never replaced
//! evidence/v1/case=<id>/sha256=<hex>/part-<n>               a stored original, in parts
//! evidence/v1/case=<id>/sha256=<hex>/manifest.json          what it is, who submitted it
//! evidence/v1/case=<id>/upload=<id>/part-<offset, 16 digits> an uploaded original's parts
//! uploads/v1/<id>.json                                      a resumable upload under way
//! jobs/v1/<id>.json                                         an ingest job of stored evidence
//! exports/v1/<id>.json                                      a case export package and where it stands
//! exports/v1/<id>/part-<offset, 16 digits>                  the package's bytes, in parts
//! alerts/v1/rules/<name>.json                              an alert rule made through the API
//! alerts/v1/dead/<id>.json                                  an alert no webhook accepted
//! encryption/v1/key.json                                    which key encrypts the folder (not secret)
//! ```

use chrono::NaiveDate;

/// Parquet segments and their summaries, partitioned by day.
pub const EVENTS: &str = "events/v1/";
/// The summary beside each segment.
pub const SUMMARY_SUFFIX: &str = ".summary.json";
pub const THUMBNAILS: &str = "thumbs/";
pub const AUDIT: &str = "audit/v1/";
/// Outside `AUDIT`, so listing the entries never lists it.
pub const AUDIT_HEAD: &str = "audit-head/v1/head.json";
pub const HOLDS: &str = "holds/v1/";
pub const CAMERAS: &str = "registry/v1/cameras/";
pub const CLAIMS: &str = "registry/v1/claims/";
pub const CHECKPOINTS: &str = "checkpoints/v1/";
pub const RETENTION_INTENTS: &str = "retention/v1/intents/";
pub const INGEST_LOG: &str = "ingest/v1/log/";
pub const DISCLOSURES: &str = "disclosure/v1/";
pub const CASES: &str = "cases/v1/";
pub const FOOTAGE_REQUESTS: &str = "requests/v1/";
pub const EVIDENCE: &str = "evidence/v1/";
pub const UPLOADS: &str = "uploads/v1/";
pub const JOBS: &str = "jobs/v1/";
pub const EXPORTS: &str = "exports/v1/";
/// Alerts a webhook never accepted, one object each (`canvass_alerts::DeadLetter`).
pub const DEAD_ALERTS: &str = "alerts/v1/dead/";
/// Alert rules made through the API, one object each (`canvass_alerts::AlertRule`).
pub const ALERT_RULES: &str = "alerts/v1/rules/";
/// Stored unencrypted by the encryption layer itself, which hides it from listings.
pub const ENCRYPTION_MARKER: &str = "encryption/v1/key.json";

/// The folder of one day's segments.
pub fn event_day(day: NaiveDate) -> String {
    format!("{EVENTS}date={}/", day.format("%Y-%m-%d"))
}

/// A segment named `name` among the day's segments.
pub fn segment(day: NaiveDate, name: &str) -> String {
    format!("{}{name}.parquet", event_day(day))
}

/// The summary of segment `segment_key`.
pub fn summary(segment_key: &str) -> String {
    format!("{segment_key}{SUMMARY_SUFFIX}")
}

/// The day of a day folder (`.../date=YYYY-MM-DD/`).
pub fn day_of_folder(dir: &str) -> Option<NaiveDate> {
    let name = dir.trim_end_matches('/').rsplit('/').next()?;
    NaiveDate::parse_from_str(name.strip_prefix("date=")?, "%Y-%m-%d").ok()
}

/// The thumbnail of an event.
pub fn thumbnail(source_id: &str, event_id: &str) -> String {
    format!("{THUMBNAILS}source={source_id}/{event_id}.jpg")
}

/// Audit entry `seq`; zero-padded so keys sort in chain order.
pub fn audit_entry(seq: u64) -> String {
    format!("{AUDIT}{seq:020}.json")
}

pub fn hold(id: &str) -> String {
    format!("{HOLDS}{id}.json")
}

pub fn camera(id: &str) -> String {
    format!("{CAMERAS}{id}.json")
}

/// The claim of a (normalised) source id by one registration.
pub fn source_claim(source_id: &str) -> String {
    format!("{CLAIMS}source/{source_id}.json")
}

/// The claim of a stream (by the digest of its normalised URL) by one registration.
pub fn stream_claim(url_digest: &str) -> String {
    format!("{CLAIMS}stream/{url_digest}.json")
}

/// The intent record of a retention deletion of segment `segment_key`.
pub fn retention_intent(segment_key: &str) -> String {
    let name = segment_key.rsplit('/').next().unwrap_or(segment_key);
    format!("{RETENTION_INTENTS}{}.json", name.trim_end_matches(".parquet"))
}

/// The log entry of one input ingested at `at`, by process `pid` (its `n`th entry): keys sort
/// by time, and a day's folder can be swept whole.
pub fn ingest_log_entry(at: chrono::DateTime<chrono::Utc>, pid: u32, n: u64) -> String {
    format!("{INGEST_LOG}date={}/{}-{pid}-{n}.json", at.format("%Y-%m-%d"), at.format("%H%M%S%.6f"))
}

/// Footage request `id` (32 hex digits, checked by the caller).
pub fn footage_request(id: &str) -> String {
    format!("{FOOTAGE_REQUESTS}{id}.json")
}

/// Case `id` (checked by the caller to be a plain name).
pub fn case(id: &str) -> String {
    format!("{CASES}{id}.json")
}

/// The stored originals of case `case`.
pub fn case_evidence(case: &str) -> String {
    format!("{EVIDENCE}case={case}/")
}

/// The folder of the original of case `case` whose SHA-256 is `sha256` (hex).
pub fn evidence(case: &str, sha256: &str) -> String {
    format!("{}sha256={sha256}/", case_evidence(case))
}

/// Part `n` of a stored original.
pub fn evidence_part(case: &str, sha256: &str, n: u64) -> String {
    format!("{}part-{n:06}", evidence(case, sha256))
}

/// What a stored original is, and who submitted it.
pub fn evidence_manifest(case: &str, sha256: &str) -> String {
    format!("{}manifest.json", evidence(case, sha256))
}

/// The parts of upload `upload` to case `case`, each named by the offset of its first byte.
pub fn evidence_upload(case: &str, upload: &str) -> String {
    format!("{}upload={upload}/", case_evidence(case))
}

/// The part of upload `upload` that starts at byte `offset`; zero-padded so keys sort by offset.
pub fn evidence_upload_part(case: &str, upload: &str, offset: u64) -> String {
    format!("{}part-{offset:016}", evidence_upload(case, upload))
}

/// The state of upload `id` (32 hex digits, checked by the caller).
pub fn upload(id: &str) -> String {
    format!("{UPLOADS}{id}.json")
}

/// Ingest job `id` (32 hex digits, checked by the caller).
pub fn job(id: &str) -> String {
    format!("{JOBS}{id}.json")
}

/// Alert rule `name` (letters, digits, `-`, `_`, `.`: checked by `AlertRule::compile`).
pub fn alert_rule(name: &str) -> String {
    format!("{ALERT_RULES}{name}.json")
}

/// The dead letter of alert `id` (32 hex digits, made by the alert engine).
pub fn dead_alert(id: &str) -> String {
    format!("{DEAD_ALERTS}{id}.json")
}

/// Export `id` (32 hex digits, checked by the caller).
pub fn export(id: &str) -> String {
    format!("{EXPORTS}{id}.json")
}

/// The part of export package `id` that starts at byte `offset`.
pub fn export_part(id: &str, offset: u64) -> String {
    format!("{EXPORTS}{id}/part-{offset:016}")
}

/// A detector worker group's checkpoint of one partition of `topic`.
pub fn detect_checkpoint(group: &str, topic: &str, partition: i32) -> String {
    format!("{CHECKPOINTS}detect/{group}/{topic}/{partition:05}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_where_they_are_parsed() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert_eq!(day_of_folder(&event_day(day)), Some(day));
        assert!(segment(day, "ab").starts_with(&event_day(day)));
        assert!(audit_entry(9) < audit_entry(10), "keys sort in chain order");
        assert_eq!(day_of_folder("events/v1/source=x/"), None);
    }
}
