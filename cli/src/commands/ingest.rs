//! `canvass ingest`: the distributed mode's ingest worker. Decodes files and streams and
//! publishes the sampled frames to the frames topic, then an end-of-input marker per input;
//! with `--jobs`, takes ingest jobs of stored evidence off the jobs topic instead; with
//! `--cameras`, runs the configured live cameras for as long as their owners allow.

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context;
use canvass_ingest::InputSpec;
use canvass_pipeline::inputs::{Job, OwnerGate};
use canvass_pipeline::live::LiveCameras;
use canvass_pipeline::{MeteredSink, Metrics};
use canvass_transport::FrameSink;
use canvass_transport::kafka::{KafkaFrameSink, Producer};

use crate::config::FileConfig;
use crate::ingest_args::IngestArgs;
use crate::progress::InputProgress;
use crate::worker_args::WorkerArgs;

#[derive(clap::Args)]
pub struct IngestWorkerArgs {
    #[command(flatten)]
    ingest: IngestArgs,
    #[command(flatten)]
    worker: WorkerArgs,
    /// Take ingest jobs of stored evidence (uploads, reprocessing) off the jobs topic, one at
    /// a time, with the other `--jobs` workers of the group, until stopped. A job whose worker
    /// died is resumed by another from its last checkpoint.
    #[arg(long, conflicts_with = "inputs")]
    jobs: bool,
    /// Run the config file's `[[cameras]]` as live inputs until stopped: each reconnects by
    /// itself, runs only while its owner allows, and shows its health on `/metrics`.
    #[arg(long, conflicts_with_all = ["inputs", "jobs"])]
    cameras: bool,
    /// Video files or stream URLs (rtsp://, srt://, http(s)://, ...).
    #[arg(required_unless_present_any = ["jobs", "cameras"], value_name = "FILE_OR_URL")]
    inputs: Vec<String>,
}

pub fn run(args: IngestWorkerArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let config = args.ingest.config(file, args.inputs.len())?;
    let settings = args.worker.kafka_with_topics(file)?;
    let stop = config.stop.clone();
    ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
        .context("cannot install the signal handler")?;
    let metrics = Metrics::new();
    if let Some(listen) = args.worker.metrics_listen(file) {
        crate::worker_args::serve_metrics(&metrics, listen)?;
        // A camera that is down is not a stuck worker: ingest reconnects by itself, so the
        // process reports healthy while it runs rather than being restarted in a loop.
        let heartbeat = metrics.clone();
        std::thread::Builder::new().name("heartbeat".into()).spawn(move || {
            loop {
                heartbeat.alive();
                std::thread::sleep(std::time::Duration::from_secs(10));
            }
        })?;
    }
    let producer = Producer::for_frames(&settings)?;
    let mut sink = MeteredSink::new(KafkaFrameSink::new(producer, &settings), metrics.clone());
    let store = args.worker.store(file)?;
    let gate = OwnerGate::new(store.clone(), file.audit_key()?);
    if args.jobs {
        return crate::job_worker::run(&store, &gate, &settings, &config, &mut sink, &metrics);
    }
    if args.cameras {
        return run_cameras(file, gate, config, sink, &metrics);
    }

    let mut failures = 0usize;
    for input in &args.inputs {
        let name = InputSpec::parse(input).display_name();
        let job = Job {
            input: input.clone(),
            source_id: args.ingest.source_id(input),
            start: config.start,
            evidence: None,
        };
        let mut progress = InputProgress::new(&name, true);
        // Counted as decoding goes, so a live stream's rate shows while it runs.
        let mut decoded = 0;
        let result = canvass_pipeline::inputs::ingest(&gate, &job, &config, &mut sink, &mut |p| {
            metrics.frames_decoded.inc_by(p.frames_decoded.saturating_sub(decoded));
            decoded = decoded.max(p.frames_decoded);
            progress.update(p);
        });
        progress.finish();
        match &result {
            Ok(report) => {
                metrics.frames_decoded.inc_by(report.frames_decoded.saturating_sub(decoded));
                tracing::info!(input = %name, source = %job.source_id, frames = report.frames_sampled, "published");
            }
            Err(canvass_pipeline::inputs::InputError::Refused(refusal)) => {
                eprintln!("error: {name}: {refusal}");
                metrics.error("refused_by_owner_policy");
                failures += 1;
                continue;
            }
            Err(e) => {
                eprintln!("error: {name}: {e}");
                metrics.error("ingest");
                failures += 1;
            }
        }
        // Frames sent before a failure (a truncated file) are real footage: their tracks close too.
        sink.end_input(&job.source_id, &name).with_context(|| format!("{name}: cannot publish its end"))?;
        if config.stop.load(Ordering::Relaxed) {
            break;
        }
    }
    sink.flush().context("the brokers did not acknowledge every frame")?;
    if failures > 0 {
        eprintln!("{failures} of {} inputs failed", args.inputs.len());
    }
    Ok(if failures > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The configured live cameras into the frames topic until stopped, their health on `/metrics`.
fn run_cameras(
    file: &FileConfig,
    gate: OwnerGate,
    config: canvass_ingest::IngestConfig,
    sink: MeteredSink<KafkaFrameSink>,
    metrics: &Metrics,
) -> anyhow::Result<ExitCode> {
    if file.cameras.is_empty() {
        anyhow::bail!("--cameras: no [[cameras]] in the config file");
    }
    let stop = config.stop.clone();
    let cameras = LiveCameras::start(file.live_cameras()?, std::sync::Arc::new(gate), config, sink.clone());
    tracing::info!(cameras = file.cameras.len(), "live cameras started");
    while !stop.load(Ordering::Relaxed) {
        metrics.live(&cameras.health());
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    cameras.stop();
    let mut sink = sink;
    sink.flush().context("the brokers did not acknowledge every frame")?;
    Ok(ExitCode::SUCCESS)
}
