//! Alerts in this process (the embedded mode): the rules beside the detector stage, the
//! notifier as the bus, webhooks on their own threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use canvass_alerts::{AlertEngine, CompiledRule, Notifier};
use canvass_governance::AuditLog;
use canvass_pipeline::alerting::Alerting;
use canvass_store::Store;

use crate::config::FileConfig;

pub struct EmbeddedAlerts {
    pub notifier: Arc<Notifier>,
    raised: Arc<AtomicU64>,
}

/// The configured rules wired to a notifier; `None` without rules.
pub fn embedded(file: &FileConfig, store: &Store) -> anyhow::Result<Option<(Alerting, EmbeddedAlerts)>> {
    let rules = file.alert_rules()?;
    if rules.is_empty() {
        return Ok(None);
    }
    let notifier = Arc::new(notifier(file, store, &rules)?);
    let raised = Arc::new(AtomicU64::new(0));
    let (bus, count) = (notifier.clone(), raised.clone());
    let alerting = Alerting::new(AlertEngine::new(rules), move |alert| {
        tracing::info!(rule = %alert.rule, phase = ?alert.phase, event = %alert.event.event_id, "alert");
        if alert.phase == canvass_alerts::TrackPhase::Opened {
            count.fetch_add(1, Ordering::Relaxed);
        }
        bus.deliver(alert);
    });
    Ok(Some((alerting, EmbeddedAlerts { notifier, raised })))
}

/// Delivery of `rules`' alerts: their webhooks, the page's feed, the audit log in `store`.
pub fn notifier(file: &FileConfig, store: &Store, rules: &[CompiledRule]) -> anyhow::Result<Notifier> {
    let audit = Arc::new(AuditLog::new(store.clone(), file.audit_key()?));
    Ok(Notifier::start(rules, store, &audit, &file.alert_retry()?))
}

impl EmbeddedAlerts {
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
