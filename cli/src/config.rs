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
/// decode = "auto"                 # all | nonref | keyframes
///
/// [detector]
/// manifests_dir = "models"
/// models_dir = "assets/models"
/// models = ["yolox_nano_coco", "arcis_ultralight_weapons_256"]
/// intra_threads = 0
/// motion_gate = true              # skip inference on still frames
///
/// [store]                         # default: the data folder
/// kind = "s3"
/// bucket = "canvass-evidence"
/// endpoint = "https://minio.internal:9000"
/// force_path_style = true
///
/// [kafka]                         # canvass ingest / canvass detect
/// brokers = "kafka-0:9092,kafka-1:9092"
/// group = "canvass-detectors"
/// partitions = 12
/// properties = { "security.protocol" = "SSL", "ssl.ca.location" = "/etc/canvass/ca.pem" }
///
/// [worker]
/// metrics_listen = "0.0.0.0:9464"
/// checkpoint_interval_s = 5
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
    /// The key that authenticates the audit log (64 hex digits), kept outside the store:
    /// `CANVASS_AUDIT_KEY`, else this file, else `~/.config/canvass/audit.key`, made on first
    /// use (mode 0600).
    pub audit_key_file: Option<PathBuf>,
    /// The key that signs export packages (an Ed25519 seed, 64 hex digits), kept outside the
    /// store: `CANVASS_SIGNING_KEY`, else this file (or `CANVASS_SIGNING_KEY_FILE`), else
    /// `~/.config/canvass/signing.key`, made on first use (mode 0600).
    pub signing_key_file: Option<PathBuf>,
    /// The key that encrypts the data folder (64 hex digits), kept outside it:
    /// `CANVASS_DATA_KEY`, else this file (or `CANVASS_DATA_KEY_FILE`), else
    /// `~/.config/canvass/data.key`, made when a new folder is first used (mode 0600).
    pub data_key_file: Option<PathBuf>,
    #[serde(default)]
    pub ingest: IngestSection,
    /// Defaults for the command line: the case and purpose commands that show event data
    /// record when no `--case`/`--purpose` is given.
    #[serde(default)]
    pub cli: CliSection,
    #[serde(default)]
    pub detector: DetectorSection,
    /// Where the lake, thumbnails, audit log, registry and holds live: the data folder
    /// (default) or an S3 bucket, with the same layout.
    #[serde(default)]
    pub store: StoreSection,
    /// `canvass serve` and `canvass janitor`.
    #[serde(default)]
    pub serve: canvass_serve::ServeSettings,
    /// Agencies: name, sources of their jurisdiction, retention period.
    #[serde(default)]
    pub agencies: Vec<canvass_governance::access::Agency>,
    /// Users of the service: name, role, agency, hash of their API token.
    #[serde(default)]
    pub users: Vec<canvass_governance::access::User>,
    /// The distributed mode's brokers, topics and client properties (`canvass ingest`,
    /// `canvass detect`).
    #[serde(default)]
    pub kafka: canvass_transport::kafka::KafkaSettings,
    /// The distributed workers' own settings.
    #[serde(default)]
    pub worker: WorkerSection,
    /// Alert rules (`[[alerts]]`): a query, the agency, a webhook and its secret.
    #[serde(default)]
    pub alerts: Vec<canvass_alerts::AlertRule>,
    /// How webhooks are tried.
    #[serde(default)]
    pub alerting: AlertingSection,
    /// Live cameras (`[[cameras]]`: source_id, url) that `canvass serve` runs for as long as
    /// their owners allow.
    #[serde(default)]
    pub cameras: Vec<canvass_pipeline::live::LiveCamera>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingSection {
    /// Tries per alert before it is dead-lettered. [default: 5]
    pub attempts: Option<u32>,
    /// Wait before the second try, doubled before each next one (seconds). [default: 1]
    pub first_retry_s: Option<f64>,
    /// Longest one webhook request may take (seconds). [default: 5]
    pub timeout_s: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliSection {
    pub case: Option<String>,
    pub purpose: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSection {
    /// Where `/metrics` and `/healthz` are served, e.g. "0.0.0.0:9464".
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// How often a detector checkpoints its partitions (seconds): the most work a crash can
    /// make another worker redo. [default: 5]
    pub checkpoint_interval_s: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoreSection {
    /// The data folder (`data_dir`, `--data`).
    #[default]
    Local,
    /// A bucket: `bucket`, `prefix`, `region`, `endpoint`, `force_path_style`, `encryption`,
    /// `part_size`, `max_attempts`; credentials from the standard AWS chain.
    S3(canvass_store::S3Config),
}

impl FileConfig {
    /// The object store the commands read and write: the S3 bucket if one is configured, else
    /// the data folder.
    pub fn store(&self, data_flag: Option<PathBuf>) -> anyhow::Result<canvass_store::Store> {
        Ok(match &self.store {
            StoreSection::Local => {
                let dir = self.data_dir(data_flag);
                let folder = canvass_store::LocalStore::new(&dir);
                let key = self.data_key(&folder)?;
                std::sync::Arc::new(
                    canvass_store::EncryptedStore::open(folder, &key)
                        .with_context(|| format!("cannot open the data folder {}", dir.display()))?,
                )
            }
            StoreSection::S3(config) => std::sync::Arc::new(
                canvass_store::S3Store::new(config.clone())
                    .with_context(|| format!("cannot set up S3 bucket {}", config.bucket))?,
            ),
        })
    }

    /// Where `store` reads and writes, for messages.
    pub fn store_location(&self, data_flag: Option<PathBuf>) -> String {
        match &self.store {
            StoreSection::Local => self.data_dir(data_flag).display().to_string(),
            StoreSection::S3(config) => {
                let endpoint = config.endpoint.as_deref().map(|e| format!(" at {e}")).unwrap_or_default();
                format!("s3://{}/{}{endpoint}", config.bucket, config.prefix)
            }
        }
    }

    /// Where object keys resolve for people reading a table: `s3://bucket/prefix`, or nothing
    /// for the data folder, whose objects are encrypted (`search --thumbnails DIR` saves them).
    pub fn object_base(&self) -> String {
        match &self.store {
            StoreSection::Local => String::new(),
            StoreSection::S3(config) => format!("s3://{}/{}", config.bucket, config.prefix),
        }
    }

    /// Whom the service lets in, checked.
    pub fn access(&self) -> anyhow::Result<canvass_governance::AccessConfig> {
        let access =
            canvass_governance::AccessConfig { agencies: self.agencies.clone(), users: self.users.clone() };
        access.validate().map_err(|e| anyhow::anyhow!("invalid access configuration: {e}"))?;
        Ok(access)
    }

    /// The live cameras, each checked; one that cannot be a stream stops the command.
    pub fn live_cameras(&self) -> anyhow::Result<Vec<canvass_pipeline::live::LiveCamera>> {
        for camera in &self.cameras {
            camera.check().map_err(anyhow::Error::msg)?;
        }
        Ok(self.cameras.clone())
    }

    /// The alert rules, checked against the agencies; an unusable rule stops the command.
    pub fn alert_rules(&self) -> anyhow::Result<Vec<canvass_alerts::CompiledRule>> {
        self.alerts.iter().map(|rule| rule.compile(&self.agencies).map_err(anyhow::Error::from)).collect()
    }

    pub fn alert_retry(&self) -> anyhow::Result<canvass_alerts::RetryPolicy> {
        let defaults = canvass_alerts::RetryPolicy::default();
        let seconds = |value: Option<f64>, default: std::time::Duration, what: &str| match value {
            None => Ok(default),
            Some(s) => std::time::Duration::try_from_secs_f64(s)
                .map_err(|_| anyhow::anyhow!("[alerting] {what}: {s} is not a number of seconds")),
        };
        Ok(canvass_alerts::RetryPolicy {
            attempts: self.alerting.attempts.unwrap_or(defaults.attempts).max(1),
            first_delay: seconds(self.alerting.first_retry_s, defaults.first_delay, "first_retry_s")?,
            timeout: seconds(self.alerting.timeout_s, defaults.timeout, "timeout_s")?,
        })
    }

    /// The audit key: `CANVASS_AUDIT_KEY`, else `audit_key_file` (or `CANVASS_AUDIT_KEY_FILE`),
    /// else `~/.config/canvass/audit.key`, made on first use.
    pub fn audit_key(&self) -> anyhow::Result<canvass_governance::audit::AuditKey> {
        use canvass_governance::audit::AuditKey;
        if let Ok(hex) = std::env::var("CANVASS_AUDIT_KEY") {
            return AuditKey::from_hex(&hex).context("CANVASS_AUDIT_KEY");
        }
        let path = key_path("CANVASS_AUDIT_KEY_FILE", &self.audit_key_file, "audit.key")
            .context("no audit key: set CANVASS_AUDIT_KEY, CANVASS_AUDIT_KEY_FILE or audit_key_file")?;
        Ok(AuditKey::load_or_create(&path)?)
    }

    /// The package signing key: `CANVASS_SIGNING_KEY`, else `signing_key_file` (or
    /// `CANVASS_SIGNING_KEY_FILE`), else `~/.config/canvass/signing.key`, made on first use.
    pub fn signing_key(&self) -> anyhow::Result<canvass_custody::SigningKey> {
        use canvass_custody::SigningKey;
        if let Ok(hex) = std::env::var("CANVASS_SIGNING_KEY") {
            return SigningKey::from_hex(&hex).context("CANVASS_SIGNING_KEY");
        }
        let path = key_path("CANVASS_SIGNING_KEY_FILE", &self.signing_key_file, "signing.key").context(
            "no signing key: set CANVASS_SIGNING_KEY, CANVASS_SIGNING_KEY_FILE or signing_key_file",
        )?;
        Ok(SigningKey::load_or_create(&path)?)
    }

    /// The data folder's key: `CANVASS_DATA_KEY`, else `data_key_file` (or
    /// `CANVASS_DATA_KEY_FILE`), else `~/.config/canvass/data.key`. A key file is made only for
    /// a folder not encrypted yet: a new key cannot open an encrypted one.
    fn data_key(&self, folder: &canvass_store::LocalStore) -> anyhow::Result<canvass_store::Secret256> {
        use canvass_store::Secret256;
        if let Ok(hex) = std::env::var("CANVASS_DATA_KEY") {
            return Secret256::from_hex(&hex).context("CANVASS_DATA_KEY");
        }
        let path = key_path("CANVASS_DATA_KEY_FILE", &self.data_key_file, "data.key")
            .context("no data key: set CANVASS_DATA_KEY, CANVASS_DATA_KEY_FILE or data_key_file")?;
        if let Some(key) = Secret256::load(&path, "data key")? {
            return Ok(key);
        }
        if let Some(id) = canvass_store::object_store::encrypted::marked_key_id(folder)? {
            anyhow::bail!(
                "the data folder {} is encrypted with key {id}, and there is no key at {}: set \
                 CANVASS_DATA_KEY, CANVASS_DATA_KEY_FILE or data_key_file to the key it was made with",
                folder.root().display(),
                path.display()
            );
        }
        Ok(Secret256::load_or_create(&path, "data key")?)
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
    pub motion_gate: Option<bool>,
    /// Crop classifier manifests (`kind = "classifier"`) to run on each event's best crop.
    pub classifiers: Option<Vec<String>>,
    /// Shorter box side in pixels below which a class gets no colour, by class name
    /// (`{ motorcycle = 32 }`); the defaults stand for the classes not named.
    pub min_attribute_box_px: Option<std::collections::BTreeMap<canvass_schemas::ObjectClass, u32>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSection {
    pub fps: Option<f64>,
    pub max_side: Option<u32>,
    pub jpeg_quality: Option<u8>,
    pub decoder_threads: Option<usize>,
    pub decode: Option<canvass_ingest::DecodeMode>,
    pub max_retries: Option<u32>,
}

/// A key file: `env`'s path, else the config's, else `name` under `~/.config/canvass`.
fn key_path(env: &str, configured: &Option<PathBuf>, name: &str) -> Option<PathBuf> {
    std::env::var_os(env)
        .map(PathBuf::from)
        .or_else(|| configured.clone())
        .or_else(|| canvass_store::secret::default_key_path(name))
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
    fn an_s3_store_section_parses_with_its_defaults() {
        let config: FileConfig = toml::from_str(
            "[store]\nkind = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:9000\"\nencryption = { kind = \"kms\", key_id = \"k1\" }\n",
        )
        .unwrap();
        let StoreSection::S3(s3) = config.store else { panic!("expected s3") };
        assert_eq!((s3.bucket.as_str(), s3.region.as_str()), ("b", "us-east-1"));
        assert_eq!(s3.encryption, canvass_store::Encryption::Kms { key_id: "k1".into() });
        let err = toml::from_str::<FileConfig>("[store]\nkind = \"s3\"\nbukket = \"b\"\n").unwrap_err();
        assert!(err.to_string().contains("bukket") || err.to_string().contains("bucket"), "{err}");
    }

    #[test]
    fn a_misspelt_key_is_an_error_not_silently_ignored() {
        let err = toml::from_str::<FileConfig>("[ingest]\nfsp = 2\n").unwrap_err();
        assert!(err.to_string().contains("fsp"), "{err}");
    }
}
