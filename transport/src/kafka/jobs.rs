//! The jobs topic: which stored evidence to ingest next, for the `canvass ingest --jobs`
//! workers (one consumer group). A message names a job by id (its state is the job record in
//! the store); key = job id, value = [`JobMessage`] JSON. A worker holds a job's message
//! uncommitted while it runs the job and commits it when the job is finished, so a worker
//! killed mid-way leaves the message to the group: another worker takes it and resumes.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Message, OwnedHeaders};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use super::{KafkaError, KafkaSettings, Producer};

pub const JOB_MESSAGE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobMessage {
    pub version: u32,
    pub job: String,
}

/// Puts job ids on the jobs topic.
pub struct JobPublisher {
    producer: Producer,
    topic: String,
}

impl JobPublisher {
    pub fn new(settings: &KafkaSettings) -> Result<Self, KafkaError> {
        Ok(JobPublisher { producer: Producer::for_jobs(settings)?, topic: settings.topics.jobs.clone() })
    }

    /// Queues job `id` and waits until the brokers have it.
    pub fn publish(&self, id: &str) -> Result<(), KafkaError> {
        let payload = serde_json::to_vec(&JobMessage { version: JOB_MESSAGE_VERSION, job: id.into() })
            .expect("job messages serialise");
        self.producer.send(&self.topic, id.as_bytes(), &payload, OwnedHeaders::new())?;
        self.producer.flush()
    }
}

/// One message off the jobs topic: the job it names (or why it names none) and where it sits.
#[derive(Debug)]
pub struct JobDelivery {
    pub partition: i32,
    pub offset: i64,
    pub job: Result<String, String>,
}

/// A jobs-topic consumer in the ingest workers' group.
pub struct JobConsumer {
    consumer: BaseConsumer,
    topic: String,
}

impl JobConsumer {
    pub fn new(settings: &KafkaSettings) -> Result<Self, KafkaError> {
        // Heartbeats go on while a job runs (`keep_alive`): the group sees a live worker.
        let config = super::consumer::group_config(settings, &settings.jobs_group);
        let consumer: BaseConsumer =
            config.create().map_err(|error| KafkaError::Client { role: "jobs consumer", error })?;
        let topic = settings.topics.jobs.clone();
        consumer
            .subscribe(&[&topic])
            .map_err(|error| KafkaError::Operation { what: format!("subscribe to {topic}"), error })?;
        Ok(JobConsumer { consumer, topic })
    }

    /// The next job, or `None` if none came within `timeout`.
    pub fn poll(&self, timeout: Duration) -> Result<Option<JobDelivery>, KafkaError> {
        match self.consumer.poll(timeout) {
            None => Ok(None),
            Some(Err(error)) => Err(KafkaError::Operation { what: "poll the jobs topic".into(), error }),
            Some(Ok(message)) => {
                let job = match message.payload().map(serde_json::from_slice::<JobMessage>) {
                    Some(Ok(m)) if m.version == JOB_MESSAGE_VERSION => Ok(m.job),
                    Some(Ok(m)) => Err(format!("job message version {} (this build reads 1)", m.version)),
                    Some(Err(e)) => Err(format!("not a job message: {e}")),
                    None => Err("an empty job message".into()),
                };
                Ok(Some(JobDelivery { partition: message.partition(), offset: message.offset(), job }))
            }
        }
    }

    /// Stops fetching more jobs while one runs; the group still sees this worker alive as long
    /// as `keep_alive` is called.
    pub fn pause(&self) -> Result<(), KafkaError> {
        let assigned = self.assignment()?;
        self.consumer.pause(&assigned).map_err(|error| KafkaError::Operation { what: "pause".into(), error })
    }

    pub fn resume(&self) -> Result<(), KafkaError> {
        let assigned = self.assignment()?;
        self.consumer
            .resume(&assigned)
            .map_err(|error| KafkaError::Operation { what: "resume".into(), error })
    }

    fn assignment(&self) -> Result<TopicPartitionList, KafkaError> {
        self.consumer
            .assignment()
            .map_err(|error| KafkaError::Operation { what: "read the assignment".into(), error })
    }

    /// Polls without taking messages (the partitions are paused): heartbeats and rebalances.
    pub fn keep_alive(&self, timeout: Duration) {
        if let Some(Ok(message)) = self.consumer.poll(timeout) {
            // Paused partitions deliver nothing; a message here came before the pause took
            // effect and is read again after the resume (its offset is not committed).
            tracing::debug!(
                partition = message.partition(),
                offset = message.offset(),
                "job message deferred"
            );
            let mut tpl = TopicPartitionList::new();
            if tpl
                .add_partition_offset(&self.topic, message.partition(), Offset::Offset(message.offset()))
                .is_ok()
            {
                let _ = self.consumer.seek_partitions(tpl, Duration::from_secs(5));
            }
        }
    }

    /// The job at `delivery` is finished: the group moves past it.
    pub fn commit(&self, delivery: &JobDelivery) -> Result<(), KafkaError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.topic, delivery.partition, Offset::Offset(delivery.offset + 1))
            .map_err(|error| KafkaError::Operation { what: "commit".into(), error })?;
        self.consumer
            .commit(&tpl, CommitMode::Sync)
            .map_err(|error| KafkaError::Operation { what: "commit".into(), error })
    }

    /// Leaves the group at once, so the others take its partitions without waiting.
    pub fn close(self) {
        self.consumer.unsubscribe();
        let _ = self.consumer.poll(Duration::from_millis(100));
    }
}
