//! Cases belong to their agency: tried as another agency, an owner, a crafted id and a second
//! opener of the same id, on the data folder and on a real S3-compatible server (s3s-fs).

use std::sync::Arc;

use canvass_governance::access::{Agency, Principal, Role};
use canvass_governance::cases::{CaseError, Cases};
use canvass_store::testing::S3Server;
use canvass_store::{LocalStore, S3Store, Store};
use chrono::Utc;

fn user(name: &str, role: Role, agency: Option<&str>) -> Principal {
    Principal {
        name: name.into(),
        role,
        agency: agency.map(|a| Agency {
            name: a.into(),
            sources: vec![format!("{a}-*")],
            retention_days: None,
        }),
    }
}

fn attacks(store: Store) {
    let cases = Cases::new(store);
    let ana = user("ana", Role::Investigator, Some("north"));
    let sam = user("sam", Role::Supervisor, Some("north"));
    let bo = user("bo", Role::Investigator, Some("south"));
    let olga = user("olga", Role::Owner, None);
    let root = user("root", Role::Admin, None);
    let opened = cases.create(&ana, "2026-0042", "Hit and run, Main St", Utc::now()).unwrap();
    assert_eq!((opened.agency.as_str(), opened.created_by.as_str()), ("north", "ana"));

    // Another agency cannot take the id, nor see the case: it is "not found".
    assert!(matches!(cases.create(&bo, "2026-0042", "mine now", Utc::now()), Err(CaseError::Exists(_))));
    assert!(matches!(cases.create(&sam, "2026-0042", "again", Utc::now()), Err(CaseError::Exists(_))));
    assert!(matches!(cases.get(&bo, "2026-0042"), Err(CaseError::NotFound(_))));
    assert!(cases.visible_to(&bo).unwrap().0.is_empty());
    assert_eq!(cases.get(&sam, "2026-0042").unwrap(), opened);
    assert_eq!(cases.get(&root, "2026-0042").unwrap(), opened, "admins see every case");
    // Owners and admins open none; ids that would be paths or query syntax are refused.
    for who in [&olga, &root] {
        assert!(matches!(cases.create(who, "x-1", "t", Utc::now()), Err(CaseError::NotYours(_))));
    }
    for id in ["../x", "a/b", "", ".hidden", "case:1", &"x".repeat(65)] {
        assert!(matches!(cases.create(&ana, id, "t", Utc::now()), Err(CaseError::Invalid(_))), "{id}");
        assert!(matches!(cases.get(&ana, id), Err(CaseError::NotFound(_))), "{id}");
    }
    assert!(matches!(cases.create(&ana, "2026-0043", "  ", Utc::now()), Err(CaseError::Invalid(_))));
    cases.create(&bo, "s-1", "Depot break-in", Utc::now()).unwrap();
    let ids =
        |who: &Principal| cases.visible_to(who).unwrap().0.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(ids(&ana), ["2026-0042"]);
    assert_eq!(ids(&bo), ["s-1"]);
    assert_eq!(ids(&root).len(), 2);
    assert!(ids(&olga).is_empty());
}

#[test]
fn cases_belong_to_their_agency_on_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    attacks(Arc::new(LocalStore::new(dir.path())));
}

#[test]
fn cases_belong_to_their_agency_on_s3() {
    let server = S3Server::start();
    attacks(Arc::new(S3Store::new(server.config("canvass/")).unwrap()));
}
