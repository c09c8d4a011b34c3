//! Hits per camera over time, for the page's timeline: when did a red pickup pass each camera.
//! The same query language and scoping as search, audited once as a `timeline` read.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::blocking;
use super::events::{SearchParams, run_search, scoped_query};
use crate::error::{ApiError, Params};
use crate::state::{Caller, Service, case_of};

/// The timeline counts at most this many best-ranked hits.
pub const TIMELINE_MAX_EVENTS: usize = 10_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TimelineParams {
    /// The query, as for `/v1/search`.
    pub q: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub sources: Option<String>,
    pub near: Option<String>,
    pub radius_m: Option<f64>,
    /// Number of time buckets, 1 to 500. [default: 48]
    pub buckets: Option<usize>,
    pub case: Option<String>,
    pub purpose: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceCounts {
    pub source: String,
    pub counts: Vec<usize>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineResponse {
    /// Start of the first bucket and end of the last (RFC 3339).
    pub from: Option<String>,
    pub to: Option<String>,
    pub bucket_s: f64,
    pub total: usize,
    /// Hits counted (the best-ranked `TIMELINE_MAX_EVENTS` when there are more).
    pub counted: usize,
    pub sources: Vec<SourceCounts>,
}

#[utoipa::path(get, path = "/v1/timeline", params(TimelineParams), responses(
    (status = 200, body = TimelineResponse), (status = 400, description = "bad or refused query"),
    (status = 401), (status = 403)))]
pub async fn timeline(
    State(service): State<Arc<Service>>,
    caller: Caller,
    headers: HeaderMap,
    Params(p): Params<TimelineParams>,
) -> Result<Json<TimelineResponse>, ApiError> {
    caller.require(caller.0.role.sees_events(), "see the timeline of events")?;
    let case = case_of(&headers, p.case.as_deref(), p.purpose.as_deref())?;
    let buckets = p.buckets.unwrap_or(48);
    if !(1..=500).contains(&buckets) {
        return Err(ApiError::bad_request("buckets: 1 to 500"));
    }
    blocking(move || {
        let search = SearchParams {
            q: p.q.clone(),
            from: p.from.clone(),
            to: p.to.clone(),
            sources: p.sources.clone(),
            near: p.near.clone(),
            radius_m: p.radius_m,
            limit: None,
            offset: None,
            all_versions: None,
            case: None,
            purpose: None,
        };
        let scoped = scoped_query(&service, &caller, &search)?;
        let results = run_search(&service, &caller, &scoped, false, 0, TIMELINE_MAX_EVENTS)?;
        let detail = serde_json::json!({ "q": p.q, "from": p.from, "to": p.to, "sources": p.sources });
        service.audit(&caller.0, "timeline", Some(&case), detail, Some(results.total))?;
        let times: Vec<(&str, DateTime<Utc>)> =
            results.events.iter().map(|e| (e.source_id.as_str(), e.wall_start)).collect();
        // The query's range where it has one, else the hits' own.
        let from = scoped.query.after.or_else(|| times.iter().map(|t| t.1).min());
        let to = scoped.query.before.or_else(|| times.iter().map(|t| t.1).max());
        let (Some(from), Some(to)) = (from, to) else {
            return Ok(Json(TimelineResponse {
                from: None,
                to: None,
                bucket_s: 0.0,
                total: 0,
                counted: 0,
                sources: Vec::new(),
            }));
        };
        let span_s = ((to - from).num_milliseconds() as f64 / 1000.0).max(1.0);
        let bucket_s = span_s / buckets as f64;
        let mut per_source: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (source, at) in &times {
            let offset_s = (*at - from).num_milliseconds() as f64 / 1000.0;
            let slot = ((offset_s / bucket_s) as usize).min(buckets - 1);
            per_source.entry(source).or_insert_with(|| vec![0; buckets])[slot] += 1;
        }
        let rfc = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        Ok(Json(TimelineResponse {
            from: Some(rfc(from)),
            to: Some(rfc(to)),
            bucket_s,
            total: results.total,
            counted: times.len(),
            sources: per_source
                .into_iter()
                .map(|(source, counts)| SourceCounts { source: source.to_string(), counts })
                .collect(),
        }))
    })
    .await
}
