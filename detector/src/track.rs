//! Per-source tracking: links one model's detections across sampled frames (greedy IoU
//! matching within a category) so one object's appearance becomes one event.

use std::collections::HashMap;

use canvass_schemas::{Category, ColourAttribute, ColourScore, ObjectClass};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::nms::iou;
use crate::scene::{MotionTrack, Zone};

#[derive(Debug, Clone)]
pub struct TrackerConfig {
    /// A track with no detection for this much media time is closed.
    pub gap_us: i64,
    /// Minimum overlap with a track's predicted box to link a detection to it.
    pub min_iou: f32,
    /// Failing overlap, the farthest a detection's centre may be from the predicted centre, in
    /// units of the object's size.
    pub max_centre_distance: f32,
    /// Frames a track needs before it becomes an event, per category. Weapons need more: the
    /// community weapon model fires on dusk road scenes for a frame or two with the same
    /// confidence (0.6-0.65) it gives a real pistol, which it keeps seeing for seconds.
    pub min_frames_vehicle: u32,
    pub min_frames_weapon: u32,
    /// A confirmed track still in view is announced again (`updated`) at most this often, in
    /// media time: enough for a dispatcher to know it is still there, not a message per frame.
    pub update_interval_us: i64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            gap_us: 2_000_000,
            min_iou: 0.3,
            max_centre_distance: 1.0,
            min_frames_vehicle: 1,
            min_frames_weapon: 3,
            update_interval_us: 10_000_000,
        }
    }
}

/// One detection in one frame, ready for tracking.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Observation {
    pub class: ObjectClass,
    pub model_class: String,
    pub score: f32,
    /// Frame pixels, `[x1, y1, x2, y2]`.
    pub bbox: [f32; 4],
    pub colour: Option<ColourAttribute>,
    /// The colour distribution `colour` was chosen from.
    #[serde(default)]
    pub colours: Vec<ColourScore>,
    pub sequence: u64,
    pub media_time_us: i64,
    pub wall_time: DateTime<Utc>,
}

/// Serializable so a distributed detector can checkpoint open tracks and resume them elsewhere.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Track {
    pub first: Observation,
    /// Order of this track among those started in the same frame, for the event id.
    pub ordinal: u32,
    pub last: Observation,
    /// Box and media time of the observation before `last`, for motion prediction.
    previous: Option<([f32; 4], i64)>,
    pub best: Observation,
    pub frames: u32,
    pub score_sum: f32,
    /// Crop of the best frame, kept up to date by the caller; JPEG-encoded once, when the
    /// track becomes an event.
    #[serde(with = "crate::state::lossless_image")]
    pub best_crop: Option<image::RgbImage>,
    class_votes: HashMap<ObjectClass, f32>,
    /// Set when the track reaches its confirmation rule (`min_frames_*`): from then on it is
    /// an event, announced at once (`opened`) long before it closes.
    #[serde(default)]
    pub confirmed: Option<Confirmation>,
    /// Direction, dwell and zones so far (`Tracker::observe_motion`).
    #[serde(default)]
    pub motion: MotionTrack,
}

/// When and as what a track was confirmed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Confirmation {
    /// The class at confirmation names the event id, so `opened`, `updated` and `closed` carry
    /// the same id even when later frames change the majority class.
    pub class: ObjectClass,
    /// Wall-clock time of the frame that confirmed it (where alert latency is measured from).
    pub wall_time: DateTime<Utc>,
    /// Media time of the last announcement (`opened` or `updated`).
    pub announced_us: i64,
}

impl Track {
    fn new(obs: Observation, ordinal: u32) -> Self {
        let mut track = Track {
            first: obs.clone(),
            ordinal,
            last: obs.clone(),
            previous: None,
            best: obs.clone(),
            frames: 0,
            score_sum: 0.0,
            best_crop: None,
            class_votes: HashMap::new(),
            confirmed: None,
            motion: MotionTrack::default(),
        };
        track.add(obs);
        track
    }

    fn add(&mut self, obs: Observation) {
        self.frames += 1;
        self.score_sum += obs.score;
        *self.class_votes.entry(obs.class).or_default() += obs.score;
        if obs.score > self.best.score || self.frames == 1 {
            self.best = obs.clone();
        }
        if self.frames > 1 {
            self.previous = Some((self.last.bbox, self.last.media_time_us));
        }
        self.last = obs;
    }

    /// Where the last box would be at `media_time_us` if the object keeps its last velocity.
    fn predicted_box(&self, media_time_us: i64) -> [f32; 4] {
        let Some(previous) = &self.previous else { return self.last.bbox };
        let dt = (self.last.media_time_us - previous.1) as f32;
        if dt <= 0.0 {
            return self.last.bbox;
        }
        let ahead = (media_time_us - self.last.media_time_us) as f32 / dt;
        let (l, p) = (self.last.bbox, previous.0);
        std::array::from_fn(|k| l[k] + (l[k] - p[k]) * ahead)
    }

    /// How well `obs` continues this track, or `None` if it cannot be the same object: the
    /// overlap with the predicted box, or failing that, closeness of centres relative to the
    /// object's size for fast objects sampled sparsely (a car crosses its own length between
    /// two frames at 2 fps), with similar box sizes.
    fn affinity(&self, obs: &Observation, config: &TrackerConfig) -> Option<f32> {
        let predicted = self.predicted_box(obs.media_time_us);
        let overlap = iou(predicted, obs.bbox);
        if overlap >= config.min_iou {
            return Some(1.0 + overlap);
        }
        let size = |b: [f32; 4]| ((b[2] - b[0]) * (b[3] - b[1])).max(1.0);
        let ratio = size(obs.bbox) / size(predicted);
        if !(0.4..=2.5).contains(&ratio) {
            return None;
        }
        let centre = |b: [f32; 4]| ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
        let (pc, oc) = (centre(predicted), centre(obs.bbox));
        let extent = (predicted[2] - predicted[0]).max(predicted[3] - predicted[1]).max(1.0);
        let distance = ((pc.0 - oc.0).powi(2) + (pc.1 - oc.1).powi(2)).sqrt() / extent;
        (distance <= config.max_centre_distance).then_some(1.0 - distance)
    }

    /// The class with most confidence-weighted votes (ties: taxonomy order, for determinism).
    pub fn class(&self) -> ObjectClass {
        ObjectClass::ALL
            .iter()
            .copied()
            .filter(|c| self.class_votes.contains_key(c))
            .fold(None, |best: Option<(ObjectClass, f32)>, c| {
                let v = self.class_votes[&c];
                match best {
                    Some((_, bv)) if bv >= v => best,
                    _ => Some((c, v)),
                }
            })
            .map(|(c, _)| c)
            .unwrap_or(self.first.class)
    }
}

/// Open tracks of one model on one input.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Tracker {
    open: Vec<Track>,
}

/// What one frame did to the tracks.
#[derive(Debug, Default)]
pub struct FrameUpdate {
    /// Tracks that ended before this frame and passed the minimum length.
    pub closed: Vec<Track>,
    /// Indices into the open tracks whose best frame is this one (their thumbnail crop changes).
    pub improved: Vec<usize>,
    /// Indices into the open tracks confirmed by this frame.
    pub opened: Vec<usize>,
    /// Indices into the open confirmed tracks seen in this frame and last announced at least
    /// `update_interval_us` ago.
    pub updated: Vec<usize>,
}

fn min_frames(config: &TrackerConfig, class: ObjectClass) -> u32 {
    match class.category() {
        Category::Vehicle => config.min_frames_vehicle,
        Category::Weapon => config.min_frames_weapon,
    }
}

/// Whether a track is an event: confirmed (or, restored from an older checkpoint, long enough).
fn is_event(track: &Track, config: &TrackerConfig) -> bool {
    track.confirmed.is_some() || track.frames >= min_frames(config, track.class())
}

impl Tracker {
    pub fn open_tracks(&self) -> &[Track] {
        &self.open
    }

    pub fn set_best_crop(&mut self, index: usize, crop: image::RgbImage) {
        self.open[index].best_crop = Some(crop);
    }

    /// Adds one frame's detections (sorted best first), then closes tracks idle past the gap.
    pub fn update(
        &mut self,
        observations: Vec<Observation>,
        sequence: u64,
        media_time_us: i64,
        config: &TrackerConfig,
    ) -> FrameUpdate {
        let mut taken = vec![false; self.open.len()];
        // Tracks started in this frame are numbered across all classes: a track's class can
        // change by majority vote later, and the event id must stay unique regardless.
        let mut started_in_frame = 0u32;
        for obs in observations {
            let category = obs.class.category();
            let best_match = self
                .open
                .iter()
                .enumerate()
                .filter(|(i, t)| !taken[*i] && t.first.class.category() == category)
                .filter_map(|(i, t)| t.affinity(&obs, config).map(|a| (i, a)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, _)) = best_match {
                taken[i] = true;
                self.open[i].add(obs);
                continue;
            }
            self.open.push(Track::new(obs, started_in_frame));
            started_in_frame += 1;
            taken.push(true);
        }
        let (expired, open): (Vec<Track>, Vec<Track>) =
            self.open.drain(..).partition(|t| media_time_us - t.last.media_time_us > config.gap_us);
        self.open = open;
        let improved = self
            .open
            .iter()
            .enumerate()
            .filter(|(_, t)| t.best.sequence == sequence)
            .map(|(i, _)| i)
            .collect();
        let (mut opened, mut updated) = (Vec::new(), Vec::new());
        for (i, track) in self.open.iter_mut().enumerate() {
            let seen_now = track.last.sequence == sequence;
            let long_enough = track.frames >= min_frames(config, track.class());
            match &mut track.confirmed {
                None if long_enough => {
                    track.confirmed = Some(Confirmation {
                        class: track.class(),
                        wall_time: track.last.wall_time,
                        announced_us: media_time_us,
                    });
                    opened.push(i);
                }
                Some(c) if seen_now && media_time_us - c.announced_us >= config.update_interval_us => {
                    c.announced_us = media_time_us;
                    updated.push(i);
                }
                _ => {}
            }
        }
        let closed = expired.into_iter().filter(|t| is_event(t, config)).collect();
        FrameUpdate { closed, improved, opened, updated }
    }

    /// Adds the tracks seen in frame `sequence` to their motion, against the scene's zones.
    pub fn observe_motion(&mut self, sequence: u64, frame: (u32, u32), zones: &[Zone]) {
        for track in self.open.iter_mut().filter(|t| t.last.sequence == sequence) {
            track.motion.observe(track.last.bbox, track.last.media_time_us, frame, zones);
        }
    }

    /// Closes every open track (end of input).
    pub fn finish(&mut self, config: &TrackerConfig) -> Vec<Track> {
        self.open.drain(..).filter(|t| is_event(t, config)).collect()
    }
}

#[cfg(test)]
mod tests;
