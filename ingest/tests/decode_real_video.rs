//! Decoding real footage and real clips made by the ffmpeg CLI, with the real decoder.

mod common;

use canvass_ingest::{DecodeMode, IngestConfig, InputSpec};
use canvass_schemas::WallClockSource;
use common::*;

fn strictly_increasing(times: &[i64]) -> bool {
    times.windows(2).all(|w| w[0] < w[1])
}

#[test]
fn shared_clips_decode_every_frame_with_monotonic_timestamps() {
    // Frame counts as the containers index them (ffprobe -count_frames agrees).
    for (name, frames, width, height) in [
        ("car-detection.mp4", 377, 768, 432),
        ("opencv4nodejs_traffic.mp4", 480, 640, 360),
        ("pistol_range.mp4", 204, 1280, 676),
    ] {
        let out = ingest_path(&sample_video(name), 0.0);
        let report = out.result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report.frames_decoded, frames, "{name}");
        assert_eq!(out.frames.len() as u64, frames, "{name}: fps 0 keeps every frame");
        assert_eq!((report.width, report.height), (width, height), "{name}");
        assert_eq!(report.corrupt_packets, 0, "{name}");
        assert!(strictly_increasing(&media_times(&out.frames)), "{name}");
        assert_eq!(out.frames[0].media_time_us, 0, "{name}");
        let sequences: Vec<u64> = out.frames.iter().map(|f| f.sequence).collect();
        assert_eq!(sequences, (0..frames).collect::<Vec<_>>(), "{name}");
    }
}

#[test]
fn sampling_at_two_fps_lands_within_half_a_frame_of_each_slot() {
    // traffic: 23.976 fps (41.7 ms frames), 20 s; car-detection: 12.5 fps (80 ms), 30.2 s.
    for (name, half_frame_us, expected) in
        [("opencv4nodejs_traffic.mp4", 20_854, 40), ("car-detection.mp4", 40_000, 61)]
    {
        let out = ingest_path(&sample_video(name), 2.0);
        out.result.unwrap();
        assert_eq!(out.frames.len(), expected, "{name}");
        assert_on_grid(&out.frames, 2.0, half_frame_us);
    }
}

#[test]
fn frames_are_scaled_jpegs_of_the_right_size() {
    let out = ingest_path(&sample_video("pistol_range.mp4"), 1.0);
    out.result.unwrap();
    let header = &out.frames[0];
    assert_eq!((header.original_width, header.original_height), (1280, 676));
    assert_eq!((header.width, header.height), (640, 338));
    let image = image::load_from_memory_with_format(&out.images[0], image::ImageFormat::Jpeg).unwrap();
    assert_eq!((image.width(), image.height()), (640, 338));
    // Kafka's default message limit is 1 MB; a frame should be a small fraction of it.
    assert!(out.images.iter().all(|i| i.len() < 200_000));
}

#[test]
fn container_creation_time_sets_the_wall_clock_unless_overridden() {
    let out = ingest_path(&sample_video("car-detection.mp4"), 2.0);
    let report = out.result.unwrap();
    assert_eq!(report.wall_clock_source(), WallClockSource::Container);
    let expected_origin: chrono::DateTime<chrono::Utc> = "2018-04-19T22:46:00Z".parse().unwrap();
    assert_eq!(out.frames[0].wall_time, expected_origin);
    assert_eq!(
        out.frames[4].wall_time,
        expected_origin + chrono::Duration::microseconds(out.frames[4].media_time_us)
    );

    let start: chrono::DateTime<chrono::Utc> = "2026-01-02T03:04:05Z".parse().unwrap();
    let config = IngestConfig { start: Some(start), ..IngestConfig::default() };
    let out = ingest_with(sample_video("car-detection.mp4").to_str().unwrap(), &config);
    assert_eq!(out.result.unwrap().wall_clock_source(), WallClockSource::Operator);
    assert!(out.frames.iter().all(|f| f.wall_clock_source == WallClockSource::Operator));
    assert_eq!(out.frames[0].wall_time, start);
}

#[test]
fn file_without_creation_time_uses_ingest_time_and_says_so() {
    let before = chrono::Utc::now();
    let out = ingest_path(&sample_video("opencv4nodejs_traffic.mp4"), 2.0);
    assert_eq!(out.result.unwrap().wall_clock_source(), WallClockSource::Ingest);
    assert!(out.frames[0].wall_time >= before);
}

/// Generated clips: codec, container and timing cases the shared clips do not cover.
struct Case {
    name: &'static str,
    args: Vec<String>,
    frames: u64,
}

fn encoded(codec_args: &[&str]) -> Vec<String> {
    let mut args = lavfi_source("320x240", 25, 4.0);
    args.extend(codec_args.iter().map(|s| s.to_string()));
    args
}

#[test]
fn generated_clips_in_each_codec_decode_completely() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        Case {
            name: "h264_bframes.mp4",
            args: encoded(&["-c:v", "libx264", "-bf", "3", "-g", "25", "-pix_fmt", "yuv420p"]),
            frames: 100,
        },
        Case {
            name: "hevc.mp4",
            args: encoded(&[
                "-c:v",
                "libx265",
                "-x265-params",
                "log-level=error:bframes=4",
                "-pix_fmt",
                "yuv420p",
            ]),
            frames: 100,
        },
        Case {
            name: "vp9.webm",
            args: encoded(&["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k"]),
            frames: 100,
        },
        Case { name: "mjpeg.avi", args: encoded(&["-c:v", "mjpeg", "-q:v", "5"]), frames: 100 },
        Case {
            name: "h264_10bit.mkv",
            args: encoded(&["-c:v", "libx264", "-pix_fmt", "yuv420p10le"]),
            frames: 100,
        },
    ];
    for case in cases {
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let clip = make_clip(dir.path(), case.name, &args);
        let out = ingest_path(&clip, 0.0);
        let report = out.result.unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(report.frames_decoded, case.frames, "{}", case.name);
        assert_eq!(report.corrupt_packets, 0, "{}", case.name);
        let times = media_times(&out.frames);
        assert!(strictly_increasing(&times), "{}: {times:?}", case.name);
        // 25 fps: every frame 40 ms after the one before, B-frames or not.
        assert!(times.windows(2).all(|w| (w[1] - w[0] - 40_000).abs() <= 1_000), "{}: {times:?}", case.name);
        let sampled = ingest_path(&clip, 2.0);
        sampled.result.unwrap();
        assert_eq!(sampled.frames.len(), 8, "{}", case.name);
        assert_on_grid(&sampled.frames, 2.0, 20_000);
    }
}

#[test]
fn variable_frame_rate_clip_is_sampled_by_media_time() {
    let dir = tempfile::tempdir().unwrap();
    // 30 fps for the first second, then every third frame (10 fps): timestamps, not frame
    // counts, must drive the sampler.
    let clip = make_clip(
        dir.path(),
        "vfr.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=30",
            "-t",
            "4",
            "-vf",
            "select='lt(n\\,30)+not(mod(n\\,3))'",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let all = ingest_path(&clip, 0.0);
    all.result.unwrap();
    assert_eq!(all.frames.len(), 30 + 30, "30 frames in the first second, 10 fps for 3 s");
    let sampled = ingest_path(&clip, 2.0);
    sampled.result.unwrap();
    assert_eq!(sampled.frames.len(), 8);
    // Half of the largest source frame interval (100 ms at 10 fps).
    assert_on_grid(&sampled.frames, 2.0, 50_000);
}

#[test]
fn stream_whose_timestamps_start_at_ten_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let mut args =
        encoded(&["-c:v", "libx264", "-bf", "2", "-pix_fmt", "yuv420p", "-output_ts_offset", "10"]);
    args.push("-f".into());
    args.push("matroska".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let clip = make_clip(dir.path(), "offset.mkv", &args);
    let probe = canvass_ingest::probe(&InputSpec::parse(clip.to_str().unwrap())).unwrap();
    assert!((probe.start_s - 10.0).abs() < 0.1, "start {}", probe.start_s);
    let out = ingest_path(&clip, 2.0);
    let report = out.result.unwrap();
    assert_eq!(out.frames.len(), 8);
    // Media time counts from the start of the file, as a player shows it.
    assert_on_grid(&out.frames, 2.0, 20_000);
    assert!((report.media_end_us - 3_960_000).abs() <= 1_000, "{}", report.media_end_us);
}

#[test]
fn probe_describes_streams() {
    let report =
        canvass_ingest::probe(&InputSpec::parse(sample_video("car-detection.mp4").to_str().unwrap()))
            .unwrap();
    assert!((report.duration_s.unwrap() - 30.2).abs() < 0.1);
    let video = &report.streams[0];
    assert_eq!((video.kind.as_str(), video.codec.as_str()), ("video", "h264"));
    assert_eq!((video.width, video.height), (Some(768), Some(432)));
    assert!((video.frame_rate.unwrap() - 12.5).abs() < 0.01);
    assert_eq!(report.streams[1].kind, "audio");
}

#[test]
fn frames_sampling_does_not_need_are_not_decoded_and_the_samples_stay_on_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    // 8 s at 25 fps; B-frames nothing references (no pyramid), keyframes every 10 frames (0.4 s).
    let mut args = lavfi_source("320x240", 25, 8.0);
    args.extend(
        [
            "-c:v",
            "libx264",
            "-bf",
            "3",
            "-x264-params",
            "b-pyramid=none:b-adapt=0",
            "-g",
            "10",
            "-keyint_min",
            "10",
            "-sc_threshold",
            "0",
            "-pix_fmt",
            "yuv420p",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let clip = make_clip(dir.path(), "bframes_gop10.mp4", &args);
    let run = |decode| {
        let config = IngestConfig { fps: 2.0, decode, ..IngestConfig::default() };
        let out = ingest_with(clip.to_str().unwrap(), &config);
        let report = out.result.unwrap_or_else(|e| panic!("{decode:?}: {e}"));
        (report.frames_decoded, out.frames)
    };
    let (all_decoded, all) = run(DecodeMode::All);
    let (nonref_decoded, nonref) = run(DecodeMode::NonRef);
    let (key_decoded, keys) = run(DecodeMode::Keyframes);
    let (auto_decoded, auto) = run(DecodeMode::Auto);
    assert_eq!(all_decoded, 200);
    // About half the frames are unreferenced B-frames; only those nearest a sample are decoded.
    assert!(nonref_decoded <= 120, "non-reference skipping decoded {nonref_decoded} of 200");
    assert_eq!(key_decoded, 20, "one keyframe every 10 frames");
    // Auto skips B-frames, then, after eight equal keyframe gaps of 0.4 s (under the 0.5 s
    // between samples), decodes keyframes only.
    assert!(auto_decoded < nonref_decoded - 30, "auto decoded {auto_decoded}, nonref {nonref_decoded}");
    for (name, frames) in [("all", &all), ("nonref", &nonref), ("keyframes", &keys), ("auto", &auto)] {
        assert_eq!(frames.len(), 16, "{name}: 8 s at 2 fps");
        assert!(strictly_increasing(&media_times(frames)), "{name}");
        // A sample is the first decoded frame at or after its slot: with keyframes only, at
        // most 0.4 s after it.
        assert_on_grid(frames, 2.0, 400_000);
    }
    // Skipping unreferenced frames keeps the samples exactly where decoding everything puts them.
    assert_eq!(media_times(&nonref), media_times(&all));
    assert_on_grid(&all, 2.0, 20_000);
}
