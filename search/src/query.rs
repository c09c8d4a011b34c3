//! The query language: free words for what to find ("red pickup", "white van", "gun"), and
//! filters `source:` (or `camera:`), `case:`, `after:`, `before:`, `min-conf:`.
//!
//! Every word must mean something: an unknown word is an error that lists what is understood,
//! never silently ignored. Words about people, faces or identity are refused with the reason.

use std::collections::BTreeSet;

use canvass_schemas::{Colour, DetectionEvent, ObjectClass};
use canvass_store::Pruning;
use chrono::{DateTime, Duration, NaiveDate, Utc};

use ObjectClass::*;

/// What a query asks for. Classes and colours are alternatives (any of them matches).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub classes: BTreeSet<ObjectClass>,
    pub colours: BTreeSet<Colour>,
    pub sources: BTreeSet<String>,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    pub min_confidence: Option<f32>,
    /// `case:ID`: only events found in that case's evidence.
    pub cases: BTreeSet<String>,
}

impl Query {
    /// Whether one event answers the query, as a search over the lake would decide it: what
    /// alert rules apply to events as they happen.
    pub fn matches(&self, event: &DetectionEvent) -> bool {
        let colour = event.attributes.colour.as_ref().map(|c| c.value);
        (self.classes.is_empty() || self.classes.contains(&event.class))
            && (self.colours.is_empty() || colour.is_some_and(|c| self.colours.contains(&c)))
            && (self.sources.is_empty() || self.sources.contains(&event.source_id))
            && (self.cases.is_empty() || event.case.as_ref().is_some_and(|c| self.cases.contains(c)))
            && self.min_confidence.is_none_or(|min| event.confidence >= min)
            && self.after.is_none_or(|after| event.wall_end >= after)
            && self.before.is_none_or(|before| event.wall_start <= before)
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
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum QueryError {
    #[error("unknown word '{word}'. Understood: {understood}")]
    UnknownWord { word: String, understood: String },
    #[error(
        "'{word}' asks about people: canvass finds vehicles and weapons and never identifies or \
         describes a person (no faces, names or physical features)"
    )]
    Refused { word: String },
    #[error(
        "unknown word '{word}': if it is a name, names cannot be searched (canvass never identifies \
         people). Understood: {understood}"
    )]
    UnknownName { word: String, understood: String },
    #[error("unknown filter '{0}:'. Filters: source:/camera:, case:, after:, before:, min-conf:")]
    UnknownFilter(String),
    #[error(
        "{filter}: '{value}' is not a time: use RFC 3339 (2026-11-23T08:00:00Z), a date (2026-11-23) or a relative time (-24h, -7d, -30m)"
    )]
    BadTime { filter: String, value: String },
    #[error("{filter}: '{value}' is out of range: times go back at most {max_years} years")]
    TimeOutOfRange { filter: String, value: String, max_years: i64 },
    #[error("min-conf: '{0}' is not a number from 0 to 1")]
    BadConfidence(String),
    #[error("{0}: needs a value, e.g. {0}:main-st")]
    EmptyFilter(String),
    #[error("after: is later than before:")]
    EmptyRange,
    #[error("empty query: give what to look for (e.g. \"red pickup\") or a filter (source:cam-1)")]
    Empty,
}

/// Words for classes. "pickup" also matches `truck`: COCO-trained models cannot tell a pickup
/// from a lorry and report both as truck (see the README).
const CLASS_WORDS: &[(&str, &[ObjectClass])] = &[
    ("vehicle", &[Car, Pickup, Van, Truck, Bus, Motorcycle, Bicycle]),
    ("car", &[Car]),
    ("sedan", &[Car]),
    ("saloon", &[Car]),
    ("hatchback", &[Car]),
    ("coupe", &[Car]),
    ("suv", &[Car, Truck]),
    ("pickup", &[Pickup, Truck]),
    ("ute", &[Pickup, Truck]),
    ("van", &[Van]),
    ("minivan", &[Van]),
    ("truck", &[Truck, Pickup]),
    ("lorry", &[Truck]),
    ("bus", &[Bus]),
    ("coach", &[Bus]),
    ("motorcycle", &[Motorcycle]),
    ("motorbike", &[Motorcycle]),
    ("moped", &[Motorcycle]),
    ("scooter", &[Motorcycle]),
    ("bicycle", &[Bicycle]),
    ("bike", &[Bicycle]),
    ("cycle", &[Bicycle]),
    ("weapon", &[Firearm, Handgun, LongGun, Knife, OtherWeapon]),
    ("firearm", &[Firearm, Handgun, LongGun]),
    ("gun", &[Firearm, Handgun, LongGun]),
    // A model that cannot tell firearms apart reports "firearm": it may be the pistol asked for.
    ("pistol", &[Handgun, Firearm]),
    ("handgun", &[Handgun, Firearm]),
    ("revolver", &[Handgun, Firearm]),
    ("rifle", &[LongGun, Firearm]),
    ("shotgun", &[LongGun, Firearm]),
    ("knife", &[Knife]),
    ("blade", &[Knife]),
    ("machete", &[Knife]),
];

/// Two-word names, looked up before single words.
const PHRASES: &[(&str, &[ObjectClass])] =
    &[("long gun", &[LongGun, Firearm]), ("pick up", &[Pickup, Truck]), ("box truck", &[Truck])];

const COLOUR_WORDS: &[(&str, &[Colour])] = &[
    ("red", &[Colour::Red]),
    ("maroon", &[Colour::Red]),
    ("orange", &[Colour::Orange]),
    ("yellow", &[Colour::Yellow]),
    ("gold", &[Colour::Yellow]),
    ("green", &[Colour::Green]),
    ("blue", &[Colour::Blue]),
    ("navy", &[Colour::Blue]),
    ("purple", &[Colour::Purple]),
    ("pink", &[Colour::Pink]),
    ("brown", &[Colour::Brown]),
    ("beige", &[Colour::Brown]),
    ("white", &[Colour::White]),
    ("grey", &[Colour::Grey]),
    ("gray", &[Colour::Grey]),
    ("silver", &[Colour::Grey, Colour::White]),
    ("black", &[Colour::Black]),
    ("dark", &[Colour::Black, Colour::Grey, Colour::Blue]),
    ("light", &[Colour::White, Colour::Grey]),
];

const STOP_WORDS: &[&str] = &["a", "an", "the", "any", "and", "or", "coloured", "colored"];

/// Words about people, their bodies or identity: refused, whatever else the query says.
const PEOPLE_WORDS: &[&str] = &[
    "face",
    "faces",
    "facial",
    "head",
    "person",
    "people",
    "persons",
    "man",
    "men",
    "woman",
    "women",
    "boy",
    "boys",
    "girl",
    "girls",
    "child",
    "children",
    "kid",
    "kids",
    "male",
    "female",
    "beard",
    "moustache",
    "mustache",
    "hair",
    "bald",
    "skin",
    "race",
    "ethnicity",
    "tattoo",
    "glasses",
    "identity",
    "identify",
    "name",
    "named",
    "suspect",
    "driver",
    "pedestrian",
    "who",
];

fn lookup<'a, T>(table: &'a [(&str, &'a [T])], word: &str) -> Option<&'a [T]> {
    table.iter().find(|(w, _)| *w == word).map(|(_, v)| *v)
}

/// The word, or its singular when only that is known ("cars" -> "car", "buses" -> "bus").
fn known_form(word: &str) -> Option<String> {
    let known = |w: &str| {
        lookup(CLASS_WORDS, w).is_some() || lookup(COLOUR_WORDS, w).is_some() || STOP_WORDS.contains(&w)
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

fn understood() -> String {
    let classes: Vec<&str> =
        CLASS_WORDS.iter().map(|(w, _)| *w).chain(PHRASES.iter().map(|(w, _)| *w)).collect();
    let colours: Vec<&str> = COLOUR_WORDS.iter().map(|(w, _)| *w).collect();
    format!(
        "objects: {}; colours: {}; filters: source:ID (or camera:ID), case:ID, after:TIME, before:TIME, min-conf:0-1",
        classes.join(", "),
        colours.join(", ")
    )
}

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
const MAX_LOOKBACK_YEARS: i64 = 100;

fn parse_time(
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

/// Parses a query; `now` anchors relative times.
pub fn parse(text: &str, now: DateTime<Utc>) -> Result<Query, QueryError> {
    let mut query = Query::default();
    let mut anything = false;
    let tokens: Vec<&str> = text.split_whitespace().collect();
    // Refusal comes first: a query about a person is refused even if it also names a vehicle.
    for token in &tokens {
        let word = token.to_lowercase();
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
        if PEOPLE_WORDS.contains(&bare) || bare.strip_suffix('s').is_some_and(|s| PEOPLE_WORDS.contains(&s)) {
            return Err(QueryError::Refused { word: token.to_string() });
        }
    }
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        i += 1;
        if let Some((filter, value)) = token.split_once(':') {
            let filter_lower = filter.to_lowercase();
            if value.is_empty() {
                return Err(QueryError::EmptyFilter(filter_lower));
            }
            match filter_lower.as_str() {
                "source" | "camera" | "cam" => {
                    query.sources.insert(value.to_lowercase());
                }
                // Case ids are kept as given: they name objects, and `2026-A` is not `2026-a`.
                "case" => {
                    query.cases.insert(value.to_string());
                }
                "after" | "from" => query.after = Some(parse_time("after", value, now, false)?),
                "before" | "to" | "until" => query.before = Some(parse_time("before", value, now, true)?),
                "min-conf" | "min_conf" | "minconf" => {
                    let v: f32 = value.parse().map_err(|_| QueryError::BadConfidence(value.to_string()))?;
                    if !(0.0..=1.0).contains(&v) {
                        return Err(QueryError::BadConfidence(value.to_string()));
                    }
                    query.min_confidence = Some(v);
                }
                _ => return Err(QueryError::UnknownFilter(filter.to_string())),
            }
            anything = true;
            continue;
        }
        let word = token.to_lowercase().replace('-', " ");
        if let Some(next) = tokens.get(i) {
            let phrase =
                format!("{} {}", word.trim_end_matches('s'), next.to_lowercase().trim_end_matches('s'));
            if let Some(classes) = lookup(PHRASES, &phrase) {
                query.classes.extend(classes);
                anything = true;
                i += 1;
                continue;
            }
        }
        if let Some(classes) = lookup(PHRASES, &word) {
            query.classes.extend(classes);
            anything = true;
            continue;
        }
        let bare = word.replace(' ', "");
        let Some(form) = known_form(&bare) else {
            let word = token.to_string();
            if token.chars().next().is_some_and(char::is_uppercase) {
                return Err(QueryError::UnknownName { word, understood: understood() });
            }
            return Err(QueryError::UnknownWord { word, understood: understood() });
        };
        if let Some(classes) = lookup(CLASS_WORDS, &form) {
            query.classes.extend(classes);
            anything = true;
        } else if let Some(colours) = lookup(COLOUR_WORDS, &form) {
            query.colours.extend(colours);
            anything = true;
        }
    }
    if !anything {
        return Err(QueryError::Empty);
    }
    if let (Some(a), Some(b)) = (query.after, query.before)
        && a > b
    {
        return Err(QueryError::EmptyRange);
    }
    Ok(query)
}

#[cfg(test)]
mod tests;
