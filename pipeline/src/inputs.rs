//! One input through ingest, in either mode: the camera owner's policy first, then decoding
//! into whatever sink the mode uses; a live stream's policy is checked again as it runs, and
//! the stream stops (audited) when the owner revokes live access. And the ingest log (one
//! object per input under `ingest/v1/log/`, in the store like everything else, so encrypted
//! and swept with the data): what was ingested, when and how it went, which batch reprocessing
//! reads to find the evidence a source was built from.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use canvass_governance::audit::AuditKey;
use canvass_governance::{Action, AuditLog, Registry};
use canvass_ingest::{IngestConfig, IngestError, IngestReport, InputSpec, Progress};
use canvass_schemas::WallClockSource;
use canvass_store::{Store, keys};
use canvass_transport::FrameSink;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::StageError;

/// One input to ingest, with the source id and wall clock it gets.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub input: String,
    pub source_id: String,
    /// Wall-clock time of the first frame; `None` takes the container's or the ingest time.
    pub start: Option<DateTime<Utc>>,
    /// The stored original this input is (a file ingested under a case): reprocessing reads it
    /// from the store, not from `input`, which may be gone.
    pub evidence: Option<EvidenceRef>,
}

/// Stored evidence: its case and SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceRef {
    pub case: String,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The camera's owner does not allow this footage to be processed (now).
    #[error("{0}")]
    Refused(String),
    /// The owner revoked live access while the stream ran; ingest stopped.
    #[error("stopped: {0}")]
    Revoked(String),
    /// The stored original could not be found or read.
    #[error("{0}")]
    Evidence(String),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

/// The camera owners' policy, as ingest applies it.
pub struct OwnerGate {
    pub registry: Registry<Store>,
    /// Where a stream stopped by its owner's policy is recorded.
    pub audit: AuditLog<Store>,
    /// How often a running live stream's policy is read again.
    pub recheck: Duration,
}

impl OwnerGate {
    /// The gate over `store`'s registry and audit log, re-checking live streams every 5 s.
    pub fn new(store: Store, audit_key: AuditKey) -> Self {
        OwnerGate {
            registry: Registry::new(store.clone()),
            audit: AuditLog::new(store, audit_key),
            recheck: Duration::from_secs(5),
        }
    }
}

/// Ingests `job` into `sink` if the camera's owner allows it, for as long as they do.
pub fn ingest(
    gate: &OwnerGate,
    job: &Job,
    config: &IngestConfig,
    sink: &mut dyn FrameSink,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<IngestReport, InputError> {
    let spec = InputSpec::parse(&job.input);
    let stream = match &spec {
        InputSpec::File(_) => None,
        InputSpec::Url { .. } => Some(job.input.as_str()),
    };
    let governing =
        gate.registry.owner_allows(&job.source_id, stream, stream.is_some()).map_err(InputError::Refused)?;
    let Some(stream) = stream else {
        let config = IngestConfig { start: job.start, ..config.clone() };
        return Ok(canvass_ingest::ingest(&spec, &job.source_id, &config, sink, on_progress)?);
    };
    // The stream gets its own stop flag, set when the run stops (Ctrl-C) or the owner says no.
    let stop = Arc::new(AtomicBool::new(false));
    let own = IngestConfig { start: job.start, stop: stop.clone(), ..config.clone() };
    let done = AtomicBool::new(false);
    let (result, revoked) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch(gate, &governing, job, stream, &config.stop, &stop, &done));
        let result = canvass_ingest::ingest(&spec, &job.source_id, &own, sink, on_progress);
        done.store(true, Ordering::Relaxed);
        (result, watcher.join().unwrap_or(None))
    });
    match revoked {
        Some(why) => Err(InputError::Revoked(why)),
        None => Ok(result?),
    }
}

/// Ingests stored evidence `evidence` (`job.evidence`) into `sink`, read from the store by
/// ranged reads (no local copy) and named for its case and hash (`jobs::input_name`), so every
/// run of it, in either mode, makes the same event ids. Files handed over are footage the
/// owner's policy allows unless the camera's registration says otherwise.
pub fn ingest_stored(
    gate: &OwnerGate,
    store: &Store,
    job: &Job,
    evidence: &EvidenceRef,
    config: &IngestConfig,
    sink: &mut dyn FrameSink,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<IngestReport, InputError> {
    gate.registry.owner_allows(&job.source_id, None, false).map_err(InputError::Refused)?;
    let stored = canvass_store::evidence::EvidenceStore::new(store.clone());
    let gone = || format!("stored evidence {} of case {} is gone", evidence.sha256, evidence.case);
    let manifest = stored
        .manifest(&evidence.case, &evidence.sha256)
        .map_err(|e| InputError::Evidence(e.to_string()))?
        .ok_or_else(|| InputError::Evidence(gone()))?;
    let name = crate::jobs::input_name(&evidence.case, &evidence.sha256);
    let config = IngestConfig { start: job.start, ..config.clone() };
    Ok(canvass_ingest::ingest_reader(
        Box::new(stored.open(&manifest)),
        &name,
        &job.source_id,
        &config,
        sink,
        on_progress,
    )?)
}

/// Watches a running stream: passes the run's stop on, and stops the stream (and audits it)
/// when its owner's policy no longer allows live access. Returns why it stopped it.
fn watch(
    gate: &OwnerGate,
    governing: &[String],
    job: &Job,
    stream: &str,
    run_stop: &AtomicBool,
    stop: &AtomicBool,
    done: &AtomicBool,
) -> Option<String> {
    let mut last_check = Instant::now();
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if run_stop.load(Ordering::Relaxed) {
            stop.store(true, Ordering::Relaxed);
        }
        if last_check.elapsed() < gate.recheck {
            continue;
        }
        last_check = Instant::now();
        let Err(why) = gate.registry.still_allows(governing, &job.source_id, Some(stream)) else { continue };
        stop.store(true, Ordering::Relaxed);
        tracing::warn!(source = %job.source_id, "live stream stopped: {why}");
        let entry = Action {
            actor: "canvass-ingest".into(),
            role: "system".into(),
            action: "live_stopped_by_owner".into(),
            case: None,
            purpose: None,
            agency: None,
            detail: serde_json::json!({
                "source_id": job.source_id,
                "input": canvass_schemas::strip_credentials(stream),
                "why": why,
            }),
            result_count: None,
        };
        if let Err(e) = gate.audit.record(entry) {
            tracing::error!("cannot audit the stop of {}: {e}", job.source_id);
        }
        return Some(why);
    }
    None
}

/// One entry of the ingest log.
#[derive(Debug, Serialize, Deserialize)]
pub struct IngestLogEntry {
    pub ingested_at: DateTime<Utc>,
    pub input: String,
    pub source_id: String,
    pub ok: bool,
    pub error: Option<String>,
    pub frames_decoded: u64,
    pub frames_sampled: u64,
    pub corrupt_packets: u64,
    pub media_end_s: f64,
    pub wall_clock_source: Option<WallClockSource>,
    pub wall_clock_origin: Option<DateTime<Utc>>,
    /// The stored original, when the input was ingested under a case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceRef>,
}

pub struct IngestLog {
    store: Store,
}

/// Numbers this process's log entries, so two written in the same microsecond differ.
static LOG_ENTRIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl IngestLog {
    pub fn new(store: Store) -> Self {
        IngestLog { store }
    }

    /// Records how ingest of `job` went.
    pub fn append(&self, job: &Job, result: &Result<IngestReport, InputError>) -> Result<(), StageError> {
        let report = result.as_ref().ok();
        let entry = IngestLogEntry {
            ingested_at: Utc::now(),
            input: job.input.clone(),
            source_id: job.source_id.clone(),
            ok: result.is_ok(),
            error: result.as_ref().err().map(|e| e.to_string()),
            frames_decoded: report.map_or(0, |r| r.frames_decoded),
            frames_sampled: report.map_or(0, |r| r.frames_sampled),
            corrupt_packets: report.map_or(0, |r| r.corrupt_packets),
            media_end_s: report.map_or(0.0, |r| r.media_end_us as f64 / 1e6),
            wall_clock_source: report.map(|r| r.wall_clock.source),
            wall_clock_origin: report.map(|r| r.wall_clock.origin),
            evidence: job.evidence.clone(),
        };
        let n = LOG_ENTRIES.fetch_add(1, Ordering::Relaxed);
        let key = keys::ingest_log_entry(entry.ingested_at, std::process::id(), n);
        self.store.put(&key, &serde_json::to_vec(&entry)?)?;
        Ok(())
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> Result<Vec<IngestLogEntry>, StageError> {
        let mut entries = Vec::new();
        for object in self.store.list(keys::INGEST_LOG)? {
            let entry = serde_json::from_slice(&self.store.get(&object.key)?).map_err(|e| {
                StageError::IngestLog(format!("{}: not an ingest log entry: {e}", object.key))
            })?;
            entries.push(entry);
        }
        Ok(entries)
    }

    /// The evidence files to reprocess: the last successful ingest of each file (of `source`
    /// only, if given), with the source id and wall clock it had.
    pub fn files_to_reprocess(&self, source: Option<&str>) -> Result<Vec<Job>, StageError> {
        let mut latest: BTreeMap<String, Job> = BTreeMap::new();
        for entry in self.entries()? {
            let is_file =
                entry.evidence.is_some() || matches!(InputSpec::parse(&entry.input), InputSpec::File(_));
            if !entry.ok || !is_file || source.is_some_and(|s| s != entry.source_id) {
                continue;
            }
            let job = Job {
                input: entry.input.clone(),
                source_id: entry.source_id,
                start: entry.wall_clock_origin,
                evidence: entry.evidence,
            };
            latest.insert(entry.input, job);
        }
        if latest.is_empty() {
            return Err(StageError::IngestLog(
                "nothing to reprocess: no file was ingested successfully into this store".into(),
            ));
        }
        Ok(latest.into_values().collect())
    }
}
