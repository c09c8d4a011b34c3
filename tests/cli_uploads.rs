//! Custody in, embedded: `canvass serve` takes a clip by tus under a case, stores it as
//! evidence (its stored SHA-256 is the file's), runs its ingest job in-process to done, the
//! events carry the case (`case:` finds them), and after the uploaded file is deleted the case
//! is reprocessed from the store to the same events. A non-video upload is kept as evidence
//! and its job fails with FFmpeg's reason; a cut-short one ingests what decodes and says what
//! was lost.

mod support;

use std::time::Duration;

use sha2::{Digest, Sha256};
use support::http::{Serve, get, post_json, tus_upload, wait_for_job};
use support::{canvass, describe, sample_video};

const TOKEN: &str = "investigator-token-0123456789";

fn serve(dir: &std::path::Path) -> Serve {
    let config = dir.join("canvass.toml");
    std::fs::write(
        &config,
        format!(
            "[[agencies]]\nname = \"metro\"\nsources = [\"*\"]\n\n\
             [[users]]\nname = \"ana\"\nrole = \"investigator\"\nagency = \"metro\"\ntoken_sha256 = \"{}\"\n",
            canvass_governance::access::token_hash(TOKEN)
        ),
    )
    .unwrap();
    Serve::start(&config, &dir.join("data"), &[], &dir.join("serve.log"))
}

/// Event ids of the case's firearm events, by search.
fn firearms_of(port: u16, case: &str) -> Vec<String> {
    let path = format!("/v1/search?q=firearm%20case:{case}&case={case}&purpose=test&limit=100");
    let found = get(port, &path, TOKEN);
    assert_eq!(found.status, 200, "{}", String::from_utf8_lossy(&found.body));
    let mut ids: Vec<String> = found.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().into())
        .collect();
    ids.sort();
    ids
}

#[test]
fn an_uploaded_clip_is_evidence_ingested_searchable_and_reprocessed_after_the_file_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let port = server.port;
    let case = "2026-up-1";
    assert_eq!(
        post_json(port, "/v1/cases", TOKEN, serde_json::json!({ "id": case, "title": "Range" })).status,
        201
    );

    // The investigator's copy of the clip: uploaded, then deleted.
    let clip = dir.path().join("range.mp4");
    std::fs::copy(sample_video("pistol_range.mp4"), &clip).unwrap();
    let bytes = std::fs::read(&clip).unwrap();
    let sha = canvass_store::secret::hex(&Sha256::digest(&bytes));
    let done = tus_upload(port, TOKEN, &bytes, 700_000, &[("case", case), ("filename", "range.mp4")]);
    assert_eq!(done.header("x-canvass-evidence-sha256").as_deref(), Some(sha.as_str()));
    let job = wait_for_job(port, TOKEN, &done.header("x-canvass-job").unwrap(), Duration::from_secs(300));
    assert_eq!(job["state"], "done", "{job}");
    assert!(job["frames"].as_u64().unwrap() > 10, "{job}");
    let total = job["media_s_total"].as_f64().expect("the clip's duration");
    assert!((job["media_s_done"].as_f64().unwrap() - total).abs() < 0.01, "{job}");
    assert!(job["events"].as_u64().unwrap() > 0, "{job}");

    let stored = get(port, &format!("/v1/cases/{case}"), TOKEN).json();
    assert_eq!(stored["evidence"][0]["sha256"], sha.as_str(), "the stored SHA-256 is the file's");
    let firearms = firearms_of(port, case);
    assert!(!firearms.is_empty(), "the gun on the range is found under the case");
    let event = get(port, &format!("/v1/events/{}?case={case}&purpose=test", firearms[0]), TOKEN).json();
    let event = &event["event"];
    assert_eq!((event["case"].as_str(), event["evidence_sha256"].as_str()), (Some(case), Some(sha.as_str())));

    // The file is gone from the disk; the case is reprocessed from the store.
    std::fs::remove_file(&clip).unwrap();
    let queued = post_json(port, &format!("/v1/cases/{case}/reprocess"), TOKEN, serde_json::json!({}));
    assert_eq!(queued.status, 202, "{}", String::from_utf8_lossy(&queued.body));
    let jobs = queued.json();
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    let again = wait_for_job(port, TOKEN, jobs[0]["id"].as_str().unwrap(), Duration::from_secs(300));
    assert_eq!((again["state"].as_str(), again["events"].as_u64()), (Some("done"), job["events"].as_u64()));
    assert_eq!(firearms_of(port, case), firearms, "the same model finds the same events, under the same ids");

    // Not a video: kept as evidence all the same, and its job says why it failed.
    let statement = b"Statement of the witness, typed up. Not a video. ".repeat(200);
    let done = tus_upload(port, TOKEN, &statement, 1 << 20, &[("case", case), ("filename", "statement.mp4")]);
    let failed = wait_for_job(port, TOKEN, &done.header("x-canvass-job").unwrap(), Duration::from_secs(60));
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(failed["error"].as_str().unwrap().contains("cannot read it as video"), "{failed}");

    // Cut short (the index up front, so what arrived decodes): done, with what was lost.
    let whole = dir.path().join("faststart.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(sample_video("pistol_range.mp4"))
        .args(["-c", "copy", "-movflags", "+faststart"])
        .arg(&whole)
        .status()
        .unwrap();
    assert!(made.success());
    let bytes = std::fs::read(&whole).unwrap();
    let cut = &bytes[..bytes.len() * 6 / 10];
    let done = tus_upload(port, TOKEN, cut, 1 << 20, &[("case", case), ("filename", "cut.mp4")]);
    let partial = wait_for_job(port, TOKEN, &done.header("x-canvass-job").unwrap(), Duration::from_secs(120));
    assert_eq!(partial["state"], "done", "{partial}");
    assert!(partial["frames"].as_u64().unwrap() > 0, "what arrived was ingested: {partial}");
    assert!(partial["warning"].as_str().unwrap_or_default().contains("truncated"), "{partial}");
    let stored = get(port, &format!("/v1/cases/{case}"), TOKEN).json();
    assert_eq!(stored["evidence"].as_array().unwrap().len(), 3, "{stored}");

    // The operator sees the same jobs from the command line.
    let listed = canvass()
        .args(["jobs", "--case", case, "--json", "--data"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", describe(&listed));
    let jobs: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let mut states: Vec<(&str, &str)> =
        jobs.iter().map(|j| (j["original_name"].as_str().unwrap(), j["state"].as_str().unwrap())).collect();
    states.sort();
    assert_eq!(
        states,
        [("cut.mp4", "done"), ("range.mp4", "done"), ("range.mp4", "done"), ("statement.mp4", "failed")]
    );
}
