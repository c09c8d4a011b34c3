//! What the workers report on `/metrics` (Prometheus text format) and `/healthz` (the HTTP
//! side is `canvass_serve::metrics`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use canvass_schemas::FrameMessage;
use canvass_store::{ObjectMeta, ObjectStore, Store, StoreError};
use canvass_transport::{FrameSink, TransportError};
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// A worker that has not made progress for this long answers 503 on `/healthz`.
const STALL_LIMIT_S: u64 = 120;

pub struct Metrics {
    registry: Registry,
    pub frames_decoded: IntCounter,
    pub frames_published: IntCounter,
    pub frames_consumed: IntCounter,
    pub frames_still: IntCounter,
    pub inference_seconds: HistogramVec,
    pub events_written: IntCounter,
    pub consumer_lag: IntGauge,
    pub errors: IntCounterVec,
    pub dead_letters: IntCounter,
    pub store_bytes_written: IntCounter,
    /// Live cameras (`canvass ingest --cameras`), by source: connected (0/1), frames decoded
    /// per second, and how far decoding runs behind the camera.
    live_connected: IntGaugeVec,
    live_fps_in: GaugeVec,
    live_lag_seconds: GaugeVec,
    /// Unix seconds of the worker's last sign of life.
    heartbeat: AtomicU64,
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let registry = Registry::new_custom(Some("canvass".into()), None).expect("valid prefix");
        fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
            let counter = IntCounter::new(name, help).expect("valid metric");
            registry.register(Box::new(counter.clone())).expect("registered once");
            counter
        }
        let inference_seconds = HistogramVec::new(
            HistogramOpts::new("inference_seconds", "Inference time per frame batch, per model")
                .buckets(prometheus::exponential_buckets(0.002, 2.0, 12).expect("valid buckets")),
            &["model"],
        )
        .expect("valid metric");
        registry.register(Box::new(inference_seconds.clone())).expect("registered once");
        let errors =
            IntCounterVec::new(Opts::new("errors_total", "Errors by kind"), &["kind"]).expect("valid metric");
        registry.register(Box::new(errors.clone())).expect("registered once");
        let consumer_lag = IntGauge::new(
            "consumer_lag_messages",
            "Frames-topic messages not yet processed by this worker's partitions",
        )
        .expect("valid metric");
        registry.register(Box::new(consumer_lag.clone())).expect("registered once");
        let by_source = |name: &str, help: &str| {
            let gauge = GaugeVec::new(Opts::new(name, help), &["source"]).expect("valid metric");
            registry.register(Box::new(gauge.clone())).expect("registered once");
            gauge
        };
        let live_fps_in = by_source("live_fps_in", "Frames decoded per second from each live camera");
        let live_lag_seconds = by_source("live_lag_seconds", "How far decoding runs behind each live camera");
        let live_connected = IntGaugeVec::new(
            Opts::new("live_connected", "Whether each live camera is streaming"),
            &["source"],
        )
        .expect("valid metric");
        registry.register(Box::new(live_connected.clone())).expect("registered once");
        Arc::new(Metrics {
            live_connected,
            live_fps_in,
            live_lag_seconds,
            frames_decoded: counter(&registry, "frames_decoded_total", "Frames decoded by ingest"),
            frames_published: counter(
                &registry,
                "frames_published_total",
                "Sampled frames sent to the frames topic",
            ),
            frames_consumed: counter(&registry, "frames_consumed_total", "Frames taken off the frames topic"),
            frames_still: counter(
                &registry,
                "frames_still_total",
                "Frames not inferred because nothing moved (motion gating)",
            ),
            events_written: counter(
                &registry,
                "events_written_total",
                "Events written to the object store in segments",
            ),
            dead_letters: counter(&registry, "dead_letters_total", "Messages sent to the dead-letter topic"),
            store_bytes_written: counter(
                &registry,
                "store_bytes_written_total",
                "Bytes written to the object store",
            ),
            inference_seconds,
            consumer_lag,
            errors,
            registry,
            heartbeat: AtomicU64::new(now_s()),
        })
    }

    /// The live cameras' health, as `/metrics` shows it.
    pub fn live(&self, cameras: &[canvass_schemas::CameraHealth]) {
        for camera in cameras {
            let source = [camera.source_id.as_str()];
            self.live_connected.with_label_values(&source).set(i64::from(camera.connected));
            self.live_fps_in.with_label_values(&source).set(camera.fps_in);
            self.live_lag_seconds.with_label_values(&source).set(camera.lag_s);
        }
    }

    pub fn error(&self, kind: &str) {
        self.errors.with_label_values(&[kind]).inc();
    }

    /// A store write failed and will be tried again: counted, and the worker is still alive.
    pub fn store_retry(&self) {
        self.error("store");
        self.alive();
    }

    /// The worker calls this as it makes progress (or waits idle but healthy).
    pub fn alive(&self) {
        self.heartbeat.store(now_s(), Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("text encoding cannot fail");
        String::from_utf8(out).expect("text format is UTF-8")
    }

    /// Whether the worker has shown a sign of life recently.
    pub fn healthy(&self) -> bool {
        now_s().saturating_sub(self.heartbeat.load(Ordering::Relaxed)) < STALL_LIMIT_S
    }
}

/// An object store that counts the bytes written through it.
pub struct MeteredStore {
    inner: Store,
    metrics: Arc<Metrics>,
}

impl MeteredStore {
    pub fn new(inner: Store, metrics: Arc<Metrics>) -> Self {
        MeteredStore { inner, metrics }
    }
}

impl ObjectStore for MeteredStore {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.put(key, bytes)?;
        self.metrics.store_bytes_written.inc_by(bytes.len() as u64);
        Ok(())
    }
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        let created = self.inner.put_new(key, bytes)?;
        if created {
            self.metrics.store_bytes_written.inc_by(bytes.len() as u64);
        }
        Ok(created)
    }
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.inner.get(key)
    }
    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>, StoreError> {
        self.inner.get_range(key, range)
    }
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list_dirs(prefix)
    }
}

/// A frame sink that counts what passes on.
#[derive(Clone)]
pub struct MeteredSink<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S: FrameSink> MeteredSink<S> {
    pub fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        MeteredSink { inner, metrics }
    }
}

impl<S: FrameSink> FrameSink for MeteredSink<S> {
    fn send(&mut self, frame: FrameMessage) -> Result<(), TransportError> {
        self.inner.send(frame)?;
        self.metrics.frames_published.inc();
        Ok(())
    }
    fn end_input(&mut self, source_id: &str, input: &str) -> Result<(), TransportError> {
        self.inner.end_input(source_id, input)
    }
    fn flush(&mut self) -> Result<(), TransportError> {
        self.inner.flush()
    }
}
