//! The alerts topic (`canvass.alerts.v1`, key = source id, value = `alert.v2` JSON): what the
//! distributed detector workers' rules raise, read by the notifier in `canvass serve`
//! (webhooks, the page's stream). A notifier joining for the first time starts at the end:
//! alerts are about now, and a week of old ones must not go out as webhooks.

use std::time::Duration;

use canvass_schemas::{ALERT_SCHEMA_VERSION, Alert};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;

use super::{KafkaError, KafkaSettings};

pub struct AlertConsumer {
    consumer: BaseConsumer,
}

impl AlertConsumer {
    pub fn new(settings: &KafkaSettings) -> Result<Self, KafkaError> {
        let mut config = super::consumer::group_config(settings, &settings.notifier_group);
        // At least once: a notifier that dies mid-way repeats a few (receivers drop repeats by
        // alert id), and never replays the topic from its start.
        for (key, value) in [
            ("enable.auto.commit", "true"),
            ("enable.auto.offset.store", "true"),
            ("auto.offset.reset", "latest"),
        ] {
            if !settings.properties.contains_key(key) {
                config.set(key, value);
            }
        }
        let consumer: BaseConsumer =
            config.create().map_err(|error| KafkaError::Client { role: "alerts consumer", error })?;
        let topic = &settings.topics.alerts;
        consumer
            .subscribe(&[topic])
            .map_err(|error| KafkaError::Operation { what: format!("subscribe to {topic}"), error })?;
        Ok(AlertConsumer { consumer })
    }

    /// The next alert (or why the message is not one), or `None` if none came within `timeout`.
    pub fn poll(&self, timeout: Duration) -> Result<Option<Result<Alert, String>>, KafkaError> {
        match self.consumer.poll(timeout) {
            None => Ok(None),
            Some(Err(error)) => Err(KafkaError::Operation { what: "poll the alerts topic".into(), error }),
            Some(Ok(message)) => {
                let at = format!("{}/{}@{}", message.topic(), message.partition(), message.offset());
                Ok(Some(match message.payload().map(serde_json::from_slice::<Alert>) {
                    Some(Ok(alert)) if alert.schema_version == ALERT_SCHEMA_VERSION => Ok(alert),
                    Some(Ok(alert)) => Err(format!(
                        "{at}: alert version {} (this build reads {ALERT_SCHEMA_VERSION})",
                        alert.schema_version
                    )),
                    Some(Err(e)) => Err(format!("{at}: not an alert: {e}")),
                    None => Err(format!("{at}: an empty message")),
                }))
            }
        }
    }
}
