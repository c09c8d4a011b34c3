//! `live-bench`: how many 1080p30 H.264 live cameras one machine keeps up with at 2 fps. Each
//! camera is the same camera-like clip (no B-frames, a keyframe every 2 s) read at its native
//! rate (`canvass run --realtime`), N at once in one `canvass run --parallel N`. A camera falls
//! behind when its ingest ends more than `--max-lag` seconds after the clip's length (decode or
//! the detector's back-pressure could not keep up). Before: every frame decoded and every
//! sample inferred (`--decode all --no-motion-gate`); after: the defaults; and keyframes only
//! (`--decode keyframes`: one sample per keyframe, every 2 s on this camera).
//!
//! `benches/live-bench` builds what this needs and runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

use canvass_benches::clips;
use canvass_benches::measure::run_measured;
use clap::Parser;
use serde_json::Value;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "target/release/canvass")]
    canvass: PathBuf,
    #[arg(long, default_value = "assets")]
    assets: PathBuf,
    #[arg(long, default_value = "yolox_nano_coco")]
    model: String,
    #[arg(long, default_value = "target/bench-media")]
    media: PathBuf,
    /// Camera counts to try, in order; stops at the first that falls behind.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,6,8,10,12,16")]
    cameras: Vec<usize>,
    #[arg(long, default_value_t = 2.0)]
    max_lag: f64,
    /// Modes to run: before, after, keyframes.
    #[arg(long, value_delimiter = ',', default_value = "before,after,keyframes")]
    modes: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.media)?;
    let clip = std::fs::canonicalize(clips::camera_1080p30(&args.assets, &args.media)?)?;
    let length_s = canvass_benches::clips::length(&clip)?.as_secs_f64();
    let work = tempfile::tempdir()?;
    println!(
        "| mode | cameras | kept up | worst lag s | CPU use (of 2 cores) | frames decoded / sampled / inferred |"
    );
    println!("|---|---|---|---|---|---|");
    let modes: [(&str, &[&str]); 3] = [
        ("before", &["--decode", "all", "--no-motion-gate"]),
        ("after", &[]),
        ("keyframes", &["--decode", "keyframes"]),
    ];
    for (mode, flags) in modes.into_iter().filter(|(mode, _)| args.modes.iter().any(|m| m == mode)) {
        for &n in &args.cameras {
            let cameras: Vec<PathBuf> =
                (0..n).map(|i| camera(work.path(), &clip, i)).collect::<Result<_, _>>()?;
            let data = work.path().join(format!("{mode}-{n}"));
            let summary = data.with_extension("json");
            let (measured, _) = run_measured(
                Command::new(&args.canvass)
                    .args([
                        "run",
                        "--log",
                        "warn",
                        "--realtime",
                        "--model",
                        &args.model,
                        "--parallel",
                        &n.to_string(),
                    ])
                    .args(flags)
                    .arg("--data")
                    .arg(&data)
                    .arg("--summary")
                    .arg(&summary)
                    .args(&cameras),
            )?;
            let summary: Value = serde_json::from_slice(&std::fs::read(&summary)?)?;
            let lag = summary["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| i["wall_s"].as_f64().unwrap_or(f64::INFINITY) - length_s)
                .fold(0.0, f64::max);
            let t = &summary["totals"];
            let kept_up = lag <= args.max_lag;
            println!(
                "| {mode} | {n} | {} | {lag:.2} | {:.0}% | {} / {} / {} |",
                if kept_up { "yes" } else { "no" },
                100.0 * measured.cpu_s / measured.wall_s / 2.0,
                t["frames_decoded"],
                t["frames_sampled"],
                t["frames_inferred"],
            );
            let _ = std::fs::remove_dir_all(&data);
            if !kept_up {
                break;
            }
        }
    }
    Ok(())
}

/// Camera `i`: a link to the clip under its own name, so each is its own source.
fn camera(dir: &Path, clip: &Path, i: usize) -> std::io::Result<PathBuf> {
    let link = dir.join(format!("cam-{i:02}.mp4"));
    if !link.exists() {
        std::os::unix::fs::symlink(clip, &link)?;
    }
    Ok(link)
}
