//! The camera registry. Agencies see registered cameras (to know whom to ask for footage); only
//! a camera's owner registers, changes or removes it: the access level is the owner's choice.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::blocking;
use super::events::parse_point;
use crate::error::{ApiError, Body, Params};
use crate::state::{Caller, Service};
use canvass_governance::access::Role;
use canvass_governance::registry::{AccessLevel, Camera, CameraRegistration, distance_m, new_id, valid_id};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NearParams {
    /// `lat,lon` of an incident.
    pub near: Option<String>,
    /// With `near`: how far, in metres (up to 100 km).
    pub radius_m: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CameraHit {
    #[serde(flatten)]
    pub camera: Camera,
    /// From `near`, when given.
    pub distance_m: Option<f64>,
}

#[utoipa::path(get, path = "/v1/cameras", params(NearParams), responses((status = 200, body = Vec<CameraHit>)))]
pub async fn list(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Params(p): Params<NearParams>,
) -> Result<Json<Vec<CameraHit>>, ApiError> {
    let point = match (&p.near, p.radius_m) {
        (None, None) => None,
        (Some(near), Some(radius)) if radius.is_finite() && radius > 0.0 && radius <= 100_000.0 => {
            Some((parse_point(near)?, radius))
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("radius_m: metres, more than 0 and at most 100000"));
        }
        _ => return Err(ApiError::bad_request("near and radius_m go together")),
    };
    blocking(move || {
        let mut hits: Vec<CameraHit> = service
            .registry
            .all()?
            .into_iter()
            // Owners see their own registrations; agencies see the registry.
            .filter(|c| caller.0.role != Role::Owner || c.owner == caller.0.name)
            .map(|camera| {
                let distance_m = point.map(|((lat, lon), _)| {
                    distance_m(lat, lon, camera.registration.lat, camera.registration.lon)
                });
                CameraHit { camera, distance_m }
            })
            .filter(|hit| point.is_none_or(|(_, radius)| hit.distance_m.is_some_and(|d| d <= radius)))
            .collect();
        hits.sort_by(|a, b| {
            a.distance_m
                .unwrap_or(0.0)
                .total_cmp(&b.distance_m.unwrap_or(0.0))
                .then(a.camera.id.cmp(&b.camera.id))
        });
        Ok(Json(hits))
    })
    .await
}

fn owner_only(caller: &Caller) -> Result<(), ApiError> {
    caller
        .require(
            caller.0.role == Role::Owner,
            "register or change cameras: the access level is the owner's choice",
        )
        .map(|_| ())
}

#[utoipa::path(post, path = "/v1/cameras", request_body = CameraRegistration, responses((status = 201, body = Camera)))]
pub async fn register(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Body(registration): Body<CameraRegistration>,
) -> Result<(StatusCode, Json<Camera>), ApiError> {
    owner_only(&caller)?;
    registration.validate().map_err(ApiError::bad_request)?;
    let registration = registration.normalised();
    blocking(move || {
        let now = Utc::now();
        let camera = Camera {
            id: new_id(&caller.0.name, now),
            owner: caller.0.name.clone(),
            updated_at: now,
            registration,
        };
        if let Err(e) = service.registry.register(&camera) {
            let refused = ApiError::from(e);
            if refused.status == StatusCode::CONFLICT {
                let detail = serde_json::json!({ "refused": camera, "why": refused.message });
                service.audit(&caller.0, "registry_refused", None, detail, None)?;
                return Err(refused.audited());
            }
            return Err(refused);
        }
        service.audit(
            &caller.0,
            "registry_change",
            None,
            serde_json::json!({ "registered": camera }),
            None,
        )?;
        Ok((StatusCode::CREATED, Json(camera)))
    })
    .await
}

/// The camera `id`, which the caller must own.
fn owned(service: &Service, caller: &Caller, id: &str) -> Result<Camera, ApiError> {
    if !valid_id(id) {
        return Err(ApiError::bad_request("a camera id is lowercase hex"));
    }
    let camera = service.registry.get(id)?.ok_or_else(|| ApiError::not_found(format!("no camera {id}")))?;
    if camera.owner != caller.0.name {
        return Err(ApiError::forbidden("only the camera's owner can change or remove its registration"));
    }
    Ok(camera)
}

#[utoipa::path(get, path = "/v1/cameras/{id}", params(("id" = String, Path)), responses((status = 200, body = Camera)))]
pub async fn get(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Camera>, ApiError> {
    blocking(move || {
        let camera =
            service.registry.get(&id)?.ok_or_else(|| ApiError::not_found(format!("no camera {id}")))?;
        if caller.0.role == Role::Owner && camera.owner != caller.0.name {
            return Err(ApiError::not_found(format!("no camera {id}")));
        }
        Ok(Json(camera))
    })
    .await
}

#[utoipa::path(put, path = "/v1/cameras/{id}", params(("id" = String, Path)), request_body = CameraRegistration,
    responses((status = 200, body = Camera), (status = 403, description = "not the owner")))]
pub async fn update(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(registration): Body<CameraRegistration>,
) -> Result<Json<Camera>, ApiError> {
    owner_only(&caller)?;
    registration.validate().map_err(ApiError::bad_request)?;
    let registration = registration.normalised();
    blocking(move || {
        let before = owned(&service, &caller, &id)?;
        let camera = Camera { registration, updated_at: Utc::now(), ..before.clone() };
        service.registry.update(&before, &camera)?;
        service.audit(
            &caller.0,
            "registry_change",
            None,
            serde_json::json!({ "before": before, "after": camera }),
            None,
        )?;
        Ok(Json(camera))
    })
    .await
}

#[utoipa::path(delete, path = "/v1/cameras/{id}", params(("id" = String, Path)), responses((status = 204)))]
pub async fn remove(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    owner_only(&caller)?;
    blocking(move || {
        let camera = owned(&service, &caller, &id)?;
        service.registry.remove(&camera)?;
        service.audit(&caller.0, "registry_change", None, serde_json::json!({ "removed": camera }), None)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// The owner's switch for a `conditional_live` camera (the "panic button"): while on, canvass
/// may take the camera live; turned off, a running stream stops within the registry re-check
/// (5 s).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveCondition {
    pub condition_active: bool,
}

#[utoipa::path(post, path = "/v1/cameras/{id}/condition", params(("id" = String, Path)), request_body = LiveCondition,
    responses((status = 200, body = Camera), (status = 400, description = "not a conditional_live camera"),
        (status = 403, description = "not the owner")))]
pub async fn condition(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(switch): Body<LiveCondition>,
) -> Result<Json<Camera>, ApiError> {
    owner_only(&caller)?;
    blocking(move || {
        let before = owned(&service, &caller, &id)?;
        if before.registration.access != AccessLevel::ConditionalLive {
            return Err(ApiError::bad_request(
                "only a conditional_live camera has a condition: change its access level first",
            ));
        }
        let mut camera = Camera { updated_at: Utc::now(), ..before.clone() };
        camera.registration.condition_active = switch.condition_active;
        service.registry.update(&before, &camera)?;
        let detail = serde_json::json!({ "camera": camera.id, "source_id": camera.registration.source_id,
            "condition_active": switch.condition_active });
        service.audit(&caller.0, "live_condition", None, detail, None)?;
        Ok(Json(camera))
    })
    .await
}
