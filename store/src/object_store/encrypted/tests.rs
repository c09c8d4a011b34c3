use proptest::prelude::*;

use super::*;
use crate::LocalStore;
use crate::testing::event;

fn key(byte: u8) -> Secret256 {
    Secret256::from_bytes([byte; 32])
}

fn folder() -> (tempfile::TempDir, EncryptedStore<LocalStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = EncryptedStore::open(LocalStore::new(dir.path()), &key(7)).unwrap();
    (dir, store)
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn objects_of_every_size_round_trip_and_list_their_plaintext_size() {
    let (dir, store) = folder();
    let c = CHUNK as usize;
    for len in [0, 1, c - 1, c, c + 1, 3 * c + 5] {
        let key = format!("o/{len}");
        store.put(&key, &payload(len)).unwrap();
        assert_eq!(store.get(&key).unwrap(), payload(len), "{len}");
        let on_disk = std::fs::read(dir.path().join(&key)).unwrap();
        assert_eq!(on_disk.len() as u64, stored_len(len as u64));
        assert_eq!(plaintext_len(on_disk.len() as u64), len as u64);
    }
    let sizes: Vec<u64> = store.list("o/").unwrap().iter().map(|o| o.size).collect();
    let mut expected: Vec<(String, u64)> =
        [0, 1, c - 1, c, c + 1, 3 * c + 5].iter().map(|l| (format!("o/{l}"), *l as u64)).collect();
    expected.sort();
    assert_eq!(sizes, expected.iter().map(|e| e.1).collect::<Vec<_>>());
    assert!(store.list("").unwrap().iter().all(|o| o.key != keys::ENCRYPTION_MARKER), "the marker is hidden");
}

#[test]
fn nothing_readable_reaches_the_disk() {
    let (dir, store) = folder();
    let secret = b"plate AB12 CDE white pickup main-st 2026-11-20".repeat(50);
    store.put("events/v1/x.json", &secret).unwrap();
    let on_disk = std::fs::read(dir.path().join("events/v1/x.json")).unwrap();
    assert!(
        !on_disk.windows(8).any(|w| secret.windows(8).any(|s| s == w)),
        "an 8-byte run of plaintext on disk"
    );
    // Equal plaintexts make different ciphertexts (a fresh salt each time).
    store.put("events/v1/y.json", &secret).unwrap();
    assert_ne!(on_disk, std::fs::read(dir.path().join("events/v1/y.json")).unwrap());
}

#[test]
fn a_flipped_bit_anywhere_is_refused() {
    let (dir, store) = folder();
    let len = 2 * CHUNK as usize + 100;
    store.put("k", &payload(len)).unwrap();
    let path = dir.path().join("k");
    let original = std::fs::read(&path).unwrap();
    // Magic, salt, length, first chunk, a tag, last chunk.
    let places =
        [0, 10, HEADER as usize - 1, HEADER as usize + 5, (HEADER + CHUNK + 3) as usize, original.len() - 1];
    for at in places {
        let mut tampered = original.clone();
        tampered[at] ^= 0x01;
        std::fs::write(&path, &tampered).unwrap();
        assert!(store.get("k").is_err(), "flip at {at} went unnoticed");
    }
    std::fs::write(&path, &original).unwrap();
    assert_eq!(store.get("k").unwrap(), payload(len));
}

#[test]
fn a_cut_short_or_reordered_object_is_refused() {
    let (dir, store) = folder();
    let len = 3 * CHUNK as usize;
    store.put("k", &payload(len)).unwrap();
    let path = dir.path().join("k");
    let original = std::fs::read(&path).unwrap();
    let sealed = (CHUNK + TAG) as usize;
    let h = HEADER as usize;
    // The last whole chunk dropped, with the length in the header lowered to match.
    let mut cut = original[..h + 2 * sealed].to_vec();
    cut[4 + SALT..h].copy_from_slice(&(2 * CHUNK).to_le_bytes());
    std::fs::write(&path, &cut).unwrap();
    let err = store.get("k").unwrap_err().to_string();
    assert!(err.contains("cannot decrypt"), "{err}");
    // Cut mid-chunk.
    std::fs::write(&path, &original[..original.len() - 10]).unwrap();
    assert!(store.get("k").is_err());
    assert!(store.get_range("k", 0..10).is_ok(), "untouched chunks still read");
    assert!(store.get_range("k", len as u64 - 10..len as u64).is_err());
    // Chunks 0 and 1 swapped.
    let mut swapped = original.clone();
    swapped[h..h + sealed].copy_from_slice(&original[h + sealed..h + 2 * sealed]);
    swapped[h + sealed..h + 2 * sealed].copy_from_slice(&original[h..h + sealed]);
    std::fs::write(&path, &swapped).unwrap();
    assert!(store.get("k").is_err());
    assert!(store.get_range("k", 0..1).is_err());
}

#[test]
fn an_object_moved_under_another_key_is_refused() {
    let (dir, store) = folder();
    store.put("thumbs/source=a/e1.jpg", b"crop of e1").unwrap();
    store.put("thumbs/source=a/e2.jpg", b"crop of e2").unwrap();
    std::fs::copy(dir.path().join("thumbs/source=a/e1.jpg"), dir.path().join("thumbs/source=a/e2.jpg"))
        .unwrap();
    assert!(store.get("thumbs/source=a/e2.jpg").is_err());
    assert_eq!(store.get("thumbs/source=a/e1.jpg").unwrap(), b"crop of e1");
}

#[test]
fn another_key_or_an_unencrypted_folder_is_refused_with_the_reason() {
    let (dir, store) = folder();
    store.put("a", b"x").unwrap();
    let err = EncryptedStore::open(LocalStore::new(dir.path()), &key(8)).err().unwrap().to_string();
    assert!(err.contains(&key_id(&key(7))) && err.contains(&key_id(&key(8))), "{err}");
    let plain = tempfile::tempdir().unwrap();
    LocalStore::new(plain.path()).put("events/v1/old.parquet", b"PAR1").unwrap();
    let err = EncryptedStore::open(LocalStore::new(plain.path()), &key(7)).err().unwrap().to_string();
    assert!(err.contains("without encryption") && err.contains("events/v1/old.parquet"), "{err}");
    // A file dropped into an encrypted folder by someone without the key is not read as data.
    std::fs::write(dir.path().join("planted.json"), b"{\"forged\":true}").unwrap();
    let err = store.get("planted.json").unwrap_err().to_string();
    assert!(err.contains("not an encrypted canvass object"), "{err}");
}

#[test]
fn the_lake_reads_ranged_columns_through_encryption() {
    let (_dir, store) = folder();
    let lake = crate::EventLake::new(store);
    let start = "2026-11-20T10:00:00Z".parse().unwrap();
    // Enough events that the segment spans several chunks.
    let events: Vec<_> = (0..3000).map(|n| event(&format!("cam-{}", n % 7), start, n)).collect();
    lake.write(&events).unwrap();
    let (found, stats) = lake.scan(&crate::Pruning::default()).unwrap();
    assert_eq!(found.len(), events.len());
    assert!(stats.segments_opened >= 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_range_reads_what_was_written(len in 0usize..200_000, a in 0usize..200_000, b in 0usize..200_000) {
        let (_dir, store) = folder();
        let data = payload(len);
        store.put("k", &data).unwrap();
        let (start, end) = (a.min(b).min(len), a.max(b).min(len));
        prop_assert_eq!(store.get_range("k", start as u64..end as u64).unwrap(), data[start..end].to_vec());
        prop_assert!(store.get_range("k", 0..len as u64 + 1).is_err());
    }
}
