//! Rules applied to tracks as the detector announces them.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use canvass_schemas::{ALERT_SCHEMA_VERSION, Alert, DetectionEvent, TrackPhase};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::{CompiledRule, LiveRules};

/// Raises alerts from track events: a rule's first match on a track is its `opened` alert
/// (whatever phase the track is in); its later phases follow as `updated`/`closed` whether or
/// not they still match, so whoever was told hears the end of it.
pub struct AlertEngine {
    rules: Vec<CompiledRule>,
    /// Where the rules are re-read from, when they can change while running (the API's).
    live: Option<LiveRules>,
    /// (rule, event id) of tracks alerted on and not closed yet.
    alerted: HashSet<(String, String)>,
    /// (rule, source): when its last track was alerted on, for the cooldown.
    last_alert: HashMap<(String, String), DateTime<Utc>>,
}

impl AlertEngine {
    pub fn new(rules: Vec<CompiledRule>) -> Self {
        AlertEngine { rules, live: None, alerted: HashSet::new(), last_alert: HashMap::new() }
    }

    /// An engine whose rules are the book's, re-read as they change.
    pub fn live(mut rules: LiveRules) -> Self {
        let first = rules.due().unwrap_or_default();
        AlertEngine { live: Some(rules), ..AlertEngine::new(first) }
    }

    /// The alerts one track event raises. `thumbnail` is the best crop as JPEG (may be empty).
    pub fn on_track(
        &mut self,
        phase: TrackPhase,
        event: &DetectionEvent,
        thumbnail: &[u8],
        confirmed_at: DateTime<Utc>,
    ) -> Vec<Alert> {
        if let Some(rules) = self.live.as_mut().and_then(LiveRules::due) {
            self.rules = rules;
        }
        let mut alerts = Vec::new();
        for rule in &self.rules {
            let name = &rule.rule.name;
            let key = (name.clone(), event.event_id.clone());
            let phases: &[TrackPhase] = if self.alerted.contains(&key) {
                if phase == TrackPhase::Closed {
                    self.alerted.remove(&key);
                }
                if phase == TrackPhase::Opened { &[] } else { std::slice::from_ref(&phase) }
            } else {
                if !rule.matches(event) {
                    continue;
                }
                let since = (name.clone(), event.source_id.clone());
                let cooldown = Duration::seconds(rule.rule.cooldown_s.min(i64::MAX as u64 / 1000) as i64);
                if self.last_alert.get(&since).is_some_and(|last| confirmed_at < *last + cooldown) {
                    continue;
                }
                self.last_alert.insert(since, confirmed_at);
                if phase == TrackPhase::Closed {
                    &[TrackPhase::Opened, TrackPhase::Closed]
                } else {
                    self.alerted.insert(key);
                    &[TrackPhase::Opened]
                }
            };
            for phase in phases {
                alerts.push(alert(rule, *phase, event, thumbnail, confirmed_at));
            }
        }
        alerts
    }
}

fn alert(
    rule: &CompiledRule,
    phase: TrackPhase,
    event: &DetectionEvent,
    thumbnail: &[u8],
    confirmed_at: DateTime<Utc>,
) -> Alert {
    let mut hasher = Sha256::new();
    for part in [rule.rule.name.as_str(), event.event_id.as_str(), &canvass_schemas::wire_name(&phase)] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.update(event.media_end_us.to_be_bytes());
    Alert {
        schema_version: ALERT_SCHEMA_VERSION,
        alert_id: hasher.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect(),
        rule: rule.rule.name.clone(),
        agency: rule.agency.as_ref().map(|a| a.name.clone()),
        phase,
        event: event.clone(),
        confirmed_at,
        raised_at: Utc::now(),
        thumbnail_jpeg_base64: base64::engine::general_purpose::STANDARD.encode(thumbnail),
    }
}

#[cfg(test)]
mod tests;
