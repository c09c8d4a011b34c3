//! Times in queries: filters (`after:`, `before:`) and everyday words (yesterday, last night,
//! this morning, between 14:00 and 16:00, weekdays), in the searcher's clock.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Utc};

use super::QueryError;

/// An absolute time as the query language and the API write it: RFC 3339, or a day
/// (`YYYY-MM-DD`, UTC) taken from its first or, with `end_of_day`, its last microsecond.
pub fn absolute_time(value: &str, end_of_day: bool) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
    let start = day.and_hms_opt(0, 0, 0)?.and_utc();
    if !end_of_day {
        return Some(start);
    }
    // Checked: the last day chrono can name has no day after it.
    start.checked_add_signed(Duration::days(1))?.checked_sub_signed(Duration::microseconds(1))
}

/// How far back a relative time may reach: far beyond any footage, far within what time
/// arithmetic can hold.
pub(super) const MAX_LOOKBACK_YEARS: i64 = 100;

pub(super) fn parse_time(
    filter: &str,
    value: &str,
    now: DateTime<Utc>,
    end_of_day: bool,
) -> Result<DateTime<Utc>, QueryError> {
    let bad = || QueryError::BadTime { filter: filter.to_string(), value: value.to_string() };
    if let Some(t) = absolute_time(value, end_of_day) {
        return Ok(t);
    }
    let amount = value.strip_prefix('-').ok_or_else(bad)?;
    let (number, unit) = amount.split_at(amount.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    if !matches!(unit, "m" | "min" | "h" | "d" | "w") {
        return Err(bad());
    }
    let out_of_range = || QueryError::TimeOutOfRange {
        filter: filter.to_string(),
        value: value.to_string(),
        max_years: MAX_LOOKBACK_YEARS,
    };
    // Digits only, so a parse failure is a number too large for i64.
    let n: i64 = number.parse().map_err(|_| out_of_range())?;
    let minutes_per_unit = match unit {
        "m" | "min" => 1,
        "h" => 60,
        "d" => 24 * 60,
        _ => 7 * 24 * 60,
    };
    let minutes = n.checked_mul(minutes_per_unit).ok_or_else(out_of_range)?;
    if minutes > MAX_LOOKBACK_YEARS * 366 * 24 * 60 {
        return Err(out_of_range());
    }
    now.checked_sub_signed(Duration::minutes(minutes)).ok_or_else(out_of_range)
}

/// A clock time: `14:00`, `9:30`, `2pm`, `11am`, `14h`; minutes after midnight.
pub(super) fn clock_minutes(text: &str) -> Option<u32> {
    let text = text.to_lowercase();
    let (body, pm) = match (text.strip_suffix("pm"), text.strip_suffix("am")) {
        (Some(b), _) => (b, Some(true)),
        (_, Some(b)) => (b, Some(false)),
        _ => (text.strip_suffix('h').unwrap_or(&text), None),
    };
    let (h, m) = match body.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
        None if pm.is_some() || text.ends_with('h') => (body.parse::<u32>().ok()?, 0),
        _ => return None,
    };
    let h = match pm {
        Some(_) if !(1..=12).contains(&h) => return None,
        Some(true) => h % 12 + 12,
        Some(false) => h % 12,
        None => h,
    };
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// The local day `days_ago` days before `now`, as UTC instants: its first and last microsecond.
pub(super) fn local_day(
    now: DateTime<Utc>,
    offset: FixedOffset,
    days_ago: i64,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let day = now.with_timezone(&offset).date_naive() - Duration::days(days_ago);
    let start = at_local(day, NaiveTime::MIN, offset);
    (start, start + Duration::days(1) - Duration::microseconds(1))
}

/// `time` on `day` in the fixed-offset clock, as a UTC instant.
pub(super) fn at_local(day: NaiveDate, time: NaiveTime, offset: FixedOffset) -> DateTime<Utc> {
    (day.and_time(time) - Duration::seconds(offset.local_minus_utc().into())).and_utc()
}

/// A duration with a unit: `90s`, `10m`, `10min`, `2h`; a bare number is seconds.
pub(super) fn seconds(text: &str) -> Option<f32> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f32 = number.parse().ok().filter(|n: &f32| n.is_finite() && *n >= 0.0)?;
    let scale = match unit {
        "" | "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Some(n * scale)
}

pub(super) fn clock_text(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_in_everyday_forms() {
        assert_eq!(clock_minutes("14:00"), Some(14 * 60));
        assert_eq!(clock_minutes("9:30"), Some(9 * 60 + 30));
        assert_eq!(clock_minutes("2pm"), Some(14 * 60));
        assert_eq!(clock_minutes("12am"), Some(0));
        assert_eq!(clock_minutes("12pm"), Some(12 * 60));
        assert_eq!(clock_minutes("14h"), Some(14 * 60));
        assert_eq!(clock_minutes("25:00"), None);
        assert_eq!(clock_minutes("13pm"), None);
        assert_eq!(clock_minutes("14"), None, "a bare number is not a time");
    }

    #[test]
    fn durations() {
        assert_eq!(seconds("10m"), Some(600.0));
        assert_eq!(seconds("90s"), Some(90.0));
        assert_eq!(seconds("1.5h"), Some(5400.0));
        assert_eq!(seconds("45"), Some(45.0));
        assert_eq!(seconds("10y"), None);
        assert_eq!(seconds("-5m"), None);
    }

    #[test]
    fn a_local_day_is_the_searchers_day() {
        let now: DateTime<Utc> = "2026-12-03T01:00:00Z".parse().unwrap();
        // At UTC-5 it is still 2 December at 20:00; yesterday is 1 December, 05:00Z to 05:00Z.
        let (start, end) = local_day(now, FixedOffset::west_opt(5 * 3600).unwrap(), 1);
        assert_eq!(start, "2026-12-01T05:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(end, "2026-12-02T04:59:59.999999Z".parse::<DateTime<Utc>>().unwrap());
    }
}
