//! The query language: words for what to find ("red pickup", "white van", "gun"), everyday
//! times ("yesterday afternoon", "between 14:00 and 16:00", "weekdays"), places ("near main
//! st", `near:51.5,-0.12,500m`), motion ("heading north", "parked", `dwell:>10m`,
//! `zone:driveway`) and filters `source:` (or `camera:`), `case:`, `after:`, `before:`,
//! `min-conf:`, `direction:`, `speed:`.
//!
//! Filler words ("a", "the", "with", "heading") are ignored and listed as ignored. Any other
//! word must mean something: an unknown word is an error that suggests the word it is closest
//! to, never silently dropped. Words about people, faces or identity are refused with the
//! reason and what could be searched instead. `Query::understood` says how a query was read.

mod near;
mod vocabulary;
mod when;

use std::collections::BTreeSet;

use canvass_schemas::{Colour, DetectionEvent, ObjectClass, wire_name};
use canvass_store::{MIN_COLOUR_SCORE, MotionFilter, Pruning, TimeOfDay};
use chrono::{DateTime, Duration, FixedOffset, Utc};

pub use near::{Near, sources_within};
use vocabulary::*;
pub use when::absolute_time;
use when::{clock_minutes, clock_text, local_day, parse_time, seconds};

/// What a query asks for. Classes and colours are alternatives (any of them matches).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub classes: BTreeSet<ObjectClass>,
    pub colours: BTreeSet<Colour>,
    pub sources: BTreeSet<String>,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    pub min_confidence: Option<f32>,
    /// `case:ID`: only events found in that case's evidence.
    pub cases: BTreeSet<String>,
    pub motion: MotionFilter,
    /// Hours of the day and weekdays, over every day in range.
    pub time_of_day: Option<TimeOfDay>,
    /// Where: `resolve_near` turns it into sources.
    pub near: Option<Near>,
    /// Whether `near` has been turned into `sources`.
    pub near_resolved: bool,
    /// The clock the query's everyday times were read in.
    pub offset: FixedOffset,
    /// Filler words that were ignored, as written.
    pub ignored: Vec<String>,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            classes: BTreeSet::new(),
            colours: BTreeSet::new(),
            sources: BTreeSet::new(),
            after: None,
            before: None,
            min_confidence: None,
            cases: BTreeSet::new(),
            motion: MotionFilter::default(),
            time_of_day: None,
            near: None,
            near_resolved: false,
            offset: FixedOffset::east_opt(0).expect("UTC"),
            ignored: Vec::new(),
        }
    }
}

impl Query {
    /// Whether one event answers the query, as a search over the lake would decide it: what
    /// alert rules apply to events as they happen. `near` must have been resolved.
    pub fn matches(&self, event: &DetectionEvent) -> bool {
        let colour_ok = self.colours.is_empty()
            || self.colours.iter().any(|c| event.attributes.colour_score(*c) >= MIN_COLOUR_SCORE);
        (self.classes.is_empty() || self.classes.contains(&event.class))
            && colour_ok
            && (self.sources.is_empty() || self.sources.contains(&event.source_id))
            && (self.cases.is_empty() || event.case.as_ref().is_some_and(|c| self.cases.contains(c)))
            && self.min_confidence.is_none_or(|min| event.confidence >= min)
            && self.after.is_none_or(|after| event.wall_end >= after)
            && self.before.is_none_or(|before| event.wall_start <= before)
            && self.time_of_day.as_ref().is_none_or(|t| t.contains(event.wall_start))
            && self.motion.accepts(event.attributes.motion.as_ref())
            && (self.near.is_none() || self.near_resolved)
    }

    pub fn pruning(&self) -> Pruning {
        Pruning {
            sources: self.sources.clone(),
            after: self.after,
            before: self.before,
            classes: self.classes.clone(),
            colours: self.colours.clone(),
            min_confidence: self.min_confidence,
            event_ids: Default::default(),
            cases: self.cases.clone(),
            motion: self.motion.clone(),
            time_of_day: self.time_of_day.clone(),
        }
    }

    /// How the query was read, aspect by aspect (`what`, `colour`, `when`, `near`, ...), for
    /// the CLI, the API and the page to show.
    pub fn understood(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let join = |items: Vec<String>| items.join(" or ");
        if !self.classes.is_empty() {
            out.push(("what", join(self.classes.iter().map(wire_name).collect())));
        }
        if !self.colours.is_empty() {
            out.push(("colour", join(self.colours.iter().map(wire_name).collect())));
        }
        let zone = |t: DateTime<Utc>| t.with_timezone(&self.offset).format("%Y-%m-%d %H:%M").to_string();
        match (self.after, self.before) {
            (Some(a), Some(b)) => out.push(("when", format!("{} to {}", zone(a), zone(b)))),
            (Some(a), None) => out.push(("when", format!("after {}", zone(a)))),
            (None, Some(b)) => out.push(("when", format!("before {}", zone(b)))),
            (None, None) => {}
        }
        if let Some(t) = &self.time_of_day {
            if let Some((from, to)) = t.minutes {
                out.push(("hours", format!("{}-{} (UTC{})", clock_text(from), clock_text(to), self.offset)));
            }
            if !t.weekdays.is_empty() {
                out.push((
                    "days",
                    t.weekdays.iter().map(|d| WEEKDAYS[*d as usize]).collect::<Vec<_>>().join(", "),
                ));
            }
        }
        if let Some(near) = &self.near {
            out.push(("near", near.to_string()));
        }
        if !self.sources.is_empty() {
            out.push(("cameras", self.sources.iter().cloned().collect::<Vec<_>>().join(", ")));
        }
        let m = &self.motion;
        let ways: Vec<String> = m
            .directions
            .iter()
            .map(wire_name)
            .chain(m.headings.iter().map(|h| compass_name(*h).to_string()))
            .collect();
        if !ways.is_empty() {
            out.push(("direction", join(ways)));
        }
        let range = |lo: Option<f32>, hi: Option<f32>, unit: &str| match (lo, hi) {
            (Some(lo), Some(hi)) => Some(format!("{lo}{unit} to {hi}{unit}")),
            (Some(lo), None) => Some(format!("at least {lo}{unit}")),
            (None, Some(hi)) => Some(format!("at most {hi}{unit}")),
            (None, None) => None,
        };
        if let Some(dwell) = range(m.min_dwell_s, m.max_dwell_s, " s") {
            out.push(("still for", dwell));
        }
        if let Some(speed) = range(m.min_speed, m.max_speed, " lengths/s") {
            out.push(("speed", speed));
        }
        if !m.zones.is_empty() {
            out.push(("zone", join(m.zones.iter().cloned().collect())));
        }
        if !self.cases.is_empty() {
            out.push(("case", self.cases.iter().cloned().collect::<Vec<_>>().join(", ")));
        }
        if let Some(min) = self.min_confidence {
            out.push(("min confidence", min.to_string()));
        }
        if !self.ignored.is_empty() {
            out.push(("ignored", self.ignored.join(", ")));
        }
        out
    }

    /// `understood` as one line: `what: pickup or truck; colour: red; ...`.
    pub fn understood_line(&self) -> String {
        self.understood().iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("; ")
    }
}

fn compass_name(heading: f32) -> &'static str {
    COMPASS_WORDS
        .iter()
        .filter(|(w, _)| w.len() > 2)
        .find(|(_, h)| canvass_schemas::heading_difference(*h, heading) < 1.0)
        .map_or("?", |(w, _)| w)
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum QueryError {
    #[error("unknown word '{word}'{}. Understood: {understood}", suggestion.as_ref().map(|s| format!(": did you mean {s}?")).unwrap_or_default())]
    UnknownWord { word: String, suggestion: Option<String>, understood: String },
    #[error(
        "'{word}' asks about people: canvass finds vehicles and weapons and never identifies or \
         describes a person (no faces, names or physical features).{}",
        suggestion.as_ref().map(|s| format!(" Search for what can be seen instead: \"{s}\"")).unwrap_or_else(|| " Search for vehicles or weapons instead, e.g. \"firearm\" or \"red car\"".into())
    )]
    Refused { word: String, suggestion: Option<String> },
    #[error(
        "unknown word '{word}': if it is a name, names cannot be searched (canvass never identifies \
         people); for a place write near {word}. Understood: {understood}"
    )]
    UnknownName { word: String, understood: String },
    #[error(
        "unknown filter '{0}:'. Filters: source:/camera:, case:, after:, before:, min-conf:, near:, direction:, dwell:, speed:, zone:"
    )]
    UnknownFilter(String),
    #[error(
        "{filter}: '{value}' is not a time: use RFC 3339 (2026-11-23T08:00:00Z), a date (2026-11-23) or a relative time (-24h, -7d, -30m)"
    )]
    BadTime { filter: String, value: String },
    #[error("{filter}: '{value}' is out of range: times go back at most {max_years} years")]
    TimeOutOfRange { filter: String, value: String, max_years: i64 },
    #[error("min-conf: '{0}' is not a number from 0 to 1")]
    BadConfidence(String),
    #[error("{filter}: '{value}' {why}")]
    BadValue { filter: String, value: String, why: String },
    #[error("{0}: needs a value, e.g. {0}:main-st")]
    EmptyFilter(String),
    #[error("after: is later than before:")]
    EmptyRange,
    #[error("{0}")]
    Near(String),
    #[error("empty query: give what to look for (e.g. \"red pickup\") or a filter (source:cam-1)")]
    Empty,
}

/// The word, or its singular when only that is known ("cars" -> "car", "buses" -> "bus").
fn known_form(word: &str) -> Option<String> {
    let known = |w: &str| {
        lookup(CLASS_WORDS, w).is_some()
            || lookup(COLOUR_WORDS, w).is_some()
            || FILLER_WORDS.contains(&w)
            || WEEKDAYS.contains(&w)
            || lookup(DAY_PARTS, w).is_some()
    };
    if known(word) {
        return Some(word.to_string());
    }
    for suffix in ["es", "s"] {
        if let Some(stem) = word.strip_suffix(suffix)
            && known(stem)
        {
            return Some(stem.to_string());
        }
    }
    None
}

/// Whether a word means anything to the parser (it ends a place name after `near`).
fn is_vocabulary(token: &str) -> bool {
    let word = token.to_lowercase();
    word.contains(':')
        || clock_minutes(&word).is_some()
        || (known_form(&word).is_some() && !FILLER_WORDS.contains(&word.as_str()))
        || ["today", "yesterday", "weekdays", "weekend", "weekends", "between", "near", "heading"]
            .contains(&word.as_str())
        || lookup(COMPASS_WORDS, &word).is_some_and(|_| word.len() > 2)
        || lookup(FRAME_DIRECTION_WORDS, &word).is_some()
        || STILL_WORDS.contains(&word.as_str())
}

fn understood() -> String {
    let classes: Vec<&str> =
        CLASS_WORDS.iter().map(|(w, _)| *w).chain(PHRASES.iter().map(|(w, _)| *w)).collect();
    let colours: Vec<&str> = COLOUR_WORDS.iter().map(|(w, _)| *w).collect();
    format!(
        "objects: {}; colours: {}; times: today, yesterday, last night, this morning, afternoon, evening, night, \
         monday..sunday, weekdays, weekend, between 14:00 and 16:00; places: near <camera or address>, \
         near:lat,lon,500m; motion: north/south/east/west, left/right/towards/away, parked; filters: \
         source:ID (or camera:ID), case:ID, after:TIME, before:TIME, min-conf:0-1, direction:north, \
         dwell:>10m, speed:>2, zone:NAME",
        classes.join(", "),
        colours.join(", ")
    )
}

/// Parses a query with everyday times in UTC; `now` anchors relative times.
pub fn parse(text: &str, now: DateTime<Utc>) -> Result<Query, QueryError> {
    parse_in(text, now, FixedOffset::east_opt(0).expect("UTC"))
}

/// Parses a query with everyday times ("yesterday", "afternoon") in the clock `offset`.
pub fn parse_in(text: &str, now: DateTime<Utc>, offset: FixedOffset) -> Result<Query, QueryError> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    // Refusal comes first: a query about a person is refused even if it also names a vehicle,
    // and says what of it could be searched.
    let bare = |token: &str| token.to_lowercase().trim_matches(|c: char| !c.is_alphanumeric()).to_string();
    let is_people = |token: &str| {
        let word = bare(token);
        PEOPLE_WORDS.contains(&word.as_str())
            || word.strip_suffix('s').is_some_and(|s| PEOPLE_WORDS.contains(&s))
    };
    if let Some(word) = tokens.iter().find(|t| is_people(t)) {
        let rest: Vec<&str> = tokens.iter().copied().filter(|t| !is_people(t)).collect();
        let suggestion = Parser::new(now, offset).run(&rest).ok().and_then(|q| q.suggestion());
        return Err(QueryError::Refused { word: word.to_string(), suggestion });
    }
    Parser::new(now, offset).run(&tokens)
}

impl Query {
    /// The query written back in its plainest words (what a refused query could ask instead).
    fn suggestion(&self) -> Option<String> {
        let mut words: Vec<String> = self.colours.iter().map(wire_name).collect();
        if !self.classes.is_empty() {
            words.push(name_of(&self.classes));
        }
        (!words.is_empty()).then(|| words.join(" "))
    }
}

struct Parser {
    now: DateTime<Utc>,
    offset: FixedOffset,
    query: Query,
    anything: bool,
    minutes: Option<(u32, u32)>,
    weekdays: BTreeSet<u32>,
}

impl Parser {
    fn new(now: DateTime<Utc>, offset: FixedOffset) -> Self {
        Parser {
            now,
            offset,
            query: Query { offset, ..Default::default() },
            anything: false,
            minutes: None,
            weekdays: BTreeSet::new(),
        }
    }

    /// Narrows the time range to `[from, to]`.
    fn within(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) {
        let q = &mut self.query;
        q.after = Some(q.after.map_or(from, |a| a.max(from)));
        q.before = Some(q.before.map_or(to, |b| b.min(to)));
        self.anything = true;
    }

    fn day(&mut self, days_ago: i64) {
        let (from, to) = local_day(self.now, self.offset, days_ago);
        self.within(from, to);
    }

    fn hours(&mut self, minutes: (u32, u32)) {
        self.minutes = Some(minutes);
        self.anything = true;
    }

    fn run(mut self, tokens: &[&str]) -> Result<Query, QueryError> {
        let mut i = 0;
        while i < tokens.len() {
            let token = tokens[i];
            let word = token.to_lowercase();
            let next = tokens.get(i + 1).map(|t| t.to_lowercase());
            i += 1;
            if let Some(range) = clock_range(&word) {
                self.hours(range);
                continue;
            }
            if word == "between"
                && let (Some(from), Some("and"), Some(to)) = (
                    tokens.get(i).and_then(|t| clock_minutes(t)),
                    tokens.get(i + 1).map(|t| t.to_lowercase()).as_deref(),
                    tokens.get(i + 2).and_then(|t| clock_minutes(t)),
                )
            {
                self.hours((from, to));
                i += 3;
                continue;
            }
            if let Some((filter, value)) = token.split_once(':') {
                self.filter(filter, value)?;
                continue;
            }
            // Two-word forms first: "last night", "this morning", "pickup truck".
            if let Some(next) = &next {
                let pair = format!("{word} {next}");
                let taken = match pair.as_str() {
                    "last night" => {
                        let (yesterday, _) = local_day(self.now, self.offset, 1);
                        self.within(yesterday + Duration::hours(18), yesterday + Duration::hours(30));
                        true
                    }
                    "last week" => {
                        self.within(self.now - Duration::days(7), self.now);
                        true
                    }
                    "this morning" | "this afternoon" | "this evening" => {
                        self.day(0);
                        self.hours(*lookup(DAY_PARTS, next).expect("a day part"));
                        true
                    }
                    _ => {
                        let singular =
                            format!("{} {}", word.trim_end_matches('s'), next.trim_end_matches('s'));
                        match lookup(PHRASES, &pair).or_else(|| lookup(PHRASES, &singular)) {
                            Some(classes) => {
                                self.query.classes.extend(*classes);
                                self.anything = true;
                                true
                            }
                            None => false,
                        }
                    }
                };
                if taken {
                    i += 1;
                    continue;
                }
            }
            if word == "near" {
                let place: Vec<&str> =
                    tokens[i..].iter().copied().take_while(|t| !is_vocabulary(t)).collect();
                i += place.len();
                let place: Vec<&str> = place
                    .into_iter()
                    .skip_while(|t| FILLER_WORDS.contains(&t.to_lowercase().as_str()))
                    .collect();
                if place.is_empty() {
                    return Err(QueryError::Near(
                        "near: name a camera or an address after it (near main st), or give near:lat,lon,500m".into(),
                    ));
                }
                self.query.near = Some(Near::Place(place.join(" ")));
                self.anything = true;
                continue;
            }
            self.word(token, &word)?;
        }
        self.finish()
    }

    fn word(&mut self, token: &str, word: &str) -> Result<(), QueryError> {
        let word = word.trim_matches(|c: char| matches!(c, ',' | '.' | '?' | '!' | '"' | '\''));
        match word {
            "today" | "yesterday" => {
                self.day(i64::from(word == "yesterday"));
                return Ok(());
            }
            "weekdays" | "weekday" => {
                self.weekdays.extend(0..5);
                self.anything = true;
                return Ok(());
            }
            "weekend" | "weekends" => {
                self.weekdays.extend(5..7);
                self.anything = true;
                return Ok(());
            }
            _ => {}
        }
        if let Some(&heading) = lookup(COMPASS_WORDS, word).filter(|_| word.len() > 2) {
            self.query.motion.headings.push(heading);
            self.anything = true;
            return Ok(());
        }
        if let Some(heading) = word.strip_suffix("bound").and_then(|w| lookup(COMPASS_WORDS, w)) {
            self.query.motion.headings.push(*heading);
            self.anything = true;
            return Ok(());
        }
        if let Some(&direction) = lookup(FRAME_DIRECTION_WORDS, word) {
            self.query.motion.directions.insert(direction);
            self.anything = true;
            return Ok(());
        }
        if STILL_WORDS.contains(&word) {
            let m = &mut self.query.motion;
            m.min_dwell_s = Some(m.min_dwell_s.map_or(STILL_MIN_S, |d| d.max(STILL_MIN_S)));
            self.anything = true;
            return Ok(());
        }
        let Some(form) = known_form(&word.replace('-', "")) else {
            if token.chars().next().is_some_and(char::is_uppercase) && nearest(word).is_none() {
                return Err(QueryError::UnknownName { word: token.to_string(), understood: understood() });
            }
            return Err(QueryError::UnknownWord {
                word: token.to_string(),
                suggestion: nearest(word).map(str::to_string),
                understood: understood(),
            });
        };
        if let Some(classes) = lookup(CLASS_WORDS, &form) {
            self.query.classes.extend(*classes);
        } else if let Some(colours) = lookup(COLOUR_WORDS, &form) {
            self.query.colours.extend(*colours);
        } else if let Some(day) = WEEKDAYS.iter().position(|d| *d == form) {
            self.weekdays.insert(day as u32);
        } else if let Some(&part) = lookup(DAY_PARTS, &form) {
            self.minutes = Some(part);
        } else {
            self.query.ignored.push(token.to_string());
            return Ok(());
        }
        self.anything = true;
        Ok(())
    }

    fn filter(&mut self, filter: &str, value: &str) -> Result<(), QueryError> {
        let name = filter.to_lowercase();
        if value.is_empty() {
            return Err(QueryError::EmptyFilter(name));
        }
        let bad = |why: &str| QueryError::BadValue {
            filter: name.clone(),
            value: value.to_string(),
            why: why.into(),
        };
        let q = &mut self.query;
        match name.as_str() {
            "source" | "camera" | "cam" => {
                q.sources.insert(value.to_lowercase());
            }
            // Case ids are kept as given: they name objects, and `2026-A` is not `2026-a`.
            "case" => {
                q.cases.insert(value.to_string());
            }
            "after" | "from" => q.after = Some(parse_time("after", value, self.now, false)?),
            "before" | "to" | "until" => q.before = Some(parse_time("before", value, self.now, true)?),
            "min-conf" | "min_conf" | "minconf" => {
                let v: f32 = value.parse().map_err(|_| QueryError::BadConfidence(value.to_string()))?;
                if !(0.0..=1.0).contains(&v) {
                    return Err(QueryError::BadConfidence(value.to_string()));
                }
                q.min_confidence = Some(v);
            }
            "near" => q.near = Some(Near::point(value).map_err(|why| bad(&why))?),
            "direction" | "heading" | "dir" => {
                let v = value.to_lowercase();
                let v = v.strip_suffix("bound").unwrap_or(&v);
                if let Some(&heading) = lookup(COMPASS_WORDS, v) {
                    q.motion.headings.push(heading);
                } else if let Some(&direction) = lookup(FRAME_DIRECTION_WORDS, v) {
                    q.motion.directions.insert(direction);
                } else {
                    return Err(bad(
                        "is not a direction: north, ne, east, ..., or left, right, towards, away",
                    ));
                }
            }
            "dwell" | "still" | "parked" => {
                let (lo, hi) =
                    bound(value, seconds).ok_or_else(|| bad("is not a duration bound: >10m, <30s, >=2h"))?;
                q.motion.min_dwell_s = lo.or(q.motion.min_dwell_s);
                q.motion.max_dwell_s = hi.or(q.motion.max_dwell_s);
            }
            "speed" => {
                let number = |t: &str| t.parse::<f32>().ok().filter(|v| v.is_finite() && *v >= 0.0);
                let (lo, hi) = bound(value, number)
                    .ok_or_else(|| bad("is not a speed bound in lengths per second: >2, <0.5"))?;
                q.motion.min_speed = lo.or(q.motion.min_speed);
                q.motion.max_speed = hi.or(q.motion.max_speed);
            }
            "zone" | "area" => {
                let zone = value.to_lowercase();
                if !canvass_schemas::valid_zone_name(&zone) {
                    return Err(bad("is not a zone name: letters, digits, '-' and '_'"));
                }
                q.motion.zones.insert(zone);
            }
            _ => return Err(QueryError::UnknownFilter(filter.to_string())),
        }
        self.anything = true;
        Ok(())
    }

    fn finish(mut self) -> Result<Query, QueryError> {
        if !self.anything {
            return Err(QueryError::Empty);
        }
        if self.minutes.is_some() || !self.weekdays.is_empty() {
            self.query.time_of_day =
                Some(TimeOfDay { offset: self.offset, minutes: self.minutes, weekdays: self.weekdays });
        }
        if let (Some(a), Some(b)) = (self.query.after, self.query.before)
            && a > b
        {
            return Err(QueryError::EmptyRange);
        }
        Ok(self.query)
    }
}

/// `14:00-16:00` or `2pm-4pm` as one word.
fn clock_range(word: &str) -> Option<(u32, u32)> {
    let (from, to) = word.split_once('-')?;
    Some((clock_minutes(from)?, clock_minutes(to)?))
}

/// `>10m`, `>=10m`, `<30s`, `10m` (at least): the lower and upper bound.
fn bound(value: &str, read: impl Fn(&str) -> Option<f32>) -> Option<(Option<f32>, Option<f32>)> {
    if let Some(rest) = value.strip_prefix(">=").or_else(|| value.strip_prefix('>')) {
        return Some((Some(read(rest)?), None));
    }
    if let Some(rest) = value.strip_prefix("<=").or_else(|| value.strip_prefix('<')) {
        return Some((None, Some(read(rest)?)));
    }
    Some((Some(read(value)?), None))
}

#[cfg(test)]
mod tests;
