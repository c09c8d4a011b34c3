//! `canvass serve`: the investigator API over the data folder.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use canvass_alerts::{AlertEngine, Notifier, RuleBook};
use canvass_detector::Detector;
use canvass_pipeline::alerting::Alerting;
use canvass_pipeline::embedded::DetectStage;
use canvass_pipeline::inputs::OwnerGate;
use canvass_pipeline::job_runner::EmbeddedJobs;
use canvass_pipeline::live::LiveCameras;
use canvass_pipeline::{EventWriter, SEGMENT_MAX_AGE};
use canvass_serve::state::LiveStatus;
use canvass_serve::{JobQueue, JobRunner, Service};
use canvass_store::EventLake;
use canvass_store::Store;
use canvass_transport::kafka::alerts::AlertConsumer;
use canvass_transport::kafka::jobs::JobPublisher;
use canvass_transport::kafka::{KafkaSettings, ensure_topics};

use crate::config::FileConfig;
use crate::data_arg::DataArg;
use crate::detector_args::DetectorArgs;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    data: DataArg,
    /// Address to listen on. [default: 127.0.0.1:8480]
    #[arg(long, env = "CANVASS_LISTEN")]
    listen: Option<String>,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, env = "CANVASS_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "CANVASS_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Speak plain HTTP on a non-loopback address because a proxy or ingress in front
    /// terminates TLS. Without it (and without --tls-cert) serve makes a self-signed certificate.
    #[arg(long, env = "CANVASS_BEHIND_TLS_PROXY")]
    behind_tls_proxy: bool,
    /// Folder of the built web page (`web/dist`, made by the set-up step). [default: web/dist
    /// when it exists]
    #[arg(long, env = "CANVASS_WEB_DIR")]
    web_dir: Option<PathBuf>,
    /// Who runs the ingest jobs of uploaded evidence: embedded (this process), kafka (the jobs
    /// topic, for `canvass ingest --jobs` workers) or off. [default: [serve] jobs, else embedded]
    #[arg(long, env = "CANVASS_JOBS", value_parser = ["embedded", "kafka", "off"])]
    jobs: Option<String>,
    /// Kafka bootstrap servers for --jobs kafka. [default: [kafka] brokers]
    #[arg(long, env = "CANVASS_KAFKA_BROKERS")]
    brokers: Option<String>,
    /// The models the embedded job runner uses.
    #[command(flatten)]
    detector: DetectorArgs,
}

pub fn run(args: ServeArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let access = file.access()?;
    if access.users.is_empty() {
        anyhow::bail!("no users configured: add [[users]] to the config file (see `canvass token`)");
    }
    let mut settings = file.serve.clone();
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    if args.tls_cert.is_some() {
        (settings.tls_cert, settings.tls_key) = (args.tls_cert, args.tls_key);
    }
    if args.behind_tls_proxy {
        settings.behind_tls_proxy = true;
    }
    if args.web_dir.is_some() {
        settings.web_dir = args.web_dir;
    }
    if settings.web_dir.is_none() && std::path::Path::new("web/dist/index.html").is_file() {
        settings.web_dir = Some(PathBuf::from("web/dist"));
    }
    if let Some(dir) = &settings.web_dir
        && !dir.join("index.html").is_file()
    {
        anyhow::bail!("no web page in {}: build it with scripts/setup (npm, vite)", dir.display());
    }
    let tls = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => {
            Some(canvass_serve::tls::server_config(cert, key).map_err(anyhow::Error::msg)?)
        }
        (None, None) => plain_or_self_signed(&settings)?,
        _ => anyhow::bail!("[serve] tls_cert and tls_key go together"),
    };
    if let Some(jobs) = &args.jobs {
        settings.jobs = match jobs.as_str() {
            "kafka" => JobRunner::Kafka,
            "off" => JobRunner::Off,
            _ => JobRunner::Embedded,
        };
    }
    let data = file.store_location(args.data.dir.clone());
    let store: Store = file.store(args.data.dir.clone())?;
    let listen = settings.listen.clone();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let queue = job_queue(&args.detector, args.brokers.as_deref(), file, &settings, &store, &runtime)?;
    // Distributed, the detector workers raise alerts onto the alerts topic; this process
    // delivers them (and runs no cameras: `canvass ingest --cameras` workers do).
    let kafka = (settings.jobs == JobRunner::Kafka).then(|| kafka_settings(file, args.brokers.as_deref()));
    let mut service = Service::new(store.clone(), access, settings, file.audit_key()?);
    // Without a key (a read-only file system, nothing configured) the service still serves;
    // it makes no export packages and says why.
    service.signing_key = match file.signing_key() {
        Ok(key) => Some(key),
        Err(e) => {
            tracing::warn!("no package signing key ({e:#}): export packages are refused (503)");
            None
        }
    };
    if let Some(queue) = queue {
        service = service.with_job_queue(queue);
    }
    let rules = crate::alerting::book(file, &store)?;
    let realtime = Realtime::start(&args.detector, file, &store, &rules, kafka.as_ref())?;
    service.alert_feed = realtime.notifier.as_ref().map(|n| n.feed());
    service.alert_rules = Some(rules);
    service.live = realtime.cameras.clone().map(|c| c as Arc<dyn LiveStatus>);
    let service = Arc::new(service);
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!(address = %listener.local_addr()?, scheme, data = %data, "serving");
        canvass_serve::serve(service, listener, tls, shutdown_signal()).await.context("server failed")
    });
    realtime.finish();
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Alerts and live cameras in this process: the configured cameras feed a detector stage of
/// their own, whose tracks go through the alert rules to the notifier (webhooks, the page).
struct Realtime {
    notifier: Option<Arc<Notifier>>,
    cameras: Option<Arc<Cameras>>,
    stage: Option<DetectStage>,
    /// The alerts topic's reader (distributed), and what stops it.
    topic: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

struct Cameras(LiveCameras);

impl LiveStatus for Cameras {
    fn cameras(&self) -> Vec<canvass_schemas::CameraHealth> {
        self.0.health()
    }
}

impl Realtime {
    fn start(
        detector: &DetectorArgs,
        file: &FileConfig,
        store: &Store,
        rules: &RuleBook,
        kafka: Option<&KafkaSettings>,
    ) -> anyhow::Result<Realtime> {
        let cameras = file.live_cameras()?;
        // Always: supervisors may make rules through the API at any time.
        let notifier = Arc::new(crate::alerting::notifier(file, store, rules)?);
        if let Some(kafka) = kafka {
            let topic = Some(read_alerts_topic(kafka, notifier.clone())?);
            return Ok(Realtime { notifier: Some(notifier), cameras: None, stage: None, topic });
        }
        let notifier = Some(notifier);
        if cameras.is_empty() {
            return Ok(Realtime { notifier, cameras: None, stage: None, topic: None });
        }
        let models = Detector::new(detector.config_with_scenes(file, store)?)
            .context("cannot load the models for the live cameras")?;
        let events = EventWriter::new(EventLake::new(store.clone()), SEGMENT_MAX_AGE);
        let engine = AlertEngine::live(crate::alerting::live(file, rules));
        let alerting = notifier.clone().map(|bus| Alerting::new(engine, move |alert| bus.deliver(alert)));
        let stage =
            DetectStage::start(models, events, None, alerting, |e| tracing::error!("live cameras: {e}"))?;
        let config = canvass_pipeline::embedded::in_process(&crate::ingest_args::file_defaults(file)?);
        let gate = Arc::new(OwnerGate::new(store.clone(), file.audit_key()?));
        tracing::info!(cameras = cameras.len(), "live cameras starting");
        let cameras = LiveCameras::start(cameras, gate, config, stage.sink.clone());
        Ok(Realtime { notifier, cameras: Some(Arc::new(Cameras(cameras))), stage: Some(stage), topic: None })
    }

    /// Stops the cameras, writes what their tracks left, and hands what the webhooks have not
    /// taken to the dead letters.
    fn finish(self) {
        if let Some((stop, reader)) = self.topic {
            stop.store(true, Ordering::Relaxed);
            let _ = reader.join();
        }
        if let Some(cameras) = &self.cameras {
            cameras.0.stop();
        }
        if let Some(stage) = self.stage
            && let Err(e) = stage.finish()
        {
            tracing::error!("live cameras: the last events could not be written: {e}");
        }
        // Stopping: what the hooks have not taken becomes dead letters, not a held-up exit.
        if let Some(notifier) = self.notifier.and_then(Arc::into_inner) {
            notifier.abandon();
            notifier.finish();
        }
    }
}

/// The embedded runner inside this process, or the Kafka jobs topic; none when jobs are off.
fn job_queue(
    detector: &DetectorArgs,
    brokers: Option<&str>,
    file: &FileConfig,
    settings: &canvass_serve::ServeSettings,
    store: &Store,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Option<Arc<dyn JobQueue>>> {
    Ok(match settings.jobs {
        JobRunner::Off => None,
        JobRunner::Embedded => {
            let gate = OwnerGate::new(store.clone(), file.audit_key()?);
            let ingest = crate::ingest_args::file_defaults(file)?;
            let runner = EmbeddedJobs::start(store.clone(), gate, detector.config(file), ingest)?;
            tracing::info!("ingest jobs run in this process");
            Some(Arc::new(Embedded(runner)))
        }
        JobRunner::Kafka => {
            let kafka = kafka_settings(file, brokers);
            if kafka.create_topics {
                runtime.block_on(ensure_topics(&kafka)).with_context(|| {
                    format!("cannot create the topics on the Kafka brokers at {}", kafka.brokers)
                })?;
            }
            tracing::info!(topic = %kafka.topics.jobs, "ingest jobs go to the jobs topic");
            Some(Arc::new(Topic(JobPublisher::new(&kafka)?)))
        }
    })
}

struct Embedded(EmbeddedJobs);

impl JobQueue for Embedded {
    fn submit(&self, id: &str) -> Result<(), String> {
        self.0.submit(id)
    }
}

struct Topic(JobPublisher);

impl JobQueue for Topic {
    fn submit(&self, id: &str) -> Result<(), String> {
        self.0.publish(id).map_err(|e| e.to_string())
    }
}

/// Plain HTTP on loopback, or behind a TLS proxy when told so; HTTPS with a self-signed
/// certificate anywhere else.
fn plain_or_self_signed(
    settings: &canvass_serve::ServeSettings,
) -> anyhow::Result<Option<Arc<canvass_serve::tls::ServerConfig>>> {
    use std::net::ToSocketAddrs;
    let addresses: Vec<std::net::SocketAddr> = settings
        .listen
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve the listen address {}", settings.listen))?
        .collect();
    if !addresses.is_empty() && addresses.iter().all(|a| a.ip().is_loopback()) {
        return Ok(None);
    }
    if settings.behind_tls_proxy {
        tracing::warn!(listen = %settings.listen, "plain HTTP off loopback: a proxy in front must terminate TLS");
        return Ok(None);
    }
    let dir = match &settings.tls_dir {
        Some(dir) => dir.clone(),
        None => {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config/canvass/tls")).context(
                "no certificate configured and no HOME to keep a self-signed one: set [serve] tls_dir",
            )?
        }
    };
    let host = settings.listen.rsplit_once(':').map_or(settings.listen.as_str(), |(host, _)| host);
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if !matches!(host, "0.0.0.0" | "[::]" | "::" | "") {
        names.push(host.trim_matches(['[', ']']).to_string());
    }
    let (cert, key, fingerprint) =
        canvass_serve::tls::self_signed(&dir, &names).map_err(anyhow::Error::msg)?;
    eprintln!(
        "serving HTTPS with a self-signed certificate ({}), SHA-256 fingerprint {fingerprint}; \
         configure tls_cert/tls_key for a real one, or --behind-tls-proxy",
        cert.display()
    );
    Ok(Some(canvass_serve::tls::server_config(&cert, &key).map_err(anyhow::Error::msg)?))
}

/// Ctrl-C or SIGTERM: stop taking requests, finish those in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Reads the alerts topic into `notifier` on a thread of its own until stopped.
fn read_alerts_topic(
    kafka: &KafkaSettings,
    notifier: Arc<Notifier>,
) -> anyhow::Result<(Arc<AtomicBool>, std::thread::JoinHandle<()>)> {
    let consumer = AlertConsumer::new(kafka).context("cannot read the alerts topic")?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let reader = std::thread::Builder::new().name("alerts-topic".into()).spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            match consumer.poll(std::time::Duration::from_millis(250)) {
                Ok(Some(Ok(alert))) => notifier.deliver(alert),
                Ok(Some(Err(why))) => tracing::warn!("alerts topic: skipped {why}"),
                Ok(None) => {}
                // The client reconnects by itself (a broker restart).
                Err(e) => tracing::warn!("alerts topic: {e}"),
            }
        }
    })?;
    tracing::info!(topic = %kafka.topics.alerts, "alerts come from the alerts topic");
    Ok((stop, reader))
}

/// The `[kafka]` settings, with `--brokers` when given.
fn kafka_settings(file: &FileConfig, brokers: Option<&str>) -> KafkaSettings {
    let mut kafka = file.kafka.clone();
    if let Some(brokers) = brokers {
        kafka.brokers = brokers.into();
    }
    kafka
}
