//! `canvass detect`: the distributed mode's detector worker (`canvass_pipeline::detect_worker`):
//! frames from Kafka, events to the object store and the events topic.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use canvass_detector::Detector;
use canvass_pipeline::Metrics;
use canvass_pipeline::detect_worker::DetectWorker;

use crate::config::FileConfig;
use crate::detector_args::DetectorArgs;
use crate::worker_args::WorkerArgs;

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

pub fn run(args: DetectWorkerArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("cannot install the signal handler")?;
    file.alert_rules()?; // checked before anything starts
    let store = args.worker.store(file)?;
    // Headings and zones as registered when the worker starts.
    let detector = Detector::new(args.detector.config_with_scenes(file, &store)?)
        .context("cannot load the detection models")?;
    let metrics = Metrics::new();
    if let Some(listen) = args.worker.metrics_listen(file) {
        crate::worker_args::serve_metrics(&metrics, listen)?;
    }
    let interval_s = args.checkpoint_interval.or(file.worker.checkpoint_interval_s).unwrap_or(5.0);
    if !(interval_s.is_finite() && interval_s > 0.0) {
        bail!("the checkpoint interval must be a positive number of seconds, got {interval_s}");
    }
    let settings = args.worker.kafka_with_topics(file)?;
    let worker =
        DetectWorker::new(detector, store.clone(), settings, metrics, Duration::from_secs_f64(interval_s))?
            .with_alerts(crate::alerting::live(file, &crate::alerting::book(file, &store)?));
    worker.run(&stop)?;
    Ok(ExitCode::SUCCESS)
}
