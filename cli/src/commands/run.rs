//! `canvass run`: the embedded pipeline on one machine. Ingest feeds an in-process bounded
//! channel; the detector stage takes frames off it on its own thread and writes events.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::{Context, bail};
use canvass_ingest::{IngestConfig, IngestReport, InputSpec};
use canvass_transport::FrameSource;
use canvass_transport::channel::channel;
use chrono::{DateTime, Utc};
use serde::Serialize;

use canvass_detector::{DetectedEvent, Detector};
use canvass_schemas::DetectionEvent;
use canvass_serve::Store;
use canvass_serve::registry::Registry;
use canvass_store::EventLake;

use crate::config::FileConfig;
use crate::detector_args::DetectorArgs;
use crate::event_output::{EventOutput, SEGMENT_MAX_AGE};
use crate::event_table::{Hit, print_table};
use crate::ingest_args::IngestArgs;
use crate::progress::InputProgress;

/// Frames in flight between ingest and detection; bounds memory and applies back-pressure.
const CHANNEL_CAPACITY: usize = 16;
/// Most frames the detector takes off the queue for one batch.
const MAX_BATCH: usize = 8;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Data folder (ingest log now; the event lake from the event-lake stage on).
    #[arg(long, env = "CANVASS_DATA")]
    data: Option<PathBuf>,
    #[command(flatten)]
    ingest: IngestArgs,
    /// Also write every sampled frame as a JPEG file under this folder.
    #[arg(long, value_name = "DIR")]
    dump_frames: Option<PathBuf>,
    #[command(flatten)]
    detector: DetectorArgs,
    /// Re-run every evidence file in the data folder's ingest log (or only --source's) with
    /// the current models, keeping each file's source id and wall clock. A newer model's events
    /// are added beside the old ones; search shows the newest model's.
    #[arg(long, conflicts_with = "inputs")]
    reprocess: bool,
    /// Video files or stream URLs (rtsp://, srt://, http(s)://, ...).
    #[arg(required_unless_present = "reprocess", value_name = "FILE_OR_URL")]
    inputs: Vec<String>,
}

/// One input to ingest, with the source id and wall clock it gets.
struct Job {
    input: String,
    source_id: String,
    start: Option<DateTime<Utc>>,
}

fn jobs(args: &RunArgs, data_dir: &Path) -> anyhow::Result<Vec<Job>> {
    if !args.reprocess {
        return Ok(args
            .inputs
            .iter()
            .map(|input| Job {
                input: input.clone(),
                source_id: args.ingest.source_id(input),
                start: args.ingest.start,
            })
            .collect());
    }
    if args.ingest.start.is_some() {
        bail!("--reprocess keeps each file's recorded wall clock: leave out --start");
    }
    let source = args.ingest.source.as_deref().map(canvass_ingest::sanitize_source_id);
    let log_path = data_dir.join("ingest").join("log.jsonl");
    let text = std::fs::read_to_string(&log_path)
        .with_context(|| format!("nothing to reprocess: cannot read {}", log_path.display()))?;
    // The last successful ingest of each file wins.
    let mut latest: std::collections::BTreeMap<String, Job> = std::collections::BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let entry: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}: line {} is not JSON", log_path.display(), n + 1))?;
        let (Some(input), Some(source_id)) = (entry["input"].as_str(), entry["source_id"].as_str()) else {
            continue;
        };
        let is_file = matches!(InputSpec::parse(input), InputSpec::File(_));
        if entry["ok"] != true || !is_file || source.as_deref().is_some_and(|s| s != source_id) {
            continue;
        }
        let start = entry["wall_clock_origin"].as_str().and_then(|t| t.parse().ok());
        latest.insert(
            input.to_string(),
            Job { input: input.to_string(), source_id: source_id.to_string(), start },
        );
    }
    if latest.is_empty() {
        anyhow::bail!("nothing to reprocess: no successfully ingested file in {}", log_path.display());
    }
    Ok(latest.into_values().collect())
}

/// One line of `<data>/ingest/log.jsonl`: what was ingested, when, and how it went. Batch
/// reprocessing reads it to find the evidence a source was built from.
#[derive(Serialize)]
struct IngestLogEntry<'a> {
    ingested_at: DateTime<Utc>,
    input: &'a str,
    source_id: &'a str,
    ok: bool,
    error: Option<String>,
    frames_decoded: u64,
    frames_sampled: u64,
    corrupt_packets: u64,
    media_end_s: f64,
    wall_clock_source: Option<canvass_schemas::WallClockSource>,
    wall_clock_origin: Option<DateTime<Utc>>,
}

/// What the detector stage took off the queue and made of it.
#[derive(Default)]
struct DetectionSummary {
    frames: u64,
    bytes: u64,
    bad_frames: u64,
    events: Vec<DetectionEvent>,
}

pub fn run(args: RunArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let config = args.ingest.config(file, args.inputs.len())?;
    let data_dir =
        args.data.clone().or_else(|| file.data_dir.clone()).unwrap_or_else(|| PathBuf::from("canvass-data"));
    std::fs::create_dir_all(data_dir.join("ingest"))
        .with_context(|| format!("cannot create data folder {}", data_dir.display()))?;
    let jobs = jobs(&args, &data_dir)?;
    let stop = config.stop.clone();
    ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;

    // Load the models before decoding anything: a missing or broken model stops the run here.
    let detector = Detector::new(args.detector.config(file)).context("cannot load the detection models")?;
    for model in detector.models() {
        tracing::info!(model = %model.reference.name, version = %model.reference.version, "model loaded");
    }
    let (mut sink, source) = channel(CHANNEL_CAPACITY);
    let dump_dir = args.dump_frames.clone();
    let store = file.store(Some(data_dir.clone()))?;
    let output = EventOutput::new(EventLake::new(store.clone()), SEGMENT_MAX_AGE);
    let consumer = std::thread::Builder::new()
        .name("detect".into())
        .spawn(move || detect_frames(source, detector, output, dump_dir.as_deref()))?;

    let mut failures = 0usize;
    let mut rows = Vec::new();
    let registry = Registry::new(store);
    for job in &jobs {
        let spec = InputSpec::parse(&job.input);
        let name = spec.display_name();
        let source_id = &job.source_id;
        if let Err(refusal) = owner_allows(&registry, source_id, &spec) {
            eprintln!("error: {name}: {refusal}");
            failures += 1;
            continue;
        }
        let job_config = IngestConfig { start: job.start, ..config.clone() };
        let mut progress = InputProgress::new(&name);
        let result =
            canvass_ingest::ingest(&spec, source_id, &job_config, &mut sink, &mut |p| progress.update(p));
        progress.finish();
        if let Err(e) = &result {
            eprintln!("error: {name}: {e}");
            failures += 1;
        }
        append_log(&data_dir, &name, source_id, &result)?;
        if let Ok(report) = result {
            if report.interrupted {
                tracing::warn!(input = %name, "stopped before the end of the input");
            }
            rows.push(report);
        }
        if config.stop.load(Ordering::Relaxed) {
            break;
        }
    }
    drop(sink);
    let summary = consumer.join().map_err(|_| anyhow::anyhow!("detector stage panicked"))??;
    print_summary(&rows, &summary, &file.object_base(Some(data_dir.clone())));
    if summary.bad_frames > 0 {
        eprintln!("{} frames could not be processed (see the errors above)", summary.bad_frames);
    }
    if failures > 0 {
        eprintln!("{failures} of {} inputs failed", jobs.len());
    }
    Ok(if failures > 0 || summary.bad_frames > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The camera owner's policy, where the source is a registered camera (see the registry in
/// `canvass serve`): a live stream is refused unless the owner allows live access now.
pub(crate) fn owner_allows(
    registry: &Registry<Store>,
    source_id: &str,
    spec: &InputSpec,
) -> Result<(), String> {
    let camera =
        registry.camera_of_source(source_id).map_err(|e| format!("cannot read the camera registry: {e}"))?;
    let live = !matches!(spec, InputSpec::File(_));
    match camera {
        Some(camera) => camera.allows(live).map_err(|why| format!("camera '{source_id}' refused: {why}")),
        None => Ok(()),
    }
}

/// The detector stage of the embedded pipeline: every frame through every model; events are
/// written as their tracks close. A frame that cannot be read is reported and skipped.
fn detect_frames(
    mut source: impl FrameSource,
    mut detector: Detector,
    mut output: EventOutput,
    dump_dir: Option<&Path>,
) -> anyhow::Result<DetectionSummary> {
    let mut summary = DetectionSummary::default();
    fn record(
        events: Vec<DetectedEvent>,
        output: &mut EventOutput,
        summary: &mut DetectionSummary,
    ) -> anyhow::Result<()> {
        for detected in events {
            output.write(&detected)?;
            summary.events.push(detected.event);
        }
        Ok(())
    }
    loop {
        // Block for one frame, then take whatever else has queued up behind it.
        let mut batch = Vec::new();
        match source.recv() {
            Ok(Some(frame)) => batch.push(frame),
            Ok(None) => break,
            Err(e) => {
                eprintln!("error: frame queue: {e}");
                summary.bad_frames += 1;
                continue;
            }
        }
        while batch.len() < MAX_BATCH {
            match source.try_recv() {
                Ok(Some(frame)) => batch.push(frame),
                Ok(None) => break,
                Err(e) => {
                    eprintln!("error: frame queue: {e}");
                    summary.bad_frames += 1;
                }
            }
        }
        for frame in &batch {
            let h = &frame.header;
            if let Some(dir) = dump_dir {
                let folder = dir.join(&h.source_id);
                std::fs::create_dir_all(&folder)?;
                let name = format!("{:06}_{:011}us.jpg", h.sequence, h.media_time_us);
                std::fs::write(folder.join(name), &frame.image)?;
            }
            summary.frames += 1;
            summary.bytes += frame.image.len() as u64;
        }
        match detector.process_batch(&batch) {
            Ok(outcome) => {
                for error in outcome.bad_frames {
                    eprintln!("error: {error}");
                    summary.bad_frames += 1;
                }
                record(outcome.events, &mut output, &mut summary)?;
            }
            Err(e) => {
                eprintln!("error: {e}");
                summary.bad_frames += batch.len() as u64;
            }
        }
        output.tick()?;
    }
    record(detector.finish(), &mut output, &mut summary)?;
    output.flush()?;
    Ok(summary)
}

fn append_log(
    data_dir: &Path,
    input: &str,
    source_id: &str,
    result: &Result<IngestReport, canvass_ingest::IngestError>,
) -> anyhow::Result<()> {
    let report = result.as_ref().ok();
    let entry = IngestLogEntry {
        ingested_at: Utc::now(),
        input,
        source_id,
        ok: result.is_ok(),
        error: result.as_ref().err().map(|e| e.to_string()),
        frames_decoded: report.map_or(0, |r| r.frames_decoded),
        frames_sampled: report.map_or(0, |r| r.frames_sampled),
        corrupt_packets: report.map_or(0, |r| r.corrupt_packets),
        media_end_s: report.map_or(0.0, |r| r.media_end_us as f64 / 1e6),
        wall_clock_source: report.map(|r| r.wall_clock.source),
        wall_clock_origin: report.map(|r| r.wall_clock.origin),
    };
    let path = data_dir.join("ingest").join("log.jsonl");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    writeln!(file, "{}", serde_json::to_string(&entry)?)?;
    Ok(())
}

/// `base`: where thumbnail keys resolve (the data folder or the bucket).
fn print_summary(rows: &[IngestReport], summary: &DetectionSummary, base: &str) {
    if !rows.is_empty() {
        println!(
            "{:<36} {:<20} {:<6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7}  clock",
            "input", "source", "codec", "size", "decoded", "sampled", "corrupt", "media s", "speed"
        );
    }
    for r in rows {
        let media_s = r.media_end_us as f64 / 1e6;
        let speed = media_s / r.elapsed.as_secs_f64().max(1e-3);
        println!(
            "{:<36} {:<20} {:<6} {:>9} {:>8} {:>8} {:>8} {:>8.1} {:>6.1}x  {}",
            truncate_left(&r.input, 36),
            truncate_left(&r.source_id, 20),
            r.codec,
            format!("{}x{}", r.width, r.height),
            r.frames_decoded,
            r.frames_sampled,
            r.corrupt_packets,
            media_s,
            speed,
            clock_label(r),
        );
    }
    println!(
        "{} frames ({:.1} MB of JPEG) reached the detector stage; {} events",
        summary.frames,
        summary.bytes as f64 / 1e6,
        summary.events.len()
    );
    if summary.events.is_empty() {
        return;
    }
    println!();
    let mut events: Vec<&DetectionEvent> = summary.events.iter().collect();
    events.sort_by(|a, b| (&a.source_id, a.media_start_us).cmp(&(&b.source_id, b.media_start_us)));
    let hits: Vec<Hit> = events.into_iter().map(|e| Hit::of(e, base)).collect();
    print_table(&hits);
}

fn clock_label(r: &IngestReport) -> String {
    let source = match r.wall_clock.source {
        canvass_schemas::WallClockSource::Operator => "--start",
        canvass_schemas::WallClockSource::Container => "creation_time",
        canvass_schemas::WallClockSource::Ingest => "ingest time",
    };
    format!("{} ({source})", r.wall_clock.origin.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn truncate_left(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_string();
    }
    let tail: String = text.chars().skip(count - (width - 1)).collect();
    format!("…{tail}")
}
