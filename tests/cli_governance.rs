//! `canvass token`, `canvass audit verify`, `canvass janitor` and `canvass serve`'s start-up
//! checks, end to end.

mod support;

use canvass_governance::audit::{Action, AuditLog};
use canvass_store::{EventLake, ObjectStore, Pruning};
use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};
use support::{canvass, describe, text};

#[test]
fn token_prints_a_token_and_the_hash_to_configure() {
    let out = canvass().arg("token").output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = text(&out.stdout);
    let field = |name: &str| {
        stdout.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string()).expect(name)
    };
    let (token, hash) = (field("token:"), field("token_sha256:"));
    assert_eq!(token.len(), 64);
    let expected: String = Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hash, expected);
    let second = text(&canvass().arg("token").output().unwrap().stdout);
    assert!(!second.contains(&token), "a new token each time");
}

#[test]
fn audit_verify_passes_an_intact_log_and_names_a_tampered_entry() {
    let data = tempfile::tempdir().unwrap();
    let log = AuditLog::new(support::data_store(data.path()), support::audit_key());
    for n in 0..3 {
        log.record(Action {
            actor: "ana".into(),
            role: "investigator".into(),
            action: "search".into(),
            case: Some("7".into()),
            purpose: Some("test".into()),
            agency: None,
            detail: serde_json::json!({ "q": "red car" }),
            result_count: Some(n),
        })
        .unwrap();
    }
    let verify = || canvass().args(["audit", "verify", "--data"]).arg(data.path()).output().unwrap();
    let intact = verify();
    assert!(intact.status.success(), "{}", describe(&intact));
    assert!(text(&intact.stdout).contains("intact: 3 entries"), "{}", describe(&intact));

    let key = canvass_store::keys::audit_entry(1);
    let store = support::data_store(data.path());
    let edited = text(&store.get(&key).unwrap()).replace("\"result_count\":1", "\"result_count\":100");
    store.put(&key, edited.as_bytes()).unwrap();
    let broken = verify();
    assert_eq!(broken.status.code(), Some(1), "{}", describe(&broken));
    assert!(text(&broken.stdout).contains("entry 1 was modified"), "{}", describe(&broken));
}

#[test]
fn janitor_deletes_what_retention_allows_and_audits_it() {
    let data = tempfile::tempdir().unwrap();
    let lake = EventLake::new(support::data_store(data.path()));
    let now = Utc::now();
    // Each stored when its footage was made (retention counts from ingest by default).
    for e in [
        canvass_store::testing::event("cam", now - Duration::days(45), 1),
        canvass_store::testing::event("cam", now - Duration::days(2), 2),
    ] {
        lake.write_as_of(std::slice::from_ref(&e), e.wall_end).unwrap();
    }
    let out = canvass().args(["janitor", "--data"]).arg(data.path()).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stdout).starts_with("deleted 1 events"), "{}", describe(&out));
    let (left, _) = lake.scan(&Pruning::default()).unwrap();
    assert_eq!(left.len(), 1);
    let entries = AuditLog::new(support::data_store(data.path()), support::audit_key()).entries().unwrap();
    assert_eq!(
        entries.iter().map(|e| e.action.action.as_str()).collect::<Vec<_>>(),
        vec!["retention_delete"]
    );
    // A shorter period from the flag deletes the rest.
    let out =
        canvass().args(["janitor", "--retention-days", "1", "--data"]).arg(data.path()).output().unwrap();
    assert!(text(&out.stdout).starts_with("deleted 1 events"), "{}", describe(&out));
}

#[test]
fn serve_refuses_to_start_without_users_or_with_a_bad_hash() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("canvass.toml");
    std::fs::write(&config, "[serve]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let out = canvass().arg("--config").arg(&config).arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("no users configured"), "{}", describe(&out));
    std::fs::write(
        &config,
        "[[agencies]]\nname = \"pd\"\nsources = [\"*\"]\n[[users]]\nname = \"ana\"\nrole = \"investigator\"\nagency = \"pd\"\ntoken_sha256 = \"abc\"\n",
    )
    .unwrap();
    let out = canvass().arg("--config").arg(&config).arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("64 hex digits"), "{}", describe(&out));
}

/// A camera registration by olga for these tests.
fn camera(
    id: &str,
    source: Option<&str>,
    stream: Option<&str>,
    access: canvass_governance::registry::AccessLevel,
    condition_active: bool,
) -> canvass_governance::registry::Camera {
    let registration = canvass_governance::registry::CameraRegistration {
        source_id: source.map(String::from),
        stream_url: stream.map(String::from),
        contact: "olga@example.org".into(),
        lat: 51.5,
        lon: -0.12,
        address: None,
        description: None,
        access,
        condition_active,
        heading_deg: None,
        zones: Vec::new(),
    }
    .normalised();
    canvass_governance::registry::Camera {
        id: id.into(),
        owner: "olga".into(),
        updated_at: Utc::now(),
        registration,
    }
}

#[test]
fn run_refuses_a_live_stream_the_camera_owner_does_not_allow() {
    use canvass_governance::registry::{AccessLevel, Registry};
    let data = tempfile::tempdir().unwrap();
    let camera = camera("0a1b", Some("shop-door"), None, AccessLevel::Request, false);
    Registry::new(support::data_store(data.path())).register(&camera).unwrap();
    let out = canvass()
        .args(["run", "--source", "shop-door", "--max-retries", "0", "--data"])
        .arg(data.path())
        .arg("rtsp://127.0.0.1:9/live")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("camera 'shop-door' refused: its owner shares footage on request only"),
        "{}",
        describe(&out)
    );
}

#[test]
fn run_refuses_another_source_id_on_a_stream_its_owner_registered() {
    use canvass_governance::registry::{AccessLevel, Registry};
    let data = tempfile::tempdir().unwrap();
    let camera =
        camera("0a1c", Some("gate"), Some("rtsp://127.0.0.1:9/live"), AccessLevel::RegistryOnly, false);
    Registry::new(support::data_store(data.path())).register(&camera).unwrap();
    let out = canvass()
        .args(["run", "--source", "not-the-gate", "--max-retries", "0", "--data"])
        .arg(data.path())
        .arg("rtsp://someone:pw@127.0.0.1:9/live/")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("registered it as registry only"), "{}", describe(&out));
}

/// Serves an MPEG-TS clip again on every connection, forever: with `--live`, an endless camera.
fn endless_camera(clip: Vec<u8>) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let clip = clip.clone();
            std::thread::spawn(move || {
                let mut request = [0u8; 4096];
                let _ = conn.read(&mut request);
                let header = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    clip.len()
                );
                let _ = conn.write_all(header.as_bytes());
                // About real time, so the stream is still running when the owner acts.
                for chunk in clip.chunks(32 * 1024) {
                    if conn.write_all(chunk).is_err() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            });
        }
    });
    port
}

#[test]
fn a_live_stream_stops_when_its_owner_turns_the_condition_off_and_the_stop_is_audited() {
    use canvass_governance::registry::{AccessLevel, Registry};
    let data = tempfile::tempdir().unwrap();
    let clips = tempfile::tempdir().unwrap();
    let ts = clips.path().join("camera.ts");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(support::sample_video("opencv4nodejs_traffic.mp4"))
        .args(["-c", "copy", "-f", "mpegts"])
        .arg(&ts)
        .status()
        .unwrap();
    assert!(status.success());
    let port = endless_camera(std::fs::read(&ts).unwrap());
    let on = camera("0a1d", Some("kiosk"), None, AccessLevel::ConditionalLive, true);
    let registry = Registry::new(support::data_store(data.path()));
    registry.register(&on).unwrap();
    let child = canvass()
        .args(["run", "--live", "--source", "kiosk", "--model", "yolox_nano_coco", "--data"])
        .arg(data.path())
        .arg(format!("http://127.0.0.1:{port}/live.ts"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Let it run on live footage, then the owner turns the condition off.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let off = camera("0a1d", Some("kiosk"), None, AccessLevel::ConditionalLive, false);
    registry.update(&on, &off).unwrap();
    // The stream must end by itself (it would otherwise run forever); the bound only catches
    // a hang, it is not a timing assertion.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let out = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the live stream was not stopped by the owner's policy")
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stderr)
            .contains("stopped: camera 'kiosk' refused: live access only while the owner's condition holds"),
        "{}",
        describe(&out)
    );
    let entries = AuditLog::new(support::data_store(data.path()), support::audit_key()).entries().unwrap();
    let stop =
        entries.iter().find(|e| e.action.action == "live_stopped_by_owner").expect("the stop is audited");
    assert_eq!(stop.action.detail["source_id"], "kiosk");
}

/// Starts `canvass serve` on all interfaces with `extra` flags; returns it and its port once
/// it listens.
fn serve_on_all_interfaces(dir: &std::path::Path, extra: &[&str]) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.join("canvass.toml");
    let tls_dir = dir.join("tls");
    std::fs::write(
        &config,
        format!(
            "[serve]\nlisten = \"0.0.0.0:{port}\"\ntls_dir = {tls_dir:?}\njanitor_interval_s = 0\n\
             [[agencies]]\nname = \"pd\"\nsources = [\"*\"]\n\
             [[users]]\nname = \"ana\"\nrole = \"investigator\"\nagency = \"pd\"\ntoken_sha256 = \"{}\"\n",
            "ab".repeat(32)
        ),
    )
    .unwrap();
    let mut child = canvass()
        .arg("--config")
        .arg(&config)
        .args(["serve", "--data"])
        .arg(dir.join("data"))
        .args(extra)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, port);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!("canvass serve did not start listening: {}", text(&out.stderr));
}

fn curl(url: &str) -> std::process::Output {
    std::process::Command::new("curl").args(["-sS", "-k", "--max-time", "10", url]).output().unwrap()
}

#[test]
fn serve_off_loopback_speaks_https_by_default_and_plain_http_only_when_told_a_proxy_terminates_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port) = serve_on_all_interfaces(dir.path(), &[]);
    let https = curl(&format!("https://127.0.0.1:{port}/healthz"));
    let plain = curl(&format!("http://127.0.0.1:{port}/healthz"));
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&https.stdout), "ok", "{}", text(&https.stderr));
    assert_ne!(text(&plain.stdout), "ok", "plain HTTP must not be answered");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("self-signed certificate") && stderr.contains("fingerprint"), "{stderr}");
    // The key is the service's alone.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("tls/key.pem")).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "key.pem is {mode:o}");

    let (mut child, port) = serve_on_all_interfaces(dir.path(), &["--behind-tls-proxy"]);
    let plain = curl(&format!("http://127.0.0.1:{port}/healthz"));
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(text(&plain.stdout), "ok", "{}", text(&plain.stderr));
}
