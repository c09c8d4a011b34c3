//! Detector: turns sampled frames into tagged detections.
//!
//! Built so far: model manifests (`manifest`) and the face-class filter (`face_filter`) that
//! keeps face and head classes out of canvass by construction. Inference, colour and tracking
//! come next.

pub mod face_filter;
pub mod manifest;

pub use face_filter::is_face_class;
pub use manifest::{ClassMap, Manifest, ManifestError};
