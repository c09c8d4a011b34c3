//! Custody out: how long an investigator waits for a clip (request to first byte and to last
//! byte, through `canvass serve`, stream copy and re-encode, each clip cut cold), next to the
//! ffmpeg CLI cutting the same span; and how fast `canvass export` packages a case of about
//! 1 GB of evidence, next to `cp` + `sha256sum` of the same files (the least work a package
//! needs: read, hash, write).
//!   custody-bench --canvass target/release/canvass [--evidence-mb 1024] [--runs 5]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use canvass_benches::{Serve, free_port, investigator_config};
use canvass_store::evidence::{EvidenceStore, Submission, input_name};
use canvass_store::{EncryptedStore, EventLake, LocalStore, Secret256, Store};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// The canvass binary (a release build).
    #[arg(long)]
    canvass: PathBuf,
    /// Evidence in the exported case, about this many MB.
    #[arg(long, default_value_t = 1024)]
    evidence_mb: u64,
    /// Clips cut per method.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    #[arg(long, default_value = "/tmp/canvass-custody-bench")]
    dir: PathBuf,
}

const TOKEN: &str = "bench-token-0123456789";
const DATA_KEY: &str = "da7a00ffda7a00ffda7a00ffda7a00ffda7a00ffda7a00ffda7a00ffda7a00ff";
const AUDIT_KEY: &str = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
const SIGNING_KEY: &str = "5157a11e5157a11e5157a11e5157a11e5157a11e5157a11e5157a11e5157a11e";
const CASE: &str = "BENCH-1";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = std::fs::remove_dir_all(&args.dir);
    std::fs::create_dir_all(&args.dir)?;
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/media/video");
    // 1080p30 at a camera's 6 Mbit/s, 60 s: H.264 (copied) and the same as MPEG-4 part 2
    // (re-encoded); a moving, noisy pattern so the encoders do real work.
    let rate = ["-b:v", "6M", "-maxrate", "6M", "-bufsize", "12M", "-g", "60"];
    let source = ["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30,noise=alls=8:allf=t", "-t", "60"];
    let h264 = ffmpeg(
        &args.dir,
        "street-1080p-h264.mp4",
        &[&source[..], &["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"], &rate].concat(),
    )?;
    let mpeg4 = ffmpeg(
        &args.dir,
        "street-1080p-mpeg4.avi",
        &[&["-i", h264.to_str().unwrap(), "-c:v", "mpeg4"][..], &rate].concat(),
    )?;
    // The case's evidence: the sample clips looped to about the size asked.
    let big = ffmpeg(
        &args.dir,
        "long-evidence.mp4",
        &[
            "-stream_loop",
            &(args.evidence_mb / 3).max(1).to_string(),
            "-i",
            sample.join("car-detection.mp4").to_str().unwrap(),
            "-c",
            "copy",
        ],
    )?;

    let data = args.dir.join("data");
    let key = Secret256::from_hex(DATA_KEY)?;
    let store: Store = Arc::new(EncryptedStore::open(LocalStore::new(&data), &key)?);
    let mut copy_events = Vec::new();
    let mut reencode_events = Vec::new();
    for (file, events, first_n) in [(&h264, &mut copy_events, 0), (&mpeg4, &mut reencode_events, 50)] {
        let manifest = store_evidence(&store, file)?;
        for n in 0..args.runs as u64 {
            // Different spans (and ids): every clip is cut cold, none comes from serve's cache.
            events.push(event(
                &store,
                &manifest.sha256,
                first_n + n,
                5.0 + 9.0 * n as f64,
                8.0 + 9.0 * n as f64,
            )?);
        }
    }
    let manifest = store_evidence(&store, &big)?;
    for n in 0..4u64 {
        event_at(
            &store,
            "depot-1",
            &manifest.sha256,
            100 + n,
            30.0 + 60.0 * n as f64,
            34.0 + 60.0 * n as f64,
        )?;
    }

    let serve = Server::start(&args, &data)?;
    println!(
        "| clip (5 s + 3 s event + 5 s, 1080p30) | request to first byte | to last byte | MB | ffmpeg CLI, same span |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (how, events, file, codec) in [
        ("stream copy (H.264)", &copy_events, &h264, "copy"),
        ("re-encode (MPEG-4 part 2 to H.264)", &reencode_events, &mpeg4, "libx264"),
    ] {
        let (mut first, mut last, mut bytes, mut reference) = (Vec::new(), Vec::new(), 0usize, Vec::new());
        for (id, from) in events {
            let (f, l, n) = serve.timed_get(&format!("/v1/events/{id}/clip?case={CASE}&purpose=bench"))?;
            first.push(f);
            last.push(l);
            bytes = n;
            let out = args.dir.join("reference.mp4");
            let started = Instant::now();
            let mut cli = vec!["-v", "error", "-y"];
            let (ss, t) = (format!("{:.3}", from - 5.0), "13");
            cli.extend(["-ss", &ss, "-i", file.to_str().unwrap(), "-t", t, "-an", "-c:v", codec]);
            if codec == "libx264" {
                cli.extend(["-preset", "veryfast", "-pix_fmt", "yuv420p"]);
            }
            cli.extend(["-movflags", "+faststart", out.to_str().unwrap()]);
            run(Command::new("ffmpeg").args(&cli))?;
            reference.push(started.elapsed());
        }
        println!(
            "| {how} | {} | {} | {:.1} | {} |",
            median(&mut first),
            median(&mut last),
            bytes as f64 / 1e6,
            median(&mut reference)
        );
    }
    drop(serve);

    let size = |files: &[&PathBuf]| -> u64 {
        files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).sum()
    };
    let package = args.dir.join("case.zip");
    let export = |query: Option<&str>| -> anyhow::Result<Duration> {
        let started = Instant::now();
        let mut cmd = canvass(&args, &data);
        cmd.args(["export", "--case", CASE, "--purpose", "bench", "--out", package.to_str().unwrap()]);
        if let Some(query) = query {
            cmd.args(["--query", query]);
        }
        let out = cmd.output()?;
        if !out.status.success() {
            bail!("canvass export: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(started.elapsed())
    };
    // The big original and its 4 stream-copied clips only: the cost of moving evidence out.
    let depot = export(Some("camera:depot-1"))?;
    let depot_mb = std::fs::metadata(&package)?.len() as f64 / 1e6;
    let export = export(None)?;
    let evidence_bytes = size(&[&h264, &mpeg4, &big]);
    let started = Instant::now();
    let verified = canvass(&args, &data).args(["export", "verify", package.to_str().unwrap()]).output()?;
    if !verified.status.success() {
        bail!("canvass export verify: {}", String::from_utf8_lossy(&verified.stderr));
    }
    let verify = started.elapsed();
    let copies = args.dir.join("copies");
    std::fs::create_dir_all(&copies)?;
    let started = Instant::now();
    for file in [&h264, &mpeg4, &big] {
        run(Command::new("cp").arg(file).arg(&copies))?;
        run(Command::new("sha256sum").arg(file).stdout(Stdio::null()))?;
    }
    run(&mut Command::new("sync"))?;
    let reference = started.elapsed();
    let mb = evidence_bytes as f64 / 1e6;
    let package_mb = std::fs::metadata(&package)?.len() as f64 / 1e6;
    let big_mb = size(&[&big]) as f64 / 1e6;
    println!();
    println!("| export of a case ({mb:.0} MB of evidence in 3 files, 14 events) | time | MB/s of evidence |");
    println!("|---|---:|---:|");
    println!(
        "| `canvass export --query camera:depot-1`: one {big_mb:.0} MB original, 4 stream-copied clips (package {depot_mb:.0} MB) | {:.1} s | {:.0} |",
        depot.as_secs_f64(),
        big_mb / depot.as_secs_f64()
    );
    println!(
        "| `canvass export`: all 3 originals, 14 clips of which 5 re-encoded (package {package_mb:.0} MB) | {:.1} s | {:.0} |",
        export.as_secs_f64(),
        mb / export.as_secs_f64()
    );
    println!(
        "| `canvass export verify` | {:.1} s | {:.0} |",
        verify.as_secs_f64(),
        mb / verify.as_secs_f64()
    );
    println!(
        "| `cp` + `sha256sum` + `sync` of the same files | {:.1} s | {:.0} |",
        reference.as_secs_f64(),
        mb / reference.as_secs_f64()
    );
    Ok(())
}

fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> anyhow::Result<PathBuf> {
    let out = dir.join(name);
    run(Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).arg(&out))?;
    Ok(out)
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("{cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed");
    }
    Ok(())
}

fn store_evidence(store: &Store, file: &Path) -> anyhow::Result<canvass_store::evidence::Manifest> {
    let submission =
        Submission { case: CASE, submitted_by: "bench", source_id: Some("street-1"), request: None };
    Ok(EvidenceStore::new(store.clone()).put_file(file, &submission, chrono::Utc::now())?.0)
}

/// An event of the case in evidence `sha256`, from `from_s` to `to_s`: its event id, and `from_s`.
fn event(store: &Store, sha256: &str, n: u64, from_s: f64, to_s: f64) -> anyhow::Result<(String, f64)> {
    event_at(store, "street-1", sha256, n, from_s, to_s)
}

fn event_at(
    store: &Store,
    source: &str,
    sha256: &str,
    n: u64,
    from_s: f64,
    to_s: f64,
) -> anyhow::Result<(String, f64)> {
    let mut event = canvass_store::testing::event(source, chrono::Utc::now() - chrono::Duration::hours(1), n);
    event.input = input_name(CASE, sha256);
    event.case = Some(CASE.into());
    event.evidence_sha256 = Some(sha256.into());
    event.media_start_us = (from_s * 1e6) as i64;
    event.media_end_us = (to_s * 1e6) as i64;
    event.best_frame.media_time_us = event.media_start_us;
    let lake = EventLake::new(store.clone());
    lake.write(std::slice::from_ref(&event))?;
    lake.put_thumbnail(&event.thumbnail_key, b"\xff\xd8jpeg")?;
    Ok((event.event_id, from_s))
}

fn canvass(args: &Args, data: &Path) -> Command {
    let mut cmd = Command::new(&args.canvass);
    cmd.env("CANVASS_DATA", data)
        .env("CANVASS_DATA_KEY", DATA_KEY)
        .env("CANVASS_AUDIT_KEY", AUDIT_KEY)
        .env("CANVASS_SIGNING_KEY", SIGNING_KEY)
        .env("CANVASS_LOG", "warn");
    cmd
}

fn median(values: &mut [Duration]) -> String {
    values.sort();
    format!("{:.2} s", values[values.len() / 2].as_secs_f64())
}

/// `canvass serve` over the bench's data folder, and its port.
struct Server {
    _serve: Serve,
    port: u16,
}

impl Server {
    fn start(args: &Args, data: &Path) -> anyhow::Result<Server> {
        let port = free_port()?;
        let config = args.dir.join("serve.toml");
        std::fs::write(
            &config,
            format!(
                "[serve]\nlisten = \"127.0.0.1:{port}\"\ndisclosure_budget = 100000\nrequest_timeout_s = 300\n\n{}",
                investigator_config(TOKEN)
            ),
        )?;
        let open = canvass(args, data)
            .args(["case", "create", CASE, "--title", "bench", "--agency", "bench"])
            .output()?;
        if !open.status.success() {
            bail!("case create: {}", String::from_utf8_lossy(&open.stderr));
        }
        let serve = Serve::start(
            canvass(args, data).arg("--config").arg(&config).arg("serve").stderr(Stdio::null()),
            port,
        )?;
        Ok(Server { _serve: serve, port })
    }

    /// (request to first byte, to last byte, body bytes) of a GET.
    fn timed_get(&self, path: &str) -> anyhow::Result<(Duration, Duration, usize)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        let started = Instant::now();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
        )?;
        let mut first = [0u8; 1];
        stream.read_exact(&mut first)?;
        let to_first = started.elapsed();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest)?;
        let to_last = started.elapsed();
        let head = String::from_utf8_lossy(&rest[..rest.len().min(200)]).to_string();
        if !head.starts_with("TTP/1.1 200") {
            bail!("{path}: H{head}");
        }
        let body = rest.windows(4).position(|w| w == b"\r\n\r\n").map_or(0, |at| rest.len() - at - 4);
        Ok((to_first, to_last, body))
    }
}
