//! Helpers for end-to-end tests of the `canvass` binary.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The set-up step's asset folder (`scripts/setup`), or `CANVASS_ASSETS`.
pub fn assets() -> PathBuf {
    std::env::var_os("CANVASS_ASSETS").map(PathBuf::from).unwrap_or_else(|| repo().join("assets"))
}

pub fn models_dir() -> PathBuf {
    assets().join("models")
}

/// The binary, run from the repository root (where `models/` is) with the set-up step's assets.
pub fn canvass() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_canvass"));
    // Plain log lines, not a progress bar, and no colour codes in captured output.
    cmd.env("NO_COLOR", "1").env_remove("CANVASS_CONFIG").current_dir(repo()).env("CANVASS_ASSETS", assets());
    cmd.env("CANVASS_AUDIT_KEY", TEST_AUDIT_KEY).env("CANVASS_DATA_KEY", TEST_DATA_KEY);
    cmd.env("CANVASS_SIGNING_KEY", TEST_SIGNING_KEY);
    // The case every command reading event data must name; tests of that requirement remove it.
    cmd.env("CANVASS_CASE", TEST_CASE).env("CANVASS_PURPOSE", "end-to-end test");
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        cmd.env("ORT_DYLIB_PATH", assets().join("lib/libonnxruntime.so"));
    }
    cmd
}

/// The audit key the binary gets in tests (`CANVASS_AUDIT_KEY`).
pub const TEST_AUDIT_KEY: &str = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";

pub fn audit_key() -> canvass_governance::audit::AuditKey {
    canvass_governance::audit::AuditKey::from_hex(TEST_AUDIT_KEY).unwrap()
}

/// The package signing key's seed the binary gets in tests (`CANVASS_SIGNING_KEY`).
pub const TEST_SIGNING_KEY: &str = "5157a11e5157a11e5157a11e5157a11e5157a11e5157a11e5157a11e5157a11e";

/// The data folder key the binary gets in tests (`CANVASS_DATA_KEY`).
pub const TEST_DATA_KEY: &str = "da7a00ffda7a00ffda7a00ffda7a00ffda7a00ffda7a00ffda7a00ffda7a00ff";
pub const TEST_CASE: &str = "2026-test-1";

/// A data folder as the binary sees it: decrypted with the test key (made encrypted if new).
pub fn data_store(dir: &Path) -> canvass_store::Store {
    let key = canvass_store::Secret256::from_hex(TEST_DATA_KEY).unwrap();
    std::sync::Arc::new(
        canvass_store::EncryptedStore::open(canvass_store::LocalStore::new(dir), &key).unwrap(),
    )
}

pub fn sample_video(name: &str) -> PathBuf {
    let dir = assets();
    let path = dir.join("media/video").join(name);
    assert!(path.is_file(), "{} is missing: run scripts/setup first", path.display());
    path
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn describe(out: &Output) -> String {
    format!("status {:?}\nstdout:\n{}\nstderr:\n{}", out.status.code(), text(&out.stdout), text(&out.stderr))
}
pub mod http;
