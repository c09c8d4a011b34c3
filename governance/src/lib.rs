//! Governance: the promises canvass makes to the public, as code every stage shares.
//!
//! - [`access`]: users, roles and agencies; an agency's jurisdiction is a set of sources.
//! - [`registry`]: cameras registered by their owners, and the owner's policy on live access.
//! - [`audit`]: every use of the data, append-only and hash-chained in the object store.
//! - [`cases`]: what evidence is gathered under; each belongs to one agency.
//! - [`requests`]: footage requests from investigators to camera owners.
//! - [`disclosure`]: how many events each user may be shown in a rolling window.
//! - [`holds`] and [`retention`]: events are kept for their agency's period (30 days unless
//!   configured), then deleted with their thumbnails, except what a legal hold covers.

pub mod access;
pub mod audit;
pub mod cases;
pub mod disclosure;
pub mod holds;
pub mod registry;
pub mod requests;
pub mod retention;

pub use access::{AccessConfig, Agency, Principal, Role, User, source_matches};
pub use audit::{Action, AuditError, AuditLog, Verdict};
pub use disclosure::{DisclosureBudget, DisclosureError, Usage};
pub use holds::{Hold, HoldRequest, Holds, Lift};
pub use registry::Registry;
pub use retention::{Retention, RetentionClock, RetentionReport, sweep};

#[derive(Debug, thiserror::Error)]
pub enum GovernanceError {
    #[error(transparent)]
    Store(#[from] canvass_store::StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("hold {key} is not readable: {reason}")]
    UnreadableHold { key: String, reason: String },
    #[error("invalid hold: {0}")]
    InvalidHold(String),
    /// Outside the caller's role or jurisdiction.
    #[error("{0}")]
    NotYours(String),
    #[error("no hold {0}")]
    NoSuchHold(String),
}
