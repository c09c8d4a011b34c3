//! No faces, by construction: the one place that decides whether a model class names a face or
//! a head. Such classes are stripped when a model loads, so they can never reach an event, and
//! a manifest that maps one into the taxonomy is refused.

/// Words that make a class name a face or head class, matched against whole words of the name
/// (so `headlight` and `surface` are not faces). Lowercase.
pub const FACE_WORDS: &[&str] = &[
    "face",
    "faces",
    "facial",
    "head",
    "heads",
    "headshot",
    "visage",
    "portrait",
    "selfie",
    "eye",
    "eyes",
    "iris",
    "nose",
    "mouth",
    "lips",
    "ear",
    "ears",
    "beard",
    "moustache",
    "mustache",
    "facemask",
];

/// Whether `class_name` denotes a face or head (case-insensitive, whole words; `camelCase`,
/// `snake_case`, `kebab-case` and spaces all split into words).
pub fn is_face_class(class_name: &str) -> bool {
    words(class_name).any(|w| FACE_WORDS.contains(&w.as_str()))
}

fn words(name: &str) -> impl Iterator<Item = String> + '_ {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            parts.push(std::mem::take(&mut current));
            previous_lower = false;
            continue;
        }
        // camelCase boundary: "humanFace" -> "human", "face".
        if c.is_uppercase() && previous_lower {
            parts.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase();
        current.extend(c.to_lowercase());
    }
    parts.push(current);
    parts.into_iter().filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn face_and_head_classes_are_recognised_in_any_spelling() {
        for name in [
            "face",
            "Face",
            "FACE",
            "human_face",
            "humanFace",
            "person-head",
            "Head",
            "facial landmark",
            "eyes",
            "beard",
        ] {
            assert!(is_face_class(name), "{name}");
        }
    }

    #[test]
    fn vehicle_and_weapon_classes_are_not_faces() {
        for name in [
            "car",
            "headlight",
            "surface",
            "pickup truck",
            "Pistol",
            "rifle",
            "knife",
            "forehead_rest",
            "interface",
            "bus",
        ] {
            assert!(!is_face_class(name), "{name}");
        }
    }

    proptest! {
        // Any class name that contains a face word as a word is caught, whatever surrounds it.
        #[test]
        fn a_face_word_anywhere_is_caught(
            prefix in "[a-z]{0,8}",
            word in proptest::sample::select(FACE_WORDS),
            suffix in "[a-z]{0,8}",
            sep in proptest::sample::select(vec![" ", "_", "-", "/"]),
            upper in any::<bool>(),
        ) {
            let word = if upper { word.to_uppercase() } else { word.to_string() };
            let name = [prefix.as_str(), word.as_str(), suffix.as_str()]
                .iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join(sep);
            prop_assert!(is_face_class(&name), "{}", name);
        }
    }
}
