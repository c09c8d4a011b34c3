//! Search, event detail, thumbnails and export: every one scoped to the caller's jurisdiction,
//! tied to a case and a purpose, and audited.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use canvass_custody::FootageError;
use canvass_custody::footage::shown_input;
use canvass_schemas::{DetectionEvent, wire_name};
use canvass_search::QueryError;
use canvass_store::Pruning;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::blocking;
use crate::error::{ApiError, Params};
use crate::state::{Caller, Case, Service, case_of};

pub const MAX_LIMIT: usize = 100;
pub const MAX_OFFSET: usize = 10_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// The query, in the CLI's language: `red pickup after:-24h camera:main-st`.
    pub q: String,
    /// Only events that end at or after this time (RFC 3339 or YYYY-MM-DD).
    pub from: Option<String>,
    /// Only events that start at or before this time (RFC 3339 or YYYY-MM-DD, inclusive day).
    pub to: Option<String>,
    /// Comma-separated source ids.
    pub sources: Option<String>,
    /// `lat,lon` of an incident: only cameras registered within `radius_m` of it.
    pub near: Option<String>,
    pub radius_m: Option<f64>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// Show every model version's events, not only the newest.
    pub all_versions: Option<bool>,
    pub case: Option<String>,
    pub purpose: Option<String>,
}

/// One event in a result list.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hit {
    pub event_id: String,
    pub source: String,
    pub class: String,
    pub colour: Option<String>,
    pub confidence: f32,
    pub start: String,
    pub end: String,
    pub media_start_s: f64,
    pub media_end_s: f64,
    /// Path of the thumbnail under this service.
    pub thumbnail: String,
    pub model: String,
}

impl Hit {
    pub fn of(e: &DetectionEvent) -> Self {
        Hit {
            event_id: e.event_id.clone(),
            source: e.source_id.clone(),
            class: wire_name(&e.class),
            colour: e.attributes.colour.as_ref().map(|c| wire_name(&c.value)),
            confidence: e.confidence,
            start: e.wall_start.to_rfc3339_opts(SecondsFormat::Millis, true),
            end: e.wall_end.to_rfc3339_opts(SecondsFormat::Millis, true),
            media_start_s: e.media_start_us as f64 / 1e6,
            media_end_s: e.media_end_us as f64 / 1e6,
            thumbnail: format!(
                "/v1/events/{}/thumbnail?date={}",
                e.event_id,
                e.wall_start.format("%Y-%m-%d")
            ),
            model: format!("{}@{}", e.model.name, e.model.version),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchResponse {
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub events: Vec<Hit>,
    /// Why the list is empty, when it is: no match, or nothing in range.
    pub note: Option<String>,
    /// How the query was read, aspect by aspect (what, colour, when, hours, near, cameras,
    /// direction, ignored words, ...).
    pub understood: Vec<Understood>,
}

/// One aspect of how a query was read.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Understood {
    pub aspect: String,
    pub value: String,
}

fn understood(query: &canvass_search::Query) -> Vec<Understood> {
    query
        .understood()
        .into_iter()
        .map(|(aspect, value)| Understood { aspect: aspect.into(), value })
        .collect()
}

fn parse_time(name: &str, value: &str, end_of_day: bool) -> Result<DateTime<Utc>, ApiError> {
    canvass_search::absolute_time(value, end_of_day).ok_or_else(|| {
        ApiError::bad_request(format!("{name}: '{value}' is not a time: use RFC 3339 or YYYY-MM-DD"))
    })
}

/// A parsed, scoped search: the query with the parameters' range and sources folded in.
pub(crate) struct ScopedQuery {
    pub(crate) query: canvass_search::Query,
    text: String,
    /// Set when the parameters rule out every source (no camera with footage in the area).
    nothing_to_search: Option<String>,
}

pub(crate) fn scoped_query(
    service: &Service,
    caller: &Caller,
    p: &SearchParams,
) -> Result<ScopedQuery, ApiError> {
    if p.q.len() > 1000 {
        return Err(ApiError::bad_request("q: at most 1000 characters"));
    }
    let mut query = canvass_search::parse_in(&p.q, Utc::now(), *chrono::Local::now().offset())
        .map_err(|e: QueryError| ApiError::bad_request(e.to_string()))?;
    if query.near.is_some() {
        // Only cameras the caller may see are places to search near: a name that matches only
        // another agency's camera is not found.
        let visible: Vec<_> = service
            .registry
            .all()?
            .into_iter()
            .filter(|c| c.registration.source_id.as_deref().is_some_and(|s| caller.0.may_see(s)))
            .collect();
        query.resolve_near(&visible).map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    if let Some(from) = &p.from {
        let from = parse_time("from", from, false)?;
        query.after = Some(query.after.map_or(from, |a| a.max(from)));
    }
    if let Some(to) = &p.to {
        let to = parse_time("to", to, true)?;
        query.before = Some(query.before.map_or(to, |b| b.min(to)));
    }
    if let (Some(a), Some(b)) = (query.after, query.before)
        && a > b
    {
        return Err(ApiError::bad_request("the time range is empty: from/after is later than to/before"));
    }
    if let Some(list) = &p.sources {
        let named: BTreeSet<String> =
            list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        query.sources = if query.sources.is_empty() {
            named
        } else {
            query.sources.intersection(&named).cloned().collect()
        };
        if query.sources.is_empty() {
            return Err(ApiError::bad_request(
                "sources: the sources given and the query's source: filters have none in common",
            ));
        }
    }
    if let Some(outside) = query.sources.iter().find(|s| !caller.0.may_see(s)) {
        return Err(ApiError::forbidden(format!("source '{outside}' is outside your agency's jurisdiction")));
    }
    // Another agency's case is not found, as through /v1/cases: `case:` does not probe it.
    for case in &query.cases {
        service.cases.get(&caller.0, case)?;
    }
    let mut nothing_to_search = None;
    match (&p.near, p.radius_m) {
        (None, None) => {}
        (Some(near), Some(radius)) => {
            let (lat, lon) = parse_point(near)?;
            if !(radius.is_finite() && radius > 0.0 && radius <= 100_000.0) {
                return Err(ApiError::bad_request("radius_m: metres, more than 0 and at most 100000"));
            }
            let nearby = canvass_search::sources_within(&service.registry.all()?, lat, lon, radius);
            query.sources = if query.sources.is_empty() {
                nearby
            } else {
                query.sources.intersection(&nearby).cloned().collect()
            };
            if query.sources.is_empty() {
                nothing_to_search =
                    Some(format!("no registered camera with footage within {radius} m of {near}"));
            }
        }
        _ => return Err(ApiError::bad_request("near and radius_m go together")),
    }
    Ok(ScopedQuery { query, text: p.q.clone(), nothing_to_search })
}

pub fn parse_point(text: &str) -> Result<(f64, f64), ApiError> {
    let bad = || ApiError::bad_request(format!("near: '{text}' is not 'lat,lon'"));
    let (lat, lon) = text.split_once(',').ok_or_else(bad)?;
    let (lat, lon): (f64, f64) =
        (lat.trim().parse().map_err(|_| bad())?, lon.trim().parse().map_err(|_| bad())?);
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(bad());
    }
    Ok((lat, lon))
}

fn page(p: &SearchParams) -> Result<(usize, usize), ApiError> {
    let limit = p.limit.unwrap_or(20);
    let offset = p.offset.unwrap_or(0);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit: 1 to {MAX_LIMIT}")));
    }
    if offset > MAX_OFFSET {
        return Err(ApiError::bad_request(format!("offset: at most {MAX_OFFSET}; narrow the query instead")));
    }
    Ok((offset, limit))
}

pub(crate) fn run_search(
    service: &Service,
    caller: &Caller,
    scoped: &ScopedQuery,
    all_versions: bool,
    offset: usize,
    limit: usize,
) -> Result<canvass_search::SearchResults, ApiError> {
    if scoped.nothing_to_search.is_some() {
        return Ok(canvass_search::SearchResults { events: Vec::new(), total: 0, stats: Default::default() });
    }
    let principal = &caller.0;
    let in_jurisdiction = |source: &str| principal.may_see(source);
    Ok(canvass_search::search_within(
        &service.lake,
        &scoped.query,
        Some(&in_jurisdiction),
        all_versions,
        offset,
        limit,
    )?)
}

#[utoipa::path(get, path = "/v1/search", params(SearchParams), responses(
    (status = 200, body = SearchResponse), (status = 400, description = "bad or refused query"),
    (status = 401), (status = 403, description = "role or jurisdiction"),
    (status = 429, description = "disclosure budget spent")))]
pub async fn search(
    State(service): State<Arc<Service>>,
    caller: Caller,
    headers: HeaderMap,
    Params(p): Params<SearchParams>,
) -> Result<Json<SearchResponse>, ApiError> {
    caller.require(caller.0.role.sees_events(), "search events")?;
    let case = case_of(&headers, p.case.as_deref(), p.purpose.as_deref())?;
    let (offset, limit) = page(&p)?;
    blocking(move || {
        let scoped = match scoped_query(&service, &caller, &p) {
            Ok(scoped) => scoped,
            Err(refused) => {
                // Refused and out-of-jurisdiction searches are part of the record too.
                let detail = serde_json::json!({ "q": p.q, "sources": p.sources, "error": refused.message });
                service.audit(&caller.0, "search_refused", Some(&case), detail, Some(0))?;
                return Err(refused.audited());
            }
        };
        let results = run_search(&service, &caller, &scoped, p.all_versions.unwrap_or(false), offset, limit)?;
        service.disclose(&caller.0, results.events.len())?;
        let shown: Vec<&str> = results.events.iter().map(|e| e.event_id.as_str()).collect();
        let detail = serde_json::json!({ "q": scoped.text, "from": p.from, "to": p.to, "sources": p.sources,
            "near": p.near, "radius_m": p.radius_m, "offset": offset, "limit": limit, "event_ids": shown });
        service.audit(&caller.0, "search", Some(&case), detail, Some(results.total))?;
        let note = (results.total == 0).then(|| {
            match (&scoped.nothing_to_search, scoped.query.after, scoped.query.before) {
                (Some(why), _, _) => why.clone(),
                (None, None, None) => "no event matches".to_string(),
                _ => "no event matches in the time range".to_string(),
            }
        });
        Ok(Json(SearchResponse {
            total: results.total,
            offset,
            limit,
            events: results.events.iter().map(Hit::of).collect(),
            note,
            understood: understood(&scoped.query),
        }))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// The event's start day (YYYY-MM-DD), as in search results: looks in that day only.
    pub date: Option<String>,
    pub case: Option<String>,
    pub purpose: Option<String>,
}

/// The event with `id` if the caller may see it; a hidden event is reported as not found.
pub(crate) fn find_event(
    service: &Service,
    caller: &Caller,
    id: &str,
    date: Option<&str>,
) -> Result<DetectionEvent, ApiError> {
    let valid = id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit());
    if !valid {
        return Err(ApiError::bad_request("an event id is 32 hex digits"));
    }
    let mut pruning = Pruning { event_ids: [id.to_ascii_lowercase()].into(), ..Default::default() };
    if let Some(date) = date {
        pruning.after = Some(parse_time("date", date, false)?);
        pruning.before = Some(parse_time("date", date, true)?);
    }
    let (events, _) = service.lake.scan(&pruning)?;
    events
        .into_iter()
        .find(|e| caller.0.may_see(&e.source_id))
        .ok_or_else(|| ApiError::not_found(format!("no event {id} that you may see")))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventDetail {
    /// The whole event, as stored (see `schemas/json/detection_event.v3.json`).
    #[schema(value_type = Object)]
    pub event: DetectionEvent,
    pub thumbnail: String,
}

/// The common part of every single-event view: the role check, the case, looking the event up
/// in the caller's jurisdiction; then `view` on the event, off the async threads.
async fn view_event<T: Send + 'static>(
    service: Arc<Service>,
    caller: Caller,
    headers: &HeaderMap,
    id: String,
    p: EventParams,
    what: &str,
    view: impl FnOnce(&Service, &Caller, &Case, DetectionEvent) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    caller.require(caller.0.role.sees_events(), what)?;
    let case = case_of(headers, p.case.as_deref(), p.purpose.as_deref())?;
    blocking(move || {
        let event = find_event(&service, &caller, &id, p.date.as_deref())?;
        service.disclose(&caller.0, 1)?;
        view(&service, &caller, &case, event)
    })
    .await
}

fn viewed(event: &DetectionEvent) -> serde_json::Value {
    serde_json::json!({ "event_id": event.event_id })
}

#[utoipa::path(get, path = "/v1/events/{id}", params(("id" = String, Path), EventParams),
    responses((status = 200, body = EventDetail), (status = 404)))]
pub async fn event(
    State(service): State<Arc<Service>>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(p): Params<EventParams>,
) -> Result<Json<EventDetail>, ApiError> {
    view_event(service, caller, &headers, id, p, "view events", |service, caller, case, event| {
        service.audit(&caller.0, "view_event", Some(case), viewed(&event), Some(1))?;
        let thumbnail = Hit::of(&event).thumbnail;
        Ok(Json(EventDetail { event: without_server_paths(event), thumbnail }))
    })
    .await
}

#[utoipa::path(get, path = "/v1/events/{id}/thumbnail", params(("id" = String, Path), EventParams),
    responses((status = 200, content_type = "image/jpeg"), (status = 404)))]
pub async fn thumbnail(
    State(service): State<Arc<Service>>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(p): Params<EventParams>,
) -> Result<impl IntoResponse, ApiError> {
    view_event(service, caller, &headers, id, p, "view thumbnails", |service, caller, case, event| {
        let jpeg = match service.lake.thumbnail(&event.thumbnail_key) {
            Ok(jpeg) => jpeg,
            Err(canvass_store::StoreError::NotFound(_)) => {
                return Err(ApiError::not_found("the event has no thumbnail"));
            }
            Err(e) => return Err(e.into()),
        };
        service.audit(&caller.0, "view_thumbnail", Some(case), viewed(&event), Some(1))?;
        Ok(([(header::CONTENT_TYPE, "image/jpeg")], jpeg))
    })
    .await
}

#[utoipa::path(get, path = "/v1/events/{id}/frame", params(("id" = String, Path), EventParams),
    responses((status = 200, content_type = "image/jpeg", description = "the source footage at the event's best frame"),
    (status = 404, description = "no such event, or its footage is not stored here")))]
pub async fn frame(
    State(service): State<Arc<Service>>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(p): Params<EventParams>,
) -> Result<impl IntoResponse, ApiError> {
    view_event(service, caller, &headers, id, p, "view footage", |service, caller, case, event| {
        let (jpeg, media_us) =
            canvass_custody::still_of_event(&service.evidence, &event, STILL_MAX_SIDE).map_err(|e| match e {
                FootageError::Gone(_) | FootageError::NotStored(_) => ApiError::not_found(e.to_string()),
                e => {
                    tracing::error!(input = %event.input, "cannot cut a frame: {e}");
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        format!("cannot cut a frame from {} (logged on the server)", shown_input(&event.input)),
                    )
                }
            })?;
        let media_time = format!("{:.3}", media_us as f64 / 1e6);
        let detail = serde_json::json!({ "event_id": event.event_id, "input": event.input, "media_time_s": media_time });
        service.audit(&caller.0, "view_footage", Some(case), detail, Some(1))?;
        Ok(([(header::CONTENT_TYPE, "image/jpeg".to_string()), (header::HeaderName::from_static("x-canvass-media-time"), media_time)], jpeg))
    })
    .await
}

fn without_server_paths(mut event: DetectionEvent) -> DetectionEvent {
    event.input = shown_input(&event.input);
    event
}

/// Stills of the source footage: large enough to read a scene, small enough to send quickly.
const STILL_MAX_SIDE: u32 = 1280;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportResponse {
    pub total: usize,
    /// True when more events matched than one export may hold.
    pub truncated: bool,
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<DetectionEvent>,
}

#[utoipa::path(get, path = "/v1/export", params(SearchParams),
    responses((status = 200, body = ExportResponse), (status = 429, description = "disclosure budget spent")))]
pub async fn export(
    State(service): State<Arc<Service>>,
    caller: Caller,
    headers: HeaderMap,
    Params(p): Params<SearchParams>,
) -> Result<Json<ExportResponse>, ApiError> {
    caller.require(caller.0.role.sees_events(), "export events")?;
    let case = case_of(&headers, p.case.as_deref(), p.purpose.as_deref())?;
    if p.limit.is_some() || p.offset.is_some() {
        return Err(ApiError::bad_request(
            "an export takes no limit or offset: it holds the best matches, capped",
        ));
    }
    blocking(move || {
        let scoped = scoped_query(&service, &caller, &p)?;
        let cap = service.settings.export_max_events;
        let results = run_search(&service, &caller, &scoped, p.all_versions.unwrap_or(false), 0, cap)?;
        service.disclose(&caller.0, results.events.len())?;
        let ids: Vec<&str> = results.events.iter().map(|e| e.event_id.as_str()).collect();
        service.audit(
            &caller.0,
            "export",
            Some(&case),
            serde_json::json!({ "q": scoped.text, "event_ids": ids }),
            Some(ids.len()),
        )?;
        Ok(Json(ExportResponse {
            total: results.total,
            truncated: results.total > cap,
            events: results.events.into_iter().map(without_server_paths).collect(),
        }))
    })
    .await
}

/// Shown to clients that ask for something that is not there.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint; see /openapi.json")
}
