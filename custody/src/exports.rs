//! Exports made through the service: one record per package (`exports/v1/<id>.json`) saying
//! where its writing stands, and the finished package's bytes in parts beside it, so any replica
//! of `serve` reports progress and hands the package out. Packages are encrypted at rest like
//! everything in the store, and expire: a package is a disclosure, not an archive.

use std::io::Read;

use canvass_store::secret::{is_id, new_id};
use canvass_store::{ObjectStore, Store, StoreError, keys};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::package::PackageSummary;

pub const EXPORT_VERSION: u32 = 1;

/// Package bytes per stored part.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// A writer rewrites its record at least this often while it runs ...
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(20);
/// ... so a running record not rewritten for this long was left by a process that stopped.
pub const STALE_AFTER_S: i64 = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRecord {
    pub version: u32,
    pub id: String,
    pub case: String,
    pub created_by: String,
    pub purpose: String,
    pub query: Option<String>,
    pub originals: bool,
    pub state: ExportState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// After this the package is gone.
    pub expires_at: DateTime<Utc>,
    pub events: usize,
    /// Units written (thumbnails, clips, originals) of the total.
    pub done: u64,
    pub total: u64,
    #[schema(value_type = Option<Object>)]
    pub summary: Option<PackageSummary>,
    pub error: Option<String>,
    /// Sizes of the stored parts of the package, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<u64>,
}

impl ExportRecord {
    /// A record still `running` that its writer stopped rewriting (the process died) is failed.
    fn failed_if_abandoned(mut self, now: DateTime<Utc>) -> Self {
        if self.state == ExportState::Running && now - self.updated_at > Duration::seconds(STALE_AFTER_S) {
            self.state = ExportState::Failed;
            self.error = Some(format!(
                "the service writing it stopped (last heard of at {}); ask for the export again",
                self.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        self
    }

    pub fn new(
        case: &str,
        created_by: &str,
        purpose: &str,
        query: Option<String>,
        originals: bool,
        events: usize,
    ) -> Self {
        let now = Utc::now();
        ExportRecord {
            version: EXPORT_VERSION,
            id: new_id(),
            case: case.into(),
            created_by: created_by.into(),
            purpose: purpose.into(),
            query,
            originals,
            state: ExportState::Running,
            created_at: now,
            updated_at: now,
            expires_at: now + Duration::hours(24),
            events,
            done: 0,
            total: 0,
            summary: None,
            error: None,
            parts: Vec::new(),
        }
    }
}

pub struct ExportBook {
    store: Store,
}

impl ExportBook {
    pub fn new(store: Store) -> Self {
        ExportBook { store }
    }

    pub fn put(&self, record: &ExportRecord) -> Result<(), StoreError> {
        self.store
            .put(&keys::export(&record.id), &serde_json::to_vec_pretty(record).expect("exports serialise"))
    }

    pub fn get(&self, id: &str) -> Result<Option<ExportRecord>, StoreError> {
        if !is_id(id) {
            return Ok(None);
        }
        // A record is rewritten while its package is written; a store whose rewrites are not
        // atomic (s3s-fs keeps an object's data and its checksum apart) can fail or show half of
        // one to a reader at that moment, so a failed read is tried again.
        for attempt in 1.. {
            let last = attempt == 5;
            match self.store.get(&keys::export(id)) {
                Ok(bytes) => match serde_json::from_slice::<ExportRecord>(&bytes) {
                    Ok(record) => return Ok(Some(record.failed_if_abandoned(Utc::now()))),
                    Err(e) if last => {
                        return Err(StoreError::Corrupt(format!("export {id} is not readable: {e}")));
                    }
                    Err(_) => {}
                },
                Err(StoreError::NotFound(_)) => return Ok(None),
                Err(e) if last => return Err(e),
                Err(e) => tracing::debug!(export = %id, "reading the record again: {e}"),
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        unreachable!("the loop returns")
    }

    /// Every export, newest first; unreadable records are logged and skipped.
    pub fn all(&self) -> Result<Vec<ExportRecord>, StoreError> {
        let mut found = Vec::new();
        for object in self.store.list(keys::EXPORTS)? {
            let Some(id) = object.key.strip_prefix(keys::EXPORTS).and_then(|k| k.strip_suffix(".json"))
            else {
                continue;
            };
            match self.get(id) {
                Ok(Some(record)) => found.push(record),
                Ok(None) => {}
                Err(StoreError::Corrupt(why)) => tracing::error!("{why}"),
                Err(e) => return Err(e),
            }
        }
        found.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Ok(found)
    }

    /// The exports of `case`, newest first.
    pub fn of_case(&self, case: &str) -> Result<Vec<ExportRecord>, StoreError> {
        Ok(self.all()?.into_iter().filter(|r| r.case == case).collect())
    }

    /// Removes the packages (parts and records) past their expiry that are no longer being
    /// written; returns their ids.
    pub fn remove_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let mut removed = Vec::new();
        for record in self.all()? {
            if record.state != ExportState::Running && record.expires_at <= now {
                self.remove(&record)?;
                removed.push(record.id);
            }
        }
        Ok(removed)
    }

    /// Stores the package read from `package` in parts; returns their sizes.
    pub fn store_package(&self, id: &str, package: &mut impl Read) -> Result<Vec<u64>, StoreError> {
        let (mut parts, mut offset) = (Vec::new(), 0u64);
        let mut buffer = vec![0u8; PART_SIZE];
        loop {
            let n = canvass_store::evidence::read_full(package, &mut buffer).map_err(|e| {
                StoreError::Permanent {
                    key: keys::export(id),
                    reason: format!("cannot read the package: {e}"),
                }
            })?;
            if n == 0 {
                return Ok(parts);
            }
            self.store.put(&keys::export_part(id, offset), &buffer[..n])?;
            parts.push(n as u64);
            offset += n as u64;
        }
    }

    /// Part `n` of the package of `record`.
    pub fn package_part(&self, record: &ExportRecord, n: usize) -> Result<Vec<u8>, StoreError> {
        let offset: u64 = record.parts[..n].iter().sum();
        self.store.get(&keys::export_part(&record.id, offset))
    }

    /// Removes the package's parts, then its record.
    fn remove(&self, record: &ExportRecord) -> Result<(), StoreError> {
        for object in self.store.list(&format!("{}{}/", keys::EXPORTS, record.id))? {
            self.store.delete(&object.key)?;
        }
        self.store.delete(&keys::export(&record.id))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_running_record_its_writer_stopped_rewriting_reads_as_failed() {
        let dir = tempfile::tempdir().unwrap();
        let book = ExportBook::new(Arc::new(canvass_store::LocalStore::new(dir.path())));
        let mut alive = ExportRecord::new("C-1", "ana", "court", None, true, 1);
        alive.updated_at = Utc::now() - Duration::seconds(STALE_AFTER_S - 30);
        let mut abandoned = ExportRecord::new("C-1", "ana", "court", None, true, 1);
        abandoned.updated_at = Utc::now() - Duration::seconds(STALE_AFTER_S + 30);
        abandoned.expires_at = Utc::now() - Duration::seconds(1);
        for record in [&alive, &abandoned] {
            book.put(record).unwrap();
        }
        assert_eq!(book.get(&alive.id).unwrap().unwrap().state, ExportState::Running);
        let read = book.get(&abandoned.id).unwrap().unwrap();
        assert_eq!(read.state, ExportState::Failed);
        assert!(read.error.unwrap().contains("stopped"));
        // Past its expiry, the janitor removes it like any ended export.
        assert_eq!(book.remove_expired(Utc::now()).unwrap(), vec![abandoned.id.clone()]);
    }

    #[test]
    fn expired_packages_go_parts_and_all_and_others_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store: Store = Arc::new(canvass_store::LocalStore::new(dir.path()));
        let book = ExportBook::new(store.clone());
        let now = Utc::now();
        let mut records = Vec::new();
        for (state, hours_left) in [
            (ExportState::Done, -1),
            (ExportState::Failed, -1),
            (ExportState::Running, -1),
            (ExportState::Done, 5),
        ] {
            let mut record = ExportRecord::new("C-1", "ana", "court", None, true, 1);
            record.state = state;
            record.expires_at = now + Duration::hours(hours_left);
            record.parts = book.store_package(&record.id, &mut vec![7u8; PART_SIZE + 10].as_slice()).unwrap();
            assert_eq!(record.parts, vec![PART_SIZE as u64, 10]);
            book.put(&record).unwrap();
            records.push(record);
        }
        let mut removed = book.remove_expired(now).unwrap();
        removed.sort();
        let mut expected = vec![records[0].id.clone(), records[1].id.clone()];
        expected.sort();
        assert_eq!(removed, expected);
        for (record, kept) in records.iter().zip([false, false, true, true]) {
            assert_eq!(book.get(&record.id).unwrap().is_some(), kept, "{:?}", record.state);
            let parts = store.list(&format!("{}{}/", keys::EXPORTS, record.id)).unwrap();
            assert_eq!(parts.len(), if kept { 2 } else { 0 });
        }
        assert_eq!(book.package_part(&records[3], 1).unwrap(), vec![7u8; 10]);
    }
}
