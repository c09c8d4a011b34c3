//! `canvass token`, `canvass audit verify`, `canvass janitor` and `canvass serve`'s start-up
//! checks, end to end.

mod support;

use canvass_governance::audit::{Action, AuditLog};
use canvass_store::{EventLake, LocalStore, ObjectStore, Pruning};
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
    let log = AuditLog::new(LocalStore::new(data.path()));
    for n in 0..3 {
        log.record(Action {
            actor: "ana".into(),
            role: "investigator".into(),
            action: "search".into(),
            case: Some("7".into()),
            purpose: Some("test".into()),
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
    let store = LocalStore::new(data.path());
    let edited = text(&store.get(&key).unwrap()).replace("\"result_count\":1", "\"result_count\":100");
    store.put(&key, edited.as_bytes()).unwrap();
    let broken = verify();
    assert_eq!(broken.status.code(), Some(1), "{}", describe(&broken));
    assert!(text(&broken.stdout).contains("entry 1 was modified"), "{}", describe(&broken));
}

#[test]
fn janitor_deletes_what_retention_allows_and_audits_it() {
    let data = tempfile::tempdir().unwrap();
    let lake = EventLake::new(LocalStore::new(data.path()));
    let now = Utc::now();
    lake.write(&[
        canvass_store::testing::event("cam", now - Duration::days(45), 1),
        canvass_store::testing::event("cam", now - Duration::days(2), 2),
    ])
    .unwrap();
    let out = canvass().args(["janitor", "--data"]).arg(data.path()).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stdout).starts_with("deleted 1 events"), "{}", describe(&out));
    let (left, _) = lake.scan(&Pruning::default()).unwrap();
    assert_eq!(left.len(), 1);
    let entries = AuditLog::new(LocalStore::new(data.path())).entries().unwrap();
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

#[test]
fn run_refuses_a_live_stream_the_camera_owner_does_not_allow() {
    use canvass_governance::registry::{AccessLevel, Camera, CameraRegistration, Registry};
    let data = tempfile::tempdir().unwrap();
    let registration = CameraRegistration {
        source_id: Some("shop-door".into()),
        contact: "olga@example.org".into(),
        lat: 51.5,
        lon: -0.12,
        address: None,
        description: None,
        access: AccessLevel::Request,
        condition_active: false,
    };
    let camera = Camera { id: "0a1b".into(), owner: "olga".into(), updated_at: Utc::now(), registration };
    Registry::new(LocalStore::new(data.path())).put(&camera).unwrap();
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
