//! Who may do what: users with hashed API tokens, roles, and agencies whose jurisdiction is a
//! set of sources. Configured in the TOML file (`[[agencies]]`, `[[users]]`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Searches and views the events of their agency's sources, for a case and a purpose.
    Investigator,
    /// An investigator who also reads the audit log and places legal holds (the auditor).
    Supervisor,
    /// Runs the service: places holds, reads the audit log; sees no events.
    Admin,
    /// A camera owner: registers their cameras and sets their access policy; sees no events.
    Owner,
}

impl Role {
    /// The role as configured and as the audit log names it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Investigator => "investigator",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn sees_events(self) -> bool {
        matches!(self, Role::Investigator | Role::Supervisor)
    }

    pub fn reads_audit(self) -> bool {
        matches!(self, Role::Supervisor | Role::Admin)
    }

    /// Supervisors place and lift their agency's holds; admins see every hold, place none.
    pub fn places_holds(self) -> bool {
        matches!(self, Role::Supervisor)
    }

    pub fn sees_holds(self) -> bool {
        matches!(self, Role::Supervisor | Role::Admin)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    pub name: String,
    /// Source ids of its jurisdiction; `prefix*` matches every id that starts with `prefix`.
    pub sources: Vec<String>,
    /// How long its events are kept (default 30 days).
    #[serde(default)]
    pub retention_days: Option<u32>,
}

/// Whether a source id matches a jurisdiction pattern: an exact id, or `prefix*`.
pub fn source_matches(pattern: &str, source: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => source.starts_with(prefix),
        None => pattern == source,
    }
}

impl Agency {
    pub fn covers(&self, source: &str) -> bool {
        self.sources.iter().any(|pattern| source_matches(pattern, source))
    }

    /// Whether every source `pattern` (an id, or `prefix*`) can match lies in the jurisdiction.
    pub fn covers_pattern(&self, pattern: &str) -> bool {
        match pattern.strip_suffix('*') {
            Some(prefix) => {
                self.sources.iter().any(|own| own.strip_suffix('*').is_some_and(|p| prefix.starts_with(p)))
            }
            None => self.covers(pattern),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// Required for investigators and supervisors.
    #[serde(default)]
    pub agency: Option<String>,
    /// SHA-256 (hex) of the user's API token; `canvass token` makes a token and its hash. The
    /// token itself is never stored.
    pub token_sha256: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    #[serde(default)]
    pub agencies: Vec<Agency>,
    #[serde(default)]
    pub users: Vec<User>,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    pub agency: Option<Agency>,
}

impl Principal {
    /// Whether the caller may see events of `source`.
    pub fn may_see(&self, source: &str) -> bool {
        self.role.sees_events() && self.agency.as_ref().is_some_and(|a| a.covers(source))
    }
}

pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal-length comparison that does not stop at the first difference.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl AccessConfig {
    /// Checks the configuration once at start: every staff user has a known agency, every hash
    /// looks like one, names are unique.
    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::BTreeSet::new();
        for user in &self.users {
            if !names.insert(&user.name) {
                return Err(format!("user '{}' is configured twice", user.name));
            }
            let hex =
                user.token_sha256.len() == 64 && user.token_sha256.chars().all(|c| c.is_ascii_hexdigit());
            if !hex {
                return Err(format!(
                    "user '{}': token_sha256 must be 64 hex digits (see `canvass token`)",
                    user.name
                ));
            }
            match (&user.agency, user.role.sees_events()) {
                (None, true) => {
                    return Err(format!("user '{}' is {:?} and needs an agency", user.name, user.role));
                }
                (Some(agency), _) if !self.agencies.iter().any(|a| &a.name == agency) => {
                    return Err(format!("user '{}': unknown agency '{agency}'", user.name));
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let hash = token_hash(token);
        let user = self.users.iter().find(|u| same(&u.token_sha256.to_ascii_lowercase(), &hash))?;
        let agency =
            user.agency.as_ref().and_then(|name| self.agencies.iter().find(|a| &a.name == name)).cloned();
        Some(Principal { name: user.name.clone(), role: user.role, agency })
    }

    /// The retention policy: each agency's period over its sources, else `default_days`.
    pub fn retention(&self, default_days: u32, clock: crate::RetentionClock) -> crate::Retention {
        let policies = self
            .agencies
            .iter()
            .filter_map(|a| a.retention_days.map(|days| (a.sources.clone(), days)))
            .collect();
        crate::Retention { default_days, policies, clock }
    }
}
