//! Crop classifiers: a second manifest kind (`kind = "classifier"`) for models that read a
//! detected vehicle's crop and name an attribute: colour, body type. Each output says which
//! attribute it feeds, its labels and how they map into canvass's names. Colour scores fuse with
//! the built-in colour namer by the output's `weight`; a body type replaces the detector's class
//! when its score reaches `min_score` (COCO has no pickup or van: a classifier can say so).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use canvass_schemas::{Colour, ObjectClass};
use image::RgbImage;
use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;
use serde::Deserialize;

use crate::DetectorError;
use crate::manifest::{InputSpec, ManifestError};
use crate::model::{VerifiedFile, load_error, open_verified};
use crate::preprocess::fill_input;

/// Which attribute an output feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    Colour,
    BodyType,
}

impl AttributeKind {
    /// As manifests write it.
    pub fn name(self) -> &'static str {
        match self {
            AttributeKind::Colour => "colour",
            AttributeKind::BodyType => "body_type",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierOutput {
    /// The output tensor's name.
    pub name: String,
    pub attribute: AttributeKind,
    /// Label names in output index order.
    pub labels: Vec<String>,
    /// Label -> canvass name (a palette colour, or a class for body types); others are dropped.
    pub map: BTreeMap<String, String>,
    /// Whether the output is raw logits to softmax (false: already probabilities).
    #[serde(default)]
    pub softmax: bool,
    /// Colour: this output's weight against the built-in namer, 0..=1.
    #[serde(default)]
    pub weight: f32,
    /// Body type: the least score that replaces the detector's class.
    #[serde(default = "default_min_score")]
    pub min_score: f32,
}

fn default_min_score() -> f32 {
    0.6
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierManifest {
    /// Always "classifier".
    pub kind: String,
    pub name: String,
    pub version: String,
    pub file: PathBuf,
    pub sha256: String,
    pub url: String,
    pub licence: String,
    /// Classes whose crops it reads.
    pub applies_to: Vec<ObjectClass>,
    /// Crops whose shorter side is below this many frame pixels are not classified (too few
    /// pixels to say anything).
    #[serde(default = "default_min_crop")]
    pub min_crop_px: u32,
    pub input: InputSpec,
    pub outputs: Vec<ClassifierOutput>,
}

fn default_min_crop() -> u32 {
    24
}

/// A canvass name (`grey`, `van`) as its type.
fn named<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    use serde::de::IntoDeserializer;
    T::deserialize(IntoDeserializer::<serde::de::value::Error>::into_deserializer(name)).ok()
}

impl ClassifierManifest {
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ManifestError::Read { path: path.to_path_buf(), reason: e.to_string() })?;
        let bad = |reason: String| ManifestError::Parse { path: path.to_path_buf(), reason };
        let manifest: ClassifierManifest = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if manifest.kind != "classifier" {
            return Err(bad(format!("kind is '{}', expected \"classifier\"", manifest.kind)));
        }
        for output in &manifest.outputs {
            for (label, target) in &output.map {
                if !output.labels.contains(label) {
                    return Err(bad(format!(
                        "output {}: maps '{label}', which is not one of its labels",
                        output.name
                    )));
                }
                let known = match output.attribute {
                    AttributeKind::Colour => named::<Colour>(target).is_some(),
                    AttributeKind::BodyType => named::<ObjectClass>(target).is_some(),
                };
                if !known {
                    return Err(bad(format!(
                        "output {}: '{target}' is not a canvass name for its attribute",
                        output.name
                    )));
                }
            }
            if !(0.0..=1.0).contains(&output.weight) || !(0.0..=1.0).contains(&output.min_score) {
                return Err(bad(format!("output {}: weight and min_score are 0 to 1", output.name)));
            }
        }
        Ok(manifest)
    }
}

/// What a classifier said about one crop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CropAttributes {
    /// Palette colour scores (`Colour::ALL` order) and the weight to fuse them with.
    pub colour: Option<([f32; 11], f32)>,
    /// The best body type, its score, and whether it reaches the output's `min_score`.
    pub body_type: Option<(ObjectClass, f32, bool)>,
}

pub struct Classifier {
    pub manifest: ClassifierManifest,
    session: Session,
    batchable: bool,
}

fn softmax(values: &mut [f32]) {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = values
        .iter_mut()
        .map(|v| {
            *v = (*v - max).exp();
            *v
        })
        .sum();
    values.iter_mut().for_each(|v| *v /= sum);
}

impl Classifier {
    pub fn load(
        manifest: ClassifierManifest,
        models_dir: &Path,
        intra_threads: usize,
    ) -> Result<Self, DetectorError> {
        let VerifiedFile { session, .. } =
            open_verified(&manifest.name, &manifest.file, &manifest.sha256, models_dir, intra_threads)?;
        let load_error = load_error(&manifest.name, &models_dir.join(&manifest.file));
        let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
        if let Some(missing) = manifest.outputs.iter().find(|o| !outputs.contains(&o.name.as_str())) {
            return Err(load_error(format!(
                "the model has no output '{}' (it has {outputs:?})",
                missing.name
            )));
        }
        let input = session.inputs().iter().find(|i| i.name() == manifest.input.name);
        let Some(input) = input else {
            return Err(load_error(format!("the model has no input '{}'", manifest.input.name)));
        };
        let batchable =
            input.dtype().tensor_shape().is_some_and(|shape| shape.first().is_some_and(|&d| d < 0));
        Ok(Classifier { manifest, session, batchable })
    }

    /// Whether this classifier reads crops of `class` at this size.
    pub fn reads(&self, class: ObjectClass, crop: &RgbImage) -> bool {
        self.manifest.applies_to.contains(&class)
            && crop.width().min(crop.height()) >= self.manifest.min_crop_px
    }

    /// Attributes of each crop: one session run for all when the batch dimension is dynamic,
    /// else one per crop.
    pub fn classify(&mut self, crops: &[&RgbImage]) -> Result<Vec<CropAttributes>, DetectorError> {
        if crops.is_empty() {
            return Ok(Vec::new());
        }
        if !self.batchable && crops.len() > 1 {
            let mut all = Vec::with_capacity(crops.len());
            for crop in crops {
                all.extend(self.classify(&[crop])?);
            }
            return Ok(all);
        }
        let spec = &self.manifest.input;
        let mut tensor = Array4::<f32>::zeros((crops.len(), 3, spec.height as usize, spec.width as usize));
        for (slot, crop) in crops.iter().enumerate() {
            fill_input(crop, spec, &mut tensor, slot);
        }
        let error = |reason: String| DetectorError::Inference { model: self.manifest.name.clone(), reason };
        let input = TensorRef::from_array_view(&tensor).map_err(|e| error(e.to_string()))?;
        let outputs = self
            .session
            .run(ort::inputs![self.manifest.input.name.as_str() => input])
            .map_err(|e| error(e.to_string()))?;
        let mut results = vec![CropAttributes::default(); crops.len()];
        for spec in &self.manifest.outputs {
            let array =
                outputs[spec.name.as_str()].try_extract_array::<f32>().map_err(|e| error(e.to_string()))?;
            let per_crop = array.len() / crops.len();
            if per_crop != spec.labels.len() {
                return Err(error(format!(
                    "output {} has {per_crop} values per crop, the manifest lists {} labels",
                    spec.name,
                    spec.labels.len()
                )));
            }
            let flat: Vec<f32> = array.iter().copied().collect();
            for (slot, result) in results.iter_mut().enumerate() {
                let mut scores = flat[slot * per_crop..(slot + 1) * per_crop].to_vec();
                if spec.softmax {
                    softmax(&mut scores);
                }
                let mapped = spec
                    .labels
                    .iter()
                    .zip(&scores)
                    .filter_map(|(label, &s)| spec.map.get(label).map(|t| (t, s)));
                match spec.attribute {
                    AttributeKind::Colour => {
                        let mut palette = [0f32; 11];
                        for (target, s) in mapped {
                            let colour: Colour = named(target).expect("checked at load");
                            palette[colour.index()] += s;
                        }
                        result.colour = Some((palette, spec.weight));
                    }
                    AttributeKind::BodyType => {
                        result.body_type = mapped
                            .map(|(t, s)| {
                                let class: ObjectClass = named(t).expect("checked at load");
                                (class, s)
                            })
                            .max_by(|a, b| a.1.total_cmp(&b.1))
                            .map(|(class, s)| (class, s, s >= spec.min_score));
                    }
                }
            }
        }
        Ok(results)
    }
}

/// A detection's colour scores (palette order) with a classifier's answer folded in: fused with
/// the namer's by the output's weight, or the classifier's alone where the namer had none.
pub fn fold_colour(namer: Option<[f32; 11]>, answer: &CropAttributes) -> Option<[f32; 11]> {
    match (namer, answer.colour) {
        (namer, None) => namer,
        (Some(ours), Some((theirs, weight))) => Some(fuse_colours(ours, theirs, weight)),
        (None, Some((theirs, _))) => Some(fuse_colours(theirs, theirs, 1.0)),
    }
}

/// A detection's class with a classifier's answer: its body type when sure enough.
pub fn fold_class(class: ObjectClass, answer: &CropAttributes) -> ObjectClass {
    match answer.body_type {
        Some((body, _, true)) => body,
        _ => class,
    }
}

/// The built-in namer's scores fused with a classifier's: `(1 - weight) * namer + weight *
/// classifier`, each normalised to sum 1 first.
pub fn fuse_colours(namer: [f32; 11], classifier: [f32; 11], weight: f32) -> [f32; 11] {
    let normalised = |s: [f32; 11]| {
        let total: f32 = s.iter().sum();
        if total > 0.0 { s.map(|v| v / total) } else { s }
    };
    let (a, b) = (normalised(namer), normalised(classifier));
    std::array::from_fn(|i| (1.0 - weight) * a[i] + weight * b[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_weighs_the_classifier_in() {
        let mut namer = [0f32; 11];
        namer[0] = 0.6; // red
        namer[1] = 0.4; // orange
        let mut classifier = [0f32; 11];
        classifier[0] = 1.0;
        let fused = fuse_colours(namer, classifier, 0.5);
        assert!((fused[0] - 0.8).abs() < 1e-6 && (fused[1] - 0.2).abs() < 1e-6, "{fused:?}");
        assert_eq!(fuse_colours(namer, classifier, 0.0), namer);
    }

    #[test]
    fn softmax_sums_to_one() {
        let mut v = [1.0, 2.0, 3.0];
        softmax(&mut v);
        assert!((v.iter().sum::<f32>() - 1.0).abs() < 1e-6 && v[2] > v[1]);
    }
}
