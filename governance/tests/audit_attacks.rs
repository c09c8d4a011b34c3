//! Attacks on the audit log by someone who can write the store but does not hold the audit
//! key, on the data folder and on a real S3-compatible server (s3s-fs). Each must be found by
//! `verify`.

use std::sync::Arc;

use canvass_governance::audit::{Action, AuditKey, AuditLog, Entry, Verdict, verify};
use canvass_store::testing::S3Server;
use canvass_store::{LocalStore, ObjectStore, S3Store, Store, keys};
use sha2::{Digest, Sha256};

fn key() -> AuditKey {
    AuditKey::from_hex(&"7e".repeat(32)).unwrap()
}

fn search(n: usize) -> Action {
    Action {
        actor: "ana".into(),
        role: "investigator".into(),
        action: "search".into(),
        case: Some("2026-0042".into()),
        purpose: Some("hit and run".into()),
        agency: Some("metro-pd".into()),
        detail: serde_json::json!({ "query": format!("red pickup #{n}") }),
        result_count: Some(n),
    }
}

fn entry(store: &Store, seq: u64) -> Entry {
    serde_json::from_slice(&store.get(&keys::audit_entry(seq)).unwrap()).unwrap()
}

fn put(store: &Store, entry: &Entry) {
    store.put(&keys::audit_entry(entry.seq), &serde_json::to_vec(entry).unwrap()).unwrap();
}

/// What an attacker without the key can do: recompute every hash from `from` on, so the
/// SHA-256 chain links again.
fn rechain(store: &Store, from: u64, to: u64) {
    // Link to the newest entry still there before `from`.
    let mut prev = (0..from)
        .rev()
        .find_map(|seq| store.get(&keys::audit_entry(seq)).ok())
        .map(|bytes| serde_json::from_slice::<Entry>(&bytes).unwrap().hash)
        .unwrap_or_else(|| "0".repeat(64));
    for seq in from..=to {
        let Ok(bytes) = store.get(&keys::audit_entry(seq)) else { continue };
        let mut e: Entry = serde_json::from_slice(&bytes).unwrap();
        e.prev_hash = prev;
        let unhashed = Entry { hash: String::new(), mac: String::new(), ..e.clone() };
        e.hash = Sha256::digest(serde_json::to_vec(&unhashed).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        prev = e.hash.clone();
        put(store, &e);
    }
}

fn log(store: Store) -> Store {
    let log = AuditLog::new(store.clone(), key());
    for n in 0..6 {
        log.record(search(n)).unwrap();
    }
    assert!(matches!(verify(&store, &key()).unwrap(), Verdict::Intact { entries: 6, .. }));
    store
}

fn problems(store: &Store) -> String {
    match verify(store, &key()).unwrap() {
        Verdict::Broken { problems } => problems.join("; "),
        intact => panic!("the attack went unnoticed: {intact:?}"),
    }
}

fn attacks(new_store: &dyn Fn() -> Store) {
    // Truncation: the newest entries deleted.
    let store = log(new_store());
    store.delete(&keys::audit_entry(5)).unwrap();
    store.delete(&keys::audit_entry(4)).unwrap();
    let found = problems(&store);
    assert!(found.contains("removed from the end"), "{found}");

    // One entry deleted in the middle and the chain recomputed.
    let store = log(new_store());
    store.delete(&keys::audit_entry(2)).unwrap();
    rechain(&store, 3, 5);
    let found = problems(&store);
    assert!(found.contains("missing") && found.contains("not authenticated"), "{found}");

    // An entry's content changed and the whole chain recomputed without the key.
    let store = log(new_store());
    let mut e = entry(&store, 1);
    e.action.result_count = Some(0);
    put(&store, &e);
    rechain(&store, 1, 5);
    let found = problems(&store);
    assert!(found.contains("entry 1 is not authenticated"), "{found}");

    // Two entries swapped (each moved under the other's key).
    let store = log(new_store());
    let (a, b) = (entry(&store, 2), entry(&store, 3));
    store.put(&keys::audit_entry(2), &serde_json::to_vec(&b).unwrap()).unwrap();
    store.put(&keys::audit_entry(3), &serde_json::to_vec(&a).unwrap()).unwrap();
    let found = problems(&store);
    assert!(found.contains("modified or moved"), "{found}");

    // The head deleted, or rewritten to match a truncated log.
    let store = log(new_store());
    store.delete(keys::AUDIT_HEAD).unwrap();
    assert!(problems(&store).contains("head is missing"));
    let store = log(new_store());
    store.delete(&keys::audit_entry(5)).unwrap();
    let fake = serde_json::json!({ "seq": 4, "hash": entry(&store, 4).hash, "mac": "00".repeat(32) });
    store.put(keys::AUDIT_HEAD, &serde_json::to_vec(&fake).unwrap()).unwrap();
    assert!(problems(&store).contains("head is not authenticated"));

    // A log written under another key (a forger's own) is not this log.
    let store = new_store();
    let forged = AuditLog::new(store.clone(), AuditKey::from_hex(&"11".repeat(32)).unwrap());
    forged.record(search(0)).unwrap();
    assert!(problems(&store).contains("not authenticated"));
}

#[test]
fn audit_attacks_on_the_data_folder_are_found() {
    let dirs = std::cell::RefCell::new(Vec::new());
    attacks(&|| {
        let dir = tempfile::tempdir().unwrap();
        let store: Store = Arc::new(LocalStore::new(dir.path()));
        dirs.borrow_mut().push(dir);
        store
    });
}

#[test]
fn audit_attacks_on_s3_are_found() {
    let server = S3Server::start();
    let n = std::cell::Cell::new(0);
    attacks(&|| {
        n.set(n.get() + 1);
        Arc::new(S3Store::new(server.config(&format!("log-{}/", n.get()))).unwrap()) as Store
    });
}

proptest::proptest! {
    // Whatever bytes stand in for an entry or the head, verify answers: no panic.
    #[test]
    fn verify_never_panics_on_damaged_entries(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400), seq in 0u64..4, head in proptest::prelude::any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let store: Store = Arc::new(LocalStore::new(dir.path()));
        let log = AuditLog::new(store.clone(), key());
        for n in 0..3 {
            log.record(search(n)).unwrap();
        }
        let target = if head { keys::AUDIT_HEAD.to_string() } else { keys::audit_entry(seq) };
        store.put(&target, &bytes).unwrap();
        let _ = verify(&store, &key());
    }
}
