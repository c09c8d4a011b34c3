//! A detector worker's checkpoint of one frames-topic partition, kept in the object store
//! beside the events (`canvass_store::keys::detect_checkpoint`).
//!
//! It holds the next offset to read, the open tracks of the partition's sources, and the
//! closed events not yet in a segment. It is written only after everything it refers to is
//! durable (thumbnails; segments for events it no longer holds), so the worker that takes a
//! partition over resumes exactly there: the frames after it are replayed through the same
//! tracks and make the same events with the same ids. Replayed events that were already in a
//! segment are dropped at read time by event id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use canvass_detector::StreamState;
use canvass_schemas::DetectionEvent;
use canvass_store::{Store, StoreError, keys};
use canvass_transport::kafka::{KafkaSettings, PartitionOffsets};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const CHECKPOINT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub version: u32,
    pub topic: String,
    pub partition: i32,
    /// The first offset not reflected in this checkpoint.
    pub next_offset: i64,
    pub written_at: DateTime<Utc>,
    pub streams: Vec<StreamState>,
    /// Closed events (thumbnails already written) waiting for a segment.
    pub pending: Vec<DetectionEvent>,
}

pub fn key(settings: &KafkaSettings, partition: i32) -> String {
    keys::detect_checkpoint(&settings.group, &settings.topics.frames, partition)
}

/// Reads checkpoints while a rebalance assigns partitions (inside the consumer's poll) and
/// keeps them for the worker, which restores the tracks before it sees any message.
pub struct CheckpointLoader {
    store: Store,
    settings: KafkaSettings,
    loaded: Mutex<HashMap<i32, Checkpoint>>,
    failure: Mutex<Option<String>>,
}

impl CheckpointLoader {
    pub fn new(store: Store, settings: &KafkaSettings) -> Arc<Self> {
        Arc::new(CheckpointLoader {
            store,
            settings: settings.clone(),
            loaded: Mutex::new(HashMap::new()),
            failure: Mutex::new(None),
        })
    }

    fn load(&self, partition: i32) -> Result<Option<Checkpoint>, String> {
        let key = key(&self.settings, partition);
        let bytes = match self.store.get(&key) {
            Ok(bytes) => bytes,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(format!("cannot read checkpoint {key}: {e}")),
        };
        let checkpoint: Checkpoint =
            serde_json::from_slice(&bytes).map_err(|e| format!("checkpoint {key} is unreadable: {e}"))?;
        if checkpoint.version != CHECKPOINT_VERSION || checkpoint.partition != partition {
            return Err(format!(
                "checkpoint {key} is version {} of partition {}",
                checkpoint.version, checkpoint.partition
            ));
        }
        Ok(Some(checkpoint))
    }

    pub fn take(&self, partition: i32) -> Option<Checkpoint> {
        self.loaded.lock().expect("poisoned").remove(&partition)
    }

    /// A checkpoint that could not be read: the worker must stop rather than start that
    /// partition from scratch.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().expect("poisoned").take()
    }
}

impl PartitionOffsets for CheckpointLoader {
    fn start_offset(&self, partition: i32) -> Option<i64> {
        match self.load(partition) {
            Ok(Some(checkpoint)) => {
                let next = checkpoint.next_offset;
                self.loaded.lock().expect("poisoned").insert(partition, checkpoint);
                Some(next)
            }
            Ok(None) => None,
            Err(e) => {
                self.failure.lock().expect("poisoned").get_or_insert(e);
                None
            }
        }
    }
}
