//! A plain HTTP/1.1 client and a tus uploader for end-to-end tests of `canvass serve`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {} {}", self.status, String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
        })
    }
}

/// One request on its own connection to `port` on loopback, with a bearer token.
pub fn call(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: canvass\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = unchunk(&body);
    }
    Response { status, head, body }
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 2 + size + 2..];
    }
}

pub fn get(port: u16, path: &str, token: &str) -> Response {
    call(port, "GET", path, token, &[], b"")
}

pub fn post_json(port: u16, path: &str, token: &str, body: serde_json::Value) -> Response {
    call(
        port,
        "POST",
        path,
        token,
        &[("Content-Type", "application/json")],
        &serde_json::to_vec(&body).unwrap(),
    )
}

/// Uploads `bytes` by tus in chunks of `chunk` bytes (each with its sha256 checksum), with
/// `metadata`; returns the last PATCH's response (its `X-Canvass-Job` names the job).
pub fn tus_upload(port: u16, token: &str, bytes: &[u8], chunk: usize, metadata: &[(&str, &str)]) -> Response {
    let meta: Vec<String> = metadata.iter().map(|(k, v)| format!("{k} {}", STANDARD.encode(v))).collect();
    let length = bytes.len().to_string();
    let created = call(
        port,
        "POST",
        "/v1/uploads",
        token,
        &[("Tus-Resumable", "1.0.0"), ("Upload-Length", &length), ("Upload-Metadata", &meta.join(","))],
        b"",
    );
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    let location = created.header("location").unwrap();
    let mut offset = 0;
    loop {
        let end = (offset + chunk).min(bytes.len());
        let piece = &bytes[offset..end];
        let digest = format!("sha256 {}", STANDARD.encode(Sha256::digest(piece)));
        let at = offset.to_string();
        let sent = call(
            port,
            "PATCH",
            &location,
            token,
            &[
                ("Tus-Resumable", "1.0.0"),
                ("Content-Type", "application/offset+octet-stream"),
                ("Upload-Offset", &at),
                ("Upload-Checksum", &digest),
            ],
            piece,
        );
        assert_eq!(sent.status, 204, "{}", String::from_utf8_lossy(&sent.body));
        offset = end;
        if offset == bytes.len() {
            return sent;
        }
    }
}

/// Polls job `id` until it is done or failed; panics after `limit`.
pub fn wait_for_job(port: u16, token: &str, id: &str, limit: Duration) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let job = get(port, &format!("/v1/jobs/{id}"), token).json();
        if matches!(job["state"].as_str(), Some("done" | "failed")) {
            return job;
        }
        assert!(started.elapsed() < limit, "job {id} not finished after {limit:?}: {job}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A `canvass serve` child process, stopped when dropped.
pub struct Serve {
    child: std::process::Child,
    pub port: u16,
    log: std::path::PathBuf,
}

impl Serve {
    /// `canvass --config CONFIG serve --data DATA EXTRA...` on a free loopback port, its output
    /// in `log`; returns once it listens.
    pub fn start(
        config: &std::path::Path,
        data: &std::path::Path,
        extra: &[&std::ffi::OsStr],
        log: &std::path::Path,
    ) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let out = std::fs::File::create(log).unwrap();
        let child = super::canvass()
            .arg("--config")
            .arg(config)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data)
            .args(extra)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let serve = Serve { child, port, log: log.to_path_buf() };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "canvass serve did not start:\n{}",
                serve.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        serve
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
