//! Retention: events are kept for their agency's period (30 days unless configured), then the
//! janitor deletes them and their thumbnails, except what a legal hold covers. Every run that
//! deletes anything is audited.

pub mod holds;
pub mod retention;

pub use holds::{Hold, HoldRequest, Holds};
pub use retention::{Retention, RetentionReport, source_matches, sweep};

#[derive(Debug, thiserror::Error)]
pub enum JanitorError {
    #[error(transparent)]
    Store(#[from] canvass_store::StoreError),
    #[error(transparent)]
    Audit(#[from] canvass_audit::AuditError),
    #[error("hold {key} is not readable: {reason}")]
    UnreadableHold { key: String, reason: String },
    #[error("invalid hold: {0}")]
    InvalidHold(String),
}
