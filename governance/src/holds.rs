//! Legal holds: a case keeps the events of some sources and time span past retention until a
//! given day. Stored as objects under `holds/v1/`; placing one is audited by the caller.

use std::collections::BTreeSet;

use canvass_schemas::DetectionEvent;
use canvass_store::{ObjectStore, StoreError, keys};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::GovernanceError;
use crate::access::{Principal, Role, source_matches};

/// What a hold asks to keep. Empty `sources` means every source; a missing bound is open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    pub case: String,
    pub reason: String,
    pub until: DateTime<Utc>,
    #[serde(default)]
    pub sources: BTreeSet<String>,
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hold {
    pub id: String,
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
    /// The placer's agency: only its supervisors see and lift the hold. `None` on holds placed
    /// before holds had a jurisdiction.
    #[serde(default)]
    pub agency: Option<String>,
    #[serde(flatten)]
    pub request: HoldRequest,
    /// Set when a supervisor lifted the hold; a lifted hold keeps nothing.
    #[serde(default)]
    pub lifted: Option<Lift>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lift {
    pub by: String,
    pub at: DateTime<Utc>,
    pub reason: String,
}

impl Hold {
    /// In force and naming `source` (at any time): keeps what describes the source as a
    /// whole, such as its ingest log and detector checkpoints.
    pub fn covers_source(&self, source: &str, now: DateTime<Utc>) -> bool {
        let r = &self.request;
        self.lifted.is_none()
            && r.until > now
            && (r.sources.is_empty() || r.sources.iter().any(|p| source_matches(p, source)))
    }

    /// Whether the hold, still in force at `now`, keeps `event`. Sources are jurisdiction
    /// patterns (an id, or `prefix*`).
    pub fn keeps(&self, event: &DetectionEvent, now: DateTime<Utc>) -> bool {
        let r = &self.request;
        self.lifted.is_none()
            && r.until > now
            && (r.sources.is_empty() || r.sources.iter().any(|p| source_matches(p, &event.source_id)))
            && r.from.is_none_or(|from| event.wall_end >= from)
            && r.to.is_none_or(|to| event.wall_start <= to)
    }
}

impl HoldRequest {
    pub fn validate(&self, now: DateTime<Utc>, max_days: u32) -> Result<(), GovernanceError> {
        let invalid = |why: String| Err(GovernanceError::InvalidHold(why));
        if self.case.trim().is_empty() {
            return invalid("a hold needs a case number".into());
        }
        if self.reason.trim().is_empty() {
            return invalid("a hold needs a reason".into());
        }
        if self.until <= now {
            return invalid("'until' must be in the future".into());
        }
        if self.until > now + Duration::days(i64::from(max_days)) {
            return invalid(format!(
                "'until' is more than {max_days} days away: holds are renewed, not placed forever"
            ));
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return invalid("'from' is after 'to'".into());
        }
        Ok(())
    }
}

pub struct Holds<S> {
    store: S,
}

impl<S: ObjectStore> Holds<S> {
    pub fn new(store: S) -> Self {
        Holds { store }
    }

    /// Stores a hold placed by supervisor `who` over sources of their agency (all of them when
    /// the request names none), for at most `max_days`; holds are never overwritten.
    pub fn place(
        &self,
        who: &Principal,
        mut request: HoldRequest,
        now: DateTime<Utc>,
        max_days: u32,
    ) -> Result<Hold, GovernanceError> {
        let agency = match (&who.agency, who.role) {
            (Some(agency), Role::Supervisor) => agency,
            _ => {
                return Err(GovernanceError::NotYours(
                    "only an agency's supervisors place legal holds".into(),
                ));
            }
        };
        request.validate(now, max_days)?;
        if request.sources.is_empty() {
            request.sources = agency.sources.iter().cloned().collect();
        }
        if let Some(outside) = request.sources.iter().find(|p| !agency.covers_pattern(p)) {
            return Err(GovernanceError::NotYours(format!(
                "source '{outside}' is outside {}'s jurisdiction",
                agency.name
            )));
        }
        let hold = Hold {
            id: String::new(),
            placed_by: who.name.clone(),
            placed_at: now,
            agency: Some(agency.name.clone()),
            request,
            lifted: None,
        };
        let content = serde_json::to_vec(&hold).expect("holds serialise");
        let id: String = Sha256::digest(&content)[..8].iter().map(|b| format!("{b:02x}")).collect();
        let hold = Hold { id: id.clone(), ..hold };
        self.store.put_new(&keys::hold(&id), &serde_json::to_vec(&hold).expect("holds serialise"))?;
        Ok(hold)
    }

    /// Lifts hold `id`: only a supervisor of the agency that placed it may.
    pub fn lift(
        &self,
        who: &Principal,
        id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Hold, GovernanceError> {
        let valid = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit());
        let not_found = || GovernanceError::NoSuchHold(id.to_string());
        if !valid {
            return Err(not_found());
        }
        if reason.trim().is_empty() {
            return Err(GovernanceError::InvalidHold("lifting a hold needs a reason".into()));
        }
        let key = keys::hold(id);
        let bytes = match self.store.get(&key) {
            Ok(bytes) => bytes,
            Err(StoreError::NotFound(_)) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        let mut hold: Hold = serde_json::from_slice(&bytes)
            .map_err(|e| GovernanceError::UnreadableHold { key: key.clone(), reason: e.to_string() })?;
        let same_agency = who.role == Role::Supervisor
            && who.agency.as_ref().is_some_and(|a| hold.agency.as_deref() == Some(a.name.as_str()));
        if !same_agency {
            // Another agency's hold is not even acknowledged.
            return Err(not_found());
        }
        if hold.lifted.is_some() {
            return Err(GovernanceError::InvalidHold(format!("hold {id} is lifted already")));
        }
        hold.lifted = Some(Lift { by: who.name.clone(), at: now, reason: reason.to_string() });
        self.store.put(&key, &serde_json::to_vec(&hold).expect("holds serialise"))?;
        Ok(hold)
    }

    /// Every readable hold, and what was wrong with each unreadable one: one bad file is
    /// reported, it does not stop retention for everything else.
    pub fn all(&self) -> Result<(Vec<Hold>, Vec<String>), GovernanceError> {
        let mut holds = Vec::new();
        let mut problems = Vec::new();
        for object in self.store.list(keys::HOLDS)? {
            let bytes = self.store.get(&object.key)?;
            match serde_json::from_slice(&bytes) {
                Ok(hold) => holds.push(hold),
                Err(e) => {
                    tracing::error!(key = %object.key, "unreadable legal hold skipped: {e}");
                    problems.push(format!("hold {} is not readable: {e}", object.key));
                }
            }
        }
        Ok((holds, problems))
    }

    /// The holds `who` may see: an admin every one, a supervisor their agency's.
    pub fn visible_to(&self, who: &Principal) -> Result<Vec<Hold>, GovernanceError> {
        let (holds, _) = self.all()?;
        Ok(match who.role {
            Role::Admin => holds,
            Role::Supervisor => {
                let agency = who.agency.as_ref().map(|a| a.name.as_str());
                holds.into_iter().filter(|h| h.agency.is_some() && h.agency.as_deref() == agency).collect()
            }
            _ => Vec::new(),
        })
    }
}
