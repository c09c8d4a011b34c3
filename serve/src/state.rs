//! What every request handler shares, and the checks every handler makes first.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use canvass_governance::audit::AuditKey;
use canvass_governance::cases::Cases;
use canvass_governance::requests::Requests;
use canvass_governance::{AccessConfig, Action, AuditLog, DisclosureBudget, Holds, Principal, Registry};
use canvass_store::evidence::EvidenceStore;
use canvass_store::evidence::upload::Uploads;
use canvass_store::jobs::JobBook;
use canvass_store::{EventLake, Store};
use serde::Deserialize;
use sha2::Digest;

use crate::error::ApiError;
use crate::routes::uploads::Hashing;

/// Service settings beyond access (`[serve]` in the TOML file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeSettings {
    pub listen: String,
    /// Most events one export returns.
    pub export_max_events: usize,
    /// Events one user may be shown (search results, views, thumbnails, stills, exports) in
    /// any `disclosure_window_hours`: no mass download. Shared by restarts and replicas.
    pub disclosure_budget: u64,
    pub disclosure_window_hours: u32,
    /// Retention for sources of agencies without their own period.
    pub retention_days: u32,
    /// What an event's age counts from: `ingest` (when canvass stored it) or `footage`.
    pub retention_clock: canvass_governance::RetentionClock,
    /// Longest a legal hold may be placed for; a longer one is renewed, not placed forever.
    pub hold_max_days: u32,
    /// How often the janitor runs inside `serve`; 0 turns it off.
    pub janitor_interval_s: u64,
    /// Requests slower than this are cut off.
    pub request_timeout_s: u64,
    /// A client must send a request's whole head (request line and headers) within this: a
    /// slow-header client cannot hold connections open.
    pub header_read_timeout_s: u64,
    /// PEM certificate chain and private key: with both, `serve` speaks HTTPS.
    pub tls_cert: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
    /// Without a certificate, on a non-loopback address: where the self-signed one is kept
    /// [default: ~/.config/canvass/tls].
    pub tls_dir: Option<std::path::PathBuf>,
    /// Plain HTTP on a non-loopback address, because a proxy in front terminates TLS.
    pub behind_tls_proxy: bool,
    /// The investigator's web page (the set-up step builds it into `web/dist`); served at `/`.
    pub web_dir: Option<std::path::PathBuf>,
    /// Seconds of footage before and after an event in its clip.
    pub clip_margin_s: f64,
    /// The largest evidence file one upload may be (413 beyond it).
    pub max_upload_bytes: u64,
    /// An unfinished upload is removed this long after it began.
    pub upload_expiry_hours: u32,
    /// Who runs ingest jobs of uploaded evidence: `embedded` (this process, one at a time),
    /// `kafka` (the jobs topic, for `canvass ingest --jobs` workers) or `off` (they wait).
    pub jobs: JobRunner,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobRunner {
    Embedded,
    Kafka,
    Off,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            listen: "127.0.0.1:8480".into(),
            export_max_events: 100,
            disclosure_budget: 2000,
            disclosure_window_hours: 24,
            retention_days: 30,
            retention_clock: canvass_governance::RetentionClock::Ingest,
            hold_max_days: 730,
            janitor_interval_s: 3600,
            request_timeout_s: 30,
            header_read_timeout_s: 10,
            tls_cert: None,
            tls_key: None,
            tls_dir: None,
            behind_tls_proxy: false,
            web_dir: None,
            clip_margin_s: 5.0,
            max_upload_bytes: 50 * 1024 * 1024 * 1024,
            upload_expiry_hours: 24,
            jobs: JobRunner::Embedded,
        }
    }
}

/// Live cameras' health, from whoever runs them.
pub trait LiveStatus: Send + Sync {
    fn cameras(&self) -> Vec<canvass_schemas::CameraHealth>;
}

pub struct Service {
    pub lake: EventLake<Store>,
    pub audit: AuditLog<Store>,
    pub holds: Holds<Store>,
    pub registry: Registry<Store>,
    pub disclosures: DisclosureBudget<Store>,
    pub cases: Cases<Store>,
    pub requests: Requests<Store>,
    pub evidence: EvidenceStore<Store>,
    pub uploads: Uploads<Store>,
    pub jobs: JobBook<Store>,
    /// Where new jobs go: the embedded runner or the jobs topic; without one they wait queued
    /// in the store for a worker.
    pub job_queue: Option<Arc<dyn JobQueue>>,
    /// Whole-file hashes of uploads being received by this process.
    pub hashing: Mutex<HashMap<String, Hashing>>,
    /// Uploads a request of this process is writing.
    pub writing: Mutex<HashSet<String>>,
    pub exports: canvass_custody::exports::ExportBook,
    /// Alerts as they are raised, for the page's stream; `None` without alert rules.
    pub alert_feed: Option<canvass_alerts::AlertFeed>,
    /// The alert rules, for the API that shows and makes them.
    pub alert_rules: Option<canvass_alerts::RuleBook>,
    /// The live cameras this process runs, for their health.
    pub live: Option<Arc<dyn LiveStatus>>,
    /// Clips cut lately, for the range requests of the player that asked.
    pub clips: crate::routes::clips::ClipCache,
    /// Signs export packages; without it the service makes none.
    pub signing_key: Option<canvass_custody::SigningKey>,
    pub access: AccessConfig,
    pub settings: ServeSettings,
}

/// Where `serve` hands a new ingest job (its record is in the store already).
pub trait JobQueue: Send + Sync {
    fn submit(&self, id: &str) -> Result<(), String>;
}

#[derive(Clone)]
pub struct AppState(pub Arc<Service>);

impl Service {
    pub fn new(store: Store, access: AccessConfig, settings: ServeSettings, audit_key: AuditKey) -> Self {
        Service {
            lake: EventLake::new(store.clone()),
            audit: AuditLog::new(store.clone(), audit_key),
            holds: Holds::new(store.clone()),
            registry: Registry::new(store.clone()),
            cases: Cases::new(store.clone()),
            requests: Requests::new(store.clone()),
            evidence: EvidenceStore::new(store.clone()),
            uploads: Uploads::new(store.clone()),
            jobs: JobBook::new(store.clone()),
            job_queue: None,
            hashing: Mutex::new(HashMap::new()),
            writing: Mutex::new(HashSet::new()),
            clips: Default::default(),
            exports: canvass_custody::exports::ExportBook::new(store.clone()),
            alert_feed: None,
            alert_rules: None,
            live: None,
            signing_key: None,
            disclosures: DisclosureBudget::new(
                store,
                settings.disclosure_budget,
                settings.disclosure_window_hours,
            ),
            access,
            settings,
        }
    }

    /// Hands new jobs to `queue`.
    pub fn with_job_queue(self, queue: Arc<dyn JobQueue>) -> Self {
        Service { job_queue: Some(queue), ..self }
    }

    /// Passes a job (recorded already) to the queue; if that fails the record stays queued and
    /// a restart or a worker picks it up.
    pub fn queue_job(&self, job: &canvass_store::jobs::Job) {
        match &self.job_queue {
            Some(queue) => {
                if let Err(e) = queue.submit(&job.id) {
                    tracing::error!(job = %job.id, "cannot queue the job: {e}");
                }
            }
            None => tracing::warn!(job = %job.id, "no job runner here: the job waits in the store"),
        }
    }

    /// Spends `events` of the caller's disclosure budget before they are shown; refused (429,
    /// with when it frees) if the budget would go over.
    pub fn disclose(&self, who: &Principal, events: usize) -> Result<(), ApiError> {
        self.disclosures.take(&who.name, events as u64, chrono::Utc::now())?;
        Ok(())
    }

    /// Records an action by `who`.
    pub fn audit(
        &self,
        who: &Principal,
        action: &str,
        case: Option<&Case>,
        detail: serde_json::Value,
        count: Option<usize>,
    ) -> Result<(), ApiError> {
        self.audit.record(Action {
            actor: who.name.clone(),
            role: who.role.name().into(),
            action: action.into(),
            case: case.map(|c| c.case.clone()),
            purpose: case.map(|c| c.purpose.clone()),
            agency: who.agency.as_ref().map(|a| a.name.clone()),
            detail,
            result_count: count,
        })?;
        Ok(())
    }
}

impl FromRef<AppState> for Arc<Service> {
    fn from_ref(state: &AppState) -> Self {
        state.0.clone()
    }
}

/// The authenticated caller (`Authorization: Bearer <token>`).
pub struct Caller(pub Principal);

/// Where the `Caller` extractor leaves who the request turned out to be, for the layer that
/// audits refusals (it runs around the handler, so it cannot see the handler's extractors).
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<Mutex<Option<Principal>>>);

impl CallerSlot {
    pub fn take(&self) -> Option<Principal> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorized = |why: &str| ApiError::new(StatusCode::UNAUTHORIZED, why);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization: Bearer <token>"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| unauthorized("Authorization must be 'Bearer <token>'"))?;
        match state.0.access.authenticate(token.trim()) {
            Some(principal) => {
                if let Some(slot) = parts.extensions.get::<CallerSlot>() {
                    *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(principal.clone());
                }
                Ok(Caller(principal))
            }
            None => {
                // A failed login leaves a trace: which token (a short hash, never the token)
                // tried what.
                let tried: String = sha2::Sha256::digest(token.trim().as_bytes())[..4]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let path = parts.uri.path().to_string();
                tracing::warn!(%path, token_hash_prefix = %tried, "unknown token");
                let service = state.0.clone();
                let recorded = tokio::task::spawn_blocking(move || {
                    service.audit.record(Action {
                        actor: "unknown".into(),
                        role: "none".into(),
                        action: "login_failed".into(),
                        case: None,
                        purpose: None,
                        agency: None,
                        detail: serde_json::json!({ "path": path, "token_sha256_prefix": tried }),
                        result_count: None,
                    })
                })
                .await;
                if !matches!(recorded, Ok(Ok(_))) {
                    tracing::error!("cannot audit a failed login");
                }
                Err(unauthorized("unknown token"))
            }
        }
    }
}

impl Caller {
    pub fn require(&self, allowed: bool, what: &str) -> Result<&Principal, ApiError> {
        if allowed {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden(format!("{} users cannot {what}", self.0.role.name())))
        }
    }
}

/// The case and purpose every look at event data must give (query parameters `case` and
/// `purpose`, or headers `X-Canvass-Case` and `X-Canvass-Purpose`).
#[derive(Debug, Clone)]
pub struct Case {
    pub case: String,
    pub purpose: String,
}

impl Case {
    pub fn given(case: Option<&str>, purpose: Option<&str>) -> Result<Case, ApiError> {
        let field = |value: Option<&str>, name: &str| -> Result<String, ApiError> {
            let value = value.map(str::trim).unwrap_or_default();
            if value.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "a {name} is required to look at event data (query parameter '{name}' or header X-Canvass-{})",
                    if name == "case" { "Case" } else { "Purpose" }
                )));
            }
            if value.len() > 200 || value.chars().any(char::is_control) {
                return Err(ApiError::bad_request(format!("{name}: at most 200 printable characters")));
            }
            Ok(value.to_string())
        };
        Ok(Case { case: field(case, "case")?, purpose: field(purpose, "purpose")? })
    }
}

/// Case and purpose from the request's headers, where the query does not give them.
pub fn case_of(
    parts: &axum::http::HeaderMap,
    case: Option<&str>,
    purpose: Option<&str>,
) -> Result<Case, ApiError> {
    let header = |name: &str| parts.get(name).and_then(|v| v.to_str().ok());
    Case::given(case.or(header("x-canvass-case")), purpose.or(header("x-canvass-purpose")))
}
