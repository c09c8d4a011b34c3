//! The whole detector stage on real footage, fed by the real ingest stage.

use std::path::{Path, PathBuf};

use canvass_detector::track::TrackerConfig;
use canvass_detector::{DetectedEvent, Detector, DetectorConfig};
use canvass_ingest::{IngestConfig, InputSpec};
use canvass_schemas::{Category, Colour, FrameMessage, ObjectClass};
use canvass_transport::{FrameSink, TransportError};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn assets() -> PathBuf {
    let dir = std::env::var_os("CANVASS_ASSETS").map(PathBuf::from).unwrap_or_else(|| repo().join("assets"));
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        // SAFETY: set before ONNX Runtime is loaded, and every test sets the same value.
        unsafe { std::env::set_var("ORT_DYLIB_PATH", dir.join("lib/libonnxruntime.so")) };
    }
    dir
}

#[derive(Default)]
struct Frames(Vec<FrameMessage>);

impl FrameSink for Frames {
    fn send(&mut self, frame: &FrameMessage) -> Result<(), TransportError> {
        self.0.push(frame.clone());
        Ok(())
    }
}

fn frames_of(clip: &str) -> Vec<FrameMessage> {
    let spec = InputSpec::parse(assets().join("media/video").join(clip).to_str().unwrap());
    let mut sink = Frames::default();
    canvass_ingest::ingest(
        &spec,
        &spec.default_source_id(),
        &IngestConfig::default(),
        &mut sink,
        &mut |_| {},
    )
    .unwrap();
    sink.0
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
    let mut weapons = canvass_detector::Model::load(
        canvass_detector::Manifest::load(&repo().join("models/arcis_ultralight_weapons_256.toml")).unwrap(),
        &assets().join("models"),
        0,
    )
    .unwrap();
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
fn a_frame_that_is_not_a_jpeg_is_an_error_for_that_frame_only() {
    let mut detector = detector();
    let mut frames = frames_of("pistol_range.mp4");
    frames[1].image = b"garbage".to_vec();
    let err = detector.process(&frames[1]).unwrap_err();
    assert!(err.to_string().contains("frame 1 of pistol_range: cannot decode image"), "{err}");
    detector.process(&frames[2]).unwrap();
}
