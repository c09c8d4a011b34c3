use canvass_schemas::{
    Attributes, BestFrame, BoundingBox, Category, ColourAttribute, EVENT_SCHEMA_VERSION, EventId, ModelRef,
};

use super::*;
use crate::LocalStore;

fn event(
    source: &str,
    hour: u32,
    n: u64,
    class: ObjectClass,
    colour: Option<Colour>,
    confidence: f32,
) -> DetectionEvent {
    let wall: DateTime<Utc> = format!("2026-11-20T{hour:02}:10:00Z").parse().unwrap();
    let model = ModelRef { name: "m".into(), version: "1".into(), sha256: "abc".into() };
    let event_id = EventId::derive(source, "in.mp4", &model.sha256, class, n, 0);
    DetectionEvent {
        schema_version: EVENT_SCHEMA_VERSION,
        event_id: event_id.clone(),
        source_id: source.into(),
        input: "in.mp4".into(),
        category: class.category(),
        class,
        taxonomy_label: class.taxonomy_label().into(),
        model_class: "car".into(),
        attributes: Attributes { colour: colour.map(|value| ColourAttribute { value, confidence: 0.7 }) },
        confidence,
        mean_confidence: confidence - 0.1,
        frames: 3,
        media_start_us: n as i64 * 1_000_000,
        media_end_us: n as i64 * 1_000_000 + 500_000,
        wall_start: wall + chrono::Duration::seconds(n as i64),
        wall_end: wall + chrono::Duration::seconds(n as i64 + 1),
        best_frame: BestFrame {
            sequence: n,
            media_time_us: n as i64 * 1_000_000,
            bbox: BoundingBox { x: 0.1, y: 0.2, width: 0.3, height: 0.4 },
            confidence,
        },
        thumbnail_key: format!("thumbs/source={source}/{event_id}.jpg"),
        model,
    }
}

fn sample_events() -> Vec<DetectionEvent> {
    vec![
        event("cam-a", 8, 1, ObjectClass::Car, Some(Colour::Red), 0.9),
        event("cam-a", 8, 2, ObjectClass::Truck, Some(Colour::White), 0.6),
        event("cam-a", 9, 3, ObjectClass::Car, Some(Colour::Blue), 0.8),
        event("cam-b", 8, 4, ObjectClass::Handgun, None, 0.7),
        event("cam-b", 14, 5, ObjectClass::Bus, Some(Colour::Yellow), 0.5),
    ]
}

fn lake() -> (tempfile::TempDir, EventLake<LocalStore>) {
    let dir = tempfile::tempdir().unwrap();
    let lake = EventLake::new(LocalStore::new(dir.path()));
    (dir, lake)
}

fn sorted(mut events: Vec<DetectionEvent>) -> Vec<DetectionEvent> {
    events.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    events
}

#[test]
fn events_round_trip_through_parquet_segments() {
    let (_dir, lake) = lake();
    let keys = lake.write(&sample_events()).unwrap();
    assert_eq!(keys.len(), 4, "one segment per source and hour: {keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("events/v1/source=") && k.contains("/date=2026-11-20/hour=")));
    let (events, stats) = lake.scan(&Pruning::default(), |_| true).unwrap();
    assert_eq!(sorted(events), sorted(sample_events()));
    assert_eq!(stats.segments_opened, 4);
}

#[test]
fn a_query_opens_only_segments_that_can_match() {
    let (_dir, lake) = lake();
    lake.write(&sample_events()).unwrap();
    let only_cam_b = Pruning { sources: ["cam-b".to_string()].into(), ..Default::default() };
    let (events, stats) = lake.scan(&only_cam_b, |_| true).unwrap();
    assert_eq!((events.len(), stats.summaries_read, stats.segments_opened), (2, 2, 2));

    let red = Pruning { colours: [Colour::Red].into(), ..Default::default() };
    let (events, stats) = lake.scan(&red, |_| true).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((stats.summaries_read, stats.segments_opened), (4, 1), "summaries rule out 3 segments");

    let hour_nine = Pruning {
        after: Some("2026-11-20T09:00:00Z".parse().unwrap()),
        before: Some("2026-11-20T09:59:59Z".parse().unwrap()),
        ..Default::default()
    };
    let (events, stats) = lake.scan(&hour_nine, |_| true).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(stats.segments_opened, 1);

    let other_day = Pruning { after: Some("2026-11-21T00:00:00Z".parse().unwrap()), ..Default::default() };
    let (events, stats) = lake.scan(&other_day, |_| true).unwrap();
    assert!(events.is_empty());
    assert_eq!(stats.summaries_read, 0, "a day outside the range is ruled out by its path");
}

#[test]
fn writing_the_same_events_again_changes_nothing() {
    let (dir, lake) = lake();
    let first = lake.write(&sample_events()).unwrap();
    let files_before = lake.store().list("").unwrap();
    let second = lake.write(&sample_events()).unwrap();
    assert_eq!(first, second);
    assert_eq!(lake.store().list("").unwrap().len(), files_before.len());
    let (events, _) = lake.scan(&Pruning::default(), |_| true).unwrap();
    assert_eq!(events.len(), sample_events().len());
    drop(dir);
}

#[test]
fn a_concurrent_reader_never_sees_a_partial_segment() {
    let (_dir, lake) = lake();
    let lake = std::sync::Arc::new(lake);
    let writer = {
        let lake = lake.clone();
        std::thread::spawn(move || {
            for round in 0..40u64 {
                let batch: Vec<DetectionEvent> = (0..50)
                    .map(|i| event("cam-c", 10, round * 1000 + i, ObjectClass::Car, Some(Colour::Grey), 0.5))
                    .collect();
                lake.write(&batch).unwrap();
            }
        })
    };
    let mut scans = 0;
    while !writer.is_finished() || scans == 0 {
        let mut stats = ScanStats::default();
        for summary in lake.segments(&Pruning::default(), &mut stats).unwrap() {
            // Every visible segment is whole: it decodes, with as many events as its summary says.
            let events = lake.read_segment(&summary, &mut stats).unwrap();
            assert_eq!(events.len(), summary.events);
        }
        scans += 1;
    }
    writer.join().unwrap();
    let (events, _) = lake.scan(&Pruning::default(), |_| true).unwrap();
    assert_eq!(events.len(), 40 * 50);
}

#[test]
fn a_corrupt_segment_is_an_error_naming_the_problem() {
    let (_dir, lake) = lake();
    let keys = lake.write(&sample_events()[..1]).unwrap();
    lake.store().put(&keys[0], b"not parquet").unwrap();
    let err = lake.scan(&Pruning::default(), |_| true).unwrap_err();
    assert!(err.to_string().starts_with("corrupt segment"), "{err}");
    let _ = Category::Vehicle;
}
