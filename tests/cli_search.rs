//! `canvass run` then `canvass search`, end to end on real footage: the embedded default.

mod support;

use std::path::PathBuf;
use std::sync::OnceLock;

use support::*;

/// One lake for the whole file: the traffic clip (dusk road, no weapon) with a known start time,
/// and the pistol clip.
fn lake() -> &'static PathBuf {
    static LAKE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &LAKE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            for (clip, start) in
                [("opencv4nodejs_traffic.mp4", Some("2026-11-20T08:00:00Z")), ("pistol_range.mp4", None)]
            {
                let mut cmd = canvass();
                cmd.arg("run").arg("--data").arg(&data);
                if let Some(start) = start {
                    cmd.args(["--start", start]);
                }
                let out = cmd.arg(sample_video(clip)).output().unwrap();
                assert!(out.status.success(), "{}", describe(&out));
            }
            (dir, data)
        })
        .1
}

fn search(args: &[&str]) -> std::process::Output {
    canvass().arg("search").arg("--data").arg(lake()).args(args).output().unwrap()
}

fn hits(args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["--json", "--limit", "1000"];
    all.extend_from_slice(args);
    let out = search(&all);
    assert!(out.status.success(), "{}", describe(&out));
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
}

/// The largest share any of `colours` has in a hit's colour distribution.
fn share(hit: &serde_json::Value, colours: &[&str]) -> f64 {
    hit["colours"]
        .as_array()
        .unwrap_or_else(|| panic!("no colour distribution: {hit}"))
        .iter()
        .filter(|c| colours.contains(&c["colour"].as_str().unwrap()))
        .map(|c| c["score"].as_f64().unwrap())
        .fold(0.0, f64::max)
}

#[test]
fn finds_the_white_car_in_the_clips_time_window() {
    let white = hits(&["white", "car", "after:2026-11-20T08:00:00Z", "before:2026-11-20T08:00:21Z"]);
    assert!(!white.is_empty(), "no white car");
    assert_eq!(white[0]["colour"], "white", "a clearly white car ranks first: {:#?}", white[0]);
    for h in &white {
        // Soft colours: every hit gives white at least a fifth of its distribution.
        assert_eq!(h["class"], "car", "{h}");
        assert!(share(h, &["white"]) >= 0.2, "{h}");
        assert_eq!(h["source"], "opencv4nodejs_traffic");
        let start = h["start"].as_str().unwrap();
        assert!(start.starts_with("2026-11-20T08:00:"), "{start}");
        assert!(h["thumbnail"].as_str().unwrap().starts_with("thumbs/source=opencv4nodejs_traffic/"), "{h}");
        for field in ["event_id", "confidence", "end", "media_start_s", "media_end_s"] {
            assert!(!h[field].is_null(), "{field} missing in {h}");
        }
    }
    assert!(hits(&["white", "car", "after:2026-11-20T09:00:00Z", "before:2026-11-20T10:00:00Z"]).is_empty());
}

#[test]
fn finds_the_dark_cars_and_no_firearm_on_the_road() {
    let dark = hits(&["dark", "car", "source:opencv4nodejs_traffic"]);
    assert!(dark.len() >= 3, "{} dark cars", dark.len());
    assert!(dark.iter().all(|h| share(h, &["black", "grey", "blue"]) >= 0.2), "{dark:#?}");
    assert!(hits(&["firearm", "camera:opencv4nodejs_traffic"]).is_empty());
    let guns = hits(&["gun"]);
    assert_eq!(guns.len(), 1, "{guns:?}");
    assert_eq!(guns[0]["source"], "pistol_range");
}

#[test]
fn results_are_ranked_and_paged() {
    let all = hits(&["car"]);
    let confidences: Vec<f64> = all.iter().map(|h| h["confidence"].as_f64().unwrap()).collect();
    assert!(confidences.windows(2).all(|w| w[0] >= w[1]), "best first");
    let out = search(&["--json", "--offset", "2", "--limit", "3", "car"]);
    let page2: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page2.len(), 3.min(all.len().saturating_sub(2)));
    assert_eq!(page2[0]["event_id"], all[2]["event_id"]);
    let table = search(&["car", "--limit", "2"]);
    assert!(text(&table.stdout).contains(&format!("1-2 of {} events", all.len())), "{}", describe(&table));
}

#[test]
fn bad_and_refused_queries_exit_2_with_the_reason() {
    let unknown = search(&["red", "zeppelin"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", describe(&unknown));
    assert!(text(&unknown.stderr).contains("unknown word 'zeppelin'"), "{}", describe(&unknown));
    let face = search(&["face"]);
    assert_eq!(face.status.code(), Some(2));
    assert!(text(&face.stderr).contains("never identifies or describes a person"), "{}", describe(&face));
    let time = search(&["car", "after:soon"]);
    assert_eq!(time.status.code(), Some(2));
    let none = search(&["bus", "source:nowhere"]);
    assert!(none.status.success(), "no hits is not an error");
    assert!(text(&none.stdout).contains("no events match"), "{}", describe(&none));
}

#[test]
fn running_the_same_clip_again_adds_no_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = || {
        let out = canvass()
            .arg("run")
            .arg("--data")
            .arg(&data)
            .args(["--start", "2026-11-20T08:00:00Z"])
            .arg(sample_video("pistol_range.mp4"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        let out = canvass()
            .arg("search")
            .arg("--data")
            .arg(&data)
            .args(["--json", "--limit", "1000", "gun"])
            .output()
            .unwrap();
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
    };
    let first = run();
    let second = run();
    assert_eq!(first.len(), 1);
    assert_eq!(first, second, "same ids, same count");
}

#[test]
fn every_search_names_a_case_and_is_audited_with_what_it_showed() {
    let without = |remove: &[&str]| {
        let mut cmd = canvass();
        for name in remove {
            cmd.env_remove(name);
        }
        cmd.arg("search").arg("--data").arg(lake()).arg("gun").output().unwrap()
    };
    let no_case = without(&["CANVASS_CASE", "CANVASS_PURPOSE"]);
    assert_eq!(no_case.status.code(), Some(2), "{}", describe(&no_case));
    assert!(text(&no_case.stderr).contains("--case and --purpose"), "{}", describe(&no_case));
    assert!(no_case.stdout.is_empty(), "nothing shown");
    let no_purpose = without(&["CANVASS_PURPOSE"]);
    assert_eq!(no_purpose.status.code(), Some(2), "{}", describe(&no_purpose));
    assert!(text(&no_purpose.stderr).contains("give --purpose"), "{}", describe(&no_purpose));

    let thumbs = tempfile::tempdir().unwrap();
    let dir = thumbs.path().to_str().unwrap();
    let out =
        search(&["--json", "--case", "2026-77", "--purpose", "armed robbery", "--thumbnails", dir, "gun"]);
    assert!(out.status.success(), "{}", describe(&out));
    let shown: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown.len(), 1);
    let id = shown[0]["event_id"].as_str().unwrap();
    let saved = thumbs.path().join(format!("{id}.jpg"));
    assert_eq!(shown[0]["thumbnail"].as_str(), Some(saved.to_str().unwrap()));
    assert_eq!(&std::fs::read(&saved).unwrap()[..3], b"\xff\xd8\xff", "a plain JPEG, decrypted");

    let refused = search(&["--case", "2026-78", "--purpose", "probe", "zeppelin"]);
    assert_eq!(refused.status.code(), Some(2));
    let log = canvass_governance::AuditLog::new(data_store(lake()), audit_key()).entries().unwrap();
    let entry =
        log.iter().find(|e| e.action.case.as_deref() == Some("2026-77")).expect("the search is audited");
    assert_eq!((entry.action.action.as_str(), entry.action.role.as_str()), ("search", "cli"));
    assert_eq!(entry.action.purpose.as_deref(), Some("armed robbery"));
    assert!(entry.action.actor.starts_with("os:"), "{}", entry.action.actor);
    assert_eq!(entry.action.detail["event_ids"], serde_json::json!([id]));
    let refusal =
        log.iter().find(|e| e.action.case.as_deref() == Some("2026-78")).expect("the refusal is audited");
    assert_eq!(refusal.action.action, "search_refused");
}
