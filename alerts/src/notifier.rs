//! Delivery of raised alerts, wherever they were raised (this process, or a detector worker
//! through the alerts topic): the live feed gets every phase, a rule's webhook the `opened`
//! alert only (one request per track).

use std::collections::HashMap;
use std::sync::Arc;

use canvass_governance::AuditLog;
use canvass_schemas::{Alert, TrackPhase};
use canvass_store::Store;

use crate::webhook::{RetryPolicy, WebhookSender};
use crate::{AlertFeed, CompiledRule};

pub struct Notifier {
    hooks: HashMap<String, WebhookSender>,
    feed: AlertFeed,
}

impl Notifier {
    /// Starts a sender for each rule with a webhook; dead letters and audit go to `store`.
    pub fn start(
        rules: &[CompiledRule],
        store: &Store,
        audit: &Arc<AuditLog<Store>>,
        retry: &RetryPolicy,
    ) -> Self {
        let hooks = rules
            .iter()
            .filter_map(|rule| {
                let url = rule.rule.webhook.as_ref()?;
                let sender = WebhookSender::start(
                    &rule.rule.name,
                    url,
                    rule.secret.clone(),
                    retry.clone(),
                    store.clone(),
                    audit.clone(),
                );
                Some((rule.rule.name.clone(), sender))
            })
            .collect();
        Notifier { hooks, feed: AlertFeed::default() }
    }

    /// The feed the page listens to.
    pub fn feed(&self) -> AlertFeed {
        self.feed.clone()
    }

    /// Hands `alert` on; never blocks on a hook.
    pub fn deliver(&self, alert: Alert) {
        let hook = (alert.phase == TrackPhase::Opened).then(|| self.hooks.get(&alert.rule)).flatten();
        match hook {
            Some(hook) => {
                self.feed.publish(alert.clone());
                hook.send(alert);
            }
            None => self.feed.publish(alert),
        }
    }

    /// Waits for every queued webhook request to be delivered or dead-lettered.
    pub fn finish(self) {
        for (_, hook) in self.hooks {
            hook.finish();
        }
    }
}
