//! `canvass models list | verify` end to end, with the real models.

mod support;

use support::*;

#[test]
fn models_list_shows_every_shipped_manifest() {
    let out = canvass().args(["models", "list"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = text(&out.stdout);
    for name in
        ["yolox_nano_coco", "picodet_s_416_coco", "arcis_ultralight_weapons_256", "vehicle_attributes_0039"]
    {
        assert!(stdout.contains(name), "{name} missing: {stdout}");
    }
    assert!(stdout.contains("truck->truck"), "{stdout}");
    assert!(stdout.contains("(crop classifier), reads car, van, truck, pickup, bus"), "{stdout}");
}

#[test]
fn models_verify_loads_and_runs_each_model() {
    let out = canvass().args(["models", "verify"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        4,
        "three detectors and a classifier: {stdout}"
    );
}

#[test]
fn models_verify_names_a_broken_model_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    let files = dir.path().join("files");
    std::fs::create_dir_all(files.join("coco")).unwrap();
    std::fs::create_dir_all(&manifests).unwrap();
    // A copy of the YOLOX manifest whose file is truncated.
    let real = std::fs::read(models_dir().join("coco/yolox_nano.onnx")).unwrap();
    std::fs::write(files.join("coco/yolox_nano.onnx"), &real[..real.len() / 2]).unwrap();
    std::fs::copy(repo().join("models/yolox_nano_coco.toml"), manifests.join("yolox_nano_coco.toml"))
        .unwrap();
    let out = canvass()
        .args(["models", "verify", "--manifests-dir"])
        .arg(&manifests)
        .arg("--models-dir")
        .arg(&files)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains("FAILED yolox_nano_coco: model yolox-nano-coco"),
        "{}",
        describe(&out)
    );
    assert!(text(&out.stdout).contains("checksum mismatch"), "{}", describe(&out));
}
