//! Motion gating, as Frigate does it: a cheap motion mask on a small grey copy of each frame
//! decides whether the models need to run at all. On a still scene the last frame's detections
//! stand for this one (open tracks coast), so a parked car stays one event while nothing is
//! inferred. While tracks coast, a frame is inferred anyway every `recheck_us` of media time
//! (Frigate re-checks stationary objects the same way), so an object that leaves without
//! registering as motion does not stay forever. A still scene with nothing tracked is not
//! looked at again until something moves: nothing gets into a scene without moving.

use image::RgbImage;
use serde::{Deserialize, Serialize};

/// The grey copy is about this many pixels wide; 4x4 (or larger) blocks average out the
/// codec's noise, which is what keeps a still scene still.
const GREY_WIDTH: u32 = 160;

#[derive(Debug, Clone, PartialEq)]
pub struct MotionConfig {
    pub enabled: bool,
    /// Grey level change (0-255) at which a pixel of the small copy counts as moving.
    pub threshold: u8,
    /// Fraction of the small copy's pixels that must move for the frame to count as moving.
    pub min_area: f32,
    /// Longest stretch of media time without inference while tracks coast on a still scene.
    pub recheck_us: i64,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig { enabled: true, threshold: 20, min_area: 0.0005, recheck_us: 10_000_000 }
    }
}

/// The background of one stream: a running average of its small grey frames, in 8.8 fixed
/// point so a checkpointed gate resumes with exactly the decisions it would have made.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MotionGate {
    size: (u32, u32),
    #[serde(with = "background_bytes")]
    background: Vec<u16>,
    last_inferred_us: Option<i64>,
}

impl MotionGate {
    /// Whether the models must run on `image` (at `media_time_us`; `tracking`: the stream has
    /// open tracks); learns the frame either way.
    pub fn must_infer(
        &mut self,
        image: &RgbImage,
        media_time_us: i64,
        tracking: bool,
        config: &MotionConfig,
    ) -> bool {
        let (grey, size) = small_grey(image);
        let changed = if size == self.size && !self.background.is_empty() {
            count_changed(&grey, &mut self.background, config.threshold)
        } else {
            // First frame, or the stream changed resolution: everything is new.
            self.size = size;
            self.background = grey.iter().map(|&g| u16::from(g) << 8).collect();
            usize::MAX
        };
        let min_changed = ((grey.len() as f32 * config.min_area) as usize).max(3);
        let stale =
            self.last_inferred_us.is_none_or(|last| tracking && media_time_us - last >= config.recheck_us);
        let infer = !config.enabled || changed >= min_changed || stale;
        if infer {
            self.last_inferred_us = Some(media_time_us);
        }
        infer
    }
}

/// Counts pixels that differ from the background by more than `threshold`, and moves the
/// background a quarter of the way towards this frame (an object that stops becomes
/// background within a few seconds; one that keeps moving never does).
fn count_changed(grey: &[u8], background: &mut [u16], threshold: u8) -> usize {
    let limit = u32::from(threshold) << 8;
    let mut changed = 0;
    for (&g, bg) in grey.iter().zip(background.iter_mut()) {
        let current = i32::from(g) << 8;
        let diff = current - i32::from(*bg);
        if diff.unsigned_abs() > limit {
            changed += 1;
        }
        *bg = (i32::from(*bg) + diff / 4) as u16;
    }
    changed
}

/// The frame shrunk by whole blocks to about `GREY_WIDTH` wide, each pixel the mean luma of
/// its block.
fn small_grey(image: &RgbImage) -> (Vec<u8>, (u32, u32)) {
    let (w, h) = image.dimensions();
    let block = (w / GREY_WIDTH).max(1);
    let (sw, sh) = ((w / block).max(1), (h / block).max(1));
    let mut sums = vec![0u32; (sw * sh) as usize];
    let raw = image.as_raw();
    for y in 0..(sh * block).min(h) {
        let row = &raw[(y * w * 3) as usize..((y * w + sw * block) * 3) as usize];
        let out = &mut sums[((y / block) * sw) as usize..((y / block + 1) * sw) as usize];
        for (x, p) in row.chunks_exact(3).enumerate() {
            // BT.601 luma in integers.
            out[x / block as usize] +=
                (77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2])) >> 8;
        }
    }
    let area = block * block;
    (sums.into_iter().map(|s| (s / area) as u8).collect(), (sw, sh))
}

/// The background travels as base64 of its little-endian bytes in checkpoints.
mod background_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(values: &[u16], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u16>, D::Error> {
        let bytes = STANDARD.decode(String::deserialize(d)?).map_err(D::Error::custom)?;
        if bytes.len() % 2 != 0 {
            return Err(D::Error::custom("motion background has an odd number of bytes"));
        }
        Ok(bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(w: u32, h: u32, square_at: Option<(u32, u32)>, noise_seed: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            // A textured background with a little per-frame noise, like a compressed still.
            let n = ((x * 7 + y * 13 + noise_seed * 31) % 5) as u8;
            let base = (((x / 16 + y / 16) % 2) * 60 + 80) as u8 + n;
            let inside =
                square_at.is_some_and(|(sx, sy)| (sx..sx + 24).contains(&x) && (sy..sy + 16).contains(&y));
            if inside { image::Rgb([250, 250, 250]) } else { image::Rgb([base, base, base]) }
        })
    }

    #[test]
    fn a_still_scene_is_not_inferred_a_small_mover_is_and_coasting_tracks_are_rechecked() {
        let config = MotionConfig::default();
        let mut gate = MotionGate::default();
        let still = |gate: &mut MotionGate, k: i64, tracking| {
            gate.must_infer(&scene(640, 360, None, k as u32), k * 500_000, tracking, &config)
        };
        assert!(still(&mut gate, 0, false), "the first frame is always inferred");
        assert!((1..60).all(|k| !still(&mut gate, k, false)), "30 s of still scene, nothing tracked");
        // A 24x16 object (a far white car) appears: a sixth of a percent of the frame.
        assert!(gate.must_infer(&scene(640, 360, Some((300, 200)), 60), 30_000_000, false, &config));
        // It stops: after a few frames it is background and inference stops again.
        let verdicts: Vec<bool> = (61..70)
            .map(|k| {
                gate.must_infer(&scene(640, 360, Some((300, 200)), k), k as i64 * 500_000, true, &config)
            })
            .collect();
        assert!(verdicts[0], "still differs from the background just after it arrived");
        assert!(!verdicts[verdicts.len() - 1], "a stopped object becomes background: {verdicts:?}");
        // Its track coasts; the scene is looked at again 10 s after the last inference.
        let last = 61 + verdicts.iter().rposition(|&v| v).unwrap() as i64;
        let rechecks: Vec<i64> = (70..120i64)
            .filter(|&k| {
                gate.must_infer(&scene(640, 360, Some((300, 200)), k as u32), k * 500_000, true, &config)
            })
            .collect();
        assert_eq!(rechecks.first(), Some(&(last + 20)), "{rechecks:?}");
        assert!(rechecks.windows(2).all(|w| w[1] - w[0] == 20), "{rechecks:?}");
    }

    #[test]
    fn disabled_gate_infers_every_frame_and_a_new_size_starts_over() {
        let off = MotionConfig { enabled: false, ..MotionConfig::default() };
        let mut gate = MotionGate::default();
        assert!((0..5).all(|k| gate.must_infer(&scene(320, 180, None, 0), k * 500_000, false, &off)));
        let on = MotionConfig::default();
        assert!(!gate.must_infer(&scene(320, 180, None, 0), 3_000_000, false, &on));
        assert!(gate.must_infer(&scene(640, 360, None, 0), 3_500_000, false, &on), "resolution change");
    }

    #[test]
    fn a_checkpointed_gate_makes_the_same_decisions() {
        let config = MotionConfig::default();
        let mut gate = MotionGate::default();
        gate.must_infer(&scene(640, 360, None, 0), 0, true, &config);
        gate.must_infer(&scene(640, 360, Some((10, 10)), 1), 500_000, true, &config);
        let mut restored: MotionGate = serde_json::from_str(&serde_json::to_string(&gate).unwrap()).unwrap();
        for k in 2..40 {
            let frame = scene(640, 360, (k % 4 == 0).then_some((k * 20, 100)), k);
            let t = k as i64 * 500_000;
            let tracking = k % 3 == 0;
            assert_eq!(
                gate.must_infer(&frame, t, tracking, &config),
                restored.must_infer(&frame, t, tracking, &config),
                "frame {k}"
            );
        }
    }
}
