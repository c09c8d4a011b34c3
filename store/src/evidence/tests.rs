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
    assert!(err.contains("has 5 bytes, 10 recorded"), "{err}");
    raw.delete(&part1).unwrap();
    let err = evidence.copy_to(&manifest, &mut Vec::new()).unwrap_err().to_string();
    assert!(err.contains(&format!("the part at byte {PART_SIZE} is missing")), "{err}");
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

fn upload_of(case: &str, length: u64) -> upload::Upload {
    upload::Upload {
        version: upload::UPLOAD_VERSION,
        id: crate::secret::new_id(),
        case: case.into(),
        length,
        filename: "door.mp4".into(),
        source_id: Some("door".into()),
        request: None,
        submitted_by: "ana".into(),
        created_at: Utc::now(),
        expires_at: Utc::now() + chrono::Duration::hours(24),
        sha256: None,
        job: None,
    }
}

/// An upload in uneven chunks, one of them cut and sent again, one refused and sent again: the
/// offset to resume at is always what is stored, and the stored original is the file.
#[test]
fn an_upload_resumes_at_what_is_stored_and_becomes_evidence() {
    let data = tempfile::tempdir().unwrap();
    let store: crate::Store = std::sync::Arc::new(
        EncryptedStore::open(LocalStore::new(data.path()), &Secret256::from_bytes([3; 32])).unwrap(),
    );
    let uploads = upload::Uploads::new(store.clone());
    let bytes: Vec<u8> = (0..3_000_001u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let mut up = upload_of("c7", bytes.len() as u64);
    uploads.create(&up).unwrap();
    assert!(uploads.create(&up).is_err(), "an id is used once");
    assert_eq!(uploads.offset(&up).unwrap(), 0);
    assert!(uploads.write_part(&up, 0, &bytes[..1_000_000]).unwrap());
    // Another request racing for the same offset loses.
    assert!(!uploads.write_part(&up, 0, &bytes[..10]).unwrap());
    // A part that does not follow on (a gap) is not counted.
    assert!(uploads.write_part(&up, 2_000_000, &bytes[2_000_000..2_000_100]).unwrap());
    assert_eq!(uploads.offset(&up).unwrap(), 1_000_000);
    uploads.discard_from(&up, 1_000_000).unwrap();
    // A chunk whose checksum failed is discarded; the offset goes back.
    uploads.write_part(&up, 1_000_000, b"garbage").unwrap();
    uploads.discard_from(&up, 1_000_000).unwrap();
    assert_eq!(uploads.offset(&up).unwrap(), 1_000_000);
    uploads.write_part(&up, 1_000_000, &bytes[1_000_000..2_500_000]).unwrap();
    // Not done yet: finishing is refused.
    let sha = hex(&Sha256::digest(&bytes));
    assert!(uploads.finish(&mut up, &sha, Utc::now()).is_err());
    uploads.write_part(&up, 2_500_000, &bytes[2_500_000..]).unwrap();
    assert_eq!(uploads.offset(&up).unwrap(), bytes.len() as u64);
    assert_eq!(uploads.hash(&up).unwrap(), sha);
    let (manifest, new) = uploads.finish(&mut up, &sha, Utc::now()).unwrap();
    assert!(new);
    assert_eq!((manifest.size, manifest.parts, manifest.version), (bytes.len() as u64, 3, 2));
    let evidence = EvidenceStore::new(store.clone());
    let mut copy = Vec::new();
    evidence.copy_to(&manifest, &mut copy).unwrap();
    assert!(copy == bytes, "the stored original is the file");
    assert_eq!(evidence.list("c7").unwrap(), vec![manifest.clone()]);
    assert_eq!(uploads.get(&up.id).unwrap().unwrap().sha256.as_deref(), Some(sha.as_str()));

    // The same file uploaded again: the stored original stands, the new parts go.
    let mut again = upload_of("c7", bytes.len() as u64);
    uploads.create(&again).unwrap();
    uploads.write_part(&again, 0, &bytes).unwrap();
    let (same, new) = uploads.finish(&mut again, &sha, Utc::now()).unwrap();
    assert!(!new && same == manifest);
    assert!(store.list(&keys::evidence_upload("c7", &again.id)).unwrap().is_empty());
    // Terminating an unfinished upload removes it; a finished one keeps its evidence.
    let abandoned = upload_of("c7", 10);
    uploads.create(&abandoned).unwrap();
    uploads.write_part(&abandoned, 0, b"12345").unwrap();
    uploads.terminate(&abandoned).unwrap();
    assert!(uploads.get(&abandoned.id).unwrap().is_none());
    assert!(store.list(&keys::evidence_upload("c7", &abandoned.id)).unwrap().is_empty());
    uploads.terminate(&up).unwrap();
    evidence.copy_to(&manifest, &mut Vec::new()).unwrap();
    assert!(uploads.get("../../x").unwrap().is_none());
}

/// The reader gives the stored original's bytes wherever it is asked, across part borders and
/// windows, and says so when a part is shorter than its manifest.
#[test]
fn evidence_reads_by_ranges_as_a_file() {
    use std::io::{Read, Seek, SeekFrom};
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let store: crate::Store = std::sync::Arc::new(
        EncryptedStore::open(LocalStore::new(data.path()), &Secret256::from_bytes([4; 32])).unwrap(),
    );
    let evidence = EvidenceStore::new(store.clone());
    let path = file_of(dir.path(), "clip.mp4", PART_SIZE as usize + 3 * reader::READ_AHEAD as usize / 2);
    let bytes = std::fs::read(&path).unwrap();
    let (manifest, _) = evidence.put_file(&path, &submission("c1"), Utc::now()).unwrap();
    let mut reader = evidence.open(&manifest);
    let mut all = Vec::new();
    reader.read_to_end(&mut all).unwrap();
    assert!(all == bytes);
    for at in [0, 17, PART_SIZE - 5, PART_SIZE, bytes.len() as u64 - 3, 2 * reader::READ_AHEAD + 1] {
        reader.seek(SeekFrom::Start(at)).unwrap();
        let mut got = vec![0u8; 10];
        let n = reader.read(&mut got).unwrap();
        assert!(n > 0 && got[..n] == bytes[at as usize..at as usize + n], "at {at}");
    }
    assert_eq!(reader.seek(SeekFrom::End(-1)).unwrap(), bytes.len() as u64 - 1);
    assert!(reader.seek(SeekFrom::Current(-(bytes.len() as i64))).is_err());
    reader.seek(SeekFrom::End(10)).unwrap();
    assert_eq!(reader.read(&mut [0u8; 4]).unwrap(), 0, "past the end reads nothing");
    store.put(&keys::evidence_part("c1", &manifest.sha256, 1), b"short").unwrap();
    reader.seek(SeekFrom::Start(PART_SIZE + 100)).unwrap();
    assert!(reader.read(&mut [0u8; 4]).is_err());
}
