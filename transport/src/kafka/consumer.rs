//! The detector workers' end of the frames topic: a consumer group in which each partition
//! starts where the worker's own checkpoint says, not where Kafka's committed offset says.
//! The checkpoint is written with the events (see the detect worker), so it is never ahead of
//! or behind the data; Kafka's committed offsets are kept up to date for lag monitoring only.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use canvass_schemas::FrameMessage;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use super::{EndOfInput, KIND_END_OF_INPUT, KIND_FRAME, KIND_HEADER, KafkaError, KafkaSettings};

/// Where a worker resumes a partition it was given: the next offset after its last
/// checkpoint, or `None` for the start of the partition.
pub trait PartitionOffsets: Send + Sync + 'static {
    fn start_offset(&self, partition: i32) -> Option<i64>;
}

/// A change in the partitions this worker owns, in the order they happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Rebalance {
    Assigned(Vec<i32>),
    /// Taken away: the worker drops what it holds for them and writes nothing more for them.
    Revoked(Vec<i32>),
}

/// One message off the frames topic.
#[derive(Debug)]
pub enum Delivery {
    Frame {
        partition: i32,
        offset: i64,
        frame: FrameMessage,
    },
    EndOfInput {
        partition: i32,
        offset: i64,
        end: EndOfInput,
    },
    /// Not a message this version understands; the raw parts go to the dead-letter topic.
    Malformed {
        partition: i32,
        offset: i64,
        key: Option<Vec<u8>>,
        payload: Vec<u8>,
        reason: String,
    },
}

impl Delivery {
    pub fn position(&self) -> (i32, i64) {
        match self {
            Delivery::Frame { partition, offset, .. }
            | Delivery::EndOfInput { partition, offset, .. }
            | Delivery::Malformed { partition, offset, .. } => (*partition, *offset),
        }
    }
}

struct GroupContext {
    topic: String,
    offsets: Arc<dyn PartitionOffsets>,
    rebalances: Mutex<Vec<Rebalance>>,
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    // Eager protocol: every partition is revoked before any is assigned, so two workers never
    // hold one partition at a time.
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let partitions: Vec<i32> =
            tpl.elements().iter().filter(|e| e.topic() == self.topic).map(|e| e.partition()).collect();
        let event = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                for &p in &partitions {
                    let start = self.offsets.start_offset(p).map_or(Offset::Beginning, Offset::Offset);
                    if let Err(e) = tpl.set_partition_offset(&self.topic, p, start) {
                        tracing::error!(partition = p, "cannot set the start offset: {e}");
                    }
                }
                if let Err(e) = consumer.assign(tpl) {
                    tracing::error!("cannot take the assigned partitions: {e}");
                }
                Rebalance::Assigned(partitions)
            }
            // Revoked, or a failed rebalance: either way this worker holds nothing now.
            other => {
                if other != RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS {
                    tracing::error!("rebalance failed: {other:?}");
                }
                if let Err(e) = consumer.unassign() {
                    tracing::error!("cannot give the partitions back: {e}");
                }
                Rebalance::Revoked(partitions)
            }
        };
        tracing::info!(?event, "rebalance");
        self.rebalances.lock().expect("poisoned").push(event);
    }
}

/// A consumer in `group`: offsets committed by the worker when its work is safe (after a
/// checkpoint, after a job), a dead member noticed within 10 s; the user's properties win.
pub(super) fn group_config(settings: &KafkaSettings, group: &str) -> rdkafka::ClientConfig {
    let mut config = settings.client_config();
    config.set("group.id", group);
    for (key, value) in [
        ("enable.auto.commit", "false"),
        ("enable.auto.offset.store", "false"),
        ("auto.offset.reset", "earliest"),
        ("session.timeout.ms", "10000"),
        ("heartbeat.interval.ms", "1000"),
        // A worker held up by the object store (retrying a write) keeps its partitions this long.
        ("max.poll.interval.ms", "300000"),
    ] {
        if !settings.properties.contains_key(key) {
            config.set(key, value);
        }
    }
    config
}

pub struct FrameConsumer {
    consumer: BaseConsumer<GroupContext>,
    topic: String,
}

impl FrameConsumer {
    pub fn new(settings: &KafkaSettings, offsets: Arc<dyn PartitionOffsets>) -> Result<Self, KafkaError> {
        let config = group_config(settings, &settings.group);
        let topic = settings.topics.frames.clone();
        let context = GroupContext { topic: topic.clone(), offsets, rebalances: Mutex::new(Vec::new()) };
        let consumer: BaseConsumer<GroupContext> = config
            .create_with_context(context)
            .map_err(|error| KafkaError::Client { role: "consumer", error })?;
        consumer
            .subscribe(&[&topic])
            .map_err(|error| KafkaError::Operation { what: format!("subscribe to {topic}"), error })?;
        Ok(FrameConsumer { consumer, topic })
    }

    /// The next message, or `None` if none came within `timeout`. Rebalances that happened
    /// meanwhile are waiting in [`FrameConsumer::take_rebalances`]; take them first.
    pub fn poll(&self, timeout: Duration) -> Result<Option<Delivery>, KafkaError> {
        match self.consumer.poll(timeout) {
            None => Ok(None),
            Some(Err(error)) => Err(KafkaError::Operation { what: "poll".into(), error }),
            Some(Ok(message)) => Ok(Some(read(&message))),
        }
    }

    pub fn take_rebalances(&self) -> Vec<Rebalance> {
        std::mem::take(&mut *self.consumer.context().rebalances.lock().expect("poisoned"))
    }

    /// Records the next offset to read per partition in the group (for lag monitoring and
    /// tools; the worker resumes from its own checkpoint).
    pub fn commit(&self, next_offsets: &[(i32, i64)]) -> Result<(), KafkaError> {
        let mut tpl = TopicPartitionList::new();
        for &(partition, offset) in next_offsets {
            tpl.add_partition_offset(&self.topic, partition, Offset::Offset(offset))
                .map_err(|error| KafkaError::Operation { what: "commit".into(), error })?;
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        self.consumer
            .commit(&tpl, CommitMode::Async)
            .map_err(|error| KafkaError::Operation { what: "commit".into(), error })
    }

    /// Messages behind the end of each assigned partition, given the next offsets to read.
    pub fn lag(&self, next_offsets: &[(i32, i64)]) -> Result<i64, KafkaError> {
        let mut total = 0;
        for &(partition, next) in next_offsets {
            let (_, high) = self
                .consumer
                .fetch_watermarks(&self.topic, partition, Duration::from_secs(5))
                .map_err(|error| KafkaError::Operation { what: "read watermarks".into(), error })?;
            total += (high - next).max(0);
        }
        Ok(total)
    }

    /// Leaves the group at once, so the others take the partitions over without waiting for
    /// the session to time out.
    pub fn close(self) {
        self.consumer.unsubscribe();
        let _ = self.consumer.poll(Duration::from_millis(100));
    }
}

fn read(message: &BorrowedMessage<'_>) -> Delivery {
    let (partition, offset) = (message.partition(), message.offset());
    let kind = message.headers().and_then(|headers| {
        headers
            .iter()
            .find(|h| h.key == KIND_HEADER)
            .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
    });
    let payload = message.payload().unwrap_or_default();
    let malformed = |reason: String| Delivery::Malformed {
        partition,
        offset,
        key: message.key().map(<[u8]>::to_vec),
        payload: payload.to_vec(),
        reason,
    };
    match kind.as_deref() {
        Some(KIND_FRAME) => match FrameMessage::decode(payload) {
            Ok(frame) => Delivery::Frame { partition, offset, frame },
            Err(e) => malformed(format!("malformed frame message: {e}")),
        },
        Some(KIND_END_OF_INPUT) => match serde_json::from_slice(payload) {
            Ok(end) => Delivery::EndOfInput { partition, offset, end },
            Err(e) => malformed(format!("malformed end-of-input message: {e}")),
        },
        Some(other) => malformed(format!("unknown message kind '{other}' in header {KIND_HEADER}")),
        None => malformed(format!("no {KIND_HEADER} header: not a canvass message")),
    }
}
