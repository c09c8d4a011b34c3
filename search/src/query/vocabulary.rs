//! The words the query language understands, and the nearest of them to a word it does not.

use canvass_schemas::{Colour, FrameDirection, ObjectClass};

use ObjectClass::*;

/// Words for classes. "pickup" also matches `truck`: COCO-trained models cannot tell a pickup
/// from a lorry and report both as truck (see the README).
pub(super) const CLASS_WORDS: &[(&str, &[ObjectClass])] = &[
    ("vehicle", &[Car, Pickup, Van, Truck, Bus, Motorcycle, Bicycle]),
    ("car", &[Car]),
    ("sedan", &[Car]),
    ("saloon", &[Car]),
    ("hatchback", &[Car]),
    ("coupe", &[Car]),
    ("taxi", &[Car]),
    ("cab", &[Car]),
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
pub(super) const PHRASES: &[(&str, &[ObjectClass])] = &[
    ("long gun", &[LongGun, Firearm]),
    ("pick up", &[Pickup, Truck]),
    ("pickup truck", &[Pickup, Truck]),
    ("box truck", &[Truck]),
];

pub(super) const COLOUR_WORDS: &[(&str, &[Colour])] = &[
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

/// Compass words and their headings in degrees.
pub(super) const COMPASS_WORDS: &[(&str, f32)] = &[
    ("north", 0.0),
    ("n", 0.0),
    ("northeast", 45.0),
    ("ne", 45.0),
    ("east", 90.0),
    ("e", 90.0),
    ("southeast", 135.0),
    ("se", 135.0),
    ("south", 180.0),
    ("s", 180.0),
    ("southwest", 225.0),
    ("sw", 225.0),
    ("west", 270.0),
    ("w", 270.0),
    ("northwest", 315.0),
    ("nw", 315.0),
];

pub(super) const FRAME_DIRECTION_WORDS: &[(&str, FrameDirection)] = &[
    ("left", FrameDirection::Left),
    ("leftward", FrameDirection::Left),
    ("right", FrameDirection::Right),
    ("rightward", FrameDirection::Right),
    ("towards", FrameDirection::Towards),
    ("toward", FrameDirection::Towards),
    ("approaching", FrameDirection::Towards),
    ("away", FrameDirection::Away),
    ("leaving", FrameDirection::Away),
];

/// Words that say an object stood still: at least this long, in seconds.
pub(super) const STILL_WORDS: &[&str] =
    &["parked", "stationary", "stopped", "idling", "loitering", "waiting"];
pub(super) const STILL_MIN_S: f32 = 60.0;

/// Parts of the day: minutes after midnight, `[start, end)`, wrapping past midnight.
pub(super) const DAY_PARTS: &[(&str, (u32, u32))] = &[
    ("morning", (6 * 60, 12 * 60)),
    ("afternoon", (12 * 60, 18 * 60)),
    ("evening", (18 * 60, 22 * 60)),
    ("night", (22 * 60, 6 * 60)),
    ("overnight", (22 * 60, 6 * 60)),
];

pub(super) const WEEKDAYS: &[&str] =
    &["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// Words that carry no condition: ignored, and listed as ignored.
pub(super) const FILLER_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "any",
    "and",
    "or",
    "with",
    "without",
    "in",
    "on",
    "at",
    "of",
    "by",
    "to",
    "into",
    "onto",
    "from",
    "for",
    "that",
    "which",
    "was",
    "were",
    "is",
    "are",
    "be",
    "been",
    "seen",
    "some",
    "all",
    "show",
    "me",
    "find",
    "search",
    "look",
    "looking",
    "heading",
    "headed",
    "going",
    "moving",
    "driving",
    "travelling",
    "traveling",
    "riding",
    "coloured",
    "colored",
    "colour",
    "color",
    "type",
    "kind",
    "like",
    "around",
    "about",
    "during",
    "this",
    "last",
    "past",
    "bound",
];

/// Words about people, their bodies or identity: refused, whatever else the query says.
pub(super) const PEOPLE_WORDS: &[&str] = &[
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
    "guy",
    "lady",
    "someone",
    "somebody",
];

pub(super) fn lookup<'a, T>(table: &'a [(&str, T)], word: &str) -> Option<&'a T> {
    table.iter().find(|(w, _)| *w == word).map(|(_, v)| v)
}

/// Every word a typo could have meant (filler and one-letter compass words are left out: too
/// short to suggest).
fn suggestible() -> impl Iterator<Item = &'static str> {
    CLASS_WORDS
        .iter()
        .map(|(w, _)| *w)
        .chain(COLOUR_WORDS.iter().map(|(w, _)| *w))
        .chain(COMPASS_WORDS.iter().map(|(w, _)| *w).filter(|w| w.len() > 2))
        .chain(FRAME_DIRECTION_WORDS.iter().map(|(w, _)| *w))
        .chain(STILL_WORDS.iter().copied())
        .chain(DAY_PARTS.iter().map(|(w, _)| *w))
        .chain(WEEKDAYS.iter().copied())
        .chain(["today", "yesterday", "weekdays", "weekend", "near", "between"])
}

/// Edit distance with transpositions (optimal string alignment), on characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The known word `word` most likely misspells: one edit away for short words, two for long
/// ones; `None` when nothing is that close.
pub(super) fn nearest(word: &str) -> Option<&'static str> {
    let word = word.to_lowercase();
    let length = word.chars().count();
    if length < 3 {
        return None;
    }
    let allowed = if length <= 5 { 1 } else { 2 };
    suggestible()
        .map(|known| (edit_distance(&word, known), known))
        .filter(|(d, _)| *d <= allowed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, known)| known)
}

/// A word that names exactly these classes, for saying what a query asked for.
pub(super) fn name_of(classes: &std::collections::BTreeSet<ObjectClass>) -> String {
    let exact =
        CLASS_WORDS.iter().find(|(_, c)| c.len() == classes.len() && c.iter().all(|k| classes.contains(k)));
    match exact {
        Some((word, _)) => word.to_string(),
        None => classes.iter().map(canvass_schemas::wire_name).collect::<Vec<_>>().join(" or "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_word_meant() {
        assert_eq!(nearest("pikcup"), Some("pickup"));
        assert_eq!(nearest("pickpu"), Some("pickup"));
        assert_eq!(nearest("yelow"), Some("yellow"));
        assert_eq!(nearest("motorcyle"), Some("motorcycle"));
        assert_eq!(nearest("yesterdy"), Some("yesterday"));
        assert_eq!(nearest("zeppelin"), None);
        assert_eq!(nearest("ab"), None, "too short to guess");
    }

    #[test]
    fn class_sets_have_a_name() {
        assert_eq!(name_of(&[Firearm, Handgun, LongGun].into()), "firearm");
        assert_eq!(name_of(&[Pickup, Truck].into()), "pickup");
        assert_eq!(name_of(&[Car, Knife].into()), "car or knife");
    }
}
