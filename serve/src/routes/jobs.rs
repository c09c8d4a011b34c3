//! Ingest jobs of stored evidence: where each stands (queued, running, done, failed; media
//! seconds done of the total; frames; events; what went wrong), and reprocessing a case's
//! evidence with the current models. A job is seen by whoever sees its case.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use canvass_store::jobs::Job;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::blocking;
use crate::error::{ApiError, Body};
use crate::state::{Caller, Service};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    /// The case whose jobs to list (admins may leave it out for all).
    pub case: Option<String>,
}

#[utoipa::path(get, path = "/v1/jobs", params(JobQuery), responses(
    (status = 200, body = Vec<Object>), (status = 404, description = "no such case of the caller's agency")))]
pub async fn list(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Query(query): Query<JobQuery>,
) -> Result<Json<Vec<Job>>, ApiError> {
    blocking(move || {
        let who = &caller.0;
        let case = match (&query.case, who.role) {
            (Some(case), _) => Some(service.cases.get(who, case)?.id),
            (None, canvass_governance::Role::Admin) => None,
            (None, _) => return Err(ApiError::bad_request("name the case: /v1/jobs?case=ID")),
        };
        let jobs = service.jobs.list(case.as_deref())?;
        let detail = serde_json::json!({ "case": case });
        service.audit(who, "list_jobs", None, detail, Some(jobs.len()))?;
        Ok(Json(jobs))
    })
    .await
}

#[utoipa::path(get, path = "/v1/jobs/{id}", params(("id" = String, Path)), responses(
    (status = 200, body = Object), (status = 404, description = "no such job of the caller's agency")))]
pub async fn get(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    blocking(move || {
        let who = &caller.0;
        let missing = || ApiError::not_found(format!("no job {id}"));
        let job = service.jobs.get(&id)?.ok_or_else(missing)?;
        // Another agency's job is as absent as its case.
        service.cases.get(who, &job.case).map_err(|_| missing())?;
        service.audit(who, "view_job", None, serde_json::json!({ "job": job.id, "case": job.case }), None)?;
        Ok(Json(job))
    })
    .await
}

/// Which of a case's evidence to reprocess; all of it by default.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Reprocess {
    /// Only evidence of this source id.
    pub source: Option<String>,
    /// Only evidence submitted at or after this time ...
    pub from: Option<DateTime<Utc>>,
    /// ... and before this time.
    pub to: Option<DateTime<Utc>>,
}

#[utoipa::path(post, path = "/v1/cases/{id}/reprocess", params(("id" = String, Path)), request_body = Reprocess,
    responses((status = 202, body = Vec<Object>, description = "the jobs queued"),
    (status = 404, description = "no such case of the caller's agency")))]
pub async fn reprocess(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(filter): Body<Reprocess>,
) -> Result<(StatusCode, Json<Vec<Job>>), ApiError> {
    blocking(move || {
        let who = &caller.0;
        let case = service.cases.for_submission(who, &id).map_err(|e| match e {
            // Reprocessing is asked of a case one sees; another agency's is not found.
            canvass_governance::cases::CaseError::NotYours(_) => ApiError::not_found(format!("no case {id}")),
            other => other.into(),
        })?;
        let now = Utc::now();
        let mut queued = Vec::new();
        for manifest in service.evidence.list(&case.id).map_err(ApiError::internal)? {
            let source = manifest.source_id.clone().unwrap_or_else(|| {
                let stem = std::path::Path::new(&manifest.original_name).file_stem();
                canvass_schemas::sanitize_source_id(&stem.unwrap_or_default().to_string_lossy())
            });
            let wanted = filter.source.as_ref().is_none_or(|s| *s == source)
                && filter.from.is_none_or(|from| manifest.submitted_at >= from)
                && filter.to.is_none_or(|to| manifest.submitted_at < to);
            if !wanted {
                continue;
            }
            let job = Job::queued(
                &case.id,
                &manifest.sha256,
                &manifest.original_name,
                &source,
                &who.name,
                "reprocess",
                now,
            );
            service.jobs.create(&job)?;
            queued.push(job);
        }
        let ids: Vec<&str> = queued.iter().map(|j| j.id.as_str()).collect();
        let detail =
            serde_json::json!({ "jobs": ids, "source": filter.source, "from": filter.from, "to": filter.to });
        let reason =
            crate::state::Case { case: case.id.clone(), purpose: "reprocess with the current models".into() };
        service.audit(who, "reprocess", Some(&reason), detail, Some(queued.len()))?;
        for job in &queued {
            service.queue_job(job);
        }
        Ok((StatusCode::ACCEPTED, Json(queued)))
    })
    .await
}
