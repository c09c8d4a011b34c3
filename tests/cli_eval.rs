//! `canvass eval` on the hand-labelled set (tests/eval, frames made by scripts/eval-set from the
//! sample media), checked against an independent implementation (scripts/eval_check.py).

mod support;

use std::path::{Path, PathBuf};

use support::*;

fn images(dir: &Path) -> PathBuf {
    let out = dir.join("images");
    let status = std::process::Command::new(repo().join("scripts/eval-set"))
        .arg(assets().join("media"))
        .arg(&out)
        .status()
        .expect("scripts/eval-set runs");
    assert!(status.success(), "scripts/eval-set failed");
    out
}

#[test]
fn eval_agrees_with_an_independent_script_on_the_labelled_set() {
    let dir = tempfile::tempdir().unwrap();
    let images = images(dir.path());
    let (report, predictions) = (dir.path().join("report.json"), dir.path().join("predictions.json"));
    let gt = repo().join("tests/eval/instances.json");
    let out = canvass()
        .arg("eval")
        .arg("--coco")
        .arg(&gt)
        .arg("--images")
        .arg(&images)
        .arg("--json")
        .arg(&report)
        .arg("--predictions")
        .arg(&predictions)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let table = text(&out.stdout);
    assert!(table.contains("12 images") && table.contains("recall") && table.contains("colour"), "{table}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["classes"]["car"]["labelled"], 28, "{json:#}");
    assert!(
        json["classes"]["car"]["true_positives"].as_u64().unwrap() > 0,
        "the vehicle model finds cars: {json:#}"
    );
    let check = std::process::Command::new("python3")
        .arg(repo().join("scripts/eval_check.py"))
        .arg("--gt")
        .arg(&gt)
        .arg("--predictions")
        .arg(&predictions)
        .arg("--canvass")
        .arg(&report)
        .output()
        .unwrap();
    assert!(check.status.success() && text(&check.stdout).contains("agrees"), "{}", describe(&check));
}

#[test]
fn yolo_folders_read_as_the_same_boxes() {
    // dog.jpg's boxes from the COCO file, written as YOLO labels: the same report.
    let dir = tempfile::tempdir().unwrap();
    let yolo = dir.path().join("yolo");
    std::fs::create_dir_all(yolo.join("images")).unwrap();
    std::fs::create_dir_all(yolo.join("labels")).unwrap();
    std::fs::copy(assets().join("media/images/dog.jpg"), yolo.join("images/dog.jpg")).unwrap();
    let gt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo().join("tests/eval/instances.json")).unwrap()).unwrap();
    let names: Vec<&str> =
        gt["categories"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    std::fs::write(yolo.join("classes.txt"), names.join("\n")).unwrap();
    let mut lines = String::new();
    for a in gt["annotations"].as_array().unwrap().iter().filter(|a| a["image_id"] == 1) {
        let b: Vec<f64> = a["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let index =
            gt["categories"].as_array().unwrap().iter().position(|c| c["id"] == a["category_id"]).unwrap();
        let (w, h) = (768.0, 576.0);
        lines += &format!(
            "{index} {} {} {} {}\n",
            (b[0] + b[2] / 2.0) / w,
            (b[1] + b[3] / 2.0) / h,
            b[2] / w,
            b[3] / h
        );
    }
    std::fs::write(yolo.join("labels/dog.txt"), lines).unwrap();
    let report = dir.path().join("yolo.json");
    let out = canvass().arg("eval").arg("--yolo").arg(&yolo).arg("--json").arg(&report).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["images"], 1);
    let labelled: u64 =
        json["classes"].as_object().unwrap().values().map(|c| c["labelled"].as_u64().unwrap()).sum();
    let in_coco = gt["annotations"].as_array().unwrap().iter().filter(|a| a["image_id"] == 1).count() as u64;
    assert_eq!(labelled, in_coco, "{json:#}");
    assert!(json["classes"]["bicycle"]["true_positives"].as_u64().unwrap() >= 1, "{json:#}");
}

#[test]
fn a_label_that_is_not_a_class_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let gt = dir.path().join("gt.json");
    std::fs::write(
        &gt,
        r#"{"images":[{"id":1,"file_name":"dog.jpg"}],"categories":[{"id":1,"name":"person"}],
            "annotations":[{"image_id":1,"category_id":1,"bbox":[1,1,5,5]}]}"#,
    )
    .unwrap();
    let out = canvass()
        .arg("eval")
        .arg("--coco")
        .arg(&gt)
        .arg("--images")
        .arg(assets().join("media/images"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("'person' is not a canvass class"), "{}", describe(&out));
}
