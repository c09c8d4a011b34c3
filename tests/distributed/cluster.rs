//! A one-machine distributed deployment for tests: a real Kafka-protocol broker (tansu, in
//! memory, or with its log in its own S3 server where it must survive a restart), an S3 server
//! for the events (s3s-fs), and the `canvass` workers as child processes.
#![allow(dead_code)] // two test binaries use different parts

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use canvass_schemas::DetectionEvent;
use canvass_store::ObjectStore;
use canvass_store::testing::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use canvass_store::{EventLake, Pruning, S3Store};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::support::{canvass, repo};

pub const FRAMES_TOPIC: &str = "canvass.frames.v1";
pub const PARTITIONS: i32 = 4;
/// Long enough for a slow shared machine; nothing is judged on time.
pub const PATIENCE: Duration = Duration::from_secs(240);

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
    /// Where a durable broker keeps its log; `None`: in memory.
    log_store: Option<S3Server>,
}

impl Broker {
    /// `durable`: the log survives a restart (tansu's S3 storage engine; slower, and under
    /// load its metadata lagged: in-memory is used wherever no restart is needed).
    pub fn start(durable: bool) -> Broker {
        let log_store = durable.then(|| {
            let store = S3Server::start();
            store.create_bucket("tansu");
            store
        });
        let port = free_port();
        let child = Broker::spawn(port, log_store.as_ref());
        Broker { child, port, log_store }
    }

    fn spawn(port: u16, log_store: Option<&S3Server>) -> Child {
        let url = format!("tcp://127.0.0.1:{port}");
        let mut cmd = Command::new(tansu());
        cmd.args(["broker", "--listener-url", &url, "--advertised-listener-url", &url]);
        match log_store {
            Some(store) => cmd
                .args(["--storage-engine", "s3://tansu/"])
                .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
                .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .env("AWS_ENDPOINT", &store.endpoint)
                .env("AWS_ALLOW_HTTP", "true"),
            None => cmd.args(["--storage-engine", "memory://tansu/"]),
        };
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("tansu starts");
        wait_for_port(port, "tansu");
        child
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// kill -9, then the same broker again on the same port and log.
    pub fn restart(&mut self, down_for: Duration) {
        assert!(self.log_store.is_some(), "an in-memory broker loses everything on restart");
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(down_for);
        self.child = Broker::spawn(self.port, self.log_store.as_ref());
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
    workers_started: std::cell::Cell<u32>,
    /// More of `serve.toml`, given by `add_config`.
    serve_extra: std::cell::RefCell<String>,
}

/// A worker process that is stopped (SIGKILL) if the test ends without stopping it. Its
/// output goes to a file, shown when something fails.
pub struct Worker {
    pub child: Child,
    pub metrics_port: u16,
    log: PathBuf,
}

impl Worker {
    /// SIGTERM, then waits: the worker flushes, checkpoints and exits.
    pub fn terminate(self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.wait()
    }

    /// Waits for it to exit by itself; its status and output.
    pub fn wait(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().unwrap();
        (status, self.output())
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill_9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Panics with the worker's output if it has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("a worker exited early ({status}):\n{}", self.output());
        }
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
    pub fn start(durable_broker: bool) -> Cluster {
        let broker = Broker::start(durable_broker);
        let events = S3Server::start();
        let config = tempfile::tempdir().unwrap();
        // Few partitions keep a test's rebalances quick; the checkpoint interval is short so a
        // killed worker's successor has little to redo.
        std::fs::write(
            config.path().join("canvass.toml"),
            format!("[kafka]\npartitions = {PARTITIONS}\n\n[worker]\ncheckpoint_interval_s = 1\n"),
        )
        .unwrap();
        Cluster {
            broker,
            events,
            group: "detectors".into(),
            config,
            workers_started: Default::default(),
            serve_extra: Default::default(),
        }
    }

    /// Adds `workers` to the workers' config file and `serve` to the service's (alert rules,
    /// cameras), before they start.
    pub fn add_config(&self, workers: &str, serve: &str) {
        let path = self.config.path().join("canvass.toml");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(workers);
        std::fs::write(path, text).unwrap();
        self.serve_extra.borrow_mut().push_str(serve);
    }

    fn command(&self) -> Command {
        let mut cmd = canvass();
        cmd.arg("--config").arg(self.config.path().join("canvass.toml"));
        self.environment(&mut cmd);
        cmd
    }

    /// Where the brokers and the bucket are, and the bucket's credentials.
    fn environment(&self, cmd: &mut Command) {
        cmd.env("CANVASS_KAFKA_BROKERS", self.broker.address())
            .env("CANVASS_KAFKA_GROUP", &self.group)
            .env("CANVASS_S3_BUCKET", BUCKET)
            .env("CANVASS_S3_ENDPOINT", &self.events.endpoint)
            .env("CANVASS_S3_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1");
    }

    fn spawn(&self, mut cmd: Command, metrics_port: u16) -> Worker {
        let n = self.workers_started.get() + 1;
        self.workers_started.set(n);
        let log = self.config.path().join(format!("worker-{n}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = cmd.stdout(file.try_clone().unwrap()).stderr(file).spawn().expect("canvass starts");
        Worker { child, metrics_port, log }
    }

    pub fn detector(&self) -> Worker {
        let metrics_port = free_port();
        let mut cmd = self.command();
        cmd.args(["detect", "--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);
        self.spawn(cmd, metrics_port)
    }

    /// `canvass ingest` on the clips, running (with /metrics) until waited for.
    pub fn ingest(&self, clips: &[(&str, &str)], fps: &str) -> Worker {
        let metrics_port = free_port();
        let mut cmd = self.command();
        cmd.args(["ingest", "--fps", fps, "--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);
        assert_eq!(clips.len(), 1, "--start is per recording: one clip per ingest");
        let (clip, start) = clips[0];
        cmd.args(["--start", start]).arg(clip);
        self.spawn(cmd, metrics_port)
    }

    /// `canvass serve` over the cluster's bucket, handing jobs to the jobs topic; investigator
    /// `ana` of agency `metro` signs in with `token`. Returns it and its port.
    pub fn serve(&self, token: &str) -> (Worker, u16) {
        let hash = canvass_governance::access::token_hash(token);
        let config = self.config.path().join("serve.toml");
        std::fs::write(
            &config,
            format!(
                "[kafka]\npartitions = {PARTITIONS}\n\n\
                 [store]\nkind = \"s3\"\nbucket = \"{BUCKET}\"\nendpoint = \"{}\"\nforce_path_style = true\nallow_http = true\n\n\
                 [[agencies]]\nname = \"metro\"\nsources = [\"*\"]\n\n\
                 [[users]]\nname = \"ana\"\nrole = \"investigator\"\nagency = \"metro\"\ntoken_sha256 = \"{hash}\"\n\n{}",
                self.events.endpoint,
                self.serve_extra.borrow(),
            ),
        )
        .unwrap();
        let port = free_port();
        let mut cmd = canvass();
        self.environment(&mut cmd);
        cmd.arg("--config").arg(&config).args([
            "serve",
            "--jobs",
            "kafka",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]);
        // The page too, for the player test (scripts/setup builds it).
        let web = repo().join("web/dist");
        assert!(web.join("index.html").is_file(), "web/dist is missing: run scripts/setup");
        cmd.arg("--web-dir").arg(web);
        let worker = self.spawn(cmd, free_port());
        wait_for_port(port, "canvass serve");
        (worker, port)
    }

    /// `canvass ingest --cameras`: the configured live cameras into the frames topic.
    pub fn camera_worker(&self) -> Worker {
        let metrics_port = free_port();
        let mut cmd = self.command();
        cmd.args(["ingest", "--cameras", "--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);
        self.spawn(cmd, metrics_port)
    }

    /// `canvass ingest --jobs`: takes ingest jobs off the jobs topic until stopped.
    pub fn job_worker(&self, fps: &str) -> Worker {
        let metrics_port = free_port();
        let mut cmd = self.command();
        cmd.args([
            "ingest",
            "--jobs",
            "--fps",
            fps,
            "--metrics-listen",
            &format!("127.0.0.1:{metrics_port}"),
        ]);
        self.spawn(cmd, metrics_port)
    }

    /// Waits until the detectors' checkpoints (in the object store, written after the events
    /// they cover) reach the end of every frames partition: every frame is processed.
    pub fn wait_until_processed(&self, workers: &mut [Worker]) {
        let consumer: BaseConsumer =
            ClientConfig::new().set("bootstrap.servers", self.broker.address()).create().unwrap();
        let store = S3Store::new(self.events.config("")).unwrap();
        let started = Instant::now();
        loop {
            let mut behind = 0i64;
            let mut published = 0i64;
            for p in 0..PARTITIONS {
                let Ok((_, high)) = consumer.fetch_watermarks(FRAMES_TOPIC, p, Duration::from_secs(10))
                else {
                    behind += 1;
                    continue;
                };
                let key = canvass_store::keys::detect_checkpoint(&self.group, FRAMES_TOPIC, p);
                let next = store
                    .get(&key)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
                    .and_then(|c| c["next_offset"].as_i64())
                    .unwrap_or(0);
                published += high;
                behind += (high - next).max(0);
            }
            // The test published before it waits: an empty topic is metadata not caught up yet.
            if behind == 0 && published > 0 {
                return;
            }
            workers.iter_mut().for_each(Worker::assert_running);
            if started.elapsed() > PATIENCE {
                let logs: Vec<String> = workers.iter().map(Worker::output).collect();
                panic!(
                    "{behind} frames-topic messages still unprocessed; worker output:\n{}",
                    logs.join("\n-----\n")
                );
            }
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
        // Every letter there is: the topic's one partition read to its end.
        let (_, end) =
            consumer.fetch_watermarks("canvass.dead-letter.v1", 0, Duration::from_secs(10)).unwrap();
        let mut letters = Vec::new();
        let started = Instant::now();
        while (letters.len() as i64) < end && started.elapsed() < Duration::from_secs(20) {
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
            }
        }
        letters
    }
}
