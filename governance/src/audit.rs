//! The audit log: who searched, viewed, exported, changed or deleted what, when, for which case
//! and purpose. Entries are objects under `audit/v1/`, one per entry, each carrying the hash of
//! the one before, so `verify` finds any entry that was changed or removed. Entries are created
//! with create-if-absent writes: two writers never replace each other's entries, and nothing in
//! canvass rewrites or deletes one.

use std::sync::Mutex;

use canvass_store::{ObjectStore, StoreError, keys};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash the first entry chains to.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What someone did, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Who: a user name, or `janitor` for retention.
    pub actor: String,
    pub role: String,
    /// What: `search`, `view_event`, `view_thumbnail`, `export`, `registry_change`, `hold`,
    /// `retention_delete`, ...
    pub action: String,
    pub case: Option<String>,
    pub purpose: Option<String>,
    /// The query, ids or change, as given.
    pub detail: serde_json::Value,
    pub result_count: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub action: Action,
    pub prev_hash: String,
    /// SHA-256 of this entry with `hash` empty.
    pub hash: String,
}

impl Entry {
    fn computed_hash(&self) -> String {
        let unhashed = Entry { hash: String::new(), ..self.clone() };
        let bytes = serde_json::to_vec(&unhashed).expect("entries serialise");
        Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit entry {key} is not readable: {reason}")]
    Unreadable { key: String, reason: String },
    #[error("another writer kept taking the next audit entry; gave up after {0} tries")]
    Contended(usize),
}

/// Appends to the log in one object store. One per process; entries from several processes
/// interleave safely.
pub struct AuditLog<S> {
    store: S,
    /// The last entry this process knows of: (seq, hash).
    head: Mutex<Option<(u64, String)>>,
}

impl<S: ObjectStore> AuditLog<S> {
    pub fn new(store: S) -> Self {
        AuditLog { store, head: Mutex::new(None) }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Records `action`; returns the entry written.
    pub fn record(&self, action: Action) -> Result<Entry, AuditError> {
        let mut head = self.head.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        const TRIES: usize = 100;
        for _ in 0..TRIES {
            let (seq, prev_hash) = match head.as_ref() {
                Some((seq, hash)) => (seq + 1, hash.clone()),
                None => match self.last_entry()? {
                    Some(last) => (last.seq + 1, last.hash),
                    None => (0, GENESIS.to_string()),
                },
            };
            let mut entry =
                Entry { seq, at: Utc::now(), action: action.clone(), prev_hash, hash: String::new() };
            entry.hash = entry.computed_hash();
            let bytes = serde_json::to_vec(&entry).expect("entries serialise");
            if self.store.put_new(&keys::audit_entry(seq), &bytes)? {
                *head = Some((seq, entry.hash.clone()));
                return Ok(entry);
            }
            // Another process wrote `seq` first: chain to the newest entry and try again.
            *head = None;
        }
        Err(AuditError::Contended(TRIES))
    }

    fn last_entry(&self) -> Result<Option<Entry>, AuditError> {
        match self.store.list(keys::AUDIT)?.last() {
            Some(object) => read(&self.store, &object.key).map(Some),
            None => Ok(None),
        }
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> Result<Vec<Entry>, AuditError> {
        self.store.list(keys::AUDIT)?.iter().map(|o| read(&self.store, &o.key)).collect()
    }
}

fn read<S: ObjectStore>(store: &S, key: &str) -> Result<Entry, AuditError> {
    let bytes = store.get(key)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| AuditError::Unreadable { key: key.to_string(), reason: e.to_string() })
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every entry is as written and none is missing before the last; `head` is the last
    /// entry's hash (note it: removing entries from the end can only be noticed against it).
    Intact {
        entries: u64,
        head: String,
    },
    Broken {
        problems: Vec<String>,
    },
}

/// Checks the whole chain: each entry's hash, its link to the one before, and that sequence
/// numbers run without a gap from 0.
pub fn verify<S: ObjectStore>(store: &S) -> Result<Verdict, StoreError> {
    read_and_verify(store).map(|(_, verdict)| verdict)
}

/// `verify`, also returning the readable entries (oldest first), for callers that show the log
/// and its state without reading every entry twice.
pub fn read_and_verify<S: ObjectStore>(store: &S) -> Result<(Vec<Entry>, Verdict), StoreError> {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut expected_seq = 0u64;
    let mut prev_hash = GENESIS.to_string();
    let objects = store.list(keys::AUDIT)?;
    for object in &objects {
        let entry = match read(store, &object.key) {
            Ok(entry) => entry,
            Err(AuditError::Store(e)) => return Err(e),
            Err(e) => {
                problems.push(format!("{e}: modified"));
                continue;
            }
        };
        if object.key != keys::audit_entry(entry.seq) {
            problems.push(format!("{}: holds entry {}, so it was modified or moved", object.key, entry.seq));
        }
        if entry.seq > expected_seq {
            let missing = if entry.seq - expected_seq == 1 {
                format!("entry {expected_seq} is missing")
            } else {
                format!("entries {expected_seq}-{} are missing", entry.seq - 1)
            };
            problems.push(format!("{missing} (deleted before entry {})", entry.seq));
        }
        if entry.hash != entry.computed_hash() {
            problems.push(format!("entry {} was modified: its hash does not match its content", entry.seq));
        } else if entry.prev_hash != prev_hash && entry.seq == expected_seq {
            problems.push(format!(
                "entry {} does not follow entry {}: the chain was rewritten",
                entry.seq,
                expected_seq.saturating_sub(1)
            ));
        }
        expected_seq = entry.seq + 1;
        prev_hash = entry.hash.clone();
        entries.push(entry);
    }
    let verdict = if problems.is_empty() {
        Verdict::Intact { entries: expected_seq, head: prev_hash }
    } else {
        Verdict::Broken { problems }
    };
    Ok((entries, verdict))
}

#[cfg(test)]
mod tests;
