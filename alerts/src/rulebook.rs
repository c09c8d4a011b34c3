//! Rules made through the API (supervisors, for their agency), kept in the store beside the
//! configured ones (`alerts/v1/rules/<name>.json`, encrypted at rest like everything else).
//! Whoever applies or delivers rules re-reads the book now and then (`LiveRules`), so a rule
//! made on one replica reaches every detector worker and notifier within seconds.

use std::time::{Duration, Instant};

use canvass_governance::Agency;
use canvass_store::{ObjectStore, Store, StoreError, keys};

use crate::{AlertError, AlertRule, CompiledRule};

/// How often a rule user re-reads the book.
pub const RELOAD_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct RuleBook {
    store: Store,
    configured: Vec<AlertRule>,
}

impl RuleBook {
    pub fn new(store: Store, configured: Vec<AlertRule>) -> Self {
        RuleBook { store, configured }
    }

    pub fn configured(&self) -> &[AlertRule] {
        &self.configured
    }

    /// The rules made through the API; unreadable ones are skipped with a warning.
    pub fn stored(&self) -> Result<Vec<AlertRule>, StoreError> {
        let mut rules = Vec::new();
        for object in self.store.list(keys::ALERT_RULES)? {
            match serde_json::from_slice::<AlertRule>(&self.store.get(&object.key)?) {
                Ok(rule) => rules.push(rule),
                Err(e) => tracing::warn!(key = %object.key, "unreadable alert rule skipped: {e}"),
            }
        }
        Ok(rules)
    }

    /// Every rule that compiles now: the configured ones, then the stored ones (a stored rule
    /// that no longer compiles, say its agency was removed, is skipped and named in the log).
    pub fn compiled(&self, agencies: &[Agency]) -> Result<Vec<CompiledRule>, StoreError> {
        let mut rules: Vec<CompiledRule> =
            self.configured.iter().filter_map(|r| r.compile(agencies).ok()).collect();
        for rule in self.stored()? {
            match rule.compile(agencies) {
                Ok(compiled) => rules.push(compiled),
                Err(e) => tracing::warn!("stored {e}: skipped"),
            }
        }
        Ok(rules)
    }

    /// Saves `rule` (checked against `agencies`); a configured rule's name is not the API's.
    pub fn put(&self, rule: &AlertRule, agencies: &[Agency]) -> Result<(), AlertError> {
        if self.configured.iter().any(|r| r.name == rule.name) {
            return Err(AlertError::Rule {
                rule: rule.name.clone(),
                reason: "a rule of the config file has this name; change it there".into(),
            });
        }
        rule.compile(agencies)?;
        let json = serde_json::to_vec(rule).expect("rules serialise");
        Ok(self.store.put(&keys::alert_rule(&rule.name), &json)?)
    }

    /// The stored rule `name`, if any.
    pub fn get(&self, name: &str) -> Result<Option<AlertRule>, StoreError> {
        match self.store.get(&keys::alert_rule(name)) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn remove(&self, name: &str) -> Result<(), StoreError> {
        self.store.delete(&keys::alert_rule(name))
    }
}

/// A rule book re-read at most every `RELOAD_EVERY`.
pub struct LiveRules {
    book: RuleBook,
    agencies: Vec<Agency>,
    last: Option<Instant>,
}

impl LiveRules {
    pub fn new(book: RuleBook, agencies: Vec<Agency>) -> Self {
        LiveRules { book, agencies, last: None }
    }

    /// The rules as they are now, when a re-read is due (the first call always reads).
    pub fn due(&mut self) -> Option<Vec<CompiledRule>> {
        if self.last.is_some_and(|at| at.elapsed() < RELOAD_EVERY) {
            return None;
        }
        self.last = Some(Instant::now());
        match self.book.compiled(&self.agencies) {
            Ok(rules) => Some(rules),
            Err(e) => {
                tracing::warn!("cannot re-read the alert rules (the last ones stay): {e}");
                None
            }
        }
    }
}
