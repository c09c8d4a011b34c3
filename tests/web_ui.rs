//! The investigator's web page end to end in headless Chromium: `canvass run` on the traffic
//! clip, `canvass serve` with the built page (`web/dist`, made by `scripts/setup`), then
//! `web/tests/browser.mjs` (playwright-core driving Debian's /usr/bin/chromium) signs in,
//! enters a case, searches "white car", opens an event and its footage, the timeline and the
//! camera map, and checks a refused query; uploads a clip to the case through a dropped
//! connection, watches its job finish and finds it by `case:`; and a camera owner answers one
//! footage request with footage and declines another. Screenshots of each view go to `web/screenshots/`
//! (or CANVASS_SCREENSHOTS).

mod support;

use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};
use support::http::Serve;
use support::{canvass, describe, repo, sample_video, text};

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn an_investigator_searches_the_sample_footage_in_a_real_browser() {
    let web = repo().join("web");
    assert!(
        web.join("dist/index.html").is_file(),
        "web/dist is missing: run scripts/setup (it builds the page)"
    );
    assert!(
        web.join("node_modules/playwright-core").is_dir(),
        "web/node_modules is missing: run scripts/setup"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(std::path::Path::new(&chromium).is_file(), "{chromium} is missing: run scripts/test-services");

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = canvass()
        .args(["run", "--start", "2026-11-20T10:00:00Z", "--data"])
        .arg(&data)
        .arg(sample_video("opencv4nodejs_traffic.mp4"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));

    let (investigator, owner) = ("investigator-token-0123456789", "owner-token-0123456789");
    let config = dir.path().join("canvass.toml");
    std::fs::write(
        &config,
        format!(
            "[[agencies]]\nname = \"metro\"\nsources = [\"opencv4nodejs_*\", \"pistol_*\"]\n\n\
             [[users]]\nname = \"ana\"\nrole = \"investigator\"\nagency = \"metro\"\ntoken_sha256 = \"{}\"\n\n\
             [[users]]\nname = \"shop\"\nrole = \"owner\"\ntoken_sha256 = \"{}\"\n",
            sha256(investigator),
            sha256(owner)
        ),
    )
    .unwrap();
    let server = Serve::start(
        &config,
        &data,
        &["--web-dir".as_ref(), web.join("dist").as_os_str()],
        &dir.path().join("serve.log"),
    );
    let port = server.port;

    let screenshots =
        std::env::var("CANVASS_SCREENSHOTS").map(std::path::PathBuf::from).unwrap_or(web.join("screenshots"));
    let out = Command::new("node")
        .arg(web.join("tests/browser.mjs"))
        .current_dir(&web)
        .env("CANVASS_URL", format!("http://127.0.0.1:{port}"))
        .env("CANVASS_TOKEN", investigator)
        .env("CANVASS_OWNER_TOKEN", owner)
        .env("CANVASS_SCREENSHOTS", &screenshots)
        .env("CANVASS_CLIP", sample_video("pistol_range.mp4"))
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\nserve log:\n{}", describe(&out), server.log());
    assert!(text(&out.stdout).contains("ok: screenshots"), "{}", describe(&out));
    for view in ["3-search", "4-event", "5-timeline", "6-camera-map", "7-refused", "9-case", "10-owner"] {
        assert!(screenshots.join(format!("{view}.png")).is_file(), "no screenshot of {view}");
    }
}
