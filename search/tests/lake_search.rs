//! Search over a real lake on disk: ranking and paging, and which model version's events show.

use std::collections::HashSet;

use canvass_schemas::DetectionEvent;
use canvass_search::{parse, search};
use canvass_store::testing::{event_by, model};
use canvass_store::{EventLake, LocalStore};
use chrono::{DateTime, Duration, Utc};

fn event(
    source: &str,
    at: DateTime<Utc>,
    n: u64,
    confidence: f32,
    model: &canvass_schemas::ModelRef,
) -> DetectionEvent {
    DetectionEvent { confidence, ..event_by(source, at, n, model) }
}

fn day(d: u32) -> DateTime<Utc> {
    format!("2026-11-{d:02}T08:00:00Z").parse().unwrap()
}

#[test]
fn pages_cover_the_ranking_once_with_ties_broken_the_same_way_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let lake = EventLake::new(LocalStore::new(dir.path()));
    let v1 = model("aa");
    // 300 events over 3 segments, few distinct confidences and times: many ties to break.
    let events: Vec<DetectionEvent> = (0..300u64)
        .map(|n| {
            event("cam", day(1) + Duration::minutes((n % 4) as i64), n, [0.5, 0.7, 0.9][n as usize % 3], &v1)
        })
        .collect();
    for part in events.chunks(100) {
        lake.write(part).unwrap();
    }
    let query = parse("red car", Utc::now()).unwrap();
    let mut paged = Vec::new();
    for page in 0..=(300 / 7) {
        let results = search(&lake, &query, false, page * 7, 7).unwrap();
        assert_eq!(results.total, 300);
        paged.extend(results.events);
    }
    assert_eq!(paged.len(), 300);
    let ids: HashSet<&str> = paged.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids.len(), 300, "no event on two pages");
    for pair in paged.windows(2) {
        let key = |e: &DetectionEvent| (e.confidence, e.wall_start);
        assert!(key(&pair[0]) >= key(&pair[1]), "ranked by confidence, then recency");
    }
    // The same page twice is the same page.
    let again = search(&lake, &query, false, 14, 7).unwrap().events;
    assert_eq!(again, paged[14..21]);
    assert!(search(&lake, &query, false, 300, 7).unwrap().events.is_empty());
}

#[test]
fn a_newer_model_replaces_the_older_only_where_it_reprocessed() {
    let dir = tempfile::tempdir().unwrap();
    let lake = EventLake::new(LocalStore::new(dir.path()));
    let (v1, v2) = (model("aa"), model("bb"));
    // A live camera: model v1 on day 1, upgraded to v2 for day 2; another camera stays on v1.
    lake.write(&[event("cam-1", day(1), 1, 0.8, &v1), event("cam-2", day(1), 2, 0.8, &v1)]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    lake.write(&[event("cam-1", day(2), 3, 0.8, &v2)]).unwrap();
    let query = parse("red car", Utc::now()).unwrap();
    let shown = |all: bool| {
        let mut found: Vec<(String, String, u32)> = search(&lake, &query, all, 0, 100)
            .unwrap()
            .events
            .into_iter()
            .map(|e| (e.source_id, e.model.sha256, chrono::Datelike::day(&e.wall_start)))
            .collect();
        found.sort();
        found
    };
    let s = |source: &str, sha: &str, d: u32| (source.to_string(), sha.to_string(), d);
    assert_eq!(shown(false), vec![s("cam-1", "aa", 1), s("cam-1", "bb", 2), s("cam-2", "aa", 1)]);

    // Day 1 of cam-1 re-processed with v2: its v1 events give way; cam-2's stay.
    std::thread::sleep(std::time::Duration::from_millis(5));
    lake.write(&[event("cam-1", day(1), 1, 0.8, &v2)]).unwrap();
    assert_eq!(shown(false), vec![s("cam-1", "bb", 1), s("cam-1", "bb", 2), s("cam-2", "aa", 1)]);
    assert_eq!(
        shown(true),
        vec![s("cam-1", "aa", 1), s("cam-1", "bb", 1), s("cam-1", "bb", 2), s("cam-2", "aa", 1)],
        "--all-versions shows every version"
    );
}

/// An event whose colour distribution is `scores` (`Colour::ALL` order, only the listed ones).
fn coloured(n: u64, confidence: f32, scores: &[(canvass_schemas::Colour, f32)]) -> DetectionEvent {
    let mut all = [0f32; 11];
    for (colour, score) in scores {
        all[colour.index()] = *score;
    }
    let mut e = event("cam", day(3), n, confidence, &model("aa"));
    e.attributes.colours = canvass_schemas::colour_distribution(all);
    e.attributes.colour = Some(canvass_schemas::ColourAttribute {
        value: e.attributes.colours[0].colour,
        confidence: e.attributes.colours[0].score,
    });
    e
}

#[test]
fn soft_colours_find_a_near_miss_below_a_clear_match() {
    use canvass_schemas::Colour::*;
    let dir = tempfile::tempdir().unwrap();
    let lake = EventLake::new(LocalStore::new(dir.path()));
    let clearly_orange = coloured(1, 0.7, &[(Orange, 0.85), (Red, 0.1)]);
    // Named red, with a real share of orange: a more confident detection than the orange car.
    let orange_red_taxi = coloured(2, 0.9, &[(Red, 0.55), (Orange, 0.35), (Grey, 0.1)]);
    let grey_with_tail_lights = coloured(3, 0.95, &[(Grey, 0.85), (Red, 0.1), (Orange, 0.05)]);
    lake.write(&[clearly_orange.clone(), orange_red_taxi.clone(), grey_with_tail_lights.clone()]).unwrap();
    let ids = |text: &str| -> Vec<String> {
        let found = search(&lake, &parse(text, Utc::now()).unwrap(), false, 0, 10).unwrap();
        found.events.into_iter().map(|e| e.event_id).collect()
    };
    // 0.7 x 0.85 = 0.6 ranks above 0.9 x 0.35 = 0.32; the grey car's 0.05 is not orange.
    assert_eq!(ids("orange car"), vec![clearly_orange.event_id.clone(), orange_red_taxi.event_id.clone()]);
    assert_eq!(ids("red car"), vec![orange_red_taxi.event_id.clone()], "red does not hide the taxi either");
    assert_eq!(ids("grey car"), vec![grey_with_tail_lights.event_id.clone()]);
    // Events written before distributions (v2) are found by their one colour.
    let mut old = coloured(4, 0.8, &[(Orange, 1.0)]);
    old.attributes.colours.clear();
    lake.write(std::slice::from_ref(&old)).unwrap();
    assert!(ids("orange car").contains(&old.event_id));
}
