//! Every kind of bad input gets a clear error (or, for recoverable damage, a count) and no panic;
//! frames decoded before a problem are still delivered.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use canvass_ingest::{DecodeMode, IngestConfig, IngestError, ReconnectPolicy};
use common::*;

fn h264_clip(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let mut args = lavfi_source("320x240", 25, 4.0);
    args.extend(["-c:v", "libx264", "-g", "25", "-pix_fmt", "yuv420p"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    make_clip(dir, name, &args)
}

fn write_prefix(src: &Path, dst: &Path, fraction: f64) {
    let bytes = std::fs::read(src).unwrap();
    std::fs::write(dst, &bytes[..(bytes.len() as f64 * fraction) as usize]).unwrap();
}

#[test]
fn missing_file() {
    let out = ingest_path(Path::new("/no/such/clip.mp4"), 2.0);
    assert!(matches!(out.result, Err(IngestError::NotFound)), "{:?}", out.result.err());
}

#[test]
fn zero_byte_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.mp4");
    std::fs::write(&path, b"").unwrap();
    let err = ingest_path(&path, 2.0).result.unwrap_err();
    assert!(matches!(err, IngestError::EmptyFile));
    assert_eq!(err.to_string(), "file is empty (0 bytes)");
}

#[test]
fn text_file_named_mp4() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.mp4");
    std::fs::write(&path, "Suspect left at 10:42, heading north.\n").unwrap();
    let err = ingest_path(&path, 2.0).result.unwrap_err();
    assert!(err.to_string().contains("not a video file: it contains text"), "{err}");
}

#[test]
fn folder_instead_of_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = ingest_path(dir.path(), 2.0).result.unwrap_err();
    assert!(matches!(err, IngestError::IsDirectory), "{err}");
}

#[test]
fn audio_only_file_has_no_video_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = make_clip(
        dir.path(),
        "audio.mp4",
        &["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac"],
    );
    let err = ingest_path(&path, 2.0).result.unwrap_err();
    assert_eq!(err.to_string(), "no video stream (streams found: audio aac)");
}

#[test]
fn mp4_cut_before_its_index_was_written() {
    let dir = tempfile::tempdir().unwrap();
    // Default MP4 muxing writes the index (moov) last: a cut file has none.
    let whole = h264_clip(dir.path(), "whole.mp4", &[]);
    let cut = dir.path().join("cut.mp4");
    write_prefix(&whole, &cut, 0.5);
    let err = ingest_path(&cut, 2.0).result.unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("cannot open: truncated MP4/MOV"), "{text}");
    assert!(text.contains("moov"), "{text}");
}

#[test]
fn faststart_mp4_cut_midway_delivers_what_it_has_then_reports_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let whole = h264_clip(dir.path(), "whole.mp4", &["-movflags", "+faststart"]);
    let cut = dir.path().join("cut.mp4");
    write_prefix(&whole, &cut, 0.5);
    let out = ingest_path(&cut, 2.0);
    match out.result {
        Err(IngestError::Truncated { decoded_until_s, declared_s, frames_sampled }) => {
            assert!((declared_s - 4.0).abs() < 0.1, "{declared_s}");
            assert!(decoded_until_s > 0.5 && decoded_until_s < 3.5, "{decoded_until_s}");
            assert_eq!(frames_sampled as usize, out.frames.len());
            assert!(!out.frames.is_empty(), "frames before the cut are delivered");
        }
        other => panic!("expected a truncation error, got {other:?}"),
    }
}

#[test]
fn corrupt_bytes_mid_stream_are_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["clip.mp4", "clip.ts"] {
        let clean = h264_clip(dir.path(), name, &[]);
        let mut bytes = std::fs::read(&clean).unwrap();
        // Overwrite 3 KB in the middle of the video data with noise.
        let mut noise = 0x2545_f491_u32;
        let start = bytes.len() * 4 / 10;
        for b in &mut bytes[start..start + 3000] {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            *b = noise as u8;
        }
        let damaged = dir.path().join(format!("damaged-{name}"));
        std::fs::write(&damaged, &bytes).unwrap();
        let out = ingest_path(&damaged, 0.0);
        let report = out.result.unwrap_or_else(|e| panic!("{name}: corruption must not be fatal: {e}"));
        assert!(report.corrupt_packets > 0, "{name}: corruption must be counted");
        assert!(
            report.frames_decoded >= 90,
            "{name}: decoding goes on after the damage: {}",
            report.frames_decoded
        );
    }
}

/// Backoff in milliseconds rather than seconds, so retry tests stay quick.
fn quick_retries(max_attempts: u32) -> ReconnectPolicy {
    ReconnectPolicy {
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        max_attempts: Some(max_attempts),
    }
}

#[test]
fn unreachable_url_is_retried_with_backoff_then_given_up() {
    // A port nothing listens on: bind, note the port, close.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = IngestConfig { reconnect: quick_retries(3), ..IngestConfig::default() };
    let out = ingest_with(&format!("http://127.0.0.1:{port}/cam.ts"), &config);
    match out.result {
        Err(IngestError::GaveUp { attempts, last_error }) => {
            assert_eq!(attempts, 3);
            assert!(last_error.to_lowercase().contains("connection refused"), "{last_error}");
        }
        other => panic!("expected GaveUp, got {other:?}"),
    }
}

/// Serves `body` once per connection, sending only the first `limits[i]` bytes on connection `i`,
/// then stops listening after the last one.
fn serve_http(body: Vec<u8>, limits: Vec<usize>) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        for limit in limits {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = conn.read(&mut request);
            let header = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(header.as_bytes());
            let _ = conn.write_all(&body[..limit.min(body.len())]);
        }
    });
    (port, handle)
}

#[test]
fn http_stream_is_ingested_through_the_same_path() {
    let dir = tempfile::tempdir().unwrap();
    let clip = h264_clip(dir.path(), "cam.ts", &["-f", "mpegts"]);
    let (port, server) = serve_http(std::fs::read(&clip).unwrap(), vec![usize::MAX]);
    // Every frame decoded, so the count says the whole stream came through.
    let config = IngestConfig { decode: DecodeMode::All, ..IngestConfig::default() };
    let out = ingest_with(&format!("http://127.0.0.1:{port}/cam.ts"), &config);
    server.join().unwrap();
    let report = out.result.unwrap();
    assert_eq!(report.frames_decoded, 100);
    assert_eq!(out.frames.len(), 8);
    assert_eq!(out.frames[0].input, format!("http://127.0.0.1:{port}/cam.ts"));
}

#[test]
fn live_stream_that_drops_is_reconnected_and_time_keeps_moving_forward() {
    let dir = tempfile::tempdir().unwrap();
    let clip = h264_clip(dir.path(), "cam.ts", &["-f", "mpegts"]);
    let body = std::fs::read(&clip).unwrap();
    // First connection dies half-way, the second delivers everything, then the camera is gone.
    let (port, server) = serve_http(body.clone(), vec![body.len() / 2, body.len()]);
    let config = IngestConfig { http_is_live: true, reconnect: quick_retries(2), ..IngestConfig::default() };
    let out = ingest_with(&format!("http://user:secret@127.0.0.1:{port}/live"), &config);
    server.join().unwrap();
    assert!(matches!(out.result, Err(IngestError::GaveUp { attempts: 2, .. })), "{:?}", out.result.err());
    // Frames from both connections arrived, in order, and none carries the password.
    assert!(out.frames.len() >= 8 + 2, "{} frames", out.frames.len());
    let times = media_times(&out.frames);
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    assert!(out.frames.iter().all(|f| !f.input.contains("secret")));
}
