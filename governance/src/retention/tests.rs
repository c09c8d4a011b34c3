use crate::audit::{AuditKey, AuditLog, Verdict, verify};
use canvass_schemas::DetectionEvent;
use canvass_store::LocalStore;
use canvass_store::testing::event;

use super::*;
use crate::GovernanceError;
use crate::access::{Agency, Principal, Role};
use crate::holds::{HoldRequest, Holds};
use crate::retention::RetentionClock;

fn now() -> DateTime<Utc> {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

fn days_ago(days: i64) -> DateTime<Utc> {
    now() - Duration::days(days)
}

struct Fixture {
    _dir: tempfile::TempDir,
    lake: EventLake<LocalStore>,
    audit: AuditLog<LocalStore>,
    holds: Holds<LocalStore>,
}

fn fixture(events: &[DetectionEvent]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let lake = EventLake::new(LocalStore::new(dir.path()));
    for e in events {
        // Stored as the footage ended, so both retention clocks agree in these tests.
        lake.write_as_of(std::slice::from_ref(e), e.wall_end).unwrap();
        lake.put_thumbnail(&e.thumbnail_key, b"jpeg").unwrap();
    }
    let (audit, holds) =
        (AuditLog::new(LocalStore::new(dir.path()), audit_key()), Holds::new(LocalStore::new(dir.path())));
    Fixture { _dir: dir, lake, audit, holds }
}

fn remaining(f: &Fixture) -> Vec<(String, i64)> {
    let (events, _) = f.lake.scan(&Pruning::default()).unwrap();
    let mut left: Vec<(String, i64)> =
        events.iter().map(|e| (e.source_id.clone(), (now() - e.wall_start).num_days())).collect();
    left.sort();
    left
}

fn thumbnail_exists(f: &Fixture, e: &DetectionEvent) -> bool {
    f.lake.thumbnail(&e.thumbnail_key).is_ok()
}

#[test]
fn expired_events_go_with_their_thumbnails_and_held_ones_stay() {
    let old_a = event("cam-a", days_ago(40), 1);
    let old_b = event("cam-b", days_ago(40), 2);
    let recent = event("cam-b", days_ago(10), 3);
    let f = fixture(&[old_a.clone(), old_b.clone(), recent.clone()]);
    let hold = HoldRequest {
        case: "2026-0042".into(),
        reason: "hit and run".into(),
        until: now() + Duration::days(365),
        sources: ["cam-a".to_string()].into(),
        from: Some(days_ago(41)),
        to: Some(days_ago(39)),
    };
    let hold = f.holds.place(&sam(), hold, now(), MAX_DAYS).unwrap();
    let report = sweep(&f.lake, &f.holds.all().unwrap().0, &f.audit, &Retention::default(), now()).unwrap();
    assert_eq!((report.events_deleted, report.events_held, report.thumbnails_deleted), (1, 1, 1));
    assert_eq!(remaining(&f), vec![("cam-a".into(), 40), ("cam-b".into(), 10)]);
    assert!(thumbnail_exists(&f, &old_a) && thumbnail_exists(&f, &recent));
    assert!(!thumbnail_exists(&f, &old_b));

    // The deletion is audited, and the chain holds.
    let entries = f.audit.entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].action.action.as_str(), entries[0].action.result_count),
        ("retention_delete", Some(1))
    );
    assert_eq!(entries[0].action.detail["deleted_by_source"]["cam-b"], 1);
    assert!(matches!(verify(f.audit.store(), f.audit.key()).unwrap(), Verdict::Intact { entries: 1, .. }));

    // Nothing more to do: no deletion, no audit entry.
    let again = sweep(&f.lake, &[hold], &f.audit, &Retention::default(), now()).unwrap();
    assert_eq!(again.events_deleted, 0);
    assert_eq!(f.audit.entries().unwrap().len(), 1);
}

#[test]
fn a_hold_past_its_date_keeps_nothing() {
    let old = event("cam-a", days_ago(40), 1);
    let f = fixture(std::slice::from_ref(&old));
    let request = HoldRequest {
        case: "2025-0001".into(),
        reason: "closed case".into(),
        until: now() + Duration::days(1),
        sources: Default::default(),
        from: None,
        to: None,
    };
    f.holds.place(&sam(), request, now(), MAX_DAYS).unwrap();
    let two_days_later = now() + Duration::days(2);
    let report =
        sweep(&f.lake, &f.holds.all().unwrap().0, &f.audit, &Retention::default(), two_days_later).unwrap();
    assert_eq!(report.events_deleted, 1);
    assert!(remaining(&f).is_empty());
}

#[test]
fn each_source_keeps_its_agency_period() {
    let f = fixture(&[event("cam-short", days_ago(10), 1), event("cam-long", days_ago(10), 2)]);
    let retention = Retention {
        default_days: 30,
        policies: vec![(vec!["cam-sh*".to_string()], 7)],
        ..Default::default()
    };
    sweep(&f.lake, &[], &f.audit, &retention, now()).unwrap();
    assert_eq!(remaining(&f), vec![("cam-long".into(), 10)]);
}

#[test]
fn a_segment_with_kept_and_expired_events_is_rewritten_with_the_kept_ones() {
    let dir = tempfile::tempdir().unwrap();
    let lake = EventLake::new(LocalStore::new(dir.path()));
    // One segment spanning the cut-off (30 days ago, noon): events at 08:00 and 13:00 that day.
    let both = [
        event("cam-a", days_ago(30) - Duration::hours(4), 1),
        event("cam-a", days_ago(30) + Duration::hours(1), 2),
    ];
    lake.write_as_of(&both, days_ago(31)).unwrap();
    let audit = AuditLog::new(LocalStore::new(dir.path()), audit_key());
    let by_footage = Retention { clock: RetentionClock::Footage, ..Default::default() };
    let report = sweep(&lake, &[], &audit, &by_footage, now()).unwrap();
    assert_eq!((report.segments_rewritten, report.events_deleted), (1, 1));
    let mut stats = ScanStats::default();
    let segments = lake.segments_in_range(&Pruning::default(), &mut stats).unwrap();
    assert_eq!(segments.len(), 1);
    assert_eq!(segments[0].written_at, days_ago(31), "a rewrite keeps the segment's write time");
    assert_eq!(lake.segment_events(&segments[0]).unwrap(), vec![both[1].clone()]);
}

#[test]
fn a_hold_must_name_a_case_and_a_reason_and_end_in_the_future() {
    let f = fixture(&[]);
    let good = HoldRequest {
        case: "2026-1".into(),
        reason: "why".into(),
        until: now() + Duration::days(1),
        sources: Default::default(),
        from: None,
        to: None,
    };
    for (bad, message) in [
        (HoldRequest { case: " ".into(), ..good.clone() }, "case number"),
        (HoldRequest { reason: "".into(), ..good.clone() }, "reason"),
        (HoldRequest { until: now(), ..good.clone() }, "future"),
        (HoldRequest { from: Some(now()), to: Some(days_ago(1)), ..good.clone() }, "'from' is after 'to'"),
        (HoldRequest { until: now() + Duration::days(9999), ..good.clone() }, "more than 730 days"),
    ] {
        let err = f.holds.place(&sam(), bad, now(), MAX_DAYS).unwrap_err().to_string();
        assert!(err.contains(message), "{err}");
    }
    assert!(f.holds.all().unwrap().0.is_empty());
}

const MAX_DAYS: u32 = 730;

fn supervisor(name: &str, agency: &str, sources: &[&str]) -> Principal {
    Principal {
        name: name.into(),
        role: Role::Supervisor,
        agency: Some(Agency {
            name: agency.into(),
            sources: sources.iter().map(|s| s.to_string()).collect(),
            retention_days: None,
        }),
    }
}

fn sam() -> Principal {
    supervisor("sam", "metro-pd", &["cam-*"])
}

fn request(sources: &[&str]) -> HoldRequest {
    HoldRequest {
        case: "2026-7".into(),
        reason: "evidence".into(),
        until: now() + Duration::days(30),
        sources: sources.iter().map(|s| s.to_string()).collect(),
        from: None,
        to: None,
    }
}

#[test]
fn holds_stay_inside_the_placers_jurisdiction() {
    let f = fixture(&[]);
    for outside in [&["other-cam"][..], &["cam-a", "depot"], &["*"], &["ca*"]] {
        let err = f.holds.place(&sam(), request(outside), now(), MAX_DAYS).unwrap_err();
        assert!(matches!(err, GovernanceError::NotYours(_)), "{outside:?}: {err}");
    }
    let admin = Principal { name: "root".into(), role: Role::Admin, agency: None };
    assert!(matches!(
        f.holds.place(&admin, request(&[]), now(), MAX_DAYS),
        Err(GovernanceError::NotYours(_))
    ));
    // No sources: the placer's whole jurisdiction, not every camera.
    let hold = f.holds.place(&sam(), request(&[]), now(), MAX_DAYS).unwrap();
    assert_eq!(hold.request.sources, ["cam-*".to_string()].into());
    assert!(hold.keeps(&event("cam-x", days_ago(40), 1), now()));
    assert!(!hold.keeps(&event("depot", days_ago(40), 1), now()));
    assert!(f.holds.place(&sam(), request(&["cam-a", "cam-b*"]), now(), MAX_DAYS).is_ok());
}

#[test]
fn a_hold_is_lifted_only_by_a_supervisor_of_its_agency_and_then_keeps_nothing() {
    let old = event("cam-a", days_ago(40), 1);
    let f = fixture(std::slice::from_ref(&old));
    let hold = f.holds.place(&sam(), request(&["cam-a"]), now(), MAX_DAYS).unwrap();
    let rival = supervisor("rex", "county-pd", &["cam-*"]);
    assert!(matches!(f.holds.lift(&rival, &hold.id, "not ours", now()), Err(GovernanceError::NoSuchHold(_))));
    assert!(matches!(f.holds.lift(&sam(), "../../x", "x", now()), Err(GovernanceError::NoSuchHold(_))));
    assert_eq!(f.holds.visible_to(&rival).unwrap().len(), 0, "another agency's holds are not shown");
    assert_eq!(f.holds.visible_to(&sam()).unwrap().len(), 1);
    let lifted =
        f.holds.lift(&supervisor("sue", "metro-pd", &["cam-*"]), &hold.id, "case closed", now()).unwrap();
    assert_eq!(lifted.lifted.as_ref().map(|l| l.by.as_str()), Some("sue"));
    assert!(f.holds.lift(&sam(), &hold.id, "again", now()).is_err(), "lifted once");
    let report = sweep(&f.lake, &f.holds.all().unwrap().0, &f.audit, &Retention::default(), now()).unwrap();
    assert_eq!(report.events_deleted, 1, "a lifted hold keeps nothing");
}

#[test]
fn an_unreadable_hold_file_is_reported_and_the_others_still_count() {
    let old = event("cam-a", days_ago(40), 1);
    let f = fixture(std::slice::from_ref(&old));
    f.holds.place(&sam(), request(&["cam-a"]), now(), MAX_DAYS).unwrap();
    f.lake.store().put(&canvass_store::keys::hold("ffff"), b"{ truncated").unwrap();
    let (holds, problems) = f.holds.all().unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].contains("ffff"), "{problems:?}");
    let report = sweep(&f.lake, &holds, &f.audit, &Retention::default(), now()).unwrap();
    assert_eq!((report.events_deleted, report.events_held), (0, 1));
}

fn audit_key() -> AuditKey {
    AuditKey::from_hex(&"a5".repeat(32)).unwrap()
}

#[test]
fn retention_counts_from_ingest_unless_told_to_count_from_the_footage() {
    // A clip filmed long ago, ingested yesterday; a clip whose clock says it is years ahead,
    // ingested 40 days ago.
    let old_clip = event("cam-old", days_ago(1500), 1);
    let future_clip = event("cam-future", now() + Duration::days(3000), 2);
    let left_after = |clock: RetentionClock| {
        let dir = tempfile::tempdir().unwrap();
        let lake = EventLake::new(LocalStore::new(dir.path()));
        lake.write_as_of(std::slice::from_ref(&old_clip), days_ago(1)).unwrap();
        lake.write_as_of(std::slice::from_ref(&future_clip), days_ago(40)).unwrap();
        let audit = AuditLog::new(LocalStore::new(dir.path()), audit_key());
        sweep(&lake, &[], &audit, &Retention { clock, ..Default::default() }, now()).unwrap();
        let (events, _) = lake.scan(&Pruning::default()).unwrap();
        events.into_iter().map(|e| e.source_id).collect::<Vec<_>>()
    };
    assert_eq!(left_after(RetentionClock::Ingest), vec!["cam-old".to_string()], "by default, ingest time");
    assert_eq!(left_after(RetentionClock::Footage), vec!["cam-future".to_string()]);
}

#[test]
fn ingest_log_entries_stale_checkpoints_and_dead_alerts_go_with_the_data_they_describe() {
    let f = fixture(&[]);
    let store = f.lake.store();
    let log_entry = |source: &str, days: i64, n: u64| {
        let at = days_ago(days);
        let key = keys::ingest_log_entry(at, 1, n);
        let body =
            serde_json::json!({ "ingested_at": at, "input": "clip.mp4", "source_id": source, "ok": true });
        store.put(&key, body.to_string().as_bytes()).unwrap();
        key
    };
    let old = log_entry("cam-a", 40, 1);
    let old_held = log_entry("cam-held", 40, 2);
    let recent = log_entry("cam-a", 3, 3);
    let checkpoint = |partition: i32, days: i64, source: &str| {
        let key = keys::detect_checkpoint("detectors", "canvass.frames.v1", partition);
        let body = serde_json::json!({ "written_at": days_ago(days), "streams": [{ "source_id": source }], "pending": [] });
        store.put(&key, body.to_string().as_bytes()).unwrap();
        key
    };
    let stale = checkpoint(0, 45, "cam-a");
    let stale_held = checkpoint(1, 45, "cam-held");
    let live = checkpoint(2, 0, "cam-a");
    store.put(&keys::detect_checkpoint("detectors", "canvass.frames.v1", 3), b"{not json").unwrap();
    let dead_letter = |id: &str, days: i64, source: &str| {
        let key = keys::dead_alert(id);
        let body =
            serde_json::json!({ "failed_at": days_ago(days), "alert": { "event": { "source_id": source } } });
        store.put(&key, body.to_string().as_bytes()).unwrap();
        key
    };
    let old_letter = dead_letter("01", 31, "cam-a");
    let held_letter = dead_letter("02", 31, "cam-held");
    let new_letter = dead_letter("03", 29, "cam-a");
    f.holds.place(&sam(), request(&["cam-held"]), now(), MAX_DAYS).unwrap();

    let report = sweep(&f.lake, &f.holds.all().unwrap().0, &f.audit, &Retention::default(), now()).unwrap();
    assert_eq!(
        (report.ingest_log_deleted, report.checkpoints_deleted, report.dead_alerts_deleted),
        (1, 1, 1)
    );
    let there = |key: &str| store.get(key).is_ok();
    assert!(!there(&old) && there(&old_held) && there(&recent));
    assert!(!there(&stale) && there(&stale_held) && there(&live));
    assert!(
        !there(&old_letter) && there(&held_letter) && there(&new_letter),
        "dead alerts hold event data too"
    );
    let entries = f.audit.entries().unwrap();
    let entry = entries.last().unwrap();
    assert_eq!(entry.action.action, "retention_delete");
    assert_eq!(entry.action.detail["ingest_log_deleted"], serde_json::json!([old]));
    assert_eq!(entry.action.detail["checkpoints_deleted"], serde_json::json!([stale]));
    assert_eq!(entry.action.detail["dead_alerts_deleted"], serde_json::json!([old_letter]));
}
