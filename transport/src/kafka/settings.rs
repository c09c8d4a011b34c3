//! Where the brokers are, how to reach them, and the topic names.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use serde::{Deserialize, Serialize};

use super::KafkaError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Topics {
    pub frames: String,
    pub events: String,
    pub dead_letter: String,
    /// Ingest jobs of stored evidence.
    pub jobs: String,
    /// Alerts raised by the detector workers' rules, for the notifier.
    pub alerts: String,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            frames: "canvass.frames.v1".into(),
            events: "canvass.events.v1".into(),
            dead_letter: "canvass.dead-letter.v1".into(),
            jobs: "canvass.jobs.v1".into(),
            alerts: "canvass.alerts.v1".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port,host:port`.
    pub brokers: String,
    pub topics: Topics,
    /// Consumer group of the detector workers.
    pub group: String,
    /// Consumer group of the ingest workers that take jobs (`canvass ingest --jobs`).
    pub jobs_group: String,
    /// Consumer group of the notifiers (`canvass serve` reading the alerts topic).
    pub notifier_group: String,
    /// Partitions of the frames topic when the workers create it: the most detector workers
    /// that can share the load.
    pub partitions: i32,
    pub replication: i32,
    /// Create missing topics at start-up (off where topics are managed elsewhere).
    pub create_topics: bool,
    /// How long the frames topic keeps frames (images of the footage) when the workers create
    /// it: enough to ride out a detector outage, no longer.
    pub frames_retention_hours: u32,
    /// How long the events and dead-letter topics keep messages when the workers create them;
    /// the lake, not Kafka, is where events are kept.
    pub events_retention_hours: u32,
    /// Any other librdkafka property, as librdkafka names it: `security.protocol = "SSL"`,
    /// `ssl.ca.location`, `sasl.mechanism`, `sasl.username`, `sasl.password`, ...
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            brokers: "localhost:9092".into(),
            topics: Topics::default(),
            group: "canvass-detectors".into(),
            jobs_group: "canvass-ingest-jobs".into(),
            notifier_group: "canvass-notifier".into(),
            partitions: 12,
            replication: 1,
            create_topics: true,
            frames_retention_hours: 24,
            events_retention_hours: 7 * 24,
            properties: BTreeMap::new(),
        }
    }
}

impl KafkaSettings {
    /// The client configuration every canvass client starts from.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

/// Creates the topics that do not exist yet; existing ones are left as they are.
pub async fn ensure_topics(settings: &KafkaSettings) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = settings
        .client_config()
        .create()
        .map_err(|error| KafkaError::Client { role: "admin client", error })?;
    let replication = || TopicReplication::Fixed(settings.replication);
    let t = &settings.topics;
    let retention = |hours: u32| (u64::from(hours) * 3_600_000).to_string();
    let (frames_ms, events_ms) =
        (retention(settings.frames_retention_hours), retention(settings.events_retention_hours));
    let topics = [
        NewTopic::new(&t.frames, settings.partitions, replication()).set("retention.ms", &frames_ms),
        NewTopic::new(&t.events, settings.partitions, replication()).set("retention.ms", &events_ms),
        NewTopic::new(&t.dead_letter, 1, replication()).set("retention.ms", &events_ms),
        // A job's message must outlive the job (it is committed when the job is finished).
        NewTopic::new(&t.jobs, settings.partitions, replication()).set("retention.ms", &events_ms),
        // One partition: alerts are few, and one notifier group delivers them in order.
        NewTopic::new(&t.alerts, 1, replication()).set("retention.ms", &events_ms),
    ];
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(&topics, &options)
        .await
        .map_err(|error| KafkaError::Operation { what: "create topics".into(), error })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaError::Other(format!("cannot create topic {topic}: {code}")));
            }
        }
    }
    Ok(())
}
