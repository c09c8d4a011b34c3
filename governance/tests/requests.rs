//! Footage requests: the owner sees only requests for their own cameras, and not the case
//! behind them; an agency sees only its own; requests for another agency's case, an unknown
//! camera or an unbounded window are refused. On the data folder and on s3s-fs.

use std::sync::Arc;

use canvass_governance::access::{Agency, Principal, Role};
use canvass_governance::cases::Cases;
use canvass_governance::registry::{AccessLevel, Camera, CameraRegistration, Registry};
use canvass_governance::requests::{NewRequest, RequestError, RequestState, Requests};
use canvass_store::testing::S3Server;
use canvass_store::{LocalStore, S3Store, Store};
use chrono::{Duration, Utc};

fn user(name: &str, role: Role, agency: Option<&str>) -> Principal {
    Principal {
        name: name.into(),
        role,
        agency: agency.map(|a| Agency { name: a.into(), sources: vec!["*".into()], retention_days: None }),
    }
}

fn camera(id: &str, owner: &str) -> Camera {
    let registration = CameraRegistration {
        source_id: None,
        stream_url: None,
        contact: format!("{owner}@example.org"),
        lat: 51.5,
        lon: -0.12,
        address: None,
        description: None,
        access: AccessLevel::Request,
        condition_active: false,
        heading_deg: None,
        zones: Vec::new(),
    };
    Camera { id: id.into(), owner: owner.into(), updated_at: Utc::now(), registration }
}

fn attacks(store: Store) {
    let now = Utc::now();
    let (ana, bo, olga, otto, root) = (
        user("ana", Role::Investigator, Some("north")),
        user("bo", Role::Investigator, Some("south")),
        user("olga", Role::Owner, None),
        user("otto", Role::Owner, None),
        user("root", Role::Admin, None),
    );
    let registry = Registry::new(store.clone());
    registry.register(&camera("0a01", "olga")).unwrap();
    registry.register(&camera("0b02", "otto")).unwrap();
    let cases = Cases::new(store.clone());
    cases.create(&ana, "n-1", "Hit and run", now).unwrap();
    cases.create(&bo, "s-1", "Depot", now).unwrap();
    let requests = Requests::new(store.clone());
    let ask = |camera: &str, case: &str, hours: i64| NewRequest {
        camera_id: camera.into(),
        case: case.into(),
        from: now - Duration::hours(hours),
        to: now - Duration::hours(1),
        reason: "white van seen leaving at 14:05".into(),
    };
    let made = requests.create(&ana, ask("0a01", "n-1", 3), now).unwrap();
    assert_eq!((made.agency.as_str(), made.state), ("north", RequestState::Open));

    // Refused: another agency's case, an unknown camera, a month-long window, owners asking.
    let invalid = |r: Result<_, RequestError>| matches!(r, Err(RequestError::Invalid(_)));
    assert!(invalid(requests.create(&ana, ask("0a01", "s-1", 3), now)), "another agency's case");
    assert!(invalid(requests.create(&ana, ask("0c03", "n-1", 3), now)), "no such camera");
    assert!(invalid(requests.create(&ana, ask("0a01", "n-1", 24 * 30), now)), "a month");
    assert!(matches!(requests.create(&olga, ask("0a01", "n-1", 3), now), Err(RequestError::NotYours(_))));

    // Who sees what: the owner their camera's request without the case; the other owner and
    // the other agency nothing; the admin everything.
    let seen = |who: &Principal| requests.visible_to(who).unwrap();
    assert_eq!(seen(&olga).len(), 1);
    assert_eq!(seen(&olga)[0].case, None, "owners do not see the case");
    assert!(seen(&otto).is_empty() && seen(&bo).is_empty());
    assert_eq!(seen(&ana)[0].case.as_deref(), Some("n-1"));
    assert_eq!(seen(&root).len(), 1);

    // Only the camera's owner declines, once, saying why.
    for who in [&otto, &ana, &bo] {
        assert!(matches!(requests.decline(who, &made.id, "no", now), Err(RequestError::NotFound(_))));
    }
    assert!(matches!(requests.decline(&olga, &made.id, "  ", now), Err(RequestError::Invalid(_))));
    let declined = requests.decline(&olga, &made.id, "the camera was off that day", now).unwrap();
    assert_eq!(declined.state, RequestState::Declined);
    assert!(matches!(requests.decline(&olga, &made.id, "again", now), Err(RequestError::Answered { .. })));
    assert_eq!(seen(&ana)[0].answer.as_ref().unwrap().reason, "the camera was off that day");
    assert!(matches!(requests.decline(&olga, "../x", "no", now), Err(RequestError::NotFound(_))));
}

#[test]
fn footage_requests_hold_on_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    attacks(Arc::new(LocalStore::new(dir.path())));
}

#[test]
fn footage_requests_hold_on_s3() {
    let server = S3Server::start();
    attacks(Arc::new(S3Store::new(server.config("canvass/")).unwrap()));
}
