//! Model manifests (`models/*.toml`): which file, how to feed it, how to read its output, and
//! how its classes map into canvass's taxonomy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use canvass_schemas::ObjectClass;
use serde::Deserialize;

use crate::face_filter::is_face_class;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: cannot read: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}: invalid manifest: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("{path}: class '{class}' denotes a face or head and cannot be mapped into the taxonomy")]
    FaceClassMapped { path: PathBuf, class: String },
    #[error("{path}: taxonomy maps '{class}', which is not one of the model's classes")]
    UnknownClass { path: PathBuf, class: String },
    #[error("{path}: threshold for '{class}' is {value}, outside 0..=1")]
    Threshold { path: PathBuf, class: String, value: f32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelRole {
    Vehicle,
    Weapon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// YOLOX: `[1, anchors, 5 + classes]`, grid offsets and log sizes, objectness x class.
    Yolox,
    /// PicoDet/NanoDet: per-stride score and GFL distribution tensors.
    Gfl,
    /// Ultralytics YOLOv8/YOLO11: `[1, 4 + classes, anchors]`, centre/size in input pixels.
    Ultralytics,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColourOrder {
    Rgb,
    Bgr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resize {
    /// Keep aspect, pad right and bottom.
    LetterboxTopLeft,
    /// Keep aspect, pad evenly on both sides.
    LetterboxCentre,
    /// Stretch to the input size.
    Stretch,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub colour_order: ColourOrder,
    pub resize: Resize,
    #[serde(default = "default_pad")]
    pub pad_value: u8,
    /// Per channel, applied as `(pixel * scale - mean) / std` with pixels 0-255.
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

fn default_pad() -> u8 {
    114
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    pub format: OutputFormat,
    pub strides: Vec<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub role: ModelRole,
    /// Path under the models folder.
    pub file: PathBuf,
    pub sha256: String,
    /// Where the file comes from; "-" when the operator supplies it.
    pub url: String,
    pub licence: String,
    pub input: InputSpec,
    pub output: OutputSpec,
    /// Class names in model index order.
    pub classes: Vec<String>,
    /// Model class name -> canvass class; classes not listed are dropped.
    pub taxonomy: BTreeMap<String, ObjectClass>,
    /// Minimum confidence per model class, with `default` for the rest.
    pub thresholds: BTreeMap<String, f32>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ManifestError::Read { path: path.to_path_buf(), reason: e.to_string() })?;
        Self::parse(&text, path)
    }

    /// Parses and validates manifest text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ManifestError> {
        let manifest: Manifest = toml::from_str(text)
            .map_err(|e| ManifestError::Parse { path: path.to_path_buf(), reason: e.to_string() })?;
        manifest.validate(path)?;
        Ok(manifest)
    }

    fn validate(&self, path: &Path) -> Result<(), ManifestError> {
        for class in self.taxonomy.keys() {
            if is_face_class(class) {
                return Err(ManifestError::FaceClassMapped {
                    path: path.to_path_buf(),
                    class: class.clone(),
                });
            }
            if !self.classes.contains(class) {
                return Err(ManifestError::UnknownClass { path: path.to_path_buf(), class: class.clone() });
            }
        }
        for (class, &value) in &self.thresholds {
            if !(0.0..=1.0).contains(&value) {
                return Err(ManifestError::Threshold {
                    path: path.to_path_buf(),
                    class: class.clone(),
                    value,
                });
            }
        }
        Ok(())
    }

    pub fn threshold(&self, class: &str) -> f32 {
        self.thresholds.get(class).or(self.thresholds.get("default")).copied().unwrap_or(0.5)
    }

    /// What each model class index becomes; face classes are stripped here and logged once.
    pub fn class_map(&self) -> ClassMap {
        let mut stripped = Vec::new();
        let targets = self
            .classes
            .iter()
            .map(|name| {
                if is_face_class(name) {
                    stripped.push(name.clone());
                    return None;
                }
                self.taxonomy.get(name).copied()
            })
            .collect();
        if !stripped.is_empty() {
            tracing::warn!(model = %self.name, classes = ?stripped, "face classes stripped: they never produce events");
        }
        ClassMap { targets, stripped }
    }
}

/// Model class index -> canvass class, `None` for dropped and stripped classes.
#[derive(Debug, Clone)]
pub struct ClassMap {
    targets: Vec<Option<ObjectClass>>,
    pub stripped: Vec<String>,
}

impl ClassMap {
    pub fn get(&self, index: usize) -> Option<ObjectClass> {
        self.targets.get(index).copied().flatten()
    }
}

#[cfg(test)]
mod tests;
