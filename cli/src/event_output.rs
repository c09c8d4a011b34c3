//! Where `canvass run` puts events: the event lake in the data folder (thumbnails at once,
//! events in segments closed by size or at the end of the run).

use canvass_detector::DetectedEvent;
use canvass_schemas::DetectionEvent;
use canvass_store::{EventLake, LocalStore};

/// Events held before a segment is written.
const SEGMENT_EVENTS: usize = 10_000;

pub struct EventOutput {
    lake: EventLake<LocalStore>,
    pending: Vec<DetectionEvent>,
}

impl EventOutput {
    pub fn new(lake: EventLake<LocalStore>) -> Self {
        EventOutput { lake, pending: Vec::new() }
    }

    pub fn write(&mut self, detected: &DetectedEvent) -> anyhow::Result<()> {
        self.lake.put_thumbnail(&detected.event.thumbnail_key, &detected.thumbnail)?;
        self.pending.push(detected.event.clone());
        if self.pending.len() >= SEGMENT_EVENTS {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the pending events as segments.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        if !self.pending.is_empty() {
            self.lake.write(&self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }
}
