//! Legal holds: supervisors and admins keep a case's events past retention.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use canvass_governance::{Hold, HoldRequest};
use chrono::Utc;

use super::blocking;
use crate::error::{ApiError, Body};
use crate::state::{Caller, Service};

#[utoipa::path(post, path = "/v1/holds", request_body(content = Object, description = "case, reason, until, sources, from, to"),
    responses((status = 201, description = "the hold placed")))]
pub async fn place(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Body(request): Body<HoldRequest>,
) -> Result<(StatusCode, Json<Hold>), ApiError> {
    caller.require(caller.0.role.places_holds(), "place legal holds")?;
    blocking(move || {
        let hold = service.holds.place(&caller.0.name, request, Utc::now())?;
        let case =
            crate::state::Case { case: hold.request.case.clone(), purpose: hold.request.reason.clone() };
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

#[utoipa::path(get, path = "/v1/holds", responses((status = 200, description = "every hold")))]
pub async fn list(State(service): State<Arc<Service>>, caller: Caller) -> Result<Json<Vec<Hold>>, ApiError> {
    caller.require(caller.0.role.places_holds(), "list legal holds")?;
    blocking(move || Ok(Json(service.holds.all()?))).await
}
