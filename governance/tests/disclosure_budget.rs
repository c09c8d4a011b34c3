//! No mass download: one disclosure budget per user, kept in the store. Tried as an attacker
//! would (more replicas taking at once, a restart, a name built to escape its records), on the
//! data folder and on a real S3-compatible server (s3s-fs).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use canvass_governance::{DisclosureBudget, DisclosureError};
use canvass_store::testing::S3Server;
use canvass_store::{LocalStore, ObjectStore, S3Store, Store, keys};
use chrono::{Duration, TimeZone, Utc};

/// `concurrent`: the replicas take at the same moment from threads; otherwise in turns.
fn attacks(replica: &(dyn Fn() -> Store + Sync), concurrent: bool) {
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 30, 0).unwrap();
    // Four replicas of the service, each with its own handle on the store, spend one budget:
    // two show one event at a time, two a page of three.
    let granted = AtomicU64::new(0);
    let take = |budget: &DisclosureBudget<Store>, events: u64| match budget.take("ana", events, now) {
        Ok(_) => {
            granted.fetch_add(events, Ordering::Relaxed);
        }
        Err(DisclosureError::Exceeded { .. }) => {}
        Err(e) => panic!("{e}"),
    };
    let replicas: Vec<_> = (0..4).map(|_| DisclosureBudget::new(replica(), 30, 24)).collect();
    if concurrent {
        std::thread::scope(|scope| {
            for (i, budget) in replicas.iter().enumerate() {
                let take = &take;
                scope.spawn(move || (0..12).for_each(|_| take(budget, 1 + 2 * (i as u64 % 2))));
            }
        });
    } else {
        (0..12).for_each(|_| replicas.iter().enumerate().for_each(|(i, b)| take(b, 1 + 2 * (i as u64 % 2))));
    }
    let granted = granted.into_inner();
    assert!((28..=30).contains(&granted), "{granted} granted of a budget of 30");
    assert_eq!(replicas[0].usage("ana", now).unwrap().used, granted, "what was granted is what is counted");
    // The ones have the last word: whatever a page of three could not take, they filled.
    while replicas[0].take("ana", 1, now).is_ok() {}
    assert_eq!(replicas[0].usage("ana", now).unwrap().used, 30);

    // A restarted service starts from what was spent, and says when the budget frees.
    let restarted = DisclosureBudget::new(replica(), 30, 24);
    let Err(refused @ DisclosureError::Exceeded { .. }) = restarted.take("ana", 1, now) else {
        panic!("a restart reset the budget")
    };
    let text = refused.to_string();
    assert!(text.contains("30 of 30") && text.contains("2026-12-02T12:00:00Z"), "{text}");
    assert_eq!(
        restarted.take("ana", 5, now + Duration::hours(24)).unwrap().used,
        5,
        "freed after the window"
    );

    // A user name that looks like a path stays inside its own records.
    let sneaky = "../user=616e61";
    restarted.take(sneaky, 3, now).unwrap();
    assert_eq!(restarted.usage("ana", now + Duration::hours(24)).unwrap().used, 5);
    assert!(replica().list("").unwrap().iter().all(|o| !o.key.contains("..")));
    assert!(replica().list(keys::DISCLOSURES).unwrap().len() >= 2);
}

#[test]
fn the_disclosure_budget_holds_on_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    attacks(&|| Arc::new(LocalStore::new(dir.path())) as Store, true);
}

#[test]
fn the_disclosure_budget_holds_on_s3() {
    let server = S3Server::start();
    // In turns, not racing: s3s-fs checks `If-None-Match: *` and then writes, two steps another
    // request can fall between (s3s-fs 0.14.1, `put_object`), where S3 itself decides a
    // conditional write atomically. The race is tried on the folder, whose create-if-absent
    // is one atomic link.
    attacks(&|| Arc::new(S3Store::new(server.config("canvass/")).unwrap()) as Store, false);
}
