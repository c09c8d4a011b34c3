//! Shared helpers for the detector's tests: where the repository and the set-up step's assets
//! are, the real models, and sampled frames of the sample clips through the real ingest stage.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

use canvass_detector::{Manifest, Model};
use canvass_ingest::{IngestConfig, InputSpec};
use canvass_schemas::FrameMessage;
use canvass_transport::memory::MemorySink;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The set-up step's assets (or `CANVASS_ASSETS`), with ONNX Runtime loaded from
/// `ORT_DYLIB_PATH` (scripts/test sets it) or the set-up step's copy.
pub fn assets() -> PathBuf {
    let dir = std::env::var_os("CANVASS_ASSETS").map(PathBuf::from).unwrap_or_else(|| repo().join("assets"));
    assert!(dir.join("models").is_dir(), "{} has no models: run scripts/setup first", dir.display());
    let lib =
        std::env::var_os("ORT_DYLIB_PATH").map_or_else(|| dir.join("lib/libonnxruntime.so"), PathBuf::from);
    canvass_detector::model::init_runtime(Some(&lib)).unwrap();
    dir
}

pub fn manifest(name: &str) -> Manifest {
    Manifest::load(&repo().join("models").join(name)).unwrap()
}

pub fn load(name: &str) -> Model {
    Model::load(manifest(name), &assets().join("models"), 0).unwrap()
}

/// Sampled frames of a sample clip, through the real ingest stage.
pub fn frames_of(clip: &str, config: &IngestConfig) -> Vec<FrameMessage> {
    let spec = InputSpec::parse(assets().join("media/video").join(clip).to_str().unwrap());
    let mut sink = MemorySink::default();
    canvass_ingest::ingest(&spec, &spec.default_source_id(), config, &mut sink, &mut |_| {}).unwrap();
    sink.frames
}
