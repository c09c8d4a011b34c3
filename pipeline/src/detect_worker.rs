//! The distributed mode's detector worker: takes frames off its partitions of the frames topic,
//! runs the models, writes events to the object store, publishes them on the events topic, and
//! checkpoints each partition with the data (see `checkpoint`).
//!
//! On a rebalance the worker first writes the closed events it holds (they are final), then
//! drops the tracks and pending events of the partitions it loses and writes nothing more for
//! them; the next owner restores them from the last checkpoint and replays the frames after it,
//! so tracks continue across the move and no event is lost or changed (an event written by both
//! is the same event, found once). Writing before letting go matters when every worker stops
//! at once: otherwise closed events would wait in a checkpoint for a worker to start again. A
//! worker killed outright leaves them in its checkpoints for the next owner.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use canvass_alerts::{AlertEngine, TrackPhase};
use canvass_detector::{DetectedEvent, Detector};
use canvass_store::{EventLake, RetryPolicy, Store, retry};
use canvass_transport::kafka::{Delivery, FrameConsumer, KafkaSettings, Producer, Rebalance};
use chrono::Utc;

use crate::StageError;
use crate::checkpoint::{CHECKPOINT_VERSION, Checkpoint, CheckpointLoader};
use crate::event_writer::{EventWriter, SEGMENT_MAX_AGE};
use crate::metrics::{MeteredStore, Metrics};

const POLL: Duration = Duration::from_millis(200);
/// How long shutdown waits for the events topic to acknowledge what was published.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(30);
/// Reading the partitions' ends is a broker round trip per partition: not every checkpoint.
const LAG_INTERVAL: Duration = Duration::from_secs(30);

struct PartitionState {
    next_offset: i64,
    /// Has moved on since its last checkpoint.
    dirty: bool,
}

pub struct DetectWorker {
    detector: Detector,
    /// Closed events by partition, until they are in a segment.
    events: EventWriter<i32>,
    settings: KafkaSettings,
    producer: Producer,
    consumer: FrameConsumer,
    loader: Arc<CheckpointLoader>,
    metrics: Arc<Metrics>,
    /// Store writes are retried this long; then the worker exits without committing anything,
    /// and its partitions move to another worker, which resumes from the last checkpoint.
    retry: RetryPolicy,
    partitions: HashMap<i32, PartitionState>,
    /// Which partition each source's frames arrive on (the key is the source id).
    source_partition: HashMap<String, i32>,
    last_checkpoint: Instant,
    checkpoint_interval: Duration,
    last_lag: Option<Instant>,
    /// Alert rules over the tracks, whose alerts go to the alerts topic.
    alerts: Option<AlertEngine>,
}

impl DetectWorker {
    /// Joins the consumer group; `settings` name the topics (created beforehand if wanted).
    pub fn new(
        detector: Detector,
        store: Store,
        settings: KafkaSettings,
        metrics: Arc<Metrics>,
        checkpoint_interval: Duration,
    ) -> Result<Self, StageError> {
        let store: Store = Arc::new(MeteredStore::new(store, metrics.clone()));
        let loader = CheckpointLoader::new(store.clone(), &settings);
        let consumer = FrameConsumer::new(&settings, loader.clone())?;
        let retry = RetryPolicy::default();
        let on_retry = {
            let metrics = metrics.clone();
            move |_: &canvass_store::StoreError| metrics.store_retry()
        };
        Ok(DetectWorker {
            detector,
            events: EventWriter::new(EventLake::new(store), SEGMENT_MAX_AGE).with_retry(retry, on_retry),
            producer: Producer::for_events(&settings)?,
            consumer,
            loader,
            settings,
            metrics,
            retry,
            partitions: HashMap::new(),
            source_partition: HashMap::new(),
            last_checkpoint: Instant::now(),
            checkpoint_interval,
            last_lag: None,
            alerts: None,
        })
    }

    /// Applies the rules (re-read as they change) to every track as it opens, goes on and
    /// closes; what they raise goes to the alerts topic for the notifier.
    pub fn with_alerts(self, rules: canvass_alerts::LiveRules) -> Self {
        DetectWorker { alerts: Some(AlertEngine::live(rules)), ..self }
    }

    /// A track event through the rules; a failure to publish is counted and logged, and
    /// never stops detection.
    fn raise(&mut self, phase: TrackPhase, detected: &DetectedEvent) {
        let Some(engine) = &mut self.alerts else { return };
        for alert in engine.on_track(phase, &detected.event, &detected.thumbnail, detected.confirmed_at) {
            let json = serde_json::to_vec(&alert).expect("alerts serialise");
            let topic = &self.settings.topics.alerts;
            if let Err(e) =
                self.producer.send(topic, alert.event.source_id.as_bytes(), &json, Default::default())
            {
                tracing::error!(alert = %alert.alert_id, "cannot publish the alert: {e}");
                self.metrics.error("kafka");
            }
        }
    }

    /// Works until `stop` is set, then writes what is pending, checkpoints and leaves the group.
    pub fn run(mut self, stop: &AtomicBool) -> Result<(), StageError> {
        tracing::info!(group = %self.settings.group, topic = %self.settings.topics.frames, "detector worker started");
        while !stop.load(Ordering::Relaxed) {
            let delivery = self.consumer.poll(POLL);
            // Rebalances that happened inside that poll come first: a message of a newly
            // assigned partition must meet its restored tracks.
            for rebalance in self.consumer.take_rebalances() {
                self.rebalanced(rebalance)?;
            }
            if let Some(failure) = self.loader.failure() {
                return Err(StageError::Checkpoint(failure));
            }
            match delivery {
                Ok(Some(delivery)) => self.handle(delivery)?,
                Ok(None) => {}
                Err(e) => {
                    // The client reconnects by itself (a broker restart); say so and go on.
                    tracing::warn!("{e}");
                    self.metrics.error("kafka");
                }
            }
            self.checkpoint(false)?;
            self.metrics.alive();
        }
        tracing::info!("stopping: writing what is pending and checkpointing");
        self.checkpoint(true)?;
        // The events are in the object store already; the events topic is the real-time copy.
        if let Err(e) = self.producer.flush_within(SHUTDOWN_FLUSH) {
            tracing::error!("events topic: not every event was acknowledged before shutdown: {e}");
            self.metrics.error("kafka");
        }
        self.consumer.close();
        Ok(())
    }

    fn rebalanced(&mut self, rebalance: Rebalance) -> Result<(), StageError> {
        match rebalance {
            Rebalance::Revoked(partitions) => {
                let lost: HashSet<i32> = partitions.into_iter().collect();
                if !self.events.is_empty() {
                    let (written_for, written) = self.events.write_segment()?;
                    self.metrics.events_written.inc_by(written as u64);
                    // Kept partitions' checkpoints must stop listing what is now in a segment.
                    for partition in written_for {
                        if let Some(state) = self.partitions.get_mut(&partition) {
                            state.dirty = true;
                        }
                    }
                }
                let sources = &self.source_partition;
                self.detector.forget_streams(|source| sources.get(source).is_some_and(|p| lost.contains(p)));
                self.events.forget(|p| lost.contains(&p));
                self.source_partition.retain(|_, p| !lost.contains(p));
                self.partitions.retain(|p, _| !lost.contains(p));
            }
            Rebalance::Assigned(partitions) => {
                for partition in partitions {
                    let mut state = PartitionState { next_offset: 0, dirty: false };
                    if let Some(checkpoint) = self.loader.take(partition) {
                        state.next_offset = checkpoint.next_offset;
                        for stream in &checkpoint.streams {
                            self.source_partition.insert(stream.source_id.clone(), partition);
                        }
                        let skipped = self.detector.restore_streams(checkpoint.streams);
                        if skipped > 0 {
                            tracing::warn!(
                                partition,
                                skipped,
                                "tracks saved under other models start afresh"
                            );
                        }
                        for event in checkpoint.pending {
                            self.source_partition.insert(event.source_id.clone(), partition);
                            self.events.restore(partition, event);
                        }
                        tracing::info!(partition, next_offset = state.next_offset, "resumed from checkpoint");
                    }
                    self.partitions.insert(partition, state);
                }
            }
        }
        Ok(())
    }

    fn handle(&mut self, delivery: Delivery) -> Result<(), StageError> {
        let (partition, offset) = delivery.position();
        let Some(state) = self.partitions.get(&partition) else {
            tracing::warn!(partition, offset, "message from a partition this worker does not own: skipped");
            return Ok(());
        };
        if offset < state.next_offset {
            return Ok(()); // already in the checkpoint
        }
        if state.next_offset > 0 && offset > state.next_offset {
            // Retention or compaction removed messages before they were read, or the broker
            // skipped them: say so, since their frames never become events.
            tracing::error!(
                partition,
                from = state.next_offset,
                to = offset - 1,
                "frames-topic offsets skipped"
            );
            self.metrics.error("offset_gap");
        }
        let origin = format!("{}/{partition}@{offset}", self.settings.topics.frames);
        match delivery {
            Delivery::Frame { frame, .. } => {
                self.metrics.frames_consumed.inc();
                self.source_partition.insert(frame.header.source_id.clone(), partition);
                let key = frame.header.source_id.as_bytes();
                match self.detector.process_batch(std::slice::from_ref(&frame)) {
                    Ok(outcome) => {
                        for (model, took) in
                            self.detector.models().iter().zip(self.detector.inference_times())
                        {
                            self.metrics
                                .inference_seconds
                                .with_label_values(&[&model.reference.name])
                                .observe(took.as_secs_f64());
                        }
                        let still = outcome.inferred.iter().filter(|(_, moved)| !moved).count();
                        self.metrics.frames_still.inc_by(still as u64);
                        for error in outcome.bad_frames {
                            self.dead_letter(Some(key), &frame.encode(), &error.to_string(), &origin)?;
                        }
                        for notice in &outcome.notices {
                            self.raise(notice.phase, &notice.detected);
                        }
                        self.closed(partition, outcome.events)?;
                    }
                    Err(e) => {
                        let reason = format!("inference failed: {e}");
                        self.dead_letter(Some(key), &frame.encode(), &reason, &origin)?;
                    }
                }
            }
            Delivery::EndOfInput { end, .. } => {
                let events = self.detector.finish_input(&end.source_id, &end.input);
                self.closed(partition, events)?;
            }
            Delivery::Malformed { key, payload, reason, .. } => {
                self.dead_letter(key.as_deref(), &payload, &reason, &origin)?;
            }
        }
        let state = self.partitions.get_mut(&partition).expect("checked above");
        state.next_offset = offset + 1;
        state.dirty = true;
        Ok(())
    }

    fn dead_letter(
        &self,
        key: Option<&[u8]>,
        payload: &[u8],
        reason: &str,
        origin: &str,
    ) -> Result<(), StageError> {
        tracing::error!(%origin, "to the dead-letter topic: {reason}");
        self.metrics.error("dead_letter");
        self.metrics.dead_letters.inc();
        self.producer.dead_letter(&self.settings.topics.dead_letter, key, payload, reason, origin)?;
        Ok(())
    }

    /// Events of tracks that closed: published at once for real-time consumers (at least
    /// once: a replay publishes the same event id again), stored with the next segment.
    fn closed(&mut self, partition: i32, events: Vec<DetectedEvent>) -> Result<(), StageError> {
        for detected in events {
            let for_alert =
                self.alerts.is_some().then(|| (detected.thumbnail.clone(), detected.confirmed_at));
            let event = self.events.add(partition, detected).clone();
            if let Some((thumbnail, confirmed_at)) = for_alert {
                self.raise(
                    TrackPhase::Closed,
                    &DetectedEvent { event: event.clone(), thumbnail, confirmed_at },
                );
            }
            let json = serde_json::to_vec(&event)?;
            self.producer.send(
                &self.settings.topics.events,
                event.source_id.as_bytes(),
                &json,
                Default::default(),
            )?;
        }
        Ok(())
    }

    /// Makes the work so far durable when a checkpoint is due: thumbnails, then a segment if
    /// one is due, then each partition's checkpoint, then the offsets in the group.
    fn checkpoint(&mut self, stopping: bool) -> Result<(), StageError> {
        let segment_due = stopping || self.events.segment_due();
        let checkpoint_due = stopping || self.last_checkpoint.elapsed() >= self.checkpoint_interval;
        if !(segment_due || checkpoint_due) {
            return Ok(());
        }
        self.events.write_thumbnails()?;
        // Partitions whose checkpoint lists events that are about to be in a segment.
        let mut emptied = HashSet::new();
        if segment_due && !self.events.is_empty() {
            let (tags, written) = self.events.write_segment()?;
            self.metrics.events_written.inc_by(written as u64);
            emptied = tags;
        }
        let mut offsets = Vec::new();
        for (&partition, state) in &mut self.partitions {
            offsets.push((partition, state.next_offset));
            if !(state.dirty || emptied.contains(&partition)) {
                continue;
            }
            let sources = &self.source_partition;
            let checkpoint = Checkpoint {
                version: CHECKPOINT_VERSION,
                topic: self.settings.topics.frames.clone(),
                partition,
                next_offset: state.next_offset,
                written_at: Utc::now(),
                streams: self.detector.save_streams(|source| sources.get(source) == Some(&partition)),
                pending: self.events.pending(partition),
            };
            let bytes = serde_json::to_vec(&checkpoint)?;
            let key = crate::checkpoint::key(&self.settings, partition);
            let store = self.events.lake().store();
            let metrics = &self.metrics;
            retry(&self.retry, "write a checkpoint", || store.put(&key, &bytes), |_| metrics.store_retry())?;
            state.dirty = false;
        }
        self.last_checkpoint = Instant::now();
        if let Err(e) = self.consumer.commit(&offsets) {
            tracing::warn!("{e}");
        }
        if !stopping && self.last_lag.is_none_or(|t| t.elapsed() >= LAG_INTERVAL) {
            match self.consumer.lag(&offsets) {
                Ok(lag) => self.metrics.consumer_lag.set(lag),
                Err(e) => tracing::debug!("{e}"),
            }
            self.last_lag = Some(Instant::now());
        }
        Ok(())
    }
}
