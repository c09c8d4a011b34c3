//! A service on loopback with two agencies and every role, and a plain HTTP client.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use canvass_governance::Role;
use canvass_governance::access::{AccessConfig, Agency, User, token_hash};
use canvass_serve::{ServeSettings, Service};
use canvass_store::Store;
use canvass_store::testing::event;
use canvass_store::{EventLake, LocalStore};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

pub struct Server {
    pub addr: SocketAddr,
    /// Where the service's alert stream reads from: what a test publishes, subscribers hear.
    pub alerts: canvass_alerts::AlertFeed,
    pub dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

pub fn user(name: &str, role: Role, agency: Option<&str>) -> User {
    User {
        name: name.into(),
        role,
        agency: agency.map(String::from),
        token_sha256: token_hash(&format!("token-{name}")),
    }
}

pub fn start(settings: ServeSettings) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store: Store = Arc::new(LocalStore::new(dir.path()));
    start_on(store, dir, settings)
}

/// The service over `store`; `dir` is kept for the server's lifetime.
pub fn start_on(store: Store, dir: tempfile::TempDir, settings: ServeSettings) -> Server {
    let access = AccessConfig {
        agencies: vec![
            Agency { name: "north-pd".into(), sources: vec!["north-*".into()], retention_days: None },
            Agency { name: "south-pd".into(), sources: vec!["south-1".into()], retention_days: None },
        ],
        users: vec![
            user("ana", Role::Investigator, Some("north-pd")),
            user("sam", Role::Supervisor, Some("north-pd")),
            user("sue", Role::Supervisor, Some("south-pd")),
            user("bo", Role::Investigator, Some("south-pd")),
            user("root", Role::Admin, None),
            user("olga", Role::Owner, None),
            user("otto", Role::Owner, None),
        ],
    };
    access.validate().unwrap();
    let settings = ServeSettings { janitor_interval_s: 0, ..settings };
    // One rule from the config file; supervisors add theirs through the API.
    let configured = canvass_alerts::AlertRule {
        name: "north-guns".into(),
        query: "firearm".into(),
        webhook: None,
        secret: None,
        secret_env: None,
        min_confidence: None,
        agency: Some("north-pd".into()),
        sources: Vec::new(),
        cooldown_s: 0,
    };
    let rules = canvass_alerts::RuleBook::new(store.clone(), vec![configured]);
    let mut service = Service::new(store, access, settings, audit_key());
    service.alert_rules = Some(rules);
    let alerts = canvass_alerts::AlertFeed::default();
    service.alert_feed = Some(alerts.clone());
    service.signing_key = Some(signing_key());
    let service = Arc::new(service);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(canvass_serve::serve(service, listener, None, std::future::pending()));
    Server { addr, alerts, dir, _runtime: runtime }
}

/// The same service stopped and started again over its data folder.
pub fn restart(server: Server, settings: ServeSettings) -> Server {
    let Server { dir, _runtime, .. } = server;
    drop(_runtime);
    let store: Store = Arc::new(LocalStore::new(dir.path()));
    start_on(store, dir, settings)
}

/// The audit key every test service uses.
pub fn audit_key() -> canvass_governance::audit::AuditKey {
    canvass_governance::audit::AuditKey::from_hex(&"3c".repeat(32)).unwrap()
}

/// The key every test service signs export packages with.
pub fn signing_key() -> canvass_custody::SigningKey {
    canvass_custody::SigningKey::from_hex(&"5e".repeat(32)).unwrap()
}

/// The audit log of a test service's data folder.
pub fn audit_log(server: &Server) -> canvass_governance::AuditLog<LocalStore> {
    canvass_governance::AuditLog::new(LocalStore::new(server.dir.path()), audit_key())
}

pub fn at(minutes: i64) -> DateTime<Utc> {
    Utc::now() - Duration::hours(2) + Duration::minutes(minutes)
}

/// Red cars: three at north-1, one at north-2, two at south-1.
pub fn with_events(server: &Server) -> Vec<canvass_schemas::DetectionEvent> {
    with_events_in(EventLake::new(LocalStore::new(server.dir.path())))
}

pub fn with_events_in<S: canvass_store::ObjectStore>(
    lake: EventLake<S>,
) -> Vec<canvass_schemas::DetectionEvent> {
    let events = vec![
        event("north-1", at(1), 1),
        event("north-1", at(2), 2),
        event("north-1", at(3), 3),
        event("north-2", at(4), 4),
        event("south-1", at(5), 5),
        event("south-1", at(6), 6),
    ];
    lake.write(&events).unwrap();
    for e in &events {
        lake.put_thumbnail(&e.thumbnail_key, b"\xff\xd8jpeg").unwrap();
    }
    events
}

pub struct Response {
    pub status: u16,
    /// Status line and headers.
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_string()
    }
}

/// A plain HTTP/1.1 exchange, one connection per request.
pub fn call(server: &Server, method: &str, path: &str, who: Option<&str>, body: Option<&[u8]>) -> Response {
    let headers: &[(&str, &str)] =
        if body.is_some_and(|b| !b.is_empty()) { &[("Content-Type", "application/json")] } else { &[] };
    call_with(server, method, path, who, headers, body.unwrap_or_default())
}

/// `call` with headers of the caller's choosing (Content-Length is added).
pub fn call_with(
    server: &Server,
    method: &str,
    path: &str,
    who: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = send_head(server, method, path, who, headers, body.len());
    let _ = stream.write_all(body);
    read_response(stream)
}

/// Opens a connection and sends a request's head, announcing `length` body bytes: the caller
/// sends the body (or not all of it).
pub fn send_head(
    server: &Server,
    method: &str,
    path: &str,
    who: Option<&str>,
    headers: &[(&str, &str)],
    length: usize,
) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: canvass\r\nConnection: close\r\n");
    if let Some(who) = who {
        request.push_str(&format!("Authorization: Bearer token-{who}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if length > 0 || method == "PATCH" || method == "POST" {
        request.push_str(&format!("Content-Length: {length}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream
}

pub fn read_response(mut stream: TcpStream) -> Response {
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

impl Response {
    /// A response header's value (names compared without case).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
        })
    }
}

pub fn unchunk(mut data: &[u8]) -> Vec<u8> {
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

pub fn get(server: &Server, path: &str, who: &str) -> Response {
    call(server, "GET", path, Some(who), None)
}
