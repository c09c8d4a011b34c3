pub mod alerts;
pub mod audit;
pub mod cameras;
pub mod cases;
pub mod clips;
pub mod events;
pub mod exports;
pub mod holds;
pub mod jobs;
pub mod me;
pub mod requests;
pub mod timeline;
pub mod uploads;

use crate::error::ApiError;

/// Runs lake and object-store work off the async threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)?
}
