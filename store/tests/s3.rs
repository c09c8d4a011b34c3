//! The S3 backend against a real S3-compatible server on loopback (`s3s-fs`, installed by
//! `scripts/test-services`): object operations, multipart, create-if-absent, and the lake on S3 with the
//! same layout and results as on a local folder.

use canvass_store::testing::S3Server;
use canvass_store::testing::event;
use canvass_store::{EventLake, LocalStore, ObjectStore, Pruning, S3Config, S3Store, StoreError};

fn start() -> S3Server {
    S3Server::start()
}

fn store(server: &S3Server, prefix: &str) -> S3Store {
    S3Store::new(server.config(prefix)).unwrap()
}

#[test]
fn objects_round_trip_by_key_range_and_listing() {
    let server = start();
    let s3 = store(&server, "canvass/");
    let other = store(&server, "elsewhere/");
    s3.put("events/v1/date=2026-11-20/a.parquet", b"0123456789").unwrap();
    s3.put("events/v1/date=2026-11-21/b.parquet", b"two").unwrap();
    s3.put("thumbs/source=cam/x.jpg", b"jpeg").unwrap();
    other.put("events/v1/date=2026-11-20/z.parquet", b"not ours").unwrap();

    assert_eq!(s3.get("events/v1/date=2026-11-20/a.parquet").unwrap(), b"0123456789");
    assert_eq!(s3.get_range("events/v1/date=2026-11-20/a.parquet", 2..5).unwrap(), b"234");
    let keys: Vec<(String, u64)> = s3.list("events/").unwrap().into_iter().map(|o| (o.key, o.size)).collect();
    assert_eq!(
        keys,
        vec![
            ("events/v1/date=2026-11-20/a.parquet".into(), 10),
            ("events/v1/date=2026-11-21/b.parquet".into(), 3)
        ]
    );
    assert_eq!(
        s3.list_dirs("events/v1/").unwrap(),
        vec!["events/v1/date=2026-11-20/", "events/v1/date=2026-11-21/"]
    );
    assert_eq!(s3.list_dirs("").unwrap(), vec!["events/", "thumbs/"]);

    s3.delete("thumbs/source=cam/x.jpg").unwrap();
    assert!(matches!(s3.get("thumbs/source=cam/x.jpg"), Err(StoreError::NotFound(_))));
    assert_eq!(other.list("").unwrap().len(), 1, "prefixes keep stores apart");
}

#[test]
fn large_objects_go_up_in_parts() {
    let server = start();
    let s3 = S3Store::new(S3Config { part_size: 5 * 1024 * 1024, ..server.config("") }).unwrap();
    let big: Vec<u8> =
        (0..12 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    s3.put("segments/big.parquet", &big).unwrap();
    assert_eq!(s3.get("segments/big.parquet").unwrap(), big);
    assert_eq!(
        s3.get_range("segments/big.parquet", 6_000_000..6_000_010).unwrap(),
        big[6_000_000..6_000_010]
    );
}

#[test]
fn create_if_absent_never_replaces() {
    let server = start();
    let s3 = store(&server, "");
    assert!(s3.put_new("audit/v1/00000000000000000000.json", b"first").unwrap());
    assert!(!s3.put_new("audit/v1/00000000000000000000.json", b"second").unwrap());
    assert_eq!(s3.get("audit/v1/00000000000000000000.json").unwrap(), b"first");
}

#[test]
fn the_lake_on_s3_has_the_local_layout_and_answers_the_same() {
    let server = start();
    let on_s3 = EventLake::new(store(&server, "canvass/"));
    let dir = tempfile::tempdir().unwrap();
    let local = EventLake::new(LocalStore::new(dir.path()));
    let day = |d: u32, h: u32| format!("2026-11-{d:02}T{h:02}:00:00Z").parse().unwrap();
    let events =
        vec![event("cam-a", day(20, 8), 1), event("cam-b", day(20, 9), 2), event("cam-a", day(21, 8), 3)];
    let s3_keys = on_s3.write(&events).unwrap();
    let local_keys = local.write(&events).unwrap();
    assert_eq!(s3_keys, local_keys, "same segment names, same folders");
    let listed = |keys: Vec<canvass_store::ObjectMeta>| keys.into_iter().map(|o| o.key).collect::<Vec<_>>();
    assert_eq!(listed(on_s3.store().list("").unwrap()), listed(local.store().list("").unwrap()));

    let first_day = Pruning {
        after: Some(day(20, 0)),
        before: Some("2026-11-20T23:59:59Z".parse().unwrap()),
        ..Default::default()
    };
    let (from_s3, stats) = on_s3.scan(&first_day).unwrap();
    let (from_local, _) = local.scan(&first_day).unwrap();
    assert_eq!(from_s3, from_local);
    assert_eq!((from_s3.len(), stats.segments_opened), (2, 1));
}

#[test]
fn plain_http_endpoints_are_refused_unless_allowed() {
    let config = S3Config { endpoint: Some("http://s3.example:9000".into()), ..S3Config::new("b") };
    let err = S3Store::new(config.clone()).err().expect("plain HTTP refused").to_string();
    assert!(err.contains("plain HTTP") && err.contains("allow_http"), "{err}");
    assert!(S3Store::new(S3Config { allow_http: true, ..config }).is_ok());
    let https = S3Config { endpoint: Some("https://s3.example:9000".into()), ..S3Config::new("b") };
    assert!(S3Store::new(https).is_ok());
}

/// The same encryption as the data folder's, over a bucket: what the storage servers hold is
/// ciphertext, and a changed or swapped object is refused.
#[test]
fn objects_encrypted_by_canvass_hold_on_s3() {
    use canvass_store::{EncryptedStore, Secret256};
    let server = start();
    let key = Secret256::from_bytes([3; 32]);
    let s3 = EncryptedStore::open(store(&server, "enc/"), &key).unwrap();
    let secret = b"white pickup, plate AB12 CDE".repeat(5000);
    s3.put("thumbs/source=a/1.jpg", &secret).unwrap();
    s3.put("thumbs/source=a/2.jpg", b"other").unwrap();
    assert_eq!(s3.get("thumbs/source=a/1.jpg").unwrap(), secret);
    assert_eq!(s3.get_range("thumbs/source=a/1.jpg", 70_000..70_010).unwrap(), &secret[70_000..70_010]);
    assert_eq!(s3.list("thumbs/").unwrap()[0].size, secret.len() as u64);
    let on_server = std::fs::read(server.file_of("enc/thumbs/source=a/1.jpg")).unwrap();
    assert!(!on_server.windows(12).any(|w| w == b"white pickup"), "plaintext on the storage server");
    let mut tampered = on_server.clone();
    tampered[100] ^= 1;
    s3.inner().put("thumbs/source=a/1.jpg", &tampered).unwrap();
    assert!(s3.get("thumbs/source=a/1.jpg").is_err());
    s3.inner().put("thumbs/source=a/2.jpg", &on_server).unwrap();
    assert!(s3.get("thumbs/source=a/2.jpg").is_err(), "an object moved under another key");
    let wrong = EncryptedStore::open(store(&server, "enc/"), &Secret256::from_bytes([4; 32]));
    assert!(wrong.is_err(), "another key is refused");
}

/// Stored evidence on a bucket: parts and manifest under the case, read back whole and
/// checked; a part changed on the storage server is found.
#[test]
fn evidence_is_stored_in_parts_and_checked_on_s3() {
    use canvass_store::evidence::{EvidenceStore, PART_SIZE, Submission};
    let server = start();
    let evidence = EvidenceStore::new(store(&server, "ev/"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("door.mp4");
    let bytes: Vec<u8> = (0..PART_SIZE as usize + 999).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let submission =
        Submission { case: "2026-9", submitted_by: "olga", source_id: None, request: Some("r-1") };
    let (manifest, new) = evidence.put_file(&path, &submission, chrono::Utc::now()).unwrap();
    assert!(new && manifest.parts == 2);
    let mut copy = Vec::new();
    evidence.copy_to(&manifest, &mut copy).unwrap();
    assert_eq!(copy, bytes);
    assert_eq!(evidence.list("2026-9").unwrap(), vec![manifest.clone()]);
    let part = format!("ev/{}", canvass_store::keys::evidence_part("2026-9", &manifest.sha256, 1));
    std::fs::write(server.file_of(&part), b"swapped on the server").unwrap();
    let err = evidence.copy_to(&manifest, &mut Vec::new()).unwrap_err().to_string();
    assert!(err.contains("2026-9") && err.contains(&manifest.sha256), "{err}");
}
