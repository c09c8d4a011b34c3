//! Which frames the decoder may leave undecoded. At 2 fps out of 25 most decoded frames are
//! thrown away, so ingest asks FFmpeg not to decode the ones nothing else depends on
//! (`AVDISCARD_NONREF`: B-frames no other frame references) except the packet nearest the next
//! sample, so samples stay on their grid; and, where keyframes come at least as often as
//! samples, anything but keyframes (`AVDISCARD_NONKEY`), where a sample may land up to a
//! keyframe interval after its slot.

use ffmpeg_next::Discard;

/// How much of the stream to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeMode {
    /// Non-reference frames are skipped when fewer than half the frames are kept, and only
    /// keyframes are decoded once the stream shows keyframes at least as often as samples.
    #[default]
    Auto,
    /// Every frame.
    All,
    /// Skip frames no other frame references.
    NonRef,
    /// Keyframes only, however far apart: one sample per keyframe at most.
    Keyframes,
}

impl std::str::FromStr for DecodeMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(DecodeMode::Auto),
            "all" => Ok(DecodeMode::All),
            "nonref" => Ok(DecodeMode::NonRef),
            "keyframes" => Ok(DecodeMode::Keyframes),
            other => Err(format!("unknown decode mode {other:?}: auto, all, nonref or keyframes")),
        }
    }
}

/// Equal keyframe gaps in a row, each no longer than the sample interval, before auto mode
/// trusts the stream's keyframe rhythm (a camera's fixed GOP) and decodes keyframes only.
/// Keyframes an encoder puts at scene cuts come often but irregularly: they must not count.
const STEADY_KEY_GAPS: u32 = 8;

/// The discard level for one input, adjusted as its keyframes go by.
#[derive(Debug)]
pub(crate) struct SkipPolicy {
    mode: DecodeMode,
    /// Sample interval, when sparse enough to skip anything at all.
    sample_interval_us: Option<i64>,
    frame_interval_us: i64,
    last_key_us: Option<i64>,
    /// The keyframe gap of the current steady run, and how many gaps it has had.
    steady_gap_us: i64,
    steady_gaps: u32,
    /// The policy's level for packets away from a sample.
    current: Discard,
    /// The level the decoder has now.
    applied: Discard,
}

impl SkipPolicy {
    /// `fps` is the sample rate (0 keeps every frame); `frame_interval_us` the source's.
    pub(crate) fn new(mode: DecodeMode, fps: f64, frame_interval_us: i64) -> Self {
        let sample_interval_us = (fps > 0.0).then(|| (1e6 / fps) as i64);
        let sparse = sample_interval_us.filter(|&s| s >= 2 * frame_interval_us.max(1));
        let current = match mode {
            DecodeMode::All => Discard::Default,
            DecodeMode::NonRef => Discard::NonReference,
            DecodeMode::Keyframes => Discard::NonKey,
            DecodeMode::Auto if sparse.is_some() => Discard::NonReference,
            DecodeMode::Auto => Discard::Default,
        };
        SkipPolicy {
            mode,
            sample_interval_us: sparse,
            frame_interval_us,
            last_key_us: None,
            steady_gap_us: 0,
            steady_gaps: 0,
            current,
            applied: current,
        }
    }

    /// The level for the next packet (at `ts_us`, a keyframe or not, `near_sample` when the
    /// sampler would keep a frame at its time), when the decoder must change to it.
    pub(crate) fn on_packet(&mut self, key: bool, ts_us: i64, near_sample: bool) -> Option<Discard> {
        if key {
            self.on_keyframe(ts_us);
        }
        let level = match self.current {
            Discard::NonReference if near_sample => Discard::Default,
            level => level,
        };
        (level != self.applied).then(|| {
            self.applied = level;
            level
        })
    }

    pub(crate) fn current(&self) -> Discard {
        self.current
    }

    /// Whether frames may go undecoded (so the last decoded frame can be well before the
    /// input's end).
    pub(crate) fn skips(&self) -> bool {
        self.current != Discard::Default
    }

    /// Hears of a keyframe packet at `ts_us`; returns the policy's new level when it changes.
    fn on_keyframe(&mut self, ts_us: i64) -> Option<Discard> {
        let (DecodeMode::Auto, Some(interval)) = (self.mode, self.sample_interval_us) else {
            return None;
        };
        let gap = self.last_key_us.replace(ts_us).map(|last| ts_us - last);
        let gap = gap.filter(|&g| g > 0)?;
        // A keyframe gap wider than a sample interval would lose samples in keyframe mode.
        if gap > interval {
            self.steady_gaps = 0;
        } else if self.steady_gaps > 0 && (gap - self.steady_gap_us).abs() <= self.frame_interval_us / 2 {
            self.steady_gaps += 1;
        } else {
            (self.steady_gap_us, self.steady_gaps) = (gap, 1);
        }
        let wanted =
            if self.steady_gaps >= STEADY_KEY_GAPS { Discard::NonKey } else { Discard::NonReference };
        (wanted != self.current).then(|| {
            self.current = wanted;
            wanted
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_skips_only_when_most_frames_are_dropped() {
        assert_eq!(SkipPolicy::new(DecodeMode::Auto, 2.0, 40_000).current(), Discard::NonReference);
        assert_eq!(SkipPolicy::new(DecodeMode::Auto, 15.0, 40_000).current(), Discard::Default);
        assert_eq!(SkipPolicy::new(DecodeMode::Auto, 0.0, 40_000).current(), Discard::Default);
        assert_eq!(SkipPolicy::new(DecodeMode::All, 2.0, 40_000).current(), Discard::Default);
        assert_eq!(SkipPolicy::new(DecodeMode::Keyframes, 15.0, 40_000).current(), Discard::NonKey);
    }

    #[test]
    fn auto_turns_to_keyframes_once_they_come_often_enough_and_back_when_they_stop() {
        let mut policy = SkipPolicy::new(DecodeMode::Auto, 2.0, 40_000);
        // Keyframes every 0.4 s: the first gives no gap, eight equal gaps switch.
        let changes: Vec<_> = (0..9).map(|k| policy.on_keyframe(k * 400_000)).collect();
        assert_eq!(changes[8], Some(Discard::NonKey));
        assert!(changes[..8].iter().all(Option::is_none), "{changes:?}");
        // A 2 s gap: keyframe-only decoding would have lost samples; back to non-reference.
        assert_eq!(policy.on_keyframe(5_200_000), Some(Discard::NonReference));
        assert_eq!(policy.on_keyframe(5_600_000), None);
    }

    #[test]
    fn keyframes_at_scene_cuts_come_often_but_unevenly_and_do_not_switch() {
        let mut policy = SkipPolicy::new(DecodeMode::Auto, 2.0, 40_000);
        let cuts =
            [0, 320_000, 640_000, 880_000, 1_840_000, 2_240_000, 2_560_000, 2_680_000, 3_200_000, 3_480_000];
        assert!(cuts.iter().all(|&t| policy.on_keyframe(t).is_none()));
    }

    #[test]
    fn the_packet_nearest_a_sample_is_decoded_in_full() {
        let mut policy = SkipPolicy::new(DecodeMode::Auto, 2.0, 40_000);
        assert_eq!(policy.on_packet(false, 40_000, false), None, "already skipping non-reference frames");
        assert_eq!(policy.on_packet(false, 480_000, true), Some(Discard::Default));
        assert_eq!(policy.on_packet(false, 520_000, false), Some(Discard::NonReference));
        let mut keyframes = SkipPolicy::new(DecodeMode::Keyframes, 2.0, 40_000);
        assert_eq!(keyframes.on_packet(false, 480_000, true), None, "keyframes only, near a sample or not");
    }

    #[test]
    fn sparse_keyframes_never_switch() {
        let mut policy = SkipPolicy::new(DecodeMode::Auto, 2.0, 40_000);
        assert!((0..20).all(|k| policy.on_keyframe(k * 2_000_000).is_none()));
        assert_eq!(policy.current(), Discard::NonReference);
    }

    #[test]
    fn modes_parse_and_unknown_ones_say_what_is_known() {
        assert_eq!("keyframes".parse::<DecodeMode>(), Ok(DecodeMode::Keyframes));
        assert!("fast".parse::<DecodeMode>().unwrap_err().contains("auto, all, nonref or keyframes"));
    }
}
