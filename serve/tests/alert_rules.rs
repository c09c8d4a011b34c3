//! Alert rules through the API: a supervisor makes and removes their agency's rules; another
//! agency, another role, a crafted rule or a rule of the config file cannot be changed that way.

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
