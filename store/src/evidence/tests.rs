use super::*;
use crate::{EncryptedStore, LocalStore, Secret256};

fn file_of(dir: &Path, name: &str, len: usize) -> std::path::PathBuf {
    let path = dir.join(name);
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn submission(case: &str) -> Submission<'_> {
    Submission { case, submitted_by: "ana", source_id: Some("main-st"), request: None }
}

fn sha256_of(path: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn a_file_is_stored_in_parts_under_its_hash_and_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let evidence = EvidenceStore::new(LocalStore::new(data.path()));
    let path = file_of(dir.path(), "clip.mp4", 2 * PART_SIZE as usize + 123);
    let (manifest, new) = evidence.put_file(&path, &submission("2026-1"), Utc::now()).unwrap();
    assert!(new);
    assert_eq!(
        (manifest.sha256.clone(), manifest.size, manifest.parts),
        (sha256_of(&path), 2 * PART_SIZE + 123, 3)
    );
    assert_eq!(
        (manifest.original_name.as_str(), manifest.source_id.as_deref()),
        ("clip.mp4", Some("main-st"))
    );
    let mut copy = Vec::new();
    evidence.copy_to(&manifest, &mut copy).unwrap();
    assert_eq!(copy, std::fs::read(&path).unwrap());
    assert_eq!(evidence.list("2026-1").unwrap(), vec![manifest.clone()]);
    assert!(evidence.list("2026-2").unwrap().is_empty());
    // The same bytes again, under another name: already stored, nothing rewritten.
    let again = file_of(dir.path(), "copy.mp4", 2 * PART_SIZE as usize + 123);
    let (same, new) = evidence.put_file(&again, &submission("2026-1"), Utc::now()).unwrap();
    assert!(!new);
    assert_eq!(same, manifest);
    // An empty file is evidence too.
    let empty = file_of(dir.path(), "empty.bin", 0);
    let (manifest, _) = evidence.put_file(&empty, &submission("2026-1"), Utc::now()).unwrap();
    let mut copy = Vec::new();
    evidence.copy_to(&manifest, &mut copy).unwrap();
    assert!(copy.is_empty());
}

#[test]
fn a_changed_cut_or_missing_part_is_found_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let key = Secret256::from_bytes([9; 32]);
    let store = EncryptedStore::open(LocalStore::new(data.path()), &key).unwrap();
    let evidence = EvidenceStore::new(store);
    let path = file_of(dir.path(), "clip.mp4", PART_SIZE as usize + 10);
    let (manifest, _) = evidence.put_file(&path, &submission("c1"), Utc::now()).unwrap();
    let part1 = keys::evidence_part("c1", &manifest.sha256, 1);
    let raw = EncryptedStore::open(LocalStore::new(data.path()), &key).unwrap();
    // Rewritten by someone holding the key: it decrypts, but it is not what was stored.
    raw.put(&part1, b"0123456789").unwrap();
    let err = evidence.copy_to(&manifest, &mut Vec::new()).unwrap_err().to_string();
    assert!(err.contains("hash to"), "{err}");
    raw.put(&part1, b"01234").unwrap();
    let err = evidence.copy_to(&manifest, &mut Vec::new()).unwrap_err().to_string();
    assert!(err.contains("bytes stored"), "{err}");
    raw.delete(&part1).unwrap();
    let err = evidence.copy_to(&manifest, &mut Vec::new()).unwrap_err().to_string();
    assert!(err.contains("part 1 is missing"), "{err}");
    // Without the key, a part is refused before any byte of it is used.
    std::fs::write(data.path().join(keys::evidence_part("c1", &manifest.sha256, 0)), b"forged").unwrap();
    assert!(evidence.copy_to(&manifest, &mut Vec::new()).is_err());
}

#[test]
fn a_case_id_that_is_a_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let evidence = EvidenceStore::new(LocalStore::new(data.path()));
    let path = file_of(dir.path(), "clip.mp4", 10);
    for case in ["", "../x", "a/b", ".x"] {
        assert!(matches!(
            evidence.put_file(&path, &submission(case), Utc::now()),
            Err(EvidenceError::BadCase(_))
        ));
    }
    let missing = evidence.put_file(&dir.path().join("nope.mp4"), &submission("c"), Utc::now()).unwrap_err();
    assert!(missing.to_string().contains("nope.mp4"), "{missing}");
}
