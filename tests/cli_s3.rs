//! The commands over an S3 bucket (`[store] kind = "s3"`), against a real S3-compatible server:
//! the same results as over the data folder.

mod support;

use canvass_store::testing::event;
use canvass_store::testing::{BUCKET, S3Server};
use canvass_store::{EventLake, S3Store};
use chrono::{Duration, Utc};
use support::{canvass, describe, text};

fn config_file(dir: &std::path::Path, server: &S3Server) -> std::path::PathBuf {
    let path = dir.join("canvass.toml");
    let toml = format!(
        "[store]\nkind = \"s3\"\nbucket = \"{BUCKET}\"\nprefix = \"city/\"\nendpoint = \"{}\"\nforce_path_style = true\nallow_http = true\n",
        server.endpoint
    );
    std::fs::write(&path, toml).unwrap();
    path
}

#[test]
fn search_janitor_and_audit_verify_work_on_a_bucket() {
    let server = S3Server::start();
    let lake = EventLake::new(S3Store::new(server.config("city/")).unwrap());
    let now = Utc::now();
    // Each stored when its footage was made (retention counts from ingest by default).
    for e in [event("main-st", now - Duration::hours(3), 1), event("main-st", now - Duration::days(40), 2)] {
        lake.write_as_of(std::slice::from_ref(&e), e.wall_end).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &server);
    let with_config = || {
        let mut cmd = canvass();
        cmd.arg("--config")
            .arg(&config)
            .env("AWS_ACCESS_KEY_ID", "canvass")
            .env("AWS_SECRET_ACCESS_KEY", "canvass-secret");
        cmd
    };

    let found = with_config().args(["search", "--json", "red", "car"]).output().unwrap();
    assert!(found.status.success(), "{}", describe(&found));
    let hits: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(hits.as_array().unwrap().len(), 2, "{}", describe(&found));
    // Thumbnails are named where they are: in the bucket, not a local folder.
    let thumbnail = hits[0]["thumbnail"].as_str().unwrap();
    assert!(thumbnail.starts_with(&format!("s3://{BUCKET}/city/thumbs/source=main-st/")), "{thumbnail}");

    let swept = with_config().arg("janitor").output().unwrap();
    assert!(text(&swept.stdout).starts_with("deleted 1 events"), "{}", describe(&swept));
    let found = with_config().args(["search", "--json", "red", "car"]).output().unwrap();
    let hits: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(hits.as_array().unwrap().len(), 1);

    let verified = with_config().args(["audit", "verify"]).output().unwrap();
    assert!(verified.status.success(), "{}", describe(&verified));
    // The sweep and the two searches, each audited.
    assert!(text(&verified.stdout).contains("intact: 3 entries"), "{}", describe(&verified));
}

#[test]
fn an_unreachable_bucket_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("canvass.toml");
    std::fs::write(
        &path,
        "[store]\nkind = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:9\"\nallow_http = true\nmax_attempts = 1\n",
    )
    .unwrap();
    let out = canvass()
        .arg("--config")
        .arg(&path)
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "y")
        .args(["search", "car"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("cannot search the lake"), "{}", describe(&out));
}
