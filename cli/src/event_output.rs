//! Where `canvass run` puts events: the event lake in the data folder (thumbnails at once,
//! events in segments closed by size, by age, or at the end of the run).

use std::time::{Duration, Instant};

use canvass_detector::DetectedEvent;
use canvass_schemas::DetectionEvent;
use canvass_store::{EventLake, LocalStore};

/// Events held before a segment is written.
const SEGMENT_EVENTS: usize = 10_000;
/// How long an event may wait for its segment: a live stream's events become searchable
/// within this time. Longer makes fewer, larger segments.
pub const SEGMENT_MAX_AGE: Duration = Duration::from_secs(60);

pub struct EventOutput {
    lake: EventLake<LocalStore>,
    pending: Vec<DetectionEvent>,
    oldest: Option<Instant>,
    max_age: Duration,
}

impl EventOutput {
    pub fn new(lake: EventLake<LocalStore>, max_age: Duration) -> Self {
        EventOutput { lake, pending: Vec::new(), oldest: None, max_age }
    }

    pub fn write(&mut self, detected: &DetectedEvent) -> anyhow::Result<()> {
        self.lake.put_thumbnail(&detected.event.thumbnail_key, &detected.thumbnail)?;
        self.pending.push(detected.event.clone());
        self.oldest.get_or_insert_with(Instant::now);
        if self.pending.len() >= SEGMENT_EVENTS {
            self.flush()?;
        }
        self.tick()
    }

    /// Closes the segment if its oldest event has waited `max_age`; call it as frames pass.
    pub fn tick(&mut self) -> anyhow::Result<()> {
        if self.oldest.is_some_and(|t| t.elapsed() >= self.max_age) {
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
        self.oldest = None;
        Ok(())
    }
}
