//! One rule's webhook: alerts queue for its own thread, which POSTs each signed, retries
//! with backoff, and keeps what it could not deliver as a dead letter in the store (listed
//! by `canvass alerts dead` and the API). Detection never waits on a hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use canvass_governance::{Action, AuditLog};
use canvass_schemas::Alert;
use canvass_store::{ObjectStore, Store, StoreError, keys};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::signature::{SIGNATURE_HEADER, sign};

/// Alerts waiting for one hook before new ones are dead-lettered at once.
const QUEUE: usize = 256;

/// How hard a hook is tried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// Wait before the second try; doubled before each next one.
    pub first_delay: Duration,
    /// Longest one request may take (connect, send, answer).
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 5, first_delay: Duration::from_secs(1), timeout: Duration::from_secs(5) }
    }
}

/// An alert a hook never accepted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    pub rule: String,
    /// The hook, without credentials or query.
    pub webhook: String,
    pub attempts: u32,
    pub last_error: String,
    pub failed_at: DateTime<Utc>,
    pub alert: Alert,
}

/// The dead letters in `store`, oldest first.
pub fn dead_letters(store: &Store) -> Result<Vec<DeadLetter>, StoreError> {
    let mut letters = Vec::new();
    for object in store.list(keys::DEAD_ALERTS)? {
        match serde_json::from_slice::<DeadLetter>(&store.get(&object.key)?) {
            Ok(letter) => letters.push(letter),
            Err(e) => tracing::warn!(key = %object.key, "unreadable dead letter: {e}"),
        }
    }
    letters.sort_by_key(|l| l.failed_at);
    Ok(letters)
}

/// What a hook's thread needs besides its queue.
struct Hook {
    /// Set when the process is stopping: what is left is dead-lettered, not tried again.
    abandoned: AtomicBool,
    rule: String,
    url: String,
    /// The hook as dead letters and the audit log name it: no credentials, no query (often a
    /// token).
    shown_url: String,
    secret: Vec<u8>,
    retry: RetryPolicy,
    store: Store,
    audit: Arc<AuditLog<Store>>,
}

pub(crate) struct WebhookSender {
    queue: Option<SyncSender<Alert>>,
    thread: Option<JoinHandle<()>>,
    /// For alerts dead-lettered without a try (the queue was full).
    hook: Arc<Hook>,
}

impl WebhookSender {
    pub(crate) fn start(
        rule: &str,
        url: &str,
        secret: Vec<u8>,
        retry: RetryPolicy,
        store: Store,
        audit: Arc<AuditLog<Store>>,
    ) -> Self {
        let hook = Arc::new(Hook {
            abandoned: AtomicBool::new(false),
            rule: rule.into(),
            url: url.into(),
            shown_url: canvass_schemas::strip_credentials(url).split('?').next().unwrap_or("").to_string(),
            secret,
            retry,
            store,
            audit,
        });
        let (queue, alerts) = sync_channel(QUEUE);
        let worker = hook.clone();
        let thread = std::thread::Builder::new()
            .name(format!("webhook-{rule}"))
            .spawn(move || deliver_all(&worker, alerts))
            .map_err(|e| tracing::error!(rule, "cannot start the webhook thread: {e}"))
            .ok();
        WebhookSender { queue: Some(queue), thread, hook }
    }

    pub(crate) fn url(&self) -> &str {
        &self.hook.url
    }

    pub(crate) fn secret(&self) -> &[u8] {
        &self.hook.secret
    }

    /// Queues `alert`; a full queue (the hook is down and far behind) dead-letters it at once.
    pub(crate) fn send(&self, alert: Alert) {
        let Some(queue) = &self.queue else { return };
        match queue.try_send(alert) {
            Ok(()) => {}
            Err(TrySendError::Full(alert) | TrySendError::Disconnected(alert)) => {
                self.hook.dead_letter(alert, 0, "the hook's queue is full: it has been failing for a while")
            }
        }
    }

    /// Gives up on what is queued and on retries: each goes to the dead letters instead.
    pub(crate) fn abandon(&self) {
        self.hook.abandoned.store(true, Ordering::Relaxed);
    }

    /// Stops taking alerts and waits for those queued to be delivered or dead-lettered.
    pub(crate) fn finish(mut self) {
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn deliver_all(hook: &Hook, alerts: Receiver<Alert>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(hook.retry.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    for alert in alerts {
        hook.deliver(&agent, alert);
    }
}

impl Hook {
    fn deliver(&self, agent: &ureq::Agent, alert: Alert) {
        let body = serde_json::to_vec(&alert).expect("alerts serialise");
        let signature = sign(&self.secret, &body);
        let mut delay = self.retry.first_delay;
        let mut last_error = String::new();
        for attempt in 1..=self.retry.attempts.max(1) {
            if attempt > 1 {
                self.sleep_unless_abandoned(delay);
                delay = delay.saturating_mul(2);
            }
            if self.abandoned.load(Ordering::Relaxed) {
                let why = match last_error.as_str() {
                    "" => "canvass stopped before the hook was tried".to_string(),
                    tried => format!("canvass stopped while retrying: {tried}"),
                };
                return self.dead_letter(alert, attempt - 1, &why);
            }
            let answer = agent
                .post(&self.url)
                .header("Content-Type", "application/json")
                .header(SIGNATURE_HEADER, &signature)
                .header("X-Canvass-Alert-Id", &alert.alert_id)
                .send(&body[..]);
            match answer {
                Ok(response) if response.status().is_success() => {
                    self.audit_outcome(&alert, "alert_delivered", attempt, None);
                    return;
                }
                Ok(response) => {
                    let status = response.status();
                    last_error = format!("the hook answered {status}");
                    // A request the hook refuses as malformed or unauthorised will not pass
                    // by trying again; timeouts, throttling and server errors may.
                    let retry = status.is_server_error() || matches!(status.as_u16(), 408 | 425 | 429);
                    if !retry {
                        return self.dead_letter(alert, attempt, &last_error);
                    }
                }
                Err(e) => last_error = format!("cannot reach the hook: {e}"),
            }
            tracing::warn!(rule = %self.rule, attempt, "webhook: {last_error}");
        }
        self.dead_letter(alert, self.retry.attempts.max(1), &last_error);
    }

    fn sleep_unless_abandoned(&self, delay: Duration) {
        let until = std::time::Instant::now() + delay;
        while std::time::Instant::now() < until && !self.abandoned.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn dead_letter(&self, alert: Alert, attempts: u32, why: &str) {
        tracing::error!(rule = %self.rule, alert = %alert.alert_id, "webhook gave up after {attempts} tries: {why}");
        let letter = DeadLetter {
            rule: self.rule.clone(),
            webhook: self.shown_url.clone(),
            attempts,
            last_error: why.to_string(),
            failed_at: Utc::now(),
            alert,
        };
        let key = keys::dead_alert(&letter.alert.alert_id);
        if let Err(e) = self.store.put(&key, &serde_json::to_vec(&letter).expect("dead letters serialise")) {
            tracing::error!(rule = %self.rule, "cannot keep the dead letter {key}: {e}");
        }
        self.audit_outcome(&letter.alert, "alert_dead_lettered", attempts, Some(why));
    }

    fn audit_outcome(&self, alert: &Alert, action: &str, attempts: u32, error: Option<&str>) {
        let entry = Action {
            actor: "canvass-alerts".into(),
            role: "system".into(),
            action: action.into(),
            case: None,
            purpose: None,
            agency: alert.agency.clone(),
            detail: serde_json::json!({
                "rule": alert.rule,
                "alert_id": alert.alert_id,
                "event_id": alert.event.event_id,
                "source_id": alert.event.source_id,
                "notified": self.shown_url,
                "attempts": attempts,
                "error": error,
            }),
            result_count: None,
        };
        if let Err(e) = self.audit.record(entry) {
            tracing::error!(rule = %self.rule, "cannot audit alert {}: {e}", alert.alert_id);
        }
    }
}
