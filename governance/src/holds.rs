//! Legal holds: a case keeps the events of some sources and time span past retention until a
//! given day. Stored as objects under `holds/v1/`; placing one is audited by the caller.

use std::collections::BTreeSet;

use canvass_schemas::DetectionEvent;
use canvass_store::{ObjectStore, keys};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::GovernanceError;

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
    #[serde(flatten)]
    pub request: HoldRequest,
}

impl Hold {
    /// Whether the hold, still in force at `now`, keeps `event`.
    pub fn keeps(&self, event: &DetectionEvent, now: DateTime<Utc>) -> bool {
        let r = &self.request;
        r.until > now
            && (r.sources.is_empty() || r.sources.contains(&event.source_id))
            && r.from.is_none_or(|from| event.wall_end >= from)
            && r.to.is_none_or(|to| event.wall_start <= to)
    }
}

impl HoldRequest {
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), GovernanceError> {
        let invalid = |why: &str| Err(GovernanceError::InvalidHold(why.to_string()));
        if self.case.trim().is_empty() {
            return invalid("a hold needs a case number");
        }
        if self.reason.trim().is_empty() {
            return invalid("a hold needs a reason");
        }
        if self.until <= now {
            return invalid("'until' must be in the future");
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return invalid("'from' is after 'to'");
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

    /// Stores a hold placed by `who`; holds are never overwritten.
    pub fn place(
        &self,
        who: &str,
        request: HoldRequest,
        now: DateTime<Utc>,
    ) -> Result<Hold, GovernanceError> {
        request.validate(now)?;
        let hold = Hold { id: String::new(), placed_by: who.to_string(), placed_at: now, request };
        let content = serde_json::to_vec(&hold).expect("holds serialise");
        let id: String = Sha256::digest(&content)[..8].iter().map(|b| format!("{b:02x}")).collect();
        let hold = Hold { id: id.clone(), ..hold };
        self.store.put_new(&keys::hold(&id), &serde_json::to_vec(&hold).expect("holds serialise"))?;
        Ok(hold)
    }

    pub fn all(&self) -> Result<Vec<Hold>, GovernanceError> {
        let mut holds = Vec::new();
        for object in self.store.list(keys::HOLDS)? {
            let bytes = self.store.get(&object.key)?;
            let hold = serde_json::from_slice(&bytes).map_err(|e| GovernanceError::UnreadableHold {
                key: object.key.clone(),
                reason: e.to_string(),
            })?;
            holds.push(hold);
        }
        Ok(holds)
    }
}
