//! Maps media time to wall-clock time, and says where the anchor came from.

use canvass_schemas::WallClockSource;
use chrono::{DateTime, Duration, Utc};

/// Camera clocks that were never set write dates like 1904-01-01 (the MP4 epoch) or 1970-01-01;
/// such a tag is no evidence of when the footage was taken.
const EARLIEST_PLAUSIBLE_YEAR: &str = "2000-01-01T00:00:00Z";

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WallClock {
    /// Wall-clock time at media time 0.
    pub origin: DateTime<Utc>,
    pub source: WallClockSource,
}

impl WallClock {
    /// Operator's `--start` first, then the container's `creation_time` tag, then `now`.
    pub fn resolve(
        operator_start: Option<DateTime<Utc>>,
        creation_time_tag: Option<&str>,
        now: DateTime<Utc>,
    ) -> Self {
        if let Some(origin) = operator_start {
            return WallClock { origin, source: WallClockSource::Operator };
        }
        if let Some(origin) = creation_time_tag.and_then(parse_creation_time) {
            return WallClock { origin, source: WallClockSource::Container };
        }
        WallClock { origin: now, source: WallClockSource::Ingest }
    }

    pub fn at(&self, media_time_us: i64) -> DateTime<Utc> {
        self.origin + Duration::microseconds(media_time_us)
    }
}

fn parse_creation_time(tag: &str) -> Option<DateTime<Utc>> {
    let parsed = DateTime::parse_from_rfc3339(tag.trim())
        .map(|t| t.with_timezone(&Utc))
        // Some muxers write "2024-05-01 10:00:00" without a zone; FFmpeg means UTC.
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(tag.trim(), "%Y-%m-%d %H:%M:%S").map(|t| t.and_utc())
        })
        .ok()?;
    let earliest: DateTime<Utc> = EARLIEST_PLAUSIBLE_YEAR.parse().expect("constant parses");
    (parsed >= earliest).then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-23T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn operator_start_wins() {
        let start = "2026-01-02T03:04:05Z".parse().unwrap();
        let clock = WallClock::resolve(Some(start), Some("2025-01-01T00:00:00Z"), now());
        assert_eq!(clock.source, WallClockSource::Operator);
        assert_eq!(clock.at(1_500_000).to_rfc3339(), "2026-01-02T03:04:06.500+00:00");
    }

    #[test]
    fn container_tag_is_used_when_plausible() {
        let clock = WallClock::resolve(None, Some("2025-06-01T10:00:00.000000Z"), now());
        assert_eq!(clock.source, WallClockSource::Container);
        assert_eq!(clock.origin, "2025-06-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap());
        let naive = WallClock::resolve(None, Some("2025-06-01 10:00:00"), now());
        assert_eq!(naive.source, WallClockSource::Container);
    }

    #[test]
    fn unset_camera_clocks_and_garbage_fall_back_to_ingest_time() {
        for tag in ["1904-01-01T00:00:00.000000Z", "1970-01-01T00:00:00Z", "yesterday", ""] {
            let clock = WallClock::resolve(None, Some(tag), now());
            assert_eq!(clock.source, WallClockSource::Ingest, "{tag}");
            assert_eq!(clock.origin, now());
        }
    }
}
