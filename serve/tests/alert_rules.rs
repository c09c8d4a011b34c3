//! Alerts in the API: a supervisor makes and removes their agency's rules (another agency,
//! another role, a crafted rule or a rule of the config file cannot be changed that way), and
//! the alert stream gives each user only their agency's alerts about their jurisdiction, within
//! their disclosure budget, audited.

mod support;

use canvass_serve::ServeSettings;
use serde_json::json;
use support::{Response, audit_log, call, get, start};

fn put(server: &support::Server, who: &str, name: &str, rule: serde_json::Value) -> Response {
    let body = serde_json::to_vec(&rule).unwrap();
    call(server, "PUT", &format!("/v1/alerts/rules/{name}"), Some(who), Some(&body))
}

fn rule(name: &str) -> serde_json::Value {
    json!({ "name": name, "query": "firearm", "webhook": "https://dispatch.example/hook",
            "secret": "a-dispatch-secret-0123456789" })
}

fn names(response: &Response) -> Vec<(String, String)> {
    let mut names: Vec<(String, String)> = response
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r["origin"].as_str().unwrap().to_string()))
        .collect();
    names.sort();
    names
}

#[test]
fn a_supervisor_makes_and_removes_their_agencys_rules_and_nobody_else_can() {
    let server = start(ServeSettings::default());
    let made = put(&server, "sam", "gate-guns", rule("gate-guns"));
    assert_eq!(made.status, 200, "{}", made.error());
    assert_eq!(made.json()["agency"], "north-pd", "a supervisor's rule is their agency's");
    assert_eq!(made.json()["secret"], "(set)", "the secret never comes back");
    let listed = get(&server, "/v1/alerts/rules", "sam");
    assert_eq!(
        names(&listed),
        [("gate-guns".to_string(), "api".to_string()), ("north-guns".into(), "config".into())]
    );
    assert!(!String::from_utf8_lossy(&listed.body).contains("a-dispatch-secret"));

    // Other roles and agencies.
    for who in ["ana", "olga", "bo"] {
        assert_eq!(put(&server, who, "mine", rule("mine")).status, 403, "{who}");
    }
    assert_eq!(get(&server, "/v1/alerts/rules", "ana").status, 403);
    let mut south = rule("south-guns");
    south["agency"] = json!("south-pd");
    assert_eq!(put(&server, "sam", "south-guns", south).status, 403, "not for another agency");
    assert!(names(&get(&server, "/v1/alerts/rules", "sue")).is_empty(), "the south sees none of the north's");
    assert_eq!(put(&server, "sue", "gate-guns", rule("gate-guns")).status, 403, "nor takes one over");
    assert_eq!(call(&server, "DELETE", "/v1/alerts/rules/gate-guns", Some("sue"), None).status, 404);

    // Crafted rules, each refused with the reason.
    let crafted = [
        ("people", json!({ "name": "people", "query": "man with gun" }), "people"),
        (
            "plain",
            json!({ "name": "plain", "query": "gun", "webhook": "http://10.0.0.1/hook", "secret": "0123456789abcdef" }),
            "https",
        ),
        (
            "env",
            json!({ "name": "env", "query": "gun", "webhook": "https://x.example/h", "secret_env": "AWS_SECRET_ACCESS_KEY" }),
            "secret_env",
        ),
        ("reach", json!({ "name": "reach", "query": "gun", "sources": ["south-1"] }), "jurisdiction"),
        (
            "unsigned",
            json!({ "name": "unsigned", "query": "gun", "webhook": "https://x.example/h" }),
            "secret",
        ),
        ("other-name", json!({ "name": "renamed", "query": "gun" }), "path"),
        ("north-guns", json!({ "name": "north-guns", "query": "knife" }), "config file"),
    ];
    for (name, body, why) in crafted {
        let refused = put(&server, "sam", name, body);
        assert_eq!(refused.status, 400, "{name}: {}", refused.error());
        assert!(refused.error().contains(why), "{name}: {}", refused.error());
    }
    assert_eq!(call(&server, "DELETE", "/v1/alerts/rules/north-guns", Some("sam"), None).status, 409);

    assert_eq!(call(&server, "DELETE", "/v1/alerts/rules/gate-guns", Some("sam"), None).status, 204);
    assert_eq!(names(&get(&server, "/v1/alerts/rules", "sam")).len(), 1);
    let actions: Vec<String> =
        audit_log(&server).entries().unwrap().into_iter().map(|e| e.action.action).collect();
    assert!(
        actions.contains(&"alert_rule_set".to_string())
            && actions.contains(&"alert_rule_removed".to_string())
    );
    assert!(actions.iter().filter(|a| *a == "refused").count() >= 10, "each refusal is audited: {actions:?}");
}

fn alert(id: &str, agency: Option<&str>, source: &str) -> canvass_alerts::Alert {
    let at = chrono::Utc::now();
    canvass_alerts::Alert {
        schema_version: canvass_schemas::ALERT_SCHEMA_VERSION,
        alert_id: id.into(),
        rule: "guns".into(),
        agency: agency.map(String::from),
        phase: canvass_alerts::TrackPhase::Opened,
        event: canvass_store::testing::event(source, at, 1),
        confirmed_at: at,
        raised_at: at,
        thumbnail_jpeg_base64: "anBlZw==".into(),
    }
}

#[test]
fn the_alert_stream_keeps_to_the_agency_and_the_disclosure_budget_and_is_audited() {
    let server = start(ServeSettings { disclosure_budget: 1, ..ServeSettings::default() });
    let port = server.addr.port();
    let (ana, bo) = (
        canvass_alerts::testing::listen_sse(port, "/v1/alerts/stream", "token-ana"),
        canvass_alerts::testing::listen_sse(port, "/v1/alerts/stream", "token-bo"),
    );
    let heard = |who: &canvass_alerts::testing::Heard| who.lock().unwrap().len();
    let started = std::time::Instant::now();
    while heard(&ana) == 0 || heard(&bo) == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the streams did not open");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        (ana.lock().unwrap()[0].1["http"].clone(), bo.lock().unwrap()[0].1["http"].clone()),
        (json!(200), json!(200))
    );
    for sent in [
        alert("a", Some("north-pd"), "north-1"),
        alert("b", Some("north-pd"), "north-2"),
        // A crafted alert: another agency's rule about the north's camera, and no rule's
        // agency on a south camera.
        alert("c", Some("south-pd"), "north-1"),
        alert("d", None, "south-1"),
    ] {
        server.alerts.publish(sent);
    }
    while heard(&ana) < 3 || heard(&bo) < 2 {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "alerts did not arrive");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let got = |who: &canvass_alerts::testing::Heard| -> Vec<(String, String)> {
        who.lock().unwrap()[1..]
            .iter()
            .map(|(_, a)| {
                (
                    a["alert_id"].as_str().unwrap().into(),
                    a["thumbnail_jpeg_base64"].as_str().unwrap_or("").into(),
                )
            })
            .collect()
    };
    // One event of budget: the second alert comes without what it shows.
    assert_eq!(got(&ana), [("a".to_string(), "anBlZw==".to_string()), ("b".into(), String::new())]);
    assert_eq!(got(&bo), [("d".to_string(), "anBlZw==".to_string())]);
    let shown: Vec<(String, String)> = audit_log(&server)
        .entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.action.action == "alert_shown")
        .map(|e| (e.action.actor, e.action.detail["alert_id"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(shown.len(), 3, "{shown:?}");
    for (who, id) in [("ana", "a"), ("ana", "b"), ("bo", "d")] {
        assert!(shown.contains(&(who.to_string(), id.to_string())), "{who} {id} {shown:?}");
    }
}
