//! Running an ingest job of stored evidence, in either mode: the original is read from the
//! store by ranged reads (no local copy), decoded from its start, and its frames handed on from
//! the job's checkpoint; the job's record says how far it got.
//!
//! Frames of stored evidence are named `evidence://<case>/<sha256>`
//! (`canvass_store::evidence::input_name`) whoever reads them and from wherever, so a resumed or
//! repeated job makes the same event ids, and the events carry their case and evidence by that
//! name (`evidence_of`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use canvass_ingest::{IngestConfig, IngestError, IngestReport};
use canvass_schemas::FrameMessage;
use canvass_store::jobs::{Job, JobBook, JobCheckpoint, JobState};
use canvass_store::{Store, StoreError};
use canvass_transport::{FrameSink, TransportError};
use chrono::{DateTime, Utc};

use crate::inputs::{EvidenceRef, InputError, OwnerGate};

/// How often a running job's record is rewritten (and, for Kafka, its frames made durable).
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

pub use canvass_store::evidence::input_name;

/// The stored evidence an input name stands for, if it is one.
pub fn evidence_of(input: &str) -> Option<EvidenceRef> {
    canvass_store::evidence::parse_input_name(input).map(|(case, sha256)| EvidenceRef { case, sha256 })
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NoEvidence(String),
    /// The camera's owner does not allow its footage to be processed.
    #[error("{0}")]
    Refused(String),
    #[error("cannot load the detection models: {0}")]
    Models(String),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl From<InputError> for JobError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Refused(why) | InputError::Revoked(why) => JobError::Refused(why),
            InputError::Evidence(why) => JobError::NoEvidence(why),
            InputError::Ingest(e) => JobError::Ingest(e),
        }
    }
}

/// Hands frames on from the checkpoint, and checkpoints the job as they go.
struct JobSink<'a> {
    inner: &'a mut dyn FrameSink,
    book: &'a JobBook<Store>,
    job: &'a mut Job,
    skip_below: u64,
    origin: Option<DateTime<Utc>>,
    duration_us: Arc<AtomicI64>,
    last_checkpoint: Instant,
    /// The last frame decoded: sequence and media time.
    seen: Option<(u64, i64)>,
}

impl JobSink<'_> {
    /// Makes the frames sent so far durable, then records that they are (never behind where an
    /// earlier worker got: frames skipped on a resume are not progress).
    fn checkpoint(&mut self) -> Result<(), TransportError> {
        let Some((sequence, media_us)) = self.seen else { return Ok(()) };
        let next_sequence = (sequence + 1).max(self.skip_below);
        self.inner.flush()?;
        let media_s = media_us as f64 / 1e6;
        self.job.media_s_done = media_s;
        self.job.frames = next_sequence;
        let total = self.duration_us.load(Ordering::Relaxed);
        self.job.media_s_total = (total > 0).then(|| total as f64 / 1e6);
        if let Some(origin) = self.origin {
            self.job.checkpoint = Some(JobCheckpoint { next_sequence, media_s, wall_clock_origin: origin });
        }
        self.job.updated_at = Utc::now();
        // A lost progress write costs a longer replay after a crash, not the job.
        if let Err(e) = self.book.update(self.job) {
            tracing::warn!(job = %self.job.id, "cannot record the job's progress: {e}");
        }
        self.last_checkpoint = Instant::now();
        Ok(())
    }
}

impl FrameSink for JobSink<'_> {
    fn send(&mut self, frame: FrameMessage) -> Result<(), TransportError> {
        let h = &frame.header;
        self.origin.get_or_insert_with(|| h.wall_time - chrono::Duration::microseconds(h.media_time_us));
        let seen = (h.sequence, h.media_time_us);
        if h.sequence >= self.skip_below {
            self.inner.send(frame)?;
        }
        self.seen = Some(seen);
        if self.last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            self.checkpoint()?;
        }
        Ok(())
    }

    fn end_input(&mut self, source_id: &str, input: &str) -> Result<(), TransportError> {
        self.inner.end_input(source_id, input)
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        self.inner.flush()
    }
}

/// Runs `job` into `sink` as worker `worker`: checks the camera owner's policy, marks the job
/// running, reads the stored original from the job's checkpoint if an earlier worker got that
/// far, says the input ended, and leaves the record running with its last progress; the caller
/// marks it finished (it knows when the frames' events are in). The read is not audited here:
/// the request that made the job was (`evidence_stored` or `reprocess`, with the job's id), and
/// the service is the audit log's one writer.
pub fn run(
    store: &Store,
    gate: &OwnerGate,
    job: &mut Job,
    worker: &str,
    config: &IngestConfig,
    sink: &mut dyn FrameSink,
) -> Result<IngestReport, JobError> {
    let book = JobBook::new(store.clone());
    job.state = JobState::Running;
    job.worker = Some(worker.into());
    job.attempts += 1;
    job.error = None;
    job.updated_at = Utc::now();
    book.update(job)?;

    let resume = job.checkpoint.clone();
    if let Some(at) = &resume {
        tracing::info!(job = %job.id, from_frame = at.next_sequence, media_s = at.media_s, "resuming");
    }
    let evidence = EvidenceRef { case: job.case.clone(), sha256: job.sha256.clone() };
    let input = crate::inputs::Job {
        input: input_name(&job.case, &job.sha256),
        source_id: job.source_id.clone(),
        // A resumed job keeps the wall clock its frames were first given.
        start: resume.as_ref().map(|r| r.wall_clock_origin).or(config.start),
        evidence: Some(evidence.clone()),
    };
    let duration_us = Arc::new(AtomicI64::new(0));
    let seen_duration = duration_us.clone();
    let mut job_sink = JobSink {
        inner: sink,
        book: &book,
        job,
        skip_below: resume.as_ref().map_or(0, |r| r.next_sequence),
        origin: resume.as_ref().map(|r| r.wall_clock_origin),
        duration_us,
        last_checkpoint: Instant::now(),
        seen: None,
    };
    let result = crate::inputs::ingest_stored(
        gate,
        store,
        &input,
        &evidence,
        config,
        &mut job_sink,
        &mut |progress| {
            if let Some(d) = progress.duration_us {
                seen_duration.store(d, Ordering::Relaxed);
            }
        },
    );
    let (source_id, name) = (input.source_id, input.input);
    // Frames sent before a failure (a truncated file) are real footage: their tracks close too.
    job_sink.end_input(&source_id, &name).map_err(|e| JobError::Ingest(e.into()))?;
    // How far it got, also when the file was cut short.
    job_sink.checkpoint().map_err(|e| JobError::Ingest(e.into()))?;
    Ok(result?)
}

/// Records how `job` ended: done (with what was lost, when a cut or unreadable file gave only
/// its first part) or failed, and the events found where the mode counts them.
pub fn finish(
    store: &Store,
    job: &mut Job,
    result: &Result<IngestReport, JobError>,
    events: Option<u64>,
) -> Result<(), StoreError> {
    match result {
        Ok(_) => job.state = JobState::Done,
        Err(JobError::Ingest(
            e @ (IngestError::Truncated { frames_sampled, .. } | IngestError::Read { frames_sampled, .. }),
        )) if *frames_sampled > 0 => {
            job.state = JobState::Done;
            job.warning = Some(e.to_string());
        }
        Err(e) => {
            job.state = JobState::Failed;
            job.error = Some(e.to_string());
        }
    }
    if job.state == JobState::Done {
        job.events = events;
        if let (Ok(_), Some(total)) = (result, job.media_s_total) {
            job.media_s_done = total.max(job.media_s_done);
        }
    }
    job.updated_at = Utc::now();
    JobBook::new(store.clone()).update(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_names_round_trip_and_nothing_else_is_evidence() {
        let sha = "ab".repeat(32);
        let name = input_name("2026-1", &sha);
        assert_eq!(evidence_of(&name), Some(EvidenceRef { case: "2026-1".into(), sha256: sha.clone() }));
        assert_eq!(evidence_of("/cases/2026-1/clip.mp4"), None);
        assert_eq!(evidence_of("evidence://2026-1/not-a-hash"), None);
        assert_eq!(evidence_of(&format!("evidence:///{sha}")), None);
    }
}
