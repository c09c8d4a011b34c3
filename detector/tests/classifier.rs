//! The crop classifier stage with the real classifier (Open Model Zoo vehicle attributes 0039):
//! its manifest, the model on hand-labelled crops, and the detector folding its answers into
//! events.

mod common;

use canvass_detector::classifier::{Classifier, ClassifierManifest};
use canvass_detector::pipeline::default_min_attribute_box_px;
use canvass_detector::{Detector, DetectorConfig, DetectorError};
use canvass_schemas::{Colour, FrameHeader, FrameMessage, ImageEncoding, ObjectClass, WallClockSource};
use common::{assets, repo};

fn manifest() -> ClassifierManifest {
    ClassifierManifest::load(&repo().join("models/vehicle_attributes_0039.toml")).unwrap()
}

fn image(name: &str) -> image::RgbImage {
    image::open(assets().join("media/images").join(name)).unwrap().to_rgb8()
}

fn crop(img: &image::RgbImage, b: [u32; 4]) -> image::RgbImage {
    image::imageops::crop_imm(img, b[0], b[1], b[2] - b[0], b[3] - b[1]).to_image()
}

#[test]
fn the_classifier_names_the_white_pickup_white_and_the_taxi_yellow() {
    let mut classifier = Classifier::load(manifest(), &assets().join("models"), 1).unwrap();
    // Boxes drawn by hand (see real_models.rs).
    let pickup = crop(&image("dog.jpg"), [465, 75, 695, 170]);
    let taxi = crop(&image("street.png"), [118, 470, 438, 612]);
    let answers = classifier.classify(&[&pickup, &taxi]).unwrap();
    let top = |scores: [f32; 11]| {
        let best = scores.iter().copied().enumerate().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
        Colour::ALL[best]
    };
    let (pickup_colours, weight) = answers[0].colour.unwrap();
    assert_eq!(weight, 0.3);
    assert_eq!(top(pickup_colours), Colour::White, "{pickup_colours:?}");
    assert_eq!(top(answers[1].colour.unwrap().0), Colour::Yellow, "{:?}", answers[1]);
    let (class, score, _) = answers[0].body_type.unwrap();
    assert!([ObjectClass::Truck, ObjectClass::Car, ObjectClass::Van, ObjectClass::Bus].contains(&class));
    assert!((0.0..=1.0).contains(&score));
}

#[test]
fn a_classifier_manifest_that_maps_an_unknown_name_or_is_another_kind_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("models/vehicle_attributes_0039.toml")).unwrap();
    for (broken, why) in [
        (text.replace("gray = \"grey\"", "gray = \"silverish\""), "not a canvass name"),
        (text.replace("kind = \"classifier\"", "kind = \"detector\""), "expected \"classifier\""),
        (text.replace("map = { car = \"car\"", "map = { sedan = \"car\""), "not one of its labels"),
    ] {
        let path = dir.path().join("broken.toml");
        std::fs::write(&path, broken).unwrap();
        let err = ClassifierManifest::load(&path).unwrap_err().to_string();
        assert!(err.contains(why), "{err}");
    }
    // An output the model does not have fails at load, naming it.
    let mut wrong = manifest();
    wrong.outputs[0].name = "colour_logits".into();
    let Err(err) = Classifier::load(wrong, &assets().join("models"), 1) else { panic!("loaded") };
    assert!(
        matches!(err, DetectorError::ModelLoad { .. }) && err.to_string().contains("colour_logits"),
        "{err}"
    );
}

/// dog.jpg as `n` frames half a second apart.
fn frames(n: u64) -> Vec<FrameMessage> {
    let img = image("dog.jpg");
    (0..n)
        .map(|sequence| FrameMessage {
            header: FrameHeader {
                schema_version: canvass_schemas::FRAME_SCHEMA_VERSION,
                source_id: "dog-cam".into(),
                input: "dog.jpg".into(),
                sequence,
                media_time_us: sequence as i64 * 500_000,
                wall_time: "2026-11-20T08:00:00Z".parse().unwrap(),
                wall_clock_source: WallClockSource::Operator,
                original_width: img.width(),
                original_height: img.height(),
                width: img.width(),
                height: img.height(),
                encoding: ImageEncoding::Rgb24,
                encoded_bytes: img.as_raw().len() as u32,
            },
            image: img.as_raw().clone(),
        })
        .collect()
}

fn detector(classifiers: Vec<std::path::PathBuf>) -> Detector {
    let models = repo().join("models");
    Detector::new(DetectorConfig {
        models_dir: assets().join("models"),
        manifests: vec![models.join("yolox_nano_coco.toml")],
        intra_threads: 0,
        tracker: Default::default(),
        motion: canvass_detector::MotionConfig::default(),
        scenes: Default::default(),
        classifiers,
        min_attribute_box_px: default_min_attribute_box_px(),
    })
    .unwrap()
}

#[test]
fn events_carry_the_classifiers_answers_fused_with_the_colour_namer() {
    let run = |classifiers| {
        let mut d = detector(classifiers);
        let mut events: Vec<_> = d.process_batch(&frames(3)).unwrap().events;
        events.extend(d.finish());
        events.into_iter().map(|e| e.event).collect::<Vec<_>>()
    };
    let plain = run(Vec::new());
    let classified = run(vec![repo().join("models/vehicle_attributes_0039.toml")]);
    assert_eq!(plain.len(), classified.len());
    // The event whose best box is the hand-drawn pickup box (465, 75)-(695, 170) of 768x576.
    let pickup = |events: &[canvass_schemas::DetectionEvent]| {
        let truth = [465.0 / 768.0, 75.0 / 576.0, 695.0 / 768.0, 170.0 / 576.0];
        let overlap = |e: &canvass_schemas::DetectionEvent| {
            let b = &e.best_frame.bbox;
            canvass_detector::nms::iou([b.x, b.y, b.x + b.width, b.y + b.height], truth)
        };
        events.iter().find(|e| overlap(e) >= 0.5).cloned().unwrap_or_else(|| panic!("no pickup: {events:#?}"))
    };
    let (before, after) = (pickup(&plain), pickup(&classified));
    assert!(before.attributes.body_type.is_none());
    let body = after.attributes.body_type.as_ref().expect("the classifier read the pickup's crop");
    assert_eq!(body.model, "vehicle-attributes-0039");
    assert_eq!(after.attributes.colour.as_ref().unwrap().value, Colour::White, "{:?}", after.attributes);
    // Fused: the distribution changed, and still sums to at most 1.
    assert_ne!(before.attributes.colours, after.attributes.colours);
    assert!(after.attributes.colours.iter().map(|c| c.score).sum::<f32>() <= 1.0 + 1e-4);
    // A body type below the manifest's min_score leaves the detector's class.
    if body.score < 0.8 {
        assert_eq!(after.class, before.class);
    } else {
        assert_eq!(after.class, body.value);
    }
    // The event id does not change with what the classifier said.
    assert_eq!(after.event_id, before.event_id);
}
