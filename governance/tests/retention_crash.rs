//! A retention sweep killed at any point (the store refusing every write from then on, as a
//! crash would) and then run again leaves the same lake as one clean sweep: no orphan
//! thumbnail or segment, and every deletion counted once in the audit log. On the data folder
//! and on a real S3-compatible server (s3s-fs).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use canvass_governance::audit::{AuditKey, AuditLog, Verdict, verify};
use canvass_governance::{Retention, sweep};
use canvass_store::testing::{S3Server, event};
use canvass_store::{
    EventLake, LocalStore, ObjectMeta, ObjectStore, Pruning, S3Store, Store, StoreError, keys,
};
use chrono::{DateTime, Duration, Utc};

/// A store that dies after `budget` writes or deletes.
struct Dying {
    inner: Store,
    budget: AtomicUsize,
}

impl Dying {
    fn spend(&self, key: &str) -> Result<(), StoreError> {
        let left = self.budget.load(Ordering::SeqCst);
        if left == 0 {
            return Err(StoreError::Permanent { key: key.into(), reason: "killed".into() });
        }
        self.budget.store(left - 1, Ordering::SeqCst);
        Ok(())
    }
}

impl ObjectStore for Dying {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.spend(key)?;
        self.inner.put(key, bytes)
    }
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        self.spend(key)?;
        self.inner.put_new(key, bytes)
    }
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.inner.get(key)
    }
    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>, StoreError> {
        self.inner.get_range(key, range)
    }
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.spend(key)?;
        self.inner.delete(key)
    }
    fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list_dirs(prefix)
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn retention() -> Retention {
    Retention { policies: vec![(vec!["cam-b".to_string()], 60)], ..Retention::default() }
}

fn key() -> AuditKey {
    AuditKey::from_hex(&"9d".repeat(32)).unwrap()
}

/// Two expired events alone in a segment, one expired and one within its source's longer period
/// in another (rewritten), one recent alone; returns the ids that must go and those that must stay.
fn fill(store: &Store) -> (BTreeSet<String>, BTreeSet<String>) {
    let lake = EventLake::new(store.clone());
    let old = now() - Duration::days(40);
    let gone = [event("cam-a", old, 1), event("cam-a", old, 2), event("cam-a", old, 3)];
    let recent = now() - Duration::days(2);
    // cam-b keeps 60 days (see `retention`).
    let kept = [event("cam-b", old, 4), event("cam-c", recent, 5)];
    lake.write_as_of(&gone[..2], old).unwrap();
    lake.write_as_of(&[gone[2].clone(), kept[0].clone()], old).unwrap();
    lake.write_as_of(&kept[1..], recent).unwrap();
    for e in gone.iter().chain(&kept) {
        lake.put_thumbnail(&e.thumbnail_key, b"jpeg").unwrap();
    }
    // The sweep writes the log's very first entry: a kill between it and its head is tried too.
    let ids =
        |events: &[canvass_schemas::DetectionEvent]| events.iter().map(|e| e.event_id.clone()).collect();
    (ids(&gone), ids(&kept))
}

fn check(store: &Store, gone: &BTreeSet<String>, kept: &BTreeSet<String>, what: &str) {
    let lake = EventLake::new(store.clone());
    let (left, _) = lake.scan(&Pruning::default()).unwrap();
    let left: BTreeSet<String> = left.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(&left, kept, "{what}: the events left");
    // Every object is accounted for: segments with summaries, summaries with segments, no
    // thumbnail of a deleted event, no intent left.
    let objects: BTreeSet<String> = store.list("").unwrap().into_iter().map(|o| o.key).collect();
    for key in &objects {
        if key.ends_with(".parquet") {
            assert!(objects.contains(&keys::summary(key)), "{what}: orphan segment {key}");
        }
        if let Some(segment) = key.strip_suffix(keys::SUMMARY_SUFFIX) {
            assert!(objects.contains(segment), "{what}: summary without its segment {key}");
        }
        assert!(!key.starts_with(keys::RETENTION_INTENTS), "{what}: intent left {key}");
        for id in gone {
            assert!(!key.ends_with(&format!("{id}.jpg")), "{what}: orphan thumbnail {key}");
        }
    }
    let audit = AuditLog::new(store.clone(), key());
    let counted: usize = audit
        .entries()
        .unwrap()
        .iter()
        .filter(|e| e.action.action == "retention_delete")
        .map(|e| e.action.result_count.unwrap_or(0))
        .sum();
    assert_eq!(counted, gone.len(), "{what}: each deletion audited once");
    assert!(matches!(verify(store, &key()).unwrap(), Verdict::Intact { .. }), "{what}");
}

fn crash_at_every_point(new_store: &dyn Fn() -> Store) {
    // A clean sweep's writes and deletes, counted.
    let clean = new_store();
    fill(&clean);
    let counting = Arc::new(Dying { inner: clean.clone(), budget: AtomicUsize::new(usize::MAX) });
    let lake = EventLake::new(counting.clone() as Store);
    sweep(&lake, &[], &AuditLog::new(counting.clone() as Store, key()), &retention(), now()).unwrap();
    let writes = usize::MAX - counting.budget.load(Ordering::SeqCst);
    assert!(writes > 5, "{writes}");
    for budget in 0..writes {
        let store = new_store();
        let (gone, kept) = fill(&store);
        let dying = Arc::new(Dying { inner: store.clone(), budget: AtomicUsize::new(budget) });
        let lake = EventLake::new(dying.clone() as Store);
        let first = sweep(&lake, &[], &AuditLog::new(dying.clone() as Store, key()), &retention(), now());
        assert!(first.is_err(), "killed after {budget} of {writes} writes, the sweep must fail");
        let lake = EventLake::new(store.clone());
        sweep(&lake, &[], &AuditLog::new(store.clone(), key()), &retention(), now()).unwrap();
        check(&store, &gone, &kept, &format!("killed after {budget} of {writes} writes"));
    }
}

#[test]
fn a_sweep_killed_anywhere_is_finished_by_the_next_on_the_data_folder() {
    let dirs = std::cell::RefCell::new(Vec::new());
    crash_at_every_point(&|| {
        let dir = tempfile::tempdir().unwrap();
        let store: Store = Arc::new(LocalStore::new(dir.path()));
        dirs.borrow_mut().push(dir);
        store
    });
}

#[test]
fn a_sweep_killed_anywhere_is_finished_by_the_next_on_s3() {
    let server = S3Server::start();
    let n = std::cell::Cell::new(0);
    crash_at_every_point(&|| {
        n.set(n.get() + 1);
        Arc::new(S3Store::new(server.config(&format!("sweep-{}/", n.get()))).unwrap()) as Store
    });
}
