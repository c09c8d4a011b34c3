//! The clips the ingest benches run on: the shared sample clips as they are, and clips made
//! from them with the ffmpeg CLI (kept under the media folder between runs).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

pub struct BenchClip {
    pub label: &'static str,
    pub path: PathBuf,
}

/// The overhead clip (768x432 H.264, 12.5 fps, 30 s): a fixed camera over a road.
fn overhead(assets: &Path) -> PathBuf {
    assets.join("media/video/car-detection.mp4")
}

/// The clips of `ingest-bench`: a decode-bound 1080p VP9 clip, the inference-bound traffic
/// clip, the overhead clip, and the overhead clip between a minute of still camera (sensor
/// noise, nothing moving) either side, for motion gating.
pub fn ingest_set(assets: &Path, media: &Path) -> anyhow::Result<Vec<BenchClip>> {
    let overhead = overhead(assets);
    Ok(vec![
        BenchClip {
            label: "1080p VP9 (overhead upscaled, 30 fps), 10 s",
            path: make(
                media,
                "overhead_1080p30_vp9.webm",
                &["-i", &overhead.to_string_lossy()],
                &[
                    "-t",
                    "10",
                    "-vf",
                    "scale=1920:1080,fps=30",
                    "-c:v",
                    "libvpx-vp9",
                    "-deadline",
                    "realtime",
                    "-cpu-used",
                    "8",
                    "-b:v",
                    "6M",
                    "-g",
                    "60",
                ],
            )?,
        },
        BenchClip {
            label: "640x360 H.264 traffic, 20 s",
            path: assets.join("media/video/opencv4nodejs_traffic.mp4"),
        },
        BenchClip { label: "768x432 H.264 overhead, 30 s", path: overhead.clone() },
        BenchClip {
            label: "overhead + 60 s still each side, 150 s",
            path: make(
                media,
                "overhead_still_either_side.mp4",
                &["-i", &overhead.to_string_lossy()],
                &[
                    "-vf",
                    "tpad=start_duration=60:start_mode=clone:stop_duration=60:stop_mode=clone,noise=alls=4:allf=t",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    "-g",
                    "25",
                    "-pix_fmt",
                    "yuv420p",
                ],
            )?,
        },
    ])
}

/// A 1080p30 H.264 clip as a camera sends it: sensor noise, 6 Mbit/s, no B-frames, a keyframe
/// every 2 s and no others (a fixed GOP, no scene-cut keyframes); 20 s. (Upscaled footage alone
/// is smoother than a camera's and decodes faster.)
pub fn camera_1080p30(assets: &Path, media: &Path) -> anyhow::Result<PathBuf> {
    make(
        media,
        "overhead_1080p30_h264_camera_6mbps_gop60_20s.mp4",
        &["-i", &overhead(assets).to_string_lossy()],
        &[
            "-t",
            "20",
            "-vf",
            "scale=1920:1080,fps=30,noise=alls=6:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-b:v",
            "6M",
            "-maxrate",
            "6M",
            "-bufsize",
            "12M",
            "-bf",
            "0",
            "-g",
            "60",
            "-keyint_min",
            "60",
            "-sc_threshold",
            "0",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

/// `media/name`, made by the ffmpeg CLI from `input` (its input options: `-i FILE`, or `-f
/// lavfi -i SOURCE`) with `args`, unless it is there already.
pub fn make(media: &Path, name: &str, input: &[&str], args: &[&str]) -> anyhow::Result<PathBuf> {
    let path = media.join(name);
    if path.exists() {
        return Ok(path);
    }
    eprintln!("making {}", path.display());
    let partial = media.join(format!(".{name}.partial.{}", name.rsplit('.').next().unwrap_or("mp4")));
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(input)
        .args(args)
        .arg(&partial)
        .status()
        .context("the ffmpeg CLI is installed (scripts/setup)")?;
    if !status.success() {
        bail!("ffmpeg could not make {name}");
    }
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

/// A clip's length by ffprobe.
pub fn length(clip: &Path) -> anyhow::Result<std::time::Duration> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(clip)
        .output()?;
    let seconds: f64 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    Ok(std::time::Duration::from_secs_f64(seconds))
}
