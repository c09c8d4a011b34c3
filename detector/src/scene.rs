//! What the registry says about a camera's view (its compass heading, its named zones), and the
//! motion attributes of a track measured against it: direction, speed, dwell, zones.

use std::collections::HashMap;

use canvass_schemas::{FrameDirection, Motion, ZoneVisit};
use serde::{Deserialize, Serialize};

/// A named area of the view: a polygon in frame coordinates normalised to 0..=1.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub name: String,
    pub polygon: Vec<[f32; 2]>,
}

impl Zone {
    /// Whether `point` (normalised) is inside (even-odd rule).
    pub fn contains(&self, point: [f32; 2]) -> bool {
        let mut inside = false;
        let n = self.polygon.len();
        for i in 0..n {
            let (a, b) = (self.polygon[i], self.polygon[(i + n - 1) % n]);
            if (a[1] > point[1]) != (b[1] > point[1])
                && point[0] < (b[0] - a[0]) * (point[1] - a[1]) / (b[1] - a[1]) + a[0]
            {
                inside = !inside;
            }
        }
        inside
    }
}

/// One camera's view as its owner registered it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scene {
    /// Compass heading the camera looks along, degrees (0 north, 90 east).
    pub heading_deg: Option<f32>,
    pub zones: Vec<Zone>,
}

/// Scenes by source id.
pub type Scenes = HashMap<String, Scene>;

/// An object moves less than this many of its own lengths over its track: it has no direction.
const STILL_DISPLACEMENT: f32 = 0.5;
/// A centre within this many object lengths of where it stopped is still stopped.
const DWELL_RADIUS: f32 = 0.25;

/// What a track keeps of its motion, updated with each observation (checkpointed with it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MotionTrack {
    /// Where the object stopped (normalised centre) and since when (media time).
    anchor: Option<([f32; 2], i64)>,
    longest_still_us: i64,
    zones: Vec<ZoneState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ZoneState {
    zone: String,
    inside: bool,
    seen_outside: bool,
    ever_inside: bool,
    entered: bool,
    left: bool,
}

fn centre(b: [f32; 4]) -> [f32; 2] {
    [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0]
}

fn extent(b: [f32; 4]) -> f32 {
    (b[2] - b[0]).max(b[3] - b[1]).max(1.0)
}

impl MotionTrack {
    /// Adds one observation: `bbox` in frame pixels, `frame` the frame's size, `zones` the
    /// zones of the scene (each observation's ground point, the bottom of its box, decides).
    pub fn observe(&mut self, bbox: [f32; 4], media_time_us: i64, frame: (u32, u32), zones: &[Zone]) {
        let c = centre(bbox);
        match self.anchor {
            Some((at, since))
                if ((c[0] - at[0]).powi(2) + (c[1] - at[1]).powi(2)).sqrt()
                    <= DWELL_RADIUS * extent(bbox) =>
            {
                self.longest_still_us = self.longest_still_us.max(media_time_us - since);
            }
            _ => self.anchor = Some((c, media_time_us)),
        }
        let (fw, fh) = (frame.0.max(1) as f32, frame.1.max(1) as f32);
        let ground = [c[0] / fw, bbox[3] / fh];
        for zone in zones {
            let inside = zone.contains(ground);
            let state = match self.zones.iter_mut().find(|z| z.zone == zone.name) {
                Some(state) => state,
                None => {
                    self.zones.push(ZoneState {
                        zone: zone.name.clone(),
                        inside,
                        seen_outside: !inside,
                        ever_inside: inside,
                        entered: false,
                        left: false,
                    });
                    continue;
                }
            };
            state.entered |= inside && !state.inside && state.seen_outside;
            state.left |= !inside && state.inside;
            state.seen_outside |= !inside;
            state.ever_inside |= inside;
            state.inside = inside;
        }
    }

    /// The motion attributes of a track from `first` to `last` (frame pixels, media times).
    pub fn summary(
        &self,
        first: ([f32; 4], i64),
        last: ([f32; 4], i64),
        frame: (u32, u32),
        scene: Option<&Scene>,
    ) -> Motion {
        let (a, b) = (centre(first.0), centre(last.0));
        let size = (extent(first.0) + extent(last.0)) / 2.0;
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let lengths = (dx * dx + dy * dy).sqrt() / size;
        let seconds = (last.1 - first.1).max(0) as f32 / 1e6;
        let growth = extent(last.0) / extent(first.0);
        let moved = lengths >= STILL_DISPLACEMENT || !(0.7..=1.4).contains(&growth);
        let direction = moved.then(|| {
            if dx.abs() >= dy.abs() && lengths >= STILL_DISPLACEMENT {
                if dx > 0.0 { FrameDirection::Right } else { FrameDirection::Left }
            } else if dy > 0.0 || (lengths < STILL_DISPLACEMENT && growth > 1.0) {
                FrameDirection::Towards
            } else {
                FrameDirection::Away
            }
        });
        // Up the frame is away from the camera, along its heading; right is heading + 90.
        let (fw, fh) = (frame.0.max(1) as f32, frame.1.max(1) as f32);
        let heading_deg =
            scene.and_then(|s| s.heading_deg).filter(|_| lengths >= STILL_DISPLACEMENT).map(|h| {
                let across = (dx / fw).atan2(-dy / fh).to_degrees();
                (h + across).rem_euclid(360.0)
            });
        Motion {
            direction,
            heading_deg,
            speed: if seconds > 0.0 { lengths / seconds } else { 0.0 },
            dwell_s: self.longest_still_us as f32 / 1e6,
            zones: self
                .zones
                .iter()
                .filter(|z| z.ever_inside)
                .map(|z| ZoneVisit { zone: z.zone.clone(), entered: z.entered, left: z.left })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn driveway() -> Zone {
        Zone { name: "driveway".into(), polygon: vec![[0.5, 0.5], [1.0, 0.5], [1.0, 1.0], [0.5, 1.0]] }
    }

    #[test]
    fn polygons_hold_what_is_inside() {
        let z = driveway();
        assert!(z.contains([0.75, 0.75]));
        assert!(!z.contains([0.25, 0.75]));
        assert!(!z.contains([0.75, 0.25]));
        let triangle = Zone { name: "t".into(), polygon: vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]] };
        assert!(triangle.contains([0.2, 0.2]) && !triangle.contains([0.8, 0.8]));
    }

    #[test]
    fn a_car_driving_right_then_parking_in_the_driveway() {
        let frame = (1000, 1000);
        let mut m = MotionTrack::default();
        let zones = [driveway()];
        // 100 px wide, moves 100 px a second for 6 s, then stands for 20 s; its ground point
        // crosses into the driveway (x > 500 px) on the way.
        let box_at = |x: f32| [x, 800.0, x + 100.0, 860.0];
        for s in 0..=6 {
            m.observe(box_at(100.0 + 100.0 * s as f32), s * 1_000_000, frame, &zones);
        }
        for s in 7..=26 {
            m.observe(box_at(700.0), s * 1_000_000, frame, &zones);
        }
        let scene = Scene { heading_deg: Some(0.0), zones: zones.to_vec() };
        let motion = m.summary((box_at(100.0), 0), (box_at(700.0), 26_000_000), frame, Some(&scene));
        assert_eq!(motion.direction, Some(FrameDirection::Right));
        assert!((motion.heading_deg.unwrap() - 90.0).abs() < 1.0, "facing north, moving right is east");
        assert!((motion.dwell_s - 20.0).abs() < 1.01, "{}", motion.dwell_s);
        assert_eq!(motion.zones, vec![ZoneVisit { zone: "driveway".into(), entered: true, left: false }]);
        // 6 lengths over 26 s.
        assert!((motion.speed - 6.0 / 26.0).abs() < 0.01, "{}", motion.speed);
    }

    #[test]
    fn a_parked_car_has_no_direction_and_a_car_coming_closer_comes_towards() {
        let frame = (1000, 1000);
        let mut m = MotionTrack::default();
        let b = [100.0, 100.0, 200.0, 160.0];
        for s in 0..=30 {
            m.observe(b, s * 1_000_000, frame, &[]);
        }
        let still = m.summary((b, 0), (b, 30_000_000), frame, None);
        assert_eq!((still.direction, still.heading_deg), (None, None));
        assert!((still.dwell_s - 30.0).abs() < 0.01);
        let near = [400.0, 600.0, 600.0, 720.0];
        let coming =
            MotionTrack::default().summary(([450.0, 300.0, 550.0, 360.0], 0), (near, 4_000_000), frame, None);
        assert_eq!(coming.direction, Some(FrameDirection::Towards));
    }
}
