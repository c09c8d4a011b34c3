//! Legal holds: supervisors keep their agency's events past retention, for at most
//! `hold_max_days`, and lift them; admins see every hold. Every placement, lift, refusal and
//! listing is audited.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use canvass_governance::{Hold, HoldRequest};
use chrono::Utc;
use serde::Deserialize;

use super::blocking;
use crate::error::{ApiError, Body};
use crate::state::{Caller, Case, Service};

/// Audits a refused hold request, then returns the refusal.
fn refused(
    service: &Service,
    caller: &Caller,
    what: &str,
    detail: serde_json::Value,
    error: ApiError,
) -> ApiError {
    let detail = serde_json::json!({ "refused": what, "why": error.message, "request": detail });
    match service.audit(&caller.0, "hold_refused", None, detail, None) {
        Ok(()) => error.audited(),
        Err(audit_failed) => audit_failed,
    }
}

#[utoipa::path(post, path = "/v1/holds", request_body(content = Object, description = "case, reason, until, sources, from, to"),
    responses((status = 201, description = "the hold placed"), (status = 403, description = "outside the caller's jurisdiction")))]
pub async fn place(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Body(request): Body<HoldRequest>,
) -> Result<(StatusCode, Json<Hold>), ApiError> {
    blocking(move || {
        let detail = serde_json::to_value(&request).expect("holds serialise");
        if let Err(e) = caller.require(caller.0.role.places_holds(), "place legal holds") {
            return Err(refused(&service, &caller, "place", detail, e));
        }
        let hold = match service.holds.place(&caller.0, request, Utc::now(), service.settings.hold_max_days) {
            Ok(hold) => hold,
            Err(e) => return Err(refused(&service, &caller, "place", detail, e.into())),
        };
        let case = Case { case: hold.request.case.clone(), purpose: hold.request.reason.clone() };
        service.audit(
            &caller.0,
            "hold",
            Some(&case),
            serde_json::to_value(&hold).expect("holds serialise"),
            None,
        )?;
        Ok((StatusCode::CREATED, Json(hold)))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiftRequest {
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/holds/{id}/lift", params(("id" = String, Path)), request_body(content = Object, description = "reason"),
    responses((status = 200, description = "the hold, lifted"), (status = 404, description = "no such hold of the caller's agency")))]
pub async fn lift(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(request): Body<LiftRequest>,
) -> Result<Json<Hold>, ApiError> {
    blocking(move || {
        let detail = serde_json::json!({ "id": id, "reason": request.reason });
        if let Err(e) = caller.require(caller.0.role.places_holds(), "lift legal holds") {
            return Err(refused(&service, &caller, "lift", detail, e));
        }
        let hold = match service.holds.lift(&caller.0, &id, &request.reason, Utc::now()) {
            Ok(hold) => hold,
            Err(e) => return Err(refused(&service, &caller, "lift", detail, e.into())),
        };
        let case = Case { case: hold.request.case.clone(), purpose: request.reason.clone() };
        service.audit(
            &caller.0,
            "hold_lifted",
            Some(&case),
            serde_json::to_value(&hold).expect("holds serialise"),
            None,
        )?;
        Ok(Json(hold))
    })
    .await
}

#[utoipa::path(get, path = "/v1/holds", responses((status = 200, description = "the holds the caller may see")))]
pub async fn list(State(service): State<Arc<Service>>, caller: Caller) -> Result<Json<Vec<Hold>>, ApiError> {
    blocking(move || {
        if let Err(e) = caller.require(caller.0.role.sees_holds(), "list legal holds") {
            return Err(refused(&service, &caller, "list", serde_json::Value::Null, e));
        }
        let holds = service.holds.visible_to(&caller.0)?;
        let ids: Vec<&str> = holds.iter().map(|h| h.id.as_str()).collect();
        service.audit(
            &caller.0,
            "list_holds",
            None,
            serde_json::json!({ "holds": ids }),
            Some(holds.len()),
        )?;
        Ok(Json(holds))
    })
    .await
}
