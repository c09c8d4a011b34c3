//! Flags the distributed workers share: where the brokers and the bucket are, where to serve
//! metrics. Each overrides its setting in the TOML file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use canvass_pipeline::Metrics;
use canvass_store::Store;
use canvass_transport::kafka::{KafkaSettings, ensure_topics};

use crate::config::{FileConfig, StoreSection};
use crate::data_arg::DataArg;

#[derive(clap::Args)]
pub struct WorkerArgs {
    /// Kafka bootstrap servers, host:port[,host:port]. [default: [kafka] brokers, else
    /// localhost:9092]
    #[arg(long, env = "CANVASS_KAFKA_BROKERS")]
    pub brokers: Option<String>,
    /// Consumer group of the detector workers. [default: canvass-detectors]
    #[arg(long, env = "CANVASS_KAFKA_GROUP")]
    pub group: Option<String>,
    /// Kafka security.protocol: plaintext, ssl, sasl_plaintext or sasl_ssl.
    #[arg(long, env = "CANVASS_KAFKA_SECURITY_PROTOCOL")]
    pub kafka_security_protocol: Option<String>,
    /// CA certificate (PEM) that signed the brokers' certificates.
    #[arg(long, env = "CANVASS_KAFKA_CA_FILE", value_name = "PEM")]
    pub kafka_ca_file: Option<PathBuf>,
    /// SASL mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and user; the password only by
    /// environment, CANVASS_KAFKA_SASL_PASSWORD, so it stays out of process listings.
    #[arg(long, env = "CANVASS_KAFKA_SASL_MECHANISM")]
    pub kafka_sasl_mechanism: Option<String>,
    #[arg(long, env = "CANVASS_KAFKA_SASL_USERNAME")]
    pub kafka_sasl_username: Option<String>,
    /// Serve /metrics and /healthz on this address, e.g. 0.0.0.0:9464.
    #[arg(long, env = "CANVASS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// S3 bucket for events, thumbnails, checkpoints and the registry (replaces the file's
    /// [store]); credentials from the standard AWS chain.
    #[arg(long, env = "CANVASS_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 endpoint of an S3-compatible store (path-style addressing is used with it).
    #[arg(long, env = "CANVASS_S3_ENDPOINT", requires = "s3_bucket")]
    pub s3_endpoint: Option<String>,
    /// Let an http:// S3 endpoint through (a test server on this machine; never in production).
    #[arg(long, env = "CANVASS_S3_ALLOW_HTTP", requires = "s3_endpoint")]
    pub s3_allow_http: bool,
    #[command(flatten)]
    pub data: DataArg,
}

impl WorkerArgs {
    pub fn kafka(&self, file: &FileConfig) -> KafkaSettings {
        let mut settings = file.kafka.clone();
        if let Some(brokers) = &self.brokers {
            settings.brokers = brokers.clone();
        }
        if let Some(group) = &self.group {
            settings.group = group.clone();
        }
        let password = std::env::var("CANVASS_KAFKA_SASL_PASSWORD").ok();
        for (key, value) in [
            ("security.protocol", self.kafka_security_protocol.clone()),
            ("ssl.ca.location", self.kafka_ca_file.as_ref().map(|p| p.display().to_string())),
            ("sasl.mechanism", self.kafka_sasl_mechanism.clone()),
            ("sasl.username", self.kafka_sasl_username.clone()),
            ("sasl.password", password),
        ] {
            if let Some(value) = value {
                settings.properties.insert(key.to_string(), value);
            }
        }
        settings
    }

    /// The Kafka settings, with the topics created first where the settings ask for it.
    pub fn kafka_with_topics(&self, file: &FileConfig) -> anyhow::Result<KafkaSettings> {
        let settings = self.kafka(file);
        if settings.create_topics {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(ensure_topics(&settings)).with_context(|| {
                format!("cannot create the topics on the Kafka brokers at {}", settings.brokers)
            })?;
        }
        Ok(settings)
    }

    pub fn metrics_listen(&self, file: &FileConfig) -> Option<SocketAddr> {
        self.metrics_listen.or(file.worker.metrics_listen)
    }

    pub fn store(&self, file: &FileConfig) -> anyhow::Result<Store> {
        let Some(bucket) = &self.s3_bucket else { return file.store(self.data.dir.clone()) };
        let mut s3 = match &file.store {
            StoreSection::S3(config) => config.clone(),
            StoreSection::Local => canvass_store::S3Config::new(bucket.clone()),
        };
        s3.bucket = bucket.clone();
        if let Some(endpoint) = &self.s3_endpoint {
            s3.endpoint = Some(endpoint.clone());
            s3.force_path_style = true;
        }
        s3.allow_http = self.s3_allow_http;
        FileConfig { store: StoreSection::S3(s3), ..Default::default() }.store(None)
    }
}

/// Serves the worker's `/metrics` and `/healthz`.
pub fn serve_metrics(metrics: &Arc<Metrics>, listen: SocketAddr) -> anyhow::Result<SocketAddr> {
    let (render, health) = (metrics.clone(), metrics.clone());
    Ok(canvass_serve::metrics::serve_worker_endpoints(
        listen,
        move || render.render(),
        move || health.healthy(),
    )?)
}
