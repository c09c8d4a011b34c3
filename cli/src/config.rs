//! Settings from a TOML file, overridden by environment variables and flags (clap merges those
//! two: a flag beats its `CANVASS_*` variable), falling back to built-in defaults.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The file format, e.g.:
///
/// ```toml
/// data_dir = "/var/lib/canvass"
///
/// [ingest]
/// fps = 2.0
/// max_side = 640
/// jpeg_quality = 85
/// decoder_threads = 0
///
/// [detector]
/// manifests_dir = "models"
/// models_dir = "assets/models"
/// models = ["yolox_nano_coco", "arcis_ultralight_weapons_256"]
/// intra_threads = 0
///
/// [serve]
/// listen = "127.0.0.1:8480"
/// retention_days = 30
///
/// [[agencies]]
/// name = "metro-pd"
/// sources = ["main-st-*", "depot"]
/// retention_days = 30
///
/// [[users]]
/// name = "ana"
/// role = "investigator"
/// agency = "metro-pd"
/// token_sha256 = "..."
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub ingest: IngestSection,
    #[serde(default)]
    pub detector: DetectorSection,
    /// `canvass serve` and `canvass janitor`.
    #[serde(default)]
    pub serve: canvass_serve::ServeSettings,
    /// Agencies: name, sources of their jurisdiction, retention period.
    #[serde(default)]
    pub agencies: Vec<canvass_serve::access::Agency>,
    /// Users of the service: name, role, agency, hash of their API token.
    #[serde(default)]
    pub users: Vec<canvass_serve::access::User>,
}

impl FileConfig {
    /// Whom the service lets in, checked.
    pub fn access(&self) -> anyhow::Result<canvass_serve::AccessConfig> {
        let access =
            canvass_serve::AccessConfig { agencies: self.agencies.clone(), users: self.users.clone() };
        access.validate().map_err(|e| anyhow::anyhow!("invalid access configuration: {e}"))?;
        Ok(access)
    }

    pub fn data_dir(&self, flag: Option<PathBuf>) -> PathBuf {
        flag.or_else(|| self.data_dir.clone()).unwrap_or_else(|| PathBuf::from("canvass-data"))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSection {
    /// Folder of model manifests (`models/*.toml`).
    pub manifests_dir: Option<PathBuf>,
    /// Folder the manifests' model files are in.
    pub models_dir: Option<PathBuf>,
    /// Manifest names (file stems) to run on every frame.
    pub models: Option<Vec<String>>,
    pub intra_threads: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSection {
    pub fps: Option<f64>,
    pub max_side: Option<u32>,
    pub jpeg_quality: Option<u8>,
    pub decoder_threads: Option<usize>,
    pub max_retries: Option<u32>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else { return Ok(FileConfig::default()) };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let config: FileConfig =
            toml::from_str("data_dir = \"/d\"\n[ingest]\nfps = 0.5\nmax_side = 416\n").unwrap();
        assert_eq!(config.data_dir.as_deref(), Some(Path::new("/d")));
        assert_eq!(config.ingest.fps, Some(0.5));
        assert_eq!(config.ingest.max_side, Some(416));
    }

    #[test]
    fn a_misspelt_key_is_an_error_not_silently_ignored() {
        let err = toml::from_str::<FileConfig>("[ingest]\nfsp = 2\n").unwrap_err();
        assert!(err.to_string().contains("fsp"), "{err}");
    }
}
