use canvass_governance::Agency;
use canvass_schemas::{
    Attributes, BestFrame, BoundingBox, Category, Colour, ColourAttribute, EVENT_SCHEMA_VERSION, ModelRef,
    ObjectClass,
};

use super::*;
use crate::{AlertError, AlertRule};

fn rule(name: &str, query: &str) -> AlertRule {
    AlertRule {
        name: name.into(),
        query: query.into(),
        webhook: None,
        secret: None,
        secret_env: None,
        min_confidence: None,
        agency: None,
        sources: Vec::new(),
        cooldown_s: 0,
    }
}

fn event(id: &str, source: &str, class: ObjectClass, confidence: f32) -> DetectionEvent {
    let at: DateTime<Utc> = "2026-12-03T10:00:00Z".parse().unwrap();
    DetectionEvent {
        schema_version: EVENT_SCHEMA_VERSION,
        event_id: id.into(),
        source_id: source.into(),
        input: "rtsp://cam/live".into(),
        category: class.category(),
        class,
        taxonomy_label: class.taxonomy_label().into(),
        model_class: "x".into(),
        attributes: Attributes {
            colour: (class.category() == Category::Vehicle)
                .then_some(ColourAttribute { value: Colour::Red, confidence: 0.9 }),
            ..Default::default()
        },
        confidence,
        mean_confidence: confidence,
        frames: 3,
        media_start_us: 0,
        media_end_us: 1_000_000,
        wall_start: at,
        wall_end: at,
        best_frame: BestFrame {
            sequence: 1,
            media_time_us: 0,
            bbox: BoundingBox { x: 0.1, y: 0.1, width: 0.2, height: 0.2 },
            confidence,
        },
        thumbnail_key: String::new(),
        model: ModelRef { name: "m".into(), version: "1".into(), sha256: "00".into() },
        case: None,
        evidence_sha256: None,
    }
}

fn engine(rules: &[AlertRule], agencies: &[Agency]) -> AlertEngine {
    AlertEngine::new(rules.iter().map(|r| r.compile(agencies).unwrap()).collect())
}

fn phases(alerts: &[Alert]) -> Vec<(String, TrackPhase)> {
    alerts.iter().map(|a| (a.rule.clone(), a.phase)).collect()
}

fn at(second: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + second, 0).unwrap()
}

#[test]
fn one_track_raises_one_opened_alert_then_follows_it_to_its_close() {
    let mut engine = engine(&[rule("firearm", "firearm"), rule("red-car", "red car")], &[]);
    let gun = event("e1", "cam-1", ObjectClass::Handgun, 0.8);
    let opened = engine.on_track(TrackPhase::Opened, &gun, b"jpeg", at(0));
    assert_eq!(phases(&opened), [("firearm".to_string(), TrackPhase::Opened)]);
    assert_eq!(opened[0].thumbnail_jpeg_base64, "anBlZw==");
    assert!(engine.on_track(TrackPhase::Opened, &gun, b"", at(0)).is_empty(), "a repeat is no new alert");
    let updated = engine.on_track(TrackPhase::Updated, &gun, b"", at(0));
    assert_eq!(phases(&updated), [("firearm".to_string(), TrackPhase::Updated)]);
    let closed = engine.on_track(TrackPhase::Closed, &gun, b"", at(0));
    assert_eq!(phases(&closed), [("firearm".to_string(), TrackPhase::Closed)]);
    let ids: std::collections::HashSet<_> =
        opened.iter().chain(&updated).chain(&closed).map(|a| a.alert_id.clone()).collect();
    assert_eq!(ids.len(), 3, "each phase its own alert id");
    assert!(opened.iter().chain(&updated).chain(&closed).all(|a| a.event.event_id == "e1"));
}

#[test]
fn events_the_query_does_not_ask_for_raise_nothing() {
    let mut engine = engine(&[rule("firearm", "firearm")], &[]);
    for class in [ObjectClass::Car, ObjectClass::Knife, ObjectClass::Bus] {
        let e = event("e", "cam-1", class, 0.9);
        for phase in [TrackPhase::Opened, TrackPhase::Updated, TrackPhase::Closed] {
            assert!(engine.on_track(phase, &e, b"", at(0)).is_empty(), "{class:?} {phase:?}");
        }
    }
    let mut strict = engine_with(rule("sure", "gun"), |r| r.min_confidence = Some(0.7));
    assert!(
        strict
            .on_track(TrackPhase::Opened, &event("a", "c", ObjectClass::Handgun, 0.6), b"", at(0))
            .is_empty()
    );
    assert_eq!(
        strict.on_track(TrackPhase::Opened, &event("b", "c", ObjectClass::Handgun, 0.7), b"", at(0)).len(),
        1
    );
}

fn engine_with(mut base: AlertRule, change: impl FnOnce(&mut AlertRule)) -> AlertEngine {
    change(&mut base);
    engine(&[base], &[])
}

#[test]
fn a_track_that_first_matches_when_it_closes_is_opened_and_closed_at_once() {
    let mut engine = engine(&[rule("firearm", "firearm")], &[]);
    let gun = event("late", "cam-1", ObjectClass::Handgun, 0.8);
    let alerts = engine.on_track(TrackPhase::Closed, &gun, b"", at(0));
    assert_eq!(
        phases(&alerts),
        [("firearm".into(), TrackPhase::Opened), ("firearm".into(), TrackPhase::Closed)]
    );
}

#[test]
fn an_agency_never_hears_of_a_source_outside_its_jurisdiction() {
    let north = Agency { name: "north".into(), sources: vec!["north-*".into()], retention_days: None };
    let south = Agency { name: "south".into(), sources: vec!["south-*".into()], retention_days: None };
    let agencies = [north, south];
    let mut rules = [rule("north-guns", "firearm"), rule("south-guns", "firearm")];
    rules[0].agency = Some("north".into());
    rules[1].agency = Some("south".into());
    let mut engine = engine(&rules, &agencies);
    let alerts =
        engine.on_track(TrackPhase::Opened, &event("e", "north-gate", ObjectClass::Handgun, 0.9), b"", at(0));
    assert_eq!(phases(&alerts), [("north-guns".into(), TrackPhase::Opened)]);
    assert_eq!(alerts[0].agency.as_deref(), Some("north"));
    // A rule may not reach into another agency's sources, nor go without an agency.
    let mut greedy = rule("greedy", "firearm");
    greedy.agency = Some("north".into());
    greedy.sources = vec!["south-gate".into()];
    assert!(matches!(greedy.compile(&agencies), Err(AlertError::Rule { .. })));
    assert!(rule("nobody", "firearm").compile(&agencies).is_err(), "agency required when agencies exist");
    let mut unknown = rule("ghost", "firearm");
    unknown.agency = Some("east".into());
    assert!(unknown.compile(&agencies).unwrap_err().to_string().contains("unknown agency 'east'"));
}

#[test]
fn a_cooldown_keeps_a_source_quiet_but_not_the_others() {
    let mut engine = engine_with(rule("guns", "firearm"), |r| r.cooldown_s = 60);
    let first =
        engine.on_track(TrackPhase::Opened, &event("a", "cam-1", ObjectClass::Handgun, 0.9), b"", at(0));
    assert_eq!(first.len(), 1);
    let again =
        engine.on_track(TrackPhase::Opened, &event("b", "cam-1", ObjectClass::Handgun, 0.9), b"", at(30));
    assert!(again.is_empty(), "a second track 30 s later from the same camera is within the cooldown");
    let elsewhere =
        engine.on_track(TrackPhase::Opened, &event("c", "cam-2", ObjectClass::Handgun, 0.9), b"", at(30));
    assert_eq!(elsewhere.len(), 1);
    let later =
        engine.on_track(TrackPhase::Opened, &event("d", "cam-1", ObjectClass::Handgun, 0.9), b"", at(61));
    assert_eq!(later.len(), 1);
}

#[test]
fn rules_that_cannot_work_are_refused_at_start_with_the_reason() {
    let refused = |r: AlertRule| r.compile(&[]).unwrap_err().to_string();
    let mut hook = rule("hook", "firearm");
    hook.webhook = Some("https://dispatch.example/hook".into());
    assert!(refused(hook.clone()).contains("secret"), "a webhook is never sent unsigned");
    hook.secret_env = Some("CANVASS_TEST_NO_SUCH_VARIABLE".into());
    assert!(refused(hook.clone()).contains("CANVASS_TEST_NO_SUCH_VARIABLE"));
    hook.secret_env = None;
    hook.secret = Some("0123456789abcdef".into());
    hook.webhook = Some("ftp://dispatch.example/hook".into());
    assert!(refused(hook).contains("not an http(s) URL"));
    assert!(refused(rule("people", "man with gun")).contains("people"));
    assert!(refused(rule("typo", "firarm")).contains("unknown word"));
    assert!(refused(rule("when", "firearm after:-1h")).contains("after:"));
    assert!(
        refused(rule("yesterday", "firearm yesterday")).contains("after:"),
        "a day is a range in the past"
    );
    assert!(refused(rule("near", "firearm near main st")).contains("near"), "no registry to resolve it");
    assert!(refused(rule("bad name!", "firearm")).contains("name"));
}
