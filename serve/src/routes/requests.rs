//! Footage requests: investigators ask camera owners for footage for a case of their agency;
//! owners see the requests for their own cameras (without the case) and decline them with a
//! reason. Every call is audited.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use canvass_governance::requests::{FootageRequest, NewRequest};
use chrono::Utc;
use serde::Deserialize;

use super::blocking;
use crate::error::{ApiError, Body};
use crate::state::{Caller, Case, Service};

#[utoipa::path(post, path = "/v1/requests", request_body = NewRequest, responses(
    (status = 201, body = FootageRequest), (status = 400, description = "no such camera or case of the caller's agency, or a bad window"),
    (status = 403, description = "not an investigator or supervisor")))]
pub async fn create(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Body(request): Body<NewRequest>,
) -> Result<(StatusCode, Json<FootageRequest>), ApiError> {
    blocking(move || {
        let made = service.requests.create(&caller.0, request, Utc::now())?;
        let case = Case { case: made.case.clone().unwrap_or_default(), purpose: made.reason.clone() };
        let detail = serde_json::to_value(&made).expect("requests serialise");
        service.audit(&caller.0, "footage_requested", Some(&case), detail, None)?;
        Ok((StatusCode::CREATED, Json(made)))
    })
    .await
}

#[utoipa::path(get, path = "/v1/requests", responses((status = 200, body = Vec<FootageRequest>)))]
pub async fn list(
    State(service): State<Arc<Service>>,
    caller: Caller,
) -> Result<Json<Vec<FootageRequest>>, ApiError> {
    blocking(move || {
        let requests = service.requests.visible_to(&caller.0)?;
        let ids: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
        let detail = serde_json::json!({ "requests": ids });
        service.audit(&caller.0, "list_requests", None, detail, Some(requests.len()))?;
        Ok(Json(requests))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decline {
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/requests/{id}/decline", params(("id" = String, Path)), request_body = Decline,
    responses((status = 200, body = FootageRequest), (status = 404, description = "no such request for the caller's cameras"),
    (status = 409, description = "answered already")))]
pub async fn decline(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<Decline>,
) -> Result<Json<FootageRequest>, ApiError> {
    blocking(move || {
        let declined = service.requests.decline(&caller.0, &id, &body.reason, Utc::now())?;
        let detail = serde_json::json!({ "id": id, "reason": body.reason });
        service.audit(&caller.0, "footage_request_declined", None, detail, None)?;
        Ok(Json(declined))
    })
    .await
}
