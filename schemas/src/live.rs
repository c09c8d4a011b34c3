//! How a live camera is doing, as the API (`GET /v1/live`), the page and `/metrics` show it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a live input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveState {
    /// Opening the stream, or reconnecting after it dropped.
    Connecting,
    /// Frames are arriving.
    Streaming,
    /// The camera's owner does not allow live access now (registry only, on request, or a
    /// condition that does not hold): retried as their policy is re-read.
    RefusedByOwner,
    /// Failed (wrong credentials, a stream that cannot be decoded); retried after a while.
    Failed,
    /// `canvass serve` is shutting down.
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraHealth {
    pub source_id: String,
    /// The stream, without credentials.
    pub url: String,
    pub state: LiveState,
    pub connected: bool,
    /// Frames decoded per second over the last few seconds.
    pub fps_in: f64,
    /// How far decoding runs behind the camera: wall time since the stream opened less media
    /// time received (seconds).
    pub lag_s: f64,
    pub last_frame_at: Option<DateTime<Utc>>,
    pub frames_sampled: u64,
    pub reconnects: u32,
    /// Why it is not streaming, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
