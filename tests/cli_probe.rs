//! `canvass probe` end to end.

mod support;

use support::*;

#[test]
fn probe_prints_streams_duration_rate_and_codec() {
    let out = canvass().arg("probe").arg(sample_video("car-detection.mp4")).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("duration   30.208 s"), "{stdout}");
    assert!(stdout.contains("#0 video     h264 768x432 yuv420p 12.500 fps"), "{stdout}");
    assert!(stdout.contains("#1 audio     aac"), "{stdout}");
}

#[test]
fn probe_json_is_machine_readable() {
    let out = canvass().args(["probe", "--json"]).arg(sample_video("pistol_range.mp4")).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let video = &reports[0]["streams"][0];
    assert_eq!(video["codec"], "h264");
    assert_eq!(video["width"], 1280);
    assert_eq!(video["height"], 676);
    assert_eq!(reports[0]["creation_time"], "2022-03-11T01:14:46.000000Z");
}

#[test]
fn probe_of_a_bad_file_says_why_and_fails() {
    let notes = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    std::fs::write(notes.path(), "hello\n").unwrap();
    let out =
        canvass().arg("probe").arg(notes.path()).arg(sample_video("pistol_range.mp4")).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("not a video file"), "{}", describe(&out));
    assert!(text(&out.stdout).contains("pistol_range.mp4"), "the good file is still described");
}
