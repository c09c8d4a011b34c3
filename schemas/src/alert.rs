//! Alerts: a confirmed track that matched an alert rule, as it goes to webhooks, the alerts
//! topic and the page. Versioned like every message (`alert.v2.json`; v1, before events carried colour
//! distributions and motion, stays published).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::DetectionEvent;

pub const ALERT_SCHEMA_VERSION: u32 = 2;

/// Where a track is in its life. One event id through all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrackPhase {
    /// The track just reached its confirmation rule (e.g. a weapon seen in 3 frames).
    Opened,
    /// Still in view; sent at most every `update_interval` of media time.
    Updated,
    /// Out of view for the tracker's gap; the event is final (and goes to the lake).
    Closed,
}

/// One alert: rule `rule` matched the event of a track in phase `phase`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// Always `ALERT_SCHEMA_VERSION` for this type.
    pub schema_version: u32,
    /// Unique per rule, event and phase: a receiver drops repeats (retries, redelivery) by it.
    pub alert_id: String,
    pub rule: String,
    /// The agency the rule belongs to; only its users and hooks hear of the alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    pub phase: TrackPhase,
    /// The event as it stands (for `opened`/`updated`, so far; `thumbnail_key` empty until
    /// it closes).
    pub event: DetectionEvent,
    /// Wall-clock time of the frame that confirmed the track.
    pub confirmed_at: DateTime<Utc>,
    /// When the rule matched.
    pub raised_at: DateTime<Utc>,
    /// JPEG of the best frame's crop, base64 (standard alphabet); empty when there is none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thumbnail_jpeg_base64: String,
}
