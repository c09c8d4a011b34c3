//! Case export packages through the service: asked for, written in the background (with
//! progress any replica reports), then downloaded. The events go through the disclosure budget
//! when the export is asked for; asking, failing and every download are audited. Only the case's
//! own agency (its investigators and supervisors) exports it; another agency's case is refused.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use canvass_custody::ExportError;
use canvass_custody::exports::{ExportRecord, ExportState, HEARTBEAT};
use canvass_custody::package::{AuditExtract, PackageRequest, Progress, case_events};
use canvass_governance::Principal;
use canvass_governance::audit::{Verdict, read_and_verify};
use chrono::Utc;
use serde::Deserialize;

use super::blocking;
use crate::error::{ApiError, Body as JsonBody};
use crate::state::{Caller, Case, Service};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExport {
    /// Why the case goes out (audited), e.g. "disclosure to the prosecutor".
    pub purpose: String,
    /// Only the events this query matches (the search language); all of the case's otherwise.
    pub query: Option<String>,
    /// Include the submitted originals (default), or clips only.
    #[serde(default = "yes")]
    pub originals: bool,
}

fn yes() -> bool {
    true
}

fn no_export(id: &str) -> ApiError {
    ApiError::not_found(format!("no export {id}"))
}

#[utoipa::path(post, path = "/v1/cases/{id}/exports", params(("id" = String, Path)), request_body = CreateExport,
    responses((status = 202, body = ExportRecord, description = "being written; poll /v1/exports/{id}"),
    (status = 403, description = "another agency's case"), (status = 404, description = "no such case"),
    (status = 422, description = "nothing to export"), (status = 429, description = "disclosure budget spent")))]
pub async fn create(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(ask): JsonBody<CreateExport>,
) -> Result<(StatusCode, Json<ExportRecord>), ApiError> {
    let reason = Case::given(Some(&id), Some(&ask.purpose))?;
    blocking(move || {
        let who = caller.0.clone();
        let case = service.cases.for_submission(&who, &id)?;
        let Some(key) = service.signing_key.as_ref() else {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "this service has no signing key: it makes no packages",
            ));
        };
        let in_jurisdiction = |source: &str| who.may_see(source);
        let events = case_events(&service.lake, &case.id, ask.query.as_deref(), Some(&in_jurisdiction))
            .map_err(|e| match e {
                ExportError::Query(_) | ExportError::TooLarge(_) => ApiError::bad_request(e.to_string()),
                e => ApiError::internal(e),
            })?;
        if events.is_empty() {
            let what = ask.query.as_ref().map_or(String::new(), |q| format!(" that match '{q}'"));
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("case {} has no events{what} you may see: nothing to export", case.id),
            ));
        }
        service.disclose(&who, events.len())?;
        let record = ExportRecord::new(
            &case.id,
            &who.name,
            &ask.purpose,
            ask.query.clone(),
            ask.originals,
            events.len(),
        );
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        let detail = serde_json::json!({ "export": record.id, "query": ask.query, "event_ids": ids,
            "originals": ask.originals, "signing_key": key.public_hex() });
        // Recorded first, so the package's audit extract holds its own export.
        service.audit(&who, "export_package", Some(&reason), detail, Some(events.len()))?;
        service.exports.put(&record)?;
        let request = PackageRequest {
            id: record.id.clone(),
            case,
            created_by: who.name.clone(),
            purpose: ask.purpose,
            query: ask.query,
            events,
            originals: ask.originals,
            clip_margin_us: (service.settings.clip_margin_s * 1e6) as i64,
            audit: AuditExtract::default(),
        };
        let (service, answer) = (service.clone(), record.clone());
        std::thread::Builder::new()
            .name(format!("export-{}", &record.id[..8]))
            .spawn(move || write_in_background(&service, &who, reason, record, request))
            .map_err(ApiError::internal)?;
        Ok((StatusCode::ACCEPTED, Json(answer)))
    })
    .await
}

/// Writes the package, keeping the record up to date (progress, and a heartbeat that says the
/// writer is alive: a record left `running` by a process that died reads as failed), and stores
/// it.
fn write_in_background(
    service: &Service,
    who: &Principal,
    reason: Case,
    record: ExportRecord,
    mut request: PackageRequest,
) {
    let exports = &service.exports;
    let (id, case) = (record.id.clone(), record.case.clone());
    let record = Mutex::new(record);
    let save = |change: &dyn Fn(&mut ExportRecord)| {
        let mut record = record.lock().expect("export record lock");
        change(&mut record);
        record.updated_at = Utc::now();
        if let Err(e) = exports.put(&record) {
            tracing::warn!(export = %record.id, "cannot record where the export stands: {e}");
        }
    };
    let finished = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut since = std::time::Instant::now();
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(200));
                if since.elapsed() >= HEARTBEAT {
                    since = std::time::Instant::now();
                    save(&|_| {});
                }
            }
        });
        let result = (|| -> Result<canvass_custody::PackageSummary, String> {
            let key = service.signing_key.as_ref().ok_or("no signing key")?;
            let (entries, verdict) =
                read_and_verify(service.audit.store(), service.audit.key()).map_err(|e| e.to_string())?;
            if let Verdict::Broken { problems } = verdict {
                return Err(format!(
                    "the audit log does not verify, so no package can prove its chain: {}",
                    problems.join("; ")
                ));
            }
            request.audit = AuditExtract::of_case(&entries, &case);
            let scratch = tempfile::NamedTempFile::new().map_err(|e| format!("no scratch file: {e}"))?;
            let mut last_saved = std::time::Instant::now();
            let mut progress = |p: Progress| {
                if last_saved.elapsed().as_secs() >= 1 || p.done == p.total {
                    last_saved = std::time::Instant::now();
                    save(&|r| (r.done, r.total) = (p.done, p.total));
                }
            };
            let summary = canvass_custody::write_package(
                &service.lake,
                &service.evidence,
                key,
                &request,
                scratch.path(),
                &mut progress,
            )
            .map_err(|e| e.to_string())?;
            let mut file = std::fs::File::open(scratch.path()).map_err(|e| e.to_string())?;
            let parts = exports.store_package(&id, &mut file).map_err(|e| e.to_string())?;
            save(&|r| r.parts = parts.clone());
            Ok(summary)
        })();
        match result {
            Ok(summary) => save(&|r| {
                r.state = ExportState::Done;
                r.summary = Some(summary.clone());
            }),
            Err(error) => {
                tracing::error!(export = %id, "export failed: {error}");
                save(&|r| {
                    r.state = ExportState::Failed;
                    r.error = Some(error.clone());
                });
                let detail = serde_json::json!({ "export": id, "error": error });
                if let Err(e) = service.audit(who, "export_failed", Some(&reason), detail, Some(0)) {
                    tracing::error!(export = %id, "cannot audit the failed export: {}", e.message);
                }
            }
        }
        finished.store(true, Ordering::Relaxed);
    });
}

/// The export `id` if `who` may have it: the case's own agency.
fn export_of(service: &Service, who: &Principal, id: &str) -> Result<ExportRecord, ApiError> {
    let record = service.exports.get(id)?.ok_or_else(|| no_export(id))?;
    service.cases.for_submission(who, &record.case).map_err(|_| no_export(id))?;
    Ok(record)
}

#[utoipa::path(get, path = "/v1/cases/{id}/exports", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ExportRecord>), (status = 403), (status = 404)))]
pub async fn list(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<ExportRecord>>, ApiError> {
    blocking(move || {
        let case = service.cases.for_submission(&caller.0, &id)?;
        let records = service.exports.of_case(&case.id)?;
        Ok(Json(records))
    })
    .await
}

#[utoipa::path(get, path = "/v1/exports/{id}", params(("id" = String, Path)),
    responses((status = 200, body = ExportRecord), (status = 404)))]
pub async fn get(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ExportRecord>, ApiError> {
    blocking(move || Ok(Json(export_of(&service, &caller.0, &id)?))).await
}

/// The package's parts, read one at a time off the async threads.
struct Parts(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for Parts {
    type Item = Result<Bytes, std::io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[utoipa::path(get, path = "/v1/exports/{id}/package", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/zip"), (status = 404), (status = 409, description = "not written yet, or failed"),
    (status = 410, description = "expired")))]
pub async fn package(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = blocking({
        let service = service.clone();
        move || {
            let record = export_of(&service, &caller.0, &id)?;
            match record.state {
                ExportState::Done if record.expires_at <= Utc::now() => {
                    return Err(ApiError::new(
                        StatusCode::GONE,
                        format!("export {id} expired at {}", record.expires_at),
                    ));
                }
                ExportState::Done => {}
                ExportState::Running => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        format!("export {id} is still being written"),
                    ));
                }
                ExportState::Failed => {
                    let why = record.error.clone().unwrap_or_default();
                    return Err(ApiError::new(StatusCode::CONFLICT, format!("export {id} failed: {why}")));
                }
            }
            let reason = Case { case: record.case.clone(), purpose: record.purpose.clone() };
            let size: u64 = record.parts.iter().sum();
            let detail = serde_json::json!({ "export": record.id, "bytes": size,
                "sha256": record.summary.as_ref().map(|s| s.sha256.clone()) });
            service.audit(&caller.0, "download_export", Some(&reason), detail, Some(record.events))?;
            Ok(record)
        }
    })
    .await?;
    let size: u64 = record.parts.iter().sum();
    let name = format!("canvass-export-{}-{}.zip", record.case, &record.id[..8]);
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        for n in 0..record.parts.len() {
            let part =
                service.exports.package_part(&record, n).map(Bytes::from).map_err(std::io::Error::other);
            let failed = part.is_err();
            if tx.blocking_send(part).is_err() || failed {
                return; // the client left, or the store failed: the body ends short
            }
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/zip")
        .header(header::CONTENT_LENGTH, size)
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from_stream(Parts(rx)))
        .map_err(ApiError::internal)
}
