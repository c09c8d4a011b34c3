//! Where `canvass run` puts events: the event lake in the data folder (thumbnails at once,
//! events in segments closed by size, by age, or at the end of the run).

use std::time::{Duration, Instant};

use canvass_detector::DetectedEvent;
use canvass_schemas::DetectionEvent;
use canvass_serve::Store;
use canvass_store::EventLake;

/// Events held before a segment is written.
const SEGMENT_EVENTS: usize = 10_000;
/// How long an event may wait for its segment: a live stream's events become searchable
/// within this time. Longer makes fewer, larger segments.
pub const SEGMENT_MAX_AGE: Duration = Duration::from_secs(60);

pub struct EventOutput {
    lake: EventLake<Store>,
    pending: Vec<DetectionEvent>,
    oldest: Option<Instant>,
    max_age: Duration,
}

impl EventOutput {
    pub fn new(lake: EventLake<Store>, max_age: Duration) -> Self {
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

#[cfg(test)]
mod tests {
    use canvass_store::{LocalStore, ObjectStore};

    use super::*;

    fn detected(n: u64) -> DetectedEvent {
        let event: DetectionEvent = serde_json::from_value(serde_json::json!({
            "schema_version": canvass_schemas::EVENT_SCHEMA_VERSION,
            "event_id": format!("{n:032x}"),
            "source_id": "cam", "input": "live.sdp", "category": "vehicle", "class": "car",
            "taxonomy_label": "vehicle/car", "model_class": "car", "attributes": {},
            "confidence": 0.8, "mean_confidence": 0.7, "frames": 2,
            "media_start_us": 0, "media_end_us": 500000,
            "wall_start": "2026-11-20T10:00:00Z", "wall_end": "2026-11-20T10:00:01Z",
            "best_frame": { "sequence": n, "media_time_us": 0, "confidence": 0.8,
                            "bbox": { "x": 0.1, "y": 0.1, "width": 0.2, "height": 0.2 } },
            "thumbnail_key": format!("thumbs/source=cam/{n:032x}.jpg"),
            "model": { "name": "m", "version": "1", "sha256": "ab" },
        }))
        .unwrap();
        DetectedEvent { event, thumbnail: vec![0xff, 0xd8] }
    }

    fn segments(dir: &std::path::Path) -> usize {
        let lake = EventLake::new(LocalStore::new(dir));
        lake.store().list("events/").unwrap().iter().filter(|o| o.key.ends_with(".parquet")).count()
    }

    #[test]
    fn segments_close_when_their_oldest_event_has_waited_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let store: Store = std::sync::Arc::new(LocalStore::new(dir.path()));
        let mut output = EventOutput::new(EventLake::new(store), Duration::from_millis(50));
        output.write(&detected(1)).unwrap();
        output.tick().unwrap();
        assert_eq!(segments(dir.path()), 0, "too young to close");
        std::thread::sleep(Duration::from_millis(60));
        output.tick().unwrap();
        assert_eq!(segments(dir.path()), 1, "closed by age, with no new event arriving");
        output.write(&detected(2)).unwrap();
        output.flush().unwrap();
        assert_eq!(segments(dir.path()), 2);
    }
}
