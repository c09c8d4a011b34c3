//! Real time in `canvass serve` (embedded): a camera in `[[cameras]]` streams from a real RTSP
//! server (GStreamer's) and a firearm on it reaches its agency at once: one signed webhook
//! per track and the page's alert stream, never another agency's hook or user. The owner's
//! panic button starts and stops the camera, audited.

mod support;

use std::time::{Duration, Instant};

use canvass_alerts::testing::{hook, listen_sse};
use canvass_ingest::testing::RtspServer;
use canvass_store::ObjectStore;
use support::http::{Serve, get, post_json};
use support::*;

const NORTH: &str = "north-investigator-token-0123";
const SOUTH: &str = "south-investigator-token-0123";
const OWNER: &str = "camera-owner-token-0123456789";
const SECRET: &str = "north-dispatch-secret-0123";

fn wait_until<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn camera_health(port: u16) -> serde_json::Value {
    let live = get(port, "/v1/live", NORTH);
    assert_eq!(live.status, 200, "{}", String::from_utf8_lossy(&live.body));
    live.json()[0].clone()
}

/// A `[[users]]` entry.
fn user(name: &str, role: &str, agency: Option<&str>, token: &str) -> String {
    let agency = agency.map(|a| format!("agency = \"{a}\"\n")).unwrap_or_default();
    format!(
        "[[users]]\nname = \"{name}\"\nrole = \"{role}\"\n{agency}token_sha256 = \"{}\"\n\n",
        canvass_governance::access::token_hash(token)
    )
}

/// The config file in `dir`: the north's agency, its investigator nina, and `more`.
fn north_config(dir: &std::path::Path, more: &str) -> std::path::PathBuf {
    let path = dir.join("canvass.toml");
    let north = "[[agencies]]\nname = \"north\"\nsources = [\"north-*\"]\n\n";
    let nina = user("nina", "investigator", Some("north"), NORTH);
    std::fs::write(&path, format!("{north}{nina}{more}")).unwrap();
    path
}

#[test]
fn a_firearm_on_a_live_rtsp_camera_alerts_its_agency_once_and_the_owner_can_stop_it() {
    let dir = tempfile::tempdir().unwrap();
    // 40 s of the pistol clip, long enough to switch the camera off and on again.
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-stream_loop", "5", "-i"])
        .arg(sample_video("pistol_range.mp4"))
        .args(["-c", "copy", "-an"])
        .arg(dir.path().join("camera.mp4"))
        .status()
        .unwrap();
    assert!(status.success());
    let camera = RtspServer::start(&dir.path().join("camera.mp4"), Some(("viewer", "cam-pass")));
    let (north_url, north_hook) = hook(Vec::new());
    let (south_url, south_hook) = hook(Vec::new());
    let config = north_config(
        dir.path(),
        &format!(
            "[alerting]\nfirst_retry_s = 0.1\n\n\
             [[agencies]]\nname = \"south\"\nsources = [\"south-*\"]\n\n{}{}\
             [[alerts]]\nname = \"north-firearm\"\nquery = \"firearm\"\nagency = \"north\"\nwebhook = \"{north_url}\"\nsecret = \"{SECRET}\"\n\n\
             [[alerts]]\nname = \"south-firearm\"\nquery = \"firearm\"\nagency = \"south\"\nwebhook = \"{south_url}\"\nsecret = \"south-dispatch-secret-0123\"\n\n\
             [[cameras]]\nsource_id = \"north-gate\"\nurl = \"{}\"\n",
            user("sam", "investigator", Some("south"), SOUTH),
            user("olga", "owner", None, OWNER),
            camera.url(Some(("viewer", "cam-pass"))),
        ),
    );
    let data = dir.path().join("data");
    let server = Serve::start(&config, &data, &[], &dir.path().join("serve.log"));
    let port = server.port;
    let north_page = listen_sse(port, "/v1/alerts/stream", NORTH);
    let south_page = listen_sse(port, "/v1/alerts/stream", SOUTH);
    let owner_page = listen_sse(port, "/v1/alerts/stream", OWNER);

    // The firearm reaches the north's hook, signed, once per track.
    let alert = wait_until(Duration::from_secs(60), "a webhook for the firearm", || {
        north_hook.lock().unwrap().first().map(|r| (r.signed_by(SECRET.as_bytes()), r.json()))
    });
    assert!(alert.0, "signed with the north hook's secret");
    let alert = alert.1;
    assert_eq!((alert["rule"].as_str(), alert["phase"].as_str()), (Some("north-firearm"), Some("opened")));
    assert_eq!(alert["event"]["source_id"], "north-gate");
    assert!(!alert["event"]["input"].as_str().unwrap().contains("cam-pass"), "no credentials in alerts");
    let event_id = alert["event"]["event_id"].as_str().unwrap().to_string();
    // ... and the north's page, with the thumbnail.
    let shown = wait_until(Duration::from_secs(10), "the alert on the north's page", || {
        north_page.lock().unwrap().iter().find(|(_, a)| a["event"]["event_id"] == event_id.as_str()).cloned()
    });
    assert_eq!(shown.1["phase"], "opened");
    assert!(!shown.1["thumbnail_jpeg_base64"].as_str().unwrap().is_empty());

    // The owner registers the camera as live only while their condition holds, and it does.
    let registration = serde_json::json!({ "source_id": "north-gate", "contact": "olga@shop.example",
        "lat": 51.5, "lon": -0.1, "access": "conditional_live", "condition_active": true });
    let registered = post_json(port, "/v1/cameras", OWNER, registration);
    assert_eq!(registered.status, 201, "{}", String::from_utf8_lossy(&registered.body));
    let camera_id = registered.json()["id"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(camera_health(port)["state"], "streaming", "{}", server.log());

    // The panic button off: the stream stops within 10 s, and says why.
    let switch = |active: bool| {
        let path = format!("/v1/cameras/{camera_id}/condition");
        let answer = post_json(port, &path, OWNER, serde_json::json!({ "condition_active": active }));
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
        Instant::now()
    };
    let off = switch(false);
    let stopped = wait_until(Duration::from_secs(15), "the camera stopped by its owner", || {
        let health = camera_health(port);
        (health["state"] == "refused_by_owner").then_some(health)
    });
    let took = off.elapsed();
    assert!(took < Duration::from_secs(10), "stopped {took:?} after the owner's switch");
    assert!(stopped["error"].as_str().unwrap().contains("condition"), "{stopped}");
    let frames = stopped["frames_sampled"].clone();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(camera_health(port)["frames_sampled"], frames, "no frame after the stop");
    // A crafted request: another user cannot press the owner's button.
    let path = format!("/v1/cameras/{camera_id}/condition");
    assert_eq!(post_json(port, &path, NORTH, serde_json::json!({ "condition_active": true })).status, 403);

    // On again: the camera starts again by itself.
    switch(true);
    wait_until(Duration::from_secs(20), "the camera streaming again", || {
        (camera_health(port)["state"] == "streaming").then_some(())
    });

    // Once per track; never the south's hook or users; owners hear no alerts at all.
    let north = north_hook.lock().unwrap();
    let mut ids: Vec<String> =
        north.iter().map(|r| r.json()["event"]["event_id"].as_str().unwrap().to_string()).collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "one webhook per track");
    assert!(south_hook.lock().unwrap().is_empty(), "the south's hook heard nothing of the north's camera");
    let south_heard = south_page.lock().unwrap();
    assert_eq!(south_heard.len(), 1, "the south's page opened ({:?}) and heard nothing", south_heard[0].1);
    assert_eq!(south_heard[0].1["http"], 200);
    assert_eq!(owner_page.lock().unwrap()[0].1["http"], 403, "an owner cannot watch alerts");

    // All of it in the audit log.
    let store = data_store(&data);
    let actions: Vec<serde_json::Value> = store
        .list(canvass_store::keys::AUDIT)
        .unwrap()
        .iter()
        .map(|o| serde_json::from_slice(&store.get(&o.key).unwrap()).unwrap())
        .collect();
    let count_of = |action: &str| actions.iter().filter(|a| a["action"] == action).count();
    assert!(count_of("alert_delivered") >= 1);
    assert!(count_of("alert_shown") >= 1);
    assert_eq!(count_of("live_condition"), 2);
    assert!(count_of("live_stopped_by_owner") >= 1);
    drop(server);
}

#[test]
fn the_page_shows_a_banner_when_the_owner_shares_the_camera_live() {
    let web = repo().join("web");
    assert!(web.join("dist/index.html").is_file(), "web/dist is missing: run scripts/setup");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let dir = tempfile::tempdir().unwrap();
    let camera = RtspServer::start(&sample_video("pistol_range.mp4"), None);
    let data = dir.path().join("data");
    // The owner registered the camera before: live only while their condition holds; it does not.
    let registry = canvass_governance::Registry::new(data_store(&data));
    let registration: canvass_governance::registry::CameraRegistration =
        serde_json::from_value(serde_json::json!({
        "source_id": "north-gate", "contact": "olga@shop.example", "lat": 51.5, "lon": -0.1,
        "address": "North gate", "access": "conditional_live", "condition_active": false }))
        .unwrap();
    let registered = canvass_governance::registry::Camera {
        id: canvass_governance::registry::new_id("olga", chrono::Utc::now()),
        owner: "olga".into(),
        updated_at: chrono::Utc::now(),
        registration,
    };
    registry.register(&registered).unwrap();
    let config = north_config(
        dir.path(),
        &format!(
            "{}[[alerts]]\nname = \"north-firearm\"\nquery = \"firearm\"\nagency = \"north\"\n\n\
             [[cameras]]\nsource_id = \"north-gate\"\nurl = \"{}\"\n",
            user("olga", "owner", None, OWNER),
            camera.url(None),
        ),
    );
    let server = Serve::start(
        &config,
        &data,
        &["--web-dir".as_ref(), web.join("dist").as_os_str()],
        &dir.path().join("serve.log"),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(camera_health(server.port)["state"], "refused_by_owner", "{}", server.log());
    let screenshots =
        std::env::var("CANVASS_SCREENSHOTS").map(std::path::PathBuf::from).unwrap_or(web.join("screenshots"));
    let out = std::process::Command::new("node")
        .arg(web.join("tests/alerts.mjs"))
        .current_dir(&web)
        .env("CANVASS_URL", format!("http://127.0.0.1:{}", server.port))
        .env("CANVASS_TOKEN", NORTH)
        .env("CANVASS_OWNER_TOKEN", OWNER)
        .env("CANVASS_SCREENSHOTS", &screenshots)
        .env("CHROMIUM", &chromium)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\nserve log:\n{}", describe(&out), server.log());
    assert!(text(&out.stdout).contains("banner after"), "{}", describe(&out));
    wait_until(Duration::from_secs(15), "the camera stopped again by the owner's page", || {
        (camera_health(server.port)["state"] == "refused_by_owner").then_some(())
    });
}

#[test]
fn a_camera_url_that_cannot_be_a_stream_stops_serve_at_start_with_why() {
    let dir = tempfile::tempdir().unwrap();
    let config = north_config(
        dir.path(),
        "[[cameras]]\nsource_id = \"north-gate\"\nurl = \"rtsp//viewer:cam-pass@10.0.0.5/h264\"\n",
    );
    let out = canvass()
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("camera 'north-gate'") && stderr.contains("is not a stream URL"), "{stderr}");
    assert!(!stderr.contains("cam-pass"), "no password in the message: {stderr}");
}
