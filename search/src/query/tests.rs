use proptest::prelude::*;

use canvass_schemas::FrameDirection;
use canvass_schemas::ObjectClass::*;

use super::*;

fn now() -> DateTime<Utc> {
    "2026-11-23T12:00:00Z".parse().unwrap()
}

fn q(text: &str) -> Query {
    parse(text, now()).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn colour_and_object_words() {
    let red_pickup = q("red pickup");
    assert_eq!(red_pickup.colours, [Colour::Red].into());
    assert_eq!(red_pickup.classes, [Pickup, Truck].into(), "COCO models call pickups truck");
    assert_eq!(q("white van").classes, [Van].into());
    assert_eq!(q("white vans").colours, [Colour::White].into(), "plurals");
    assert_eq!(q("sedan").classes, [Car].into());
    assert_eq!(q("motorbike").classes, [Motorcycle].into());
    assert_eq!(q("buses").classes, [Bus].into());
    assert_eq!(q("vehicles").classes, q("vehicle").classes, "a plural class word is not filler");
    assert_eq!(q("Gray car").colours, [Colour::Grey].into());
}

#[test]
fn weapon_words() {
    assert_eq!(q("firearm").classes, [Firearm, Handgun, LongGun].into());
    assert_eq!(q("gun").classes, q("firearm").classes);
    assert_eq!(q("pistol").classes, [Handgun, Firearm].into());
    assert_eq!(q("rifle").classes, [LongGun, Firearm].into());
    assert_eq!(q("long gun").classes, [LongGun, Firearm].into());
    assert_eq!(q("knife").classes, [Knife].into());
    assert!(q("weapon").classes.contains(&Knife));
}

#[test]
fn filters() {
    let query = q("red car source:Main-St after:2026-11-20 before:2026-11-21T06:00:00Z min-conf:0.6");
    assert_eq!(query.sources, ["main-st".to_string()].into());
    assert_eq!(query.after, Some("2026-11-20T00:00:00Z".parse().unwrap()));
    assert_eq!(query.before, Some("2026-11-21T06:00:00Z".parse().unwrap()));
    assert_eq!(query.min_confidence, Some(0.6));
    assert_eq!(q("camera:cam-2").sources, ["cam-2".to_string()].into());
    let in_case = q("gun case:2026-A");
    assert_eq!(in_case.cases, ["2026-A".to_string()].into(), "case ids are kept as given");
    assert_eq!(in_case.pruning().cases, in_case.cases);
    assert_eq!(q("car after:-24h").after, Some(now() - Duration::hours(24)));
    assert_eq!(q("car after:-7d").after, Some(now() - Duration::days(7)));
    assert_eq!(q("car after:-30m").after, Some(now() - Duration::minutes(30)));
    let day = q("car before:2026-11-20");
    assert_eq!(
        day.before,
        Some("2026-11-20T23:59:59.999999Z".parse().unwrap()),
        "a date as before: means its end"
    );
}

#[test]
fn everyday_phrasing_parses_into_class_colour_place_and_time() {
    // 2026-11-23 is a Monday; now is 12:00 UTC.
    let query = q("red pickup truck near main st yesterday afternoon");
    assert_eq!(query.classes, [Pickup, Truck].into());
    assert_eq!(query.colours, [Colour::Red].into());
    assert_eq!(query.near, Some(Near::Place("main st".into())));
    assert_eq!(query.after, Some("2026-11-22T00:00:00Z".parse().unwrap()));
    assert_eq!(query.before, Some("2026-11-22T23:59:59.999999Z".parse().unwrap()));
    assert_eq!(query.time_of_day.as_ref().unwrap().minutes, Some((12 * 60, 18 * 60)));
    let said = query.understood_line();
    for part in [
        "what: pickup or truck",
        "colour: red",
        "near: main st",
        "when: 2026-11-22 00:00",
        "hours: 12:00-18:00",
    ] {
        assert!(said.contains(part), "{part} in {said}");
    }
    let night = q("car last night");
    assert_eq!(night.after, Some("2026-11-22T18:00:00Z".parse().unwrap()));
    assert_eq!(night.before, Some("2026-11-23T06:00:00Z".parse().unwrap()));
    let morning = q("white van this morning");
    assert_eq!(morning.after, Some("2026-11-23T00:00:00Z".parse().unwrap()));
    assert_eq!(morning.time_of_day.unwrap().minutes, Some((6 * 60, 12 * 60)));
    let between = q("bus between 14:00 and 16:00 on weekdays");
    let t = between.time_of_day.unwrap();
    assert_eq!((t.minutes, t.weekdays), (Some((14 * 60, 16 * 60)), (0..5).collect()));
    assert_eq!(q("car 2pm-4pm").time_of_day.unwrap().minutes, Some((14 * 60, 16 * 60)));
    assert_eq!(q("car saturdays").time_of_day.unwrap().weekdays, [5].into());
    // In the searcher's clock: at UTC+2 "yesterday" starts at 22:00 UTC the day before.
    let east = parse_in("car yesterday", now(), FixedOffset::east_opt(2 * 3600).unwrap()).unwrap();
    assert_eq!(east.after, Some("2026-11-21T22:00:00Z".parse().unwrap()));
}

#[test]
fn filler_words_are_ignored_and_said_so() {
    let err = parse("a white van heading north with stripes", now());
    assert!(err.is_err(), "'stripes' is not a filler: it is unknown");
    let query = q("show me a white van heading north");
    assert_eq!((&query.classes, &query.motion.headings), (&[Van].into(), &vec![0.0]));
    assert_eq!(query.ignored, vec!["show", "me", "a", "heading"]);
    assert!(query.understood_line().contains("ignored: show, me, a, heading"));
}

#[test]
fn motion_words_and_filters() {
    let q1 = q("car direction:north dwell:>10m zone:Driveway speed:<0.5");
    assert_eq!(q1.motion.headings, vec![0.0]);
    assert_eq!(q1.motion.min_dwell_s, Some(600.0));
    assert_eq!(q1.motion.zones, ["driveway".to_string()].into());
    assert_eq!(q1.motion.max_speed, Some(0.5));
    assert_eq!(q("car direction:left").motion.directions, [FrameDirection::Left].into());
    assert_eq!(q("truck southbound").motion.headings, vec![180.0]);
    assert_eq!(q("parked car").motion.min_dwell_s, Some(60.0));
    assert_eq!(q("car dwell:<30s").motion.max_dwell_s, Some(30.0));
    let point = q("car near:51.5,-0.12,2km");
    assert_eq!(point.near, Some(Near::Point { lat: 51.5, lon: -0.12, radius_m: 2000.0 }));
    for bad in [
        "car direction:up",
        "car dwell:>10y",
        "car zone:drive;way",
        "car near:91,0",
        "car near:1,1,0m",
        "car near",
    ] {
        assert!(parse(bad, now()).is_err(), "{bad}");
    }
}

#[test]
fn typos_suggest_the_word_meant() {
    let err = parse("red pikcup", now()).unwrap_err();
    assert!(matches!(&err, QueryError::UnknownWord { suggestion: Some(s), .. } if s == "pickup"), "{err:?}");
    assert!(err.to_string().contains("did you mean pickup?"), "{err}");
    let err = parse("Yelow car", now()).unwrap_err();
    assert!(
        err.to_string().contains("did you mean yellow?"),
        "a capitalised typo is a typo, not a name: {err}"
    );
}

#[test]
fn unknown_words_are_errors_that_list_the_vocabulary() {
    let err = parse("red zeppelin", now()).unwrap_err();
    assert!(matches!(err, QueryError::UnknownWord { ref word, .. } if word == "zeppelin"), "{err}");
    let text = err.to_string();
    assert!(text.contains("pickup") && text.contains("silver") && text.contains("min-conf"), "{text}");
}

/// Whether an error is of the expected kind.
type ErrorCheck = fn(&QueryError) -> bool;

#[test]
fn every_error_case() {
    let cases: &[(&str, ErrorCheck)] = &[
        ("", |e| *e == QueryError::Empty),
        ("the a", |e| *e == QueryError::Empty),
        ("car colour:red", |e| matches!(e, QueryError::UnknownFilter(_))),
        ("car after:yesterday", |e| matches!(e, QueryError::BadTime { .. })),
        ("car after:-5y", |e| matches!(e, QueryError::BadTime { .. })),
        ("car min-conf:2", |e| matches!(e, QueryError::BadConfidence(_))),
        ("car min-conf:high", |e| matches!(e, QueryError::BadConfidence(_))),
        ("car source:", |e| matches!(e, QueryError::EmptyFilter(_))),
        ("car after:2026-11-22 before:2026-11-21", |e| *e == QueryError::EmptyRange),
        ("Toyota", |e| matches!(e, QueryError::UnknownName { .. })),
    ];
    for (text, check) in cases {
        let err = parse(text, now()).unwrap_err();
        assert!(check(&err), "{text:?} gave {err:?}");
    }
}

#[test]
fn queries_about_people_are_refused_with_the_reason() {
    for text in ["face", "man with beard", "red car driver", "women", "John Smith face", "person near van"] {
        let err = parse(text, now()).unwrap_err();
        assert!(matches!(err, QueryError::Refused { .. }), "{text}: {err:?}");
        assert!(err.to_string().contains("never identifies or describes a person"), "{err}");
    }
    let err = parse("man with gun", now()).unwrap_err();
    assert_eq!(err, QueryError::Refused { word: "man".into(), suggestion: Some("firearm".into()) });
    assert!(err.to_string().contains("Search for what can be seen instead: \"firearm\""), "{err}");
    let err = parse("woman in a red car", now()).unwrap_err();
    assert!(err.to_string().contains("\"red car\""), "{err}");
    let name = parse("John Smith", now()).unwrap_err();
    assert!(name.to_string().contains("names cannot be searched"), "{name}");
}

#[test]
fn huge_relative_and_absolute_times_are_errors_not_panics() {
    for text in [
        "car after:-99999999999d",
        "car after:-9223372036854775807m",
        "car after:-9223372036854775807w",
        "car before:-999999999999999h",
        "car after:-99999999999999999999999999d",
    ] {
        match parse(text, now()) {
            Err(QueryError::TimeOutOfRange { .. } | QueryError::BadTime { .. }) => {}
            other => panic!("{text}: {other:?}"),
        }
    }
    let err = parse("car after:-99999999999d", now()).unwrap_err().to_string();
    assert!(err.contains("out of range") && err.contains("100 years"), "{err}");
    assert!(parse("car after:-5200w", now()).is_ok(), "a century back is fine");
    // The last days chrono can name: no day after them, no panic.
    for day in ["262142-12-31", "262143-12-31", "+262142-12-31"] {
        let _ = parse(&format!("car before:{day}"), now());
    }
}

proptest! {
    // Relative times of any size and unit: a query or an error, never a panic.
    #[test]
    fn relative_times_never_panic(n in any::<u64>(), unit in "(m|min|h|d|w|s|y)") {
        let _ = parse(&format!("car after:-{n}{unit}"), now());
        let _ = parse(&format!("car before:-{n}{unit}"), now());
    }

    // Any input gives a query or an error, never a panic.
    #[test]
    fn parse_never_panics(text in "\\PC{0,80}") {
        let _ = parse(&text, now());
    }

    #[test]
    fn parse_never_panics_on_filter_like_input(f in "[a-z-]{0,8}", v in "[-0-9a-zA-Z:.TZ]{0,20}") {
        let _ = parse(&format!("car {f}:{v}"), now());
    }
}
