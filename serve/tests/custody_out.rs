//! Custody out through the service: an event's clip cut from stored evidence (with ranges, no
//! browser caching, audited, scoped like the event), and case export packages written in the
//! background, downloaded, and verified with nothing but the package; on the folder and on S3.
//! Attacks: another agency, an owner, a crafted range, a live stream with no footage, a missing
//! evidence object.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use canvass_schemas::DetectionEvent;
use canvass_serve::ServeSettings;
use canvass_store::evidence::{EvidenceStore, Submission, input_name};
use canvass_store::{EventLake, LocalStore, Store};
use support::{Server, call, call_with, get, start, start_on};

const CASE: &str = "case=N-7&purpose=custody%20test";

fn sample(name: &str) -> PathBuf {
    let assets = std::env::var_os("CANVASS_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets"));
    let path = assets.join("media/video").join(name);
    assert!(path.is_file(), "{} is missing: run scripts/setup first", path.display());
    path
}

fn open_case(server: &Server, id: &str) {
    let body = format!(r#"{{"id":"{id}","title":"custody test"}}"#);
    let made = call(server, "POST", "/v1/cases", Some("ana"), Some(body.as_bytes()));
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
}

/// `file` stored as evidence of `case`, and an event found in it from `from_s` to `to_s`.
fn event_in_evidence(
    store: &Store,
    case: &str,
    file: &Path,
    n: u64,
    from_s: f64,
    to_s: f64,
) -> DetectionEvent {
    let submission = Submission { case, submitted_by: "ana", source_id: Some("north-1"), request: None };
    let (manifest, _) =
        EvidenceStore::new(store.clone()).put_file(file, &submission, chrono::Utc::now()).unwrap();
    let mut event = canvass_store::testing::event("north-1", support::at(n as i64), n);
    event.input = input_name(case, &manifest.sha256);
    event.case = Some(case.into());
    event.evidence_sha256 = Some(manifest.sha256.clone());
    event.media_start_us = (from_s * 1e6) as i64;
    event.media_end_us = (to_s * 1e6) as i64;
    event.best_frame.media_time_us = event.media_start_us;
    let lake = EventLake::new(store.clone());
    lake.write(std::slice::from_ref(&event)).unwrap();
    lake.put_thumbnail(&event.thumbnail_key, b"\xff\xd8jpeg").unwrap();
    event
}

/// ffprobe's frame times (s) of the file, sorted, and the keyframe interval of `source`.
fn frame_times(file: &Path, keys_only: bool) -> Vec<f64> {
    let mut args =
        vec!["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0"];
    if keys_only {
        args.extend(["-skip_frame", "nokey"]);
    }
    let out = std::process::Command::new("ffprobe")
        .args(&args)
        .arg(file)
        .output()
        .expect("ffprobe (scripts/setup)");
    assert!(out.status.success());
    let mut times: Vec<f64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim_end_matches(',').parse().ok())
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

fn audited(store: &Store, action: &str) -> Vec<canvass_governance::audit::Entry> {
    let log = canvass_governance::AuditLog::new(store.clone(), support::audit_key());
    log.entries().unwrap().into_iter().filter(|e| e.action.action == action).collect()
}

#[test]
fn a_clip_is_the_events_span_with_margins_from_stored_evidence_served_in_ranges() {
    let settings = ServeSettings { disclosure_budget: 3, ..ServeSettings::default() };
    let server = start(settings);
    let store: Store = Arc::new(LocalStore::new(server.dir.path()));
    open_case(&server, "N-7");
    let source = sample("opencv4nodejs_traffic.mp4");
    let event = event_in_evidence(&store, "N-7", &source, 1, 8.0, 10.0);
    let path = format!("/v1/events/{}/clip?{CASE}", event.event_id);

    let whole = get(&server, &path, "ana");
    assert_eq!(whole.status, 200, "{}", String::from_utf8_lossy(&whole.body));
    assert_eq!(whole.header("content-type").as_deref(), Some("video/mp4"));
    assert_eq!(whole.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(whole.header("accept-ranges").as_deref(), Some("bytes"));
    assert_eq!(whole.header("x-canvass-clip-method").as_deref(), Some("copy"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("clip.mp4");
    std::fs::write(&file, &whole.body).unwrap();
    // 2 s of event and 5 s each side, starting at the keyframe at or before 3 s.
    let keys = frame_times(&source, true);
    let gop = keys.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    let start: f64 = whole.header("x-canvass-clip-start").unwrap().parse().unwrap();
    assert!(start <= 3.0 + 1e-3 && start >= 3.0 - gop, "starts at {start} s (GOP {gop:.2} s)");
    assert!(
        keys.iter().any(|k| (k - start).abs() < 0.002),
        "{start} is not a keyframe of the source: {keys:?}"
    );
    let times = frame_times(&file, false);
    let duration = times.last().unwrap() - times[0];
    assert!((11.8..=12.0 + gop).contains(&duration), "{duration:.2} s");

    // A player's ranges, answered from the clip cut once.
    let first = call_with(&server, "GET", &path, Some("ana"), &[("Range", "bytes=0-99")], b"");
    assert_eq!(first.status, 206);
    assert_eq!(first.body, whole.body[..100]);
    let len = whole.body.len();
    assert_eq!(first.header("content-range"), Some(format!("bytes 0-99/{len}")));
    let tail = call_with(&server, "GET", &path, Some("ana"), &[("Range", "bytes=-10")], b"");
    assert_eq!((tail.status, tail.body.as_slice()), (206, &whole.body[len - 10..]));
    let past = call_with(&server, "GET", &path, Some("ana"), &[("Range", &format!("bytes={len}-"))], b"");
    assert_eq!(past.status, 416);
    assert_eq!(past.header("content-range"), Some(format!("bytes */{len}")));
    // Every request audited, the budget spent once (3 left would refuse a fourth cut otherwise).
    let views = audited(&store, "view_clip");
    assert_eq!(views.len(), 4);
    assert!(views.iter().all(|e| e.action.detail["event_id"] == event.event_id.as_str()));
    assert_eq!(views[1].action.detail["bytes"], serde_json::json!([0, 99]));

    // Scoped like the event: another agency does not find it, an owner may not look.
    assert_eq!(get(&server, &path, "bo").status, 404);
    assert_eq!(get(&server, &path, "olga").status, 403);
    assert_eq!(
        get(&server, &format!("/v1/events/{}/clip", event.event_id), "ana").status,
        400,
        "no case, no clip"
    );

    // A live stream kept no footage, and says so.
    let mut live = canvass_store::testing::event("north-2", support::at(9), 9);
    live.input = "rtsp://camera.example/live".into();
    EventLake::new(store.clone()).write(std::slice::from_ref(&live)).unwrap();
    let none = get(&server, &format!("/v1/events/{}/clip?{CASE}", live.event_id), "sam");
    assert_eq!(none.status, 404);
    assert!(
        none.error().contains("live stream") && none.error().contains("kept no footage"),
        "{}",
        none.error()
    );
}

/// Asks for an export of case N-7 as `who` and waits for it to end; the final record.
fn export_and_wait(server: &Server, who: &str, body: &str) -> serde_json::Value {
    let asked = call(server, "POST", "/v1/cases/N-7/exports", Some(who), Some(body.as_bytes()));
    assert_eq!(asked.status, 202, "{}", String::from_utf8_lossy(&asked.body));
    let id = asked.json()["id"].as_str().unwrap().to_string();
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let record = get(server, &format!("/v1/exports/{id}"), who).json();
        if record["state"] != "running" {
            return record;
        }
        assert!(Instant::now() < until, "the export did not end: {record}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn exports_hold_on(store: Store, dir: tempfile::TempDir) {
    let server = start_on(store.clone(), dir, ServeSettings::default());
    open_case(&server, "N-7");
    let body = r#"{"purpose":"disclosure to the prosecutor"}"#;
    // Nothing to export yet, and no other agency, owner or unknown case gets in.
    let empty = call(&server, "POST", "/v1/cases/N-7/exports", Some("ana"), Some(body.as_bytes()));
    assert_eq!(empty.status, 422);
    assert!(empty.error().contains("nothing to export"), "{}", empty.error());
    let e1 = event_in_evidence(&store, "N-7", &sample("pistol_range.mp4"), 1, 2.0, 4.0);
    let e2 = event_in_evidence(&store, "N-7", &sample("car-detection.mp4"), 2, 10.0, 12.5);
    assert_eq!(call(&server, "POST", "/v1/cases/N-7/exports", Some("bo"), Some(body.as_bytes())).status, 403);
    assert_eq!(
        call(&server, "POST", "/v1/cases/N-7/exports", Some("olga"), Some(body.as_bytes())).status,
        403
    );
    assert_eq!(
        call(&server, "POST", "/v1/cases/N-404/exports", Some("ana"), Some(body.as_bytes())).status,
        404
    );

    let record = export_and_wait(&server, "ana", body);
    assert_eq!(record["state"], "done", "{record}");
    assert_eq!(record["events"], 2);
    let id = record["id"].as_str().unwrap();
    assert_eq!(get(&server, &format!("/v1/exports/{id}"), "bo").status, 404);
    assert_eq!(get(&server, &format!("/v1/exports/{id}/package"), "bo").status, 404);
    let package = get(&server, &format!("/v1/exports/{id}/package"), "sam");
    assert_eq!(package.status, 200);
    assert_eq!(package.header("cache-control").as_deref(), Some("no-store"));
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("package.zip");
    std::fs::write(&zip, &package.body).unwrap();
    let report = canvass_custody::verify_package(&zip, Some(&support::signing_key().public_hex())).unwrap();
    assert!(report.holds(), "{:?}", report.problems);
    let manifest = report.manifest.unwrap();
    assert_eq!(manifest.events, 2);
    assert_eq!(manifest.case.agency, "north-pd");
    for event in [&e1, &e2] {
        let paths: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&format!("clips/{}.mp4", event.event_id).as_str()), "{paths:?}");
        let original =
            manifest.evidence.iter().find(|o| Some(&o.sha256) == event.evidence_sha256.as_ref()).unwrap();
        assert_eq!(original.submitted_by, "ana");
        assert!(original.path.is_some());
    }
    // The extract holds the export's own entry; the download is audited too.
    assert!(manifest.audit.entries >= 2, "{:?}", manifest.audit);
    assert_eq!(audited(&store, "export_package").len(), 1);
    assert_eq!(audited(&store, "download_export").len(), 1);
    let listed = get(&server, "/v1/cases/N-7/exports", "ana").json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(get(&server, "/v1/cases/N-7/exports", "bo").status, 403, "another agency lists nothing");
    // Past its expiry the package is gone for everyone (the janitor removes it later).
    let book = canvass_custody::exports::ExportBook::new(store.clone());
    let mut expired = book.get(id).unwrap().unwrap();
    expired.expires_at = chrono::Utc::now() - chrono::Duration::seconds(1);
    book.put(&expired).unwrap();
    let gone = get(&server, &format!("/v1/exports/{id}/package"), "ana");
    assert_eq!(gone.status, 410, "{}", gone.error());
    assert!(gone.error().contains("expired"), "{}", gone.error());

    // Clips only leaves the originals out but lists them.
    let record = export_and_wait(&server, "sam", r#"{"purpose":"review","originals":false,"query":"car"}"#);
    assert_eq!(record["state"], "done", "{record}");
    assert_eq!(record["summary"]["originals"], 0);

    // A missing evidence object fails the export by name: never a package with a hole.
    let sha = e2.evidence_sha256.clone().unwrap();
    let parts = store.list(&format!("evidence/v1/case=N-7/sha256={sha}/part-")).unwrap();
    store.delete(&parts[0].key).unwrap();
    let failed = export_and_wait(&server, "ana", body);
    assert_eq!(failed["state"], "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains(&parts[0].key) && error.contains("missing"), "{error}");
    let id = failed["id"].as_str().unwrap();
    assert_eq!(get(&server, &format!("/v1/exports/{id}/package"), "ana").status, 409);
    assert_eq!(audited(&store, "export_failed").len(), 1);

    // Every export spent its events of the asker's disclosure budget (ana: two exports of 2).
    let spent = get(&server, "/v1/disclosures", "sam").json();
    let used =
        |user: &str| spent.as_array().unwrap().iter().find(|u| u["user"] == user).map(|u| u["used"].clone());
    assert_eq!(
        (used("ana"), used("sam")),
        (Some(serde_json::json!(4)), Some(serde_json::json!(2))),
        "{spent}"
    );
}

#[test]
fn a_case_export_is_signed_verifies_and_stays_in_its_agency_on_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let store: Store = Arc::new(LocalStore::new(dir.path()));
    exports_hold_on(store, dir);
}

#[test]
fn a_case_export_is_signed_verifies_and_stays_in_its_agency_on_s3() {
    let s3 = canvass_store::testing::S3Server::start();
    let store: Store = Arc::new(canvass_store::S3Store::new(s3.config("canvass/")).unwrap());
    exports_hold_on(store, tempfile::tempdir().unwrap());
}
