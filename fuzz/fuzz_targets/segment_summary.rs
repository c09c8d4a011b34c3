//! Whatever bytes stand in for a segment summary, reading the lake answers, never panics.
#![no_main]

use canvass_store::{EventLake, LocalStore, ObjectStore, Pruning, keys};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = LocalStore::new(dir.path());
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("a valid day");
    let _ = store.put(&keys::summary(&keys::segment(day, "a")), data);
    let _ = EventLake::new(store).scan(&Pruning::default());
});
