//! Who the token belongs to: the page picks its view by role (an owner sees requests to answer,
//! not cases).

use axum::Json;
use serde::Serialize;

use crate::state::Caller;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub name: String,
    #[schema(value_type = String)]
    pub role: &'static str,
    pub agency: Option<String>,
}

#[utoipa::path(get, path = "/v1/me", responses((status = 200, body = Me)))]
pub async fn me(caller: Caller) -> Json<Me> {
    let who = caller.0;
    Json(Me { role: who.role.name(), agency: who.agency.map(|a| a.name), name: who.name })
}
