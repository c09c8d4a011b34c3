//! One input through ingest, in either mode: the camera owner's policy first, then decoding
//! into whatever sink the mode uses. And the ingest log (`<data>/ingest/log.jsonl`): what was
//! ingested, when and how it went, which batch reprocessing reads to find the evidence a source
//! was built from.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use canvass_governance::Registry;
use canvass_ingest::{IngestConfig, IngestError, IngestReport, InputSpec, Progress};
use canvass_schemas::WallClockSource;
use canvass_store::Store;
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
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The camera's owner does not allow this footage to be processed (now).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

/// Ingests `job` into `sink` if the camera's owner allows it.
pub fn ingest(
    registry: &Registry<Store>,
    job: &Job,
    config: &IngestConfig,
    sink: &mut dyn FrameSink,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<IngestReport, InputError> {
    let spec = InputSpec::parse(&job.input);
    let live = !matches!(spec, InputSpec::File(_));
    registry.owner_allows(&job.source_id, live).map_err(InputError::Refused)?;
    let config = IngestConfig { start: job.start, ..config.clone() };
    Ok(canvass_ingest::ingest(&spec, &job.source_id, &config, sink, on_progress)?)
}

/// One line of the ingest log.
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
}

pub struct IngestLog {
    path: PathBuf,
}

impl IngestLog {
    /// The log in data folder `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        IngestLog { path: data_dir.join("ingest").join("log.jsonl") }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends how ingest of `input` went.
    pub fn append(
        &self,
        input: &str,
        source_id: &str,
        result: &Result<IngestReport, InputError>,
    ) -> Result<(), StageError> {
        let report = result.as_ref().ok();
        let entry = IngestLogEntry {
            ingested_at: Utc::now(),
            input: input.to_string(),
            source_id: source_id.to_string(),
            ok: result.is_ok(),
            error: result.as_ref().err().map(|e| e.to_string()),
            frames_decoded: report.map_or(0, |r| r.frames_decoded),
            frames_sampled: report.map_or(0, |r| r.frames_sampled),
            corrupt_packets: report.map_or(0, |r| r.corrupt_packets),
            media_end_s: report.map_or(0.0, |r| r.media_end_us as f64 / 1e6),
            wall_clock_source: report.map(|r| r.wall_clock.source),
            wall_clock_origin: report.map(|r| r.wall_clock.origin),
        };
        if let Some(folder) = self.path.parent() {
            std::fs::create_dir_all(folder).map_err(StageError::io(folder))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(StageError::io(&self.path))?;
        writeln!(file, "{}", serde_json::to_string(&entry)?).map_err(StageError::io(&self.path))
    }

    /// The evidence files to reprocess: the last successful ingest of each file (of `source`
    /// only, if given), with the source id and wall clock it had.
    pub fn files_to_reprocess(&self, source: Option<&str>) -> Result<Vec<Job>, StageError> {
        let display = self.path.display();
        let text = std::fs::read_to_string(&self.path).map_err(|e| {
            StageError::IngestLog(format!("nothing to reprocess: cannot read {display}: {e}"))
        })?;
        let mut latest: BTreeMap<String, Job> = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let entry: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| StageError::IngestLog(format!("{display}: line {} is not JSON: {e}", n + 1)))?;
            let (Some(input), Some(source_id)) = (entry["input"].as_str(), entry["source_id"].as_str())
            else {
                continue;
            };
            let is_file = matches!(InputSpec::parse(input), InputSpec::File(_));
            if entry["ok"] != true || !is_file || source.is_some_and(|s| s != source_id) {
                continue;
            }
            let start = entry["wall_clock_origin"].as_str().and_then(|t| t.parse().ok());
            latest.insert(
                input.to_string(),
                Job { input: input.to_string(), source_id: source_id.to_string(), start },
            );
        }
        if latest.is_empty() {
            return Err(StageError::IngestLog(format!(
                "nothing to reprocess: no successfully ingested file in {display}"
            )));
        }
        Ok(latest.into_values().collect())
    }
}
