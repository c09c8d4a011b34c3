//! One idempotent producer per process, for frames, events and dead letters.

use std::sync::Mutex;
use std::time::Duration;

use canvass_schemas::FrameMessage;
use rdkafka::ClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer as _, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;

use super::{
    ERROR_HEADER, EndOfInput, KIND_END_OF_INPUT, KIND_FRAME, KIND_HEADER, KafkaError, KafkaSettings,
    ORIGIN_HEADER,
};
use crate::{FrameSink, TransportError};

/// Longest a flush waits for the brokers to acknowledge what was sent.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(300);

/// Remembers the first delivery that failed: the producer reports failures on its own thread.
#[derive(Default)]
struct DeliveryReport {
    failed: Mutex<Option<KafkaError>>,
}

impl ClientContext for DeliveryReport {}

impl ProducerContext for DeliveryReport {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, message)) = result {
            use rdkafka::Message;
            let failure =
                KafkaError::Delivery { topic: message.topic().to_string(), reason: error.to_string() };
            tracing::error!("{failure}");
            self.failed.lock().expect("poisoned").get_or_insert(failure);
        }
    }
}

#[derive(Clone)]
pub struct Producer {
    inner: ThreadedProducer<DeliveryReport>,
}

/// Every producer: acks from all in-sync replicas, lz4, and a bounded local queue (`send` waits
/// when it is full); idempotent (no duplicates from retries, order kept per partition) unless
/// said otherwise.
impl Producer {
    /// The producer for the frames topic: one frame per record batch. Frames are tens of KB
    /// of JPEG, so batching gains little, and a detector that resumes at an offset inside a
    /// batch got nothing from tansu 0.6 until the next batch (measured: a resumed worker lost
    /// the rest of a 44-frame batch); with one record per batch every offset starts one.
    pub fn for_frames(settings: &KafkaSettings) -> Result<Producer, KafkaError> {
        Producer::with_defaults(settings, &[("batch.num.messages", "1")])
    }

    /// The producer for the events and dead-letter topics. Not idempotent: their readers
    /// deduplicate on the event id anyway (a replay publishes an event again), and after a
    /// tansu restart an idempotent producer's flush waited out its whole retry window.
    pub fn for_events(settings: &KafkaSettings) -> Result<Producer, KafkaError> {
        Producer::with_defaults(settings, &[("enable.idempotence", "false")])
    }

    /// The producer for the jobs topic: idempotent, every job id acknowledged before the
    /// upload that made it is answered.
    pub fn for_jobs(settings: &KafkaSettings) -> Result<Producer, KafkaError> {
        Producer::with_defaults(settings, &[])
    }

    fn with_defaults(settings: &KafkaSettings, extra: &[(&str, &str)]) -> Result<Producer, KafkaError> {
        let mut config = settings.client_config();
        // The user's properties (in `config` already) win, then `extra`, then these.
        for (key, value) in extra.iter().chain(&[
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("compression.type", "lz4"),
            ("linger.ms", "5"),
            // Frames are tens of KB, but a 4K camera at high JPEG quality can make a few MB.
            ("message.max.bytes", "16777216"),
            ("queue.buffering.max.kbytes", "65536"),
            ("queue.buffering.max.messages", "10000"),
            // Retried for this long (a broker restart) before a delivery counts as failed.
            ("message.timeout.ms", "300000"),
        ]) {
            if config.get(key).is_none() {
                config.set(*key, *value);
            }
        }
        let inner = config
            .create_with_context(DeliveryReport::default())
            .map_err(|error| KafkaError::Client { role: "producer", error })?;
        Ok(Producer { inner })
    }

    /// Queues one message, waiting while the local queue is full (back-pressure).
    pub fn send(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<(), KafkaError> {
        self.check()?;
        let mut record = BaseRecord::to(topic).key(key).payload(payload).headers(headers);
        loop {
            match self.inner.send(record) {
                Ok(()) => return Ok(()),
                Err((rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(5));
                    self.check()?;
                }
                Err((error, _)) => {
                    return Err(KafkaError::Operation { what: format!("send to {topic}"), error });
                }
            }
        }
    }

    /// Puts a message a worker could not use on the dead-letter topic, as it was, with why
    /// and where it came from (`topic/partition@offset`).
    pub fn dead_letter(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        payload: &[u8],
        reason: &str,
        origin: &str,
    ) -> Result<(), KafkaError> {
        let headers = OwnedHeaders::new()
            .insert(Header { key: ERROR_HEADER, value: Some(reason) })
            .insert(Header { key: ORIGIN_HEADER, value: Some(origin) });
        self.send(topic, key.unwrap_or_default(), payload, headers)
    }

    /// Waits until every message sent so far is acknowledged, or says which failed.
    pub fn flush(&self) -> Result<(), KafkaError> {
        self.flush_within(FLUSH_TIMEOUT)
    }

    /// `flush`, giving up after `timeout`; the error says how many messages were still unacknowledged.
    pub fn flush_within(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.inner.flush(timeout).map_err(|error| KafkaError::Operation {
            what: format!("flush ({} messages unacknowledged)", self.inner.in_flight_count()),
            error,
        })?;
        self.check()
    }

    fn check(&self) -> Result<(), KafkaError> {
        match self.inner.context().failed.lock().expect("poisoned").take() {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }
}

pub(super) fn kind(kind: &str) -> OwnedHeaders {
    OwnedHeaders::new().insert(Header { key: KIND_HEADER, value: Some(kind) })
}

/// Ingest's end of the frames topic.
#[derive(Clone)]
pub struct KafkaFrameSink {
    producer: Producer,
    topic: String,
}

impl KafkaFrameSink {
    pub fn new(producer: Producer, settings: &KafkaSettings) -> Self {
        KafkaFrameSink { producer, topic: settings.topics.frames.clone() }
    }
}

fn closed(e: KafkaError) -> TransportError {
    TransportError::Kafka(e.to_string())
}

impl FrameSink for KafkaFrameSink {
    fn send(&mut self, frame: FrameMessage) -> Result<(), TransportError> {
        let key = &frame.header.source_id;
        self.producer.send(&self.topic, key.as_bytes(), &frame.encode(), kind(KIND_FRAME)).map_err(closed)
    }

    fn end_input(&mut self, source_id: &str, input: &str) -> Result<(), TransportError> {
        let end = EndOfInput { source_id: source_id.into(), input: input.into() };
        let payload = serde_json::to_vec(&end).expect("plain struct");
        self.producer
            .send(&self.topic, source_id.as_bytes(), &payload, kind(KIND_END_OF_INPUT))
            .map_err(closed)
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        self.producer.flush().map_err(closed)
    }
}
