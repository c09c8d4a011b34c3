//! Webhook delivery against a real HTTP listener: signed bodies, retries of failures that
//! may pass, dead letters for those that do not, and detection never kept waiting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use canvass_alerts::testing::{Answer, hook};
use canvass_alerts::{
    AlertEngine, AlertRule, LiveRules, Notifier, RetryPolicy, RuleBook, TrackPhase, dead_letters,
};
use canvass_governance::AuditLog;
use canvass_governance::audit::AuditKey;
use canvass_schemas::ObjectClass;
use canvass_store::{LocalStore, Store};

const SECRET: &str = "a-hook-secret-of-some-length";

fn setup(url: &str) -> (tempfile::TempDir, Store, Arc<AuditLog<Store>>, Vec<canvass_alerts::CompiledRule>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Store = Arc::new(LocalStore::new(dir.path()));
    let audit = Arc::new(AuditLog::new(store.clone(), AuditKey::generate().unwrap()));
    let rule = AlertRule {
        name: "firearm".into(),
        query: "firearm".into(),
        webhook: Some(url.into()),
        secret: Some(SECRET.into()),
        secret_env: None,
        min_confidence: None,
        agency: None,
        sources: Vec::new(),
        cooldown_s: 0,
    };
    (dir, store, audit, vec![rule.compile(&[]).unwrap()])
}

fn gun_alerts(rules: &[canvass_alerts::CompiledRule], tracks: u64) -> Vec<canvass_alerts::Alert> {
    let mut engine = AlertEngine::new(rules.to_vec());
    let (at, model) = (chrono::Utc::now(), canvass_store::testing::model("00"));
    let mut alerts = Vec::new();
    for n in 0..tracks {
        let event = canvass_store::testing::event_of("gate", at, n, ObjectClass::Handgun, &model);
        for phase in [TrackPhase::Opened, TrackPhase::Updated, TrackPhase::Closed] {
            alerts.extend(engine.on_track(phase, &event, b"jpeg", at));
        }
    }
    alerts
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy { attempts: 3, first_delay: Duration::from_millis(50), timeout: Duration::from_millis(800) }
}

fn audit_actions(audit: &AuditLog<Store>) -> Vec<String> {
    audit.entries().unwrap().into_iter().map(|e| e.action.action).collect()
}

#[test]
fn one_signed_request_per_track_retried_through_server_errors() {
    let (url, received) = hook(vec![Answer::Status(500), Answer::Status(503)]);
    let (_dir, store, audit, rules) = setup(&url);
    let notifier = Notifier::start(&rules, &store, &audit, &fast_retry());
    let alerts = gun_alerts(&rules, 2);
    assert_eq!(alerts.len(), 6, "two tracks, three phases each");
    for alert in alerts {
        notifier.deliver(alert);
    }
    notifier.finish();
    let received = received.lock().unwrap();
    // Track one: 500, 503, then 200; track two: 200 at once. Only `opened` alerts are posted.
    assert_eq!(received.len(), 4);
    let mut tracks = std::collections::HashSet::new();
    for request in received.iter() {
        assert!(request.signed_by(SECRET.as_bytes()), "the body verifies under the hook's secret");
        assert!(!request.signed_by(b"another secret of some length"));
        let alert = request.json();
        assert_eq!(alert["phase"], "opened");
        assert_eq!(request.header("x-canvass-alert-id").unwrap(), alert["alert_id"].as_str().unwrap());
        tracks.insert(alert["event"]["event_id"].as_str().unwrap().to_string());
    }
    assert_eq!(tracks.len(), 2);
    assert!(dead_letters(&store).unwrap().is_empty());
    assert_eq!(audit_actions(&audit), ["alert_delivered", "alert_delivered"]);
}

#[test]
fn a_hook_that_hangs_or_refuses_is_dead_lettered_without_holding_up_detection() {
    let (url, received) = hook(vec![Answer::Hang, Answer::Hang, Answer::Hang, Answer::Status(400)]);
    let (_dir, store, audit, rules) = setup(&url);
    let notifier = Notifier::start(&rules, &store, &audit, &fast_retry());
    let mut feed = notifier.feed().subscribe();
    let alerts = gun_alerts(&rules, 2);
    let started = Instant::now();
    for alert in alerts {
        notifier.deliver(alert);
    }
    assert!(started.elapsed() < Duration::from_millis(500), "delivering queues; it never waits on the hook");
    let mut heard = 0;
    while feed.try_recv().is_ok() {
        heard += 1;
    }
    assert_eq!(heard, 6, "the page's feed hears every phase at once, whatever the hook does");
    notifier.finish();
    assert_eq!(
        received.lock().unwrap().len(),
        4,
        "three tries of the first, one of the second (a 400 is final)"
    );
    let dead = dead_letters(&store).unwrap();
    assert_eq!(dead.len(), 2);
    let errors: Vec<(u32, &str)> = dead.iter().map(|d| (d.attempts, d.last_error.as_str())).collect();
    assert!(errors.iter().any(|(n, e)| *n == 3 && e.contains("cannot reach the hook")), "{errors:?}");
    assert!(errors.iter().any(|(n, e)| *n == 1 && e.contains("400")), "{errors:?}");
    assert!(
        dead.iter().all(|d| !d.webhook.contains("token")),
        "the hook's query (often a token) is not kept"
    );
    assert_eq!(audit_actions(&audit), ["alert_dead_lettered", "alert_dead_lettered"]);
}

#[test]
fn a_rule_made_while_running_is_followed_by_the_engine_and_the_notifier_and_so_is_its_removal() {
    let (url, received) = hook(Vec::new());
    let (_dir, store, audit, compiled) = setup(&url);
    let book = RuleBook::new(store.clone(), Vec::new());
    let mut engine = AlertEngine::live(LiveRules::new(book.clone(), Vec::new()));
    let notifier = Notifier::live(LiveRules::new(book.clone(), Vec::new()), &store, &audit, &fast_retry());
    let (at, model) = (chrono::Utc::now(), canvass_store::testing::model("00"));
    let gun = |n| canvass_store::testing::event_of("gate", at, n, ObjectClass::Handgun, &model);
    assert!(engine.on_track(TrackPhase::Opened, &gun(0), b"", at).is_empty(), "no rules yet");

    book.put(&compiled[0].rule, &[]).unwrap();
    std::thread::sleep(canvass_alerts::RELOAD_EVERY);
    let alerts = engine.on_track(TrackPhase::Opened, &gun(1), b"", at);
    assert_eq!(alerts.len(), 1, "the new rule applies within the reload interval");
    for alert in alerts {
        notifier.deliver(alert);
    }

    book.remove("firearm").unwrap();
    std::thread::sleep(canvass_alerts::RELOAD_EVERY);
    assert!(engine.on_track(TrackPhase::Opened, &gun(2), b"", at).is_empty(), "and its removal too");
    notifier.finish();
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 1, "the notifier started the new rule's hook");
    assert!(received[0].signed_by(SECRET.as_bytes()));
}

#[test]
fn alerts_left_when_the_process_stops_become_dead_letters_instead_of_holding_it_up() {
    let (url, received) = hook(vec![Answer::Hang; 10]);
    let (_dir, store, audit, rules) = setup(&url);
    let retry = RetryPolicy {
        attempts: 5,
        first_delay: Duration::from_secs(30),
        timeout: Duration::from_millis(500),
    };
    let notifier = Notifier::start(&rules, &store, &audit, &retry);
    for alert in gun_alerts(&rules, 3) {
        notifier.deliver(alert);
    }
    // The first request is under way (the hook never answers); then Ctrl-C.
    while received.lock().unwrap().is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    }
    notifier.abandon();
    notifier.finish();
    assert_eq!(received.lock().unwrap().len(), 1, "nothing tried again, nothing new tried");
    let dead = dead_letters(&store).unwrap();
    assert_eq!(dead.len(), 3, "every opened alert is kept");
    let reasons: Vec<(u32, &str)> = dead.iter().map(|d| (d.attempts, d.last_error.as_str())).collect();
    assert!(
        reasons
            .iter()
            .filter(|(n, why)| *n == 0 && why.contains("stopped before the hook was tried"))
            .count()
            == 2,
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|(n, why)| *n == 1 && why.contains("stopped while retrying")), "{reasons:?}");
}
