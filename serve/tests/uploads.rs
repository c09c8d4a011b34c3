//! Evidence uploads by tus, attacked: a dropped connection, a wrong checksum, a wrong offset,
//! another agency's case, another user's upload, an expired one, a file over the cap, a body
//! past its length; the stored original is the file, on the folder and on an S3 server. And a
//! camera owner answering a footage request by upload.

mod support;

use std::io::Write;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use canvass_serve::ServeSettings;
use canvass_store::evidence::EvidenceStore;
use canvass_store::{LocalStore, Store};
use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};
use support::*;

const TUS: (&str, &str) = ("Tus-Resumable", "1.0.0");
const OCTETS: (&str, &str) = ("Content-Type", "application/offset+octet-stream");

fn file_bytes(len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect()
}

fn metadata(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k} {}", STANDARD.encode(v))).collect::<Vec<_>>().join(",")
}

fn create(server: &Server, who: &str, length: usize, meta: &[(&str, &str)]) -> Response {
    let length = length.to_string();
    let meta = metadata(meta);
    call_with(
        server,
        "POST",
        "/v1/uploads",
        Some(who),
        &[TUS, ("Upload-Length", &length), ("Upload-Metadata", &meta)],
        b"",
    )
}

fn patch(
    server: &Server,
    who: &str,
    location: &str,
    offset: usize,
    chunk: &[u8],
    checksum: Option<&[u8]>,
) -> Response {
    let offset = offset.to_string();
    let digest = checksum.map(|c| format!("sha256 {}", STANDARD.encode(Sha256::digest(c))));
    let mut headers = vec![TUS, OCTETS, ("Upload-Offset", offset.as_str())];
    if let Some(digest) = &digest {
        headers.push(("Upload-Checksum", digest));
    }
    call_with(server, "PATCH", location, Some(who), &headers, chunk)
}

fn offset_of(server: &Server, who: &str, location: &str) -> (u16, Option<usize>) {
    let head = call_with(server, "HEAD", location, Some(who), &[TUS], b"");
    (head.status, head.header("upload-offset").map(|o| o.parse().unwrap()))
}

fn open_case(server: &Server, who: &str, id: &str) {
    let case = serde_json::to_vec(&serde_json::json!({ "id": id, "title": "Burglary" })).unwrap();
    assert_eq!(call(server, "POST", "/v1/cases", Some(who), Some(&case)).status, 201);
}

/// The whole attack on one server: resumes, refusals, and the stored file checked byte for byte.
fn uploads_hold(server: &Server, store: Store) {
    let options = call_with(server, "OPTIONS", "/v1/uploads", None, &[], b"");
    assert_eq!(options.status, 204);
    assert_eq!(options.header("tus-version").as_deref(), Some("1.0.0"));
    assert!(options.header("tus-extension").unwrap().contains("checksum"));
    assert_eq!(options.header("tus-max-size").as_deref(), Some("33554432"));
    open_case(server, "ana", "2026-77");
    open_case(server, "bo", "2026-south");
    let file = file_bytes(20 * 1024 * 1024 + 12_345);
    let sha = canvass_store::secret::hex(&Sha256::digest(&file));

    // Refused at the start: no protocol version, another agency's case, no such case, too big,
    // an admin, an investigator naming a request.
    let meta = [("case", "2026-77"), ("filename", "door cam.mp4")];
    let no_tus = call_with(server, "POST", "/v1/uploads", Some("ana"), &[("Upload-Length", "10")], b"");
    assert_eq!(no_tus.status, 412);
    assert_eq!(create(server, "bo", file.len(), &meta).status, 403, "bo's agency does not hold 2026-77");
    assert_eq!(create(server, "ana", file.len(), &[("case", "2026-404"), ("filename", "a.mp4")]).status, 404);
    assert_eq!(create(server, "ana", 64 * 1024 * 1024, &meta).status, 413);
    assert_eq!(create(server, "root", 10, &meta).status, 403);
    assert_eq!(
        create(server, "ana", 10, &[("case", "2026-77"), ("filename", "a.mp4"), ("request", "x")]).status,
        400
    );
    assert_eq!(create(server, "ana", 10, &[("case", "2026-77")]).status, 400, "a file name is needed");

    let created = create(server, "ana", file.len(), &meta);
    assert_eq!(created.status, 201, "{}", created.error());
    let location = created.header("location").unwrap();
    assert!(location.starts_with("/v1/uploads/"));
    assert_eq!(offset_of(server, "ana", &location), (200, Some(0)));
    assert_eq!(offset_of(server, "bo", &location).0, 404, "another user's upload does not exist for them");

    // A first chunk, checked.
    let first = 3 * 1024 * 1024;
    assert_eq!(patch(server, "ana", &location, 0, &file[..first], Some(&file[..first])).status, 204);
    // A chunk whose checksum is wrong is refused whole.
    let bad = patch(server, "ana", &location, first, &file[first..first + 1000], Some(b"other bytes"));
    assert_eq!(bad.status, 460, "{}", bad.error());
    assert_eq!(offset_of(server, "ana", &location), (200, Some(first)));
    // A chunk at the wrong offset is refused.
    assert_eq!(patch(server, "ana", &location, first + 1, &file[first + 1..first + 10], None).status, 409);
    assert_eq!(patch(server, "bo", &location, first, &file[first..first + 10], None).status, 404);
    // A connection dropped half-way through a chunk: what arrived is kept.
    let mut stream = send_head(
        server,
        "PATCH",
        &location,
        Some("ana"),
        &[TUS, OCTETS, ("Upload-Offset", &first.to_string())],
        file.len() - first,
    );
    stream.write_all(&file[first..first + 10 * 1024 * 1024]).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    drop(stream);
    let resumed_at = (0..100)
        .find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            // 409 while the server still writes what arrived.
            let (status, offset) = offset_of(server, "ana", &location);
            (status == 200 && offset > Some(first)).then_some(offset.unwrap())
        })
        .expect("the bytes that arrived are stored");
    assert!(resumed_at <= first + 10 * 1024 * 1024, "no more than was sent");
    // A body going past the declared length is refused.
    let past = patch(server, "ana", &location, resumed_at, &file_bytes(file.len() - resumed_at + 1), None);
    assert_eq!(past.status, 413);
    let resumed_at = offset_of(server, "ana", &location).1.unwrap();
    let done = patch(server, "ana", &location, resumed_at, &file[resumed_at..], None);
    assert_eq!(done.status, 204, "{}", done.error());
    assert_eq!(done.header("upload-offset"), Some(file.len().to_string()));
    assert_eq!(done.header("x-canvass-evidence-sha256").as_deref(), Some(sha.as_str()));
    let job = done.header("x-canvass-job").unwrap();

    // The stored original is the file, under the case, by its hash.
    let evidence = EvidenceStore::new(store.clone());
    let manifest = evidence.manifest("2026-77", &sha).unwrap().expect("stored under its SHA-256");
    assert_eq!((manifest.original_name.as_str(), manifest.submitted_by.as_str()), ("door cam.mp4", "ana"));
    assert_eq!(manifest.source_id.as_deref(), Some("door-cam"));
    let mut copy = Vec::new();
    evidence.copy_to(&manifest, &mut copy).unwrap();
    assert!(copy == file, "the stored original is the file");
    let case = get(server, "/v1/cases/2026-77", "ana").json();
    assert_eq!(case["evidence"][0]["sha256"], sha.as_str());
    let status = get(server, &location, "ana").json();
    assert_eq!((status["sha256"].as_str(), status["job"].as_str()), (Some(sha.as_str()), Some(job.as_str())));
    // Done means done: no more bytes, no termination of evidence.
    assert_eq!(patch(server, "ana", &location, file.len(), b"x", None).status, 413);
    assert_eq!(call_with(server, "DELETE", &location, Some("ana"), &[TUS], b"").status, 409);

    // The job is queued, and seen only through the case.
    let jobs = get(server, "/v1/jobs?case=2026-77", "ana").json();
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    assert_eq!((jobs[0]["id"].as_str(), jobs[0]["state"].as_str()), (Some(job.as_str()), Some("queued")));
    assert_eq!(get(server, &format!("/v1/jobs/{job}"), "ana").status, 200);
    assert_eq!(get(server, &format!("/v1/jobs/{job}"), "bo").status, 404);
    assert_eq!(get(server, "/v1/jobs?case=2026-77", "bo").status, 404);
    // Reprocessing is asked of one's own agency's case only: another's does not exist for them.
    for who in ["bo", "olga", "root"] {
        assert_eq!(
            call(server, "POST", "/v1/cases/2026-77/reprocess", Some(who), Some(b"{}")).status,
            404,
            "{who}"
        );
    }
    assert_eq!(
        get(server, "/v1/jobs?case=2026-77", "ana").json().as_array().unwrap().len(),
        1,
        "nothing queued"
    );

    // An unfinished upload can be terminated by its uploader only, and one past its time is gone.
    let abandoned = create(server, "ana", 1000, &meta).header("location").unwrap();
    assert_eq!(patch(server, "ana", &abandoned, 0, &file[..100], None).status, 204);
    assert_eq!(call_with(server, "DELETE", &abandoned, Some("bo"), &[TUS], b"").status, 404);
    assert_eq!(call_with(server, "DELETE", &abandoned, Some("ana"), &[TUS], b"").status, 204);
    assert_eq!(offset_of(server, "ana", &abandoned).0, 404);
    let stale = create(server, "ana", 1000, &meta).header("location").unwrap();
    let key = canvass_store::keys::upload(stale.rsplit('/').next().unwrap());
    let mut state: serde_json::Value = serde_json::from_slice(&store.get(&key).unwrap()).unwrap();
    state["expires_at"] = serde_json::json!((Utc::now() - Duration::minutes(1)).to_rfc3339());
    store.put(&key, &serde_json::to_vec(&state).unwrap()).unwrap();
    assert_eq!(offset_of(server, "ana", &stale).0, 404, "an expired upload");
    assert_eq!(get(server, "/v1/uploads/not-an-id", "ana").status, 404);
}

fn settings() -> ServeSettings {
    ServeSettings { max_upload_bytes: 32 * 1024 * 1024, ..ServeSettings::default() }
}

#[test]
fn a_tus_upload_resumes_and_becomes_the_cases_evidence_in_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let key = canvass_store::Secret256::from_bytes([5; 32]);
    let store: Store =
        Arc::new(canvass_store::EncryptedStore::open(LocalStore::new(dir.path()), &key).unwrap());
    let server = start_on(store.clone(), dir, settings());
    uploads_hold(&server, store);
    let actions: Vec<String> = audit_log_of(&server).into_iter().collect();
    for action in ["upload_started", "evidence_stored", "upload_terminated", "list_jobs", "view_job"] {
        assert!(actions.iter().any(|a| a == action), "{action} audited: {actions:?}");
    }
}

#[test]
fn a_tus_upload_resumes_and_becomes_the_cases_evidence_on_s3() {
    let s3 = canvass_store::testing::S3Server::start();
    let store: Store = Arc::new(canvass_store::S3Store::new(s3.config("canvass/")).unwrap());
    let server = start_on(store.clone(), tempfile::tempdir().unwrap(), settings());
    uploads_hold(&server, store);
}

fn audit_log_of(server: &Server) -> Vec<String> {
    let key = canvass_store::Secret256::from_bytes([5; 32]);
    let store = canvass_store::EncryptedStore::open(LocalStore::new(server.dir.path()), &key).unwrap();
    let log = canvass_governance::AuditLog::new(store, audit_key());
    log.entries().unwrap().into_iter().map(|e| e.action.action).collect()
}

/// An owner answers an investigator's footage request by uploading: the file is evidence of
/// the investigator's case with the camera's source id, the request says answered, and no other
/// owner can answer it.
#[test]
fn a_camera_owner_answers_a_footage_request_by_upload() {
    let server = start(settings());
    let camera = serde_json::to_vec(&serde_json::json!({
        "source_id": "north-7", "contact": "shop@example.org", "lat": 51.5, "lon": -0.12,
        "address": "7 Main St", "description": "doorway", "access": "request",
    }))
    .unwrap();
    let camera = call(&server, "POST", "/v1/cameras", Some("olga"), Some(&camera));
    assert_eq!(camera.status, 201, "{}", camera.error());
    let camera_id = camera.json()["id"].as_str().unwrap().to_string();
    open_case(&server, "ana", "2026-88");
    let to = Utc::now() - Duration::hours(1);
    let ask = serde_json::to_vec(&serde_json::json!({ "camera_id": camera_id, "case": "2026-88",
        "from": (to - Duration::hours(1)).to_rfc3339(), "to": to.to_rfc3339(), "reason": "grey van" }))
    .unwrap();
    let request = call(&server, "POST", "/v1/requests", Some("ana"), Some(&ask)).json()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let file = file_bytes(300_000);
    let meta = [("request", request.as_str()), ("filename", "front.mp4")];
    assert_eq!(
        create(&server, "olga", file.len(), &[("filename", "front.mp4")]).status,
        403,
        "owners answer requests"
    );
    assert_eq!(create(&server, "otto", file.len(), &meta).status, 404, "not otto's camera");
    let fake = [("request", "0123456789abcdef0123456789abcdef"), ("filename", "x.mp4")];
    assert_eq!(create(&server, "olga", file.len(), &fake).status, 404);
    let location = create(&server, "olga", file.len(), &meta).header("location").unwrap();
    let done = patch(&server, "olga", &location, 0, &file, Some(&file));
    assert_eq!(done.status, 204, "{}", done.error());
    let status = get(&server, &location, "olga").json();
    assert_eq!(status["case"], "", "the owner is not told the case: {status}");

    let answered = get(&server, "/v1/requests", "ana").json();
    let sha = canvass_store::secret::hex(&Sha256::digest(&file));
    assert_eq!(answered[0]["state"], "answered");
    assert_eq!(answered[0]["answer"]["evidence_sha256"], sha.as_str());
    let evidence = EvidenceStore::new(LocalStore::new(server.dir.path()));
    let manifest = evidence.manifest("2026-88", &sha).unwrap().expect("evidence of the case");
    assert_eq!(
        (manifest.source_id.as_deref(), manifest.request.as_deref()),
        (Some("north-7"), Some(request.as_str()))
    );
    assert_eq!(manifest.submitted_by, "olga");
    // Answered once: a second upload against it is refused at the start.
    assert_eq!(create(&server, "olga", file.len(), &meta).status, 409);
    // The owner sees their request answered, still without the case.
    let olga_sees = get(&server, "/v1/requests", "olga").json();
    assert_eq!((olga_sees[0]["state"].as_str(), olga_sees[0]["case"].is_null()), (Some("answered"), true));
}
