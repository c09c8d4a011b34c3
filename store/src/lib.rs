//! The event lake: detection events as time-partitioned Parquet segments, with a small summary
//! per segment so a query opens only the segments that can match, and thumbnails beside them,
//! all behind one object-store trait.
//!
//! Layout (the same on a local folder and on S3):
//!
//! ```text
//! events/v1/source=<id>/date=YYYY-MM-DD/hour=HH/<segment>.parquet        the events
//! events/v1/source=<id>/date=YYYY-MM-DD/hour=HH/<segment>.summary.json   written last: makes the segment visible
//! thumbs/source=<id>/<event_id>.jpg
//! ```

pub mod lake;
pub mod object_store;
pub mod segment;
pub mod summary;

pub use lake::{EventLake, Pruning, ScanStats, WrittenEvent};
pub use object_store::local::LocalStore;
pub use object_store::{ObjectMeta, ObjectStore};
pub use summary::SegmentSummary;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object not found: {0}")]
    NotFound(String),
    #[error("invalid object key '{0}'")]
    InvalidKey(String),
    #[error("{key}: {reason}")]
    Io { key: String, reason: String },
    #[error("cannot encode segment: {0}")]
    Encode(String),
    #[error("corrupt segment: {0}")]
    Corrupt(String),
}
