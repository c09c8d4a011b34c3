//! Evidence upload throughput: a large file uploaded by tus through `canvass serve` into the
//! data folder and into an S3 server (s3s-fs), next to a plain copy of the same file (`cp`, and
//! an S3 multipart put with aws-sdk-s3), with the peak resident memory of `serve` (VmHWM).
//!   upload-bench [--size-mb 2048] [--chunk-mb 64] --canvass target/release/canvass

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use canvass_benches::{Serve, free_port, investigator_config};
use canvass_store::ObjectStore;
use canvass_store::testing::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Size of the test file.
    #[arg(long, default_value_t = 2048)]
    size_mb: u64,
    /// Bytes per tus PATCH request.
    #[arg(long, default_value_t = 64)]
    chunk_mb: u64,
    /// The canvass binary (a release build).
    #[arg(long)]
    canvass: PathBuf,
    /// Where the test file and the copies go.
    #[arg(long, default_value = "/tmp/canvass-upload-bench")]
    dir: PathBuf,
}

const TOKEN: &str = "bench-token-0123456789";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir)?;
    let file = args.dir.join(format!("evidence-{}mb.bin", args.size_mb));
    let size = args.size_mb * 1024 * 1024;
    if std::fs::metadata(&file).map(|m| m.len()).ok() != Some(size) {
        make_file(&file, size)?;
    }
    let mb = size as f64 / 1e6;
    let mut rows = Vec::new();

    let copy = args.dir.join("copy.bin");
    let started = Instant::now();
    run(Command::new("cp").arg(&file).arg(&copy))?;
    run(&mut Command::new("sync"))?;
    rows.push(("folder", "cp + sync", started.elapsed(), None));
    std::fs::remove_file(&copy)?;

    let data = args.dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let (took, peak) = through_serve(&args, &file, size, &["--data", data.to_str().unwrap()], None)?;
    run(&mut Command::new("sync"))?;
    rows.push(("folder", "canvass serve, tus (encrypted)", took, Some(peak)));
    std::fs::remove_dir_all(&data)?;

    let s3 = S3Server::start();
    let store = canvass_store::S3Store::new(s3.config("reference/"))?;
    let started = Instant::now();
    let bytes = std::fs::read(&file)?;
    store.put("evidence.bin", &bytes).context("the reference multipart put")?;
    rows.push(("S3 (s3s-fs)", "aws-sdk-s3 multipart put", started.elapsed(), None));
    drop(bytes);
    let config = format!(
        "[store]\nkind = \"s3\"\nbucket = \"{BUCKET}\"\nprefix = \"canvass/\"\nendpoint = \"{}\"\n\
         force_path_style = true\nallow_http = true\n",
        s3.endpoint
    );
    let (took, peak) = through_serve(&args, &file, size, &[], Some(&config))?;
    rows.push(("S3 (s3s-fs)", "canvass serve, tus", took, Some(peak)));

    println!("| store | how | {} MB in | MB/s | peak RSS of serve |", mb.round());
    println!("|---|---|---:|---:|---:|");
    for (store, how, took, peak) in rows {
        let peak = peak.map_or("".into(), |kb: u64| format!("{} MB", kb / 1024));
        println!(
            "| {store} | {how} | {:.1} s | {:.0} | {peak} |",
            took.as_secs_f64(),
            mb / took.as_secs_f64()
        );
    }
    Ok(())
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status()?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

/// Incompressible bytes (xorshift), written in 8 MiB pieces.
fn make_file(path: &Path, size: u64) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut buffer = vec![0u8; 8 << 20];
    let mut left = size;
    while left > 0 {
        for word in buffer.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(buffer.len() as u64) as usize;
        out.write_all(&buffer[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(())
}

/// Starts `serve` (no job runner: only the upload is measured), uploads `file` by tus, and
/// returns how long the upload took and serve's peak resident memory in kB.
fn through_serve(
    args: &Args,
    file: &Path,
    size: u64,
    data: &[&str],
    store: Option<&str>,
) -> anyhow::Result<(Duration, u64)> {
    let config = args.dir.join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[serve]\nmax_upload_bytes = {}\n\n{}",
            store.unwrap_or_default(),
            size * 2,
            investigator_config(TOKEN)
        ),
    )?;
    let port = free_port()?;
    let serve = Serve::start(
        Command::new(&args.canvass)
            .arg("--config")
            .arg(&config)
            .args(["serve", "--jobs", "off", "--listen", &format!("127.0.0.1:{port}")])
            .args(data)
            .env("CANVASS_DATA_KEY", "be".repeat(32))
            .env("CANVASS_AUDIT_KEY", "ad".repeat(32))
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        port,
    )?;
    let case = r#"{"id":"bench-1","title":"upload bench"}"#;
    let opened =
        request(port, "POST", "/v1/cases", &[("Content-Type", "application/json")], case.as_bytes())?;
    if !opened.0.starts_with("HTTP/1.1 201") && !opened.0.contains(" 409 ") {
        bail!("cannot open the case: {}", opened.0);
    }
    let started = Instant::now();
    let meta = format!("case {},filename {}", b64("bench-1"), b64("evidence.bin"));
    let (head, _) = request(
        port,
        "POST",
        "/v1/uploads",
        &[("Tus-Resumable", "1.0.0"), ("Upload-Length", &size.to_string()), ("Upload-Metadata", &meta)],
        b"",
    )?;
    let location = header(&head, "location").with_context(|| format!("no upload made: {head}"))?;
    let mut source = std::fs::File::open(file)?;
    let chunk = args.chunk_mb * 1024 * 1024;
    let mut offset = 0u64;
    while offset < size {
        let len = chunk.min(size - offset);
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        write!(
            stream,
            "PATCH {location} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\
             Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n\
             Content-Length: {len}\r\n\r\n"
        )?;
        std::io::copy(&mut (&mut source).take(len), &mut stream)?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        if !answer.starts_with("HTTP/1.1 204") {
            bail!("PATCH at {offset}: {answer}");
        }
        offset += len;
    }
    let took = started.elapsed();
    let status = std::fs::read_to_string(format!("/proc/{}/status", serve.0.id()))?;
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM")?;
    Ok((took, peak))
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}

/// One request; the response's head and body.
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes())?;
    stream.write_all(body)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    Ok((head.to_string(), body.to_string()))
}
