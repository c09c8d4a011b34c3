//! Where the lake's objects live. One small trait, one module per backend: `local` (a folder)
//! and `s3` (a bucket), with the same keys and layout; `encrypted` seals objects for any of them.

pub mod encrypted;
pub mod local;
#[cfg(feature = "s3")]
pub mod s3;

use crate::StoreError;

/// An object's key and size, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
}

/// Keys are `/`-separated relative paths (`events/v1/source=cam/...`).
pub trait ObjectStore: Send + Sync {
    /// Writes the whole object atomically: a reader sees the old object or the new one, never a
    /// part.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// Writes the object only if no object has the key (S3: `If-None-Match: *`); false if one
    /// has. Append-only logs use it so two writers never replace each other's entries.
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<bool, StoreError>;
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    /// Bytes `range` of an object (a ranged GET on S3): readers fetch a segment's footer and the
    /// columns they need, not the whole object. A range past the end is an error.
    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>, StoreError>;
    /// Every object whose key starts with `prefix`, sorted by key.
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError>;
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// The next level of "folders" under `prefix` (which ends with `/`), like S3's common
    /// prefixes: `list_dirs("events/v1/")` gives `["events/v1/source=a/", ...]`, sorted.
    fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
}

/// A shared store is a store: services hand one backend to the lake, the audit log and the
/// registry.
impl<T: ObjectStore + ?Sized> ObjectStore for std::sync::Arc<T> {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        (**self).put(key, bytes)
    }
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        (**self).put_new(key, bytes)
    }
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        (**self).get(key)
    }
    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>, StoreError> {
        (**self).get_range(key, range)
    }
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        (**self).list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        (**self).delete(key)
    }
    fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        (**self).list_dirs(prefix)
    }
}
