//! For tests (feature `testing`): a real HTTP webhook receiver that answers as scripted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// What the test hook does with each request, in order; after the script, 200.
#[derive(Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Reads the request and never answers.
    Hang,
}

pub struct Received {
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: std::time::Instant,
    /// The same moment by the wall clock, to set against an alert's frame time.
    pub received_at: chrono::DateTime<chrono::Utc>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Whether `X-Canvass-Signature` is `sha256=` and the HMAC-SHA256 of the body under
    /// `secret`, checked the way a receiver would (constant-time verify of the decoded tag).
    pub fn signed_by(&self, secret: &[u8]) -> bool {
        let Some(hex) = self.header("x-canvass-signature").and_then(|v| v.strip_prefix("sha256=")) else {
            return false;
        };
        let tag: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| hex.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
            .collect();
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
        tag.is_some_and(|tag| ring::hmac::verify(&key, &self.body, &tag).is_ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A webhook receiver on a free port: its URL, and what it received.
pub fn hook(script: Vec<Answer>) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/canvass?token=x", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let Some((name, value)) = line.trim_end().split_once(": ") else { break };
                headers.push((name.to_ascii_lowercase(), value.to_string()));
            }
            let length =
                headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            log.lock().unwrap().push(Received {
                headers,
                body,
                at: std::time::Instant::now(),
                received_at: chrono::Utc::now(),
            });
            match script.get(n).copied().unwrap_or(Answer::Status(200)) {
                Answer::Hang => std::mem::forget(stream),
                Answer::Status(code) => {
                    let _ =
                        write!(stream, "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                }
            }
        }
    });
    (url, received)
}

/// What `listen_sse` heard: when (wall clock) and the JSON of each `alert` event; the first
/// entry is `{"http": status}` of the stream's answer.
pub type Heard = Arc<Mutex<Vec<(chrono::DateTime<chrono::Utc>, serde_json::Value)>>>;

/// Listens to `canvass serve`'s alert stream (`GET path` on loopback `port`, with a bearer
/// token) on a thread of its own, as the page does.
pub fn listen_sse(port: u16, path: &str, token: &str) -> Heard {
    let heard: Heard = Arc::default();
    let log = heard.clone();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    // HTTP/1.0: the body comes unchunked, until the server closes.
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: canvass\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stream).lines();
        let status = lines.next().and_then(Result::ok).unwrap_or_default();
        let code: u64 = status.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        log.lock().unwrap().push((chrono::Utc::now(), serde_json::json!({ "http": code })));
        let mut event = String::new();
        for line in lines.map_while(Result::ok) {
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_string();
            } else if let Some(data) = line.strip_prefix("data:")
                && event == "alert"
                && let Ok(alert) = serde_json::from_str(data.trim())
            {
                log.lock().unwrap().push((chrono::Utc::now(), alert));
            }
        }
    });
    heard
}
