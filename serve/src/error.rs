//! API errors: a status and a sentence saying what is wrong, as `{"error": "..."}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Sent as `Retry-After` (seconds).
    pub retry_after_s: Option<u64>,
    /// The handler audited this refusal itself, with more detail than the refusal layer has.
    pub audited: bool,
}

/// What a refusal said, for the layer that audits refusals (a response extension).
#[derive(Debug, Clone)]
pub struct Refusal {
    pub message: String,
    pub audited: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), retry_after_s: None, audited: false }
    }

    /// Marks a refusal the handler has audited already.
    pub fn audited(self) -> Self {
        ApiError { audited: true, ..self }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// A failure of ours, not the caller's: logged in full, reported briefly.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error (logged on the server)")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let refusal = Refusal { message: self.message.clone(), audited: self.audited };
        let mut response =
            (self.status, axum::Json(serde_json::json!({ "error": self.message }))).into_response();
        if let Some(seconds) = self.retry_after_s {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response.extensions_mut().insert(refusal);
        response
    }
}

impl From<canvass_governance::cases::CaseError> for ApiError {
    fn from(e: canvass_governance::cases::CaseError) -> Self {
        use canvass_governance::cases::CaseError;
        match e {
            CaseError::Invalid(why) => ApiError::bad_request(why),
            CaseError::Exists(_) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            CaseError::NotFound(_) => ApiError::not_found(e.to_string()),
            CaseError::NotYours(why) => ApiError::forbidden(why),
            other => ApiError::internal(other),
        }
    }
}

impl From<canvass_governance::requests::RequestError> for ApiError {
    fn from(e: canvass_governance::requests::RequestError) -> Self {
        use canvass_governance::requests::RequestError;
        match e {
            RequestError::Invalid(why) => ApiError::bad_request(why),
            RequestError::NotYours(why) => ApiError::forbidden(why),
            RequestError::NotFound(_) => ApiError::not_found(e.to_string()),
            RequestError::Answered { .. } => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            RequestError::Store(e) => ApiError::internal(e),
        }
    }
}

impl From<canvass_governance::DisclosureError> for ApiError {
    fn from(e: canvass_governance::DisclosureError) -> Self {
        match &e {
            canvass_governance::DisclosureError::Exceeded { usage, .. } => {
                let wait = usage.frees_at.map(|at| (at - chrono::Utc::now()).num_seconds().max(1) as u64);
                ApiError {
                    retry_after_s: wait,
                    ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, e.to_string())
                }
            }
            _ => ApiError::internal(e),
        }
    }
}

impl From<canvass_store::StoreError> for ApiError {
    fn from(e: canvass_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl From<canvass_governance::audit::AuditError> for ApiError {
    fn from(e: canvass_governance::audit::AuditError) -> Self {
        ApiError::internal(e)
    }
}

impl From<canvass_governance::GovernanceError> for ApiError {
    fn from(e: canvass_governance::GovernanceError) -> Self {
        match e {
            canvass_governance::GovernanceError::InvalidHold(why) => ApiError::bad_request(why),
            canvass_governance::GovernanceError::NotYours(why) => ApiError::forbidden(why),
            canvass_governance::GovernanceError::NoSuchHold(id) => {
                ApiError::not_found(format!("no hold {id}"))
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<canvass_governance::registry::RegistryError> for ApiError {
    fn from(e: canvass_governance::registry::RegistryError) -> Self {
        match e {
            canvass_governance::registry::RegistryError::Conflict(why) => {
                ApiError::new(StatusCode::CONFLICT, why)
            }
            canvass_governance::registry::RegistryError::Store(e) => ApiError::internal(e),
        }
    }
}

/// `Query`, with a bad query string reported as an `ApiError` (JSON, like every other error).
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Params(value))
            .map_err(|e| ApiError::new(e.status(), e.body_text()))
    }
}

/// `Json`, with a bad body (not JSON, wrong shape, too large, no content type) reported as an
/// `ApiError`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|axum::Json(value)| Body(value))
            .map_err(|e| ApiError::new(e.status(), e.body_text()))
    }
}
