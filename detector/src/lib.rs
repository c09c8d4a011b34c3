//! Detector: turns sampled frames into tagged, tracked detection events.
//!
//! Module map: `manifest` (models/*.toml), `classifier` (crop classifiers: colour, body type),
//! `confusions` (a rider read as a car), `face_filter` (no face classes, by construction),
//! `model` (ONNX Runtime session per model), `motion` (which frames need inference at all),
//! `preprocess` (frame to tensor), `output` (YOLOX,
//! GFL and Ultralytics decoders), `nms`, `colour` (vehicle colour), `eval` (accuracy on
//! labelled images), `track` (objects across
//! frames), `scene` (a camera's heading and zones; motion attributes), `pipeline` (all of it for a stream of frame messages).

pub mod classifier;
pub mod colour;
pub mod confusions;
pub mod eval;
pub mod face_filter;
pub mod manifest;
pub mod model;
pub mod motion;
pub mod nms;
pub mod output;
pub mod pipeline;
pub mod preprocess;
pub mod scene;
pub mod state;
pub mod track;

use std::path::PathBuf;

use canvass_schemas::ObjectClass;

pub use face_filter::is_face_class;
pub use manifest::{ClassMap, Manifest, ManifestError};
pub use model::Model;
pub use motion::MotionConfig;
pub use pipeline::{BatchOutcome, DetectedEvent, Detector, DetectorConfig, TrackNotice};
pub use scene::{Scene, Scenes, Zone};
pub use state::StreamState;

#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    #[error("{0}")]
    Runtime(String),
    #[error("model {model} ({path}): {reason}")]
    ModelLoad { model: String, path: PathBuf, reason: String },
    #[error("model {model}: inference failed: {reason}")]
    Inference { model: String, reason: String },
    #[error("frame {sequence} of {source_id}: cannot decode image: {reason}")]
    BadFrame { source_id: String, sequence: u64, reason: String },
}

/// One model's detection in one frame, in frame pixels, already mapped into the taxonomy.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDetection {
    pub class: ObjectClass,
    pub model_class: String,
    pub score: f32,
    pub bbox: [f32; 4],
}
