//! Alert rules as this process applies and delivers them: the config file's (checked when a
//! command starts) and those supervisors make through the API (kept in the store), re-read as
//! they change; in the embedded mode the notifier is the bus and webhooks run on their own
//! threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use canvass_alerts::{AlertEngine, LiveRules, Notifier, RuleBook};
use canvass_governance::AuditLog;
use canvass_pipeline::alerting::Alerting;
use canvass_store::Store;

use crate::config::FileConfig;

/// The rule book over `store`, its configured rules checked first.
pub fn book(file: &FileConfig, store: &Store) -> anyhow::Result<RuleBook> {
    file.alert_rules()?;
    Ok(RuleBook::new(store.clone(), file.alerts.clone()))
}

/// `book`'s rules as they are now and as they change (each user re-reads on its own).
pub fn live(file: &FileConfig, book: &RuleBook) -> LiveRules {
    LiveRules::new(book.clone(), file.agencies.clone())
}

/// Delivery of `book`'s alerts: their webhooks, the page's feed, the audit log in `store`.
pub fn notifier(file: &FileConfig, store: &Store, book: &RuleBook) -> anyhow::Result<Notifier> {
    let audit = Arc::new(AuditLog::new(store.clone(), file.audit_key()?));
    Ok(Notifier::live(live(file, book), store, &audit, &file.alert_retry()?))
}

pub struct EmbeddedAlerts {
    pub notifier: Arc<Notifier>,
    raised: Arc<AtomicU64>,
}

/// The rules beside an in-process detector stage, wired to a notifier; `None` when there are
/// no rules at all.
pub fn embedded(file: &FileConfig, store: &Store) -> anyhow::Result<Option<(Alerting, EmbeddedAlerts)>> {
    let book = book(file, store)?;
    if book.compiled(&file.agencies)?.is_empty() {
        return Ok(None);
    }
    let notifier = Arc::new(notifier(file, store, &book)?);
    let raised = Arc::new(AtomicU64::new(0));
    let (bus, count) = (notifier.clone(), raised.clone());
    let alerting = Alerting::new(AlertEngine::live(live(file, &book)), move |alert| {
        tracing::info!(rule = %alert.rule, phase = ?alert.phase, event = %alert.event.event_id, "alert");
        if alert.phase == canvass_alerts::TrackPhase::Opened {
            count.fetch_add(1, Ordering::Relaxed);
        }
        bus.deliver(alert);
    });
    Ok(Some((alerting, EmbeddedAlerts { notifier, raised })))
}

impl EmbeddedAlerts {
    /// Ctrl-C: what the hooks have not taken yet becomes dead letters (see `Notifier::abandon`).
    pub fn abandon(&self) {
        self.notifier.abandon();
    }

    /// Waits for the webhooks to be delivered or dead-lettered (the detector stage, which
    /// held the other handle on the notifier, has finished); returns how many tracks raised an alert.
    pub fn finish(self) -> u64 {
        match Arc::try_unwrap(self.notifier) {
            Ok(notifier) => notifier.finish(),
            Err(_) => tracing::warn!("alerts: the detector stage still holds the notifier"),
        }
        self.raised.load(Ordering::Relaxed)
    }
}
