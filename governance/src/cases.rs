//! Cases: what evidence is gathered under and what every look at the data names. A case
//! belongs to one agency; its investigators and supervisors see it, nobody else does.
//! Stored as `cases/v1/<id>.json`, created once (create-if-absent): a case id is never reused
//! or overwritten.

use canvass_store::{ObjectStore, StoreError, keys};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Principal, Role};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub id: String,
    pub title: String,
    pub agency: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
    /// The id is taken (by this agency or another: ids are unique across the service).
    #[error("case {0} exists already")]
    Exists(String),
    #[error("no case {0}")]
    NotFound(String),
    #[error("{0}")]
    NotYours(String),
    #[error("case {key} is not readable: {reason}")]
    Unreadable { key: String, reason: String },
}

/// A case id as typed: letters, digits, `-`, `_`, `.` and `/`-free, 1 to 64 characters, so it
/// is a safe object key and query word.
pub fn valid_case_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !id.starts_with('.')
}

pub struct Cases<S> {
    store: S,
}

impl<S: ObjectStore> Cases<S> {
    pub fn new(store: S) -> Self {
        Cases { store }
    }

    /// Opens case `id` for `who`'s agency (investigators and supervisors only).
    pub fn create(
        &self,
        who: &Principal,
        id: &str,
        title: &str,
        now: DateTime<Utc>,
    ) -> Result<Case, CaseError> {
        if !matches!(who.role, Role::Investigator | Role::Supervisor) {
            return Err(CaseError::NotYours(format!("{} users cannot open cases", who.role.name())));
        }
        let Some(agency) = &who.agency else {
            return Err(CaseError::NotYours("a case belongs to an agency, and you have none".into()));
        };
        self.open(id, title, &agency.name, &who.name, now)
    }

    /// Opens case `id` for `agency`, by `by`: the service checks the caller first (`create`);
    /// the command line is run by the data's operator.
    pub fn open(
        &self,
        id: &str,
        title: &str,
        agency: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Case, CaseError> {
        if !valid_case_id(id) {
            return Err(CaseError::Invalid(format!(
                "case id '{id}': 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'"
            )));
        }
        let title = title.trim();
        if title.is_empty() || title.len() > 200 {
            return Err(CaseError::Invalid("a case needs a title of 1 to 200 characters".into()));
        }
        let case = Case {
            id: id.into(),
            title: title.into(),
            agency: agency.into(),
            created_by: by.into(),
            created_at: now,
        };
        let bytes = serde_json::to_vec_pretty(&case).expect("cases serialise");
        if !self.store.put_new(&keys::case(id), &bytes)? {
            return Err(CaseError::Exists(id.into()));
        }
        Ok(case)
    }

    fn read(&self, id: &str) -> Result<Option<Case>, CaseError> {
        if !valid_case_id(id) {
            return Ok(None);
        }
        let key = keys::case(id);
        match self.store.get(&key) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| CaseError::Unreadable { key, reason: e.to_string() }),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Case `id` if `who` may see it: its agency's investigators and supervisors, and admins.
    /// Another agency's case is "not found", as its events are.
    pub fn get(&self, who: &Principal, id: &str) -> Result<Case, CaseError> {
        match self.read(id)? {
            Some(case) if may_see(who, &case) => Ok(case),
            _ => Err(CaseError::NotFound(id.into())),
        }
    }

    /// Case `id` if `who` may submit evidence to it: its agency's investigators and
    /// supervisors. An unknown case is "not found"; another agency's is refused (403): the
    /// submitter holds the file and names the case, so the refusal tells nothing new.
    pub fn for_submission(&self, who: &Principal, id: &str) -> Result<Case, CaseError> {
        let case = self.read(id)?.ok_or_else(|| CaseError::NotFound(id.into()))?;
        let own = matches!(who.role, Role::Investigator | Role::Supervisor)
            && who.agency.as_ref().is_some_and(|a| a.name == case.agency);
        if !own {
            return Err(CaseError::NotYours(format!("case {id} is not a case of your agency")));
        }
        Ok(case)
    }

    /// The cases `who` may see, newest first; unreadable ones are reported, not fatal.
    pub fn visible_to(&self, who: &Principal) -> Result<(Vec<Case>, Vec<String>), CaseError> {
        let (mut cases, mut problems) = (Vec::new(), Vec::new());
        for object in self.store.list(keys::CASES)? {
            match self.store.get(&object.key).map(|b| serde_json::from_slice::<Case>(&b)) {
                Ok(Ok(case)) if may_see(who, &case) => cases.push(case),
                Ok(Ok(_)) | Err(StoreError::NotFound(_)) => {}
                Ok(Err(e)) => problems.push(format!("case {} is not readable: {e}", object.key)),
                Err(e) => return Err(e.into()),
            }
        }
        cases.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok((cases, problems))
    }
}

fn may_see(who: &Principal, case: &Case) -> bool {
    match who.role {
        Role::Admin => true,
        Role::Investigator | Role::Supervisor => who.agency.as_ref().is_some_and(|a| a.name == case.agency),
        Role::Owner => false,
    }
}
