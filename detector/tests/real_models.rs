//! The real models on real images and footage, with boxes labelled by hand.

mod common;

use canvass_detector::colour::{exposure_reference, vehicle_colour};
use canvass_detector::nms::iou;
use canvass_detector::{DetectorError, Model, RawDetection};
use canvass_schemas::{Colour, ObjectClass};
use common::{assets, load, manifest};

fn image(name: &str) -> image::RgbImage {
    image::open(assets().join("media/images").join(name)).unwrap().to_rgb8()
}

/// Boxes drawn by hand on a 50 px grid over the images.
const DOG_PICKUP: [f32; 4] = [465.0, 75.0, 695.0, 170.0];
const DOG_BICYCLE: [f32; 4] = [125.0, 138.0, 568.0, 420.0];
const STREET_TAXI: [f32; 4] = [118.0, 470.0, 438.0, 612.0];

fn find(dets: &[RawDetection], classes: &[ObjectClass], truth: [f32; 4]) -> Option<f32> {
    dets.iter().filter(|d| classes.contains(&d.class)).map(|d| iou(d.bbox, truth)).reduce(f32::max)
}

#[test]
fn vehicle_models_find_the_pickup_and_the_bicycle_in_dog_jpg() {
    let dog = image("dog.jpg");
    for name in ["yolox_nano_coco.toml", "picodet_s_416_coco.toml"] {
        let dets = load(name).detect(&dog).unwrap();
        let vehicle = find(&dets, &[ObjectClass::Car, ObjectClass::Pickup, ObjectClass::Truck], DOG_PICKUP);
        assert!(vehicle.is_some_and(|v| v >= 0.5), "{name}: pickup IoU {vehicle:?} in {dets:?}");
        let bicycle = find(&dets, &[ObjectClass::Bicycle], DOG_BICYCLE);
        assert!(bicycle.is_some_and(|v| v >= 0.5), "{name}: bicycle IoU {bicycle:?} in {dets:?}");
        assert!(
            dets.iter().all(|d| d.class.category() == canvass_schemas::Category::Vehicle),
            "{name}: no dog, no person"
        );
    }
}

#[test]
fn vehicle_colours_on_real_crops() {
    let dog = image("dog.jpg");
    let street = image("street.png");
    // The black SUV behind the taxi in street.png is left out: the taxi covers half of its box
    // and its colour comes out yellow, a known limitation (README).
    let cases = [(&dog, DOG_PICKUP, Colour::White), (&street, STREET_TAXI, Colour::Yellow)];
    for (img, bbox, expected) in cases {
        let got = vehicle_colour(img, bbox, exposure_reference(img)).unwrap().top;
        assert_eq!(got.value, expected, "{bbox:?}: {got:?}");
        assert!(got.confidence > 0.3, "{got:?}");
    }
    // The taxi is amber: named yellow, and "orange" finds it too, with a smaller share.
    let taxi = vehicle_colour(&street, STREET_TAXI, exposure_reference(&street)).unwrap().scores;
    let (orange, yellow) = (taxi[1], taxi[2]);
    assert!(
        orange >= canvass_schemas::MIN_COLOUR_SCORE && orange < yellow,
        "orange {orange}, yellow {yellow}: {taxi:?}"
    );
}

#[test]
fn weapon_model_sees_no_weapon_in_dog_jpg() {
    let dets = load("arcis_ultralight_weapons_256.toml").detect(&image("dog.jpg")).unwrap();
    assert!(dets.is_empty(), "{dets:?}");
}

#[test]
fn a_broken_model_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = b"this is not an onnx model".to_vec();
    std::fs::create_dir_all(dir.path().join("coco")).unwrap();
    std::fs::write(dir.path().join("coco/yolox_nano.onnx"), &bytes).unwrap();
    let mut m = manifest("yolox_nano_coco.toml");
    m.sha256 = canvass_detector::model::sha256_hex(&bytes);
    let Err(err) = Model::load(m, dir.path(), 1) else { panic!("a text file loaded as a model") };
    let text = err.to_string();
    assert!(text.contains("yolox-nano-coco") && text.contains("onnxruntime cannot load it"), "{text}");
}

#[test]
fn a_file_that_is_not_the_manifests_model_is_refused() {
    let m = manifest("yolox_nano_coco.toml");
    let mut wrong = m.clone();
    wrong.file = "coco/picodet_s_416_coco.onnx".into();
    let Err(err) = Model::load(wrong, &assets().join("models"), 1) else { panic!("checksum not checked") };
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
}

#[test]
fn manifest_class_names_must_match_the_models_own() {
    let mut m = manifest("arcis_ultralight_weapons_256.toml");
    m.classes.swap(1, 3);
    let Err(err) = Model::load(m, &assets().join("models"), 1) else { panic!("names not checked") };
    assert!(err.to_string().contains("differ from the manifest"), "{err}");
}

#[test]
fn a_manifest_with_the_wrong_class_count_fails_with_the_expected_shape() {
    let mut m = manifest("yolox_nano_coco.toml");
    m.classes.pop();
    let mut model = Model::load(m, &assets().join("models"), 1).unwrap();
    let err = model.detect(&image("dog.jpg")).unwrap_err();
    assert!(matches!(err, DetectorError::Inference { .. }));
    assert!(err.to_string().contains("expected [3549, 84]"), "{err}");
}

#[test]
fn face_classes_never_come_out_of_a_real_model() {
    // Rename COCO's classes so that "car" (index 2) is called "face": it must be stripped even
    // though the model detects that class in dog.jpg.
    let mut m = manifest("yolox_nano_coco.toml");
    m.classes[2] = "face".into();
    m.taxonomy.remove("car");
    let mut model = Model::load(m, &assets().join("models"), 1).unwrap();
    assert_eq!(model.class_map.stripped, vec!["face".to_string()]);
    let dets = model.detect(&image("dog.jpg")).unwrap();
    assert!(dets.iter().all(|d| d.model_class != "face"), "{dets:?}");
    assert!(!dets.is_empty(), "the other classes still work");
}

/// The frame of `clip` nearest `at_s`, at full size, through the real ingest stage.
fn frame_at(clip: &str, at_s: f64) -> image::RgbImage {
    let config = canvass_ingest::IngestConfig { fps: 0.0, max_side: 0, ..Default::default() };
    let target = (at_s * 1e6) as i64;
    let frames = common::frames_of(clip, &config);
    let nearest = frames.iter().min_by_key(|f| (f.header.media_time_us - target).abs()).unwrap();
    image::load_from_memory(&nearest.image).unwrap().to_rgb8()
}

#[test]
fn vehicle_colours_on_overhead_footage() {
    // car-detection.mp4 at 16 s, boxes drawn by hand on a 50 px grid: a red car and a silver car.
    let frame = frame_at("car-detection.mp4", 16.0);
    let exposure = exposure_reference(&frame);
    let red = vehicle_colour(&frame, [318.0, 218.0, 495.0, 432.0], exposure).unwrap().top;
    assert_eq!(red.value, Colour::Red, "{red:?}");
    // Light silver in direct sun: white and grey are both fair answers, a hue is not.
    let silver = vehicle_colour(&frame, [112.0, 0.0, 262.0, 252.0], exposure).unwrap().top;
    assert!(matches!(silver.value, Colour::Grey | Colour::White), "{silver:?}");
}
