//! Alerts in the distributed mode, on real services: tansu, s3s-fs, a real RTSP camera
//! (GStreamer's), `canvass ingest --cameras`, `canvass detect` with an alert rule and `canvass
//! serve --jobs kafka` delivering from the alerts topic. A test binary of its own, so its live
//! camera does not load the machine under the fault tests of `tests/distributed.rs`.

#[path = "distributed/cluster.rs"]
mod cluster;
mod support;

use std::time::{Duration, Instant};

use cluster::{Cluster, PATIENCE};
use support::sample_video;

#[test]
fn a_firearm_on_a_live_camera_reaches_the_webhook_through_the_alerts_topic() {
    const SECRET: &str = "metro-dispatch-secret-0123";
    let cluster = Cluster::start(false);
    let camera = canvass_ingest::testing::RtspServer::start(&sample_video("pistol_range.mp4"), None);
    let (url, received) = canvass_alerts::testing::hook(Vec::new());
    let rule = format!(
        "[[alerts]]\nname = \"firearm\"\nquery = \"firearm\"\nagency = \"metro\"\nwebhook = \"{url}\"\nsecret = \"{SECRET}\"\n\n"
    );
    cluster.add_config(
        &format!(
            "\n[[agencies]]\nname = \"metro\"\nsources = [\"*\"]\n\n{rule}[[cameras]]\nsource_id = \"gate\"\nurl = \"{}\"\n",
            camera.url(None)
        ),
        &rule,
    );
    // The notifier first, so it is in the alerts topic's group before anything is raised.
    let (mut serve, _) = cluster.serve("metro-investigator-token-0123");
    let mut detector = cluster.detector();
    let mut cameras = cluster.camera_worker();
    let started = Instant::now();
    while received.lock().unwrap().is_empty() {
        for worker in [&mut serve, &mut detector, &mut cameras] {
            worker.assert_running();
        }
        assert!(
            started.elapsed() < PATIENCE,
            "no webhook within {PATIENCE:?}:\ndetector:\n{}\ncameras:\n{}\nserve:\n{}",
            detector.output(),
            cameras.output(),
            serve.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let request = &received.lock().unwrap()[0];
    assert!(request.signed_by(SECRET.as_bytes()));
    let alert = request.json();
    assert_eq!(
        (alert["phase"].as_str(), alert["event"]["source_id"].as_str()),
        (Some("opened"), Some("gate"))
    );
    let latency = request.received_at
        - alert["confirmed_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    println!("distributed alert latency (confirming frame to webhook): {} ms", latency.num_milliseconds());
    // The camera worker's health is on its /metrics.
    assert_eq!(cameras.metric("canvass_live_connected{source=\"gate\"}"), 1.0, "{}", cameras.output());
    // The rate is measured from 2 s after the stream opened, over 2 s windows.
    let started = Instant::now();
    while cameras.metric("canvass_live_fps_in{source=\"gate\"}") <= 0.0 {
        assert!(started.elapsed() < PATIENCE, "no frame rate on /metrics:\n{}", cameras.output());
        std::thread::sleep(Duration::from_millis(200));
    }
}
