use canvass_store::LocalStore;

use super::*;

fn key() -> AuditKey {
    AuditKey::from_hex(&"5a".repeat(32)).unwrap()
}

fn search_by(actor: &str, n: usize) -> Action {
    Action {
        actor: actor.into(),
        role: "investigator".into(),
        action: "search".into(),
        case: Some("2026-0042".into()),
        purpose: Some("hit and run on Main St".into()),
        agency: None,
        detail: serde_json::json!({ "query": format!("red pickup #{n}") }),
        result_count: Some(n),
    }
}

fn log_with(entries: usize) -> (tempfile::TempDir, AuditLog<LocalStore>) {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::new(LocalStore::new(dir.path()), key());
    for n in 0..entries {
        log.record(search_by("ana", n)).unwrap();
    }
    (dir, log)
}

fn problems(log: &AuditLog<LocalStore>) -> Vec<String> {
    match verify(log.store(), &key()).unwrap() {
        Verdict::Broken { problems } => problems,
        intact => panic!("expected a broken chain, got {intact:?}"),
    }
}

fn edit(log: &AuditLog<LocalStore>, seq: u64, change: impl Fn(&mut Entry)) {
    let mut entry: Entry =
        serde_json::from_slice(&log.store().get(&keys::audit_entry(seq)).unwrap()).unwrap();
    change(&mut entry);
    log.store().put(&keys::audit_entry(seq), &serde_json::to_vec(&entry).unwrap()).unwrap();
}

#[test]
fn an_untouched_log_verifies_and_names_its_head() {
    let (_dir, log) = log_with(5);
    let entries = log.entries().unwrap();
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    assert_eq!(entries[3].action, search_by("ana", 3));
    assert_eq!(
        verify(log.store(), &key()).unwrap(),
        Verdict::Intact { entries: 5, head: entries[4].hash.clone() }
    );
}

#[test]
fn a_modified_entry_is_found() {
    let (_dir, log) = log_with(5);
    edit(&log, 2, |e| e.action.result_count = Some(0));
    assert_eq!(problems(&log), vec!["entry 2 was modified: its hash does not match its content"]);
}

#[test]
fn a_modified_entry_with_a_recomputed_hash_fails_its_mac_and_breaks_the_link_after_it() {
    let (_dir, log) = log_with(5);
    edit(&log, 2, |e| {
        e.action.actor = "someone-else".into();
        e.hash = e.computed_hash();
    });
    assert_eq!(
        problems(&log),
        vec![
            "entry 2 is not authenticated by the audit key: rewritten, or written without the key",
            "entry 3 does not follow entry 2: the chain was rewritten"
        ]
    );
}

#[test]
fn hmac_matches_a_reference_implementation() {
    // From Python's hmac module: hmac.new(bytes([0x0b] * 32), b"Hi There", sha256).hexdigest()
    let key = AuditKey::from_hex(&"0b".repeat(32)).unwrap();
    assert_eq!(key.mac(b"Hi There"), "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7");
}

#[test]
fn a_deleted_entry_is_found() {
    let (_dir, log) = log_with(5);
    log.store().delete(&keys::audit_entry(1)).unwrap();
    log.store().delete(&keys::audit_entry(2)).unwrap();
    assert_eq!(problems(&log), vec!["entries 1-2 are missing (deleted before entry 3)"]);
}

#[test]
fn two_writers_on_one_store_interleave_into_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let threads: Vec<_> = ["ana", "ben"]
        .into_iter()
        .map(|actor| {
            let root = dir.path().to_path_buf();
            // Separate logs, as two processes would have.
            std::thread::spawn(move || {
                let log = AuditLog::new(LocalStore::new(root), key());
                for n in 0..25 {
                    log.record(search_by(actor, n)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let log = AuditLog::new(LocalStore::new(dir.path()), key());
    assert!(matches!(verify(log.store(), &key()).unwrap(), Verdict::Intact { entries: 50, .. }));
    assert_eq!(log.entries().unwrap().iter().filter(|e| e.action.actor == "ben").count(), 25);
}
