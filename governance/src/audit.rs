//! The audit log: who searched, viewed, exported, changed or deleted what, when, for which case
//! and purpose. Entries are objects under `audit/v1/`, one per entry, each carrying the hash of
//! the one before, so `verify` finds any entry that was changed or removed. Entries are created
//! with create-if-absent writes: two writers never replace each other's entries, and nothing in
//! canvass rewrites or deletes one.
//!
//! A hash chain alone can be recomputed by whoever can write the store, so each entry also
//! carries an HMAC-SHA256 of its hash under the audit key, which lives outside the store
//! (`AuditKey`), and a head (last sequence number and hash, also authenticated) is kept apart
//! from the entries: `verify` finds entries removed from the end, reordered, or a chain rebuilt
//! without the key.

use std::path::Path;
use std::sync::Mutex;

use canvass_store::{ObjectStore, Secret256, StoreError, keys};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::access::same;

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
    /// The actor's agency: its supervisors read the entry. `None`: admins only (system work,
    /// owners, admins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
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
    /// SHA-256 of this entry with `hash` and `mac` empty.
    pub hash: String,
    /// HMAC-SHA256 of `hash` under the audit key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac: String,
}

impl Entry {
    /// Whether `hash` is the SHA-256 of the entry's content: anyone can check this; the MAC
    /// needs the audit key.
    pub fn hash_holds(&self) -> bool {
        self.hash == self.computed_hash()
    }

    fn computed_hash(&self) -> String {
        let unhashed = Entry { hash: String::new(), mac: String::new(), ..self.clone() };
        let bytes = serde_json::to_vec(&unhashed).expect("entries serialise");
        Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The key that authenticates entries and the head. Keep it out of the store (a file readable
/// only by canvass, a secret, a KMS): whoever holds it can rewrite the log undetected.
#[derive(Clone, Debug)]
pub struct AuditKey(Secret256);

impl AuditKey {
    /// A key from 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, AuditError> {
        Secret256::from_hex(text).map(AuditKey).map_err(|e| AuditError::Key(e.to_string()))
    }

    /// A new random key.
    pub fn generate() -> Result<Self, AuditError> {
        Secret256::generate().map(AuditKey).map_err(|e| AuditError::Key(e.to_string()))
    }

    /// The key in file `path` (64 hex digits), made on first use (mode 0600).
    pub fn load_or_create(path: &Path) -> Result<Self, AuditError> {
        Secret256::load_or_create(path, "audit key").map(AuditKey).map_err(|e| AuditError::Key(e.to_string()))
    }

    /// HMAC-SHA256 of `message`, hex.
    fn mac(&self, message: &[u8]) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.0.bytes());
        canvass_store::secret::hex(ring::hmac::sign(&key, message).as_ref())
    }

    fn entry_mac(&self, entry: &Entry) -> String {
        self.mac(format!("entry\n{}\n{}", entry.seq, entry.hash).as_bytes())
    }

    fn head_mac(&self, seq: u64, hash: &str) -> String {
        self.mac(format!("head\n{seq}\n{hash}").as_bytes())
    }
}

/// The newest entry as its writer saw it, authenticated; kept apart from the entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    seq: u64,
    hash: String,
    mac: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit entry {key} is not readable: {reason}")]
    Unreadable { key: String, reason: String },
    #[error("another writer kept taking the next audit entry; gave up after {0} tries")]
    Contended(usize),
    #[error("audit key: {0}")]
    Key(String),
}

/// Appends to the log in one object store. One per process; entries from several processes
/// interleave safely.
pub struct AuditLog<S> {
    store: S,
    key: AuditKey,
    /// The last entry this process knows of: (seq, hash).
    head: Mutex<Option<(u64, String)>>,
}

impl<S: ObjectStore> AuditLog<S> {
    pub fn new(store: S, key: AuditKey) -> Self {
        AuditLog { store, key, head: Mutex::new(None) }
    }

    pub fn key(&self) -> &AuditKey {
        &self.key
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
                    None => {
                        self.begin()?;
                        (0, GENESIS.to_string())
                    }
                },
            };
            let mut entry = Entry {
                seq,
                at: Utc::now(),
                action: action.clone(),
                prev_hash,
                hash: String::new(),
                mac: String::new(),
            };
            entry.hash = entry.computed_hash();
            entry.mac = self.key.entry_mac(&entry);
            let bytes = serde_json::to_vec(&entry).expect("entries serialise");
            if self.store.put_new(&keys::audit_entry(seq), &bytes)? {
                *head = Some((seq, entry.hash.clone()));
                self.write_head(seq, &entry.hash)?;
                return Ok(entry);
            }
            // Another process wrote `seq` first: chain to the newest entry and try again.
            *head = None;
        }
        Err(AuditError::Contended(TRIES))
    }

    /// Starts a new log with a head that records "begun, nothing yet" before the first entry,
    /// so a writer stopped between the first entry and its head leaves a log `verify` accepts,
    /// while a head deleted later still shows.
    fn begin(&self) -> Result<(), AuditError> {
        if read_head(&self.store)?.is_none() {
            let head = Head { seq: 0, hash: GENESIS.into(), mac: self.key.head_mac(0, GENESIS) };
            self.store.put(keys::AUDIT_HEAD, &serde_json::to_vec(&head).expect("heads serialise"))?;
        }
        Ok(())
    }

    /// Moves the head forward to entry `seq` (never back: a slower writer does not undo a
    /// faster one's head).
    fn write_head(&self, seq: u64, hash: &str) -> Result<(), AuditError> {
        if let Some(current) = read_head(&self.store)?
            && current.hash != GENESIS
            && current.seq >= seq
        {
            return Ok(());
        }
        let head = Head { seq, hash: hash.to_string(), mac: self.key.head_mac(seq, hash) };
        self.store.put(keys::AUDIT_HEAD, &serde_json::to_vec(&head).expect("heads serialise"))?;
        Ok(())
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

    /// The newest `n` entries, oldest first.
    pub fn recent(&self, n: usize) -> Result<Vec<Entry>, AuditError> {
        let objects = self.store.list(keys::AUDIT)?;
        objects[objects.len().saturating_sub(n)..].iter().map(|o| read(&self.store, &o.key)).collect()
    }
}

fn read_head<S: ObjectStore>(store: &S) -> Result<Option<Head>, AuditError> {
    match store.get(keys::AUDIT_HEAD) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AuditError::Unreadable { key: keys::AUDIT_HEAD.to_string(), reason: e.to_string() }),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
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

/// Checks the whole chain: each entry's hash and MAC, its link to the one before, that sequence
/// numbers run without a gap from 0, and that the authenticated head is among the entries.
pub fn verify<S: ObjectStore>(store: &S, key: &AuditKey) -> Result<Verdict, StoreError> {
    read_and_verify(store, key).map(|(_, verdict)| verdict)
}

/// `verify`, also returning the readable entries (oldest first), for callers that show the log
/// and its state without reading every entry twice.
pub fn read_and_verify<S: ObjectStore>(
    store: &S,
    key: &AuditKey,
) -> Result<(Vec<Entry>, Verdict), StoreError> {
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
        } else if !same(&entry.mac, &key.entry_mac(&entry)) {
            problems.push(format!(
                "entry {} is not authenticated by the audit key: rewritten, or written without the key",
                entry.seq
            ));
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
    match read_head(store) {
        Err(AuditError::Store(e)) => return Err(e),
        Err(e) => problems.push(format!("{e}: modified")),
        Ok(None) if !entries.is_empty() => {
            problems.push("the audit head is missing: entries may have been removed from the end".into())
        }
        Ok(None) => {}
        Ok(Some(head)) => {
            if !same(&head.mac, &key.head_mac(head.seq, &head.hash)) {
                problems
                    .push("the audit head is not authenticated by the audit key: it was rewritten".into());
            } else if head.hash != GENESIS {
                // (A genesis head: the log was begun; its writer may have stopped before the
                // head reached its first entry.)
                match entries.iter().find(|e| e.seq == head.seq) {
                    Some(entry) if entry.hash == head.hash => {}
                    Some(_) => problems.push(format!(
                        "entry {} is not the entry the head recorded: the log was rewritten",
                        head.seq
                    )),
                    None => problems.push(format!(
                        "the head records entry {} but the log ends at {}: entries were removed from the end",
                        head.seq,
                        expected_seq as i64 - 1
                    )),
                }
            }
        }
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
