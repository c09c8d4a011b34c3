//! Custody in, embedded: `canvass serve` takes a clip by tus under a case, stores it as
//! evidence (its stored SHA-256 is the file's), runs its ingest job in-process to done, the
//! events carry the case (`case:` finds them), and after the uploaded file is deleted the case
//! is reprocessed from the store to the same events. A non-video upload is kept as evidence
//! and its job fails with FFmpeg's reason.

mod support;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use support::http::{get, post_json, tus_upload, wait_for_job};
use support::{canvass, sample_video};

struct Server(std::process::Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const TOKEN: &str = "investigator-token-0123456789";

fn serve(dir: &std::path::Path) -> (Server, u16) {
    let config = dir.join("canvass.toml");
    std::fs::write(
        &config,
        format!(
            "[[agencies]]\nname = \"metro\"\nsources = [\"*\"]\n\n\
             [[users]]\nname = \"ana\"\nrole = \"investigator\"\nagency = \"metro\"\ntoken_sha256 = \"{}\"\n",
            hex(&Sha256::digest(TOKEN.as_bytes()))
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = std::fs::File::create(dir.join("serve.log")).unwrap();
    let server = Server(
        canvass()
            .arg("--config")
            .arg(&config)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(dir.join("data"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
        assert!(started.elapsed() < Duration::from_secs(30), "canvass serve did not start:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, port)
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
    let (_server, port) = serve(dir.path());
    let case = "2026-up-1";
    assert_eq!(
        post_json(port, "/v1/cases", TOKEN, serde_json::json!({ "id": case, "title": "Range" })).status,
        201
    );

    // The investigator's copy of the clip: uploaded, then deleted.
    let clip = dir.path().join("range.mp4");
    std::fs::copy(sample_video("pistol_range.mp4"), &clip).unwrap();
    let bytes = std::fs::read(&clip).unwrap();
    let sha = hex(&Sha256::digest(&bytes));
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
    let stored = get(port, &format!("/v1/cases/{case}"), TOKEN).json();
    assert_eq!(stored["evidence"].as_array().unwrap().len(), 2, "{stored}");
}
