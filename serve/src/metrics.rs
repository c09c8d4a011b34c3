//! The distributed workers' HTTP face: `/metrics` (Prometheus text format) and `/healthz`,
//! served on their own thread. The worker says what to render and whether it is healthy.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::routing::get;

/// Serves `/metrics` and `/healthz` until the process ends; returns the bound address.
pub fn serve_worker_endpoints(
    listen: SocketAddr,
    render: impl Fn() -> String + Clone + Send + Sync + 'static,
    healthy: impl Fn() -> bool + Clone + Send + Sync + 'static,
) -> std::io::Result<SocketAddr> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(listen))
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen for metrics on {listen}: {e}")))?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route("/metrics", get(move || std::future::ready(render()))).route(
        "/healthz",
        get(move || {
            std::future::ready(if healthy() {
                (StatusCode::OK, "ok")
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "stalled")
            })
        }),
    );
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        if let Err(e) = runtime.block_on(async { axum::serve(listener, app).await }) {
            tracing::error!("metrics server stopped: {e}");
        }
    })?;
    tracing::info!(%bound, "serving /metrics and /healthz");
    Ok(bound)
}
