//! The detector stage of the embedded pipeline (`canvass run`): frames off the in-process
//! bounded channel on their own thread (raw RGB: nothing is JPEG-encoded on the way), every
//! frame that moved through every model, events written as their tracks close, and each
//! track's events through the alert rules as they happen. A frame that cannot be read is
//! reported and skipped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::thread::JoinHandle;

use canvass_detector::{DetectedEvent, Detector};
use canvass_ingest::IngestConfig;
use canvass_schemas::{DetectionEvent, FrameMessage, ImageEncoding, TrackPhase};
use canvass_transport::FrameSource;
use canvass_transport::channel::{ChannelSink, channel};

use crate::StageError;
use crate::alerting::Alerting;
use crate::event_writer::EventWriter;

/// Frames in flight between ingest and detection; bounds memory and applies back-pressure.
pub const CHANNEL_CAPACITY: usize = 16;
/// Most frames the detector takes off the queue for one batch.
const MAX_BATCH: usize = 8;

/// `config` for ingest that feeds a detector stage in this process: frames travel as raw RGB,
/// since a JPEG round trip would cost more than the copy it saves.
pub fn in_process(config: &IngestConfig) -> IngestConfig {
    IngestConfig { frame_encoding: ImageEncoding::Rgb24, ..config.clone() }
}

/// What the detector stage took off the queue and made of it.
#[derive(Default)]
pub struct DetectionSummary {
    pub frames: u64,
    /// Image bytes of those frames.
    pub bytes: u64,
    /// Frames the models ran on, and frames of a still scene they did not, by input.
    pub inferred: BTreeMap<String, Inferred>,
    pub bad_frames: u64,
    pub events: Vec<DetectionEvent>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Inferred {
    pub frames: u64,
    pub still: u64,
}

/// The running stage: ingest sends into `sink`; `finish` waits for the stage to drain.
pub struct DetectStage {
    pub sink: ChannelSink,
    thread: JoinHandle<Result<DetectionSummary, StageError>>,
}

impl DetectStage {
    /// Starts the stage. `dump_dir` also keeps every frame as a JPEG; `alerting` hears of
    /// every track as it opens, goes on and closes; `on_error` hears of each frame that could
    /// not be processed (the run goes on).
    pub fn start(
        detector: Detector,
        events: EventWriter,
        dump_dir: Option<PathBuf>,
        alerting: Option<Alerting>,
        on_error: impl Fn(&str) + Send + 'static,
    ) -> Result<Self, StageError> {
        let (sink, source) = channel(CHANNEL_CAPACITY);
        let stage = Stage { detector, events, dump_dir, alerting };
        let thread = std::thread::Builder::new()
            .name("detect".into())
            .spawn(move || detect_frames(source, stage, &on_error))
            .map_err(StageError::io("the detector thread"))?;
        Ok(DetectStage { sink, thread })
    }

    /// Closes the queue and waits for every frame in it to be processed and written.
    pub fn finish(self) -> Result<DetectionSummary, StageError> {
        drop(self.sink);
        self.thread.join().map_err(|_| StageError::Panicked)?
    }
}

/// What the stage's thread owns.
struct Stage {
    detector: Detector,
    events: EventWriter,
    dump_dir: Option<PathBuf>,
    alerting: Option<Alerting>,
}

impl Stage {
    /// Closed tracks: to the lake, then (with their thumbnail key) through the alert rules.
    fn record(&mut self, closed: Vec<DetectedEvent>, summary: &mut DetectionSummary) {
        for detected in closed {
            // The alert carries the stored event (its thumbnail key named) and the thumbnail.
            let for_alert =
                self.alerting.is_some().then(|| (detected.thumbnail.clone(), detected.confirmed_at));
            let event = self.events.add((), detected).clone();
            if let (Some(alerting), Some((thumbnail, confirmed_at))) = (&mut self.alerting, for_alert) {
                let stored = DetectedEvent { event: event.clone(), thumbnail, confirmed_at };
                alerting.track(TrackPhase::Closed, &stored);
            }
            summary.events.push(event);
        }
    }
}

fn detect_frames(
    mut source: impl FrameSource,
    mut stage: Stage,
    on_error: &dyn Fn(&str),
) -> Result<DetectionSummary, StageError> {
    let mut summary = DetectionSummary::default();
    loop {
        // Block for one frame, then take whatever else has queued up behind it.
        let mut batch = Vec::new();
        match source.recv() {
            Ok(Some(frame)) => batch.push(frame),
            Ok(None) => break,
            Err(e) => {
                on_error(&format!("frame queue: {e}"));
                summary.bad_frames += 1;
                continue;
            }
        }
        while batch.len() < MAX_BATCH {
            match source.try_recv() {
                Ok(Some(frame)) => batch.push(frame),
                Ok(None) => break,
                Err(e) => {
                    on_error(&format!("frame queue: {e}"));
                    summary.bad_frames += 1;
                }
            }
        }
        for frame in &batch {
            let h = &frame.header;
            if let Some(dir) = &stage.dump_dir {
                let folder = dir.join(&h.source_id);
                std::fs::create_dir_all(&folder).map_err(StageError::io(&folder))?;
                let path = folder.join(format!("{:06}_{:011}us.jpg", h.sequence, h.media_time_us));
                std::fs::write(&path, jpeg_of(frame)?).map_err(StageError::io(&path))?;
            }
            summary.frames += 1;
            summary.bytes += frame.image.len() as u64;
        }
        match stage.detector.process_batch(&batch) {
            Ok(outcome) => {
                for (input, moved) in outcome.inferred {
                    let counts = summary.inferred.entry(input).or_default();
                    if moved { counts.frames += 1 } else { counts.still += 1 }
                }
                for error in outcome.bad_frames {
                    on_error(&error.to_string());
                    summary.bad_frames += 1;
                }
                if let Some(alerting) = &mut stage.alerting {
                    for notice in &outcome.notices {
                        alerting.track(notice.phase, &notice.detected);
                    }
                }
                stage.record(outcome.events, &mut summary);
            }
            Err(e) => {
                on_error(&e.to_string());
                summary.bad_frames += batch.len() as u64;
            }
        }
        stage.events.tick()?;
    }
    let closed = stage.detector.finish();
    stage.record(closed, &mut summary);
    stage.events.write_segment()?;
    Ok(summary)
}

/// A frame's image as JPEG, for `--dump-frames`.
fn jpeg_of(frame: &FrameMessage) -> Result<std::borrow::Cow<'_, [u8]>, StageError> {
    let h = &frame.header;
    if h.encoding == ImageEncoding::Jpeg {
        return Ok(std::borrow::Cow::Borrowed(&frame.image));
    }
    let jpeg = canvass_ingest::encode_jpeg(&frame.image, h.width, h.height, 90)
        .map_err(|e| StageError::Frame(format!("frame {} of {}: {e}", h.sequence, h.source_id)))?;
    Ok(std::borrow::Cow::Owned(jpeg))
}
