//! `canvass run` end to end: the binary, real footage, real bad files.

mod support;

use canvass_store::ObjectStore;
use support::*;

fn ingest_log(data: &std::path::Path) -> Vec<serde_json::Value> {
    let store = data_store(data);
    let entries = store.list(canvass_store::keys::INGEST_LOG).unwrap();
    entries.iter().map(|o| serde_json::from_slice(&store.get(&o.key).unwrap()).unwrap()).collect()
}

#[test]
fn run_on_sample_footage_succeeds_and_logs_each_input() {
    let data = tempfile::tempdir().unwrap();
    let out = canvass()
        .arg("run")
        .arg("--data")
        .arg(data.path())
        .arg(sample_video("opencv4nodejs_traffic.mp4"))
        .arg(sample_video("pistol_range.mp4"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("opencv4nodejs_traffic"), "{stdout}");
    // 20 s and 6.8 s at 2 fps: every sampled frame crossed the in-process queue.
    assert!(stdout.contains("54 frames ("), "{stdout}");
    // Events: in the lake under the data folder, each with a thumbnail.
    let lake = canvass_store::EventLake::new(data_store(data.path()));
    let (events, _) = lake.scan(&canvass_store::Pruning::default()).unwrap();
    let weapons: Vec<_> = events.iter().filter(|e| e.category == canvass_schemas::Category::Weapon).collect();
    assert_eq!(weapons.len(), 1, "{weapons:?}");
    assert_eq!(weapons[0].source_id, "pistol_range", "no weapon on the traffic clip");
    assert_eq!(&lake.thumbnail(&weapons[0].thumbnail_key).unwrap()[..2], &[0xff, 0xd8]);
    assert!(events.iter().any(|e| e.source_id == "opencv4nodejs_traffic"));
    let log = ingest_log(data.path());
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["frames_sampled"], 40);
    assert_eq!(log[0]["wall_clock_source"], "ingest");
    assert_eq!(log[1]["source_id"], "pistol_range");
    assert_eq!(log[1]["wall_clock_source"], "container");
}

#[test]
fn a_batch_with_bad_files_reports_each_one_and_finishes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let notes = dir.path().join("notes.mp4");
    std::fs::write(&notes, "not a video\n").unwrap();
    let missing = dir.path().join("missing.mp4");
    let data = dir.path().join("data");
    let summary = dir.path().join("summary.json");
    let out = canvass()
        .arg("run")
        .arg("--data")
        .arg(&data)
        .arg("--summary")
        .arg(&summary)
        .arg(&empty)
        .arg(sample_video("pistol_range.mp4"))
        .arg(&notes)
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = text(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 3, "{stderr}");
    assert!(errors[0].contains("empty.mp4: file is empty"), "{}", errors[0]);
    assert!(errors[1].contains("notes.mp4: cannot open: not a video file"), "{}", errors[1]);
    assert!(errors[2].contains("missing.mp4: no such file"), "{}", errors[2]);
    assert!(stderr.contains("3 of 4 inputs failed"), "{stderr}");
    // The good file in the middle of the batch was ingested in full.
    let log = ingest_log(&data);
    let good: Vec<_> = log.iter().filter(|e| e["ok"] == true).collect();
    assert_eq!(good.len(), 1);
    assert_eq!(good[0]["frames_decoded"], 204);
    assert_eq!(good[0]["frames_sampled"], 14);
    // The summary says the same, input by input.
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let ok: Vec<bool> = summary["inputs"].as_array().unwrap().iter().map(|i| i["ok"] == true).collect();
    assert_eq!(ok, vec![false, true, false, false], "{summary}");
    assert!(summary["inputs"][0]["error"].as_str().unwrap().contains("file is empty"), "{summary}");
    assert_eq!(summary["inputs"][1]["frames_sampled"], 14);
    assert_eq!(
        (summary["totals"]["inputs"].as_u64(), summary["totals"]["failed"].as_u64()),
        (Some(4), Some(3))
    );
}

#[test]
fn settings_come_from_the_config_file_unless_a_flag_overrides_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("canvass.toml");
    std::fs::write(&config, format!("data_dir = {:?}\n[ingest]\nfps = 1.0\n", dir.path().join("data")))
        .unwrap();
    let clip = sample_video("pistol_range.mp4");
    let out = canvass().arg("--config").arg(&config).arg("run").arg(&clip).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let out =
        canvass().arg("--config").arg(&config).arg("run").arg("--fps").arg("0").arg(&clip).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let out = canvass()
        .env("CANVASS_FPS", "4")
        .arg("--config")
        .arg(&config)
        .arg("run")
        .arg(&clip)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let log = ingest_log(&dir.path().join("data"));
    let sampled: Vec<u64> = log.iter().map(|e| e["frames_sampled"].as_u64().unwrap()).collect();
    // 6.8 s: 1 fps from the file, every frame from the flag, 4 fps from the environment.
    assert_eq!(sampled, vec![7, 204, 28]);
}

#[test]
fn usage_errors_exit_with_status_two() {
    let clip = sample_video("pistol_range.mp4");
    let data = tempfile::tempdir().unwrap();
    let bad_fps =
        canvass().args(["run", "--fps=-1"]).arg("--data").arg(data.path()).arg(&clip).output().unwrap();
    assert_eq!(bad_fps.status.code(), Some(2), "{}", describe(&bad_fps));
    assert!(text(&bad_fps.stderr).contains("--fps"), "{}", describe(&bad_fps));
    let two_starts = canvass()
        .args(["run", "--start", "2026-01-01T00:00:00Z"])
        .arg("--data")
        .arg(data.path())
        .arg(&clip)
        .arg(&clip)
        .output()
        .unwrap();
    assert_eq!(two_starts.status.code(), Some(2), "{}", describe(&two_starts));
    let bad_config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad_config.path(), "[ingest]\nfsp = 3\n").unwrap();
    let out = canvass().arg("--config").arg(bad_config.path()).arg("run").arg(&clip).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("fsp"), "{}", describe(&out));
}

#[test]
fn dumped_frames_are_the_sampled_jpegs() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    let out = canvass()
        .arg("run")
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(["--source", "Range Cam 1", "--dump-frames"])
        .arg(&frames)
        .arg(sample_video("pistol_range.mp4"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let mut names: Vec<String> = std::fs::read_dir(frames.join("range-cam-1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 14);
    assert_eq!(names[0], "000000_00000000000us.jpg");
    let jpeg = std::fs::read(frames.join("range-cam-1").join(&names[1])).unwrap();
    assert_eq!(&jpeg[..2], &[0xff, 0xd8], "a JPEG file");
}

/// Everything `run` leaves in the data folder is encrypted, private to the service user, and
/// unreadable without the folder's key: tried with no key, another key, and a planted file.
#[test]
fn the_data_folder_is_encrypted_at_rest_and_needs_its_key() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    let folder = data.path().join("data");
    let run = |cmd: &mut std::process::Command| {
        cmd.arg("run").arg("--data").arg(&folder).arg(sample_video("pistol_range.mp4")).output().unwrap()
    };
    let out = run(&mut canvass());
    assert!(out.status.success(), "{}", describe(&out));
    // With its key, search reads the folder (and audits itself into it).
    let found = canvass().args(["search", "--json", "--data"]).arg(&folder).arg("gun").output().unwrap();
    assert!(found.status.success(), "{}", describe(&found));
    assert_eq!(serde_json::from_slice::<Vec<serde_json::Value>>(&found.stdout).unwrap().len(), 1);
    let mut files = Vec::new();
    let mut pending = vec![folder.clone()];
    while let Some(dir) = pending.pop() {
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { pending.push(path) } else { files.push(path) }
        }
    }
    let kinds = ["events/", "thumbs/", "audit/", "ingest/"];
    for kind in kinds {
        assert!(files.iter().any(|f| f.strip_prefix(&folder).unwrap().starts_with(kind)), "no {kind} object");
    }
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        assert_eq!(
            std::fs::metadata(file).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            file.display()
        );
        if file.ends_with("encryption/v1/key.json") {
            continue;
        }
        assert_eq!(&bytes[..4], b"CVE1", "{} is not encrypted", file.display());
        for plain in [&b"PAR1"[..], b"\xff\xd8\xff", b"pistol_range", b"firearm"] {
            assert!(!bytes.windows(plain.len()).any(|w| w == plain), "{} holds {plain:?}", file.display());
        }
    }
    // Without its key, or with another, the folder is refused with the reason, and nothing is
    // written into it.
    let before = files.len();
    let no_key = run(canvass()
        .env_remove("CANVASS_DATA_KEY")
        .env("CANVASS_DATA_KEY_FILE", data.path().join("none.key")));
    assert_eq!(no_key.status.code(), Some(2), "{}", describe(&no_key));
    assert!(
        text(&no_key.stderr).contains("is encrypted with key") && text(&no_key.stderr).contains("none.key"),
        "{}",
        describe(&no_key)
    );
    assert!(!data.path().join("none.key").exists(), "no new key made for an encrypted folder");
    let other = run(canvass().env("CANVASS_DATA_KEY", "11".repeat(32)));
    assert_eq!(other.status.code(), Some(2), "{}", describe(&other));
    assert!(text(&other.stderr).contains("the key given is"), "{}", describe(&other));
    let search = canvass()
        .args(["search", "--data"])
        .arg(&folder)
        .args(["gun"])
        .env("CANVASS_DATA_KEY", "11".repeat(32))
        .output()
        .unwrap();
    assert_eq!(search.status.code(), Some(2), "{}", describe(&search));
    let count = |dir: &std::path::Path| walkdir_count(dir);
    assert_eq!(count(&folder), before);
}

fn walkdir_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { walkdir_count(&p) } else { 1 })
        .sum()
}

/// `--summary`'s JSON: totals and one object per input.
fn run_summary(args: &[&str], data: &std::path::Path, inputs: &[&std::path::Path]) -> serde_json::Value {
    let summary = data.with_extension("summary.json");
    let out = canvass()
        .arg("run")
        .args(args)
        .arg("--data")
        .arg(data)
        .arg("--summary")
        .arg(&summary)
        .args(inputs)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap()
}

fn events_of(data: &std::path::Path) -> Vec<canvass_schemas::DetectionEvent> {
    let lake = canvass_store::EventLake::new(data_store(data));
    lake.scan(&canvass_store::Pruning::default()).unwrap().0
}

#[test]
fn a_still_camera_is_rarely_inferred_and_the_gate_loses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    // The pistol clip between 20 s of still camera either side (its first and last frames
    // held, with sensor noise), as a fixed camera records a quiet scene.
    let clip = dir.path().join("still_pistol_still.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(sample_video("pistol_range.mp4"))
        .args(["-vf", "scale=640:-2,tpad=start_duration=20:start_mode=clone:stop_duration=20:stop_mode=clone,noise=alls=4:allf=t"])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(status.success());
    let (gated_data, plain_data) = (dir.path().join("gated"), dir.path().join("plain"));
    let gated = run_summary(&[], &gated_data, &[&clip]);
    let plain = run_summary(&["--no-motion-gate"], &plain_data, &[&clip]);
    let (g, p) = (&gated["totals"], &plain["totals"]);
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    // 46.8 s at 2 fps, whatever the gate does.
    assert_eq!(n(g, "frames_sampled"), 94, "{g}");
    assert_eq!(n(p, "frames_sampled"), 94);
    assert_eq!(n(p, "frames_inferred"), 94, "ungated: every sample inferred");
    assert_eq!(n(p, "frames_static"), 0);
    assert_eq!(n(g, "frames_inferred") + n(g, "frames_static"), 94);
    // 40 of the 46.8 s are still: looked at only while the scene settles and, while a track
    // coasts, every 10 s.
    assert!(n(g, "frames_inferred") * 2 < n(p, "frames_inferred"), "gated {g}, ungated {p}");
    // Per input as in total, and the decode count agrees with the ingest log's.
    assert_eq!(gated["inputs"][0]["frames_inferred"], g["frames_inferred"]);
    assert_eq!(gated["inputs"][0]["frames_decoded"], ingest_log(&gated_data)[0]["frames_decoded"]);
    // Every event of the ungated run is found gated: same class, overlapping time.
    let found = events_of(&gated_data);
    let wanted = events_of(&plain_data);
    assert!(wanted.iter().any(|e| e.category == canvass_schemas::Category::Weapon), "{wanted:?}");
    for want in &wanted {
        assert!(
            found.iter().any(|e| e.class == want.class
                && e.media_start_us <= want.media_end_us
                && want.media_start_us <= e.media_end_us),
            "ungated event {:?} {}..{} us not found gated: {found:?}",
            want.class,
            want.media_start_us,
            want.media_end_us
        );
    }
    assert_eq!(n(g, "events") as usize, found.len());
}

#[test]
fn inputs_run_at_once_feed_one_detector_and_a_realtime_input_takes_its_own_length() {
    let data = tempfile::tempdir().unwrap();
    let (traffic, pistol) = (sample_video("opencv4nodejs_traffic.mp4"), sample_video("pistol_range.mp4"));
    let summary =
        run_summary(&["--parallel", "2", "--realtime"], &data.path().join("d"), &[&traffic, &pistol]);
    let inputs = summary["inputs"].as_array().unwrap();
    // In the order given, each sampled as a run of it alone samples it.
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0]["frames_sampled"], 40, "{summary}");
    assert_eq!(inputs[1]["frames_sampled"], 14);
    assert_eq!(summary["totals"]["frames_sampled"], 54);
    let events = events_of(&data.path().join("d"));
    assert!(events.iter().any(|e| e.source_id == "opencv4nodejs_traffic"));
    assert!(
        events
            .iter()
            .any(|e| e.source_id == "pistol_range" && e.category == canvass_schemas::Category::Weapon)
    );
    // Read at the clips' own rate: never faster than their media time (a lower bound only).
    for input in inputs {
        let (wall, media) = (input["wall_s"].as_f64().unwrap(), input["media_s"].as_f64().unwrap());
        assert!(wall >= media - 0.5, "{input}");
    }
}
