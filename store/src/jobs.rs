//! Ingest jobs: stored evidence to decode and detect, with where it stands. One record per job
//! (`jobs/v1/<id>.json`), in the store so every replica of `serve` and every worker reads the
//! same state; the worker running a job rewrites its record as it goes, and a worker that takes
//! the job over after a crash resumes from the checkpoint the record holds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::secret::{is_id, new_id};
use crate::{ObjectStore, StoreError, keys};

pub const JOB_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

/// Where a job's frames stand, so another worker carries on from there: frames before
/// `next_sequence` are published, and the wall clock they were given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobCheckpoint {
    pub next_sequence: u64,
    pub media_s: f64,
    pub wall_clock_origin: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub version: u32,
    pub id: String,
    pub case: String,
    /// The stored original (`evidence/v1/case=<case>/sha256=<sha256>/`).
    pub sha256: String,
    pub original_name: String,
    pub source_id: String,
    /// Who asked for it (the uploader, or who asked for reprocessing), and why.
    pub submitted_by: String,
    pub reason: String,
    pub state: JobState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Media seconds decoded, of the total the file declares.
    pub media_s_done: f64,
    pub media_s_total: Option<f64>,
    pub frames: u64,
    /// Events found; the embedded mode counts them, the distributed mode's detectors do not
    /// report back to the job.
    pub events: Option<u64>,
    pub error: Option<String>,
    /// A job done with a loss: what of the file could not be decoded.
    pub warning: Option<String>,
    /// Which worker has (or last had) it.
    pub worker: Option<String>,
    pub attempts: u32,
    pub checkpoint: Option<JobCheckpoint>,
}

impl Job {
    /// A new queued job of stored evidence.
    pub fn queued(
        case: &str,
        sha256: &str,
        original_name: &str,
        source_id: &str,
        submitted_by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Job {
        Job {
            version: JOB_VERSION,
            id: new_id(),
            case: case.into(),
            sha256: sha256.into(),
            original_name: original_name.into(),
            source_id: source_id.into(),
            submitted_by: submitted_by.into(),
            reason: reason.into(),
            state: JobState::Queued,
            created_at: now,
            updated_at: now,
            media_s_done: 0.0,
            media_s_total: None,
            frames: 0,
            events: None,
            error: None,
            warning: None,
            worker: None,
            attempts: 0,
            checkpoint: None,
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.state, JobState::Done | JobState::Failed)
    }
}

/// The job records.
pub struct JobBook<S> {
    store: S,
}

impl<S: ObjectStore> JobBook<S> {
    pub fn new(store: S) -> Self {
        JobBook { store }
    }

    /// Records a new job.
    pub fn create(&self, job: &Job) -> Result<(), StoreError> {
        let key = keys::job(&job.id);
        if !self.store.put_new(&key, &serde_json::to_vec_pretty(job).expect("jobs serialise"))? {
            return Err(StoreError::PreconditionFailed(key));
        }
        Ok(())
    }

    /// Writes where `job` stands now.
    pub fn update(&self, job: &Job) -> Result<(), StoreError> {
        self.store.put(&keys::job(&job.id), &serde_json::to_vec_pretty(job).expect("jobs serialise"))
    }

    pub fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        if !is_id(id) {
            return Ok(None);
        }
        match self.store.get(&keys::job(id)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("job {id} is not readable: {e}"))),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every job (of `case` only, if given), newest first; unreadable records are skipped with
    /// an error in the log.
    pub fn list(&self, case: Option<&str>) -> Result<Vec<Job>, StoreError> {
        let mut jobs = Vec::new();
        for object in self.store.list(keys::JOBS)? {
            let id = object.key.trim_start_matches(keys::JOBS).trim_end_matches(".json");
            match self.get(id) {
                Ok(Some(job)) if case.is_none_or(|c| c == job.case) => jobs.push(job),
                Ok(_) => {}
                Err(StoreError::Corrupt(why)) => tracing::error!("{why}"),
                Err(e) => return Err(e),
            }
        }
        jobs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(jobs)
    }
}
