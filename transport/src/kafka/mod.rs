//! Frames and events over Kafka: the distributed mode's transport.
//!
//! - frames topic: key = source id (one source's frames stay in order on one partition), value
//!   = the frame wire encoding, header `canvass-kind: frame`; the end of an input is a message
//!   with `canvass-kind: end-of-input` and an [`EndOfInput`] JSON value, so detectors close that
//!   input's tracks.
//! - events topic: every closed event as JSON, key = source id, for real-time consumers.
//! - jobs topic: ingest jobs of stored evidence for the `canvass ingest --jobs` workers (see
//!   [`jobs`]).
//! - dead-letter topic: messages a worker could not use, unchanged, with the reason and where
//!   they came from in headers.
//!
//! Topic names carry a version (`canvass.frames.v1`): a new wire format gets new topics.

pub mod alerts;
mod consumer;
pub mod jobs;
mod producer;
mod settings;

pub use consumer::{Delivery, FrameConsumer, PartitionOffsets, Rebalance};
pub use producer::{KafkaFrameSink, Producer};
pub use settings::{KafkaSettings, Topics, ensure_topics};

use serde::{Deserialize, Serialize};

/// Header naming what a frames-topic message is.
pub const KIND_HEADER: &str = "canvass-kind";
pub const KIND_FRAME: &str = "frame";
pub const KIND_END_OF_INPUT: &str = "end-of-input";
/// Dead-letter headers: why, and the message's original place.
pub const ERROR_HEADER: &str = "canvass-error";
pub const ORIGIN_HEADER: &str = "canvass-origin";

/// Sent after an input's last frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndOfInput {
    pub source_id: String,
    pub input: String,
}

/// Kafka failures, named by what was being done.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("kafka: cannot create the {role}: {error}")]
    Client { role: &'static str, error: rdkafka::error::KafkaError },
    #[error("kafka: {what}: {error}")]
    Operation { what: String, error: rdkafka::error::KafkaError },
    #[error("kafka: delivery to {topic} failed: {reason}")]
    Delivery { topic: String, reason: String },
    #[error("kafka: {0}")]
    Other(String),
}

#[cfg(test)]
mod tests;
