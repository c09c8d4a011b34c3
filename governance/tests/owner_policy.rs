//! The owner's policy is the owner's only: attacks on it, on the data folder and on a real
//! S3-compatible server (s3s-fs).

use std::sync::Arc;

use canvass_governance::registry::{AccessLevel, Camera, CameraRegistration, Registry, RegistryError};
use canvass_store::testing::S3Server;
use canvass_store::{LocalStore, ObjectStore, S3Store, Store, keys};
use chrono::Utc;

fn registration(
    source: Option<&str>,
    stream: Option<&str>,
    access: AccessLevel,
    active: bool,
) -> CameraRegistration {
    CameraRegistration {
        source_id: source.map(String::from),
        stream_url: stream.map(String::from),
        contact: "olga@example.org".into(),
        lat: 51.5,
        lon: -0.12,
        address: None,
        description: None,
        access,
        condition_active: active,
        heading_deg: None,
        zones: Vec::new(),
    }
    .normalised()
}

fn camera(id: &str, owner: &str, registration: CameraRegistration) -> Camera {
    Camera { id: id.into(), owner: owner.into(), updated_at: Utc::now(), registration }
}

/// Every attack, against one backend.
fn attacks(store: Store) {
    let registry = Registry::new(store.clone());
    let olga = camera("0a", "olga", registration(Some("Shop Door"), None, AccessLevel::RegistryOnly, false));
    registry.register(&olga).unwrap();
    assert_eq!(olga.registration.source_id.as_deref(), Some("shop-door"), "stored as ingest names it");

    // Another owner claims the same source (spelt differently) with live access on.
    let mallory =
        camera("0b", "mallory", registration(Some("shop-door"), None, AccessLevel::ConditionalLive, true));
    match registry.register(&mallory) {
        Err(RegistryError::Conflict(why)) => assert!(why.contains("shop-door"), "{why}"),
        other => panic!("a second registration of a source must be refused: {other:?}"),
    }
    assert!(registry.owner_allows("shop-door", None, true).is_err(), "olga's registry_only still governs");
    assert!(registry.owner_allows("Shop Door", Some("rtsp://x/y"), true).is_err(), "ids compared normalised");

    // A stream registered by its URL: another source id on the same URL is still governed.
    let gate = camera(
        "0c",
        "olga",
        registration(None, Some("rtsp://admin:pw@Gate.Local:554/live/"), AccessLevel::Request, false),
    );
    registry.register(&gate).unwrap();
    assert_eq!(
        gate.registration.stream_url.as_deref(),
        Some("rtsp://gate.local:554/live"),
        "no credentials kept"
    );
    let refusal =
        registry.owner_allows("other-id", Some("rtsp://u:p@GATE.local:554/live"), true).unwrap_err();
    assert!(refusal.contains("on request only"), "{refusal}");
    assert!(registry.owner_allows("other-id", None, false).is_ok(), "stored files stay allowed");
    // Nor can a registration be changed to take another's source id.
    let moved = camera("0c", "olga", registration(Some("shop-door"), None, AccessLevel::Request, false));
    assert!(matches!(registry.update(&gate, &moved), Err(RegistryError::Conflict(_))));
    assert!(registry.owner_allows("shop-door", None, true).is_err(), "still governed by olga's first camera");
    let twin = camera(
        "0a1",
        "mallory",
        registration(None, Some("rtsp://gate.local:554/live"), AccessLevel::ConditionalLive, true),
    );
    assert!(
        matches!(registry.register(&twin), Err(RegistryError::Conflict(_))),
        "one registration per stream"
    );

    // Registrations from before claims existed, in key order the permissive one first: every
    // registration governing the source must allow live access.
    for (id, access, active) in
        [("1a", AccessLevel::ConditionalLive, true), ("1b", AccessLevel::RegistryOnly, false)]
    {
        let c = camera(id, "someone", registration(Some("legacy-cam"), None, access, active));
        store.put(&keys::camera(id), &serde_json::to_vec(&c).unwrap()).unwrap();
    }
    assert!(registry.owner_allows("legacy-cam", None, true).is_err(), "the strictest policy wins");

    // A live stream re-checked while it runs: condition off, then the registration removed.
    let live = camera("0d", "olga", registration(Some("kiosk"), None, AccessLevel::ConditionalLive, true));
    registry.register(&live).unwrap();
    let governing = registry.owner_allows("kiosk", None, true).unwrap();
    assert_eq!(governing, vec!["0d".to_string()]);
    assert!(registry.still_allows(&governing, "kiosk", None).is_ok());
    let off = camera("0d", "olga", registration(Some("kiosk"), None, AccessLevel::ConditionalLive, false));
    registry.update(&live, &off).unwrap();
    assert!(registry.still_allows(&governing, "kiosk", None).unwrap_err().contains("does not now"));
    registry.remove(&off).unwrap();
    assert!(registry.still_allows(&governing, "kiosk", None).unwrap_err().contains("removed"));
    // Removing it frees the source for a new registration.
    let next = camera("0e", "olga", registration(Some("kiosk"), None, AccessLevel::Request, false));
    registry.register(&next).unwrap();
    // A registration made while a stream runs is found by the re-check too.
    let fresh = camera("0a2", "olga", registration(Some("new-cam"), None, AccessLevel::RegistryOnly, false));
    registry.register(&fresh).unwrap();
    assert!(registry.still_allows(&[], "new-cam", None).is_err());

    // A claim left by a crash between claiming and saving does not lock the source forever.
    store.put(&keys::source_claim("orphan"), b"ff").unwrap();
    let orphan = camera("0f", "olga", registration(Some("orphan"), None, AccessLevel::Request, false));
    registry.register(&orphan).unwrap();
}

#[test]
fn owner_policy_survives_attacks_on_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    attacks(Arc::new(LocalStore::new(dir.path())));
}

#[test]
fn owner_policy_survives_attacks_on_s3() {
    let server = S3Server::start();
    attacks(Arc::new(S3Store::new(server.config("canvass/")).unwrap()));
}
