//! An event's footage, from where it is stored: evidence in the store (by ranged reads, in
//! either mode), or a file on this host at the path ingest recorded. Streams keep no footage.

use std::path::Path;

use canvass_ingest::{Clip, ClipMethod, IngestError};
use canvass_schemas::DetectionEvent;
use canvass_store::Store;
use canvass_store::evidence::{EvidenceError, EvidenceStore, parse_input_name};

#[derive(Debug, thiserror::Error)]
pub enum FootageError {
    /// The evidence the event was found in is no longer stored.
    #[error("the evidence of this event ({0}) is gone")]
    Gone(String),
    /// A stream, or a file that is not on this host.
    #[error("the footage of this event ({0}) is not stored here")]
    NotStored(String),
    #[error("cannot cut {input}: {source}")]
    Cut { input: String, source: IngestError },
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
}

/// How an answer names an event's footage: a stream by its URL (credentials were stripped at
/// ingest), a file by its name; the folders of the server are nobody's business.
pub fn shown_input(input: &str) -> String {
    if input.contains("://") {
        return input.to_string();
    }
    Path::new(input).file_name().map_or_else(|| input.to_string(), |n| n.to_string_lossy().into_owned())
}

enum Located {
    Stored(Box<dyn canvass_ingest::MediaRead>),
    File(String),
}

fn locate(evidence: &EvidenceStore<Store>, input: &str) -> Result<Located, FootageError> {
    match parse_input_name(input) {
        Some((case, sha256)) => {
            let manifest =
                evidence.manifest(&case, &sha256)?.ok_or_else(|| FootageError::Gone(shown_input(input)))?;
            Ok(Located::Stored(Box::new(evidence.open(&manifest))))
        }
        None if Path::new(input).is_file() => Ok(Located::File(input.to_string())),
        None => Err(FootageError::NotStored(shown_input(input))),
    }
}

/// The event's best frame as a JPEG at most `max_side` pixels, and the media time of the frame
/// found.
pub fn still_of_event(
    evidence: &EvidenceStore<Store>,
    event: &DetectionEvent,
    max_side: u32,
) -> Result<(Vec<u8>, i64), FootageError> {
    let at = event.best_frame.media_time_us;
    let cut = match locate(evidence, &event.input)? {
        Located::Stored(reader) => canvass_ingest::frame_at_reader(reader, at, max_side),
        Located::File(path) => canvass_ingest::frame_at(&path, at, max_side),
    };
    cut.map_err(|source| FootageError::Cut { input: shown_input(&event.input), source })
}

/// The event's span with `margin_us` each side, as MP4 in `out`.
pub fn clip_of_event(
    evidence: &EvidenceStore<Store>,
    event: &DetectionEvent,
    margin_us: i64,
    method: ClipMethod,
    out: &Path,
) -> Result<Clip, FootageError> {
    let (from, to) = ((event.media_start_us - margin_us).max(0), event.media_end_us + margin_us);
    let cut = match locate(evidence, &event.input)? {
        Located::Stored(reader) => canvass_ingest::clip_reader(reader, from, to, method, out),
        Located::File(path) => canvass_ingest::clip(&path, from, to, method, out),
    };
    cut.map_err(|source| FootageError::Cut { input: shown_input(&event.input), source })
}
