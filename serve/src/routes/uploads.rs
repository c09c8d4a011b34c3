//! Evidence uploads by the tus 1.0 protocol (core, creation, termination, checksum with
//! sha256): an investigator uploads to their agency's case, a camera's owner against a footage
//! request for their camera. Bytes stream into the store in parts as they arrive (memory holds
//! one part), so an interrupted upload resumes at what is stored; the last byte in, the file is
//! evidence under its SHA-256 and an ingest job is queued. Only the uploader sees an upload.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use canvass_governance::{Principal, Role};
use canvass_store::evidence::PART_SIZE;
use canvass_store::evidence::upload::{UPLOAD_VERSION, Upload};
use canvass_store::jobs::Job;
use chrono::Utc;
use http_body_util::BodyExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::blocking;
use crate::error::ApiError;
use crate::state::{Caller, Service};

pub const TUS_VERSION: &str = "1.0.0";
/// tus's status for a chunk whose checksum does not match.
const CHECKSUM_MISMATCH: u16 = 460;

/// What an upload says of itself to its uploader (`GET /v1/uploads/{id}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadStatus {
    pub id: String,
    pub case: String,
    pub filename: String,
    pub length: u64,
    pub offset: u64,
    pub request: Option<String>,
    /// The stored original, once complete.
    pub sha256: Option<String>,
    /// Its ingest job (`GET /v1/jobs/{id}`).
    pub job: Option<String>,
}

/// The whole-file hash of an upload this process is receiving, so the end needs no second read
/// of the file; lost on a restart, when the store is read back instead.
pub struct Hashing {
    offset: u64,
    hasher: Sha256,
}

fn tus_headers(headers: &mut HeaderMap) {
    headers.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Every tus request but OPTIONS says which protocol version it speaks.
fn require_tus(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            format!("Tus-Resumable: {TUS_VERSION} is required (the tus protocol version this server speaks)"),
        )),
    }
}

fn number(headers: &HeaderMap, name: &str) -> Result<Option<u64>, ApiError> {
    headers
        .get(name)
        .map(|v| v.to_str().ok().and_then(|v| v.trim().parse().ok()))
        .map(|v| v.ok_or_else(|| ApiError::bad_request(format!("{name} must be a whole number of bytes"))))
        .transpose()
}

/// `Upload-Metadata`: `key base64value,key base64value`.
fn metadata(headers: &HeaderMap) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
    let mut found = std::collections::BTreeMap::new();
    let Some(raw) = headers.get("upload-metadata") else { return Ok(found) };
    let bad = |why: &str| ApiError::bad_request(format!("Upload-Metadata: {why}"));
    for pair in
        raw.to_str().map_err(|_| bad("not ASCII"))?.split(',').map(str::trim).filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let value = STANDARD.decode(value.trim()).map_err(|_| bad(&format!("{key}: not base64")))?;
        let value = String::from_utf8(value).map_err(|_| bad(&format!("{key}: not UTF-8 text")))?;
        if value.len() > 256 || value.chars().any(char::is_control) {
            return Err(bad(&format!("{key}: at most 256 printable characters")));
        }
        found.insert(key.to_string(), value);
    }
    Ok(found)
}

/// `OPTIONS /v1/uploads`: what this server speaks (no login needed, as tus clients and
/// browsers ask first).
pub async fn options(State(service): State<Arc<Service>>) -> Response {
    let mut headers = HeaderMap::new();
    tus_headers(&mut headers);
    headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    headers.insert("tus-extension", HeaderValue::from_static("creation,termination,checksum"));
    headers.insert("tus-checksum-algorithm", HeaderValue::from_static("sha256"));
    headers.insert("tus-max-size", service.settings.max_upload_bytes.into());
    (StatusCode::NO_CONTENT, headers).into_response()
}

#[utoipa::path(post, path = "/v1/uploads", responses(
    (status = 201, description = "created: Location names the upload"),
    (status = 403, description = "another agency's case, or not an uploader"),
    (status = 404, description = "no such case or open request"),
    (status = 413, description = "larger than the server takes")))]
pub async fn create(
    State(service): State<Arc<Service>>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_tus(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(ApiError::bad_request("Upload-Defer-Length is not supported: give Upload-Length"));
    }
    let length = number(&headers, "upload-length")?
        .ok_or_else(|| ApiError::bad_request("Upload-Length is required"))?;
    let max = service.settings.max_upload_bytes;
    if length > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{length} bytes is over this server's limit of {max} bytes (max_upload_bytes)"),
        ));
    }
    let meta = metadata(&headers)?;
    let filename =
        meta.get("filename").map(|f| f.rsplit(['/', '\\']).next().unwrap_or_default().trim().to_string());
    let filename = filename.filter(|f| !f.is_empty() && f != "." && f != "..");
    let filename = filename.ok_or_else(|| ApiError::bad_request("Upload-Metadata needs a filename"))?;
    blocking(move || {
        let who = &caller.0;
        let (case, source_id, request) = match who.role {
            Role::Owner => {
                let id = meta.get("request").ok_or_else(|| {
                    ApiError::forbidden(
                        "a camera owner uploads footage to answer a request: give its id as 'request'",
                    )
                })?;
                let request = service.requests.to_answer(who, id)?;
                let camera = service.registry.get(&request.camera_id)?;
                let source =
                    camera.and_then(|c| c.registration.source_id).unwrap_or(request.camera_id.clone());
                (request.case.clone().unwrap_or_default(), source, Some(request.id))
            }
            Role::Investigator | Role::Supervisor => {
                if meta.contains_key("request") {
                    return Err(ApiError::bad_request("a footage request is answered by its camera's owner"));
                }
                let case =
                    meta.get("case").ok_or_else(|| ApiError::bad_request("Upload-Metadata needs a case"))?;
                let case = service.cases.for_submission(who, case)?;
                let stem =
                    std::path::Path::new(&filename).file_stem().map(|s| s.to_string_lossy().into_owned());
                let source = meta.get("source").cloned().or(stem).unwrap_or_default();
                (case.id, canvass_schemas::sanitize_source_id(&source), None)
            }
            Role::Admin => return Err(ApiError::forbidden("admin users cannot submit evidence")),
        };
        let now = Utc::now();
        let upload = Upload {
            version: UPLOAD_VERSION,
            id: canvass_store::secret::new_id(),
            case,
            length,
            filename,
            source_id: Some(source_id),
            request,
            submitted_by: who.name.clone(),
            created_at: now,
            expires_at: now + chrono::Duration::hours(i64::from(service.settings.upload_expiry_hours)),
            sha256: None,
            job: None,
        };
        service.uploads.create(&upload).map_err(ApiError::internal)?;
        let detail = serde_json::json!({ "upload": upload.id, "filename": upload.filename,
            "length": length, "request": upload.request });
        let case = crate::state::Case { case: upload.case.clone(), purpose: "evidence upload".into() };
        // An owner is not told the case; the audit log (which owners cannot read) has it.
        service.audit(who, "upload_started", Some(&case), detail, None)?;
        let mut headers = HeaderMap::new();
        tus_headers(&mut headers);
        let location = format!("/v1/uploads/{}", upload.id);
        headers.insert(header::LOCATION, HeaderValue::from_str(&location).expect("ids are ASCII"));
        headers.insert("upload-offset", 0.into());
        Ok((StatusCode::CREATED, headers).into_response())
    })
    .await
}

/// The caller's own upload `id`, unfinished and unexpired or finished; anything else is
/// "not found".
fn own_upload(service: &Service, who: &Principal, id: &str) -> Result<Upload, ApiError> {
    let gone = || ApiError::not_found(format!("no upload {id}"));
    let upload = service.uploads.get(id).map_err(ApiError::internal)?.ok_or_else(gone)?;
    if upload.submitted_by != who.name || (upload.sha256.is_none() && upload.expires_at < Utc::now()) {
        return Err(gone());
    }
    Ok(upload)
}

/// `own_upload`, and how many of its bytes are stored.
fn own_upload_at(service: &Service, who: &Principal, id: &str) -> Result<(Upload, u64), ApiError> {
    let upload = own_upload(service, who, id)?;
    let offset = service.uploads.offset(&upload).map_err(ApiError::internal)?;
    Ok((upload, offset))
}

#[utoipa::path(head, path = "/v1/uploads/{id}", params(("id" = String, Path)), responses(
    (status = 200, description = "Upload-Offset: the bytes stored"), (status = 404, description = "no such upload of yours")))]
pub async fn head(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_tus(&headers)?;
    blocking(move || {
        let (upload, offset) = own_upload_at(&service, &caller.0, &id)?;
        let mut headers = HeaderMap::new();
        tus_headers(&mut headers);
        headers.insert("upload-offset", offset.into());
        headers.insert("upload-length", upload.length.into());
        Ok((StatusCode::OK, headers).into_response())
    })
    .await
}

#[utoipa::path(get, path = "/v1/uploads/{id}", params(("id" = String, Path)), responses(
    (status = 200, body = UploadStatus), (status = 404, description = "no such upload of yours")))]
pub async fn status(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UploadStatus>, ApiError> {
    blocking(move || {
        let (upload, offset) = own_upload_at(&service, &caller.0, &id)?;
        // An owner answering a request is not told the case.
        let case = if caller.0.role == Role::Owner { String::new() } else { upload.case };
        Ok(Json(UploadStatus {
            id: upload.id,
            case,
            filename: upload.filename,
            length: upload.length,
            offset,
            request: upload.request,
            sha256: upload.sha256,
            job: upload.job,
        }))
    })
    .await
}

#[utoipa::path(delete, path = "/v1/uploads/{id}", params(("id" = String, Path)), responses(
    (status = 204, description = "removed"), (status = 404, description = "no such upload of yours"),
    (status = 409, description = "complete: it is evidence, kept")))]
pub async fn terminate(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_tus(&headers)?;
    blocking(move || {
        let upload = own_upload(&service, &caller.0, &id)?;
        if upload.sha256.is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "the upload is complete: it is evidence, and kept",
            ));
        }
        service.uploads.terminate(&upload).map_err(ApiError::internal)?;
        service.hashing.lock().unwrap_or_else(|p| p.into_inner()).remove(&upload.id);
        let case = crate::state::Case { case: upload.case.clone(), purpose: "evidence upload".into() };
        service.audit(
            &caller.0,
            "upload_terminated",
            Some(&case),
            serde_json::json!({ "upload": upload.id }),
            None,
        )?;
        let mut headers = HeaderMap::new();
        tus_headers(&mut headers);
        Ok((StatusCode::NO_CONTENT, headers).into_response())
    })
    .await
}

/// Whether a PATCH on the upload is under way in this process: one writer at a time.
struct Writing {
    service: Arc<Service>,
    id: String,
}

impl Writing {
    fn begin(service: &Arc<Service>, id: &str) -> Result<Writing, ApiError> {
        if !service.writing.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string()) {
            return Err(ApiError::new(StatusCode::CONFLICT, "another request is writing this upload; retry"));
        }
        Ok(Writing { service: service.clone(), id: id.into() })
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        self.service.writing.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

/// `Upload-Checksum: sha256 <base64>`.
fn checksum(headers: &HeaderMap) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(value) = headers.get("upload-checksum") else { return Ok(None) };
    let text = value.to_str().unwrap_or_default();
    let (algorithm, digest) = text.split_once(' ').unwrap_or((text, ""));
    if algorithm != "sha256" {
        return Err(ApiError::bad_request(format!(
            "Upload-Checksum: algorithm '{algorithm}' is not supported (sha256 is)"
        )));
    }
    STANDARD
        .decode(digest.trim())
        .map(Some)
        .map_err(|_| ApiError::bad_request("Upload-Checksum: the digest is not base64"))
}

#[utoipa::path(patch, path = "/v1/uploads/{id}", params(("id" = String, Path)), responses(
    (status = 204, description = "stored: Upload-Offset is the new offset"),
    (status = 409, description = "Upload-Offset is not the stored offset"),
    (status = 460, description = "the chunk's checksum does not match; nothing of it is kept")))]
pub async fn patch(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_tus(&headers)?;
    if headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok())
        != Some("application/offset+octet-stream")
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/offset+octet-stream",
        ));
    }
    let claimed = number(&headers, "upload-offset")?
        .ok_or_else(|| ApiError::bad_request("Upload-Offset is required"))?;
    let expected = checksum(&headers)?;
    let _writing = Writing::begin(&service, &id)?;
    let (upload, offset) = {
        let (service, who, id) = (service.clone(), caller.0.clone(), id.clone());
        blocking(move || own_upload_at(&service, &who, &id)).await?
    };
    if claimed != offset {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("Upload-Offset {claimed}: the upload is at {offset}"),
        ));
    }
    let hashing = service.hashing.lock().unwrap_or_else(|p| p.into_inner()).remove(&upload.id);
    let hasher = hashing.filter(|h| h.offset == offset).map(|h| h.hasher);
    let received = receive(&service, &upload, offset, body, expected.is_some(), hasher).await?;
    if let (Some(expected), Some(found)) = (&expected, &received.chunk_digest)
        && expected != found
    {
        let (service, upload) = (service.clone(), upload.clone());
        blocking(move || service.uploads.discard_from(&upload, offset).map_err(ApiError::internal)).await?;
        return Err(ApiError::new(
            StatusCode::from_u16(CHECKSUM_MISMATCH).expect("a valid status"),
            "the chunk's sha256 does not match Upload-Checksum: nothing of it was kept",
        ));
    }
    let new_offset = offset + received.stored;
    if let Some(hasher) = received.hasher {
        service
            .hashing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(upload.id.clone(), Hashing { offset: new_offset, hasher });
    }
    if let Some(why) = received.cut_short {
        // The client is likely gone; what arrived is kept, and it resumes from the new offset.
        tracing::info!(upload = %upload.id, stored = received.stored, "upload interrupted: {why}");
        return Err(ApiError::bad_request(format!(
            "the upload was interrupted ({why}); resume at {new_offset}"
        )));
    }
    let mut headers = HeaderMap::new();
    tus_headers(&mut headers);
    headers.insert("upload-offset", new_offset.into());
    if new_offset == upload.length {
        let job = complete(service, caller.0, upload).await?;
        headers.insert("x-canvass-job", HeaderValue::from_str(&job.id).expect("ids are ASCII"));
        headers.insert("x-canvass-evidence-sha256", HeaderValue::from_str(&job.sha256).expect("hex"));
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// What one PATCH body brought.
struct Received {
    /// Bytes stored (all that arrived, unless a checksum was asked for and it was cut short).
    stored: u64,
    chunk_digest: Option<Vec<u8>>,
    /// The whole-file hash up to the new offset, when it is known.
    hasher: Option<Sha256>,
    cut_short: Option<String>,
}

/// Parts written at a time before the body is read on. One: measured on 2 cores
/// (`benches/upload-bench`), receiving the next part while earlier ones were written (1 to 4
/// ahead) raised serve's peak memory by 5 to 60 MB and made neither the folder nor s3s-fs faster.
const PARTS_IN_FLIGHT: usize = 1;

/// Streams `body` into the upload's parts from `offset`: a part is written each `PART_SIZE`
/// bytes (`PARTS_IN_FLIGHT` at a time; the body waits meanwhile), and what remains at the
/// end (or when the client goes away) is written as a shorter part. With a checksum asked for,
/// a body cut short is not kept.
async fn receive(
    service: &Arc<Service>,
    upload: &Upload,
    offset: u64,
    mut body: Body,
    checksummed: bool,
    mut hasher: Option<Sha256>,
) -> Result<Received, ApiError> {
    let idle = Duration::from_secs(service.settings.request_timeout_s.max(1));
    let mut chunk = checksummed.then(Sha256::new);
    let mut buffer: Vec<u8> = Vec::with_capacity(PART_SIZE as usize);
    let mut writes = std::collections::VecDeque::new();
    // `stored`: the end of the parts written; `next`: where the next part starts.
    let (mut stored, mut next, mut received) = (offset, offset, 0u64);
    let cut_short = loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => break Some(format!("no data for {} s", idle.as_secs())),
            Ok(None) => break None,
            Ok(Some(Err(e))) => break Some(e.to_string()),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else { continue };
        if offset + received + data.len() as u64 > upload.length {
            drain(&mut writes, &mut stored).await?;
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body goes past the upload's length of {} bytes", upload.length),
            ));
        }
        received += data.len() as u64;
        if let Some(h) = hasher.as_mut() {
            h.update(&data);
        }
        if let Some(c) = chunk.as_mut() {
            c.update(&data);
        }
        // Filled to exactly one part, never grown past it: memory stays a part per write.
        let mut data = &data[..];
        while !data.is_empty() {
            let take = (PART_SIZE as usize - buffer.len()).min(data.len());
            buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
            if buffer.len() == PART_SIZE as usize {
                let part = std::mem::replace(&mut buffer, Vec::with_capacity(PART_SIZE as usize));
                writes.push_back(write_part(service, upload, next, part));
                next += PART_SIZE;
                while writes.len() >= PARTS_IN_FLIGHT {
                    finish_write(&mut writes, &mut stored).await?;
                }
            }
        }
    };
    if cut_short.is_some() && checksummed {
        drain(&mut writes, &mut stored).await?;
        let (service, upload) = (service.clone(), upload.clone());
        blocking(move || service.uploads.discard_from(&upload, offset).map_err(ApiError::internal)).await?;
        return Ok(Received { stored: 0, chunk_digest: None, hasher: None, cut_short });
    }
    writes.push_back(write_part(service, upload, next, buffer));
    drain(&mut writes, &mut stored).await?;
    Ok(Received {
        stored: stored - offset,
        chunk_digest: chunk.map(|c| c.finalize().to_vec()),
        hasher,
        cut_short,
    })
}

type PartWrite = tokio::task::JoinHandle<Result<u64, ApiError>>;

/// Waits for the oldest part write; `stored` moves past it.
async fn finish_write(
    writes: &mut std::collections::VecDeque<PartWrite>,
    stored: &mut u64,
) -> Result<(), ApiError> {
    if let Some(write) = writes.pop_front() {
        *stored += write.await.map_err(ApiError::internal)??;
    }
    Ok(())
}

/// Waits for every part write, in order.
async fn drain(writes: &mut std::collections::VecDeque<PartWrite>, stored: &mut u64) -> Result<(), ApiError> {
    while !writes.is_empty() {
        finish_write(writes, stored).await?;
    }
    Ok(())
}

/// Starts writing `part` at `at` on a blocking thread; its length once stored.
fn write_part(service: &Arc<Service>, upload: &Upload, at: u64, part: Vec<u8>) -> PartWrite {
    let (service, upload) = (service.clone(), upload.clone());
    tokio::task::spawn_blocking(move || {
        let len = part.len() as u64;
        if !service.uploads.write_part(&upload, at, &part).map_err(ApiError::internal)? {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("bytes from {at} were written by another request"),
            ));
        }
        Ok(len)
    })
}

/// The last byte is in: the file becomes evidence, the request (if any) is answered, and an
/// ingest job is queued.
async fn complete(service: Arc<Service>, who: Principal, mut upload: Upload) -> Result<Job, ApiError> {
    let known = service.hashing.lock().unwrap_or_else(|p| p.into_inner()).remove(&upload.id);
    blocking(move || {
        let sha256 = match known.filter(|h| h.offset == upload.length) {
            Some(hashing) => canvass_store::secret::hex(&hashing.hasher.finalize()),
            None => service.uploads.hash(&upload).map_err(ApiError::internal)?,
        };
        let now = Utc::now();
        let (manifest, new) =
            service.uploads.finish(&mut upload, &sha256, now).map_err(ApiError::internal)?;
        if let Some(request) = &upload.request {
            service.requests.answer(&who, request, &sha256, &upload.filename, now)?;
        }
        let source = upload.source_id.clone().unwrap_or_default();
        let job =
            Job::queued(&upload.case, &sha256, &manifest.original_name, &source, &who.name, "upload", now);
        service.jobs.create(&job)?;
        service.uploads.set_job(&mut upload, &job.id).map_err(ApiError::internal)?;
        let case = crate::state::Case { case: upload.case.clone(), purpose: "evidence upload".into() };
        let detail = serde_json::json!({ "upload": upload.id, "sha256": sha256, "size": manifest.size,
            "original_name": upload.filename, "source_id": source, "request": upload.request,
            "new": new, "job": job.id });
        service.audit(&who, "evidence_stored", Some(&case), detail, None)?;
        service.queue_job(&job);
        Ok(job)
    })
    .await
}
