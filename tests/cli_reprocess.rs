//! Batch reprocessing: stored evidence re-run with a newer model version; search shows the
//! newest model's events, nothing is lost or doubled.

mod support;

use std::path::Path;

use support::*;

/// A "newer" weapon model: the same network with one more ONNX metadata entry appended (a
/// protobuf field may be appended to a message), so its checksum, and so its event ids, differ.
fn newer_weapon_model(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let models = dir.join("models");
    let manifests = dir.join("manifests");
    std::fs::create_dir_all(models.join("weapons")).unwrap();
    std::fs::create_dir_all(models.join("coco")).unwrap();
    std::fs::create_dir_all(&manifests).unwrap();
    let mut onnx = std::fs::read(models_dir().join("weapons/arcis_ultralight_weapons_256.onnx")).unwrap();
    let entry = [&[0x0a, 7][..], b"retrain", &[0x12, 2], b"v2"].concat();
    onnx.extend_from_slice(&[0x72, entry.len() as u8]);
    onnx.extend_from_slice(&entry);
    std::fs::write(models.join("weapons/arcis_ultralight_weapons_256.onnx"), &onnx).unwrap();
    std::fs::copy(models_dir().join("coco/yolox_nano.onnx"), models.join("coco/yolox_nano.onnx")).unwrap();
    std::fs::copy(repo().join("models/yolox_nano_coco.toml"), manifests.join("yolox_nano_coco.toml"))
        .unwrap();
    let sha = canvass_detector::model::sha256_hex(&onnx);
    let manifest = std::fs::read_to_string(repo().join("models/arcis_ultralight_weapons_256.toml")).unwrap();
    let manifest = manifest
        .replace("version = \"d26fb3d8\"", "version = \"v2\"")
        .replace("8cb4571bd1ee215c273a1597cf218083a34272118676f3921ecd0b07efc8885d", &sha);
    std::fs::write(manifests.join("arcis_ultralight_weapons_256.toml"), manifest).unwrap();
    (models, manifests)
}

fn search(data: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let out = canvass()
        .arg("search")
        .arg("--data")
        .arg(data)
        .args(["--json", "--limit", "1000"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn reprocessing_with_a_newer_model_replaces_its_events_in_search_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out =
        canvass().arg("run").arg("--data").arg(&data).arg(sample_video("pistol_range.mp4")).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let guns_before = search(&data, &["gun"]);
    let vehicles_before = search(&data, &["vehicle"]);
    assert_eq!(guns_before.len(), 1);
    assert_eq!(guns_before[0]["model"], "arcis-ultralight-weapons-256@d26fb3d8");

    let (models, manifests) = newer_weapon_model(dir.path());
    let out = canvass()
        .args(["run", "--reprocess", "--data"])
        .arg(&data)
        .arg("--models-dir")
        .arg(&models)
        .arg("--manifests-dir")
        .arg(&manifests)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));

    let guns_after = search(&data, &["gun"]);
    assert_eq!(guns_after.len(), 1, "the newest model's event only: {guns_after:?}");
    assert_eq!(guns_after[0]["model"], "arcis-ultralight-weapons-256@v2");
    assert_ne!(guns_after[0]["event_id"], guns_before[0]["event_id"]);
    assert_eq!(guns_after[0]["start"], guns_before[0]["start"], "the evidence keeps its wall clock");
    assert_eq!(search(&data, &["--all-versions", "gun"]).len(), 2, "the old version is kept");
    // The vehicle model did not change: same events, not doubled.
    assert_eq!(search(&data, &["vehicle"]), vehicles_before);
}

#[test]
fn reprocess_with_nothing_ingested_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = canvass().args(["run", "--reprocess", "--data"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("nothing to reprocess"), "{}", describe(&out));
}
