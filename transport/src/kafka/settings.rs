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
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            frames: "canvass.frames.v1".into(),
            events: "canvass.events.v1".into(),
            dead_letter: "canvass.dead-letter.v1".into(),
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
    /// Partitions of the frames topic when the workers create it: the most detector workers
    /// that can share the load.
    pub partitions: i32,
    pub replication: i32,
    /// Create missing topics at start-up (off where topics are managed elsewhere).
    pub create_topics: bool,
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
            partitions: 12,
            replication: 1,
            create_topics: true,
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
    let topics = [
        NewTopic::new(&t.frames, settings.partitions, replication()),
        NewTopic::new(&t.events, settings.partitions, replication()),
        NewTopic::new(&t.dead_letter, 1, replication()),
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
