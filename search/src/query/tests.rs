use proptest::prelude::*;

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
