//! The embedded mode's job queue: `canvass serve` runs queued ingest jobs one at a time on a
//! thread of its own, through the same detector stage as `canvass run`. The queue is the job
//! records in the store: at start every unfinished job is queued again, from its start (the
//! detector state of a job cut off by a restart died with the process; the events it had
//! written come out again with the same ids, which readers drop as duplicates).

use std::sync::Mutex;
use std::sync::mpsc;

use canvass_detector::{Detector, DetectorConfig};
use canvass_ingest::IngestConfig;
use canvass_store::jobs::{Job, JobBook};
use canvass_store::{EventLake, Store};

use crate::embedded::DetectStage;
use crate::inputs::OwnerGate;
use crate::jobs::{self, JobError};
use crate::{EventWriter, SEGMENT_MAX_AGE, StageError};

pub struct EmbeddedJobs {
    queue: Mutex<mpsc::Sender<String>>,
}

impl EmbeddedJobs {
    /// Starts the runner thread and queues the jobs a previous process left unfinished.
    pub fn start(
        store: Store,
        gate: OwnerGate,
        detector: DetectorConfig,
        config: IngestConfig,
    ) -> Result<Self, StageError> {
        let (queue, next) = mpsc::channel::<String>();
        let book = JobBook::new(store.clone());
        let mut left: Vec<Job> = book.list(None)?.into_iter().filter(|j| !j.is_finished()).collect();
        left.sort_by_key(|j| j.created_at);
        for job in left {
            tracing::info!(job = %job.id, "queued again after a restart");
            queue.send(job.id).expect("the receiver is here");
        }
        std::thread::Builder::new()
            .name("jobs".into())
            .spawn(move || {
                for id in next {
                    if let Err(e) = run_one(&store, &book, &gate, &detector, &config, &id) {
                        tracing::error!(job = %id, "job runner: {e}");
                    }
                }
            })
            .map_err(|e| StageError::Io { path: "the jobs thread".into(), source: e })?;
        Ok(EmbeddedJobs { queue: Mutex::new(queue) })
    }

    pub fn submit(&self, id: &str) -> Result<(), String> {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(id.to_string())
            .map_err(|_| "the job runner has stopped".to_string())
    }
}

fn run_one(
    store: &Store,
    book: &JobBook<Store>,
    gate: &OwnerGate,
    detector: &DetectorConfig,
    config: &IngestConfig,
    id: &str,
) -> Result<(), StageError> {
    let Some(mut job) = book.get(id)? else {
        tracing::warn!(job = %id, "no record of the job");
        return Ok(());
    };
    if job.is_finished() {
        return Ok(());
    }
    job.checkpoint = None;
    // Each job sees the registry as it is when it starts (a zone drawn since counts).
    let mut detector_config = detector.clone();
    detector_config.scenes = crate::scenes::scenes(store.clone())?;
    let detector = match Detector::new(detector_config) {
        Ok(detector) => detector,
        Err(e) => {
            let failed = Err(JobError::Models(e.to_string()));
            return Ok(jobs::finish(store, &mut job, &failed, None)?);
        }
    };
    let events = EventWriter::new(EventLake::new(store.clone()), SEGMENT_MAX_AGE);
    let job_id = job.id.clone();
    let mut stage = DetectStage::start(detector, events, None, None, move |e| {
        tracing::error!(job = %job_id, "frame: {e}");
    })?;
    let config = crate::embedded::in_process(config);
    let result = jobs::run(store, gate, &mut job, "embedded", &config, &mut stage.sink);
    let summary = stage.finish()?;
    tracing::info!(job = %job.id, frames = summary.frames, events = summary.events.len(), ok = result.is_ok(), "job finished");
    jobs::finish(store, &mut job, &result, Some(summary.events.len() as u64))?;
    Ok(())
}
