//! The frame message: one sampled video frame on its way from ingest to a detector.
//!
//! Wire format (version 1), the same on the in-process channel and on Kafka:
//!
//! ```text
//! "CVF1"            4 bytes, magic and envelope version
//! header length     u32, big endian
//! header            UTF-8 JSON, a `FrameHeader` (schema: schemas/json/frame_header.v1.json)
//! image             `header.encoded_bytes` bytes in `header.encoding` (JPEG by default)
//! ```
//!
//! The image travels as raw bytes rather than base64 inside the JSON, so a 640 px JPEG frame
//! stays near 40 KB, far below Kafka's 1 MB default message size. The in-process channel of the
//! embedded mode hands `FrameMessage` values over without this encoding, usually as `rgb24`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of `FrameHeader`; bump on any incompatible change and keep the old JSON schema file.
pub const FRAME_SCHEMA_VERSION: u32 = 1;

const MAGIC: &[u8; 4] = b"CVF1";
/// A header larger than this is certainly not ours; refusing it bounds what a bad message costs.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Where a frame's wall-clock time came from, so an investigator knows how far to trust it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WallClockSource {
    /// Given by the operator (`--start`).
    Operator,
    /// The container's `creation_time` tag, written by the camera or recorder.
    Container,
    /// The time canvass read the input: right for live streams, a guess for files.
    Ingest,
}

/// How the image bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImageEncoding {
    /// Baseline JPEG, RGB: what crosses a process boundary (Kafka).
    Jpeg,
    /// Raw RGB, 3 bytes a pixel, rows packed without padding (`width * height * 3` bytes): what
    /// the embedded mode hands from ingest to detection in one process, where a JPEG round trip
    /// would cost more than the copy.
    Rgb24,
}

/// Everything about a sampled frame except its pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrameHeader {
    /// Always `FRAME_SCHEMA_VERSION` for this type.
    pub schema_version: u32,
    /// Camera or evidence source this frame belongs to; the Kafka message key.
    pub source_id: String,
    /// The file path or stream URL the frame was decoded from, without credentials.
    pub input: String,
    /// Position of this frame among the sampled frames of this input, from 0, without gaps
    /// unless a frame was lost.
    pub sequence: u64,
    /// Media time in microseconds from the start of the input (what a player shows).
    pub media_time_us: i64,
    /// Wall-clock time the frame was captured.
    pub wall_time: DateTime<Utc>,
    pub wall_clock_source: WallClockSource,
    /// Size of the decoded video before scaling.
    pub original_width: u32,
    pub original_height: u32,
    /// Size of the encoded image.
    pub width: u32,
    pub height: u32,
    pub encoding: ImageEncoding,
    /// Length of the image bytes that follow the header.
    pub encoded_bytes: u32,
}

/// A frame header and its encoded image.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameMessage {
    pub header: FrameHeader,
    pub image: Vec<u8>,
}

/// Why bytes could not be read as a frame message.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FrameDecodeError {
    #[error("message too short: {0} bytes, need at least 8")]
    TooShort(usize),
    #[error("bad magic {0:02x?}: not a canvass frame message")]
    BadMagic([u8; 4]),
    #[error("header length {0} exceeds the {MAX_HEADER_BYTES} byte limit")]
    HeaderTooLarge(usize),
    #[error("message truncated: header says {expected} bytes, message has {actual}")]
    Truncated { expected: usize, actual: usize },
    #[error("malformed header json: {0}")]
    Header(String),
    #[error("unsupported frame schema version {0} (this build reads {FRAME_SCHEMA_VERSION})")]
    Version(u32),
    /// Source ids become object keys and folder names: only ids as ingest makes them pass.
    #[error("source id {0:?} is not one ingest makes (lowercase letters, digits, '-', '_', '.')")]
    BadSourceId(String),
    #[error("input name is empty, longer than 2048 bytes or has control characters")]
    BadInput,
}

impl FrameMessage {
    /// Serialises to the wire format described in the module docs.
    pub fn encode(&self) -> Vec<u8> {
        debug_assert_eq!(self.header.encoded_bytes as usize, self.image.len());
        let header = serde_json::to_vec(&self.header).expect("frame header always serialises");
        let mut out = Vec::with_capacity(8 + header.len() + self.image.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_be_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.image);
        out
    }

    /// Parses the wire format, checking every length so a malformed message is an error,
    /// never a panic or an over-read.
    pub fn decode(bytes: &[u8]) -> Result<Self, FrameDecodeError> {
        if bytes.len() < 8 {
            return Err(FrameDecodeError::TooShort(bytes.len()));
        }
        let magic: [u8; 4] = bytes[..4].try_into().expect("length checked");
        if &magic != MAGIC {
            return Err(FrameDecodeError::BadMagic(magic));
        }
        let header_len = u32::from_be_bytes(bytes[4..8].try_into().expect("length checked")) as usize;
        if header_len > MAX_HEADER_BYTES {
            return Err(FrameDecodeError::HeaderTooLarge(header_len));
        }
        let header_end = 8 + header_len;
        if bytes.len() < header_end {
            return Err(FrameDecodeError::Truncated { expected: header_end, actual: bytes.len() });
        }
        let header: FrameHeader = serde_json::from_slice(&bytes[8..header_end])
            .map_err(|e| FrameDecodeError::Header(e.to_string()))?;
        if header.schema_version != FRAME_SCHEMA_VERSION {
            return Err(FrameDecodeError::Version(header.schema_version));
        }
        let id = &header.source_id;
        if id.len() > 200 || crate::sanitize_source_id(id) != *id || id == "." || id == ".." {
            return Err(FrameDecodeError::BadSourceId(id.clone()));
        }
        let input = &header.input;
        if input.is_empty() || input.len() > 2048 || input.chars().any(char::is_control) {
            return Err(FrameDecodeError::BadInput);
        }
        let expected = header_end + header.encoded_bytes as usize;
        if bytes.len() != expected {
            return Err(FrameDecodeError::Truncated { expected, actual: bytes.len() });
        }
        Ok(FrameMessage { header, image: bytes[header_end..].to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> FrameMessage {
        let image = vec![0xff, 0xd8, 1, 2, 3, 0xff, 0xd9];
        FrameMessage {
            header: FrameHeader {
                schema_version: FRAME_SCHEMA_VERSION,
                source_id: "main-st".into(),
                input: "/evidence/cam1.mp4".into(),
                sequence: 7,
                media_time_us: 3_500_000,
                wall_time: "2026-11-23T10:00:03.5Z".parse().unwrap(),
                wall_clock_source: WallClockSource::Container,
                original_width: 1920,
                original_height: 1080,
                width: 640,
                height: 360,
                encoding: ImageEncoding::Jpeg,
                encoded_bytes: image.len() as u32,
            },
            image,
        }
    }

    #[test]
    fn round_trips() {
        let msg = sample();
        assert_eq!(FrameMessage::decode(&msg.encode()).unwrap(), msg);
    }

    #[test]
    fn rejects_each_kind_of_damage() {
        let good = sample().encode();
        assert_eq!(FrameMessage::decode(&good[..3]), Err(FrameDecodeError::TooShort(3)));
        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        assert!(matches!(FrameMessage::decode(&bad_magic), Err(FrameDecodeError::BadMagic(_))));
        let mut huge = good.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(FrameMessage::decode(&huge), Err(FrameDecodeError::HeaderTooLarge(_))));
        let cut = &good[..good.len() - 1];
        assert!(matches!(FrameMessage::decode(cut), Err(FrameDecodeError::Truncated { .. })));
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(FrameMessage::decode(&trailing), Err(FrameDecodeError::Truncated { .. })));
        let mut bad_json = good.clone();
        bad_json[8] = b'[';
        assert!(matches!(FrameMessage::decode(&bad_json), Err(FrameDecodeError::Header(_))));
    }

    #[test]
    fn rejects_other_schema_versions() {
        let mut msg = sample();
        msg.header.schema_version = 2;
        assert_eq!(FrameMessage::decode(&msg.encode()), Err(FrameDecodeError::Version(2)));
    }

    #[test]
    fn source_ids_that_would_escape_a_key_or_folder_are_refused() {
        for bad in ["../etc", "cam/../../x", "Cam", "", "..", "a b", "x\u{0}y"] {
            let mut msg = sample();
            msg.header.source_id = bad.to_string();
            assert!(
                matches!(FrameMessage::decode(&msg.encode()), Err(FrameDecodeError::BadSourceId(_))),
                "{bad:?}"
            );
        }
        let mut msg = sample();
        msg.header.input = "clip\n.mp4".into();
        assert_eq!(FrameMessage::decode(&msg.encode()), Err(FrameDecodeError::BadInput));
        assert!(FrameMessage::decode(&sample().encode()).is_ok());
    }

    proptest! {
        // Whatever arrives on the frames topic, decoding returns an error or a message: no panic.
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = FrameMessage::decode(&bytes);
        }

        #[test]
        fn decode_never_panics_on_damaged_messages(cut in 0usize..400, flip in 0usize..400, bit in 0u8..8) {
            let mut bytes = sample().encode();
            if flip < bytes.len() { bytes[flip] ^= 1 << bit; }
            bytes.truncate(cut.max(1));
            let _ = FrameMessage::decode(&bytes);
        }
    }
}
