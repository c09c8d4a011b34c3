//! The detector stage for a stream of frame messages: every model on every frame that moved
//! (motion gating), colour for vehicles, tracking per source and input, events with thumbnails
//! when tracks close.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use canvass_schemas::{
    Attributes, BestFrame, BodyType, BoundingBox, Category, ColourAttribute, DetectionEvent,
    EVENT_SCHEMA_VERSION, EventId, FrameMessage, ImageEncoding, ObjectClass, TrackPhase, colour_distribution,
    colour_scores,
};
use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;

use crate::classifier::{Classifier, ClassifierManifest, CropAttributes, fold_class, fold_colour};
use crate::colour::{ColourReading, exposure_reference, vehicle_colour};
use crate::confusions::resolve;
use crate::manifest::Manifest;
use crate::model::Model;
use crate::motion::{MotionConfig, MotionGate};
use crate::scene::{Scene, Scenes};
use crate::state::StreamState;
use crate::track::{Observation, Track, Tracker, TrackerConfig};
use crate::{DetectorError, RawDetection};

/// Context around the object in thumbnails, as a fraction of the box size on each side.
const THUMBNAIL_MARGIN: f32 = 0.25;
const THUMBNAIL_QUALITY: u8 = 85;

#[derive(Debug, Clone)]
pub struct DetectorConfig {
    /// Folder the manifests' `file` paths are relative to (the set-up step's `assets/models`).
    pub models_dir: PathBuf,
    /// Manifests of the models to run, each on every frame.
    pub manifests: Vec<PathBuf>,
    /// ONNX Runtime intra-op threads per model; 0 lets ONNX Runtime choose.
    pub intra_threads: usize,
    pub tracker: TrackerConfig,
    pub motion: MotionConfig,
    /// Cameras' headings and zones, by source (from the registry).
    pub scenes: Scenes,
    /// Manifests of crop classifiers (`kind = "classifier"`) run on each event's best crop.
    pub classifiers: Vec<PathBuf>,
    /// Boxes whose shorter side is below this many pixels get no colour, by class (others:
    /// `DEFAULT_MIN_ATTRIBUTE_BOX_PX`). A two-wheeler's box is mostly its rider.
    pub min_attribute_box_px: BTreeMap<ObjectClass, u32>,
}

impl DetectorConfig {
    /// The detectors and crop classifiers the manifests name, loaded and checked.
    pub fn load_models(&self) -> Result<(Vec<Model>, Vec<Classifier>), DetectorError> {
        let mut models = Vec::new();
        for path in &self.manifests {
            models.push(Model::load(Manifest::load(path)?, &self.models_dir, self.intra_threads)?);
        }
        let mut classifiers = Vec::new();
        for path in &self.classifiers {
            let manifest = ClassifierManifest::load(path)?;
            classifiers.push(Classifier::load(manifest, &self.models_dir, self.intra_threads)?);
        }
        Ok((models, classifiers))
    }

    /// The colour of a detection, where it is a vehicle whose box is big enough to name one.
    pub fn colour_of(&self, image: &RgbImage, d: &RawDetection, exposure: f32) -> Option<ColourReading> {
        let shorter_side = (d.bbox[2] - d.bbox[0]).min(d.bbox[3] - d.bbox[1]);
        let min = *self.min_attribute_box_px.get(&d.class).unwrap_or(&DEFAULT_MIN_ATTRIBUTE_BOX_PX);
        (d.class.category() == Category::Vehicle && shorter_side >= min as f32)
            .then(|| vehicle_colour(image, d.bbox, exposure))
            .flatten()
    }
}

/// The shorter side a box needs for its colour to be named, unless configured per class.
pub const DEFAULT_MIN_ATTRIBUTE_BOX_PX: u32 = 16;

/// Per-class minimum box sizes for attributes: two-wheelers need more, since the rider's
/// clothes fill a small box.
pub fn default_min_attribute_box_px() -> BTreeMap<ObjectClass, u32> {
    [(ObjectClass::Motorcycle, 32), (ObjectClass::Bicycle, 32)].into()
}

/// What a batch of frames produced.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Events of tracks that closed.
    pub events: Vec<DetectedEvent>,
    /// Frames that were skipped because their image could not be read.
    pub bad_frames: Vec<DetectorError>,
    /// Frames skipped because their stream had tracked them already.
    pub replayed: u64,
    /// Each frame tracked, by its input, and whether the models ran on it (false: a still
    /// scene, the last detections stood for it).
    pub inferred: Vec<(String, bool)>,
    /// Tracks confirmed (`opened`) or still in view (`updated`, rate-limited) in this batch,
    /// as the events they are so far; their `closed` counterparts are in `events`.
    pub notices: Vec<TrackNotice>,
}

/// An open track's event so far, announced before the track closes.
#[derive(Debug, Clone)]
pub struct TrackNotice {
    pub phase: TrackPhase,
    pub detected: DetectedEvent,
}

/// A closed event and the JPEG thumbnail of its best frame. `event.thumbnail_key` is empty: the
/// stage that stores the thumbnail names it.
#[derive(Debug, Clone)]
pub struct DetectedEvent {
    pub event: DetectionEvent,
    pub thumbnail: Vec<u8>,
    /// Wall-clock time of the frame that confirmed the track (where alert latency starts).
    pub confirmed_at: chrono::DateTime<chrono::Utc>,
}

struct Stream {
    trackers: Vec<Tracker>,
    frame_size: (u32, u32),
    /// The last frame tracked: a frame at or before it is a replay (an ingest job resumed by
    /// another worker publishes again what its predecessor sent after its last checkpoint).
    last_sequence: Option<u64>,
    motion: MotionGate,
    /// Each model's observations on the last inferred frame: what a still frame is taken to show.
    coasting: Vec<Vec<Observation>>,
}

impl Stream {
    fn new(model_count: usize, frame_size: (u32, u32)) -> Self {
        Stream {
            trackers: (0..model_count).map(|_| Tracker::default()).collect(),
            frame_size,
            last_sequence: None,
            motion: MotionGate::default(),
            coasting: vec![Vec::new(); model_count],
        }
    }
}

pub struct Detector {
    models: Vec<Model>,
    classifiers: Vec<Classifier>,
    config: DetectorConfig,
    /// Keyed by (source, input): a track never spans two recordings.
    streams: HashMap<(String, String), Stream>,
    /// Time each model took on the last batch, in model order (for metrics).
    inference_times: Vec<std::time::Duration>,
}

impl Detector {
    pub fn new(config: DetectorConfig) -> Result<Self, DetectorError> {
        let (models, classifiers) = config.load_models()?;
        Ok(Detector { models, classifiers, config, streams: HashMap::new(), inference_times: Vec::new() })
    }

    pub fn models(&self) -> &[Model] {
        &self.models
    }

    /// How long each model (in `models()` order) took on the last batch it ran; empty when the
    /// last batch was all still frames (nothing ran).
    pub fn inference_times(&self) -> &[std::time::Duration] {
        &self.inference_times
    }

    /// Runs every model on one frame; returns the events of tracks that closed.
    pub fn process(&mut self, frame: &FrameMessage) -> Result<Vec<DetectedEvent>, DetectorError> {
        let mut batch = self.process_batch(std::slice::from_ref(frame))?;
        match batch.bad_frames.pop() {
            Some(error) => Err(error),
            None => Ok(batch.events),
        }
    }

    /// Runs every model on the frames that queued up together and moved (one session run per
    /// model where the model takes a dynamic batch), then tracks them in order; a still frame
    /// is tracked with its stream's last detections. A frame whose image cannot be read is
    /// reported in `bad_frames` and the others go on; an inference failure fails the batch.
    pub fn process_batch(&mut self, frames: &[FrameMessage]) -> Result<BatchOutcome, DetectorError> {
        let mut outcome = BatchOutcome::default();
        // Best crops of the events and notices made here, for the crop classifiers.
        let mut crops: Vec<(Slot, RgbImage)> = Vec::new();
        self.inference_times.clear();
        let mut readable = Vec::with_capacity(frames.len());
        let mut last_seen: HashMap<(&str, &str), u64> = HashMap::new();
        for frame in frames {
            let h = &frame.header;
            let key = (h.source_id.as_str(), h.input.as_str());
            let last = last_seen.get(&key).copied().or_else(|| {
                self.streams.get(&(h.source_id.clone(), h.input.clone())).and_then(|s| s.last_sequence)
            });
            if last.is_some_and(|last| h.sequence <= last) {
                outcome.replayed += 1;
                continue;
            }
            last_seen.insert(key, h.sequence);
            match frame_image(frame) {
                Ok(image) => readable.push((frame, image)),
                Err(reason) => outcome.bad_frames.push(DetectorError::BadFrame {
                    source_id: h.source_id.clone(),
                    sequence: h.sequence,
                    reason,
                }),
            }
        }
        if readable.is_empty() {
            return Ok(outcome);
        }
        let model_count = self.models.len();
        let mut moved = Vec::with_capacity(readable.len());
        for (frame, image) in &readable {
            let h = &frame.header;
            let stream = self
                .streams
                .entry((h.source_id.clone(), h.input.clone()))
                .or_insert_with(|| Stream::new(model_count, image.dimensions()));
            let tracking = stream.trackers.iter().any(|t| !t.open_tracks().is_empty());
            moved.push(stream.motion.must_infer(image, h.media_time_us, tracking, &self.config.motion));
        }
        let images: Vec<&RgbImage> =
            readable.iter().zip(&moved).filter(|(_, moved)| **moved).map(|((_, image), _)| image).collect();
        outcome.inferred =
            readable.iter().zip(&moved).map(|((f, _), m)| (f.header.input.clone(), *m)).collect();
        let mut detections = Vec::with_capacity(model_count);
        for model in &mut self.models {
            if images.is_empty() {
                detections.push(Vec::new().into_iter());
                continue;
            }
            let started = std::time::Instant::now();
            detections.push(model.detect_batch(&images)?.into_iter());
            self.inference_times.push(started.elapsed());
        }
        for ((frame, image), moved) in readable.iter().zip(moved) {
            let h = &frame.header;
            let exposure = if moved { exposure_reference(image) } else { 0.0 };
            let stream = self.streams.get_mut(&(h.source_id.clone(), h.input.clone())).expect("made above");
            let scene = self.config.scenes.get(&h.source_id);
            let zones = scene.map_or(&[][..], |s| &s.zones[..]);
            stream.frame_size = image.dimensions();
            stream.last_sequence = Some(h.sequence);
            for (m, (model, tracker)) in self.models.iter().zip(&mut stream.trackers).enumerate() {
                let observations: Vec<Observation> = if moved {
                    let found = detections[m].next().expect("one result per inferred frame");
                    let seen: Vec<Observation> = resolve(found)
                        .into_iter()
                        .map(|d| {
                            let reading = self.config.colour_of(image, &d, exposure);
                            observe(d, reading, frame)
                        })
                        .collect();
                    stream.coasting[m] = seen.clone();
                    seen
                } else {
                    stream.coasting[m].iter().map(|o| coast(o, frame)).collect()
                };
                let update = tracker.update(observations, h.sequence, h.media_time_us, &self.config.tracker);
                tracker.observe_motion(h.sequence, stream.frame_size, zones);
                for track in update.closed {
                    if !self.classifiers.is_empty()
                        && let Some(crop) = tight_crop(&track)
                    {
                        crops.push((Slot::Event(outcome.events.len()), crop));
                    }
                    outcome.events.push(to_event(
                        &track,
                        &h.source_id,
                        &h.input,
                        model,
                        stream.frame_size,
                        scene,
                    ));
                }
                for index in update.improved {
                    let crop = thumbnail_crop(image, tracker.open_tracks()[index].best.bbox);
                    tracker.set_best_crop(index, crop);
                }
                let announced = update.opened.iter().map(|i| (TrackPhase::Opened, *i));
                for (phase, index) in
                    announced.chain(update.updated.iter().map(|i| (TrackPhase::Updated, *i)))
                {
                    let track = &tracker.open_tracks()[index];
                    let detected = to_event(track, &h.source_id, &h.input, model, stream.frame_size, scene);
                    if !self.classifiers.is_empty()
                        && let Some(crop) = tight_crop(track)
                    {
                        crops.push((Slot::Notice(outcome.notices.len()), crop));
                    }
                    outcome.notices.push(TrackNotice { phase, detected });
                }
            }
        }
        let mut crops: HashMap<Slot, RgbImage> = crops.into_iter().collect();
        let events = outcome.events.iter_mut().enumerate().map(|(i, e)| (Slot::Event(i), e));
        let notices = outcome.notices.iter_mut().enumerate().map(|(i, n)| (Slot::Notice(i), &mut n.detected));
        let items =
            events.chain(notices).filter_map(|(slot, e)| crops.remove(&slot).map(|crop| (e, crop))).collect();
        classify_events(&mut self.classifiers, items);
        Ok(outcome)
    }

    /// Closes every open track (end of all inputs); returns their events.
    pub fn finish(&mut self) -> Vec<DetectedEvent> {
        let mut keys: Vec<_> = self.streams.keys().cloned().collect();
        keys.sort();
        keys.into_iter().flat_map(|(source_id, input)| self.finish_input(&source_id, &input)).collect()
    }

    /// Closes the open tracks of one input (it has ended); returns their events.
    pub fn finish_input(&mut self, source_id: &str, input: &str) -> Vec<DetectedEvent> {
        let Some(stream) = self.streams.remove(&(source_id.to_string(), input.to_string())) else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let mut crops = Vec::new();
        let scene = self.config.scenes.get(source_id);
        for (model, mut tracker) in self.models.iter().zip(stream.trackers) {
            for track in tracker.finish(&self.config.tracker) {
                crops.push(if self.classifiers.is_empty() { None } else { tight_crop(&track) });
                events.push(to_event(&track, source_id, input, model, stream.frame_size, scene));
            }
        }
        let items = events.iter_mut().zip(crops).filter_map(|(e, crop)| crop.map(|c| (e, c))).collect();
        classify_events(&mut self.classifiers, items);
        events
    }

    /// The open tracks of the streams whose source `select` picks, for a checkpoint.
    pub fn save_streams(&self, select: impl Fn(&str) -> bool) -> Vec<StreamState> {
        let models: Vec<String> = self.models.iter().map(|m| m.reference.sha256.clone()).collect();
        let mut saved: Vec<StreamState> = self
            .streams
            .iter()
            .filter(|((source_id, _), _)| select(source_id))
            .map(|((source_id, input), stream)| StreamState {
                source_id: source_id.clone(),
                input: input.clone(),
                frame_size: stream.frame_size,
                last_sequence: stream.last_sequence,
                models: models.clone(),
                trackers: stream.trackers.clone(),
                motion: stream.motion.clone(),
                coasting: stream.coasting.clone(),
            })
            .collect();
        saved.sort_by(|a, b| (&a.source_id, &a.input).cmp(&(&b.source_id, &b.input)));
        saved
    }

    /// Resumes streams from a checkpoint. State saved under other models cannot continue
    /// here: those streams start afresh, and the count of them is returned.
    pub fn restore_streams(&mut self, saved: Vec<StreamState>) -> usize {
        let models: Vec<&str> = self.models.iter().map(|m| m.reference.sha256.as_str()).collect();
        let mut skipped = 0;
        for state in saved {
            if state.models.iter().map(String::as_str).ne(models.iter().copied()) {
                skipped += 1;
                continue;
            }
            let model_count = state.trackers.len();
            let coasting = match state.coasting.len() {
                0 => vec![Vec::new(); model_count],
                _ => state.coasting,
            };
            let stream = Stream {
                trackers: state.trackers,
                frame_size: state.frame_size,
                last_sequence: state.last_sequence,
                motion: state.motion,
                coasting,
            };
            self.streams.insert((state.source_id, state.input), stream);
        }
        skipped
    }

    /// Drops the streams whose source `select` picks (their partition moved to another worker,
    /// which resumes them from the checkpoint).
    pub fn forget_streams(&mut self, select: impl Fn(&str) -> bool) {
        self.streams.retain(|(source_id, _), _| !select(source_id));
    }
}

fn observe(d: RawDetection, reading: Option<ColourReading>, frame: &FrameMessage) -> Observation {
    let class = d.class;
    let (colour, colours) = match reading {
        Some(r) => (Some(r.top), colour_distribution(r.scores)),
        None => (None, Vec::new()),
    };
    Observation {
        class,
        model_class: d.model_class,
        score: d.score,
        bbox: d.bbox,
        colour,
        colours,
        sequence: frame.header.sequence,
        media_time_us: frame.header.media_time_us,
        wall_time: frame.header.wall_time,
    }
}

/// A frame's pixels: JPEG from Kafka, raw RGB from the in-process channel.
fn frame_image(frame: &FrameMessage) -> Result<RgbImage, String> {
    let h = &frame.header;
    match h.encoding {
        ImageEncoding::Jpeg => image::load_from_memory_with_format(&frame.image, image::ImageFormat::Jpeg)
            .map(|image| image.to_rgb8())
            .map_err(|e| e.to_string()),
        ImageEncoding::Rgb24 => {
            let wanted = u64::from(h.width) * u64::from(h.height) * 3;
            if wanted == 0 || frame.image.len() as u64 != wanted {
                return Err(format!(
                    "rgb24 image of {} bytes is not {}x{} pixels",
                    frame.image.len(),
                    h.width,
                    h.height
                ));
            }
            Ok(RgbImage::from_raw(h.width, h.height, frame.image.clone()).expect("length checked"))
        }
    }
}

/// A detection of the last inferred frame, standing for a still frame.
fn coast(seen: &Observation, frame: &FrameMessage) -> Observation {
    let h = &frame.header;
    Observation {
        sequence: h.sequence,
        media_time_us: h.media_time_us,
        wall_time: h.wall_time,
        ..seen.clone()
    }
}

/// Where an event came from in a batch: its closed events, or its notices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    Event(usize),
    Notice(usize),
}

/// The top-left corner of the thumbnail crop of `bbox`.
fn thumbnail_origin(bbox: [f32; 4]) -> (u32, u32) {
    let (w, h) = (bbox[2] - bbox[0], bbox[3] - bbox[1]);
    ((bbox[0] - w * THUMBNAIL_MARGIN).max(0.0) as u32, (bbox[1] - h * THUMBNAIL_MARGIN).max(0.0) as u32)
}

/// The best frame's box alone, cut from the thumbnail crop the track keeps (no frame is kept).
fn tight_crop(track: &Track) -> Option<RgbImage> {
    let crop = track.best_crop.as_ref()?;
    let b = track.best.bbox;
    let (x1, y1) = thumbnail_origin(b);
    let (ox, oy) = ((b[0].max(0.0) as u32).saturating_sub(x1), (b[1].max(0.0) as u32).saturating_sub(y1));
    let w = ((b[2] - b[0]) as u32).min(crop.width().saturating_sub(ox));
    let h = ((b[3] - b[1]) as u32).min(crop.height().saturating_sub(oy));
    (w > 0 && h > 0).then(|| image::imageops::crop_imm(crop, ox, oy, w, h).to_image())
}

/// Runs each crop classifier once over the crops it reads (one batch) and folds what it says
/// into the events: colour fused with the namer's, a body type that replaces the detector's
/// class when sure enough. A classifier that fails is logged and the events keep the namer's
/// attributes: nothing is lost.
fn classify_events(classifiers: &mut [Classifier], mut items: Vec<(&mut DetectedEvent, RgbImage)>) {
    for classifier in classifiers {
        let picked: Vec<usize> =
            (0..items.len()).filter(|&i| classifier.reads(items[i].0.event.class, &items[i].1)).collect();
        let crops: Vec<&RgbImage> = picked.iter().map(|&i| &items[i].1).collect();
        let answers = match classifier.classify(&crops) {
            Ok(answers) => answers,
            Err(e) => {
                tracing::warn!(classifier = %classifier.manifest.name, error = %e, "crop classifier failed; events keep the built-in attributes");
                continue;
            }
        };
        for (i, answer) in picked.into_iter().zip(answers) {
            apply(&mut items[i].0.event, &answer, &classifier.manifest.name);
        }
    }
}

fn apply(event: &mut DetectionEvent, answer: &CropAttributes, model: &str) {
    let a = &mut event.attributes;
    if answer.colour.is_some() {
        let namer = (!a.colours.is_empty()).then(|| colour_scores(&a.colours));
        a.colours = fold_colour(namer, answer).map(colour_distribution).unwrap_or_default();
        a.colour = a.colours.first().map(|c| ColourAttribute { value: c.colour, confidence: c.score });
    }
    if let Some((class, score, _)) = answer.body_type {
        a.body_type = Some(BodyType { value: class, score, model: model.to_string() });
    }
    let class = fold_class(event.class, answer);
    event.class = class;
    event.category = class.category();
    event.taxonomy_label = class.taxonomy_label().to_string();
}

/// The best frame's box with some context around it.
fn thumbnail_crop(image: &RgbImage, bbox: [f32; 4]) -> RgbImage {
    let (w, h) = (bbox[2] - bbox[0], bbox[3] - bbox[1]);
    let (x1, y1) = thumbnail_origin(bbox);
    let x2 = ((bbox[2] + w * THUMBNAIL_MARGIN) as u32).min(image.width()).max(x1 + 1);
    let y2 = ((bbox[3] + h * THUMBNAIL_MARGIN) as u32).min(image.height()).max(y1 + 1);
    image::imageops::crop_imm(image, x1, y1, x2 - x1, y2 - y1).to_image()
}

fn encode_thumbnail(crop: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, THUMBNAIL_QUALITY)
        .encode(crop.as_raw(), crop.width(), crop.height(), image::ExtendedColorType::Rgb8)
        .expect("encoding an in-memory RGB image cannot fail");
    out
}

fn to_event(
    track: &Track,
    source_id: &str,
    input: &str,
    model: &Model,
    frame_size: (u32, u32),
    scene: Option<&Scene>,
) -> DetectedEvent {
    let class = track.class();
    let event_id = EventId::derive(
        source_id,
        input,
        &model.reference.sha256,
        track.confirmed.as_ref().map_or(class, |c| c.class),
        track.first.sequence,
        track.ordinal,
    );
    let (fw, fh) = (frame_size.0 as f32, frame_size.1 as f32);
    let b = track.best.bbox;
    let event = DetectionEvent {
        schema_version: EVENT_SCHEMA_VERSION,
        event_id: event_id.clone(),
        source_id: source_id.to_string(),
        input: input.to_string(),
        category: class.category(),
        class,
        taxonomy_label: class.taxonomy_label().to_string(),
        model_class: track.best.model_class.clone(),
        // The best frame shows the object largest and clearest; measured on the traffic clip its
        // colour beat a vote over all of the track's frames (33 vs 28 of 43 right).
        attributes: Attributes {
            colour: track.best.colour.clone(),
            colours: track.best.colours.clone(),
            motion: Some(track.motion.summary(
                (track.first.bbox, track.first.media_time_us),
                (track.last.bbox, track.last.media_time_us),
                frame_size,
                scene,
            )),
            ..Default::default()
        },
        confidence: track.best.score,
        mean_confidence: track.score_sum / track.frames as f32,
        frames: track.frames,
        media_start_us: track.first.media_time_us,
        media_end_us: track.last.media_time_us,
        wall_start: track.first.wall_time,
        wall_end: track.last.wall_time,
        best_frame: BestFrame {
            sequence: track.best.sequence,
            media_time_us: track.best.media_time_us,
            bbox: BoundingBox {
                x: b[0] / fw,
                y: b[1] / fh,
                width: (b[2] - b[0]) / fw,
                height: (b[3] - b[1]) / fh,
            },
            confidence: track.best.score,
        },
        // Named by the stage that stores it (`canvass_store::keys::thumbnail`).
        thumbnail_key: String::new(),
        model: model.reference.clone(),
        // Set by the stage that knows the input's custody (`canvass run --case`).
        case: None,
        evidence_sha256: None,
    };
    let thumbnail = track.best_crop.as_ref().map(encode_thumbnail).unwrap_or_default();
    let confirmed_at = track.confirmed.as_ref().map_or(track.last.wall_time, |c| c.wall_time);
    DetectedEvent { event, thumbnail, confirmed_at }
}
