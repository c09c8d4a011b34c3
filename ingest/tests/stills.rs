//! Stills cut from stored footage at a media time match the frames ingest sampled there.

mod common;

use canvass_ingest::frame_at;
use common::{ingest_path, make_clip, sample_video};

fn pixels(jpeg: &[u8]) -> image::RgbImage {
    image::load_from_memory(jpeg).unwrap().to_rgb8()
}

/// Mean absolute difference per channel, 0-255.
fn difference(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let total: u64 = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y) as u64).sum();
    total as f64 / a.as_raw().len() as f64
}

#[test]
fn a_still_at_a_sampled_time_is_that_frame() {
    let clip = sample_video("opencv4nodejs_traffic.mp4");
    let sampled = ingest_path(&clip, 2.0);
    sampled.result.as_ref().unwrap();
    for index in [0, 10, 25] {
        let header = &sampled.frames[index];
        let (jpeg, media_us) = frame_at(clip.to_str().unwrap(), header.media_time_us, 640).unwrap();
        assert_eq!(media_us, header.media_time_us, "frame {index}");
        let d = difference(&pixels(&jpeg), &pixels(&sampled.images[index]));
        assert!(d < 3.0, "frame {index} at {} us differs by {d:.1}", header.media_time_us);
        // A neighbouring sample is a different picture (the check above can fail).
        let other = difference(&pixels(&jpeg), &pixels(&sampled.images[index + 4]));
        assert!(other > d + 3.0, "frame {index}: {other:.1} vs {d:.1}");
    }
}

#[test]
fn a_still_past_the_end_is_the_last_frame_and_streams_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = common::lavfi_source("320x240", 10, 2.0);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let clip = make_clip(dir.path(), "short.mp4", &args);
    let (jpeg, media_us) = frame_at(clip.to_str().unwrap(), 60_000_000, 640).unwrap();
    assert!((1_800_000..2_000_000).contains(&media_us), "{media_us}");
    assert_eq!(pixels(&jpeg).dimensions(), (320, 240));
    let err = frame_at("rtsp://camera.invalid/live", 0, 640).unwrap_err().to_string();
    assert!(err.contains("stored files"), "{err}");
    let err = frame_at(dir.path().join("missing.mp4").to_str().unwrap(), 0, 640).unwrap_err().to_string();
    assert!(err.contains("no such file"), "{err}");
}
