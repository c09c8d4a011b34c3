//! `ingest-bench`: `canvass run` on whole clips next to what a user would write instead (the
//! ffmpeg CLI piped into Python onnxruntime + numpy, `benches/ingest_reference.py`), with the
//! machine's limits beside them: the ffmpeg CLI decoding every frame (decode-only) and the
//! reference's time in `session.run` (inference-only). Runs are interleaved, median of
//! `--runs`; wall and CPU seconds of each whole process. Then motion gating: inferences and
//! events with the gate and without, the ungated run's events matched in the gated one by
//! class, time overlap and box.
//!
//! `benches/ingest-bench` builds what this needs and runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use canvass_benches::clips::{self, BenchClip};
use canvass_benches::measure::{Measured, median, run_measured};
use clap::Parser;
use serde_json::Value;

#[derive(Parser)]
struct Args {
    /// The canvass binary (a release build).
    #[arg(long, default_value = "target/release/canvass")]
    canvass: PathBuf,
    /// Python with onnxruntime and numpy.
    #[arg(long, default_value = "python3")]
    python: PathBuf,
    #[arg(long, default_value = "assets")]
    assets: PathBuf,
    /// Model (manifest name) both pipelines run.
    #[arg(long, default_value = "yolox_nano_coco")]
    model: String,
    #[arg(long, default_value_t = 2.0)]
    fps: f64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where generated clips are kept between runs.
    #[arg(long, default_value = "target/bench-media")]
    media: PathBuf,
}

#[derive(Default)]
struct ClipResult {
    canvass: Vec<Measured>,
    reference: Vec<Measured>,
    decode: Vec<Measured>,
    inference_s: Vec<f64>,
    gated: Option<Value>,
    ungated: Option<Value>,
    matched: Option<(usize, usize)>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.media)?;
    let clips = clips::ingest_set(&args.assets, &args.media)?;
    let work = tempfile::tempdir()?;
    let mut results: Vec<ClipResult> = clips.iter().map(|_| ClipResult::default()).collect();
    for run in 0..args.runs {
        for (clip, result) in clips.iter().zip(&mut results) {
            eprintln!("run {} of {}: {}", run + 1, args.runs, clip.label);
            let data = work.path().join(format!("gated-{run}"));
            let (measured, summary) = canvass_run(&args, &clip.path, &data, &[])?;
            result.canvass.push(measured);
            let (measured, out) = run_measured(Command::new(&args.python).args([
                Path::new("benches/ingest_reference.py").as_os_str(),
                clip.path.as_os_str(),
                args.model.as_ref(),
                args.fps.to_string().as_ref(),
                args.assets.as_os_str(),
            ]))?;
            let reference: Value = serde_json::from_slice(&out).context("the reference's JSON")?;
            result.inference_s.push(reference["inference_s"].as_f64().unwrap_or(f64::NAN));
            result.reference.push(measured);
            let (measured, _) = run_measured(
                Command::new("ffmpeg")
                    .args(["-v", "error", "-threads", "0", "-i"])
                    .arg(&clip.path)
                    .args(["-f", "null", "-"]),
            )?;
            result.decode.push(measured);
            if run == 0 {
                let plain = work.path().join("ungated");
                let (_, ungated) = canvass_run(&args, &clip.path, &plain, &["--no-motion-gate"])?;
                result.matched = Some(match_events(&args, &plain, &data)?);
                result.gated = Some(summary);
                result.ungated = Some(ungated);
                std::fs::remove_dir_all(&plain)?;
            }
            let _ = std::fs::remove_dir_all(&data);
        }
    }
    print_tables(&clips, &results);
    Ok(())
}

/// One `canvass run` of `clip` into `data`; its measure and `--summary`.
fn canvass_run(args: &Args, clip: &Path, data: &Path, extra: &[&str]) -> anyhow::Result<(Measured, Value)> {
    let summary = data.with_extension("summary.json");
    let (measured, _) = run_measured(
        Command::new(&args.canvass)
            .args(["run", "--log", "warn", "--model", &args.model, "--fps", &args.fps.to_string()])
            .arg("--data")
            .arg(data)
            .arg("--summary")
            .arg(&summary)
            .args(extra)
            .arg(clip),
    )?;
    let summary: Value = serde_json::from_slice(&std::fs::read(&summary)?)?;
    Ok((measured, summary["totals"].clone()))
}

/// Events of the ungated run (in `plain`) found in the gated one (in `gated`): same class,
/// overlapping media time, best-frame boxes overlapping (IoU >= 0.1). (found, of)
fn match_events(args: &Args, plain: &Path, gated: &Path) -> anyhow::Result<(usize, usize)> {
    let events = |data: &Path| -> anyhow::Result<Vec<Value>> {
        let mut found = Vec::new();
        for query in ["vehicle", "weapon"] {
            let out = Command::new(&args.canvass)
                .args(["search", "--log", "warn", "--case", "bench", "--purpose", "benchmark", "--json"])
                .args(["--limit", "1000", "--data"])
                .arg(data)
                .arg(query)
                .output()?;
            if !out.status.success() {
                bail!("canvass search {query}: {}", String::from_utf8_lossy(&out.stderr));
            }
            found.extend(serde_json::from_slice::<Vec<Value>>(&out.stdout)?);
        }
        Ok(found)
    };
    let (reference, candidates) = (events(plain)?, events(gated)?);
    let found = reference.iter().filter(|e| candidates.iter().any(|c| same_event(e, c))).count();
    Ok((found, reference.len()))
}

fn same_event(a: &Value, b: &Value) -> bool {
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let overlap =
        f(a, "media_start_s") <= f(b, "media_end_s") && f(b, "media_start_s") <= f(a, "media_end_s");
    let boxes = |v: &Value| -> Option<[f64; 4]> {
        let b = v["best_box"].as_array()?;
        let n: Vec<f64> = b.iter().filter_map(Value::as_f64).collect();
        (n.len() == 4).then(|| [n[0], n[1], n[0] + n[2], n[1] + n[3]])
    };
    let iou = match (boxes(a), boxes(b)) {
        (Some(p), Some(q)) => {
            let inter =
                (p[2].min(q[2]) - p[0].max(q[0])).max(0.0) * (p[3].min(q[3]) - p[1].max(q[1])).max(0.0);
            let area = |r: [f64; 4]| (r[2] - r[0]) * (r[3] - r[1]);
            inter / (area(p) + area(q) - inter)
        }
        _ => 0.0,
    };
    a["class"] == b["class"] && overlap && iou >= 0.1
}

fn print_tables(clips: &[BenchClip], results: &[ClipResult]) {
    println!(
        "\n| clip | canvass wall s | Python wall s | canvass / Python | ffmpeg decode-only s | ORT inference-only s | canvass / limit | canvass CPU s | Python CPU s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (clip, r) in clips.iter().zip(results) {
        let (c, p, d) = (
            median_of(&r.canvass, |m| m.wall_s),
            median_of(&r.reference, |m| m.wall_s),
            median_of(&r.decode, |m| m.wall_s),
        );
        let inference = median(r.inference_s.clone());
        println!(
            "| {} | {c:.2} | {p:.2} | {:.2} | {d:.2} | {inference:.2} | {:.2} | {:.2} | {:.2} |",
            clip.label,
            c / p,
            c / d.max(inference),
            median_of(&r.canvass, |m| m.cpu_s),
            median_of(&r.reference, |m| m.cpu_s),
        );
    }
    println!(
        "\n| clip | frames sampled | inferred, gated | inferred, ungated | fewer inferences | ungated events found gated | gated events |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (clip, r) in clips.iter().zip(results) {
        let (Some(g), Some(u), Some((found, of))) = (&r.gated, &r.ungated, r.matched) else { continue };
        let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
        println!(
            "| {} | {} | {} | {} | {:.1}x | {found} of {of} ({:.0}%) | {} |",
            clip.label,
            n(g, "frames_sampled"),
            n(g, "frames_inferred"),
            n(u, "frames_inferred"),
            n(u, "frames_inferred") as f64 / n(g, "frames_inferred").max(1) as f64,
            100.0 * found as f64 / of.max(1) as f64,
            n(g, "events"),
        );
    }
}

fn median_of(measured: &[Measured], f: impl Fn(&Measured) -> f64) -> f64 {
    median(measured.iter().map(f).collect())
}
