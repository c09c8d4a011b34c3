//! Whatever bytes stand in for an audit entry or head, `verify` answers, never panics.
#![no_main]

use canvass_governance::audit::{AuditKey, verify};
use canvass_store::{LocalStore, ObjectStore, keys};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = LocalStore::new(dir.path());
    let key = AuditKey::from_hex(&"42".repeat(32)).expect("a valid key");
    let _ = store.put(&keys::audit_entry(0), data);
    let _ = store.put(keys::AUDIT_HEAD, data);
    let _ = verify(&store, &key);
});
