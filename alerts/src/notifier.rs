//! Delivery of raised alerts, wherever they were raised (this process, or a detector worker
//! through the alerts topic): the live feed gets every phase, a rule's webhook the `opened`
//! alert only (one request per track).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use canvass_governance::AuditLog;
use canvass_schemas::{Alert, TrackPhase};
use canvass_store::Store;

use crate::webhook::{RetryPolicy, WebhookSender};
use crate::{AlertFeed, CompiledRule, LiveRules};

pub struct Notifier {
    /// Each rule's hook, by rule name.
    hooks: Mutex<HashMap<String, WebhookSender>>,
    feed: AlertFeed,
    /// Where rules made through the API are re-read from, for their hooks.
    live: Mutex<Option<LiveRules>>,
    store: Store,
    audit: Arc<AuditLog<Store>>,
    retry: RetryPolicy,
}

impl Notifier {
    /// Starts a sender for each rule with a webhook; dead letters and audit go to `store`.
    pub fn start(
        rules: &[CompiledRule],
        store: &Store,
        audit: &Arc<AuditLog<Store>>,
        retry: &RetryPolicy,
    ) -> Self {
        let notifier = Notifier {
            hooks: Mutex::default(),
            feed: AlertFeed::default(),
            live: Mutex::default(),
            store: store.clone(),
            audit: audit.clone(),
            retry: retry.clone(),
        };
        notifier.set_rules(rules);
        notifier
    }

    /// Starts with the book's rules and follows its changes.
    pub fn live(
        mut rules: LiveRules,
        store: &Store,
        audit: &Arc<AuditLog<Store>>,
        retry: &RetryPolicy,
    ) -> Self {
        let notifier = Notifier::start(&rules.due().unwrap_or_default(), store, audit, retry);
        *notifier.live.lock().expect("rules lock") = Some(rules);
        notifier
    }

    /// Hooks for `rules`: new ones started, changed ones restarted, gone ones let finish.
    fn set_rules(&self, rules: &[CompiledRule]) {
        let mut hooks = self.hooks.lock().expect("hooks lock");
        hooks.retain(|name, sender| {
            rules.iter().any(|r| {
                &r.rule.name == name
                    && r.rule.webhook.as_deref() == Some(sender.url())
                    && r.secret == sender.secret()
            })
        });
        for rule in rules {
            let Some(url) = &rule.rule.webhook else { continue };
            if hooks.contains_key(&rule.rule.name) {
                continue;
            }
            let sender = WebhookSender::start(
                &rule.rule.name,
                url,
                rule.secret.clone(),
                self.retry.clone(),
                self.store.clone(),
                self.audit.clone(),
            );
            hooks.insert(rule.rule.name.clone(), sender);
        }
    }

    /// The feed the page listens to.
    pub fn feed(&self) -> AlertFeed {
        self.feed.clone()
    }

    /// Hands `alert` on; never blocks on a hook.
    pub fn deliver(&self, alert: Alert) {
        let changed = self.live.lock().expect("rules lock").as_mut().and_then(LiveRules::due);
        if let Some(rules) = changed {
            self.set_rules(&rules);
        }
        self.feed.publish(alert.clone());
        if alert.phase == TrackPhase::Opened
            && let Some(hook) = self.hooks.lock().expect("hooks lock").get(&alert.rule)
        {
            hook.send(alert);
        }
    }

    /// The process is stopping (Ctrl-C): queued alerts and retries go to the dead letters
    /// instead of holding the exit up (a request under way still gets its answer or timeout).
    pub fn abandon(&self) {
        for hook in self.hooks.lock().expect("hooks lock").values() {
            hook.abandon();
        }
    }

    /// Waits for every queued webhook request to be delivered or dead-lettered.
    pub fn finish(self) {
        let hooks = self.hooks.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (_, hook) in hooks {
            hook.finish();
        }
    }
}
