//! A one-machine distributed deployment for tests: a real Kafka-protocol broker (tansu, whose
//! log lives in its own S3 server so it survives a restart), an S3 server for the events
//! (s3s-fs), and the `canvass` workers as child processes.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use canvass_schemas::DetectionEvent;
use canvass_store::testing::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use canvass_store::{EventLake, Pruning, S3Store};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::support::canvass;

pub const FRAMES_TOPIC: &str = "canvass.frames.v1";
pub const PARTITIONS: i32 = 4;
/// Long enough for a slow shared machine; nothing is judged on time.
pub const PATIENCE: Duration = Duration::from_secs(300);

fn tansu() -> PathBuf {
    let path = std::env::var_os("CANVASS_TANSU").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/canvass/tools/bin/tansu")
    });
    assert!(path.is_file(), "{} is missing: run scripts/test-services (it installs tansu)", path.display());
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, what: &str) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "{what} did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct Broker {
    child: Child,
    port: u16,
    log_store: S3Server,
}

impl Broker {
    pub fn start() -> Broker {
        let log_store = S3Server::start();
        log_store.create_bucket("tansu");
        let port = free_port();
        let child = Broker::spawn(port, &log_store);
        Broker { child, port, log_store }
    }

    fn spawn(port: u16, log_store: &S3Server) -> Child {
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(tansu())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "s3://tansu/"])
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ENDPOINT", &log_store.endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts");
        wait_for_port(port, "tansu");
        child
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// kill -9, then the same broker again on the same port and log.
    pub fn restart(&mut self, down_for: Duration) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(down_for);
        self.child = Broker::spawn(self.port, &self.log_store);
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Cluster {
    pub broker: Broker,
    pub events: S3Server,
    pub group: String,
    config: tempfile::TempDir,
}

/// A worker process that is stopped (SIGKILL) if the test ends without stopping it.
pub struct Worker {
    pub child: Child,
    pub metrics_port: u16,
}

impl Worker {
    /// SIGTERM, then waits: the worker flushes, checkpoints and exits.
    pub fn terminate(mut self) -> Output {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        child.wait_with_output().unwrap()
    }

    /// Waits for it to exit by itself.
    pub fn wait(mut self) -> Output {
        let child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        child.wait_with_output().unwrap()
    }

    pub fn kill_9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// One counter or gauge from its /metrics (0 until it answers).
    pub fn metric(&self, name: &str) -> f64 {
        metric(self.metrics_port, name)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn metric(port: u16, name: &str) -> f64 {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return 0.0 };
    use std::io::{Read, Write};
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").is_err() {
        return 0.0;
    }
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body.lines()
        .find_map(|line| {
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

impl Cluster {
    pub fn start() -> Cluster {
        let broker = Broker::start();
        let events = S3Server::start();
        let config = tempfile::tempdir().unwrap();
        // Few partitions keep a test's rebalances quick; the checkpoint interval is short so a
        // killed worker's successor has little to redo.
        std::fs::write(
            config.path().join("canvass.toml"),
            format!("[kafka]\npartitions = {PARTITIONS}\n\n[worker]\ncheckpoint_interval_s = 1\n"),
        )
        .unwrap();
        Cluster { broker, events, group: "detectors".into(), config }
    }

    fn command(&self) -> Command {
        let mut cmd = canvass();
        cmd.arg("--config")
            .arg(self.config.path().join("canvass.toml"))
            .env("CANVASS_KAFKA_BROKERS", self.broker.address())
            .env("CANVASS_KAFKA_GROUP", &self.group)
            .env("CANVASS_S3_BUCKET", BUCKET)
            .env("CANVASS_S3_ENDPOINT", &self.events.endpoint)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1");
        cmd
    }

    pub fn detector(&self) -> Worker {
        let metrics_port = free_port();
        let child = self
            .command()
            .args(["detect", "--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("canvass detect starts");
        Worker { child, metrics_port }
    }

    /// `canvass ingest` on the clips, running (with /metrics) until waited for.
    pub fn ingest(&self, clips: &[(&str, &str)], fps: &str) -> Worker {
        let metrics_port = free_port();
        let mut cmd = self.command();
        cmd.args(["ingest", "--fps", fps, "--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);
        assert_eq!(clips.len(), 1, "--start is per recording: one clip per ingest");
        let (clip, start) = clips[0];
        cmd.args(["--start", start]).arg(clip);
        let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("canvass ingest starts");
        Worker { child, metrics_port }
    }

    fn admin_consumer(&self) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", self.broker.address())
            .set("group.id", &self.group)
            .create()
            .unwrap()
    }

    /// Waits until the group's committed offsets (written after each checkpoint) reach the end
    /// of every frames partition: every frame is processed and checkpointed.
    pub fn wait_until_processed(&self) {
        let consumer = self.admin_consumer();
        let started = Instant::now();
        loop {
            let mut behind = 0i64;
            let mut tpl = TopicPartitionList::new();
            for p in 0..PARTITIONS {
                tpl.add_partition(FRAMES_TOPIC, p);
            }
            let committed = consumer.committed_offsets(tpl, Duration::from_secs(10));
            for p in 0..PARTITIONS {
                let high = consumer
                    .fetch_watermarks(FRAMES_TOPIC, p, Duration::from_secs(10))
                    .map(|w| w.1)
                    .unwrap_or(1);
                let at = committed
                    .as_ref()
                    .ok()
                    .and_then(|c| c.find_partition(FRAMES_TOPIC, p))
                    .and_then(|e| match e.offset() {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    })
                    .unwrap_or(0);
                behind += (high - at).max(0);
            }
            if behind == 0 {
                return;
            }
            assert!(started.elapsed() < PATIENCE, "{behind} frames-topic messages still unprocessed");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Every stored copy of every event, by id (a replay may store an event twice; search
    /// shows it once).
    pub fn stored_rows(&self) -> BTreeMap<String, Vec<DetectionEvent>> {
        let lake = EventLake::new(S3Store::new(self.events.config("")).unwrap());
        let mut rows: BTreeMap<String, Vec<DetectionEvent>> = BTreeMap::new();
        for summary in lake.segments_in_range(&Pruning::default(), &mut Default::default()).unwrap() {
            for event in lake.segment_events(&summary).unwrap() {
                rows.entry(event.event_id.to_string()).or_default().push(event);
            }
        }
        rows
    }

    /// What search sees: each event once.
    pub fn events(&self) -> Vec<DetectionEvent> {
        let lake = EventLake::new(S3Store::new(self.events.config("")).unwrap());
        let (mut events, _) = lake.scan(&Pruning::default()).unwrap();
        events.sort_by(|a, b| a.event_id.cmp(&b.event_id));
        events
    }

    pub fn dead_letters(&self) -> Vec<(Vec<u8>, BTreeMap<String, String>)> {
        use rdkafka::Message;
        use rdkafka::message::Headers;
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.broker.address())
            .set("group.id", "dead-letter-reader")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        consumer.subscribe(&["canvass.dead-letter.v1"]).unwrap();
        let mut letters = Vec::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(500)) {
                let headers = message
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| {
                                (
                                    h.key.to_string(),
                                    String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                letters.push((message.payload().unwrap_or_default().to_vec(), headers));
                break;
            }
        }
        letters
    }
}
