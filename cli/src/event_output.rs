//! Writes detection events where `canvass run` keeps them until the event lake exists:
//! `<data>/events/source=<id>.jsonl` (one JSON event per line, schema
//! `schemas/json/detection_event.v1.json`) and thumbnails at `<data>/<thumbnail_key>`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use canvass_detector::DetectedEvent;

pub struct EventOutput {
    data_dir: PathBuf,
}

impl EventOutput {
    pub fn new(data_dir: &Path) -> Self {
        EventOutput { data_dir: data_dir.to_path_buf() }
    }

    pub fn write(&self, detected: &DetectedEvent) -> anyhow::Result<()> {
        let event = &detected.event;
        let thumb = self.data_dir.join(&event.thumbnail_key);
        if let Some(parent) = thumb.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&thumb, &detected.thumbnail)
            .with_context(|| format!("cannot write {}", thumb.display()))?;
        let events_dir = self.data_dir.join("events");
        std::fs::create_dir_all(&events_dir)?;
        let path = events_dir.join(format!("source={}.jsonl", event.source_id));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        writeln!(file, "{}", serde_json::to_string(event)?)?;
        Ok(())
    }
}
