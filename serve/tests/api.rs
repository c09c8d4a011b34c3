//! The investigator API over real HTTP on loopback: each role, each forbidden action, audit,
//! exports, bad input.

mod support;

use std::sync::Arc;

use canvass_serve::ServeSettings;
use canvass_store::LocalStore;
use chrono::{Duration, Utc};
use support::{Response, audit_key, audit_log, call, get, start, with_events};

const CASE: &str = "case=2026-0042&purpose=hit+and+run";

fn sources_of(response: &Response) -> Vec<String> {
    let mut sources: Vec<String> = response.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"].as_str().unwrap().to_string())
        .collect();
    sources.sort();
    sources
}

#[test]
fn every_call_is_authenticated() {
    let server = start(ServeSettings::default());
    assert_eq!(call(&server, "GET", "/healthz", None, None).status, 200);
    assert_eq!(call(&server, "GET", "/openapi.json", None, None).status, 200);
    for path in ["/v1/search?q=car", "/v1/cameras", "/v1/audit", "/v1/holds", "/v1/export?q=car"] {
        let anonymous = call(&server, "GET", path, None, None);
        assert_eq!(anonymous.status, 401, "{path}");
        assert!(anonymous.error().contains("Bearer"), "{path}: {}", anonymous.error());
        let wrong = call(&server, "GET", path, Some("mallory"), None);
        assert_eq!(wrong.status, 401, "{path}");
        assert!(wrong.head.to_ascii_lowercase().contains("cache-control: no-store"), "{}", wrong.head);
    }
    // Each wrong token is in the audit log (a short hash of it, never the token itself).
    let failed: Vec<_> = audit_log(&server)
        .entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.action.action == "login_failed")
        .collect();
    assert_eq!(failed.len(), 5);
    assert!(!serde_json::to_string(&failed).unwrap().contains("token-mallory"));
    let answered = get(&server, "/v1/cameras", "ana");
    assert!(answered.head.to_ascii_lowercase().contains("cache-control: no-store"), "{}", answered.head);
}

#[test]
fn investigators_see_only_their_jurisdiction_and_only_for_a_case() {
    let server = start(ServeSettings::default());
    let events = with_events(&server);
    let no_case = get(&server, "/v1/search?q=red+car", "ana");
    assert_eq!(no_case.status, 400);
    assert!(no_case.error().contains("case"), "{}", no_case.error());
    let only_purpose_missing = get(&server, "/v1/search?q=red+car&case=1", "ana");
    assert!(only_purpose_missing.error().contains("purpose"));

    let north = get(&server, &format!("/v1/search?q=red+car&{CASE}"), "ana");
    assert_eq!(north.status, 200);
    assert_eq!(sources_of(&north), vec!["north-1", "north-1", "north-1", "north-2"]);
    assert_eq!(north.json()["total"], 4);
    let south = get(&server, &format!("/v1/search?q=red+car&{CASE}"), "bo");
    assert_eq!(sources_of(&south), vec!["south-1", "south-1"]);

    // Asking for another agency's source is refused, not silently emptied.
    let refused = get(&server, &format!("/v1/search?q=red+car+camera:south-1&{CASE}"), "ana");
    assert_eq!(refused.status, 403);
    assert!(refused.error().contains("south-1") && refused.error().contains("jurisdiction"));
    assert_eq!(get(&server, &format!("/v1/search?q=car&sources=south-1&{CASE}"), "ana").status, 403);

    // Another agency's event and thumbnail do not exist for this user.
    let south_event = &events[4];
    let detail = get(&server, &format!("/v1/events/{}?{CASE}", south_event.event_id), "ana");
    assert_eq!(detail.status, 404);
    let thumb = get(&server, &format!("/v1/events/{}/thumbnail?{CASE}", south_event.event_id), "ana");
    assert_eq!(thumb.status, 404);
    // Their own agency's are there.
    let own = get(&server, &format!("/v1/events/{}?{CASE}", south_event.event_id), "bo");
    assert_eq!(own.status, 200);
    assert_eq!(own.json()["event"]["event_id"], south_event.event_id.as_str());
    let own_thumb = get(&server, &format!("/v1/events/{}/thumbnail?{CASE}", south_event.event_id), "bo");
    assert_eq!((own_thumb.status, own_thumb.body.as_slice()), (200, b"\xff\xd8jpeg".as_slice()));

    // Owners and admins see no events at all.
    assert_eq!(get(&server, &format!("/v1/search?q=car&{CASE}"), "olga").status, 403);
    assert_eq!(get(&server, &format!("/v1/search?q=car&{CASE}"), "root").status, 403);
}

#[test]
fn every_refusal_is_in_the_audit_log_once() {
    let server = start(ServeSettings::default());
    let events = with_events(&server);
    let south = &events[4].event_id;
    let tries = [
        ("ana", "/v1/audit".to_string(), 403),
        ("olga", format!("/v1/search?q=car&{CASE}"), 403),
        ("ana", "/v1/search?q=red+car".to_string(), 400),
        ("ana", format!("/v1/search?q=car&limit=5000&{CASE}"), 400),
        ("ana", format!("/v1/events/not-an-id?{CASE}"), 400),
        ("ana", format!("/v1/events/{south}?{CASE}"), 404),
        ("ana", format!("/v1/timeline?q=car&buckets=0&{CASE}"), 400),
        ("ana", format!("/v1/export?q=car&limit=3&{CASE}"), 400),
        ("ana", "/v1/disclosures".to_string(), 403),
        ("ana", format!("/v1/search?q=car&bogus=1&{CASE}"), 400),
    ];
    for (who, path, status) in &tries {
        assert_eq!(get(&server, path, who).status, *status, "{who} {path}");
    }
    // Refused by the handler with its own entry: audited once, not twice.
    assert_eq!(get(&server, &format!("/v1/search?q=car+after:-99999999999d&{CASE}"), "ana").status, 400);
    let log = audit_log(&server).entries().unwrap();
    let refused: Vec<_> = log.iter().filter(|e| e.action.action == "refused").collect();
    assert_eq!(refused.len(), tries.len(), "{:#?}", log.iter().map(|e| &e.action).collect::<Vec<_>>());
    for ((who, path, status), entry) in tries.iter().zip(&refused) {
        assert_eq!(entry.action.actor, *who);
        assert_eq!(entry.action.detail["status"], *status);
        assert!(path.starts_with(entry.action.detail["path"].as_str().unwrap()), "{path}");
        assert!(!entry.action.detail["why"].as_str().unwrap().is_empty());
    }
    assert_eq!(log.iter().filter(|e| e.action.action == "search_refused").count(), 1);
}

#[test]
fn an_agency_supervisor_reads_only_their_agencys_audit_entries() {
    let server = start(ServeSettings::default());
    with_events(&server);
    get(&server, &format!("/v1/search?q=red+car&{CASE}"), "ana");
    get(&server, &format!("/v1/search?q=red+car&{CASE}"), "bo");
    let actors = |who: &str| -> Vec<String> {
        let page = get(&server, "/v1/audit", who).json();
        page["entries"].as_array().unwrap().iter().map(|e| e["actor"].as_str().unwrap().to_string()).collect()
    };
    let sam_sees = actors("sam");
    assert!(sam_sees.contains(&"ana".to_string()), "{sam_sees:?}");
    assert!(!sam_sees.contains(&"bo".to_string()), "another agency's searches are not shown: {sam_sees:?}");
    let root_sees = actors("root");
    assert!(root_sees.contains(&"bo".to_string()) && root_sees.contains(&"ana".to_string()), "{root_sees:?}");
}

#[test]
fn every_look_at_the_data_is_audited_and_nobody_can_change_the_log() {
    let server = start(ServeSettings::default());
    let events = with_events(&server);
    let shown = get(&server, &format!("/v1/search?q=red+car&{CASE}"), "ana").json();
    get(&server, &format!("/v1/search?q=face&{CASE}"), "ana");
    get(&server, &format!("/v1/events/{}?{CASE}", events[0].event_id), "ana");
    get(&server, &format!("/v1/events/{}/thumbnail?{CASE}", events[0].event_id), "ana");

    assert_eq!(get(&server, "/v1/audit", "ana").status, 403, "investigators do not read the audit log");
    let log = get(&server, "/v1/audit", "sam");
    assert_eq!(log.status, 200);
    let log = log.json();
    let entries = log["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries.iter().rev().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["search", "search_refused", "view_event", "view_thumbnail", "refused"]);
    let search = &entries[4];
    assert_eq!((search["actor"].as_str(), search["case"].as_str()), (Some("ana"), Some("2026-0042")));
    assert_eq!((search["purpose"].as_str(), search["result_count"].as_u64()), (Some("hit and run"), Some(4)));
    assert_eq!(search["detail"]["q"], "red car");
    let ids: Vec<&serde_json::Value> =
        shown["events"].as_array().unwrap().iter().map(|e| &e["event_id"]).collect();
    assert_eq!(
        search["detail"]["event_ids"].as_array().unwrap().iter().collect::<Vec<_>>(),
        ids,
        "which events were shown"
    );
    assert!(log["chain"].as_str().unwrap().starts_with("intact: 5 entries"), "{}", log["chain"]);

    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let attempt = call(&server, method, "/v1/audit", Some("root"), Some(b"{}"));
        assert_eq!(attempt.status, 405, "{method} /v1/audit");
    }
    assert!(matches!(
        canvass_governance::audit::verify(&LocalStore::new(server.dir.path()), &audit_key()).unwrap(),
        canvass_governance::audit::Verdict::Intact { entries: 6, .. }
    ));
}

fn camera_json(lat: f64, lon: f64, access: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "source_id": "north-1", "contact": "shop@example.org, +1 555 0100", "lat": lat, "lon": lon,
        "address": "1 Main St", "description": "doorway, facing the street", "access": access,
    }))
    .unwrap()
}

#[test]
fn only_a_camera_owner_sets_its_policy() {
    let server = start(ServeSettings::default());
    let created =
        call(&server, "POST", "/v1/cameras", Some("olga"), Some(&camera_json(51.5007, -0.1246, "request")));
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_str().unwrap().to_string();
    let path = format!("/v1/cameras/{id}");

    // Agency users (any role) and other owners cannot register, change or remove it.
    for who in ["ana", "sam", "root"] {
        let change =
            call(&server, "PUT", &path, Some(who), Some(&camera_json(51.5007, -0.1246, "conditional_live")));
        assert_eq!(change.status, 403, "{who}");
        assert!(change.error().contains("owner"), "{}", change.error());
        assert_eq!(call(&server, "DELETE", &path, Some(who), None).status, 403, "{who}");
        assert_eq!(
            call(&server, "POST", "/v1/cameras", Some(who), Some(&camera_json(1.0, 1.0, "request"))).status,
            403
        );
    }
    assert_eq!(
        call(&server, "PUT", &path, Some("otto"), Some(&camera_json(0.0, 0.0, "request"))).status,
        403
    );
    assert_eq!(get(&server, &path, "sam").json()["access"], "request", "unchanged");

    // The owner can.
    let changed =
        call(&server, "PUT", &path, Some("olga"), Some(&camera_json(51.5007, -0.1246, "registry_only")));
    assert_eq!((changed.status, changed.json()["access"].as_str()), (200, Some("registry_only")));

    // Cameras near an incident: 200 m away is within 500 m; 2 km is not.
    let near = get(&server, "/v1/cameras?near=51.5025,-0.1246&radius_m=500", "ana").json();
    assert_eq!(near.as_array().unwrap().len(), 1);
    let distance = near[0]["distance_m"].as_f64().unwrap();
    assert!((distance - 200.0).abs() < 5.0, "{distance}");
    assert_eq!(near[0]["contact"], "shop@example.org, +1 555 0100");
    assert!(
        get(&server, "/v1/cameras?near=51.5187,-0.1246&radius_m=500", "ana")
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        get(&server, "/v1/cameras", "otto").json().as_array().unwrap().is_empty(),
        "owners see their own"
    );

    // Another owner cannot take over the camera's source id (the gate would find two
    // policies); the refusal is audited.
    let twin =
        call(&server, "POST", "/v1/cameras", Some("otto"), Some(&camera_json(1.0, 1.0, "conditional_live")));
    assert_eq!(twin.status, 409, "{}", twin.error());
    assert!(twin.error().contains("north-1"), "{}", twin.error());
    let log = audit_log(&server).entries().unwrap();
    assert!(log.iter().any(|e| e.action.action == "registry_refused" && e.action.actor == "otto"));

    assert_eq!(call(&server, "DELETE", &path, Some("olga"), None).status, 204);
    // Removed, the source is free again.
    let after = call(&server, "POST", "/v1/cameras", Some("otto"), Some(&camera_json(1.0, 1.0, "request")));
    assert_eq!(after.status, 201, "{}", after.error());
    assert_eq!(get(&server, &path, "sam").status, 404);
    let log = audit_log(&server).entries().unwrap();
    let changes = log.iter().filter(|e| e.action.action == "registry_change").count();
    assert_eq!(changes, 4, "registered, changed, removed, registered again by otto");
}

#[test]
fn no_mass_download_one_budget_for_every_way_of_looking_kept_across_restarts() {
    let settings = ServeSettings { export_max_events: 3, disclosure_budget: 10, ..Default::default() };
    let server = start(settings.clone());
    let events = with_events(&server);
    let export = get(&server, &format!("/v1/export?q=red+car&{CASE}"), "ana");
    assert_eq!(export.status, 200);
    let body = export.json();
    assert_eq!((body["total"].as_u64(), body["truncated"].as_bool()), (Some(4), Some(true)));
    assert_eq!(body["events"].as_array().unwrap().len(), 3);
    // 3 exported, 4 searched, one event and its thumbnail viewed: 9 of 10.
    assert_eq!(get(&server, &format!("/v1/search?q=red+car&limit=4&{CASE}"), "ana").status, 200);
    let id = &events[0].event_id;
    assert_eq!(get(&server, &format!("/v1/events/{id}?{CASE}"), "ana").status, 200);
    assert_eq!(get(&server, &format!("/v1/events/{id}/thumbnail?{CASE}"), "ana").status, 200);
    // Paging through the rest one way or another is refused, with when the budget frees.
    for path in [format!("/v1/search?q=red+car&limit=2&{CASE}"), format!("/v1/export?q=red+car&{CASE}")] {
        let refused = get(&server, &path, "ana");
        assert_eq!(refused.status, 429, "{path}");
        assert!(
            refused.error().contains("disclosure budget") && refused.error().contains("9 of 10"),
            "{}",
            refused.error()
        );
        assert!(refused.head.to_ascii_lowercase().contains("retry-after:"), "{}", refused.head);
    }
    assert_eq!(
        get(&server, &format!("/v1/search?q=red+car&limit=1&{CASE}"), "ana").status,
        200,
        "the last one"
    );
    assert_eq!(get(&server, &format!("/v1/events/{id}?{CASE}"), "ana").status, 429);
    assert_eq!(
        get(&server, &format!("/v1/export?q=red+car&{CASE}"), "bo").status,
        200,
        "budgets are per user"
    );
    assert_eq!(
        get(&server, &format!("/v1/search?q=red+car&offset=10001&{CASE}"), "bo").status,
        400,
        "offsets bounded"
    );
    let log = audit_log(&server).entries().unwrap();
    let refusals: Vec<_> =
        log.iter().filter(|e| e.action.action == "refused" && e.action.detail["status"] == 429).collect();
    assert_eq!(refusals.len(), 3, "each refusal is audited");
    assert_eq!(refusals[0].action.actor, "ana");

    // A restarted service (or another replica) knows what was spent.
    let server = support::restart(server, settings);
    assert_eq!(get(&server, &format!("/v1/events/{id}?{CASE}"), "ana").status, 429);
    // The supervisor sees who is near their budget, in their agency only.
    let near = get(&server, "/v1/disclosures", "sam");
    assert_eq!(near.status, 200);
    let users: Vec<(String, u64)> = near
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["user"].as_str().unwrap().to_string(), u["used"].as_u64().unwrap()))
        .collect();
    assert_eq!(users, vec![("ana".to_string(), 10)]);
    let all = get(&server, "/v1/disclosures", "root").json();
    assert_eq!(all.as_array().unwrap().len(), 2, "admins see every agency: {all}");
    assert_eq!(get(&server, "/v1/disclosures", "ana").status, 403);
}

#[test]
fn holds_are_placed_and_lifted_by_supervisors_inside_their_jurisdiction() {
    let server = start(ServeSettings::default());
    let until = (Utc::now() + Duration::days(90)).to_rfc3339();
    let body = |sources: &[&str], until: &str| {
        let hold = serde_json::json!({ "case": "2026-0042", "reason": "evidence", "until": until, "sources": sources });
        serde_json::to_vec(&hold).unwrap()
    };
    let hold = body(&["north-1"], &until);
    // Investigators, owners and admins place no holds.
    for who in ["ana", "olga", "root"] {
        assert_eq!(call(&server, "POST", "/v1/holds", Some(who), Some(&hold)).status, 403, "{who}");
    }
    let placed = call(&server, "POST", "/v1/holds", Some("sam"), Some(&hold));
    assert_eq!(placed.status, 201);
    assert_eq!(placed.json()["placed_by"], "sam");
    assert_eq!(placed.json()["agency"], "north-pd");
    let id = placed.json()["id"].as_str().unwrap().to_string();

    // Another agency's camera, or everything for ever: refused.
    let outside = call(&server, "POST", "/v1/holds", Some("sam"), Some(&body(&["south-1"], &until)));
    assert_eq!(outside.status, 403, "{}", outside.error());
    assert!(outside.error().contains("jurisdiction"), "{}", outside.error());
    let forever = call(&server, "POST", "/v1/holds", Some("sam"), Some(&body(&[], "9999-12-31T00:00:00Z")));
    assert_eq!(forever.status, 400);
    assert!(forever.error().contains("730 days"), "{}", forever.error());
    let past = call(&server, "POST", "/v1/holds", Some("sam"), Some(&body(&[], "2020-01-01T00:00:00Z")));
    assert_eq!(past.status, 400);
    assert!(past.error().contains("future"));

    // Who sees them: admins all, supervisors their agency's, nobody else.
    assert_eq!(get(&server, "/v1/holds", "root").json().as_array().unwrap().len(), 1);
    assert_eq!(get(&server, "/v1/holds", "sam").json().as_array().unwrap().len(), 1);
    assert_eq!(get(&server, "/v1/holds", "ana").status, 403);

    // Lifting: not by another agency or an admin; by the agency's supervisor, once.
    let reason = serde_json::to_vec(&serde_json::json!({ "reason": "case closed" })).unwrap();
    let path = format!("/v1/holds/{id}/lift");
    assert_eq!(call(&server, "POST", &path, Some("root"), Some(&reason)).status, 403);
    assert_eq!(call(&server, "POST", &path, Some("bo"), Some(&reason)).status, 403);
    let lifted = call(&server, "POST", &path, Some("sam"), Some(&reason));
    assert_eq!(lifted.status, 200, "{}", lifted.error());
    assert_eq!(lifted.json()["lifted"]["by"], "sam");
    assert_eq!(call(&server, "POST", &path, Some("sam"), Some(&reason)).status, 400, "lifted once");

    // Every placement, refusal, listing and lift is in the audit log.
    let log = audit_log(&server).entries().unwrap();
    let count = |action: &str| log.iter().filter(|e| e.action.action == action).count();
    assert_eq!(count("hold"), 1);
    assert_eq!(count("hold_lifted"), 1);
    assert_eq!(count("list_holds"), 2);
    assert!(count("hold_refused") >= 8, "{}", count("hold_refused"));
}

#[test]
fn malformed_and_oversized_requests_get_a_4xx_with_a_reason() {
    let server = start(ServeSettings::default());
    with_events(&server);
    for (path, expected) in [
        (format!("/v1/search?q=red+car&{CASE}&limit=0"), "limit"),
        (format!("/v1/search?q=red+car&{CASE}&limit=many"), "limit"),
        (format!("/v1/search?q=red+car&{CASE}&from=yesterday"), "from"),
        (format!("/v1/search?q=red+car&{CASE}&from=2026-11-02&to=2026-11-01"), "empty"),
        (format!("/v1/search?q=purple+unicorn&{CASE}"), "unknown word"),
        (format!("/v1/search?q=car&{CASE}&near=91,0&radius_m=10"), "near"),
        (format!("/v1/search?q=car&{CASE}&near=1,1"), "go together"),
        (format!("/v1/search?q=car&{CASE}&colour=red"), "colour"),
        (format!("/v1/events/not-an-id?{CASE}"), "32 hex"),
        ("/v1/nothing".to_string(), "no such endpoint"),
    ] {
        let response = get(&server, &path, "ana");
        assert!((400..500).contains(&response.status), "{path}: {}", response.status);
        let message = String::from_utf8_lossy(&response.body).to_string();
        assert!(message.contains(expected), "{path}: {message}");
    }
    let not_json = call(&server, "POST", "/v1/cameras", Some("olga"), Some(b"{not json"));
    assert_eq!(not_json.status, 400);
    let wrong_shape = call(&server, "POST", "/v1/cameras", Some("olga"), Some(br#"{"lat": "north"}"#));
    assert_eq!(wrong_shape.status, 422);
    let off_earth =
        call(&server, "POST", "/v1/cameras", Some("olga"), Some(&camera_json(123.0, 0.0, "request")));
    assert_eq!(off_earth.status, 400);
    let huge = vec![b' '; canvass_serve::MAX_BODY_BYTES + 1];
    assert_eq!(call(&server, "POST", "/v1/cameras", Some("olga"), Some(&huge)).status, 413);
    // Still serving.
    assert_eq!(get(&server, &format!("/v1/search?q=red+car&{CASE}"), "ana").status, 200);
}

#[test]
fn a_burst_of_concurrent_searches_is_answered() {
    let server = Arc::new(start(ServeSettings::default()));
    with_events(&server);
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let server = server.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|_| get(&server, &format!("/v1/search?q=red+car&{CASE}"), "ana").status)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let statuses: Vec<u16> = clients.into_iter().flat_map(|c| c.join().unwrap()).collect();
    assert_eq!(statuses.len(), 200);
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
}

#[test]
fn the_openapi_document_lists_the_api() {
    let server = start(ServeSettings::default());
    let doc = call(&server, "GET", "/openapi.json", None, None).json();
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for path in [
        "/v1/search",
        "/v1/events/{id}",
        "/v1/events/{id}/thumbnail",
        "/v1/events/{id}/frame",
        "/v1/export",
        "/v1/cameras",
        "/v1/cameras/{id}",
        "/v1/holds",
        "/v1/holds/{id}/lift",
        "/v1/audit",
        "/v1/timeline",
        "/v1/disclosures",
        "/v1/cases",
        "/v1/cases/{id}",
        "/v1/requests",
        "/v1/requests/{id}/decline",
    ] {
        assert!(paths.iter().any(|p| p.as_str() == path), "{path} missing from {paths:?}");
    }
}

#[test]
fn the_source_footage_at_an_event_is_cut_where_it_is_stored() {
    let server = start(ServeSettings::default());
    let assets = std::env::var_os("CANVASS_ASSETS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets"));
    let clip = assets.join("media/video/opencv4nodejs_traffic.mp4");
    assert!(clip.is_file(), "{} is missing: run scripts/setup first", clip.display());
    let mut stored = canvass_store::testing::event("north-1", support::at(1), 1);
    stored.input = clip.display().to_string();
    stored.best_frame.media_time_us = 5_000_000;
    let mut gone = canvass_store::testing::event("north-1", support::at(2), 2);
    gone.input = "/nowhere/clip.mp4".into();
    canvass_store::EventLake::new(LocalStore::new(server.dir.path()))
        .write(&[stored.clone(), gone.clone()])
        .unwrap();

    let frame = get(&server, &format!("/v1/events/{}/frame?{CASE}", stored.event_id), "ana");
    assert_eq!(frame.status, 200, "{}", String::from_utf8_lossy(&frame.body));
    assert_eq!(&frame.body[..2], b"\xff\xd8", "a JPEG");
    let missing = get(&server, &format!("/v1/events/{}/frame?{CASE}", gone.event_id), "ana");
    assert_eq!(missing.status, 404);
    assert!(missing.error().contains("not stored here"), "{}", missing.error());
    // No server path in any answer: the footage is named by its file name only.
    assert!(!missing.error().contains("/nowhere"), "{}", missing.error());
    let detail = get(&server, &format!("/v1/events/{}?{CASE}", stored.event_id), "ana").json();
    assert_eq!(detail["event"]["input"], "opencv4nodejs_traffic.mp4");
    let export = get(&server, &format!("/v1/export?q=car&{CASE}"), "ana").json();
    let inputs: Vec<&str> =
        export["events"].as_array().unwrap().iter().map(|e| e["input"].as_str().unwrap()).collect();
    assert!(inputs.iter().all(|i| !i.contains('/')), "{inputs:?}");
    assert_eq!(get(&server, &format!("/v1/events/{}/frame?{CASE}", stored.event_id), "bo").status, 404);
    let log = audit_log(&server).entries().unwrap();
    assert_eq!(log.iter().filter(|e| e.action.action == "view_footage").count(), 1);
}

#[test]
fn the_service_answers_the_same_from_an_s3_bucket() {
    let s3 = canvass_store::testing::S3Server::start();
    let store: canvass_store::Store = Arc::new(canvass_store::S3Store::new(s3.config("canvass/")).unwrap());
    support::with_events_in(canvass_store::EventLake::new(store.clone()));
    let server = support::start_on(store.clone(), tempfile::tempdir().unwrap(), ServeSettings::default());
    let north = get(&server, &format!("/v1/search?q=red+car&{CASE}"), "ana");
    assert_eq!(north.status, 200, "{}", String::from_utf8_lossy(&north.body));
    assert_eq!(sources_of(&north), vec!["north-1", "north-1", "north-1", "north-2"]);
    let first = north.json()["events"][0]["event_id"].as_str().unwrap().to_string();
    let thumb = get(&server, &format!("/v1/events/{first}/thumbnail?{CASE}"), "ana");
    assert_eq!((thumb.status, thumb.body.as_slice()), (200, b"\xff\xd8jpeg".as_slice()));
    // The audit log is in the bucket, chained.
    assert!(matches!(
        canvass_governance::audit::verify(&store, &audit_key()).unwrap(),
        canvass_governance::audit::Verdict::Intact { entries: 2, .. }
    ));
}

#[test]
fn the_timeline_counts_hits_per_camera_in_time_buckets_within_jurisdiction() {
    let server = start(ServeSettings::default());
    let events = with_events(&server);
    let from = events[0].wall_start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = events[5].wall_start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let path = format!(
        "/v1/timeline?q=red+car&buckets=4&from={}&to={}&{CASE}",
        from.replace('+', "%2B"),
        to.replace('+', "%2B")
    );
    let north = get(&server, &path, "ana").json();
    assert_eq!(north["total"], 4, "{north}");
    let rows = north["sources"].as_array().unwrap();
    let row = |source: &str| rows.iter().find(|r| r["source"] == source).map(|r| r["counts"].clone());
    // Four buckets over the span of the six events: north-1's three events fall in the first
    // two, north-2's in the third; south-1 is another agency's.
    let north_1: Vec<u64> = serde_json::from_value(row("north-1").unwrap()).unwrap();
    assert_eq!(north_1.len(), 4);
    assert_eq!(north_1.iter().sum::<u64>(), 3);
    let north_2: Vec<u64> = serde_json::from_value(row("north-2").unwrap()).unwrap();
    assert_eq!(north_2.iter().sum::<u64>(), 1);
    assert!(row("south-1").is_none(), "another agency's camera");
    assert!(
        get(&server, &format!("/v1/timeline?q=red+car&buckets=0&{CASE}"), "ana").error().contains("buckets")
    );
    assert_eq!(get(&server, "/v1/timeline?q=red+car", "ana").status, 400, "a case is required");
    let audit = get(&server, "/v1/audit", "sam").json();
    assert!(audit.to_string().contains("\"timeline\""), "timeline reads are audited: {audit}");
}

#[test]
fn the_web_page_is_served_beside_the_api_with_a_same_origin_policy() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), "<!doctype html><title>canvass</title>").unwrap();
    std::fs::create_dir(web.path().join("assets")).unwrap();
    std::fs::write(web.path().join("assets/app.js"), "console.log(1)").unwrap();
    let server = start(ServeSettings { web_dir: Some(web.path().to_path_buf()), ..ServeSettings::default() });
    let page = call(&server, "GET", "/", None, None);
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("<title>canvass"));
    let head = page.head.to_ascii_lowercase();
    assert!(head.contains("content-security-policy: default-src 'self'"), "{head}");
    let script = call(&server, "GET", "/assets/app.js", None, None);
    assert_eq!((script.status, script.body.as_slice()), (200, b"console.log(1)".as_slice()));
    // The page routes on the client: other paths get it too; the API's unknown paths stay JSON.
    assert_eq!(call(&server, "GET", "/some/view", None, None).status, 200);
    let missing = call(&server, "GET", "/v1/nothing-here", Some("ana"), None);
    assert_eq!(missing.status, 404);
    assert!(!missing.error().is_empty());
}

#[test]
fn a_client_sending_its_headers_slowly_is_cut_off() {
    use std::io::{Read, Write};
    let server = start(ServeSettings { header_read_timeout_s: 1, ..Default::default() });
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(120))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickle = {
        let finished = finished.clone();
        std::thread::spawn(move || {
            // A header line every 200 ms for a minute: never the blank line that ends the head.
            let _ = writer.write_all(b"GET /healthz HTTP/1.1\r\nHost: canvass\r\n");
            for n in 0..300 {
                std::thread::sleep(std::time::Duration::from_millis(200));
                if writer.write_all(format!("X-Slow-{n}: 1\r\n").as_bytes()).is_err() {
                    return;
                }
            }
            finished.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let mut answer = Vec::new();
    let ended = stream.read_to_end(&mut answer);
    assert!(
        !finished.load(std::sync::atomic::Ordering::SeqCst),
        "the server held the connection for the client's whole minute ({ended:?})"
    );
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"), "the request was never answered");
    let _ = stream.shutdown(std::net::Shutdown::Both);
    trickle.join().unwrap();
}

#[test]
fn cases_belong_to_their_agency_over_the_api() {
    let server = start(ServeSettings::default());
    let body =
        |id: &str, title: &str| serde_json::to_vec(&serde_json::json!({ "id": id, "title": title })).unwrap();
    let opened = call(&server, "POST", "/v1/cases", Some("ana"), Some(&body("2026-0042", "Hit and run")));
    assert_eq!(opened.status, 201, "{}", opened.error());
    assert_eq!(opened.json()["agency"], "north-pd");
    // Taken, whoever asks; a crafted id; roles that open none.
    assert_eq!(call(&server, "POST", "/v1/cases", Some("bo"), Some(&body("2026-0042", "mine"))).status, 409);
    assert_eq!(call(&server, "POST", "/v1/cases", Some("ana"), Some(&body("../x", "t"))).status, 400);
    for who in ["olga", "root"] {
        assert_eq!(
            call(&server, "POST", "/v1/cases", Some(who), Some(&body("x-1", "t"))).status,
            403,
            "{who}"
        );
    }
    // Another agency's case does not exist for bo; the supervisor and admin see it.
    assert_eq!(get(&server, "/v1/cases/2026-0042", "bo").status, 404);
    assert_eq!(get(&server, "/v1/cases", "bo").json().as_array().unwrap().len(), 0);
    let seen = get(&server, "/v1/cases/2026-0042", "sam");
    assert_eq!(seen.status, 200);
    assert_eq!(seen.json()["case"]["title"], "Hit and run");
    assert!(seen.json()["evidence"].as_array().unwrap().is_empty());
    assert_eq!(get(&server, "/v1/cases", "root").json().as_array().unwrap().len(), 1);
    // Searching by another agency's case tells nothing about it: "not found", and audited.
    let probe = get(&server, &format!("/v1/search?q=car+case:2026-0042&{CASE}"), "bo");
    assert_eq!(probe.status, 404, "{}", probe.error());
    assert_eq!(get(&server, &format!("/v1/search?q=car+case:2026-0042&{CASE}"), "ana").status, 200);
    let log = audit_log(&server).entries().unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "case_opened").count(), 1);
    assert_eq!(actions.iter().filter(|a| **a == "refused").count(), 5, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "search_refused").count(), 1, "the case probe: {actions:?}");
    assert!(actions.contains(&"view_case") && actions.contains(&"list_cases"));
}

#[test]
fn a_footage_request_goes_to_the_cameras_owner_and_back() {
    let server = start(ServeSettings::default());
    let camera =
        call(&server, "POST", "/v1/cameras", Some("olga"), Some(&camera_json(51.5, -0.12, "request")));
    assert_eq!(camera.status, 201, "{}", camera.error());
    let camera_id = camera.json()["id"].as_str().unwrap().to_string();
    let case = serde_json::to_vec(&serde_json::json!({ "id": "2026-0042", "title": "Hit and run" })).unwrap();
    assert_eq!(call(&server, "POST", "/v1/cases", Some("ana"), Some(&case)).status, 201);
    let ask = |case: &str| {
        let to = Utc::now() - Duration::hours(1);
        serde_json::to_vec(&serde_json::json!({ "camera_id": camera_id, "case": case,
            "from": (to - Duration::hours(2)).to_rfc3339(), "to": to.to_rfc3339(), "reason": "white van at 14:05" }))
        .unwrap()
    };
    assert_eq!(
        call(&server, "POST", "/v1/requests", Some("bo"), Some(&ask("2026-0042"))).status,
        400,
        "not bo's case"
    );
    let made = call(&server, "POST", "/v1/requests", Some("ana"), Some(&ask("2026-0042")));
    assert_eq!(made.status, 201, "{}", made.error());
    let id = made.json()["id"].as_str().unwrap().to_string();

    let olga_sees = get(&server, "/v1/requests", "olga").json();
    assert_eq!(olga_sees.as_array().unwrap().len(), 1);
    assert!(olga_sees[0]["case"].is_null(), "the owner does not see the case: {olga_sees}");
    assert!(get(&server, "/v1/requests", "otto").json().as_array().unwrap().is_empty());
    assert!(get(&server, "/v1/requests", "bo").json().as_array().unwrap().is_empty());
    let decline = serde_json::to_vec(&serde_json::json!({ "reason": "recording was off" })).unwrap();
    let path = format!("/v1/requests/{id}/decline");
    assert_eq!(call(&server, "POST", &path, Some("otto"), Some(&decline)).status, 404);
    assert_eq!(call(&server, "POST", &path, Some("olga"), Some(&decline)).status, 200);
    assert_eq!(call(&server, "POST", &path, Some("olga"), Some(&decline)).status, 409);
    let ana_sees = get(&server, "/v1/requests", "ana").json();
    assert_eq!(
        (ana_sees[0]["state"].as_str(), ana_sees[0]["answer"]["reason"].as_str()),
        (Some("declined"), Some("recording was off"))
    );
    let actions: Vec<String> =
        audit_log(&server).entries().unwrap().into_iter().map(|e| e.action.action).collect();
    for action in ["footage_requested", "list_requests", "footage_request_declined"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}
