//! Live cameras as configuration: each `[[cameras]]` stream runs as an input of its own for as
//! long as the service runs and its owner allows, reconnecting by itself, with its health
//! kept for the API, the page and `/metrics`. A camera its owner refuses (or stops) is tried
//! again as the registry is re-read, so it starts once the owner's condition holds.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use canvass_ingest::{IngestConfig, IngestError, Progress};
use canvass_schemas::{CameraHealth, LiveState};
use canvass_transport::FrameSink;
use chrono::Utc;
use serde::Deserialize;

use crate::inputs::{InputError, Job, OwnerGate};

/// One `[[cameras]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveCamera {
    /// The source id its events get (and its owner's registration names).
    pub source_id: String,
    /// rtsp://user:password@host/path, srt://, http(s):// (HLS): what the camera serves.
    pub url: String,
}

impl LiveCamera {
    /// Whether this can run as a live camera: a source id, and a stream URL (not a file, not
    /// a misspelt scheme), said precisely at start rather than as a camera failing for ever.
    pub fn check(&self) -> Result<(), String> {
        // A malformed URL may still carry `user:password@`: never shown.
        let stripped = canvass_schemas::strip_credentials(&self.url);
        let name = match stripped.rsplit_once('@') {
            Some((_, host)) => format!("…@{host}"),
            None => stripped,
        };
        if self.source_id.trim().is_empty() {
            return Err(format!("camera {name}: source_id is empty"));
        }
        match canvass_ingest::InputSpec::parse(&self.url) {
            canvass_ingest::InputSpec::Url { scheme, .. }
                if LIVE_SCHEMES.contains(&scheme.as_str())
                    && self.url.split_once("://").is_some_and(|(_, rest)| !rest.is_empty()) =>
            {
                Ok(())
            }
            _ => Err(format!(
                "camera '{}': '{name}' is not a stream URL ({})",
                self.source_id,
                LIVE_SCHEMES.join("://, ") + "://"
            )),
        }
    }
}

/// What a camera may be: what cameras and encoders serve (HTTP for HLS and MJPEG).
const LIVE_SCHEMES: &[&str] = &["rtsp", "rtsps", "rtmp", "rtmps", "srt", "udp", "rtp", "http", "https"];

/// No frame for this long: the camera counts as disconnected (it is being reconnected).
const STALE: Duration = Duration::from_secs(3);
/// The frame rate is measured from this long after a stream opens.
const RATE_AFTER_OPEN: Duration = Duration::from_secs(2);
/// Wait after a failure other than the owner's refusal before trying again.
const RETRY_FAILED: Duration = Duration::from_secs(10);

pub struct LiveCameras {
    health: Arc<Mutex<BTreeMap<String, Tracked>>>,
    stop: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

struct Tracked {
    health: CameraHealth,
    /// When the current stream opened, and the media time it had then, for the lag.
    session: Option<(Instant, i64)>,
    /// (when, frames decoded) a few seconds ago, for the rate.
    rate_from: Option<(Instant, u64)>,
    last_frame: Option<Instant>,
}

impl LiveCameras {
    /// Starts one thread per camera, each sending into its own clone of `sink`.
    pub fn start<S: FrameSink + Clone + Send + 'static>(
        cameras: Vec<LiveCamera>,
        gate: Arc<OwnerGate>,
        config: IngestConfig,
        sink: S,
    ) -> LiveCameras {
        let stop = config.stop.clone();
        // An HTTP camera (HLS, MJPEG) that ends has dropped: reconnect, as for RTSP.
        let config = IngestConfig { http_is_live: true, ..config };
        let health = Arc::new(Mutex::new(BTreeMap::new()));
        let mut threads = Vec::new();
        for camera in cameras {
            let source_id = canvass_schemas::sanitize_source_id(&camera.source_id);
            let tracked = Tracked {
                health: CameraHealth {
                    source_id: source_id.clone(),
                    url: canvass_schemas::strip_credentials(&camera.url),
                    state: LiveState::Connecting,
                    connected: false,
                    fps_in: 0.0,
                    lag_s: 0.0,
                    last_frame_at: None,
                    frames_sampled: 0,
                    reconnects: 0,
                    error: None,
                },
                session: None,
                rate_from: None,
                last_frame: None,
            };
            health.lock().expect("health lock").insert(source_id.clone(), tracked);
            let job = Job { input: camera.url, source_id, start: None, evidence: None };
            let (gate, config, mut sink, health) =
                (gate.clone(), config.clone(), sink.clone(), health.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("live-{}", job.source_id))
                .spawn(move || run_camera(&gate, &job, &config, &mut sink, &health));
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(e) => tracing::error!("cannot start a live camera thread: {e}"),
            }
        }
        LiveCameras { health, stop, threads: Mutex::new(threads) }
    }

    /// Every camera's health now.
    pub fn health(&self) -> Vec<CameraHealth> {
        let mut all = self.health.lock().expect("health lock");
        all.values_mut()
            .map(|t| {
                let stale = t.last_frame.is_none_or(|at| at.elapsed() > STALE);
                if t.health.state == LiveState::Streaming && stale {
                    t.health.state = LiveState::Connecting;
                }
                t.health.connected = t.health.state == LiveState::Streaming;
                if !t.health.connected {
                    t.health.fps_in = 0.0;
                }
                t.health.clone()
            })
            .collect()
    }

    /// Stops every camera and waits for their threads.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.lock().expect("threads lock").drain(..) {
            let _ = thread.join();
        }
    }
}

fn run_camera(
    gate: &OwnerGate,
    job: &Job,
    config: &IngestConfig,
    sink: &mut dyn FrameSink,
    health: &Mutex<BTreeMap<String, Tracked>>,
) {
    let update = |change: &mut dyn FnMut(&mut Tracked)| {
        if let Some(tracked) = health.lock().expect("health lock").get_mut(&job.source_id) {
            change(tracked);
        }
    };
    while !config.stop.load(Ordering::Relaxed) {
        update(&mut |t| {
            t.session = None;
            t.rate_from = None;
        });
        let mut on_progress = |p: &Progress| {
            update(&mut |t| {
                let now = Instant::now();
                let (opened, media_at_open) = *t.session.get_or_insert((now, p.media_time_us));
                let received = (p.media_time_us - media_at_open) as f64 / 1e6;
                t.health.lag_s = (opened.elapsed().as_secs_f64() - received).max(0.0);
                match t.rate_from {
                    Some((since, frames)) if since.elapsed() >= Duration::from_secs(2) => {
                        t.health.fps_in = (p.frames_decoded - frames) as f64 / since.elapsed().as_secs_f64();
                        t.rate_from = Some((now, p.frames_decoded));
                    }
                    Some(_) => {}
                    // Not from the open: FFmpeg decodes what it read ahead in a burst first.
                    None if opened.elapsed() >= RATE_AFTER_OPEN => {
                        t.rate_from = Some((now, p.frames_decoded))
                    }
                    None => {}
                }
                t.health.state = LiveState::Streaming;
                t.health.error = None;
                t.health.frames_sampled = p.frames_sampled;
                t.health.reconnects = p.reconnects;
                t.health.last_frame_at = Some(Utc::now());
                t.last_frame = Some(now);
            })
        };
        let result = crate::inputs::ingest(gate, job, config, sink, &mut on_progress);
        let (state, error, wait) = match result {
            Ok(_) => (LiveState::Stopped, None, Duration::ZERO),
            Err(e @ (InputError::Refused(_) | InputError::Revoked(_))) => {
                (LiveState::RefusedByOwner, Some(e.to_string()), gate.recheck)
            }
            Err(InputError::Ingest(IngestError::Sink(e))) => {
                // The detector stage has gone: nothing more can be done with frames.
                tracing::error!(source = %job.source_id, "live camera stopped: {e}");
                (LiveState::Stopped, Some(e.to_string()), Duration::ZERO)
            }
            Err(e) => (LiveState::Failed, Some(e.to_string()), RETRY_FAILED),
        };
        if let Some(why) = &error {
            tracing::warn!(source = %job.source_id, "live camera: {why}");
        }
        update(&mut |t| {
            t.health.state = state;
            t.health.error = error.clone();
        });
        if state == LiveState::Stopped {
            break;
        }
        sleep_unless(&config.stop, wait);
    }
    update(&mut |t| t.health.state = LiveState::Stopped);
}

fn sleep_unless(stop: &AtomicBool, wait: Duration) {
    let until = Instant::now() + wait;
    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera(source_id: &str, url: &str) -> LiveCamera {
        LiveCamera { source_id: source_id.into(), url: url.into() }
    }

    #[test]
    fn a_camera_that_cannot_be_a_stream_is_refused_with_why() {
        assert!(camera("gate", "rtsp://viewer:pw@10.0.0.5:554/h264").check().is_ok());
        assert!(camera("gate", "https://cam.example/live.m3u8").check().is_ok());
        let refused = camera("gate", "rtsp//10.0.0.5/h264").check().unwrap_err();
        assert!(refused.contains("'rtsp//10.0.0.5/h264' is not a stream URL"), "{refused}");
        let hidden = camera("gate", "rtsp//viewer:secret@10.0.0.5/h264").check().unwrap_err();
        assert!(hidden.contains("'…@10.0.0.5/h264'") && !hidden.contains("secret"), "{hidden}");
        assert!(camera("gate", "/srv/footage/gate.mp4").check().is_err(), "a file is not a live camera");
        assert!(camera("gate", "ftp://cam/x").check().is_err());
        assert!(camera("gate", "rtsp://").check().is_err());
        let unnamed = camera(" ", "rtsp://viewer:secret@cam/x").check().unwrap_err();
        assert!(unnamed.contains("source_id") && !unnamed.contains("secret"), "{unnamed}");
    }
}
