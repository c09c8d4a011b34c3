//! Clips cut from stored footage: a span of real video as an MP4 a browser plays, copied from the
//! keyframe before the span when the codec allows, re-encoded to H.264 when it does not. The
//! ffprobe CLI, not canvass, says what the written file holds.

mod common;

use std::path::Path;
use std::process::Command;

use canvass_ingest::{ClipMethod, IngestError, clip, clip_reader};
use common::{make_clip, sample_video};

/// ffprobe's answer for the first video stream of `file`: `entries` of `section`, one per line.
fn ffprobe(file: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(args)
        .args(["-of", "csv=p=0"])
        .arg(file)
        .output()
        .expect("ffprobe is installed (scripts/setup)");
    assert!(out.status.success(), "ffprobe {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| l.trim_end_matches(',').to_string()).collect()
}

/// Presentation times (s) of the frames of `file`, in order; keyframes only if `keys`.
fn frame_times(file: &Path, keys: bool) -> Vec<f64> {
    let mut args = vec!["-show_entries", "frame=pts_time"];
    if keys {
        args.splice(0..0, ["-skip_frame", "nokey"]);
    }
    let mut times: Vec<f64> = ffprobe(file, &args).iter().filter_map(|l| l.parse().ok()).collect();
    times.sort_by(f64::total_cmp);
    times
}

fn codec(file: &Path) -> String {
    ffprobe(file, &["-show_entries", "stream=codec_name"]).join("")
}

/// Frames as ffprobe decodes them: all of them, or the file does not play through.
fn decoded_frames(file: &Path) -> usize {
    ffprobe(file, &["-count_frames", "-show_entries", "stream=nb_read_frames"]).join("").parse().unwrap()
}

#[test]
fn an_h264_span_is_copied_from_the_keyframe_before_it_and_starts_at_zero() {
    let source = sample_video("opencv4nodejs_traffic.mp4");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clip.mp4");
    let (from, to) = (7_300_000, 12_100_000);
    let made = clip(source.to_str().unwrap(), from, to, ClipMethod::Auto, &out).unwrap();
    assert_eq!(made.method, ClipMethod::Copy);
    assert_eq!(made.source_codec, "h264");
    assert_eq!(codec(&out), "h264");

    // The clip starts at the source's last keyframe at or before the span; its own times start
    // at 0 there.
    let keys = frame_times(&source, true);
    let key = keys.iter().copied().rfind(|k| *k <= from as f64 / 1e6 + 1e-3).unwrap();
    assert!(
        (made.start_us as f64 / 1e6 - key).abs() < 0.002,
        "starts at {} us, keyframe {key}",
        made.start_us
    );
    let gop = keys.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    let times = frame_times(&out, false);
    assert!(times[0].abs() < 0.001, "the first frame shows at {}", times[0]);
    let duration = times.last().unwrap() - times[0];
    let span = (to - from) as f64 / 1e6;
    assert!(
        duration >= span - 0.1 && duration <= span + gop,
        "{duration:.3} s for a {span} s span (GOP {gop:.2} s)"
    );
    assert_eq!(decoded_frames(&out), made.frames as usize, "every copied frame decodes");
    assert!((made.duration_us() as f64 / 1e6 - duration).abs() < 0.1, "{made:?} vs {duration}");
}

#[test]
fn a_codec_browsers_do_not_play_is_re_encoded_to_h264_from_the_first_frame_of_the_span() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = common::lavfi_source("640x360", 25, 8.0);
    args.extend(["-c:v", "mpeg4", "-g", "50"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let source = make_clip(dir.path(), "mpeg4.avi", &args);
    let out = dir.path().join("clip.mp4");
    let made = clip(source.to_str().unwrap(), 2_500_000, 5_500_000, ClipMethod::Auto, &out).unwrap();
    assert_eq!(made.method, ClipMethod::Reencode);
    assert_eq!(made.source_codec, "mpeg4");
    assert_eq!(codec(&out), "h264");
    assert!((2_480_000..=2_520_000).contains(&made.start_us), "{made:?}");
    let times = frame_times(&out, false);
    assert!(times[0].abs() < 0.001, "the first frame shows at {}", times[0]);
    // 3 s at 25 fps: 75 frames, give or take the frame at each edge.
    assert!((74..=77).contains(&times.len()), "{} frames", times.len());
    assert_eq!(decoded_frames(&out), made.frames as usize);

    // Copying it is refused, by name.
    let err = clip(source.to_str().unwrap(), 0, 1_000_000, ClipMethod::Copy, &out).unwrap_err();
    assert!(matches!(err, IngestError::UnsupportedCodec { .. }), "{err}");
    assert!(err.to_string().contains("mpeg4"), "{err}");
}

#[test]
fn a_re_encode_can_be_asked_for_and_a_clip_through_a_reader_is_the_same_as_by_path() {
    let source = sample_video("pistol_range.mp4");
    let dir = tempfile::tempdir().unwrap();
    let (by_path, by_reader) = (dir.path().join("a.mp4"), dir.path().join("b.mp4"));
    let a = clip(source.to_str().unwrap(), 1_000_000, 3_000_000, ClipMethod::Copy, &by_path).unwrap();
    let file = std::fs::File::open(&source).unwrap();
    let b = clip_reader(Box::new(file), 1_000_000, 3_000_000, ClipMethod::Copy, &by_reader).unwrap();
    assert_eq!(a, b);
    assert_eq!(std::fs::read(&by_path).unwrap(), std::fs::read(&by_reader).unwrap());

    let re = dir.path().join("re.mp4");
    let made = clip(source.to_str().unwrap(), 1_000_000, 3_000_000, ClipMethod::Reencode, &re).unwrap();
    assert_eq!(made.method, ClipMethod::Reencode);
    assert!((made.start_us - 1_000_000).abs() <= 34_000, "{made:?}");
    assert!((made.duration_us() - 2_000_000).abs() <= 70_000, "{made:?}");
    assert_eq!(decoded_frames(&re), made.frames as usize);
}

#[test]
fn bad_footage_and_bad_spans_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clip.mp4");
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, b"this is not a video, whatever its name says").unwrap();
    let err = clip(text.to_str().unwrap(), 0, 1_000_000, ClipMethod::Auto, &out).unwrap_err();
    assert!(err.to_string().contains("cannot open"), "{err}");

    // Cut short: with the index at the end nothing opens; with it first, what is there clips
    // and the lost half is past the end.
    let source = sample_video("car-detection.mp4");
    let indexed_first = make_clip(
        dir.path(),
        "first.mp4",
        &["-i", source.to_str().unwrap(), "-c", "copy", "-movflags", "+faststart"],
    );
    let indexed_last = make_clip(
        dir.path(),
        "last.mp4",
        &["-i", source.to_str().unwrap(), "-c", "copy", "-movflags", "-faststart"],
    );
    for (file, opens) in [(&indexed_first, true), (&indexed_last, false)] {
        let whole = std::fs::read(file).unwrap();
        let truncated = dir.path().join("cut.mp4");
        std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
        let made = clip(truncated.to_str().unwrap(), 1_000_000, 3_000_000, ClipMethod::Auto, &out);
        if opens {
            assert!(made.unwrap().frames > 10);
            let err = clip(truncated.to_str().unwrap(), 25_000_000, 26_000_000, ClipMethod::Auto, &out)
                .unwrap_err();
            assert!(matches!(err, IngestError::PastTheEnd { .. }), "{err}");
        } else {
            let err = made.unwrap_err();
            assert!(err.to_string().contains("cannot open"), "{err}");
        }
    }
    let err = clip(source.to_str().unwrap(), 500_000_000, 501_000_000, ClipMethod::Auto, &out).unwrap_err();
    assert!(matches!(err, IngestError::PastTheEnd { .. }), "{err}");
    assert!(err.to_string().contains("past the end of the footage (30."), "{err}");
    let err = clip(source.to_str().unwrap(), 2_000_000, 1_000_000, ClipMethod::Auto, &out).unwrap_err();
    assert!(err.to_string().contains("empty span"), "{err}");
    let err = clip("rtsp://camera.invalid/live", 0, 1_000_000, ClipMethod::Auto, &out).unwrap_err();
    assert!(err.to_string().contains("stored files"), "{err}");
}
