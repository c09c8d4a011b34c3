//! Footage requests: an investigator asks a registered camera's owner for the footage of a time
//! window, for a case of their agency; the owner sees the requests for their own cameras (not
//! the case behind them) and answers by uploading the footage (it becomes evidence of the case,
//! `serve`'s uploads) or declines with a reason. Stored as `requests/v1/<id>.json`.

use std::collections::BTreeSet;

use canvass_store::{ObjectStore, StoreError, keys};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::access::{Principal, Role};
use crate::cases::{CaseError, Cases};
use crate::registry::Registry;

/// The longest window one request may ask for: a request names the moment, not a month.
pub const MAX_WINDOW_DAYS: i64 = 7;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    pub camera_id: String,
    pub case: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Open,
    Declined,
    /// The owner uploaded footage: evidence of the case.
    Answered,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub by: String,
    pub at: DateTime<Utc>,
    /// Why the owner declined, or what they sent.
    pub reason: String,
    /// The footage sent, when answered: its SHA-256 (evidence of the request's case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FootageRequest {
    pub id: String,
    pub camera_id: String,
    /// The case it is for; not shown to the camera's owner.
    pub case: Option<String>,
    pub agency: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: String,
    pub state: RequestState,
    pub answer: Option<Answer>,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotYours(String),
    #[error("no footage request {0}")]
    NotFound(String),
    #[error("request {id} is {state:?} already")]
    Answered { id: String, state: RequestState },
}

pub struct Requests<S> {
    store: S,
}

impl<S: ObjectStore + Clone> Requests<S> {
    pub fn new(store: S) -> Self {
        Requests { store }
    }

    /// Asks the owner of `new.camera_id` for footage, for `who`'s agency's case `new.case`.
    pub fn create(
        &self,
        who: &Principal,
        new: NewRequest,
        now: DateTime<Utc>,
    ) -> Result<FootageRequest, RequestError> {
        if !who.role.sees_events() {
            return Err(RequestError::NotYours(format!("{} users cannot request footage", who.role.name())));
        }
        let agency = who.agency.as_ref().map(|a| a.name.clone()).ok_or_else(|| {
            RequestError::NotYours("a footage request is made for an agency, and you have none".into())
        })?;
        // The case must be one the requester sees (their agency's): another's is "not found".
        Cases::new(self.store.clone()).get(who, &new.case).map_err(|e| match e {
            CaseError::Store(e) => RequestError::Store(e),
            other => RequestError::Invalid(other.to_string()),
        })?;
        if Registry::new(self.store.clone()).get(&new.camera_id)?.is_none() {
            return Err(RequestError::Invalid(format!("no registered camera {}", new.camera_id)));
        }
        if new.to <= new.from || new.to - new.from > Duration::days(MAX_WINDOW_DAYS) {
            return Err(RequestError::Invalid(format!(
                "the window must end after it starts and span at most {MAX_WINDOW_DAYS} days"
            )));
        }
        if new.from > now {
            return Err(RequestError::Invalid(
                "the window starts in the future: no footage exists yet".into(),
            ));
        }
        let reason = new.reason.trim();
        if reason.is_empty() || reason.len() > 1000 {
            return Err(RequestError::Invalid("a request needs a reason (1 to 1000 characters)".into()));
        }
        let digest =
            Sha256::digest(format!("{}\n{}\n{}", who.name, new.camera_id, now.to_rfc3339()).as_bytes());
        let request = FootageRequest {
            id: canvass_store::secret::hex(&digest[..16]),
            camera_id: new.camera_id,
            case: Some(new.case),
            agency,
            requested_by: who.name.clone(),
            requested_at: now,
            from: new.from,
            to: new.to,
            reason: reason.into(),
            state: RequestState::Open,
            answer: None,
        };
        let bytes = serde_json::to_vec_pretty(&request).expect("requests serialise");
        if !self.store.put_new(&keys::footage_request(&request.id), &bytes)? {
            return Err(RequestError::Invalid("an identical request was made this instant".into()));
        }
        Ok(request)
    }

    fn read(&self, id: &str) -> Result<Option<FootageRequest>, RequestError> {
        if !canvass_store::secret::is_id(id) {
            return Ok(None);
        }
        match self.store.get(&keys::footage_request(id)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| RequestError::Invalid(format!("request {id} is not readable: {e}"))),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `who` sees `request`, and whether as its camera's owner (who is not shown the
    /// case); `owned`: the ids of the cameras `who` owns.
    fn sees(who: &Principal, request: &FootageRequest, owned: &BTreeSet<String>) -> Option<bool> {
        match who.role {
            Role::Admin => Some(false),
            Role::Investigator | Role::Supervisor => {
                (who.agency.as_ref().map(|a| &a.name) == Some(&request.agency)).then_some(false)
            }
            Role::Owner => owned.contains(&request.camera_id).then_some(true),
        }
    }

    /// The ids of the cameras `who` owns: none unless `who` is an owner.
    fn cameras_of(&self, who: &Principal) -> Result<BTreeSet<String>, StoreError> {
        if who.role != Role::Owner {
            return Ok(BTreeSet::new());
        }
        let cameras = Registry::new(self.store.clone()).all()?;
        Ok(cameras.into_iter().filter(|c| c.owner == who.name).map(|c| c.id).collect())
    }

    /// The requests `who` sees, newest first: an agency's own, an owner's cameras', all for an
    /// admin. An owner's copy has no case.
    pub fn visible_to(&self, who: &Principal) -> Result<Vec<FootageRequest>, RequestError> {
        let owned = self.cameras_of(who)?;
        let mut found = Vec::new();
        for object in self.store.list(keys::FOOTAGE_REQUESTS)? {
            let Ok(request) = serde_json::from_slice::<FootageRequest>(&self.store.get(&object.key)?) else {
                tracing::error!(key = %object.key, "unreadable footage request skipped");
                continue;
            };
            if let Some(as_owner) = Self::sees(who, &request, &owned) {
                found.push(if as_owner { FootageRequest { case: None, ..request } } else { request });
            }
        }
        found.sort_by_key(|r| std::cmp::Reverse(r.requested_at));
        Ok(found)
    }

    /// The camera's owner declines open request `id`, saying why.
    pub fn decline(
        &self,
        who: &Principal,
        id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<FootageRequest, RequestError> {
        let request = self.read(id)?.ok_or_else(|| RequestError::NotFound(id.into()))?;
        if Self::sees(who, &request, &self.cameras_of(who)?) != Some(true) {
            // Another owner's request, or not an owner: it does not exist for them.
            return Err(RequestError::NotFound(id.into()));
        }
        if request.state != RequestState::Open {
            return Err(RequestError::Answered { id: id.into(), state: request.state });
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > 1000 {
            return Err(RequestError::Invalid("say why (1 to 1000 characters)".into()));
        }
        let answer = Answer { by: who.name.clone(), at: now, reason: reason.into(), evidence_sha256: None };
        let declined = FootageRequest { state: RequestState::Declined, answer: Some(answer), ..request };
        self.store.put(
            &keys::footage_request(id),
            &serde_json::to_vec_pretty(&declined).expect("requests serialise"),
        )?;
        Ok(FootageRequest { case: None, ..declined })
    }

    /// Open request `id` of one of `who`'s cameras, with its case, for the footage `who`
    /// uploads to answer it; anything else is "not found" (or answered already).
    pub fn to_answer(&self, who: &Principal, id: &str) -> Result<FootageRequest, RequestError> {
        let request = self.read(id)?.ok_or_else(|| RequestError::NotFound(id.into()))?;
        if Self::sees(who, &request, &self.cameras_of(who)?) != Some(true) {
            return Err(RequestError::NotFound(id.into()));
        }
        if request.state != RequestState::Open {
            return Err(RequestError::Answered { id: id.into(), state: request.state });
        }
        Ok(request)
    }

    /// Request `id` is answered with the uploaded footage `sha256` (named `filename`). A
    /// request answered already keeps its first answer; the later footage is evidence all the
    /// same.
    pub fn answer(
        &self,
        who: &Principal,
        id: &str,
        sha256: &str,
        filename: &str,
        now: DateTime<Utc>,
    ) -> Result<FootageRequest, RequestError> {
        let request = self.read(id)?.ok_or_else(|| RequestError::NotFound(id.into()))?;
        if request.state != RequestState::Open {
            return Ok(request);
        }
        let answer = Answer {
            by: who.name.clone(),
            at: now,
            reason: format!("footage uploaded: {filename}"),
            evidence_sha256: Some(sha256.into()),
        };
        let answered = FootageRequest { state: RequestState::Answered, answer: Some(answer), ..request };
        self.store.put(
            &keys::footage_request(id),
            &serde_json::to_vec_pretty(&answered).expect("requests serialise"),
        )?;
        Ok(answered)
    }
}
