//! Custody in the embedded mode: a file run under a case is stored as evidence (its stored
//! SHA-256 is the file's), and reprocessing reads the stored original after the file is gone,
//! giving the same events.

mod support;

use support::*;

fn gun_ids(data: &std::path::Path) -> Vec<String> {
    let out = canvass()
        .args(["search", "--json", "--all-versions", "--data"])
        .arg(data)
        .arg("gun")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let hits: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    hits.iter().map(|h| h["event_id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn evidence_run_under_a_case_is_stored_and_reprocessed_after_the_file_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let clip = dir.path().join("upload").join("range.mp4");
    std::fs::create_dir_all(clip.parent().unwrap()).unwrap();
    std::fs::copy(sample_video("pistol_range.mp4"), &clip).unwrap();

    // No case yet: refused before anything is decoded or stored.
    let no_case =
        canvass().args(["run", "--case", "2026-7", "--data"]).arg(&data).arg(&clip).output().unwrap();
    assert_eq!(no_case.status.code(), Some(2), "{}", describe(&no_case));
    assert!(text(&no_case.stderr).contains("no case 2026-7"), "{}", describe(&no_case));
    let opened = canvass()
        .args(["case", "create", "2026-7", "--title", "Range incident", "--agency", "range-pd", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(opened.status.success(), "{}", describe(&opened));
    let again = canvass()
        .args(["case", "create", "2026-7", "--title", "Other", "--agency", "other-pd", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "a case id is never reused: {}", describe(&again));

    let run = canvass().args(["run", "--case", "2026-7", "--data"]).arg(&data).arg(&clip).output().unwrap();
    assert!(run.status.success(), "{}", describe(&run));
    let first = gun_ids(&data);
    assert_eq!(first.len(), 1);

    // Stored under the case with the file's own SHA-256 (sha256sum, not canvass, says what it is).
    let shown = canvass().args(["case", "show", "2026-7", "--json", "--data"]).arg(&data).output().unwrap();
    assert!(shown.status.success(), "{}", describe(&shown));
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let sum = std::process::Command::new("sha256sum").arg(&clip).output().unwrap();
    let file_sha = text(&sum.stdout).split_whitespace().next().unwrap().to_string();
    let evidence = shown["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 1);
    assert_eq!(evidence[0]["sha256"], file_sha.as_str());
    assert_eq!(evidence[0]["original_name"], "range.mp4");
    assert_eq!(evidence[0]["size"], std::fs::metadata(&clip).unwrap().len());

    // The original is gone from the disk; reprocessing reads the stored copy.
    std::fs::remove_file(&clip).unwrap();
    let reprocess = canvass().args(["run", "--reprocess", "--data"]).arg(&data).output().unwrap();
    assert!(reprocess.status.success(), "{}", describe(&reprocess));
    assert_eq!(gun_ids(&data), first, "the same event, same id, not a second one");
    // The case's stored originals, by case: the same again; none submitted in the future.
    let by_case =
        canvass().args(["run", "--reprocess", "--case", "2026-7", "--data"]).arg(&data).output().unwrap();
    assert!(by_case.status.success(), "{}", describe(&by_case));
    assert_eq!(gun_ids(&data), first);
    let later = canvass()
        .args(["run", "--reprocess", "--case", "2026-7", "--from", "2099-01-01T00:00:00Z", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        !later.status.success() && text(&later.stderr).contains("nothing to reprocess"),
        "{}",
        describe(&later)
    );
    // Its events carry the case: found with case:, and not with another.
    let in_case = canvass()
        .args(["search", "--json", "--data"])
        .arg(&data)
        .args(["gun", "case:2026-7"])
        .output()
        .unwrap();
    assert!(in_case.status.success(), "{}", describe(&in_case));
    let hits: Vec<serde_json::Value> = serde_json::from_slice(&in_case.stdout).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["case"], "2026-7");
    let other = canvass()
        .args(["search", "--json", "--data"])
        .arg(&data)
        .args(["gun", "case:2026-8"])
        .output()
        .unwrap();
    assert_eq!(serde_json::from_slice::<Vec<serde_json::Value>>(&other.stdout).unwrap().len(), 0);

    let log = canvass_governance::AuditLog::new(data_store(&data), audit_key()).entries().unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.action.as_str()).collect();
    for action in ["case_opened", "evidence_stored", "evidence_read", "view_case"] {
        assert!(actions.contains(&action), "{action} not audited: {actions:?}");
    }
    let stored = log.iter().find(|e| e.action.action == "evidence_stored").unwrap();
    assert_eq!(stored.action.case.as_deref(), Some("2026-7"));
    assert_eq!(stored.action.detail["sha256"], file_sha.as_str());
}
