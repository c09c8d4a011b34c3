//! Alert rules as configured (`[[alerts]]` in the config file), checked once at start.

use canvass_governance::Agency;
use canvass_governance::source_matches;
use canvass_schemas::DetectionEvent;
use canvass_search::query::{self, Query};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::AlertError;

/// One rule: the events it wants (in the search language) and who hears of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    pub name: String,
    /// What to alert on, as `canvass search` takes it: `firearm`, `red pickup source:gate-*`.
    pub query: String,
    /// Where to POST each alert (JSON, signed); none: the page and the alerts topic only.
    #[serde(default)]
    pub webhook: Option<String>,
    /// The hook's HMAC secret; or `secret_env`, the environment variable that holds it.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Lowest confidence (best frame so far) that raises an alert.
    #[serde(default)]
    pub min_confidence: Option<f32>,
    /// The agency the rule belongs to: only sources in its jurisdiction raise alerts, and
    /// only its users see them. Required when agencies are configured.
    #[serde(default)]
    pub agency: Option<String>,
    /// Source ids (or `prefix*`) the rule watches; empty: every source it may see.
    #[serde(default)]
    pub sources: Vec<String>,
    /// After an alert from a source, further tracks from it stay quiet this long (seconds).
    #[serde(default)]
    pub cooldown_s: u64,
}

/// A rule ready to apply: its query parsed, its secret read, its agency found.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub rule: AlertRule,
    pub query: Query,
    pub secret: Vec<u8>,
    pub agency: Option<Agency>,
}

impl AlertRule {
    /// Checks the rule against the agencies configured (none: a single-user install, where
    /// rules need no agency) and reads its secret.
    pub fn compile(&self, agencies: &[Agency]) -> Result<CompiledRule, AlertError> {
        let bad = |reason: String| AlertError::Rule { rule: self.name.clone(), reason };
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !name_ok {
            return Err(bad("a name is 1 to 64 letters, digits, '-', '_' or '.'".into()));
        }
        let query = query::parse(&self.query, Utc::now()).map_err(|e| bad(format!("query: {e}")))?;
        if query.after.is_some() || query.before.is_some() {
            return Err(bad(
                "query: after:/before: (and days such as yesterday) do not apply to alerts, which are about now".into(),
            ));
        }
        if query.near.is_some() {
            return Err(bad(
                "query: near does not apply to alert rules: name the cameras with camera:ID".into()
            ));
        }
        if let Some(min) = self.min_confidence
            && !(0.0..=1.0).contains(&min)
        {
            return Err(bad(format!("min_confidence {min} is not from 0 to 1")));
        }
        let secret = match (&self.secret, &self.secret_env) {
            (Some(_), Some(_)) => return Err(bad("give secret or secret_env, not both".into())),
            (Some(secret), None) => secret.clone(),
            (None, Some(var)) => std::env::var(var)
                .map_err(|_| bad(format!("secret_env: the environment variable {var} is not set")))?,
            (None, None) => String::new(),
        };
        if let Some(url) = &self.webhook {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(bad(format!("webhook '{url}' is not an http(s) URL")));
            }
            if secret.len() < 16 {
                return Err(bad("a webhook needs a secret of at least 16 characters to sign with".into()));
            }
        }
        let agency = match (&self.agency, agencies.is_empty()) {
            (None, true) => None,
            (None, false) => return Err(bad("agencies are configured: name the rule's agency".into())),
            (Some(name), _) => Some(
                agencies
                    .iter()
                    .find(|a| &a.name == name)
                    .cloned()
                    .ok_or_else(|| bad(format!("unknown agency '{name}'")))?,
            ),
        };
        if let Some(agency) = &agency {
            let outside: Vec<&String> = self.sources.iter().filter(|s| !agency.covers_pattern(s)).collect();
            if !outside.is_empty() {
                return Err(bad(format!("sources {outside:?} lie outside {}'s jurisdiction", agency.name)));
            }
        }
        Ok(CompiledRule { rule: self.clone(), query, secret: secret.into_bytes(), agency })
    }
}

impl CompiledRule {
    /// Whether `event` raises this rule: it answers the query, is confident enough, comes
    /// from a watched source, and lies in the agency's jurisdiction.
    pub fn matches(&self, event: &DetectionEvent) -> bool {
        let source = event.source_id.as_str();
        self.query.matches(event)
            && self.rule.min_confidence.is_none_or(|min| event.confidence >= min)
            && (self.rule.sources.is_empty() || self.rule.sources.iter().any(|p| source_matches(p, source)))
            && self.agency.as_ref().is_none_or(|agency| agency.covers(source))
    }
}
