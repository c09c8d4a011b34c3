//! The detector's per-stream state in a form that can be saved and restored: a distributed
//! detector checkpoints the open tracks of its partitions with the offsets, so the worker that
//! takes a partition over (after a crash or a rebalance) resumes exactly where the checkpoint
//! was taken and emits the same events a single uninterrupted run would.

use serde::{Deserialize, Serialize};

use crate::motion::MotionGate;
use crate::track::{Observation, Tracker};

/// Open tracks of one (source, input) stream, one tracker per model in the detector's order.
#[derive(Debug, Serialize, Deserialize)]
pub struct StreamState {
    pub source_id: String,
    pub input: String,
    pub frame_size: (u32, u32),
    /// The last frame tracked (checkpoints before this field have none).
    #[serde(default)]
    pub last_sequence: Option<u64>,
    /// The sha256 of each model the trackers belong to, in order: state saved under other
    /// models is not restored.
    pub models: Vec<String>,
    pub trackers: Vec<Tracker>,
    /// The motion gate's background and each model's last detections, so a resumed stream
    /// gates and coasts as the uninterrupted one would (checkpoints before these have none).
    #[serde(default)]
    pub motion: MotionGate,
    #[serde(default)]
    pub coasting: Vec<Vec<Observation>>,
}

/// Thumbnail crops travel as base64 PNG: lossless, so a restored track's thumbnail is the same
/// JPEG bytes it would have been.
pub(crate) mod lossless_image {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use image::RgbImage;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(image: &Option<RgbImage>, s: S) -> Result<S::Ok, S::Error> {
        let Some(image) = image else { return s.serialize_none() };
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(serde::ser::Error::custom)?;
        s.serialize_some(&STANDARD.encode(png))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RgbImage>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else { return Ok(None) };
        let png = STANDARD.decode(text).map_err(D::Error::custom)?;
        let image =
            image::load_from_memory_with_format(&png, image::ImageFormat::Png).map_err(D::Error::custom)?;
        Ok(Some(image.to_rgb8()))
    }
}
