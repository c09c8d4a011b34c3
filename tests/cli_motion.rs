//! Motion attributes end to end: a clip with known motion (a real pickup from dog.jpg driven
//! right across a still scene, then parked in a registered zone), run through the real models,
//! searched by direction, dwell and zone.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use canvass_governance::registry::{AccessLevel, Camera, CameraRegistration, Registry, ZoneDefinition};
use support::*;

/// The pickup's box in dog.jpg (768x576), with a little road around it.
const PICKUP_CROP: &str = "crop=250:120:455:62";

/// An 18 s clip, 768x432 at 10 fps: the pickup drives right at 80 px/s for 6 s from x=20, then
/// stands at x=500 for 12 s. Its ground point starts at 0.19 of the width, ends at 0.81.
fn make_clip(dir: &Path) -> PathBuf {
    let out = dir.join("driveway_cam.mp4");
    let dog = assets().join("media/images/dog.jpg");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x6e6e6e:s=768x432:r=10:d=18", "-i"])
        .arg(&dog)
        .args([
            "-filter_complex",
            &format!("[1:v]{PICKUP_CROP}[car];[0:v][car]overlay=x='if(lt(t,6),20+80*t,500)':y=250"),
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-t",
            "18",
        ])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg could not make the clip");
    out
}

/// The camera, registered facing north with a driveway zone over the right of the frame.
fn register(data: &Path) {
    let registration = CameraRegistration {
        source_id: Some("driveway_cam".into()),
        stream_url: None,
        contact: "olga@example.org".into(),
        lat: 51.5,
        lon: -0.12,
        address: Some("12 Main Street".into()),
        description: None,
        access: AccessLevel::Request,
        condition_active: false,
        heading_deg: Some(0.0),
        zones: vec![ZoneDefinition {
            name: "driveway".into(),
            polygon: vec![[0.6, 0.5], [1.0, 0.5], [1.0, 1.0], [0.6, 1.0]],
        }],
    };
    registration.validate().unwrap();
    let camera =
        Camera { id: "d1".into(), owner: "olga".into(), updated_at: chrono::Utc::now(), registration };
    Registry::new(data_store(data)).register(&camera).unwrap();
}

fn lake() -> &'static PathBuf {
    static LAKE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &LAKE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            std::fs::create_dir_all(&data).unwrap();
            register(&data);
            let clip = make_clip(dir.path());
            let out = canvass()
                .args(["run", "--data"])
                .arg(&data)
                .args(["--start", "2026-11-20T08:00:00Z"])
                .arg(&clip)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", describe(&out));
            (dir, data)
        })
        .1
}

fn hits(query: &str) -> Vec<serde_json::Value> {
    let out = canvass()
        .args(["search", "--json", "--limit", "100", "--data"])
        .arg(lake())
        .args(query.split_whitespace())
        .output()
        .unwrap();
    assert!(out.status.success(), "{query}: {}", describe(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_pickup_is_found_by_its_direction_dwell_and_zone_and_not_by_others() {
    let all = hits("vehicle");
    let pickup = all
        .iter()
        .find(|h| h["media_end_s"].as_f64().unwrap() - h["media_start_s"].as_f64().unwrap() > 12.0)
        .unwrap_or_else(|| panic!("no vehicle tracked through the clip: {all:#?}"));
    let motion = &pickup["motion"];
    assert_eq!(motion["direction"], "right", "{pickup:#}");
    let heading = motion["heading_deg"].as_f64().unwrap();
    assert!((heading - 90.0).abs() < 20.0, "facing north, driving right is east: {heading}");
    let dwell = motion["dwell_s"].as_f64().unwrap();
    assert!((9.0..=13.0).contains(&dwell), "parked 12 s: {dwell}");
    assert_eq!(motion["zones"], serde_json::json!([{ "zone": "driveway", "entered": true, "left": false }]));
    let id = pickup["event_id"].clone();
    let found = |query: &str| hits(query).iter().any(|h| h["event_id"] == id);
    for query in [
        "vehicle direction:east",
        "vehicle heading east",
        "vehicle direction:right",
        "vehicle dwell:>8s",
        "vehicle zone:driveway",
        "vehicle near main st",
        "vehicle eastbound dwell:<1m zone:driveway",
    ] {
        assert!(found(query), "{query} should find the pickup");
    }
    for query in [
        "vehicle direction:north",
        "vehicle direction:west",
        "vehicle direction:left",
        "vehicle dwell:>30s",
        "vehicle zone:gate",
        "vehicle speed:>5",
        // "parked" means still for a minute or more; this one stood 12 s.
        "parked vehicle",
    ] {
        assert!(!found(query), "{query} should not find the pickup");
    }
}

#[test]
fn search_says_how_it_read_the_query() {
    let out = canvass()
        .args(["search", "--data"])
        .arg(lake())
        .args(["white", "pickup", "truck", "near", "main", "st", "yesterday", "afternoon"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let said = text(&out.stdout);
    for part in [
        "understood:",
        "what: pickup or truck",
        "colour: white",
        "hours: 12:00-18:00",
        "cameras: driveway_cam",
    ] {
        assert!(said.contains(part), "{part} missing: {said}");
    }
    let refused =
        canvass().args(["search", "--data"]).arg(lake()).args(["man", "with", "gun"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
    assert!(text(&refused.stderr).contains("\"firearm\""), "{}", describe(&refused));
    let typo = canvass().args(["search", "--data"]).arg(lake()).args(["white", "pikcup"]).output().unwrap();
    assert!(text(&typo.stderr).contains("did you mean pickup?"), "{}", describe(&typo));
    let nowhere = canvass()
        .args(["search", "--data"])
        .arg(lake())
        .args(["car", "near", "elm", "road"])
        .output()
        .unwrap();
    assert_eq!(nowhere.status.code(), Some(2), "a place with no camera never widens the search");
}
