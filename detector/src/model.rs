//! One model in ONNX Runtime: loaded from its manifest, checked against it, run on frames.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use canvass_schemas::ModelRef;
use image::RgbImage;
use ndarray::{Array4, ArrayD};
use ort::environment::Environment;
use ort::logging::LogLevel;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;
use sha2::{Digest, Sha256};

use crate::manifest::{ClassMap, Manifest};
use crate::nms::{Candidate, nms};
use crate::output;
use crate::preprocess::{InputTransform, fill_input};
use crate::{DetectorError, RawDetection};

/// Overlap above which two same-class boxes are one object.
const NMS_IOU: f32 = 0.45;
const MAX_DETECTIONS: usize = 100;

static RUNTIME: OnceLock<Environment> = OnceLock::new();
/// Serialises the first load: two threads must not both load the library.
static RUNTIME_INIT: Mutex<()> = Mutex::new(());

/// Where the ONNX Runtime library is: `lib`, else `ORT_DYLIB_PATH`, else the set-up step's
/// `assets/lib/libonnxruntime.so` under the working directory.
fn runtime_library(lib: Option<&Path>) -> PathBuf {
    lib.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("assets/lib/libonnxruntime.so"))
}

/// Loads ONNX Runtime once per process. Checking the file first turns a missing library into a
/// clear error instead of a panic inside `ort`.
pub fn init_runtime(lib: Option<&Path>) -> Result<&'static Environment, DetectorError> {
    if let Some(env) = RUNTIME.get() {
        return Ok(env);
    }
    let _guard = RUNTIME_INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(env) = RUNTIME.get() {
        return Ok(env);
    }
    let path = runtime_library(lib);
    if !path.is_file() {
        return Err(DetectorError::Runtime(format!(
            "ONNX Runtime library not found at {}: run scripts/setup or set ORT_DYLIB_PATH",
            path.display()
        )));
    }
    // ORT's warnings (e.g. initializers listed as graph inputs) are noise to an operator.
    let logger: ort::logging::LoggerFunction =
        Arc::new(|level, category, _id, _location, message| match level {
            LogLevel::Error | LogLevel::Fatal => tracing::warn!(category, "onnxruntime: {message}"),
            _ => tracing::trace!(category, "onnxruntime: {message}"),
        });
    let env = ort::init_from(&path)
        .map_err(|e| DetectorError::Runtime(format!("cannot load {}: {e}", path.display())))?
        .with_logger(logger)
        .build()
        .map_err(|e| DetectorError::Runtime(e.to_string()))?;
    Ok(RUNTIME.get_or_init(|| env))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Class names from Ultralytics-style metadata: `{0: 'Knife', 1: 'Pistol'}`.
pub fn parse_names_metadata(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut names = Vec::new();
    for (expected_index, entry) in inner.split(',').enumerate() {
        let (index, name) = entry.split_once(':')?;
        if index.trim().parse::<usize>().ok()? != expected_index {
            return None;
        }
        names.push(name.trim().trim_matches(|c| c == '\'' || c == '"').to_string());
    }
    Some(names)
}

/// A CPU session: all graph optimisations, `intra_threads` threads (0: ONNX Runtime decides),
/// threads that sleep rather than spin between runs: spinning workers took the cores the
/// decoder needs (traffic clip, 2 cores: same wall time, a fifth less CPU; see the README).
pub(crate) fn build_session(
    env: &Environment,
    bytes: &[u8],
    intra_threads: usize,
) -> Result<Session, String> {
    let builder = Session::builder(env).map_err(|e| e.to_string())?;
    let builder =
        builder.with_optimization_level(GraphOptimizationLevel::Level3).map_err(|e| e.to_string())?;
    let builder = builder.with_intra_threads(intra_threads).map_err(|e| e.to_string())?;
    let mut builder = builder.with_intra_op_spinning(false).map_err(|e| e.to_string())?;
    builder.commit_from_memory(bytes).map_err(|e| e.to_string())
}

pub struct Model {
    pub manifest: Manifest,
    pub class_map: ClassMap,
    pub reference: ModelRef,
    session: Session,
    output_names: Vec<String>,
    min_score: f32,
    /// Whether the input's batch dimension is dynamic, so queued frames can share one run.
    batchable: bool,
}

/// A model file a manifest names, checked against the manifest's SHA-256 and opened in ONNX
/// Runtime.
pub(crate) struct VerifiedFile {
    pub session: Session,
    pub sha256: String,
}

/// The error for a model `name` at `path` that cannot be used, and why.
pub(crate) fn load_error(name: &str, path: &Path) -> impl Fn(String) -> DetectorError + use<> {
    let (model, path) = (name.to_string(), path.to_path_buf());
    move |reason| DetectorError::ModelLoad { model: model.clone(), path: path.clone(), reason }
}

/// Reads `file` under `models_dir`, checks it against `sha256` and opens a session on it.
pub(crate) fn open_verified(
    name: &str,
    file: &Path,
    sha256: &str,
    models_dir: &Path,
    intra_threads: usize,
) -> Result<VerifiedFile, DetectorError> {
    let env = init_runtime(None)?;
    let path = models_dir.join(file);
    let fail = load_error(name, &path);
    let bytes = std::fs::read(&path).map_err(|e| fail(e.to_string()))?;
    let actual = sha256_hex(&bytes);
    if actual != sha256 {
        return Err(fail(format!(
            "checksum mismatch: the manifest says {sha256}, the file is {actual}; update the manifest for a new model"
        )));
    }
    let session = build_session(env, &bytes, intra_threads)
        .map_err(|e| fail(format!("onnxruntime cannot load it: {e}")))?;
    Ok(VerifiedFile { session, sha256: actual })
}

impl Model {
    /// Loads the model a manifest describes from `models_dir`, checking its checksum, its class
    /// names (where the model carries them) and its output layout.
    pub fn load(manifest: Manifest, models_dir: &Path, intra_threads: usize) -> Result<Self, DetectorError> {
        let VerifiedFile { session, sha256 } =
            open_verified(&manifest.name, &manifest.file, &manifest.sha256, models_dir, intra_threads)?;
        let load_error = load_error(&manifest.name, &models_dir.join(&manifest.file));
        let metadata_names =
            session.metadata().ok().and_then(|m| m.custom("names")).and_then(|t| parse_names_metadata(&t));
        if let Some(names) = metadata_names
            && names != manifest.classes
        {
            return Err(load_error(format!(
                "the model's own class names {names:?} differ from the manifest's {:?}",
                manifest.classes
            )));
        }
        let input_ok = session.inputs().iter().any(|i| i.name() == manifest.input.name);
        if !input_ok {
            let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
            return Err(load_error(format!(
                "the model has no input '{}' (it has {names:?})",
                manifest.input.name
            )));
        }
        let output_names = session.outputs().iter().map(|o| o.name().to_string()).collect();
        let batchable = session
            .inputs()
            .iter()
            .find(|i| i.name() == manifest.input.name)
            .and_then(|i| i.dtype().tensor_shape().map(|shape| shape.first().is_some_and(|&d| d < 0)))
            .unwrap_or(false);
        let min_score = manifest.thresholds.values().copied().fold(1.0, f32::min);
        let class_map = manifest.class_map();
        let reference = ModelRef { name: manifest.name.clone(), version: manifest.version.clone(), sha256 };
        Ok(Model { manifest, class_map, reference, session, output_names, min_score, batchable })
    }

    /// Whether several frames can go through one session run (dynamic batch dimension). The
    /// shipped models are exported with a fixed batch of 1.
    pub fn batchable(&self) -> bool {
        self.batchable
    }

    /// The model's input tensor for `frames` (one slot each), and how to map boxes back.
    pub fn prepare(&self, frames: &[&RgbImage]) -> (Array4<f32>, Vec<InputTransform>) {
        let spec = &self.manifest.input;
        let mut tensor = Array4::<f32>::zeros((frames.len(), 3, spec.height as usize, spec.width as usize));
        let transforms =
            frames.iter().enumerate().map(|(slot, f)| fill_input(f, spec, &mut tensor, slot)).collect();
        (tensor, transforms)
    }

    fn inference_error(&self, reason: impl std::fmt::Display) -> DetectorError {
        DetectorError::Inference { model: self.manifest.name.clone(), reason: reason.to_string() }
    }

    /// Runs the session on a prepared tensor: the raw outputs in the model's order, batch axis
    /// first.
    pub fn infer(&mut self, tensor: &Array4<f32>) -> Result<Vec<ArrayD<f32>>, DetectorError> {
        let input = TensorRef::from_array_view(tensor).map_err(|e| self.inference_error(e))?;
        let outputs = match self.session.run(ort::inputs![self.manifest.input.name.as_str() => input]) {
            Ok(outputs) => outputs,
            Err(e) => {
                return Err(DetectorError::Inference {
                    model: self.manifest.name.clone(),
                    reason: e.to_string(),
                });
            }
        };
        let mut arrays = Vec::with_capacity(self.output_names.len());
        for name in &self.output_names {
            match outputs[name.as_str()].try_extract_array::<f32>() {
                Ok(array) => arrays.push(array.to_owned()),
                Err(e) => {
                    return Err(DetectorError::Inference {
                        model: self.manifest.name.clone(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        Ok(arrays)
    }

    /// Detections in `frame` pixel coordinates, after thresholds, the taxonomy and NMS.
    pub fn detect(&mut self, frame: &RgbImage) -> Result<Vec<RawDetection>, DetectorError> {
        let mut per_frame = self.detect_batch(&[frame])?;
        Ok(per_frame.pop().unwrap_or_default())
    }

    /// Detections for each of `frames`, in order: one session run for all of them when the
    /// model takes a dynamic batch, else one run per frame.
    pub fn detect_batch(&mut self, frames: &[&RgbImage]) -> Result<Vec<Vec<RawDetection>>, DetectorError> {
        if !self.batchable && frames.len() > 1 {
            return frames.iter().map(|f| self.detect(f)).collect();
        }
        let (tensor, transforms) = self.prepare(frames);
        let arrays = self.infer(&tensor)?;
        let mut results = Vec::with_capacity(frames.len());
        for (slot, (frame, transform)) in frames.iter().zip(&transforms).enumerate() {
            let views: Vec<_> = arrays.iter().map(|a| a.index_axis(ndarray::Axis(0), slot)).collect();
            results.push(self.postprocess(&views, transform, frame)?);
        }
        Ok(results)
    }

    fn postprocess(
        &self,
        views: &[ndarray::ArrayViewD<'_, f32>],
        transform: &InputTransform,
        frame: &RgbImage,
    ) -> Result<Vec<RawDetection>, DetectorError> {
        let spec = &self.manifest.input;
        let candidates =
            output::decode(views, &self.manifest.output, spec, self.manifest.classes.len(), self.min_score)
                .map_err(|e| self.inference_error(e))?;
        let kept: Vec<Candidate> = candidates
            .into_iter()
            .filter(|c| {
                self.class_map.get(c.class_index).is_some()
                    && c.score >= self.manifest.threshold(&self.manifest.classes[c.class_index])
            })
            .collect();
        let (fw, fh) = (frame.width() as f32, frame.height() as f32);
        Ok(nms(kept, NMS_IOU, MAX_DETECTIONS)
            .into_iter()
            .filter_map(|c| {
                let b = transform.to_frame(c.bbox);
                let bbox =
                    [b[0].clamp(0.0, fw), b[1].clamp(0.0, fh), b[2].clamp(0.0, fw), b[3].clamp(0.0, fh)];
                let class = self.class_map.get(c.class_index)?;
                (bbox[2] > bbox[0] && bbox[3] > bbox[1]).then(|| RawDetection {
                    class,
                    model_class: self.manifest.classes[c.class_index].clone(),
                    score: c.score,
                    bbox,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ultralytics_names_metadata_parses() {
        assert_eq!(
            parse_names_metadata("{0: 'Knife', 1: 'Pistol', 2: 'weapon', 3: 'rifle'}").unwrap(),
            vec!["Knife", "Pistol", "weapon", "rifle"]
        );
        assert_eq!(parse_names_metadata("{1: 'a'}"), None, "indices must start at 0 in order");
        assert_eq!(parse_names_metadata("names"), None);
    }
}
