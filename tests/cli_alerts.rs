//! Alerts in the embedded mode: `canvass --config c.toml run CLIP` with an `[[alerts]]` rule
//! posts one signed webhook per matching track, to a real HTTP receiver, with the real models.

mod support;

use canvass_alerts::testing::{Answer, hook};
use canvass_store::ObjectStore;
use support::*;

const SECRET: &str = "dispatch-secret-0123456789";

fn config(dir: &std::path::Path, rules: &str) -> std::path::PathBuf {
    let path = dir.join("canvass.toml");
    std::fs::write(&path, rules).unwrap();
    path
}

fn firearm_rule(url: &str) -> String {
    format!(
        "[alerting]\nfirst_retry_s = 0.1\n\n[[alerts]]\nname = \"firearm\"\nquery = \"firearm\"\nwebhook = \"{url}\"\nsecret_env = \"CANVASS_TEST_HOOK_SECRET\"\nmin_confidence = 0.5\n"
    )
}

fn audited(data: &std::path::Path, action: &str) -> Vec<serde_json::Value> {
    let store = data_store(data);
    store
        .list(canvass_store::keys::AUDIT)
        .unwrap()
        .iter()
        .map(|o| serde_json::from_slice::<serde_json::Value>(&store.get(&o.key).unwrap()).unwrap())
        .filter(|entry| entry["action"] == action)
        .collect()
}

#[test]
fn a_weapon_clip_posts_one_signed_webhook_per_firearm_track_and_a_street_clip_none() {
    let dir = tempfile::tempdir().unwrap();
    // The hook fails once: the alert is retried, not lost and not sent twice.
    let (url, received) = hook(vec![Answer::Status(502)]);
    let config = config(dir.path(), &firearm_rule(&url));
    let data = dir.path().join("data");
    let run = |clip: &str| {
        canvass()
            .arg("--config")
            .arg(&config)
            .env("CANVASS_TEST_HOOK_SECRET", SECRET)
            .args(["run", "--data"])
            .arg(&data)
            .arg(sample_video(clip))
            .output()
            .unwrap()
    };
    let out = run("opencv4nodejs_traffic.mp4");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("alerts: 0 tracks"), "{}", describe(&out));
    assert!(received.lock().unwrap().is_empty(), "no alert from a street clip");

    let out = run("pistol_range.mp4");
    assert!(out.status.success(), "{}", describe(&out));
    let lake = canvass_store::EventLake::new(data_store(&data));
    let (events, _) = lake.scan(&canvass_store::Pruning::default()).unwrap();
    let firearms: Vec<_> =
        events.iter().filter(|e| e.category == canvass_schemas::Category::Weapon).collect();
    assert!(!firearms.is_empty());
    for event in &firearms {
        assert_eq!(
            &lake.thumbnail(&event.thumbnail_key).unwrap()[..2],
            &[0xff, 0xd8],
            "alerts take no thumbnail away"
        );
    }
    let received = received.lock().unwrap();
    // The 502 and its retry, then one request for each other track.
    assert_eq!(received.len(), firearms.len() + 1, "{}", describe(&out));
    let delivered: Vec<serde_json::Value> = received[1..].iter().map(|r| r.json()).collect();
    assert_eq!(received[0].body, received[1].body, "the retry sends the same alert");
    for (request, alert) in received.iter().zip(&delivered) {
        assert!(request.signed_by(SECRET.as_bytes()), "every request is signed with the hook's secret");
        assert_eq!(alert["phase"], "opened");
        assert_eq!(alert["rule"], "firearm");
        assert_eq!(alert["schema_version"], canvass_schemas::ALERT_SCHEMA_VERSION);
        assert!(!alert["thumbnail_jpeg_base64"].as_str().unwrap().is_empty());
    }
    // Each alert names an event in the lake: the same id from `opened` to `closed`.
    let mut alerted: Vec<&str> = delivered.iter().map(|a| a["event"]["event_id"].as_str().unwrap()).collect();
    let mut stored: Vec<&str> = firearms.iter().map(|e| e.event_id.as_str()).collect();
    alerted.sort();
    stored.sort();
    assert_eq!(alerted, stored);
    // Who was told is audited, without the hook's secret.
    let entries = audited(&data, "alert_delivered");
    assert_eq!(entries.len(), firearms.len());
    assert!(
        entries
            .iter()
            .all(|e| e["detail"]["rule"] == "firearm" && e["detail"]["attempts"].as_u64() >= Some(1))
    );
    assert!(!serde_json::to_string(&entries).unwrap().contains(SECRET));
}

#[test]
fn an_unusable_rule_stops_the_run_before_anything_is_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let run_with = |rules: &str| {
        let out = canvass()
            .arg("--config")
            .arg(config(dir.path(), rules))
            .args(["run", "--data"])
            .arg(dir.path().join("data"))
            .arg(sample_video("pistol_range.mp4"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{}", describe(&out));
        text(&out.stderr)
    };
    let people = "[[alerts]]\nname = \"people\"\nquery = \"man with gun\"\n\n[[alerts]]\nname = \"x\"\nquery = \"gun\"\n";
    let stderr = run_with(people);
    assert!(stderr.contains("alert rule 'people'") && stderr.contains("people"), "{stderr}");
    let unsigned =
        "[[alerts]]\nname = \"firearm\"\nquery = \"firearm\"\nwebhook = \"http://127.0.0.1:9/hook\"\n";
    assert!(run_with(unsigned).contains("secret"));
    assert!(!dir.path().join("data").exists(), "nothing was decoded or stored");
}
