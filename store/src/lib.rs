//! The event lake: detection events as time-partitioned Parquet segments, with a small summary
//! per segment so a query opens only the segments that can match, and thumbnails beside them,
//! all behind one object-store trait.
//!
//! The layout (the same on a local folder and on S3) is listed in [`keys`], the one module
//! that names object keys. Days, not sources or hours, are the event partitions: a city's
//! thousand cameras over a year stay a few segments a day, not millions of tiny files
//! (measured in the README); a segment holds many sources and its summary lists them.
//!
//! Backends: the local folder always; S3 with the `s3` feature (on by default), so a stage
//! that only needs the trait does not compile the AWS SDK.

pub mod evidence;
pub mod filters;
pub mod jobs;
pub mod keys;
pub mod lake;
pub mod object_store;
pub mod ranged;
pub mod retry;
pub mod scan;
pub mod secret;
pub mod segment;
pub mod summary;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

pub use filters::{MIN_COLOUR_SCORE, MotionFilter, TimeOfDay};
pub use lake::{EventLake, Pruning, ScanStats};
pub use object_store::encrypted::EncryptedStore;
pub use object_store::local::LocalStore;
#[cfg(feature = "s3")]
pub use object_store::s3::{Encryption, S3Config, S3Store};
pub use object_store::{ObjectMeta, ObjectStore};
pub use retry::{RetryPolicy, retry};
pub use scan::{Match, RowView};
pub use secret::Secret256;
pub use summary::SegmentSummary;

/// The store a process shares between its lake, audit log, registry and workers.
pub type Store = Arc<dyn ObjectStore>;

/// What went wrong, by what can be done about it: retry a transient failure, never a
/// permanent one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    /// A conditional write found the object already there (or changed).
    PreconditionFailed,
    /// May succeed if tried again: the store is unreachable, throttling, or failed inside.
    Transient,
    /// Will fail again: a refused request, a bad key, unreadable data.
    Permanent,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object not found: {0}")]
    NotFound(String),
    #[error("{0}: the object exists already or changed (precondition failed)")]
    PreconditionFailed(String),
    #[error("{key}: {reason}")]
    Transient { key: String, reason: String },
    #[error("{key}: {reason}")]
    Permanent { key: String, reason: String },
    #[error("invalid object key '{0}'")]
    InvalidKey(String),
    #[error("cannot encode segment: {0}")]
    Encode(String),
    #[error("corrupt segment: {0}")]
    Corrupt(String),
    /// The store's encryption key is missing, wrong, or the store cannot be encrypted.
    #[error("encrypted store: {0}")]
    Key(String),
}

impl StoreError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::NotFound(_) => ErrorKind::NotFound,
            StoreError::PreconditionFailed(_) => ErrorKind::PreconditionFailed,
            StoreError::Transient { .. } => ErrorKind::Transient,
            StoreError::Permanent { .. }
            | StoreError::InvalidKey(_)
            | StoreError::Encode(_)
            | StoreError::Corrupt(_)
            | StoreError::Key(_) => ErrorKind::Permanent,
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind() == ErrorKind::Transient
    }
}
