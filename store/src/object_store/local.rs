//! The local-folder backend: one file per object under a root folder, written to a temporary
//! name and renamed into place (atomic on POSIX file systems). Files are made 0600 and folders
//! 0700: only the service's own user reads the data folder.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{ObjectMeta, ObjectStore};
use crate::StoreError;

/// Temporary files carry this marker and are never listed.
const TMP_MARKER: &str = ".tmp-";

pub struct LocalStore {
    root: PathBuf,
}

/// Numbers temporary files; process-wide, since several stores may share a folder (the lake,
/// the audit log and the registry of one service) and must never pick the same temporary name.
static TEMPORARY_FILES: AtomicU64 = AtomicU64::new(0);

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let relative = Path::new(key);
        let safe = relative.components().all(|c| matches!(c, Component::Normal(_)));
        if key.is_empty() || !safe {
            return Err(StoreError::InvalidKey(key.to_string()));
        }
        Ok(self.root.join(relative))
    }
}

fn io(key: &str) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| failure(key, e)
}

/// A full disk or a busy file may clear up; a permission or a bad path will not.
fn failure(key: &str, e: std::io::Error) -> StoreError {
    use std::io::ErrorKind::*;
    let (key, reason) = (key.to_string(), e.to_string());
    match e.kind() {
        NotFound => StoreError::NotFound(key),
        AlreadyExists => StoreError::PreconditionFailed(key),
        Interrupted | TimedOut | WouldBlock | StorageFull | ResourceBusy | OutOfMemory => {
            StoreError::Transient { key, reason }
        }
        _ => StoreError::Permanent { key, reason },
    }
}

impl LocalStore {
    /// Writes `bytes` to a temporary file beside `key`'s path; returns both paths.
    fn write_temporary(&self, key: &str, bytes: &[u8]) -> Result<(PathBuf, PathBuf), StoreError> {
        let path = self.path(key)?;
        let parent = path.parent().expect("a key has a file name");
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(io(key))?;
        let n = TEMPORARY_FILES.fetch_add(1, Ordering::Relaxed);
        let file_name = path.file_name().expect("a key has a file name").to_string_lossy();
        let tmp = parent.join(format!(".{file_name}{TMP_MARKER}{}-{n}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(key))?;
        file.write_all(bytes).map_err(io(key))?;
        Ok((tmp, path))
    }
}

impl ObjectStore for LocalStore {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let (tmp, path) = self.write_temporary(key, bytes)?;
        std::fs::rename(&tmp, &path).map_err(io(key))
    }

    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        let (tmp, path) = self.write_temporary(key, bytes)?;
        // A hard link fails if the name exists: create-if-absent, atomically.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io(key)(e)),
        }
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        std::fs::read(self.path(key)?).map_err(io(key))
    }

    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>, StoreError> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(self.path(key)?).map_err(io(key))?;
        let size = file.metadata().map_err(io(key))?.len();
        if range.end > size {
            return Err(StoreError::Permanent {
                key: key.to_string(),
                reason: format!("bytes {}..{} asked of a {size}-byte object", range.start, range.end),
            });
        }
        file.seek(SeekFrom::Start(range.start)).map_err(io(key))?;
        let mut bytes = vec![0; range.end.saturating_sub(range.start) as usize];
        file.read_exact(&mut bytes).map_err(io(key))?;
        Ok(bytes)
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        // Walk from the deepest folder the prefix names, then filter on the full prefix.
        let folder = match prefix.rfind('/') {
            Some(i) => self.root.join(&prefix[..i]),
            None => self.root.clone(),
        };
        let mut found = Vec::new();
        let mut pending = vec![folder];
        while let Some(dir) = pending.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(failure(prefix, e)),
            };
            for entry in entries {
                let entry = entry.map_err(io(prefix))?;
                let path = entry.path();
                let meta = match entry.metadata() {
                    Ok(meta) => meta,
                    // A temporary file renamed into place while we listed: its final name is
                    // (or will be) listed on its own.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(failure(prefix, e)),
                };
                if meta.is_dir() {
                    pending.push(path);
                    continue;
                }
                let Ok(relative) = path.strip_prefix(&self.root) else { continue };
                let key = relative.to_string_lossy().replace('\\', "/");
                if key.starts_with(prefix) && !key.contains(TMP_MARKER) {
                    found.push(ObjectMeta { key, size: meta.len() });
                }
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        std::fs::remove_file(self.path(key)?).map_err(io(key))
    }

    fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let dir =
            if prefix.is_empty() { self.root.clone() } else { self.path(prefix.trim_end_matches('/'))? };
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(failure(prefix, e)),
        };
        let mut dirs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(prefix))?;
            if entry.file_type().map_err(io(prefix))?.is_dir() {
                dirs.push(format!("{prefix}{}/", entry.file_name().to_string_lossy()));
            }
        }
        dirs.sort();
        Ok(dirs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        store.put("events/v1/source=a/x.parquet", b"one").unwrap();
        store.put("events/v1/source=b/y.parquet", b"two").unwrap();
        store.put("thumbs/z.jpg", b"3").unwrap();
        assert_eq!(store.get("events/v1/source=a/x.parquet").unwrap(), b"one");
        let keys: Vec<String> = store.list("events/v1/").unwrap().into_iter().map(|m| m.key).collect();
        assert_eq!(keys, vec!["events/v1/source=a/x.parquet", "events/v1/source=b/y.parquet"]);
        assert_eq!(store.list("events/v1/source=b").unwrap().len(), 1);
        store.delete("thumbs/z.jpg").unwrap();
        assert!(matches!(store.get("thumbs/z.jpg"), Err(StoreError::NotFound(_))));
        assert!(store.list("nothing/").unwrap().is_empty());
        assert_eq!(
            store.list_dirs("events/v1/").unwrap(),
            vec!["events/v1/source=a/", "events/v1/source=b/"]
        );
        assert!(store.list_dirs("nothing/").unwrap().is_empty());
    }

    #[test]
    fn keys_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        for key in ["../x", "/etc/passwd", "a/../../b", ""] {
            assert!(matches!(store.put(key, b""), Err(StoreError::InvalidKey(_))), "{key}");
        }
    }

    #[test]
    fn put_new_never_replaces_an_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        assert!(store.put_new("log/1", b"first").unwrap());
        assert!(!store.put_new("log/1", b"second").unwrap());
        assert_eq!(store.get("log/1").unwrap(), b"first");
        assert_eq!(store.list("").unwrap().len(), 1, "no temporary files left behind");
    }

    #[test]
    fn files_and_folders_are_private_to_the_service_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("data"));
        store.put("events/v1/date=2026-01-01/a.parquet", b"x").unwrap();
        assert!(store.put_new("audit/v1/1.json", b"y").unwrap());
        let mode = |p: &str| std::fs::metadata(dir.path().join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("data/events/v1/date=2026-01-01/a.parquet"), 0o600);
        assert_eq!(mode("data/audit/v1/1.json"), 0o600);
        for folder in ["data", "data/events", "data/events/v1/date=2026-01-01", "data/audit/v1"] {
            assert_eq!(mode(folder), 0o700, "{folder}");
        }
    }

    #[test]
    fn overwriting_replaces_the_whole_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        store.put("k", b"first version").unwrap();
        store.put("k", b"2nd").unwrap();
        assert_eq!(store.get("k").unwrap(), b"2nd");
        assert_eq!(store.list("").unwrap().len(), 1, "no temporary files left behind");
    }
}
