use crate::testing::event_of;
use canvass_schemas::{Attributes, Category, ColourAttribute, ModelRef};

use super::*;
use crate::LocalStore;
use crate::scan::RowView;

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
    let base = event_of(source, wall + chrono::Duration::seconds(n as i64), n, class, &model);
    let colour = colour.map(|value| ColourAttribute { value, confidence: 0.7 });
    DetectionEvent { attributes: Attributes { colour, ..Default::default() }, confidence, ..base }
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

/// The sample events written as a live writer would: a segment per hour of events.
fn write_hourly(lake: &EventLake<LocalStore>, events: &[DetectionEvent]) -> Vec<String> {
    let mut hours: BTreeMap<u32, Vec<DetectionEvent>> = BTreeMap::new();
    for e in events {
        hours.entry(chrono::Timelike::hour(&e.wall_start)).or_default().push(e.clone());
    }
    hours.values().flat_map(|batch| lake.write(batch).unwrap()).collect()
}

#[test]
fn a_case_filter_finds_only_that_cases_events_and_skips_other_segments() {
    let (_dir, lake) = lake();
    let mut events = sample_events();
    for e in &mut events[..2] {
        e.case = Some("2026-1".into());
        e.evidence_sha256 = Some("cd".repeat(32));
    }
    lake.write(&events[..1]).unwrap();
    // One segment with an event of the case and one of none: the rows tell them apart.
    lake.write(&events[1..3]).unwrap();
    lake.write(&events[3..]).unwrap();
    let case = Pruning { cases: ["2026-1".into()].into(), ..Default::default() };
    let (found, stats) = lake.scan(&case).unwrap();
    assert_eq!(sorted(found), sorted(events[..2].to_vec()));
    assert_eq!(stats.segments_opened, 2, "the segment without the case is ruled out by its summary");
    let other = Pruning { cases: ["2026-2".into()].into(), ..Default::default() };
    assert!(lake.scan(&other).unwrap().0.is_empty());
}

#[test]
fn events_round_trip_through_parquet_segments() {
    let (_dir, lake) = lake();
    let keys = lake.write(&sample_events()).unwrap();
    assert_eq!(keys.len(), 1, "one segment per day and write: {keys:?}");
    assert!(keys[0].starts_with("events/v1/date=2026-11-20/") && keys[0].ends_with(".parquet"));
    let (events, stats) = lake.scan(&Pruning::default()).unwrap();
    assert_eq!(sorted(events), sorted(sample_events()));
    assert_eq!(stats.segments_opened, 1);
}

#[test]
fn events_are_filed_under_the_day_they_start() {
    let (_dir, lake) = lake();
    let mut late = event("cam-a", 23, 1, ObjectClass::Car, Some(Colour::Red), 0.9);
    late.wall_start = "2026-11-20T23:59:59Z".parse().unwrap();
    late.wall_end = "2026-11-21T00:00:09Z".parse().unwrap();
    let next_day = event("cam-a", 23, 2, ObjectClass::Car, Some(Colour::Red), 0.9);
    let next_day = DetectionEvent { wall_start: late.wall_end, wall_end: late.wall_end, ..next_day };
    let keys = lake.write(&[late.clone(), next_day]).unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys[0].starts_with("events/v1/date=2026-11-20/"), "{keys:?}");
    assert!(keys[1].starts_with("events/v1/date=2026-11-21/"), "{keys:?}");
    // An event that runs past midnight is found from the next day too.
    let after_midnight =
        Pruning { after: Some("2026-11-21T00:00:05Z".parse().unwrap()), ..Default::default() };
    let (events, _) = lake.scan(&after_midnight).unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.contains(&late));
}

#[test]
fn a_query_opens_only_segments_that_can_match() {
    let (_dir, lake) = lake();
    assert_eq!(write_hourly(&lake, &sample_events()).len(), 3, "hours 8, 9 and 14");
    let only_cam_b = Pruning { sources: ["cam-b".to_string()].into(), ..Default::default() };
    let (events, stats) = lake.scan(&only_cam_b).unwrap();
    assert_eq!((events.len(), stats.summaries_read, stats.segments_opened), (2, 3, 2), "hour 9 has no cam-b");

    let red = Pruning { colours: [Colour::Red].into(), ..Default::default() };
    let (events, stats) = lake.scan(&red).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((stats.summaries_read, stats.segments_opened), (3, 1), "summaries rule out 2 segments");

    let hour_nine = Pruning {
        after: Some("2026-11-20T09:00:00Z".parse().unwrap()),
        before: Some("2026-11-20T09:59:59Z".parse().unwrap()),
        ..Default::default()
    };
    let (events, stats) = lake.scan(&hour_nine).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(stats.segments_opened, 1);

    let other_day = Pruning { after: Some("2026-11-22T00:00:00Z".parse().unwrap()), ..Default::default() };
    let (events, stats) = lake.scan(&other_day).unwrap();
    assert!(events.is_empty());
    assert_eq!(stats.summaries_read, 0, "a day outside the range is ruled out by its path");
}

#[test]
fn only_the_asked_rows_are_fetched_in_the_asked_order() {
    let (_dir, lake) = lake();
    lake.write(&sample_events()).unwrap();
    let mut stats = ScanStats::default();
    let candidates = lake.segments_in_range(&Pruning::default(), &mut stats).unwrap();
    let mut matches = lake.find(&candidates, &Pruning::default(), None, &mut stats).unwrap();
    assert_eq!(matches.len(), 5);
    matches.sort_by(|a, b| b.rank.total_cmp(&a.rank));
    let top: Vec<f32> =
        lake.fetch(&candidates, &matches[..2]).unwrap().iter().map(|e| e.confidence).collect();
    assert_eq!(top, vec![0.9, 0.8]);
    let only_cam_b = |row: &RowView| row.source_id == "cam-b";
    let kept = lake.find(&candidates, &Pruning::default(), Some(&only_cam_b), &mut stats).unwrap();
    let events = lake.fetch(&candidates, &kept).unwrap();
    assert!(events.len() == 2 && events.iter().all(|e| e.source_id == "cam-b"));
}

#[test]
fn an_event_written_in_two_segments_is_found_once() {
    let (_dir, lake) = lake();
    let events = sample_events();
    // A replay that closed its segments at other boundaries: overlapping, differently named.
    lake.write(&events[..3]).unwrap();
    lake.write(&events[1..]).unwrap();
    let (found, stats) = lake.scan(&Pruning::default()).unwrap();
    assert_eq!(stats.segments_opened, 2);
    assert_eq!(sorted(found), sorted(events));
}

#[test]
fn writing_the_same_events_again_changes_nothing() {
    let (dir, lake) = lake();
    let first = lake.write(&sample_events()).unwrap();
    let files_before = lake.store().list("").unwrap();
    let second = lake.write(&sample_events()).unwrap();
    assert_eq!(first, second);
    assert_eq!(lake.store().list("").unwrap().len(), files_before.len());
    let (events, _) = lake.scan(&Pruning::default()).unwrap();
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
        for summary in lake.segments_in_range(&Pruning::default(), &mut stats).unwrap() {
            // Every visible segment is whole: it decodes, with as many events as its summary says.
            let events = segment::decode(lake.store().get(&summary.segment).unwrap()).unwrap();
            assert_eq!(events.len(), summary.events);
        }
        scans += 1;
    }
    writer.join().unwrap();
    let (events, _) = lake.scan(&Pruning::default()).unwrap();
    assert_eq!(events.len(), 40 * 50);
}

#[test]
fn a_corrupt_segment_is_an_error_naming_the_problem() {
    let (_dir, lake) = lake();
    let keys = lake.write(&sample_events()[..1]).unwrap();
    let size = lake.store().get(&keys[0]).unwrap().len();
    lake.store().put(&keys[0], &vec![b'x'; size]).unwrap();
    let err = lake.scan(&Pruning::default()).unwrap_err().to_string();
    assert!(err.starts_with("corrupt segment") && err.contains(&keys[0]), "{err}");
    assert!(err.contains("no Parquet footer"), "{err}");
    // Cut short: shorter than its summary says.
    lake.store().put(&keys[0], b"PAR1").unwrap();
    let err = lake.scan(&Pruning::default()).unwrap_err().to_string();
    assert!(err.contains(&keys[0]) && err.contains("-byte object"), "{err}");
    let _ = Category::Vehicle;
}

proptest::proptest! {
    // Whatever bytes stand in for a segment's summary, reading the lake answers: no panic.
    #[test]
    fn a_damaged_summary_never_panics_a_reader(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), cut in 0usize..600) {
        let (_dir, lake) = lake();
        let keys = lake.write(&sample_events()).unwrap();
        let summary = crate::keys::summary(&keys[0]);
        let mut original = lake.store().get(&summary).unwrap();
        original.truncate(cut);
        for damaged in [bytes.clone(), original] {
            lake.store().put(&summary, &damaged).unwrap();
            let _ = lake.scan(&Pruning::default());
        }
    }
}
