//! `alert-bench`: how late a firearm alert is. A real RTSP server (GStreamer's) plays the
//! pistol clip as a live camera, with 3 s of black between repeats so each repeat is a track
//! of its own; `canvass serve` runs the camera with a `firearm` rule whose webhook is this
//! bench's HTTP receiver, and the bench listens to the page's alert stream as an investigator.
//! Latency is from the wall-clock time of the frame that confirmed the track (the alert's
//! `confirmed_at`) to the webhook request and to the stream's message arriving. Embedded (one
//! `canvass serve`) and distributed (tansu, s3s-fs, `canvass detect`, `canvass ingest
//! --cameras`, `canvass serve --jobs kafka`).
//!
//! `benches/alert-bench` builds what this needs and runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use canvass_alerts::testing::{Received, hook, listen_sse};
use canvass_benches::{Process, free_port, wait_for_port};
use canvass_ingest::testing::RtspServer;
use canvass_store::testing::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use clap::Parser;
use serde_json::Value;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "target/release/canvass")]
    canvass: PathBuf,
    #[arg(long, default_value = "assets")]
    assets: PathBuf,
    #[arg(long, default_value = "target/bench-media")]
    media: PathBuf,
    /// Repeats of the pistol clip on the camera: one track (one alert) each.
    #[arg(long, default_value_t = 10)]
    tracks: usize,
    /// Modes to run: embedded, distributed.
    #[arg(long, value_delimiter = ',', default_value = "embedded,distributed")]
    modes: Vec<String>,
    /// The Kafka-protocol broker for the distributed mode (scripts/test-services builds it).
    #[arg(long, env = "CANVASS_TANSU")]
    tansu: Option<PathBuf>,
}

const TOKEN: &str = "bench-investigator-token-0123";
const SECRET: &str = "bench-dispatch-secret-0123";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.media)?;
    let camera_clip = camera_clip(&args.assets, &args.media, args.tracks)?;
    let length = canvass_benches::clips::length(&camera_clip)?;
    println!(
        "| mode | tracks alerted | webhook p50 ms | webhook p95 ms | webhook max ms | page stream p50 ms | page stream p95 ms |"
    );
    println!("|---|---|---|---|---|---|---|");
    for mode in &args.modes {
        let work = tempfile::tempdir()?;
        let camera = RtspServer::start(&camera_clip, None);
        let (url, webhooks) = hook(Vec::new());
        let rule = format!(
            "\n[[alerts]]\nname = \"firearm\"\nquery = \"firearm\"\nagency = \"bench\"\nwebhook = \"{url}\"\nsecret = \"{SECRET}\"\n\n"
        );
        let access = canvass_benches::investigator_config(TOKEN);
        let cameras = format!("[[cameras]]\nsource_id = \"gate\"\nurl = \"{}\"\n", camera.url(None));
        let port = free_port()?;
        let mut processes = Vec::new();
        // The distributed mode's bucket, stopped with the mode.
        let mut bucket = None;
        match mode.as_str() {
            "embedded" => {
                let config = work.path().join("c.toml");
                std::fs::write(&config, format!("{access}{rule}{cameras}"))?;
                processes.push(spawn(
                    &args,
                    &config,
                    &[
                        "serve",
                        "--data",
                        &path(&work.path().join("data")),
                        "--listen",
                        &format!("127.0.0.1:{port}"),
                    ],
                    &[],
                )?);
            }
            "distributed" => {
                let tansu = args.tansu.clone().context("--tansu (or CANVASS_TANSU): the broker to use")?;
                let s3 = S3Server::start();
                let kafka = free_port()?;
                let address = format!("tcp://127.0.0.1:{kafka}");
                let broker = Command::new(tansu)
                    .args([
                        "broker",
                        "--listener-url",
                        &address,
                        "--advertised-listener-url",
                        &address,
                        "--storage-engine",
                        "memory://tansu/",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()?;
                processes.push(Process(broker));
                wait_for_port(kafka)?;
                let config = work.path().join("c.toml");
                std::fs::write(
                    &config,
                    format!(
                        "[kafka]\nbrokers = \"127.0.0.1:{kafka}\"\npartitions = 2\n\n[store]\nkind = \"s3\"\nbucket = \"{BUCKET}\"\nendpoint = \"{}\"\nforce_path_style = true\nallow_http = true\n\n{access}{rule}{cameras}",
                        s3.endpoint
                    ),
                )?;
                let s3_env = [
                    ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
                    ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
                    ("AWS_REGION", "us-east-1"),
                ];
                processes.push(spawn(
                    &args,
                    &config,
                    &["serve", "--jobs", "kafka", "--listen", &format!("127.0.0.1:{port}")],
                    &s3_env,
                )?);
                wait_for_port(port)?;
                processes.push(spawn(&args, &config, &["detect"], &s3_env)?);
                processes.push(spawn(&args, &config, &["ingest", "--cameras"], &s3_env)?);
                bucket = Some(s3);
            }
            other => bail!("unknown mode {other}: embedded or distributed"),
        }
        wait_for_port(port)?;
        let page = listen_sse(port, "/v1/alerts/stream", TOKEN);
        // The whole clip plays, then the last track closes.
        std::thread::sleep(length + Duration::from_secs(8));
        let hooks: Vec<f64> = webhooks.lock().unwrap().iter().filter_map(webhook_latency_ms).collect();
        let stream: Vec<f64> = page
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, alert)| alert["phase"] == "opened")
            .filter_map(|(at, alert)| Some((*at - confirmed_at(alert)?).num_milliseconds() as f64))
            .collect();
        drop(processes);
        drop(bucket);
        let (p50, p95, max) = (percentile(&hooks, 0.5), percentile(&hooks, 0.95), percentile(&hooks, 1.0));
        println!(
            "| {mode} | {} of {} | {p50:.0} | {p95:.0} | {max:.0} | {:.0} | {:.0} |",
            hooks.len(),
            args.tracks,
            percentile(&stream, 0.5),
            percentile(&stream, 0.95)
        );
    }
    Ok(())
}

fn confirmed_at(alert: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    alert["confirmed_at"].as_str()?.parse().ok()
}

fn webhook_latency_ms(request: &Received) -> Option<f64> {
    let alert = request.json();
    Some((request.received_at - confirmed_at(&alert)?).num_milliseconds() as f64)
}

/// Nearest-rank percentile; NaN for none.
fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn spawn(args: &Args, config: &Path, command: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Process> {
    let mut cmd = Command::new(&args.canvass);
    cmd.arg("--config").arg(config).args(command).env("CANVASS_ASSETS", &args.assets);
    for key in ["CANVASS_AUDIT_KEY", "CANVASS_DATA_KEY", "CANVASS_SIGNING_KEY"] {
        cmd.env(key, "be9cbe9cbe9cbe9cbe9cbe9cbe9cbe9cbe9cbe9cbe9cbe9cbe9cbe9cbe9cbe9c");
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    Ok(Process(cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?))
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// The camera: the pistol clip then 3 s of black, `tracks` times, 640 px wide, H.264 with a
/// keyframe every second (as cameras send).
fn camera_clip(assets: &Path, media: &Path, tracks: usize) -> anyhow::Result<PathBuf> {
    let out = media.join(format!("alert-camera-{tracks}.mp4"));
    if out.is_file() {
        return Ok(out);
    }
    let pistol = assets.join("media/video/pistol_range.mp4");
    let once = media.join("alert-camera-once.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&pistol)
        .args(["-f", "lavfi", "-i", "color=black:s=640x338:r=30:d=3", "-filter_complex"])
        .arg("[0:v]scale=640:338,fps=30,setsar=1[p];[1:v]setsar=1[b];[p][b]concat=n=2:v=1[v]")
        .args([
            "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-bf", "0", "-pix_fmt",
            "yuv420p",
        ])
        .arg(&once)
        .status()?;
    if !status.success() {
        bail!("ffmpeg could not make the camera clip");
    }
    let loops = (tracks.max(1) - 1).to_string();
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-stream_loop", &loops, "-i"])
        .arg(&once)
        .args(["-c", "copy"])
        .arg(&out)
        .status()?;
    if !status.success() {
        bail!("ffmpeg could not repeat the camera clip");
    }
    Ok(out)
}
