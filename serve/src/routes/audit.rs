//! The audit log, read-only: supervisors (auditors) and admins read it; no endpoint changes it.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use canvass_governance::Role;
use canvass_governance::audit::Verdict;
use serde::{Deserialize, Serialize};

use super::blocking;
use crate::error::{ApiError, Params};
use crate::state::{Caller, Service};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Entries to skip from the newest.
    pub offset: Option<usize>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub total: usize,
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<canvass_governance::audit::Entry>,
    /// Whether the hash chain verifies, and its head hash.
    pub chain: String,
}

#[utoipa::path(get, path = "/v1/audit", params(AuditParams), responses((status = 200, body = AuditPage)))]
pub async fn read(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Params(p): Params<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(caller.0.role.reads_audit(), "read the audit log")?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit: 1 to 500"));
    }
    blocking(move || {
        let (mut entries, verdict) =
            canvass_governance::audit::read_and_verify(service.audit.store(), service.audit.key())?;
        // A supervisor reads their agency's entries; an admin every entry.
        if caller.0.role != Role::Admin {
            let agency = caller.0.agency.as_ref().map(|a| a.name.as_str());
            entries.retain(|e| agency.is_some() && e.action.agency.as_deref() == agency);
        }
        let total = entries.len();
        entries.reverse();
        let entries: Vec<_> = entries.into_iter().skip(p.offset.unwrap_or(0)).take(limit).collect();
        let chain = match verdict {
            Verdict::Intact { entries, head } => format!("intact: {entries} entries, head {head}"),
            Verdict::Broken { problems } => format!("BROKEN: {}", problems.join("; ")),
        };
        service.audit(
            &caller.0,
            "read_audit",
            None,
            serde_json::json!({ "offset": p.offset, "limit": limit }),
            Some(entries.len()),
        )?;
        Ok(Json(AuditPage { total, entries, chain }))
    })
    .await
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserDisclosure {
    pub user: String,
    pub agency: Option<String>,
    pub used: u64,
    pub limit: u64,
    pub window_hours: u32,
    /// When some of `used` is freed.
    pub frees_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Who has been shown how many events in the window, most first: supervisors see their
/// agency's users (who is near their budget), admins everyone.
#[utoipa::path(get, path = "/v1/disclosures", responses((status = 200, body = Vec<UserDisclosure>)))]
pub async fn disclosures(
    State(service): State<Arc<Service>>,
    caller: Caller,
) -> Result<Json<Vec<UserDisclosure>>, ApiError> {
    caller.require(caller.0.role.reads_audit(), "read disclosure budgets")?;
    blocking(move || {
        let agency_of =
            |user: &str| service.access.users.iter().find(|u| u.name == user).map(|u| u.agency.clone());
        let mut users: Vec<UserDisclosure> = service
            .disclosures
            .all(chrono::Utc::now())?
            .into_iter()
            .map(|(user, usage)| UserDisclosure {
                agency: agency_of(&user).flatten(),
                user,
                used: usage.used,
                limit: usage.limit,
                window_hours: usage.window_hours,
                frees_at: usage.frees_at,
            })
            .collect();
        if caller.0.role != Role::Admin {
            let agency = caller.0.agency.as_ref().map(|a| a.name.clone());
            users.retain(|u| agency.is_some() && u.agency == agency);
        }
        users.sort_by(|a, b| b.used.cmp(&a.used).then_with(|| a.user.cmp(&b.user)));
        service.audit(&caller.0, "read_disclosures", None, serde_json::json!({}), Some(users.len()))?;
        Ok(Json(users))
    })
    .await
}
