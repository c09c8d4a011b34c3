//! The detection event: one object's appearance in one source, from first to last sighting.
//! Schema: schemas/json/detection_event.v3.json. Older versions stay published beside it and
//! read as events without what they lacked: v1 had no `case` and `evidence_sha256`, v2 no
//! colour distribution, body type or motion.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of `DetectionEvent`; bump on any incompatible change and keep the old JSON schema file.
pub const EVENT_SCHEMA_VERSION: u32 = 3;

/// Top level of canvass's taxonomy. There is deliberately no person or face category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Vehicle,
    Weapon,
}

/// Leaf classes of the taxonomy; a model's classes map into these or are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectClass {
    Car,
    Pickup,
    Van,
    Truck,
    Bus,
    Motorcycle,
    Bicycle,
    /// A firearm the model could not tell apart further.
    Firearm,
    Handgun,
    LongGun,
    Knife,
    OtherWeapon,
}

impl ObjectClass {
    /// Every class, in taxonomy order (what the query language and docs enumerate).
    pub const ALL: [ObjectClass; 12] = {
        use ObjectClass::*;
        [Car, Pickup, Van, Truck, Bus, Motorcycle, Bicycle, Firearm, Handgun, LongGun, Knife, OtherWeapon]
    };

    pub fn category(self) -> Category {
        match self {
            Self::Car
            | Self::Pickup
            | Self::Van
            | Self::Truck
            | Self::Bus
            | Self::Motorcycle
            | Self::Bicycle => Category::Vehicle,
            Self::Firearm | Self::Handgun | Self::LongGun | Self::Knife | Self::OtherWeapon => {
                Category::Weapon
            }
        }
    }

    /// The full taxonomy label, e.g. `weapon/firearm/handgun`.
    pub fn taxonomy_label(self) -> &'static str {
        match self {
            Self::Car => "vehicle/car",
            Self::Pickup => "vehicle/pickup",
            Self::Van => "vehicle/van",
            Self::Truck => "vehicle/truck",
            Self::Bus => "vehicle/bus",
            Self::Motorcycle => "vehicle/motorcycle",
            Self::Bicycle => "vehicle/bicycle",
            Self::Firearm => "weapon/firearm",
            Self::Handgun => "weapon/firearm/handgun",
            Self::LongGun => "weapon/firearm/long_gun",
            Self::Knife => "weapon/knife",
            Self::OtherWeapon => "weapon/other",
        }
    }
}

/// The named colour palette for vehicles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    Red,
    Orange,
    Yellow,
    Green,
    Blue,
    Purple,
    Pink,
    Brown,
    White,
    /// Grey or silver.
    Grey,
    Black,
}

impl Colour {
    /// Every colour, in palette order (the order of the lake's `colour_<name>` columns).
    pub const ALL: [Colour; 11] = {
        use Colour::*;
        [Red, Orange, Yellow, Green, Blue, Purple, Pink, Brown, White, Grey, Black]
    };

    /// The colour's place in `ALL` (and in the lake's `colour_<name>` columns).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the colour is a hue (paint) rather than white, grey or black.
    pub fn is_chromatic(self) -> bool {
        !matches!(self, Colour::White | Colour::Grey | Colour::Black)
    }
}

/// An attribute value with the confidence the detector has in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColourAttribute {
    pub value: Colour,
    /// 0..=1
    pub confidence: f32,
}

/// A colour answers a query when it holds at least this share of the event's distribution: an
/// orange-red taxi is found by "orange" and by "red", a grey car's red tail lights by neither.
pub const MIN_COLOUR_SCORE: f32 = 0.2;

/// One colour of a distribution and its share, 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColourScore {
    pub colour: Colour,
    pub score: f32,
}

/// A body type named by a crop classifier, with its score (since v3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BodyType {
    pub value: ObjectClass,
    pub score: f32,
    /// The classifier's name (from its manifest).
    pub model: String,
}

/// Which way the object moved across the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FrameDirection {
    Left,
    Right,
    /// Towards the camera (growing, moving down the frame).
    Towards,
    /// Away from the camera (shrinking, moving up the frame).
    Away,
}

/// What the object did in a named zone of the camera's view (polygons in the registry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneVisit {
    pub zone: String,
    /// Seen outside the zone, then inside.
    pub entered: bool,
    /// Seen inside the zone, then outside.
    pub left: bool,
}

/// How the object moved over its track (since v3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Motion {
    /// Frame-relative direction of travel; absent for an object that did not move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<FrameDirection>,
    /// Compass heading of travel in degrees (0 north, 90 east), when the registry gives the
    /// camera's heading and the object moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<f32>,
    /// Speed in the object's own lengths per second (frame-relative: no calibration needed).
    pub speed: f32,
    /// Longest time the object stood still, in seconds.
    pub dwell_s: f32,
    /// Zones the object was seen inside.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<ZoneVisit>,
}

/// Attributes of the object beyond its class. Absent when not applicable (weapons have no colour).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attributes {
    /// The colour the vehicle is named: the colour namer's answer (a paint colour wins once it
    /// holds 30% of the votes, over the greys of glass and shadow), or with a crop classifier
    /// the first of the fused distribution. `colours` can order differently when paint and
    /// greys are close; search matches and ranks by `colours`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<ColourAttribute>,
    /// The colour distribution, best first, scores summing to at most 1 (since v3): a near
    /// miss (an orange-red taxi named red) still answers "orange" with its share.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub colours: Vec<ColourScore>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_type: Option<BodyType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion: Option<Motion>,
}

impl Attributes {
    /// The score of `colour` in the distribution; for an event without one (v2), 1 for its
    /// single colour and 0 for the others.
    pub fn colour_score(&self, colour: Colour) -> f32 {
        if self.colours.is_empty() {
            return self.colour.as_ref().filter(|c| c.value == colour).map_or(0.0, |_| 1.0);
        }
        self.colours.iter().find(|c| c.colour == colour).map_or(0.0, |c| c.score)
    }
}

/// A distribution from per-colour scores in palette order (`Colour::ALL`): the colours with a
/// share of at least 0.01, best first (ties in palette order), as events and the lake hold it.
pub fn colour_distribution(scores: [f32; 11]) -> Vec<ColourScore> {
    let mut out: Vec<ColourScore> = Colour::ALL
        .iter()
        .zip(scores)
        .filter(|(_, score)| *score >= 0.01)
        .map(|(&colour, score)| ColourScore { colour, score })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.colour.cmp(&b.colour)));
    out
}

/// Zone names: 1 to 64 lowercase letters, digits, `-` and `_` (they are query words and a
/// lake column's separators stay free).
pub fn valid_zone_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The inverse of `colour_distribution`: per-colour scores in palette order.
pub fn colour_scores(distribution: &[ColourScore]) -> [f32; 11] {
    let mut scores = [0f32; 11];
    for c in distribution {
        scores[c.colour.index()] = c.score;
    }
    scores
}

/// The smallest angle between two compass headings, in degrees.
pub fn heading_difference(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

/// Axis-aligned box in the frame, normalised to 0..=1 of the frame's width and height so it
/// holds for the original video whatever size the detector saw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BoundingBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

/// The frame in which the object was seen best, used for the thumbnail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BestFrame {
    pub sequence: u64,
    pub media_time_us: i64,
    pub bbox: BoundingBox,
    pub confidence: f32,
}

/// Which model produced the event; reprocessing with a newer model yields new event ids.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    pub name: String,
    pub version: String,
    /// SHA-256 of the model file, lowercase hex.
    pub sha256: String,
}

/// One object's appearance in one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectionEvent {
    /// Always `EVENT_SCHEMA_VERSION` for this type.
    pub schema_version: u32,
    /// Deterministic: see `EventId::derive`. Re-running the same input with the same model
    /// yields the same id, which makes writes idempotent.
    pub event_id: String,
    pub source_id: String,
    /// File path or stream URL, without credentials.
    pub input: String,
    pub category: Category,
    pub class: ObjectClass,
    /// `class` as a taxonomy path, e.g. `vehicle/pickup`.
    pub taxonomy_label: String,
    /// The model's own class name that was mapped to `class`.
    pub model_class: String,
    pub attributes: Attributes,
    /// Highest per-frame confidence over the track.
    pub confidence: f32,
    pub mean_confidence: f32,
    /// Number of sampled frames the object was detected in.
    pub frames: u32,
    pub media_start_us: i64,
    pub media_end_us: i64,
    pub wall_start: DateTime<Utc>,
    pub wall_end: DateTime<Utc>,
    pub best_frame: BestFrame,
    /// Object-store key of the JPEG thumbnail of the best frame.
    pub thumbnail_key: String,
    pub model: ModelRef,
    /// The case the footage is evidence of, when it was ingested under one (since v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// SHA-256 of the stored original the event was found in (since v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_sha256: Option<String>,
}

/// Derives event ids.
pub struct EventId;

impl EventId {
    /// Same source and input, same model file, same class, same first sighting: same id.
    /// `ordinal` tells apart objects of one class that first appear in the same frame (their
    /// order among that frame's detections). 32 hex chars (128 bits of SHA-256) keep collisions
    /// out of reach for any realistic lake.
    pub fn derive(
        source_id: &str,
        input: &str,
        model_sha256: &str,
        class: ObjectClass,
        first_sequence: u64,
        ordinal: u32,
    ) -> String {
        let mut hasher = Sha256::new();
        // Length-prefix the strings so ("ab","c") and ("a","bc") cannot collide.
        for part in [source_id, input, model_sha256, class.taxonomy_label()] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.update(first_sequence.to_be_bytes());
        hasher.update(ordinal.to_be_bytes());
        let digest = hasher.finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_id_is_stable_and_sensitive_to_every_part() {
        let id =
            |s: &str, i: &str, m: &str, c: ObjectClass, seq: u64, o: u32| EventId::derive(s, i, m, c, seq, o);
        let base = id("cam1", "a.mp4", "abc", ObjectClass::Car, 10, 0);
        assert_eq!(base.len(), 32);
        assert_eq!(base, id("cam1", "a.mp4", "abc", ObjectClass::Car, 10, 0));
        assert_ne!(base, id("cam2", "a.mp4", "abc", ObjectClass::Car, 10, 0));
        assert_ne!(base, id("cam1", "b.mp4", "abc", ObjectClass::Car, 10, 0));
        assert_ne!(base, id("cam1", "a.mp4", "abd", ObjectClass::Car, 10, 0));
        assert_ne!(base, id("cam1", "a.mp4", "abc", ObjectClass::Van, 10, 0));
        assert_ne!(base, id("cam1", "a.mp4", "abc", ObjectClass::Car, 11, 0));
        assert_ne!(base, id("cam1", "a.mp4", "abc", ObjectClass::Car, 10, 1));
        assert_ne!(id("ab", "", "c", ObjectClass::Car, 0, 0), id("a", "", "bc", ObjectClass::Car, 0, 0));
    }

    /// String values a JSON schema allows, from its `enum` lists and `const`s at any depth.
    fn allowed_strings(schema: &serde_json::Value, out: &mut Vec<String>) {
        match schema {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(c)) = map.get("const") {
                    out.push(c.clone());
                }
                if let Some(serde_json::Value::Array(values)) = map.get("enum") {
                    out.extend(values.iter().filter_map(|v| v.as_str().map(str::to_string)));
                }
                map.values().for_each(|v| allowed_strings(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| allowed_strings(v, out)),
            _ => {}
        }
    }

    #[test]
    fn all_lists_every_class_once() {
        // A new variant must be added to ALL: the JSON schema enumerates every variant.
        let schema = schemars::schema_for!(ObjectClass).to_value();
        let mut in_schema = Vec::new();
        allowed_strings(&schema, &mut in_schema);
        in_schema.sort();
        let mut in_all: Vec<String> = ObjectClass::ALL
            .iter()
            .map(|c| serde_json::to_value(c).unwrap().as_str().unwrap().to_string())
            .collect();
        in_all.sort();
        assert_eq!(in_all, in_schema);
    }

    #[test]
    fn colours_index_their_place_in_the_palette_and_distributions_invert() {
        for (i, colour) in Colour::ALL.iter().enumerate() {
            assert_eq!(colour.index(), i, "{colour:?}");
        }
        let mut scores = [0f32; 11];
        scores[1] = 0.6;
        scores[9] = 0.3;
        assert_eq!(colour_scores(&colour_distribution(scores)), scores);
    }

    #[test]
    fn taxonomy_labels_start_with_their_category() {
        for class in ObjectClass::ALL {
            let category = serde_json::to_value(class.category()).unwrap();
            let prefix = format!("{}/", category.as_str().unwrap());
            assert!(class.taxonomy_label().starts_with(&prefix), "{class:?}");
        }
    }
}
