//! The distributed mode end to end, on real services: a Kafka-protocol broker (tansu), S3
//! servers (s3s-fs) and `canvass ingest` / `canvass detect` as separate processes. In every
//! case, faults included, the events search sees must equal those of the embedded
//! `canvass run` on the same clip: the same ids, the same count, the same content.

#[path = "distributed/cluster.rs"]
mod cluster;
mod support;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use canvass_schemas::DetectionEvent;
use canvass_store::{EventLake, Pruning};
use cluster::{Cluster, PATIENCE, Worker};
use support::{canvass, describe, repo, sample_video, text};

const START: &str = "2026-11-20T10:00:00Z";

/// The embedded run's events for a clip, computed once per clip and frame rate.
fn embedded(clip: &str, fps: &str) -> Vec<DetectionEvent> {
    static RUNS: Mutex<BTreeMap<(String, String), Vec<DetectionEvent>>> = Mutex::new(BTreeMap::new());
    let key = (clip.to_string(), fps.to_string());
    if let Some(events) = RUNS.lock().unwrap().get(&key) {
        return events.clone();
    }
    let dir = tempfile::tempdir().unwrap();
    let out = canvass()
        // JPEG frames, as the ingest workers publish them, so the events are the same.
        .args(["run", "--frames", "jpeg", "--fps", fps, "--start", START, "--data"])
        .arg(dir.path())
        .arg(clip)
        .env("CANVASS_INTRA_THREADS", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let (mut events, _) = EventLake::new(support::data_store(dir.path())).scan(&Pruning::default()).unwrap();
    events.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    assert!(!events.is_empty(), "the clip has events to compare");
    RUNS.lock().unwrap().insert(key, events.clone());
    events
}

fn clip(name: &str) -> String {
    sample_video(name).display().to_string()
}

fn assert_same_events(cluster: &Cluster, want: &[DetectionEvent]) {
    let got = cluster.events();
    let ids = |events: &[DetectionEvent]| events.iter().map(|e| e.event_id.clone()).collect::<Vec<_>>();
    if ids(&got) != ids(want) {
        let brief = |e: &DetectionEvent| {
            format!(
                "{} {:?} {}..{} us, {} frames",
                e.event_id, e.class, e.media_start_us, e.media_end_us, e.frames
            )
        };
        let missing: Vec<String> =
            want.iter().filter(|w| !got.iter().any(|g| g.event_id == w.event_id)).map(brief).collect();
        let extra: Vec<String> =
            got.iter().filter(|g| !want.iter().any(|w| w.event_id == g.event_id)).map(brief).collect();
        panic!(
            "{} events, the embedded run has {}\nmissing:\n{}\nextra:\n{}",
            got.len(),
            want.len(),
            missing.join("\n"),
            extra.join("\n")
        );
    }
    for (got, want) in got.iter().zip(want) {
        assert_eq!(got, want, "event {} differs from the embedded run's", want.event_id);
    }
    // A replay may store an event a second time; every copy must be the same event.
    for (id, copies) in cluster.stored_rows() {
        assert!(copies.windows(2).all(|w| w[0] == w[1]), "stored copies of {id} differ");
    }
}

/// Waits until a worker's metric reaches `at_least` (the worker must stay up meanwhile).
fn wait_for_metric(worker: &mut Worker, metric: &str, at_least: f64) {
    let started = Instant::now();
    while worker.metric(metric) < at_least {
        worker.assert_running();
        assert!(
            started.elapsed() < PATIENCE,
            "gave up waiting for {metric} >= {at_least}:\n{}",
            worker.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn finish_ingest(ingest: Worker) {
    let (status, output) = ingest.wait();
    assert!(status.success(), "ingest failed ({status}):\n{output}");
}

/// Stops the detectors with SIGTERM (they write what is pending) once everything is processed.
fn drain(cluster: &Cluster, mut detectors: Vec<Worker>) -> Vec<String> {
    cluster.wait_until_processed(&mut detectors);
    detectors
        .into_iter()
        .map(|d| {
            let (status, output) = d.terminate();
            assert!(status.success(), "a detector failed ({status}):\n{output}");
            output
        })
        .collect()
}

#[test]
fn one_ingest_and_two_detectors_give_the_embedded_runs_events() {
    let want = embedded(&clip("opencv4nodejs_traffic.mp4"), "2");
    let cluster = Cluster::start(false);
    let detectors = vec![cluster.detector(), cluster.detector()];
    finish_ingest(cluster.ingest(&[(&clip("opencv4nodejs_traffic.mp4"), START)], "2"));
    let logs = drain(&cluster, detectors);
    assert_same_events(&cluster, &want);
    assert!(logs.iter().all(|log| log.contains("rebalance")), "both joined the group: {logs:?}");
}

#[test]
fn a_detector_killed_mid_stream_is_replaced_and_nothing_is_lost_or_duplicated() {
    let want = embedded(&clip("opencv4nodejs_traffic.mp4"), "6");
    let cluster = Cluster::start(false);
    let mut first = cluster.detector();
    finish_ingest(cluster.ingest(&[(&clip("opencv4nodejs_traffic.mp4"), START)], "6"));
    wait_for_metric(&mut first, "canvass_frames_consumed_total", 30.0);
    first.kill_9();
    // Restarted the way a supervisor would, after a back-off longer than the group session
    // (10 s). tansu 0.6, unlike Kafka, never elected a new leader when a member joined while
    // the dead one was still in the group: the newcomer got an empty assignment for good.
    std::thread::sleep(Duration::from_secs(12));
    let second = cluster.detector();
    let logs = drain(&cluster, vec![second]);
    assert!(logs[0].contains("resumed from checkpoint"), "{}", logs[0]);
    assert_same_events(&cluster, &want);
}

#[test]
fn a_broker_restart_during_ingest_loses_nothing() {
    let want = embedded(&clip("car-detection.mp4"), "6");
    let mut cluster = Cluster::start(true);
    let detector = cluster.detector();
    let mut ingest = cluster.ingest(&[(&clip("car-detection.mp4"), START)], "6");
    wait_for_metric(&mut ingest, "canvass_frames_published_total", 5.0);
    cluster.broker.restart(Duration::from_secs(2));
    finish_ingest(ingest);
    drain(&cluster, vec![detector]);
    assert_same_events(&cluster, &want);
}

#[test]
fn s3_refusing_requests_for_30_s_delays_the_events_but_loses_none() {
    let want = embedded(&clip("opencv4nodejs_traffic.mp4"), "6");
    let mut cluster = Cluster::start(false);
    let mut detector = cluster.detector();
    finish_ingest(cluster.ingest(&[(&clip("opencv4nodejs_traffic.mp4"), START)], "6"));
    wait_for_metric(&mut detector, "canvass_frames_consumed_total", 10.0);
    cluster.events.stop();
    std::thread::sleep(Duration::from_secs(30));
    cluster.events.resume();
    let refused = detector.metric("canvass_errors_total{kind=\"store\"}");
    drain(&cluster, vec![detector]);
    assert!(refused > 0.0, "the worker met the outage (and retried)");
    assert_same_events(&cluster, &want);
}

#[test]
fn a_poison_message_goes_to_the_dead_letter_topic_and_the_worker_goes_on() {
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let want = embedded(&clip("pistol_range.mp4"), "2");
    let cluster = Cluster::start(false);
    // Poison first, on the clip's own partition, so the clip's frames queue up behind it.
    finish_ingest(cluster.ingest(&[(&clip("pistol_range.mp4"), START)], "2"));
    let producer: BaseProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", cluster.broker.address()).create().unwrap();
    let headers = OwnedHeaders::new().insert(Header { key: "canvass-kind", value: Some("frame") });
    producer
        .send(
            BaseRecord::to(cluster::FRAMES_TOPIC)
                .key("pistol_range")
                .payload("CVF1 garbage")
                .headers(headers),
        )
        .unwrap();
    producer.flush(Duration::from_secs(30)).unwrap();
    let detector = cluster.detector();
    drain(&cluster, vec![detector]);
    assert_same_events(&cluster, &want);
    let letters = cluster.dead_letters();
    assert_eq!(letters.len(), 1, "{letters:?}");
    let (payload, headers) = &letters[0];
    assert_eq!(payload, b"CVF1 garbage", "the message is kept as it was");
    assert!(headers["canvass-error"].starts_with("malformed frame message"), "{headers:?}");
    assert!(headers["canvass-origin"].starts_with("canvass.frames.v1/"), "{headers:?}");
}

#[test]
fn kafka_tls_settings_reach_the_client_and_a_bad_ca_file_is_named() {
    let out = canvass()
        .args(["ingest", "--brokers", "127.0.0.1:1", "--kafka-security-protocol", "ssl"])
        .args(["--kafka-ca-file", "/nonexistent/ca.pem"])
        .arg(clip("pistol_range.mp4"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("127.0.0.1:1") && stderr.contains("ssl.ca.location"), "{stderr}");
}

/// Custody in, distributed: a clip uploaded through `serve` is ingested by a `canvass ingest
/// --jobs` worker that is killed (SIGKILL) mid-job; another worker resumes the job from its
/// checkpoint, and the events are exactly those of an uninterrupted embedded run of the same
/// evidence (the same ids, the same content). Then, the uploaded file deleted, the case is
/// reprocessed from the store and nothing changes.
#[test]
fn an_uploaded_clips_job_killed_mid_way_resumes_on_another_worker_with_the_same_events() {
    use support::http::{get, post_json, tus_upload, wait_for_job};
    const TOKEN: &str = "investigator-token-0123456789";
    const CASE: &str = "2026-dist-1";
    let dir = tempfile::tempdir().unwrap();
    // The traffic clip ten times over (200 s): a job that runs long enough to be cut.
    let long = dir.path().join("long-traffic.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-stream_loop", "9", "-i"])
        .arg(sample_video("opencv4nodejs_traffic.mp4"))
        .args(["-c", "copy", "-metadata", "creation_time=2026-11-20T10:00:00Z"])
        .arg(&long)
        .status()
        .unwrap();
    assert!(made.success());

    // The reference: the same file stored under the same case and run in one go, embedded.
    let reference = dir.path().join("reference");
    let case = canvass()
        .args(["case", "create", CASE, "--title", "Traffic", "--agency", "metro", "--data"])
        .arg(&reference)
        .output()
        .unwrap();
    assert!(case.status.success(), "{}", describe(&case));
    let run = canvass()
        .args(["run", "--frames", "jpeg", "--fps", "2", "--case", CASE, "--data"])
        .arg(&reference)
        .arg(&long)
        .env("CANVASS_INTRA_THREADS", "1")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", describe(&run));
    let (mut want, _) = EventLake::new(support::data_store(&reference)).scan(&Pruning::default()).unwrap();
    want.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    assert!(!want.is_empty() && want.iter().all(|e| e.case.as_deref() == Some(CASE)));

    let cluster = Cluster::start(false);
    let (serve, port) = cluster.serve(TOKEN);
    let detector = cluster.detector();
    let first = cluster.job_worker("2");
    assert_eq!(
        post_json(port, "/v1/cases", TOKEN, serde_json::json!({ "id": CASE, "title": "Traffic" })).status,
        201
    );
    let bytes = std::fs::read(&long).unwrap();
    let done = tus_upload(port, TOKEN, &bytes, 4 << 20, &[("case", CASE), ("filename", "long-traffic.mp4")]);
    let job = done.header("x-canvass-job").unwrap();

    // Killed once the job has a checkpoint (it has published frames and recorded how far).
    let started = Instant::now();
    loop {
        let record = get(port, &format!("/v1/jobs/{job}"), TOKEN).json();
        assert_ne!(record["state"], "done", "the job ended before it could be cut; make the clip longer");
        if !record["checkpoint"].is_null() {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "no checkpoint: {record}\n{}", first.output());
        std::thread::sleep(Duration::from_millis(100));
    }
    first.kill_9();
    // A supervisor restarts it after the group session (10 s) is over (see the detector test).
    std::thread::sleep(Duration::from_secs(12));
    let second = cluster.job_worker("2");
    let finished = wait_for_job(port, TOKEN, &job, PATIENCE);
    assert_eq!(
        (finished["state"].as_str(), finished["attempts"].as_u64()),
        (Some("done"), Some(2)),
        "{finished}"
    );
    assert!(second.output().contains("resuming"), "{}", second.output());

    // The uploaded file is gone; the case's evidence is reprocessed from the store.
    std::fs::remove_file(&long).unwrap();
    let queued = post_json(port, &format!("/v1/cases/{CASE}/reprocess"), TOKEN, serde_json::json!({}));
    assert_eq!(queued.status, 202);
    let again = queued.json()[0]["id"].as_str().unwrap().to_string();
    assert_eq!(wait_for_job(port, TOKEN, &again, PATIENCE)["state"], "done");
    drain(&cluster, vec![detector]);
    assert_same_events(&cluster, &want);
    let found = get(port, &format!("/v1/search?q=car%20case:{CASE}&case={CASE}&purpose=test"), TOKEN);
    assert!(found.json()["total"].as_u64().unwrap() > 0, "the case's cars are found by search");

    // Custody out, distributed: a car's clip, cut from the evidence in S3, plays in Chromium ...
    let web = repo().join("web");
    let played = std::process::Command::new("node")
        .arg(web.join("tests/clip.mjs"))
        .current_dir(&web)
        .env("CANVASS_URL", format!("http://127.0.0.1:{port}"))
        .env("CANVASS_TOKEN", TOKEN)
        .env("CANVASS_CASE", CASE)
        .env("CANVASS_QUERY", format!("car case:{CASE}"))
        .env("CANVASS_SCREENSHOTS", dir.path().join("screenshots"))
        .output()
        .unwrap();
    assert!(played.status.success(), "{}", describe(&played));
    // ... and the case goes out as a package that verifies against the service's key.
    let asked = post_json(
        port,
        &format!("/v1/cases/{CASE}/exports"),
        TOKEN,
        serde_json::json!({ "purpose": "test", "query": "car" }),
    );
    assert_eq!(asked.status, 202, "{}", text(&asked.body));
    let export = asked.json()["id"].as_str().unwrap().to_string();
    let started = Instant::now();
    loop {
        let record = get(port, &format!("/v1/exports/{export}"), TOKEN);
        assert_eq!(record.status, 200, "{}\n{}", text(&record.body), serve.output());
        match record.json()["state"].as_str() {
            Some("running") => {}
            Some("done") => break,
            _ => panic!("the export failed: {}", text(&record.body)),
        }
        assert!(started.elapsed() < PATIENCE, "the export did not finish");
        std::thread::sleep(Duration::from_millis(300));
    }
    let package = get(port, &format!("/v1/exports/{export}/package"), TOKEN);
    assert_eq!(package.status, 200, "{}", text(&package.body));
    let zip = dir.path().join("package.zip");
    std::fs::write(&zip, &package.body).unwrap();
    let key = canvass().args(["export", "key"]).output().unwrap();
    let key = text(&key.stdout).trim().to_string();
    let verified = canvass().args(["export", "verify", "--key", &key]).arg(&zip).output().unwrap();
    assert!(verified.status.success(), "{}", describe(&verified));
}
