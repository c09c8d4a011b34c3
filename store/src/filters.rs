//! Filters on what an event did and when in the day it happened: checked row by row from the
//! lake's columns and, the same way, on whole events (alert rules).

use std::collections::BTreeSet;

use canvass_schemas::{FrameDirection, Motion, heading_difference};
use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};

pub use canvass_schemas::MIN_COLOUR_SCORE;

/// Half the width of a compass sector: `direction:north` takes headings within 45 degrees.
pub const HEADING_TOLERANCE_DEG: f32 = 45.0;

/// What the object's motion must show. Empty: anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MotionFilter {
    /// Frame-relative directions, any of them.
    pub directions: BTreeSet<FrameDirection>,
    /// Compass headings in degrees, any of them (within `HEADING_TOLERANCE_DEG`).
    pub headings: Vec<f32>,
    pub min_dwell_s: Option<f32>,
    pub max_dwell_s: Option<f32>,
    /// Speed in the object's own lengths per second.
    pub min_speed: Option<f32>,
    pub max_speed: Option<f32>,
    /// Zones the object must have been inside, any of them.
    pub zones: BTreeSet<String>,
}

impl MotionFilter {
    pub fn is_empty(&self) -> bool {
        *self == MotionFilter::default()
    }

    /// Whether `motion` (absent: an event from before motion was recorded) passes.
    pub fn accepts(&self, motion: Option<&Motion>) -> bool {
        if self.is_empty() {
            return true;
        }
        let Some(m) = motion else { return false };
        let way = self.directions.is_empty() && self.headings.is_empty()
            || m.direction.is_some_and(|d| self.directions.contains(&d))
            || m.heading_deg.is_some_and(|h| {
                self.headings.iter().any(|&w| heading_difference(h, w) <= HEADING_TOLERANCE_DEG)
            });
        let within = |v: f32, lo: Option<f32>, hi: Option<f32>| {
            lo.is_none_or(|lo| v >= lo) && hi.is_none_or(|hi| v <= hi)
        };
        way && within(m.dwell_s, self.min_dwell_s, self.max_dwell_s)
            && within(m.speed, self.min_speed, self.max_speed)
            && (self.zones.is_empty() || m.zones.iter().any(|z| self.zones.contains(&z.zone)))
    }
}

/// Hours of the day and days of the week, in the searcher's clock (a fixed UTC offset): for
/// "afternoon", "between 14:00 and 16:00" and "weekdays" over many days.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeOfDay {
    pub offset: FixedOffset,
    /// Minutes after midnight, `[start, end)`; an end before the start wraps past midnight
    /// (night: 22:00 to 06:00).
    pub minutes: Option<(u32, u32)>,
    /// Days from Monday (0) to Sunday (6); empty: every day.
    pub weekdays: BTreeSet<u32>,
}

impl TimeOfDay {
    /// Whether an event starting at `start` happened in these hours and days.
    pub fn contains(&self, start: DateTime<Utc>) -> bool {
        let local = start.with_timezone(&self.offset);
        let minute = local.hour() * 60 + local.minute();
        let in_hours = self.minutes.is_none_or(|(from, to)| {
            if from < to { (from..to).contains(&minute) } else { minute >= from || minute < to }
        });
        in_hours
            && (self.weekdays.is_empty() || self.weekdays.contains(&local.weekday().num_days_from_monday()))
    }

    /// `contains` for a time in microseconds since the epoch (as the lake stores it).
    pub fn contains_us(&self, start_us: i64) -> bool {
        DateTime::<Utc>::from_timestamp_micros(start_us).is_some_and(|t| self.contains(t))
    }
}

/// An event's motion from its lake columns: present where speed and dwell are (null for
/// objects written before v3).
pub fn motion_of(
    direction: Option<FrameDirection>,
    heading_deg: Option<f32>,
    speed: Option<f32>,
    dwell_s: Option<f32>,
    zones: Option<&str>,
) -> Option<Motion> {
    Some(Motion {
        direction,
        heading_deg,
        speed: speed?,
        dwell_s: dwell_s?,
        zones: zones.map(zones_from_text).unwrap_or_default(),
    })
}

/// Zones as one text column: `name:el` per zone (`e` entered, `l` left), `;` between zones.
pub fn zones_to_text(motion: &Motion) -> String {
    motion
        .zones
        .iter()
        .map(|z| format!("{}:{}{}", z.zone, if z.entered { "e" } else { "" }, if z.left { "l" } else { "" }))
        .collect::<Vec<_>>()
        .join(";")
}

/// The inverse of `zones_to_text`.
pub fn zones_from_text(text: &str) -> Vec<canvass_schemas::ZoneVisit> {
    text.split(';')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (zone, flags) = part.rsplit_once(':').unwrap_or((part, ""));
            canvass_schemas::ZoneVisit {
                zone: zone.to_string(),
                entered: flags.contains('e'),
                left: flags.contains('l'),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use canvass_schemas::ZoneVisit;

    use super::*;

    fn motion(direction: FrameDirection, heading: Option<f32>, dwell_s: f32) -> Motion {
        Motion {
            direction: Some(direction),
            heading_deg: heading,
            speed: 1.0,
            dwell_s,
            zones: vec![ZoneVisit { zone: "driveway".into(), entered: true, left: false }],
        }
    }

    #[test]
    fn headings_match_within_a_sector_across_north() {
        let north = MotionFilter { headings: vec![0.0], ..Default::default() };
        assert!(north.accepts(Some(&motion(FrameDirection::Away, Some(350.0), 0.0))));
        assert!(north.accepts(Some(&motion(FrameDirection::Away, Some(44.0), 0.0))));
        assert!(!north.accepts(Some(&motion(FrameDirection::Away, Some(90.0), 0.0))));
        assert!(!north.accepts(Some(&motion(FrameDirection::Away, None, 0.0))), "no heading known");
        assert!(!north.accepts(None), "an event without motion");
        let left = MotionFilter { directions: [FrameDirection::Left].into(), ..Default::default() };
        assert!(left.accepts(Some(&motion(FrameDirection::Left, None, 0.0))));
        assert!(!left.accepts(Some(&motion(FrameDirection::Right, None, 0.0))));
    }

    #[test]
    fn dwell_and_zones_bound_the_match() {
        let parked = MotionFilter { min_dwell_s: Some(600.0), ..Default::default() };
        assert!(parked.accepts(Some(&motion(FrameDirection::Left, None, 601.0))));
        assert!(!parked.accepts(Some(&motion(FrameDirection::Left, None, 599.0))));
        let porch = MotionFilter { zones: ["porch".to_string()].into(), ..Default::default() };
        assert!(!porch.accepts(Some(&motion(FrameDirection::Left, None, 0.0))));
        let driveway = MotionFilter { zones: ["driveway".to_string()].into(), ..Default::default() };
        assert!(driveway.accepts(Some(&motion(FrameDirection::Left, None, 0.0))));
    }

    #[test]
    fn hours_wrap_past_midnight_in_the_searchers_clock() {
        let night = TimeOfDay {
            offset: FixedOffset::east_opt(3600).unwrap(),
            minutes: Some((22 * 60, 6 * 60)),
            weekdays: BTreeSet::new(),
        };
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert!(night.contains(at("2026-12-01T21:30:00Z")), "22:30 local");
        assert!(night.contains(at("2026-12-02T04:59:00Z")), "05:59 local");
        assert!(!night.contains(at("2026-12-02T05:00:00Z")), "06:00 local");
        assert!(!night.contains(at("2026-12-01T20:59:00Z")), "21:59 local");
        // 2026-12-05 is a Saturday.
        let weekdays = TimeOfDay { minutes: None, weekdays: (0..5).collect(), ..night };
        assert!(!weekdays.contains(at("2026-12-05T12:00:00Z")));
        assert!(weekdays.contains(at("2026-12-04T12:00:00Z")));
    }

    #[test]
    fn zones_survive_their_column() {
        let m = Motion {
            zones: vec![
                ZoneVisit { zone: "drive:way".into(), entered: true, left: true },
                ZoneVisit { zone: "porch".into(), entered: false, left: false },
            ],
            ..Default::default()
        };
        assert_eq!(zones_from_text(&zones_to_text(&m)), m.zones);
        assert!(zones_from_text("").is_empty());
    }
}
