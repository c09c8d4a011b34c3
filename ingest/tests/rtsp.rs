//! Live input from a real RTSP server (GStreamer's, `scripts/rtsp-server`): what cameras speak.

mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use canvass_ingest::testing::RtspServer;
use canvass_ingest::{IngestConfig, IngestError, ReconnectPolicy};
use common::*;

fn stop_after(seconds: f64) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs_f64(seconds));
        flag.store(true, Ordering::Relaxed);
    });
    stop
}

fn live(stop: Arc<AtomicBool>) -> IngestConfig {
    IngestConfig {
        stop,
        reconnect: ReconnectPolicy {
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_millis(400),
            max_attempts: None,
        },
        io_timeout: Duration::from_secs(2),
        ..IngestConfig::default()
    }
}

#[test]
fn an_rtsp_camera_is_decoded_as_it_streams() {
    let server = RtspServer::start(&sample_video("pistol_range.mp4"), None);
    let out = ingest_with(&server.url(None), &live(stop_after(4.0)));
    let report = out.result.unwrap();
    assert!(report.interrupted, "a live camera runs until stopped");
    assert_eq!((report.codec.as_str(), report.width, report.height), ("h264", 1280, 676));
    // Frames came at 2 per second of the camera's time, as from a file.
    assert!(out.frames.len() >= 4, "{} frames", out.frames.len());
    let times = media_times(&out.frames);
    assert!(times.windows(2).all(|w| (w[1] - w[0] - 500_000).abs() <= 50_000), "{times:?}");
    assert!(out.frames.iter().all(|f| f.input == server.url(None) && f.original_width == 1280));
}

#[test]
fn a_server_restart_is_reconnected_nothing_is_delivered_twice_and_the_gap_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    // After the restart the camera sends a different resolution, as one reconfigured would.
    let smaller = make_clip(
        dir.path(),
        "smaller.mp4",
        &[
            "-i",
            sample_video("pistol_range.mp4").to_str().unwrap(),
            "-vf",
            "scale=640:-2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-an",
        ],
    );
    let mut server = RtspServer::start(&sample_video("pistol_range.mp4"), None);
    let url = server.url(None);
    let stop = Arc::new(AtomicBool::new(false));
    let config = live(stop.clone());
    let ingest = std::thread::spawn(move || ingest_with(&url, &config));
    std::thread::sleep(Duration::from_secs(3));
    server.stop();
    std::thread::sleep(Duration::from_secs(2));
    server.restart(&smaller);
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    let out = ingest.join().unwrap();
    let report = out.result.unwrap();
    assert!(report.reconnects >= 1, "{report:?}");
    let sequences: Vec<u64> = out.frames.iter().map(|f| f.sequence).collect();
    assert!(sequences.windows(2).all(|w| w[1] == w[0] + 1), "each frame once, in order: {sequences:?}");
    let times = media_times(&out.frames);
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    let widest_step = times.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(widest_step >= 1_500_000, "the 2 s the camera was down show as a gap in media time: {times:?}");
    assert!(report.missed_us >= 1_000_000, "and are reported: {report:?}");
    let widths: Vec<u32> = out.frames.iter().map(|f| f.original_width).collect();
    assert!(widths.first() == Some(&1280) && widths.last() == Some(&640), "{widths:?}");
    assert!(out.frames.iter().all(|f| f.width <= 640 && f.height > 0));
}

#[test]
fn a_camera_that_never_answers_times_out_and_is_given_up_when_told_to() {
    // Accepts the connection and says nothing, like a camera whose RTSP service has hung.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().collect();
        drop(held);
    });
    let config = IngestConfig {
        reconnect: ReconnectPolicy { max_attempts: Some(2), ..live(Arc::default()).reconnect },
        ..live(Arc::default())
    };
    let out = ingest_with(&format!("rtsp://127.0.0.1:{port}/live"), &config);
    match out.result {
        Err(IngestError::GaveUp { attempts: 2, last_error }) => {
            assert!(last_error.contains("no answer within 2 s"), "{last_error}")
        }
        other => panic!("expected GaveUp after 2 attempts, got {other:?}"),
    }
}

#[test]
fn wrong_credentials_are_refused_at_once_and_right_ones_stream() {
    let server = RtspServer::start(&sample_video("pistol_range.mp4"), Some(("viewer", "right-pass")));
    let out = ingest_with(&server.url(Some(("viewer", "wrong-pass"))), &live(stop_after(20.0)));
    let error = out.result.unwrap_err();
    assert!(matches!(error, IngestError::AccessDenied { .. }), "not retried for ever: {error:?}");
    let text = error.to_string();
    assert!(text.contains("401") && text.contains("user and password"), "{text}");
    assert!(!text.contains("wrong-pass"));
    let out = ingest_with(&server.url(Some(("viewer", "right-pass"))), &live(stop_after(3.0)));
    assert!(out.result.unwrap().frames_sampled >= 2);
    assert!(
        out.frames.iter().all(|f| !f.input.contains("right-pass")),
        "credentials never travel with frames"
    );
}

/// Keeps when each frame's header says it was seen, and when it really reached the sink.
#[derive(Default)]
struct ArrivalSink {
    seen: Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
}

impl canvass_transport::FrameSink for ArrivalSink {
    fn send(
        &mut self,
        frame: canvass_schemas::FrameMessage,
    ) -> Result<(), canvass_transport::TransportError> {
        self.seen.push((frame.header.wall_time, chrono::Utc::now()));
        Ok(())
    }
}

#[test]
fn a_live_frame_is_never_dated_after_it_arrived() {
    // Opening a stream reads ahead to learn its format: a clock started at the open would date
    // every frame late by that much (measured: 0.76 s on this server), and alerts with it.
    let server = RtspServer::start(&sample_video("pistol_range.mp4"), None);
    let spec = canvass_ingest::InputSpec::parse(&server.url(None));
    let mut sink = ArrivalSink::default();
    let report =
        canvass_ingest::ingest(&spec, "gate", &live(stop_after(4.0)), &mut sink, &mut |_| {}).unwrap();
    assert_eq!(report.wall_clock_source(), canvass_schemas::WallClockSource::Ingest);
    assert!(sink.seen.len() >= 4);
    for (dated, arrived) in &sink.seen {
        let late = (*dated - *arrived).num_milliseconds();
        assert!(late <= 100, "a frame dated {late} ms after it arrived");
    }
}
