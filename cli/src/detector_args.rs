//! Which models to run and where they are: flags, environment, config file, defaults.

use std::path::PathBuf;

use canvass_detector::pipeline::default_min_attribute_box_px;
use canvass_detector::track::TrackerConfig;
use canvass_detector::{DetectorConfig, MotionConfig};

use crate::config::FileConfig;

/// The default models: the vehicle model and the (weak, community) weapon model.
const DEFAULT_MODELS: &[&str] = &["yolox_nano_coco", "arcis_ultralight_weapons_256"];

#[derive(clap::Args, Clone, Debug)]
pub struct DetectorArgs {
    /// Folder of model manifests. [default: models]
    #[arg(long, env = "CANVASS_MANIFESTS_DIR", value_name = "DIR")]
    pub manifests_dir: Option<PathBuf>,
    /// Folder holding the model files the manifests name. [default: $CANVASS_ASSETS/models, else
    /// assets/models]
    #[arg(long, env = "CANVASS_MODELS_DIR", value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Model to run on every frame, by manifest name; repeat for several. [default:
    /// yolox_nano_coco and arcis_ultralight_weapons_256]
    #[arg(long = "model", value_name = "NAME")]
    pub models: Vec<String>,
    /// ONNX Runtime threads per model; 0 = one per core. [default: 0]
    #[arg(long, env = "CANVASS_INTRA_THREADS")]
    pub intra_threads: Option<usize>,
    /// Run the models on every sampled frame, still or not. By default a frame in which
    /// nothing moved since the last one is not inferred (the last detections stand for it),
    /// with a fresh look every 10 s while tracked objects stand still.
    #[arg(long)]
    pub no_motion_gate: bool,
    /// Crop classifier to run on each event's best crop (colour, body type), by manifest name;
    /// repeat for several. [default: none; models/vehicle_attributes_0039.toml is an example]
    #[arg(long = "classifier", value_name = "NAME")]
    pub classifiers: Vec<String>,
}

impl DetectorArgs {
    pub fn manifests_dir(&self, file: &FileConfig) -> PathBuf {
        self.manifests_dir
            .clone()
            .or_else(|| file.detector.manifests_dir.clone())
            .unwrap_or_else(|| "models".into())
    }

    /// The detector's configuration with the cameras' headings and zones read from `store`'s
    /// registry.
    pub fn config_with_scenes(
        &self,
        file: &FileConfig,
        store: &canvass_store::Store,
    ) -> anyhow::Result<DetectorConfig> {
        let mut config = self.config(file);
        config.scenes = canvass_pipeline::scenes::scenes(store.clone())
            .map_err(|e| anyhow::anyhow!("cannot read the camera registry for zones and headings: {e}"))?;
        Ok(config)
    }

    pub fn config(&self, file: &FileConfig) -> DetectorConfig {
        let manifests_dir = self.manifests_dir(file);
        let names: Vec<String> = if !self.models.is_empty() {
            self.models.clone()
        } else {
            file.detector
                .models
                .clone()
                .unwrap_or_else(|| DEFAULT_MODELS.iter().map(|s| s.to_string()).collect())
        };
        let models_dir =
            self.models_dir.clone().or_else(|| file.detector.models_dir.clone()).unwrap_or_else(|| {
                std::env::var_os("CANVASS_ASSETS")
                    .map_or_else(|| PathBuf::from("assets"), PathBuf::from)
                    .join("models")
            });
        DetectorConfig {
            models_dir,
            manifests: names.iter().map(|n| manifests_dir.join(format!("{n}.toml"))).collect(),
            intra_threads: self.intra_threads.or(file.detector.intra_threads).unwrap_or(0),
            tracker: TrackerConfig::default(),
            motion: MotionConfig {
                enabled: !self.no_motion_gate && file.detector.motion_gate.unwrap_or(true),
                ..MotionConfig::default()
            },
            scenes: Default::default(),
            classifiers: if self.classifiers.is_empty() {
                file.detector.classifiers.clone().unwrap_or_default()
            } else {
                self.classifiers.clone()
            }
            .iter()
            .map(|n| manifests_dir.join(format!("{n}.toml")))
            .collect(),
            min_attribute_box_px: {
                let mut sizes = default_min_attribute_box_px();
                sizes.extend(file.detector.min_attribute_box_px.clone().unwrap_or_default());
                sizes
            },
        }
    }
}
