//! Small frame messages for the transports' unit tests.

use canvass_schemas::{FRAME_SCHEMA_VERSION, FrameHeader, FrameMessage, ImageEncoding, WallClockSource};

/// Frame `sequence` of `<source>.mp4`, half a second apart, with a 3-byte stand-in image.
pub(crate) fn frame(source: &str, sequence: u64) -> FrameMessage {
    FrameMessage {
        header: FrameHeader {
            schema_version: FRAME_SCHEMA_VERSION,
            source_id: source.into(),
            input: format!("{source}.mp4"),
            sequence,
            media_time_us: sequence as i64 * 500_000,
            wall_time: "2026-01-01T00:00:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap(),
            wall_clock_source: WallClockSource::Ingest,
            original_width: 2,
            original_height: 2,
            width: 2,
            height: 2,
            encoding: ImageEncoding::Jpeg,
            encoded_bytes: 3,
        },
        image: vec![1, 2, 3],
    }
}
