//! `canvass detect`: the distributed mode's detector worker. Takes frames off its partitions of
//! the frames topic, runs the models, writes events to the object store, publishes them on the
//! events topic, and checkpoints each partition with the data (see `checkpoint.rs`).
//!
//! On a rebalance the worker drops the tracks and pending events of the partitions it loses
//! and writes nothing more for them; the next owner restores them from the last checkpoint and
//! replays the frames after it, so tracks continue across the move and no event is lost or
//! changed. A worker killed outright is the same case.

use std::collections::{HashMap, HashSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use canvass_detector::{DetectedEvent, Detector};
use canvass_schemas::DetectionEvent;
use canvass_serve::Store;
use canvass_store::EventLake;
use canvass_transport::kafka::{Delivery, FrameConsumer, KafkaSettings, Producer, Rebalance};
use chrono::Utc;

use crate::checkpoint::{CHECKPOINT_VERSION, Checkpoint, CheckpointLoader};
use crate::config::FileConfig;
use crate::detector_args::DetectorArgs;
use crate::event_output::SEGMENT_MAX_AGE;
use crate::metrics::{MeteredStore, Metrics};
use crate::worker_args::WorkerArgs;

/// Events held before a segment is written.
const SEGMENT_EVENTS: usize = 10_000;
/// How long the worker keeps retrying the object store before it gives up and exits (its
/// partitions then move to another worker, which resumes from the last checkpoint).
const STORE_RETRY_LIMIT: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(200);
/// How long shutdown waits for the events topic to acknowledge what was published.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(30);
/// Reading the partitions' ends is a broker round trip per partition: not every checkpoint.
const LAG_INTERVAL: Duration = Duration::from_secs(30);

#[derive(clap::Args)]
pub struct DetectWorkerArgs {
    #[command(flatten)]
    detector: DetectorArgs,
    #[command(flatten)]
    worker: WorkerArgs,
    /// Seconds between checkpoints: the most work a crash makes another worker redo. [default: 5]
    #[arg(long, env = "CANVASS_CHECKPOINT_INTERVAL")]
    checkpoint_interval: Option<f64>,
}

struct PartitionState {
    next_offset: i64,
    /// Has moved on since its last checkpoint.
    dirty: bool,
}

struct PendingEvent {
    partition: i32,
    event: DetectionEvent,
    /// The JPEG until it is written, then empty.
    thumbnail: Option<Vec<u8>>,
}

struct Worker {
    detector: Detector,
    lake: EventLake<Store>,
    settings: KafkaSettings,
    producer: Producer,
    metrics: Arc<Metrics>,
    partitions: HashMap<i32, PartitionState>,
    /// Which partition each source's frames arrive on (the key is the source id).
    source_partition: HashMap<String, i32>,
    pending: Vec<PendingEvent>,
    oldest_pending: Option<Instant>,
    last_checkpoint: Instant,
    checkpoint_interval: Duration,
    last_lag: Option<Instant>,
}

pub fn run(args: DetectWorkerArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("cannot install the signal handler")?;
    let detector = Detector::new(args.detector.config(file)).context("cannot load the detection models")?;
    let metrics = Metrics::new();
    if let Some(listen) = args.worker.metrics_listen(file) {
        crate::metrics::serve(metrics.clone(), listen)?;
    }
    let store: Store = Arc::new(MeteredStore::new(args.worker.store(file)?, metrics.clone()));
    let interval_s = args.checkpoint_interval.or(file.worker.checkpoint_interval_s).unwrap_or(5.0);
    if !(interval_s.is_finite() && interval_s > 0.0) {
        bail!("the checkpoint interval must be a positive number of seconds, got {interval_s}");
    }
    let settings = args.worker.kafka_with_topics(file)?;
    let loader = CheckpointLoader::new(store.clone(), &settings);
    let consumer = FrameConsumer::new(&settings, loader.clone())?;
    let mut worker = Worker {
        detector,
        lake: EventLake::new(store),
        producer: Producer::for_events(&settings)?,
        settings,
        metrics: metrics.clone(),
        partitions: HashMap::new(),
        source_partition: HashMap::new(),
        pending: Vec::new(),
        oldest_pending: None,
        last_checkpoint: Instant::now(),
        checkpoint_interval: Duration::from_secs_f64(interval_s),
        last_lag: None,
    };
    tracing::info!(group = %worker.settings.group, topic = %worker.settings.topics.frames, "detector worker started");
    while !stop.load(Ordering::Relaxed) {
        let delivery = consumer.poll(POLL);
        // Rebalances that happened inside that poll come first: a message of a newly
        // assigned partition must meet its restored tracks.
        for rebalance in consumer.take_rebalances() {
            worker.rebalanced(rebalance, &loader);
        }
        if let Some(failure) = loader.failure() {
            bail!("{failure}");
        }
        match delivery {
            Ok(Some(delivery)) => worker.handle(delivery)?,
            Ok(None) => {}
            Err(e) => {
                // The client reconnects by itself (a broker restart); say so and go on.
                tracing::warn!("{e}");
                metrics.error("kafka");
            }
        }
        worker.checkpoint(&consumer, false)?;
        metrics.alive();
    }
    tracing::info!("stopping: writing what is pending and checkpointing");
    worker.checkpoint(&consumer, true)?;
    // The events are in the object store already; the events topic is the real-time copy.
    if let Err(e) = worker.producer.flush_within(SHUTDOWN_FLUSH) {
        tracing::error!("events topic: not every event was acknowledged before shutdown: {e}");
        metrics.error("kafka");
    }
    consumer.close();
    Ok(ExitCode::SUCCESS)
}

impl Worker {
    fn rebalanced(&mut self, rebalance: Rebalance, loader: &CheckpointLoader) {
        match rebalance {
            Rebalance::Revoked(partitions) => {
                let lost: HashSet<i32> = partitions.into_iter().collect();
                let sources = &self.source_partition;
                self.detector.forget_streams(|source| sources.get(source).is_some_and(|p| lost.contains(p)));
                self.pending.retain(|e| !lost.contains(&e.partition));
                self.source_partition.retain(|_, p| !lost.contains(p));
                self.partitions.retain(|p, _| !lost.contains(p));
            }
            Rebalance::Assigned(partitions) => {
                for partition in partitions {
                    let mut state = PartitionState { next_offset: 0, dirty: false };
                    if let Some(checkpoint) = loader.take(partition) {
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
                            self.pending.push(PendingEvent { partition, event, thumbnail: None });
                        }
                        if !self.pending.is_empty() {
                            self.oldest_pending.get_or_insert_with(Instant::now);
                        }
                        tracing::info!(partition, next_offset = state.next_offset, "resumed from checkpoint");
                    }
                    self.partitions.insert(partition, state);
                }
            }
        }
    }

    fn handle(&mut self, delivery: Delivery) -> anyhow::Result<()> {
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
                        for error in outcome.bad_frames {
                            self.dead_letter(
                                Some(frame.header.source_id.as_bytes()),
                                &frame.encode(),
                                &error.to_string(),
                                &origin,
                            )?;
                        }
                        self.closed(partition, outcome.events)?;
                    }
                    Err(e) => {
                        let reason = format!("inference failed: {e}");
                        self.dead_letter(
                            Some(frame.header.source_id.as_bytes()),
                            &frame.encode(),
                            &reason,
                            &origin,
                        )?;
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
    ) -> anyhow::Result<()> {
        tracing::error!(%origin, "to the dead-letter topic: {reason}");
        self.metrics.error("dead_letter");
        self.metrics.dead_letters.inc();
        self.producer.dead_letter(&self.settings.topics.dead_letter, key, payload, reason, origin)?;
        Ok(())
    }

    /// Events of tracks that closed: published at once for real-time consumers (at least
    /// once: a replay publishes the same event id again), stored with the next segment.
    fn closed(&mut self, partition: i32, events: Vec<DetectedEvent>) -> anyhow::Result<()> {
        for detected in events {
            let json = serde_json::to_vec(&detected.event)?;
            self.producer.send(
                &self.settings.topics.events,
                detected.event.source_id.as_bytes(),
                &json,
                Default::default(),
            )?;
            self.pending.push(PendingEvent {
                partition,
                event: detected.event,
                thumbnail: Some(detected.thumbnail),
            });
            self.oldest_pending.get_or_insert_with(Instant::now);
        }
        Ok(())
    }

    /// Makes the work so far durable when a checkpoint is due: thumbnails, then a segment if
    /// one is due, then each partition's checkpoint, then the offsets in the group.
    fn checkpoint(&mut self, consumer: &FrameConsumer, stopping: bool) -> anyhow::Result<()> {
        let segment_due = stopping
            || self.pending.len() >= SEGMENT_EVENTS
            || self.oldest_pending.is_some_and(|t| t.elapsed() >= SEGMENT_MAX_AGE);
        let checkpoint_due = stopping || self.last_checkpoint.elapsed() >= self.checkpoint_interval;
        if !(segment_due || checkpoint_due) {
            return Ok(());
        }
        for pending in &mut self.pending {
            if let Some(jpeg) = &pending.thumbnail {
                let (lake, key) = (&self.lake, &pending.event.thumbnail_key);
                retry(&self.metrics, "write a thumbnail", || lake.put_thumbnail(key, jpeg))?;
                pending.thumbnail = None;
            }
        }
        // Partitions whose checkpoint lists events that are about to be in a segment.
        let mut emptied = HashSet::new();
        if segment_due && !self.pending.is_empty() {
            emptied.extend(self.pending.iter().map(|p| p.partition));
            let events: Vec<DetectionEvent> = self.pending.iter().map(|p| p.event.clone()).collect();
            retry(&self.metrics, "write a segment", || self.lake.write(&events))?;
            self.metrics.events_written.inc_by(events.len() as u64);
            self.pending.clear();
            self.oldest_pending = None;
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
                pending: self
                    .pending
                    .iter()
                    .filter(|p| p.partition == partition)
                    .map(|p| p.event.clone())
                    .collect(),
            };
            let bytes = serde_json::to_vec(&checkpoint)?;
            let key = crate::checkpoint::key(&self.settings, partition);
            retry(&self.metrics, "write a checkpoint", || self.lake.store().put(&key, &bytes))?;
            state.dirty = false;
        }
        self.last_checkpoint = Instant::now();
        if let Err(e) = consumer.commit(&offsets) {
            tracing::warn!("{e}");
        }
        if !stopping && self.last_lag.is_none_or(|t| t.elapsed() >= LAG_INTERVAL) {
            match consumer.lag(&offsets) {
                Ok(lag) => self.metrics.consumer_lag.set(lag),
                Err(e) => tracing::debug!("{e}"),
            }
            self.last_lag = Some(Instant::now());
        }
        Ok(())
    }
}

/// Retries an object-store write with backoff (an outage, throttling) up to
/// `STORE_RETRY_LIMIT`; nothing is committed meanwhile, so giving up loses nothing.
fn retry<T>(
    metrics: &Metrics,
    what: &str,
    mut attempt: impl FnMut() -> Result<T, canvass_store::StoreError>,
) -> anyhow::Result<T> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        match attempt() {
            Ok(value) => return Ok(value),
            Err(e) if started.elapsed() < STORE_RETRY_LIMIT => {
                metrics.error("store");
                tracing::warn!(retry_in_s = delay.as_secs_f64(), "cannot {what}: {e}");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(10));
                metrics.alive();
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot {what} for {} s, giving up: {e}",
                    STORE_RETRY_LIMIT.as_secs()
                ));
            }
        }
    }
}
