//! The query language over the API: how a query was understood, `near <place>` only among the
//! cameras the caller may see, and refusals that say what could be searched.

mod support;

use canvass_serve::ServeSettings;
use support::{call, get, start, with_events};

const CASE: &str = "case=2026-0042&purpose=hit+and+run";

fn register(server: &support::Server, source: &str, address: &str, lat: f64) {
    let body = serde_json::to_vec(&serde_json::json!({
        "source_id": source, "contact": "shop@example.org", "lat": lat, "lon": -0.1246,
        "address": address, "access": "request", "heading_deg": 90.0,
        "zones": [{ "name": "driveway", "polygon": [[0.5, 0.5], [1.0, 0.5], [1.0, 1.0]] }],
    }))
    .unwrap();
    let created = call(server, "POST", "/v1/cameras", Some("olga"), Some(&body));
    assert_eq!(created.status, 201, "{}", created.error());
}

#[test]
fn search_says_how_it_read_the_query_and_near_looks_only_in_the_callers_jurisdiction() {
    let server = start(ServeSettings::default());
    with_events(&server);
    // Both on Main Street, 2 km apart; north-1 is north-pd's, south-1 south-pd's.
    register(&server, "north-1", "1 Main St", 51.5007);
    register(&server, "south-1", "5 Main Street", 51.5187);

    let near = get(&server, &format!("/v1/search?q=red+car+near+main+street+after:-1d&{CASE}"), "ana");
    assert_eq!(near.status, 200, "{}", near.error());
    let body = near.json();
    let sources: Vec<&str> =
        body["events"].as_array().unwrap().iter().map(|e| e["source"].as_str().unwrap()).collect();
    assert!(!sources.is_empty() && sources.iter().all(|s| *s == "north-1"), "{sources:?}");
    let understood: Vec<(String, String)> = body["understood"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["aspect"].as_str().unwrap().to_string(), u["value"].as_str().unwrap().to_string()))
        .collect();
    for (aspect, value) in [("what", "car"), ("colour", "red"), ("cameras", "north-1")] {
        assert!(understood.contains(&(aspect.to_string(), value.to_string())), "{aspect}: {understood:?}");
    }
    assert!(understood.iter().any(|(a, v)| a == "near" && v.starts_with("main street")), "{understood:?}");
    assert!(understood.iter().any(|(a, _)| a == "when"), "{understood:?}");

    // south-pd's investigator: "1 main st" is only north-pd's camera, which they cannot see.
    let hidden = get(&server, &format!("/v1/search?q=car+near+1+main+st&{CASE}"), "bo");
    assert_eq!(hidden.status, 400);
    assert!(hidden.error().contains("no registered camera"), "{}", hidden.error());
    assert!(!hidden.error().contains("north-1"), "{}", hidden.error());

    let refused = get(&server, &format!("/v1/search?q=man+with+gun&{CASE}"), "ana");
    assert_eq!(refused.status, 400);
    assert!(refused.error().contains("\"firearm\""), "{}", refused.error());
    let typo = get(&server, &format!("/v1/search?q=red+pikcup&{CASE}"), "ana");
    assert_eq!(typo.status, 400);
    assert!(typo.error().contains("did you mean pickup?"), "{}", typo.error());

    // A zone name that could break the lake's column is refused at registration.
    let bad_zone = serde_json::to_vec(&serde_json::json!({
        "source_id": "north-3", "contact": "x@example.org", "lat": 51.5, "lon": -0.12, "access": "request",
        "zones": [{ "name": "drive;way", "polygon": [[0.5, 0.5], [1.0, 0.5], [1.0, 1.0]] }],
    }))
    .unwrap();
    let refused_zone = call(&server, "POST", "/v1/cameras", Some("olga"), Some(&bad_zone));
    assert_eq!(refused_zone.status, 400, "{}", refused_zone.error());
}
