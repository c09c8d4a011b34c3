use proptest::prelude::*;

use super::*;
use crate::face_filter::FACE_WORDS;

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn parse_manifest(classes: &[String], taxonomy: &[(String, &str)]) -> Result<Manifest, ManifestError> {
    let classes = classes.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", ");
    let taxonomy: String = taxonomy.iter().map(|(k, v)| format!("{k:?} = \"{v}\"\n")).collect();
    let text = format!(
        r#"name = "m"
version = "1"
role = "vehicle"
file = "m.onnx"
sha256 = "00"
url = "-"
licence = "test"
classes = [{classes}]
[input]
name = "images"
width = 32
height = 32
colour_order = "rgb"
resize = "stretch"
scale = 1.0
mean = [0.0, 0.0, 0.0]
std = [1.0, 1.0, 1.0]
[output]
format = "yolox"
strides = [8]
[taxonomy]
{taxonomy}[thresholds]
default = 0.5
"#
    );
    Manifest::parse(&text, Path::new("m.toml"))
}

#[test]
fn shipped_manifests_load_and_map_the_expected_classes() {
    let yolox = Manifest::load(&models_dir().join("yolox_nano_coco.toml")).unwrap();
    assert_eq!(yolox.classes.len(), 80);
    let map = yolox.class_map();
    assert_eq!(map.get(2), Some(ObjectClass::Car));
    assert_eq!(map.get(3), Some(ObjectClass::Motorcycle));
    assert_eq!(map.get(7), Some(ObjectClass::Truck));
    assert_eq!(map.get(0), None, "person is not in the taxonomy");
    let weapons = Manifest::load(&models_dir().join("arcis_ultralight_weapons_256.toml")).unwrap();
    let map = weapons.class_map();
    assert_eq!(map.get(1), Some(ObjectClass::Handgun));
    assert_eq!(map.get(3), Some(ObjectClass::LongGun));
    assert_eq!(weapons.threshold("weapon"), 0.55);
    assert_eq!(weapons.threshold("Pistol"), 0.5);
    Manifest::load(&models_dir().join("picodet_s_416_coco.toml")).unwrap();
}

#[test]
fn a_manifest_that_maps_a_face_class_is_refused() {
    let classes = vec!["car".to_string(), "human face".to_string()];
    let err = parse_manifest(&classes, &[("human face".into(), "car")]).unwrap_err();
    assert!(matches!(err, ManifestError::FaceClassMapped { .. }), "{err}");
    assert!(err.to_string().contains("face or head"), "{err}");
}

#[test]
fn a_manifest_that_maps_a_missing_class_is_refused() {
    let err = parse_manifest(&["car".to_string()], &[("lorry".into(), "truck")]).unwrap_err();
    assert!(matches!(err, ManifestError::UnknownClass { .. }), "{err}");
}

proptest! {
    // Whatever classes a model declares, and however many of them are faces, the class map
    // never turns a face class into a canvass class.
    #[test]
    fn no_face_class_ever_maps_to_a_label(
        names in proptest::collection::vec(
            prop_oneof![
                "[a-z]{3,10}".prop_map(|s| s),
                proptest::sample::select(FACE_WORDS).prop_map(|w| format!("person {w}")),
                proptest::sample::select(FACE_WORDS).prop_map(|w| w.to_uppercase()),
            ],
            1..40,
        ),
        mapped in proptest::collection::vec(any::<bool>(), 40),
    ) {
        let taxonomy: Vec<(String, &str)> = names
            .iter()
            .zip(&mapped)
            .filter(|(n, m)| **m && !is_face_class(n))
            .map(|(n, _)| (n.clone(), "car"))
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();
        let manifest = parse_manifest(&names, &taxonomy).unwrap();
        let map = manifest.class_map();
        for (i, name) in names.iter().enumerate() {
            if is_face_class(name) {
                prop_assert_eq!(map.get(i), None, "{}", name);
                prop_assert!(map.stripped.contains(name));
            }
        }
    }
}
