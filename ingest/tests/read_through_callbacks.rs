//! Decoding through our own read callbacks (how stored evidence is read, by ranged reads): the
//! same frames as from the path, a clear error for a source that fails mid-way or for bytes
//! that are not video, and a moov-at-end MP4 (which needs seeks) decodes too.

mod common;

use std::io::{Cursor, Read, Seek, SeekFrom};

use canvass_ingest::{IngestConfig, IngestError};
use common::*;

fn ingest_bytes(reader: Box<dyn canvass_ingest::MediaRead>, fps: f64) -> Outcome {
    let mut sink = CollectSink::default();
    let config = IngestConfig { fps, ..IngestConfig::default() };
    let result =
        canvass_ingest::ingest_reader(reader, "evidence://c/abc", "door", &config, &mut sink, &mut |_| {});
    let (frames, images) = sink.frames.into_iter().map(|m| (m.header, m.image)).unzip();
    Outcome { result, frames, images }
}

#[test]
fn a_file_read_through_callbacks_gives_the_frames_its_path_gives() {
    let dir = tempfile::tempdir().unwrap();
    // moov at the end (no faststart): the demuxer must seek to the end and back.
    let mut args = lavfi_source("320x240", 25, 3.0);
    args.extend(["-c:v", "libx264", "-pix_fmt", "yuv420p"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let clip = make_clip(dir.path(), "late-index.mp4", &args);
    for path in [clip, sample_video("car-detection.mp4")] {
        let from_path = ingest_path(&path, 2.0);
        let through = ingest_bytes(Box::new(std::fs::File::open(&path).unwrap()), 2.0);
        let report = through.result.unwrap();
        assert_eq!(report.frames_sampled, from_path.frames.len() as u64, "{}", path.display());
        assert_eq!(media_times(&through.frames), media_times(&from_path.frames));
        assert!(through.images == from_path.images, "the same pixels");
        assert!(through.frames.iter().all(|f| f.input == "evidence://c/abc" && f.source_id == "door"));
    }
}

#[test]
fn bytes_that_are_not_video_fail_with_ffmpegs_reason() {
    let text = b"This is a statement, not a video. ".repeat(500);
    let out = ingest_bytes(Box::new(Cursor::new(text)), 2.0);
    let err = out.result.unwrap_err();
    assert!(matches!(err, IngestError::Open { .. }), "{err}");
    assert!(err.to_string().contains("cannot read it as video"), "{err}");
    assert!(out.frames.is_empty());
}

/// A source that fails after `limit` bytes, as a store that goes away mid-read would.
struct Failing {
    inner: std::fs::File,
    limit: u64,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.inner.stream_position()? >= self.limit {
            return Err(std::io::Error::other("the store went away"));
        }
        let room = (self.limit - self.inner.stream_position()?) as usize;
        let n = buf.len().min(room);
        self.inner.read(&mut buf[..n])
    }
}

impl Seek for Failing {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
    }
}

#[test]
fn a_source_that_fails_mid_way_keeps_what_decoded_and_says_why() {
    let path = sample_video("car-detection.mp4");
    let size = std::fs::metadata(&path).unwrap().len();
    let out =
        ingest_bytes(Box::new(Failing { inner: std::fs::File::open(&path).unwrap(), limit: size / 2 }), 2.0);
    let err = out.result.unwrap_err().to_string();
    assert!(err.contains("the store went away"), "{err}");
    assert!(!out.frames.is_empty(), "the frames before the failure were delivered");
}
