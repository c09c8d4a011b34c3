//! Cases: investigators and supervisors open them for their agency and see their agency's, with
//! the evidence stored under each; admins see every case; owners none. Every call is audited.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use canvass_governance::cases::Case;
use canvass_store::evidence::{EvidenceStore, Manifest};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::blocking;
use crate::error::{ApiError, Body};
use crate::state::{Caller, Service};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseDetail {
    pub case: Case,
    /// The originals stored under the case: name, size, SHA-256, who submitted them and when.
    #[schema(value_type = Vec<Object>)]
    pub evidence: Vec<Manifest>,
}

#[utoipa::path(post, path = "/v1/cases", request_body = NewCase, responses(
    (status = 201, body = Case), (status = 400, description = "bad id or title"),
    (status = 403, description = "not an investigator or supervisor"), (status = 409, description = "the id is taken")))]
pub async fn create(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Body(request): Body<NewCase>,
) -> Result<(StatusCode, Json<Case>), ApiError> {
    blocking(move || {
        let case = service.cases.create(&caller.0, &request.id, &request.title, Utc::now())?;
        let detail = serde_json::to_value(&case).expect("cases serialise");
        service.audit(&caller.0, "case_opened", None, detail, None)?;
        Ok((StatusCode::CREATED, Json(case)))
    })
    .await
}

#[utoipa::path(get, path = "/v1/cases", responses((status = 200, body = Vec<Case>)))]
pub async fn list(State(service): State<Arc<Service>>, caller: Caller) -> Result<Json<Vec<Case>>, ApiError> {
    blocking(move || {
        let (cases, problems) = service.cases.visible_to(&caller.0)?;
        for problem in problems {
            tracing::error!("{problem}");
        }
        let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        service.audit(
            &caller.0,
            "list_cases",
            None,
            serde_json::json!({ "cases": ids }),
            Some(cases.len()),
        )?;
        Ok(Json(cases))
    })
    .await
}

#[utoipa::path(get, path = "/v1/cases/{id}", params(("id" = String, Path)), responses(
    (status = 200, body = CaseDetail), (status = 404, description = "no such case of the caller's agency")))]
pub async fn get(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CaseDetail>, ApiError> {
    blocking(move || {
        let case = service.cases.get(&caller.0, &id)?;
        let evidence =
            EvidenceStore::new(service.lake.store().clone()).list(&case.id).map_err(ApiError::internal)?;
        let detail = serde_json::json!({ "evidence": evidence.len() });
        let viewed = crate::state::Case { case: case.id.clone(), purpose: "case view".into() };
        service.audit(&caller.0, "view_case", Some(&viewed), detail, Some(evidence.len()))?;
        Ok(Json(CaseDetail { case, evidence }))
    })
    .await
}
