//! `canvass run`: the embedded pipeline on one machine. Ingest feeds the detector stage over an
//! in-process bounded channel (`canvass_pipeline::embedded`); this command reads the flags,
//! walks the inputs and prints what happened.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::{Context, bail};
use canvass_detector::Detector;
use canvass_ingest::{IngestReport, InputSpec};
use canvass_pipeline::embedded::{DetectStage, DetectionSummary};
use canvass_pipeline::inputs::{IngestLog, InputError, Job, OwnerGate};
use canvass_pipeline::{EventWriter, SEGMENT_MAX_AGE};
use canvass_schemas::DetectionEvent;
use canvass_store::EventLake;

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
    /// Store each input file as evidence of this case (see `canvass case`) before ingesting
    /// it: kept encrypted in the store, addressed by its SHA-256, and what `--reprocess` reads.
    #[arg(long, value_name = "CASE_ID", conflicts_with = "reprocess")]
    case: Option<String>,
    /// Video files or stream URLs (rtsp://, srt://, http(s)://, ...).
    #[arg(required_unless_present = "reprocess", value_name = "FILE_OR_URL")]
    inputs: Vec<String>,
}

fn jobs(args: &RunArgs, log: &IngestLog) -> anyhow::Result<Vec<Job>> {
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
    Ok(log.files_to_reprocess(source.as_deref())?)
}

pub fn run(args: RunArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let config = args.ingest.config(file, args.inputs.len())?;
    let store = file.store(args.data.dir.clone())?;
    let log = IngestLog::new(store.clone());
    let jobs = jobs(&args, &log)?;
    if let Some(case) = &args.case {
        let cases = canvass_governance::cases::Cases::new(store.clone());
        if cases.get(&case_arg::operator(), case).is_err() {
            bail!("no case {case}: open it first (canvass case create {case} --title ... --agency ...)");
        }
    }
    let stop = config.stop.clone();
    ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;

    // Load the models before decoding anything: a missing or broken model stops the run here.
    let detector = Detector::new(args.detector.config(file)).context("cannot load the detection models")?;
    for model in detector.models() {
        tracing::info!(model = %model.reference.name, version = %model.reference.version, "model loaded");
    }
    let events = EventWriter::new(EventLake::new(store.clone()), SEGMENT_MAX_AGE);
    let mut stage =
        DetectStage::start(detector, events, args.dump_frames.clone(), |e| eprintln!("error: {e}"))?;

    let mut failures = 0usize;
    let mut rows = Vec::new();
    let gate = OwnerGate::new(store.clone(), file.audit_key()?);
    let custody =
        Custody { store: &store, audit: case_arg::audit_log(&store, file)?, case: args.case.as_deref() };
    for job in &jobs {
        let name = InputSpec::parse(&job.input).display_name();
        let (job, copy) = match custody.prepare(job) {
            Ok(prepared) => prepared,
            Err(e) => {
                eprintln!("error: {name}: {e:#}");
                failures += 1;
                continue;
            }
        };
        // Stored evidence is read from a private copy but keeps the name (and event ids) it
        // was ingested under.
        let config = canvass_ingest::IngestConfig {
            input_name: copy.as_ref().map(|_| name.clone()),
            ..config.clone()
        };
        if let Some(evidence) = &job.evidence {
            stage.custody.insert(&name, evidence.clone());
        }
        let mut progress = InputProgress::new(&name);
        let result = canvass_pipeline::inputs::ingest(&gate, &job, &config, &mut stage.sink, &mut |p| {
            progress.update(p)
        });
        drop(copy);
        progress.finish();
        if let Err(e) = &result {
            eprintln!("error: {name}: {e}");
            failures += 1;
        }
        if matches!(result, Err(InputError::Refused(_))) {
            continue;
        }
        // Logged under the name it was given (stored evidence: not its private copy's).
        log.append(&Job { input: name.clone(), ..job }, &result)?;
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
    let summary = stage.finish()?;
    print_summary(&rows, &summary, &file.object_base());
    if summary.bad_frames > 0 {
        eprintln!("{} frames could not be processed (see the errors above)", summary.bad_frames);
    }
    if failures > 0 {
        eprintln!("{failures} of {} inputs failed", jobs.len());
    }
    Ok(if failures > 0 || summary.bad_frames > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// What custody asks of each input: stored as evidence when the run names a case, read back
/// from the store when it is stored evidence being reprocessed.
struct Custody<'a> {
    store: &'a canvass_store::Store,
    audit: canvass_governance::AuditLog<canvass_store::Store>,
    case: Option<&'a str>,
}

impl Custody<'_> {
    /// The job to run, and the private copy of stored evidence it reads (removed when dropped).
    fn prepare(&self, job: &Job) -> anyhow::Result<(Job, Option<tempfile::TempDir>)> {
        let evidence = canvass_store::evidence::EvidenceStore::new(self.store.clone());
        if let Some(stored) = &job.evidence {
            let manifest = evidence.manifest(&stored.case, &stored.sha256)?.with_context(|| {
                format!("stored evidence {} of case {} is gone", stored.sha256, stored.case)
            })?;
            let dir = tempfile::Builder::new().prefix("canvass-evidence-").tempdir()?;
            // Named as submitted (FFmpeg may look at the extension); a name is never a path.
            let name = std::path::Path::new(&manifest.original_name).file_name();
            let path = dir.path().join(name.unwrap_or(std::ffi::OsStr::new("evidence")));
            let mut out = std::fs::File::create(&path)?;
            evidence.copy_to(&manifest, &mut out)?;
            let detail = serde_json::json!({ "sha256": manifest.sha256, "why": "reprocess" });
            case_arg::audit(&self.audit, "evidence_read", Some(&case_of(&manifest.case)), detail, None)?;
            let job = Job { input: path.display().to_string(), ..job.clone() };
            return Ok((job, Some(dir)));
        }
        let (Some(case), InputSpec::File(path)) = (self.case, InputSpec::parse(&job.input)) else {
            if let Some(case) = self.case {
                tracing::warn!(input = %job.input, %case, "a stream is not stored as evidence");
            }
            return Ok((job.clone(), None));
        };
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
        let stored = canvass_pipeline::inputs::EvidenceRef { case: case.into(), sha256: manifest.sha256 };
        Ok((Job { evidence: Some(stored), ..job.clone() }, None))
    }
}

fn case_of(case: &str) -> case_arg::Case {
    case_arg::Case { case: case.into(), purpose: "custody of evidence".into() }
}

/// `base`: where thumbnail keys resolve (`s3://bucket/prefix`), or empty for the key alone.
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
