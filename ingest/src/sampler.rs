//! Picks which decoded frames to keep at a target rate, by media time rather than frame count,
//! so variable frame rate, dropped frames and B-frame reordering cannot skew the rate.

/// Keeps frames closest to a grid `t0, t0 + 1/fps, t0 + 2/fps, ...` anchored at the first frame.
///
/// A frame is taken when it is the first one at or past `slot - tolerance`, where `tolerance` is
/// half the source's frame interval; on a regular stream that is the frame nearest to the slot.
/// Slots that fall in a gap of the stream are skipped rather than filled late, so every kept
/// frame stays within `tolerance` of its slot.
#[derive(Debug, Clone)]
pub struct FrameSampler {
    interval_us: Option<i64>,
    tolerance_us: i64,
    next_slot_us: Option<i64>,
    last_kept_us: Option<i64>,
}

impl FrameSampler {
    /// `fps` of 0 keeps every frame. `source_frame_interval_us` is the source's nominal frame
    /// interval (from its average frame rate).
    pub fn new(fps: f64, source_frame_interval_us: i64) -> Self {
        let interval_us = (fps > 0.0).then(|| ((1_000_000.0 / fps).round() as i64).max(1));
        FrameSampler {
            interval_us,
            tolerance_us: (source_frame_interval_us / 2).max(0),
            next_slot_us: None,
            last_kept_us: None,
        }
    }

    /// Whether a frame at media time `t_us` is within tolerance of a slot still to come (the
    /// frame a slot wants), without keeping it: the decoder decodes such frames in full. Any
    /// later slot counts, not only the next: the decoder reads packets ahead of the frames it
    /// has handed out.
    pub fn is_near_slot(&self, t_us: i64) -> bool {
        let (Some(interval), Some(slot)) = (self.interval_us, self.next_slot_us) else { return true };
        if t_us < slot - self.tolerance_us {
            return false;
        }
        let past = (t_us - slot).rem_euclid(interval);
        past <= self.tolerance_us || interval - past <= self.tolerance_us
    }

    /// Whether the frame at media time `t_us` is kept. Times must be given in presentation order.
    pub fn keep(&mut self, t_us: i64) -> bool {
        // A frame at or before the last kept one (duplicate or out-of-order timestamp) would
        // give the detector two frames for one instant.
        if self.last_kept_us.is_some_and(|last| t_us <= last) {
            return false;
        }
        let Some(interval) = self.interval_us else {
            self.last_kept_us = Some(t_us);
            return true;
        };
        let slot = self.next_slot_us.unwrap_or(t_us);
        if t_us < slot - self.tolerance_us {
            return false;
        }
        // Move to the first slot that this frame has not already served.
        let mut next = slot + interval;
        while next - self.tolerance_us <= t_us {
            next += interval;
        }
        self.next_slot_us = Some(next);
        self.last_kept_us = Some(t_us);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kept(fps: f64, frame_interval_us: i64, times: impl IntoIterator<Item = i64>) -> Vec<i64> {
        let mut sampler = FrameSampler::new(fps, frame_interval_us);
        times.into_iter().filter(|&t| sampler.keep(t)).collect()
    }

    #[test]
    fn two_fps_from_25fps_keeps_every_twelfth_or_thirteenth_frame() {
        let times = (0..250).map(|i| i * 40_000); // 10 s at 25 fps
        let got = kept(2.0, 40_000, times);
        assert_eq!(got.len(), 20);
        for (k, t) in got.iter().enumerate() {
            assert!((t - k as i64 * 500_000).abs() <= 20_000, "frame {k} at {t}");
        }
    }

    #[test]
    fn frames_near_any_slot_to_come_are_wanted() {
        let mut sampler = FrameSampler::new(2.0, 40_000);
        assert!(sampler.is_near_slot(123), "before the first frame anything may be kept");
        assert!(sampler.keep(0));
        assert!(
            sampler.is_near_slot(480_000)
                && sampler.is_near_slot(1_500_000)
                && sampler.is_near_slot(2_010_000)
        );
        assert!(!sampler.is_near_slot(40_000) && !sampler.is_near_slot(1_250_000));
    }

    #[test]
    fn zero_fps_keeps_every_frame() {
        assert_eq!(kept(0.0, 40_000, [0, 40_000, 80_000]), vec![0, 40_000, 80_000]);
    }

    #[test]
    fn rate_above_source_keeps_every_frame_once() {
        let times: Vec<i64> = (0..30).map(|i| i * 40_000).collect();
        assert_eq!(kept(60.0, 40_000, times.clone()), times);
    }

    #[test]
    fn grid_is_anchored_at_a_non_zero_start() {
        let times = (0..100).map(|i| 10_000_000 + i * 33_367);
        let got = kept(1.0, 33_367, times);
        assert_eq!(got[0], 10_000_000);
        assert!((got[1] - 11_000_000).abs() <= 16_683);
    }

    #[test]
    fn gap_in_the_stream_skips_slots_instead_of_bunching_frames() {
        // 25 fps, then nothing from 1 s to 3 s, then 25 fps again.
        let times: Vec<i64> = (0..25).map(|i| i * 40_000).chain((75..100).map(|i| i * 40_000)).collect();
        let got = kept(2.0, 40_000, times);
        // 480 ms and 520 ms are equally near the 500 ms slot; the earlier one wins.
        assert_eq!(got, vec![0, 480_000, 3_000_000, 3_480_000]);
    }

    #[test]
    fn duplicate_or_backwards_timestamps_are_dropped() {
        assert_eq!(kept(0.0, 40_000, [0, 40_000, 40_000, 20_000, 80_000]), vec![0, 40_000, 80_000]);
    }

    proptest! {
        // On any regular stream, kept frames sit within half a source frame of consecutive slots.
        #[test]
        fn kept_frames_sit_on_consecutive_slots(
            source_fps in 5.0f64..120.0,
            target_fps in 0.2f64..10.0,
            start_us in 0i64..100_000_000,
            frames in 10usize..2000,
        ) {
            prop_assume!(target_fps < source_fps);
            let interval = (1e6 / source_fps).round() as i64;
            let times = (0..frames as i64).map(|i| start_us + i * interval);
            let got = kept(target_fps, interval, times);
            let slot = 1e6 / target_fps;
            for (k, t) in got.iter().enumerate() {
                let expected = start_us as f64 + k as f64 * slot;
                prop_assert!((*t as f64 - expected).abs() <= interval as f64 / 2.0 + 1.0 + k as f64 * 0.5,
                    "frame {} at {} expected {}", k, t, expected);
            }
            let duration = (frames as i64 - 1) * interval;
            let expected_count = (duration as f64 / slot).floor() as usize + 1;
            prop_assert!(got.len().abs_diff(expected_count) <= 1, "{} vs {}", got.len(), expected_count);
        }
    }
}
