//! `canvass run`: the embedded pipeline on one machine. Ingest feeds the detector stage over an
//! in-process bounded channel (`canvass_pipeline::embedded`); this command reads the flags,
//! walks the inputs and prints what happened.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};
use canvass_detector::Detector;
use canvass_ingest::{IngestReport, InputSpec};
use canvass_pipeline::embedded::{DetectStage, DetectionSummary};
use canvass_pipeline::inputs::{EvidenceRef, IngestLog, InputError, Job, OwnerGate};
use canvass_pipeline::{EventWriter, SEGMENT_MAX_AGE};
use canvass_schemas::DetectionEvent;
use canvass_store::EventLake;
use canvass_transport::channel::ChannelSink;

use crate::case_arg;
use crate::config::FileConfig;
use crate::data_arg::DataArg;
use crate::detector_args::DetectorArgs;
use crate::event_table::{Hit, print_table};
use crate::ingest_args::IngestArgs;
use crate::progress::InputProgress;

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    data: DataArg,
    #[command(flatten)]
    ingest: IngestArgs,
    /// How sampled frames reach the detector in this process: raw (RGB, no encoding) or jpeg
    /// (as Kafka carries them between workers, so the events are exactly a distributed run's).
    #[arg(long, value_name = "ENCODING", default_value = "raw", value_parser = ["raw", "jpeg"])]
    frames: String,
    /// Inputs ingested at once, all feeding one detector: live cameras each need their own.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    parallel: u16,
    /// Write what the run did as JSON to this file: each input (frames decoded, sampled,
    /// inferred and still, events, seconds) and the totals.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Raise no alerts, even where `[[alerts]]` rules are configured (never with --reprocess).
    #[arg(long)]
    no_alerts: bool,
    /// Also write every sampled frame as a JPEG file under this folder.
    #[arg(long, value_name = "DIR")]
    dump_frames: Option<PathBuf>,
    #[command(flatten)]
    detector: DetectorArgs,
    /// Re-run every evidence file in the data folder's ingest log (or only --source's) with
    /// the current models, keeping each file's source id and wall clock; with --case, every
    /// original stored under that case (uploads included). Stored originals are read from the
    /// store, so the files need not be on the disk any more. A newer model's events are added
    /// beside the old ones; search shows the newest model's.
    #[arg(long, conflicts_with = "inputs")]
    reprocess: bool,
    /// Store each input file as evidence of this case (see `canvass case`) and ingest the
    /// stored original: kept encrypted in the store, addressed by its SHA-256, and what
    /// `--reprocess` reads. With --reprocess: reprocess this case's stored originals.
    #[arg(long, value_name = "CASE_ID")]
    case: Option<String>,
    /// With --reprocess --case: only originals submitted at or after this time (RFC 3339) ...
    #[arg(long, requires = "reprocess")]
    from: Option<chrono::DateTime<chrono::Utc>>,
    /// ... and before this time.
    #[arg(long, requires = "reprocess")]
    to: Option<chrono::DateTime<chrono::Utc>>,
    /// Video files or stream URLs (rtsp://, srt://, http(s)://, ...).
    #[arg(required_unless_present = "reprocess", value_name = "FILE_OR_URL")]
    inputs: Vec<String>,
}

fn jobs(args: &RunArgs, log: &IngestLog, store: &canvass_store::Store) -> anyhow::Result<Vec<Job>> {
    if !args.reprocess {
        return Ok(args
            .inputs
            .iter()
            .map(|input| Job {
                input: input.clone(),
                source_id: args.ingest.source_id(input),
                start: args.ingest.start,
                evidence: None,
            })
            .collect());
    }
    if args.ingest.start.is_some() {
        bail!("--reprocess keeps each file's recorded wall clock: leave out --start");
    }
    let source = args.ingest.source.as_deref().map(canvass_ingest::sanitize_source_id);
    let Some(case) = &args.case else {
        if args.from.is_some() || args.to.is_some() {
            bail!("--from and --to pick a case's originals: give --case too");
        }
        return Ok(log.files_to_reprocess(source.as_deref())?);
    };
    // The case's stored originals, with the wall clock each was last ingested with.
    let clocks: std::collections::HashMap<String, _> = log
        .entries()?
        .into_iter()
        .filter(|e| e.ok)
        .filter_map(|e| Some((e.evidence?.sha256, e.wall_clock_origin)))
        .collect();
    let mut jobs = Vec::new();
    for manifest in canvass_store::evidence::EvidenceStore::new(store.clone()).list(case)? {
        let source_id =
            manifest.source_id.clone().unwrap_or_else(|| args.ingest.source_id(&manifest.original_name));
        let wanted = source.as_ref().is_none_or(|s| *s == source_id)
            && args.from.is_none_or(|from| manifest.submitted_at >= from)
            && args.to.is_none_or(|to| manifest.submitted_at < to);
        if wanted {
            jobs.push(Job {
                input: canvass_pipeline::jobs::input_name(case, &manifest.sha256),
                source_id,
                start: clocks.get(&manifest.sha256).copied().flatten(),
                evidence: Some(EvidenceRef { case: case.clone(), sha256: manifest.sha256 }),
            });
        }
    }
    if jobs.is_empty() {
        bail!("nothing to reprocess: case {case} has no stored originals that match");
    }
    Ok(jobs)
}

pub fn run(args: RunArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    // Reprocessing revisits old evidence: alerts are about what happens now.
    let alerts_on = !(args.reprocess || args.no_alerts);
    if alerts_on {
        file.alert_rules()?; // checked before anything is opened
    }
    let mut config = args.ingest.config(file, args.inputs.len())?;
    if args.frames == "raw" {
        config = canvass_pipeline::embedded::in_process(&config);
    }
    let store = file.store(args.data.dir.clone())?;
    let log = IngestLog::new(store.clone());
    let jobs = jobs(&args, &log, &store)?;
    if let Some(case) = args.case.as_ref().filter(|_| !args.reprocess) {
        let cases = canvass_governance::cases::Cases::new(store.clone());
        if cases.get(&case_arg::operator(), case).is_err() {
            bail!("no case {case}: open it first (canvass case create {case} --title ... --agency ...)");
        }
    }
    let stop = config.stop.clone();
    ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;

    // Load the models before decoding anything: a missing or broken model stops the run here.
    let detector = Detector::new(args.detector.config_with_scenes(file, &store)?)
        .context("cannot load the detection models")?;
    for model in detector.models() {
        tracing::info!(model = %model.reference.name, version = %model.reference.version, "model loaded");
    }
    let events = EventWriter::new(EventLake::new(store.clone()), SEGMENT_MAX_AGE);
    let (alerting, alerts) = match alerts_on {
        true => crate::alerting::embedded(file, &store)?.unzip(),
        false => (None, None),
    };
    let stage = DetectStage::start(detector, events, args.dump_frames.clone(), alerting, |e| {
        eprintln!("error: {e}")
    })?;

    let gate = OwnerGate::new(store.clone(), file.audit_key()?);
    let custody = Custody {
        store: &store,
        audit: case_arg::audit_log(&store, file)?,
        case: args.case.as_deref(),
        reprocess: args.reprocess,
    };
    let each = EachInput {
        gate: &gate,
        store: &store,
        custody: &custody,
        config: &config,
        log: &log,
        bars: args.parallel == 1,
    };
    // Workers take the next input until none is left (or the run is stopped), each with its
    // own end of the detector's queue.
    let next = AtomicUsize::new(0);
    let workers = usize::from(args.parallel).min(jobs.len()).max(1);
    let mut finished: Vec<(usize, Finished)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (mut sink, each, jobs, next) = (stage.sink.clone(), &each, &jobs, &next);
                scope.spawn(move || -> anyhow::Result<Vec<(usize, Finished)>> {
                    let mut done = Vec::new();
                    while !each.config.stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        done.push((i, each.run(job, &mut sink)?));
                    }
                    Ok(done)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an input worker panicked"))
            .collect::<anyhow::Result<Vec<_>>>()
    })?
    .into_iter()
    .flatten()
    .collect();
    finished.sort_by_key(|(i, _)| *i);
    let failures = finished.iter().filter(|(_, f)| f.failed).count();
    let outcomes: Vec<InputOutcome> = finished.into_iter().filter_map(|(_, f)| f.outcome).collect();
    let summary = stage.finish()?;
    print_summary(&outcomes, &summary, &file.object_base());
    if let Some(alerts) = alerts {
        if config.stop.load(Ordering::Relaxed) {
            alerts.abandon();
        }
        eprintln!("alerts: {} tracks matched an alert rule", alerts.finish());
    }
    if let Some(path) = &args.summary {
        let json = run_summary(&outcomes, &summary, started.elapsed());
        std::fs::write(path, serde_json::to_vec_pretty(&json)?)
            .with_context(|| format!("cannot write the summary to {}", path.display()))?;
    }
    if summary.bad_frames > 0 {
        eprintln!("{} frames could not be processed (see the errors above)", summary.bad_frames);
    }
    if failures > 0 {
        eprintln!("{failures} of {} inputs failed", jobs.len());
    }
    Ok(if failures > 0 || summary.bad_frames > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// What every input of the run shares.
struct EachInput<'a> {
    gate: &'a OwnerGate,
    store: &'a canvass_store::Store,
    custody: &'a Custody<'a>,
    config: &'a canvass_ingest::IngestConfig,
    log: &'a IngestLog,
    bars: bool,
}

/// How one input went: `outcome` is `None` when custody refused it before ingest.
struct Finished {
    outcome: Option<InputOutcome>,
    failed: bool,
}

impl EachInput<'_> {
    /// Custody, then ingest into `sink`, then the ingest log; errors are printed as they come.
    fn run(&self, job: &Job, sink: &mut ChannelSink) -> anyhow::Result<Finished> {
        let name = InputSpec::parse(&job.input).display_name();
        let job = match self.custody.prepare(job) {
            Ok(prepared) => prepared,
            Err(e) => {
                eprintln!("error: {name}: {e:#}");
                return Ok(Finished { outcome: None, failed: true });
            }
        };
        let mut progress = InputProgress::new(&name, self.bars);
        let mut on_progress = |p: &canvass_ingest::Progress| progress.update(p);
        // Stored evidence is decoded from the store, under its case and hash.
        let result = match &job.evidence {
            Some(evidence) => canvass_pipeline::inputs::ingest_stored(
                self.gate,
                self.store,
                &job,
                evidence,
                self.config,
                sink,
                &mut on_progress,
            ),
            None => canvass_pipeline::inputs::ingest(self.gate, &job, self.config, sink, &mut on_progress),
        };
        progress.finish();
        if let Err(e) = &result {
            eprintln!("error: {name}: {e}");
        }
        if !matches!(result, Err(InputError::Refused(_))) {
            self.log.append(&job, &result)?;
        }
        if result.as_ref().is_ok_and(|r| r.interrupted) {
            tracing::warn!(input = %name, "stopped before the end of the input");
        }
        Ok(Finished { outcome: Some(InputOutcome::of(&job, &result)), failed: result.is_err() })
    }
}

/// What custody asks of each input: stored as evidence when the run names a case (and from then
/// on named for its case and hash), read from the store when it is stored evidence.
struct Custody<'a> {
    store: &'a canvass_store::Store,
    audit: canvass_governance::AuditLog<canvass_store::Store>,
    case: Option<&'a str>,
    reprocess: bool,
}

impl Custody<'_> {
    /// The job to run: stored evidence, when it is or has just become evidence.
    fn prepare(&self, job: &Job) -> anyhow::Result<Job> {
        if let Some(stored) = &job.evidence {
            let detail = serde_json::json!({ "sha256": stored.sha256, "why": "reprocess" });
            case_arg::audit(&self.audit, "evidence_read", Some(&case_of(&stored.case)), detail, None)?;
            let input = canvass_pipeline::jobs::input_name(&stored.case, &stored.sha256);
            return Ok(Job { input, ..job.clone() });
        }
        let case = self.case.filter(|_| !self.reprocess);
        let (Some(case), InputSpec::File(path)) = (case, InputSpec::parse(&job.input)) else {
            if let Some(case) = case {
                tracing::warn!(input = %job.input, %case, "a stream is not stored as evidence");
            }
            return Ok(job.clone());
        };
        let evidence = canvass_store::evidence::EvidenceStore::new(self.store.clone());
        let submission = canvass_store::evidence::Submission {
            case,
            submitted_by: &case_arg::os_user(),
            source_id: Some(&job.source_id),
            request: None,
        };
        let (manifest, new) = evidence.put_file(&path, &submission, chrono::Utc::now())?;
        let detail = serde_json::json!({ "sha256": manifest.sha256, "size": manifest.size,
            "original_name": manifest.original_name, "source_id": job.source_id, "new": new });
        case_arg::audit(&self.audit, "evidence_stored", Some(&case_of(case)), detail, None)?;
        tracing::info!(input = %job.input, %case, sha256 = %manifest.sha256, new, "stored as evidence");
        let input = canvass_pipeline::jobs::input_name(case, &manifest.sha256);
        let stored = EvidenceRef { case: case.into(), sha256: manifest.sha256 };
        Ok(Job { input, evidence: Some(stored), ..job.clone() })
    }
}

fn case_of(case: &str) -> case_arg::Case {
    case_arg::Case { case: case.into(), purpose: "custody of evidence".into() }
}

/// One input's line of `--summary`.
struct InputOutcome {
    input: String,
    source_id: String,
    error: Option<String>,
    report: Option<IngestReport>,
}

impl InputOutcome {
    fn of(job: &Job, result: &Result<IngestReport, InputError>) -> Self {
        InputOutcome {
            input: result.as_ref().map_or_else(|_| job.input.clone(), |r| r.input.clone()),
            source_id: job.source_id.clone(),
            error: result.as_ref().err().map(ToString::to_string),
            report: result.as_ref().ok().cloned(),
        }
    }
}

/// `--summary`: per input, then totals; frames counted where each stage saw them.
fn run_summary(
    outcomes: &[InputOutcome],
    summary: &DetectionSummary,
    wall: std::time::Duration,
) -> serde_json::Value {
    let mut inputs = Vec::new();
    let mut totals = [0u64; 5];
    for outcome in outcomes {
        let report = outcome.report.as_ref();
        let inferred = summary.inferred.get(&outcome.input).copied().unwrap_or_default();
        let events = summary.events.iter().filter(|e| e.input == outcome.input).count() as u64;
        let counts = [
            report.map_or(0, |r| r.frames_decoded),
            report.map_or(0, |r| r.frames_sampled),
            inferred.frames,
            inferred.still,
            events,
        ];
        totals.iter_mut().zip(counts).for_each(|(total, n)| *total += n);
        inputs.push(serde_json::json!({
            "input": outcome.input,
            "source_id": outcome.source_id,
            "ok": outcome.error.is_none(),
            "error": outcome.error,
            "codec": report.map(|r| r.codec.clone()),
            "width": report.map(|r| r.width),
            "height": report.map(|r| r.height),
            "media_s": report.map(|r| r.media_end_us as f64 / 1e6),
            "corrupt_packets": report.map(|r| r.corrupt_packets),
            "frames_decoded": counts[0],
            "frames_sampled": counts[1],
            "frames_inferred": counts[2],
            "frames_static": counts[3],
            "events": counts[4],
            "wall_s": report.map(|r| r.elapsed.as_secs_f64()),
        }));
    }
    serde_json::json!({
        "inputs": inputs,
        "totals": {
            "inputs": outcomes.len(),
            "failed": outcomes.iter().filter(|o| o.error.is_some()).count(),
            "frames_decoded": totals[0],
            "frames_sampled": totals[1],
            "frames_inferred": totals[2],
            "frames_static": totals[3],
            "events": totals[4],
            "bad_frames": summary.bad_frames,
            "wall_s": wall.as_secs_f64(),
        },
    })
}

/// `base`: where thumbnail keys resolve (`s3://bucket/prefix`), or empty for the key alone.
fn print_summary(outcomes: &[InputOutcome], summary: &DetectionSummary, base: &str) {
    let rows: Vec<&IngestReport> = outcomes.iter().filter_map(|o| o.report.as_ref()).collect();
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
    let (inferred, still) =
        summary.inferred.values().fold((0, 0), |(i, s), counts| (i + counts.frames, s + counts.still));
    println!(
        "{} frames ({:.1} MB) reached the detector stage: {inferred} inferred, {still} still (no motion); {} events",
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
