//! The investigator service (`canvass serve`): a JSON API over the event lake where the privacy
//! promises are code. Every call is authenticated; investigators see only their agency's
//! sources, and only for a case and a purpose; every look at the data, every export, registry
//! change, hold and refusal is written to the authenticated audit log; each user may be shown
//! only so many events a day (a budget kept in the store); a janitor deletes what retention
//! allows and a hold does not keep.

pub mod error;
pub mod metrics;
pub mod routes;
pub mod state;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;

pub use state::{AppState, JobQueue, JobRunner, ServeSettings, Service};

/// Request bodies are small JSON documents (a camera, a hold).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "canvass investigator API",
        description = "Search video events without recognising anyone. \
        Every call needs `Authorization: Bearer <token>`; event data also needs `case` and `purpose`."
    ),
    paths(
        routes::events::search,
        routes::events::event,
        routes::events::thumbnail,
        routes::events::frame,
        routes::clips::clip,
        routes::exports::create,
        routes::exports::list,
        routes::exports::get,
        routes::exports::package,
        routes::events::export,
        routes::timeline::timeline,
        routes::cameras::list,
        routes::cameras::register,
        routes::cameras::get,
        routes::cameras::update,
        routes::cameras::remove,
        routes::cameras::condition,
        routes::alerts::stream,
        routes::alerts::dead,
        routes::alerts::rules,
        routes::alerts::put_rule,
        routes::alerts::delete_rule,
        routes::alerts::live,
        routes::holds::place,
        routes::holds::list,
        routes::holds::lift,
        routes::audit::read,
        routes::audit::disclosures,
        routes::cases::create,
        routes::cases::list,
        routes::cases::get,
        routes::requests::create,
        routes::requests::list,
        routes::requests::decline,
        routes::uploads::create,
        routes::uploads::head,
        routes::uploads::status,
        routes::uploads::patch,
        routes::uploads::terminate,
        routes::jobs::list,
        routes::jobs::get,
        routes::jobs::reprocess,
        routes::me::me,
    ),
    components(schemas(
        canvass_governance::Role,
        canvass_governance::cases::Case,
        routes::cases::NewCase,
        routes::requests::Decline,
        canvass_governance::requests::NewRequest,
        canvass_governance::requests::FootageRequest,
        canvass_governance::requests::RequestState,
        canvass_governance::requests::Answer,
        canvass_governance::registry::AccessLevel,
        canvass_governance::registry::CameraRegistration,
        canvass_governance::registry::Camera,
        routes::uploads::UploadStatus,
        routes::jobs::Reprocess,
        routes::exports::CreateExport,
        canvass_custody::exports::ExportRecord,
        canvass_custody::exports::ExportState,
        routes::me::Me,
        routes::cameras::LiveCondition
    ))
)]
pub struct ApiDoc;

pub fn router(service: Arc<Service>) -> Router {
    use axum::routing::{any, head, post};
    use routes::{
        alerts, audit, cameras, cases, clips, events, exports, holds, jobs, me, requests, timeline, uploads,
    };
    let timeout = Duration::from_secs(service.settings.request_timeout_s.max(1));
    let web_dir = service.settings.web_dir.clone();
    let timed = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/openapi.json", get(|| async { axum::Json(ApiDoc::openapi()) }))
        .route("/v1/search", get(events::search))
        .route("/v1/events/{id}", get(events::event))
        .route("/v1/events/{id}/thumbnail", get(events::thumbnail))
        .route("/v1/events/{id}/frame", get(events::frame))
        .route("/v1/events/{id}/clip", get(clips::clip))
        .route("/v1/export", get(events::export))
        .route("/v1/cameras", get(cameras::list).post(cameras::register))
        .route("/v1/cameras/{id}", get(cameras::get).put(cameras::update).delete(cameras::remove))
        .route("/v1/cameras/{id}/condition", post(cameras::condition))
        .route("/v1/alerts/dead", get(alerts::dead))
        .route("/v1/alerts/rules", get(alerts::rules))
        .route("/v1/alerts/rules/{name}", axum::routing::put(alerts::put_rule).delete(alerts::delete_rule))
        .route("/v1/live", get(alerts::live))
        .route("/v1/holds", get(holds::list).post(holds::place))
        .route("/v1/holds/{id}/lift", post(holds::lift))
        .route("/v1/audit", get(audit::read))
        .route("/v1/timeline", get(timeline::timeline))
        .route("/v1/disclosures", get(audit::disclosures))
        .route("/v1/cases", get(cases::list).post(cases::create))
        .route("/v1/cases/{id}", get(cases::get))
        .route("/v1/cases/{id}/reprocess", post(jobs::reprocess))
        .route("/v1/cases/{id}/exports", get(exports::list).post(exports::create))
        .route("/v1/exports/{id}", get(exports::get))
        .route("/v1/exports/{id}/package", get(exports::package))
        .route("/v1/requests", get(requests::list).post(requests::create))
        .route("/v1/requests/{id}/decline", post(requests::decline))
        .route("/v1/jobs", get(jobs::list))
        .route("/v1/jobs/{id}", get(jobs::get))
        .route("/v1/me", get(me::me))
        .route("/v1/{*rest}", any(events::not_found))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout));
    // Uploads stream bodies of any size for as long as bytes keep coming (an idle timeout in
    // the handler), so neither the body limit nor the request timeout applies to them.
    // The alert stream stays open for as long as the page does.
    let stream_routes = Router::new().route("/v1/alerts/stream", get(alerts::stream));
    let upload_routes = Router::new()
        .route("/v1/uploads", post(uploads::create).options(uploads::options))
        .route(
            "/v1/uploads/{id}",
            head(uploads::head).get(uploads::status).patch(uploads::patch).delete(uploads::terminate),
        )
        .layer(DefaultBodyLimit::disable());
    let api = timed
        .merge(upload_routes)
        .merge(stream_routes)
        // Refusals are part of the record: whoever was refused what, and why.
        .layer(axum::middleware::from_fn_with_state(service.clone(), audit_refusals))
        // Event data, tokens' answers and the audit log stay out of browser and proxy caches.
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        ));
    let app = match web_dir {
        Some(dir) => api.fallback_service(web_page(&dir)),
        None => api.fallback(events::not_found),
    };
    app.layer(CatchPanicLayer::new()).with_state(AppState(service))
}

/// Audits every refusal of an authenticated caller (4xx, but 401, which the login check
/// audits itself) that its handler did not audit: role, jurisdiction, a missing case, a
/// malformed request, a spent budget. Probing leaves a trace.
async fn audit_refusals(
    axum::extract::State(service): axum::extract::State<Arc<Service>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let slot = state::CallerSlot::default();
    request.extensions_mut().insert(slot.clone());
    let (method, path, query) = (
        request.method().to_string(),
        request.uri().path().to_string(),
        request.uri().query().map(String::from),
    );
    let response = next.run(request).await;
    let status = response.status();
    let refusal = response.extensions().get::<error::Refusal>().cloned();
    if !status.is_client_error() || status == axum::http::StatusCode::UNAUTHORIZED {
        return response;
    }
    let (Some(who), Some(refusal)) = (slot.take(), refusal) else { return response };
    if refusal.audited {
        return response;
    }
    let detail = serde_json::json!({ "method": method, "path": path, "query": query,
        "status": status.as_u16(), "why": refusal.message });
    let recorded =
        tokio::task::spawn_blocking(move || service.audit(&who, "refused", None, detail, None)).await;
    match recorded {
        Ok(Ok(())) => response,
        // A refusal that cannot be recorded is still a refusal; the failure is the news.
        _ => {
            tracing::error!(%path, "cannot audit a refused request");
            error::ApiError::internal("the audit log cannot be written").into_response()
        }
    }
}

/// The built page and its assets; any other path gets the page (it routes on the client). Only
/// this origin may supply scripts, styles, images and connections: nothing from a CDN.
fn web_page(dir: &std::path::Path) -> Router {
    use axum::http::{HeaderValue, header};
    use tower_http::services::{ServeDir, ServeFile};
    use tower_http::set_header::SetResponseHeaderLayer;
    let csp = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; \
               connect-src 'self'; frame-ancestors 'none'";
    Router::new()
        .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html"))))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

/// Runs the janitor every `interval` until the process ends.
pub fn spawn_janitor(service: Arc<Service>, interval: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        loop {
            ticks.tick().await;
            let service = service.clone();
            let swept = tokio::task::spawn_blocking(move || {
                let (holds, _unreadable) = service.holds.all().map_err(|e| e.to_string())?;
                let retention = service
                    .access
                    .retention(service.settings.retention_days, service.settings.retention_clock);
                let now = chrono::Utc::now();
                // Unfinished uploads past their time go, parts and all (finished ones are evidence).
                for upload in service.uploads.all().map_err(|e| e.to_string())? {
                    if upload.sha256.is_none() && upload.expires_at < now {
                        service.uploads.terminate(&upload).map_err(|e| e.to_string())?;
                        tracing::info!(upload = %upload.id, "expired upload removed");
                    }
                }
                // Export packages are disclosures, not archives: they go when they expire.
                for id in service.exports.remove_expired(now).map_err(|e| e.to_string())? {
                    tracing::info!(export = %id, "expired export package removed");
                }
                canvass_governance::sweep(&service.lake, &holds, &service.audit, &retention, now)
                    .map_err(|e| e.to_string())
            })
            .await;
            match swept {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "retention sweep failed"),
                Err(e) => tracing::error!(error = %e, "retention sweep panicked"),
            }
        }
    });
}

/// Serves until `shutdown` resolves, then finishes the requests in flight; over TLS when
/// `tls` is given.
pub async fn serve(
    service: Arc<Service>,
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if service.settings.janitor_interval_s > 0 {
        spawn_janitor(service.clone(), Duration::from_secs(service.settings.janitor_interval_s));
    }
    let header_timeout = Duration::from_secs(service.settings.header_read_timeout_s.max(1));
    let app = router(service);
    match tls {
        Some(config) => {
            let listener = tls::TlsListener::new(listener, config)?;
            serve_connections(listener, app, header_timeout, shutdown).await
        }
        None => serve_connections(listener, app, header_timeout, shutdown).await,
    }
}

/// How long requests in flight may take to finish after shutdown begins.
const DRAIN: Duration = Duration::from_secs(30);

/// Accepts connections until `shutdown`, then lets those in flight finish (up to `DRAIN`).
async fn serve_connections<L>(
    mut listener: L,
    app: Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Io: Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (io, _) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(hyper_util::rt::TokioIo::new(io), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still running {} s after shutdown began; dropped", DRAIN.as_secs());
    }
    Ok(())
}
