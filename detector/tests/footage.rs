//! The whole detector stage on real footage, fed by the real ingest stage.

mod common;

use canvass_detector::track::TrackerConfig;
use canvass_detector::{DetectedEvent, Detector, DetectorConfig};
use canvass_ingest::IngestConfig;
use canvass_schemas::{Category, Colour, ObjectClass};
use common::{assets, repo};

fn frames_of(clip: &str) -> Vec<canvass_schemas::FrameMessage> {
    common::frames_of(clip, &IngestConfig::default())
}

fn detector() -> Detector {
    let models = repo().join("models");
    Detector::new(DetectorConfig {
        models_dir: assets().join("models"),
        manifests: vec![
            models.join("yolox_nano_coco.toml"),
            models.join("arcis_ultralight_weapons_256.toml"),
        ],
        intra_threads: 0,
        tracker: TrackerConfig::default(),
        motion: canvass_detector::MotionConfig::default(),
        scenes: Default::default(),
        classifiers: Vec::new(),
        min_attribute_box_px: canvass_detector::pipeline::default_min_attribute_box_px(),
    })
    .unwrap()
}

fn run(clip: &str) -> Vec<DetectedEvent> {
    let mut detector = detector();
    let mut events = Vec::new();
    for frame in frames_of(clip) {
        events.extend(detector.process(&frame).unwrap());
    }
    events.extend(detector.finish());
    events
}

#[test]
fn weapon_model_finds_the_pistol_in_at_least_one_sampled_frame() {
    let mut weapons = common::load("arcis_ultralight_weapons_256.toml");
    let mut hits = 0;
    for frame in frames_of("pistol_range.mp4") {
        let image = image::load_from_memory(&frame.image).unwrap().to_rgb8();
        let dets = weapons.detect(&image).unwrap();
        hits += dets.iter().any(|d| matches!(d.class, ObjectClass::Handgun | ObjectClass::Firearm)) as usize;
    }
    assert!(hits >= 1, "no pistol found in any sampled frame");
}

#[test]
fn the_drawn_pistol_becomes_one_firearm_event() {
    let events = run("pistol_range.mp4");
    let weapons: Vec<_> = events.iter().filter(|e| e.event.category == Category::Weapon).collect();
    assert_eq!(weapons.len(), 1, "{weapons:?}");
    let ev = &weapons[0].event;
    assert!(matches!(ev.class, ObjectClass::Firearm | ObjectClass::Handgun), "{:?}", ev.class);
    // The pistol is drawn about 3.5 s in and stays in view to the end (6.8 s).
    assert!(
        ev.media_start_us >= 2_000_000 && ev.media_end_us >= 5_500_000,
        "{}..{}",
        ev.media_start_us,
        ev.media_end_us
    );
    assert!(ev.attributes.colour.is_none(), "weapons have no colour");
}

#[test]
fn traffic_clip_yields_vehicle_events_and_no_firearm() {
    let events = run("opencv4nodejs_traffic.mp4");
    for e in &events {
        let ev = &e.event;
        println!(
            "{:?} {} frames={} conf={:.2} mean={:.2} {}..{} {:?}",
            ev.class,
            ev.model_class,
            ev.frames,
            ev.confidence,
            ev.mean_confidence,
            ev.media_start_us,
            ev.media_end_us,
            ev.attributes.colour
        );
    }
    assert!(events.iter().all(|e| e.event.category != Category::Weapon), "weapon events on a road at dusk");
    let ids: std::collections::HashSet<_> = events.iter().map(|e| &e.event.event_id).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique");
    let vehicles: Vec<_> = events.iter().filter(|e| e.event.category == Category::Vehicle).collect();
    assert!(vehicles.len() >= 3, "{} vehicle events", vehicles.len());
    for e in &vehicles {
        let ev = &e.event;
        assert!(
            ev.media_start_us <= ev.best_frame.media_time_us
                && ev.best_frame.media_time_us <= ev.media_end_us
        );
        assert!(ev.wall_start <= ev.wall_end);
        assert!(!e.thumbnail.is_empty() && e.thumbnail[..2] == [0xff, 0xd8], "JPEG thumbnail");
        let b = ev.best_frame.bbox;
        assert!(b.x >= 0.0 && b.y >= 0.0 && b.x + b.width <= 1.0001 && b.y + b.height <= 1.0001, "{b:?}");
    }
    assert!(
        vehicles.iter().any(|e| e.event.attributes.colour.as_ref().is_some_and(|c| c.value == Colour::White)),
        "the white car"
    );
    assert!(
        vehicles.iter().any(|e| e
            .event
            .attributes
            .colour
            .as_ref()
            .is_some_and(|c| matches!(c.value, Colour::Black | Colour::Grey))),
        "the dark cars"
    );
}

#[test]
fn the_same_input_gives_the_same_event_ids() {
    let ids = |events: Vec<DetectedEvent>| {
        let mut ids: Vec<String> = events.into_iter().map(|e| e.event.event_id).collect();
        ids.sort();
        ids
    };
    let first = ids(run("pistol_range.mp4"));
    assert!(!first.is_empty());
    assert_eq!(first, ids(run("pistol_range.mp4")));
    let unique: std::collections::HashSet<_> = first.iter().collect();
    assert_eq!(unique.len(), first.len(), "ids are unique");
}

#[test]
fn batches_of_queued_frames_give_the_same_events_as_one_by_one() {
    let one_by_one: Vec<String> = run("pistol_range.mp4").into_iter().map(|e| e.event.event_id).collect();
    let mut detector = detector();
    let mut batched = Vec::new();
    for chunk in frames_of("pistol_range.mp4").chunks(8) {
        let outcome = detector.process_batch(chunk).unwrap();
        assert!(outcome.bad_frames.is_empty());
        batched.extend(outcome.events);
    }
    batched.extend(detector.finish());
    let batched: Vec<String> = batched.into_iter().map(|e| e.event.event_id).collect();
    assert_eq!(batched, one_by_one);
}

#[test]
fn a_bad_frame_in_a_batch_is_reported_and_the_rest_are_processed() {
    let mut detector = detector();
    let mut frames = frames_of("pistol_range.mp4");
    frames[3].image = b"not a jpeg".to_vec();
    let outcome = detector.process_batch(&frames).unwrap();
    assert_eq!(outcome.bad_frames.len(), 1);
    assert!(
        outcome.bad_frames[0].to_string().contains("frame 3 of pistol_range"),
        "{}",
        outcome.bad_frames[0]
    );
    let events = detector.finish();
    assert!(
        events.iter().any(|e| e.event.category == Category::Weapon),
        "the other frames still found the pistol"
    );
}

#[test]
fn raw_frames_find_the_pistol_and_a_raw_frame_of_the_wrong_size_is_that_frames_error() {
    let config =
        IngestConfig { frame_encoding: canvass_schemas::ImageEncoding::Rgb24, ..IngestConfig::default() };
    let mut frames = common::frames_of("pistol_range.mp4", &config);
    assert_eq!(frames[0].image.len() as u32, frames[0].header.width * frames[0].header.height * 3);
    frames[2].image.truncate(100);
    frames[4].header.width = 0;
    let mut detector = detector();
    let outcome = detector.process_batch(&frames).unwrap();
    let errors: Vec<String> = outcome.bad_frames.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("frame 2 of pistol_range") && errors[0].contains("100 bytes"), "{errors:?}");
    assert!(errors[1].contains("frame 4 of pistol_range"), "{errors:?}");
    let events = detector.finish();
    assert!(events.iter().any(|e| e.event.category == Category::Weapon), "the other frames found the pistol");
}

#[test]
fn a_frame_that_is_not_a_jpeg_is_an_error_for_that_frame_only() {
    let mut detector = detector();
    let mut frames = frames_of("pistol_range.mp4");
    frames[1].image = b"garbage".to_vec();
    let err = detector.process(&frames[1]).unwrap_err();
    assert!(err.to_string().contains("frame 1 of pistol_range: cannot decode image"), "{err}");
    detector.process(&frames[2]).unwrap();
}

#[test]
fn tracks_saved_midway_and_restored_in_another_detector_give_the_same_events() {
    let uninterrupted = run("opencv4nodejs_traffic.mp4");
    let frames = frames_of("opencv4nodejs_traffic.mp4");
    let (first_half, second_half) = frames.split_at(frames.len() / 2);
    let mut events = Vec::new();
    let mut before = detector();
    for frame in first_half {
        events.extend(before.process(frame).unwrap());
    }
    // Through JSON, as a checkpoint travels; the other detector never saw the first half.
    let saved = serde_json::to_vec(&before.save_streams(|_| true)).unwrap();
    assert!(String::from_utf8_lossy(&saved).contains("best_crop"), "open tracks were saved");
    drop(before);
    let mut after = detector();
    assert_eq!(after.restore_streams(serde_json::from_slice(&saved).unwrap()), 0);
    for frame in second_half {
        events.extend(after.process(frame).unwrap());
    }
    events.extend(after.finish());
    let key = |e: &DetectedEvent| {
        (e.event.event_id.clone(), e.event.frames, e.event.confidence.to_bits(), e.thumbnail.clone())
    };
    let mut got: Vec<_> = events.iter().map(key).collect();
    let mut want: Vec<_> = uninterrupted.iter().map(key).collect();
    got.sort();
    want.sort();
    assert!(want.len() > 10);
    assert_eq!(got, want, "same events, same thumbnails");
}

#[test]
fn forgotten_streams_are_not_resumed_and_other_models_state_is_not_restored() {
    let frames = frames_of("opencv4nodejs_traffic.mp4");
    let mut detector = detector();
    for frame in &frames[..40] {
        detector.process(frame).unwrap();
    }
    let mut saved = detector.save_streams(|_| true);
    assert!(!saved.is_empty());
    detector.forget_streams(|_| true);
    assert!(detector.save_streams(|_| true).is_empty());
    assert!(detector.finish().is_empty(), "nothing left to close");
    saved[0].models[0] = "another-model".into();
    assert_eq!(detector.restore_streams(saved), 1);
}

#[test]
fn each_vehicle_on_the_traffic_clip_is_about_one_event() {
    // Counted by eye on contact sheets at 2 frames a second (README, "Fewer fragments"): 29
    // vehicles cross the clip, counting those half in frame. Before one box per object, a car
    // boxed as both car and truck gave two events: 42 in all.
    let vehicles = run("opencv4nodejs_traffic.mp4")
        .into_iter()
        .filter(|e| e.event.category == canvass_schemas::Category::Vehicle)
        .count();
    assert!((26..=35).contains(&vehicles), "{vehicles} vehicle events for 29 vehicles");
}
