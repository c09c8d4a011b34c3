//! The stage runtime shared by `canvass run` (embedded) and the distributed workers
//! (`canvass ingest`, `canvass detect`):
//!
//! - [`inputs`]: one input through ingest, behind its camera owner's policy, and the ingest
//!   log that batch reprocessing reads.
//! - [`embedded`]: the in-process detector stage: frames off a bounded channel, events out.
//! - [`alerting`]: alert rules applied to each track as it opens, goes on and closes.
//! - [`live`]: configured live cameras, each run for as long as its owner allows, with health.
//! - [`event_writer`]: where closed events go in both modes: thumbnails, then Parquet
//!   segments closed by size or age, every write retried while the failure can clear up.
//! - [`jobs`]: ingest jobs of stored evidence, read from the store, resumable by another worker;
//!   [`job_runner`]: the embedded mode's queue of them inside `canvass serve`.
//! - [`metrics`]: what the workers count for `/metrics` and `/healthz`.
//! - [`detect_worker`] and [`checkpoint`] (feature `kafka`): the distributed detector, which
//!   checkpoints each frames-topic partition with the data so another worker resumes it.

pub mod alerting;
#[cfg(feature = "kafka")]
pub mod checkpoint;
#[cfg(feature = "kafka")]
pub mod detect_worker;
pub mod embedded;
pub mod event_writer;
pub mod inputs;
pub mod job_runner;
pub mod jobs;
pub mod live;
pub mod metrics;
pub mod scenes;

use std::path::PathBuf;

pub use event_writer::{EventWriter, SEGMENT_EVENTS, SEGMENT_MAX_AGE};
pub use metrics::{MeteredSink, MeteredStore, Metrics};

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Store(#[from] canvass_store::StoreError),
    #[error(transparent)]
    Transport(#[from] canvass_transport::TransportError),
    #[cfg(feature = "kafka")]
    #[error(transparent)]
    Kafka(#[from] canvass_transport::kafka::KafkaError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot encode an event: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Checkpoint(String),
    #[error("{0}")]
    IngestLog(String),
    /// A frame that could not be written out (`--dump-frames`).
    #[error("{0}")]
    Frame(String),
    #[error("the detector stage panicked")]
    Panicked,
}

impl StageError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StageError {
        let path = path.into();
        move |source| StageError::Io { path, source }
    }
}
