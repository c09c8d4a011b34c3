//! The event lake: detection events as time-partitioned Parquet segments, with a small summary
//! per segment so a query opens only the segments that can match, and thumbnails beside them,
//! all behind one object-store trait.
//!
//! Layout (the same on a local folder and on S3):
//!
//! ```text
//! events/v1/date=YYYY-MM-DD/<segment>.parquet                the events that start that day (UTC)
//! events/v1/date=YYYY-MM-DD/<segment>.parquet.summary.json   written last: makes the segment visible
//! thumbs/source=<id>/<event_id>.jpg
//! ```
//!
//! Days, not sources or hours, are the partitions: a city's thousand cameras over a year stay
//! a few segments a day, not millions of tiny files (measured in the README); a segment holds
//! many sources and its summary lists them.

pub mod lake;
pub mod object_store;
pub mod ranged;
pub mod scan;
pub mod segment;
pub mod summary;
#[cfg(feature = "testing")]
pub mod testing;

pub use lake::{EventLake, Pruning, ScanStats};
pub use object_store::local::LocalStore;
pub use object_store::s3::{Encryption, S3Config, S3Store};
pub use object_store::{ObjectMeta, ObjectStore};
pub use scan::{Match, RowView};
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
