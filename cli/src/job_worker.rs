//! `canvass ingest --jobs`: ingest jobs of stored evidence off the jobs topic, one at a time.
//!
//! A job's message stays uncommitted while its job runs, so if this worker dies the group hands
//! the message to another. That worker finds the job's record still running: it waits while the
//! record is fresh (the running worker checkpoints every couple of seconds: a rebalance may have
//! moved the message while its job still runs here) and takes the job over, from its last
//! checkpoint, once the record goes stale.

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use canvass_ingest::IngestConfig;
use canvass_pipeline::inputs::OwnerGate;
use canvass_pipeline::{Metrics, jobs};
use canvass_store::Store;
use canvass_store::jobs::{JobBook, JobState};
use canvass_transport::FrameSink;
use canvass_transport::kafka::KafkaSettings;
use canvass_transport::kafka::jobs::JobConsumer;

/// A running job's record older than this means its worker is gone.
const LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(15);

pub fn run(
    store: &Store,
    gate: &OwnerGate,
    settings: &KafkaSettings,
    config: &IngestConfig,
    sink: &mut dyn FrameSink,
    metrics: &Metrics,
) -> anyhow::Result<ExitCode> {
    let consumer = JobConsumer::new(settings)?;
    let book = JobBook::new(store.clone());
    let worker = format!("{}:{}", hostname(), std::process::id());
    tracing::info!(%worker, topic = %settings.topics.jobs, group = %settings.jobs_group, "taking ingest jobs");
    while !config.stop.load(Ordering::Relaxed) {
        metrics.alive();
        let Some(delivery) = consumer.poll(Duration::from_secs(1))? else { continue };
        let id = match &delivery.job {
            Ok(id) => id.clone(),
            Err(why) => {
                tracing::error!(partition = delivery.partition, offset = delivery.offset, "skipped: {why}");
                consumer.commit(&delivery)?;
                continue;
            }
        };
        consumer.pause()?;
        let outcome = take(&consumer, &book, store, gate, &id, &worker, config, sink, metrics);
        if config.stop.load(Ordering::Relaxed) && outcome.is_ok() {
            // Stopped mid-job: the message stays for the group, the checkpoint for the next worker.
            break;
        }
        match outcome {
            // A rebalance while the job ran may have moved its partition: the commit fails, and
            // the worker that has the message now finds the job finished and commits it.
            Ok(()) => {
                if let Err(e) = consumer.commit(&delivery) {
                    tracing::warn!(job = %id, "cannot commit the finished job's message: {e}");
                }
            }
            Err(e) => {
                // The store or the brokers failed under the job: leave it to a retry.
                consumer.close();
                return Err(e.context(format!("job {id}")));
            }
        }
        consumer.resume()?;
    }
    consumer.close();
    sink.flush().context("the brokers did not acknowledge every frame")?;
    Ok(ExitCode::SUCCESS)
}

/// Runs job `id` unless it is finished or another worker holds it (then waits for it to
/// finish or go stale). Ok when the job is finished (done or failed) or stopped by a signal.
#[allow(clippy::too_many_arguments)]
fn take(
    consumer: &JobConsumer,
    book: &JobBook<Store>,
    store: &Store,
    gate: &OwnerGate,
    id: &str,
    worker: &str,
    config: &IngestConfig,
    sink: &mut dyn FrameSink,
    metrics: &Metrics,
) -> anyhow::Result<()> {
    let mut job = loop {
        let Some(job) = book.get(id)? else {
            tracing::warn!(job = %id, "no record of the job: skipped");
            return Ok(());
        };
        let held_elsewhere = job.state == JobState::Running
            && job.worker.as_deref() != Some(worker)
            && chrono::Utc::now() - job.updated_at < LEASE;
        if job.is_finished() || config.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if !held_elsewhere {
            break job;
        }
        metrics.alive();
        consumer.keep_alive(Duration::from_secs(1));
    };
    let result = std::thread::scope(|scope| {
        let running = scope.spawn(|| jobs::run(store, gate, &mut job, worker, config, sink));
        // Heartbeats to the group while the job runs, so its message stays here.
        while !running.is_finished() {
            metrics.alive();
            consumer.keep_alive(Duration::from_millis(500));
        }
        running.join()
    });
    let result = result.map_err(|_| anyhow::anyhow!("the job panicked"))?;
    if config.stop.load(Ordering::Relaxed) && result.as_ref().is_ok_and(|r| r.interrupted) {
        return Ok(());
    }
    match &result {
        Ok(report) => tracing::info!(job = %id, frames = report.frames_sampled, "job done"),
        Err(e) => tracing::warn!(job = %id, "job finished with: {e}"),
    }
    if let Err(jobs::JobError::Store(e)) = &result {
        return Err(anyhow::anyhow!("the store failed: {e}"));
    }
    jobs::finish(store, &mut job, &result, None)?;
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into())
}
