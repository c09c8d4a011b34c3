//! Custody out on the command line: real footage run under a case, exported as one signed
//! package, verified with nothing but the package and the public key; then attacked: one byte
//! changed in each file, a file rewritten with its ZIP checksum fixed, a re-signed manifest, a
//! missing evidence object, an empty case.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::Digest;

use support::*;

fn run_ok(args: &[&str], data: &Path) -> std::process::Output {
    let out = canvass().args(args).arg("--data").arg(data).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", describe(&out));
    out
}

fn verify(package: &Path, key: Option<&str>) -> std::process::Output {
    let mut cmd = canvass();
    cmd.args(["export", "verify"]).arg(package);
    if let Some(key) = key {
        cmd.args(["--key", key]);
    }
    cmd.output().unwrap()
}

fn sha256sum(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum").arg(path).output().unwrap();
    text(&out.stdout).split_whitespace().next().unwrap().to_string()
}

/// Each entry's name and where its data is in the ZIP.
fn entries(package: &Path) -> Vec<(String, u64, u64)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(package).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let entry = zip.by_index(i).unwrap();
            (entry.name().to_string(), entry.data_start(), entry.compressed_size())
        })
        .collect()
}

fn read_entry(package: &Path, name: &str) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(package).unwrap()).unwrap();
    let mut bytes = Vec::new();
    zip.by_name(name).unwrap().read_to_end(&mut bytes).unwrap();
    bytes
}

/// The package rebuilt with files replaced (a valid ZIP: its checksums are right).
fn rewritten(package: &Path, replaced: &[(&str, &[u8])], out: PathBuf) -> PathBuf {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(package).unwrap()).unwrap();
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&out).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        writer.start_file(entry.name(), options).unwrap();
        let new = replaced.iter().find(|(name, _)| *name == entry.name()).map(|(_, bytes)| *bytes);
        writer.write_all(new.unwrap_or(&content)).unwrap();
    }
    writer.finish().unwrap();
    out
}

fn frame_times(file: &Path, keys_only: bool) -> Vec<f64> {
    let mut cmd = std::process::Command::new("ffprobe");
    cmd.args(["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0"]);
    if keys_only {
        cmd.args(["-skip_frame", "nokey"]);
    }
    let out = cmd.arg(file).output().unwrap();
    let mut times: Vec<f64> =
        text(&out.stdout).lines().filter_map(|l| l.trim_end_matches(',').parse().ok()).collect();
    times.sort_by(f64::total_cmp);
    times
}

#[test]
fn a_case_goes_out_as_a_signed_package_that_proves_itself_and_any_changed_byte_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run_ok(&["case", "create", TEST_CASE, "--title", "Range incident", "--agency", "range-pd"], &data);
    let clips = ["pistol_range.mp4", "car-detection.mp4"];
    for clip in clips {
        run_ok(&["run", "--case", TEST_CASE, sample_video(clip).to_str().unwrap()], &data);
    }
    let key = canvass().args(["export", "key"]).output().unwrap();
    assert!(key.status.success(), "{}", describe(&key));
    let key = text(&key.stdout).trim().to_string();
    assert_eq!(key.len(), 64, "{key}");
    let package = dir.path().join("case.zip");
    let out = run_ok(&["export", "--out", package.to_str().unwrap()], &data);
    assert!(text(&out.stdout).contains(&key), "{}", describe(&out));
    assert!(!dir.path().join("case.zip.partial").exists());

    let held = verify(&package, Some(&key));
    assert!(held.status.success(), "{}", describe(&held));
    assert!(text(&held.stdout).contains("holds"), "{}", describe(&held));

    // The originals in the package are the files run, byte for byte (sha256sum says so).
    let manifest: serde_json::Value = serde_json::from_slice(&read_entry(&package, "manifest.json")).unwrap();
    let originals = manifest["evidence"].as_array().unwrap();
    assert_eq!(originals.len(), 2);
    for clip in clips {
        let sum = sha256sum(&sample_video(clip));
        let original =
            originals.iter().find(|o| o["sha256"] == sum.as_str()).unwrap_or_else(|| panic!("{clip}"));
        assert_eq!(original["original_name"], clip);
        let extracted = dir.path().join(clip);
        std::fs::write(&extracted, read_entry(&package, original["path"].as_str().unwrap())).unwrap();
        assert_eq!(sha256sum(&extracted), sum);
    }
    // Each clip is the event's span plus 5 s a side (cut at the file's ends), within one GOP.
    let events: Vec<serde_json::Value> =
        serde_json::from_slice(&read_entry(&package, "events.json")).unwrap();
    assert!(events.iter().any(|e| e["class"] == "firearm"), "{events:?}");
    for event in &events {
        let id = event["event_id"].as_str().unwrap();
        let name = event["input"].as_str().unwrap();
        let original = originals.iter().find(|o| o["sha256"] == event["evidence_sha256"]).unwrap();
        let source = sample_video(original["original_name"].as_str().unwrap());
        let source_frames = frame_times(&source, false);
        let file_end = *source_frames.last().unwrap();
        let keys = frame_times(&source, true);
        let gop =
            keys.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max).max(file_end - keys.last().unwrap());
        let from = (event["media_start_us"].as_f64().unwrap() / 1e6 - 5.0).max(0.0);
        let to = (event["media_end_us"].as_f64().unwrap() / 1e6 + 5.0).min(file_end);
        let clip = dir.path().join(format!("{id}.mp4"));
        std::fs::write(&clip, read_entry(&package, &format!("clips/{id}.mp4"))).unwrap();
        let times = frame_times(&clip, false);
        let duration = times.last().unwrap() - times[0];
        assert!(
            duration >= to - from - 0.2 && duration <= to - from + gop,
            "{name} {id}: {duration:.2} s for {from:.2}-{to:.2} (GOP {gop:.2})"
        );
    }
    // The audit extract holds the export itself, and each entry's hash checks out.
    let extract = text(&read_entry(&package, "audit/entries.jsonl"));
    assert!(extract.lines().any(|l| l.contains("\"export_package\"")), "{extract}");

    // One byte changed in any file: verification fails and names that file.
    let whole = std::fs::read(&package).unwrap();
    for (name, start, size) in entries(&package) {
        let mut bytes = whole.clone();
        bytes[(start + size / 2) as usize] ^= 0x20;
        let tampered = dir.path().join("tampered.zip");
        std::fs::write(&tampered, &bytes).unwrap();
        let out = verify(&tampered, Some(&key));
        assert_eq!(out.status.code(), Some(1), "{name}: {}", describe(&out));
        assert!(text(&out.stderr).contains(&name), "{name} is not named: {}", describe(&out));
    }

    // Rewritten with the ZIP's own checksum right: the manifest's SHA-256 catches it ...
    let mut forged: Vec<serde_json::Value> = events.clone();
    forged[0]["confidence"] = serde_json::json!(0.99);
    let forged_events = serde_json::to_vec_pretty(&forged).unwrap();
    let tampered = rewritten(&package, &[("events.json", &forged_events)], dir.path().join("t1.zip"));
    let out = verify(&tampered, Some(&key));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("events.json: its SHA-256"), "{}", describe(&out));
    // ... and a manifest changed to match is not what was signed.
    let mut forged_manifest = manifest.clone();
    for file in forged_manifest["files"].as_array_mut().unwrap() {
        if file["path"] == "events.json" {
            file["sha256"] =
                serde_json::json!(canvass_store::secret::hex(&sha2::Sha256::digest(&forged_events)));
            file["size"] = serde_json::json!(forged_events.len());
        }
    }
    let forged_manifest = serde_json::to_vec_pretty(&forged_manifest).unwrap();
    let tampered = rewritten(
        &package,
        &[("events.json", &forged_events), ("manifest.json", &forged_manifest)],
        dir.path().join("t2.zip"),
    );
    let out = verify(&tampered, Some(&key));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("manifest.json: the signature"), "{}", describe(&out));
    assert!(
        !text(&out.stderr).contains("events.json"),
        "the forged events match the forged manifest: {}",
        describe(&out)
    );
    // ... and a package signed by someone else is not the key the recipient pinned.
    let other = "ab".repeat(32);
    let out = verify(&package, Some(&other));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("signature.json: signed by key"), "{}", describe(&out));
}

#[test]
fn an_export_with_nothing_to_export_or_a_missing_evidence_object_writes_no_package() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run_ok(&["case", "create", TEST_CASE, "--title", "Empty", "--agency", "range-pd"], &data);
    let package = dir.path().join("case.zip");
    let nothing =
        canvass().args(["export", "--out"]).arg(&package).arg("--data").arg(&data).output().unwrap();
    assert_eq!(nothing.status.code(), Some(2), "{}", describe(&nothing));
    assert!(text(&nothing.stderr).contains("has no events: nothing to export"), "{}", describe(&nothing));
    let refused = canvass()
        .args(["export", "--query", "man with a gun", "--out"])
        .arg(&package)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));

    run_ok(&["run", "--case", TEST_CASE, sample_video("pistol_range.mp4").to_str().unwrap()], &data);
    let sum = sha256sum(&sample_video("pistol_range.mp4"));
    let store = data_store(&data);
    let parts = store.list(&format!("evidence/v1/case={TEST_CASE}/sha256={sum}/part-")).unwrap();
    store.delete(&parts[0].key).unwrap();
    let failed = canvass().args(["export", "--out"]).arg(&package).arg("--data").arg(&data).output().unwrap();
    assert_eq!(failed.status.code(), Some(2), "{}", describe(&failed));
    assert!(text(&failed.stderr).contains(&parts[0].key), "the object is named: {}", describe(&failed));
    assert!(!package.exists() && !dir.path().join("case.zip.partial").exists(), "no package with a hole");
    let log = canvass_governance::AuditLog::new(store, audit_key()).entries().unwrap();
    assert!(log.iter().any(|e| e.action.action == "export_failed"), "the failure is audited");
}
