//! Alerts: rules (a search query plus who is told) applied to tracks as they are confirmed,
//! and the delivery of what they raise.
//!
//! - [`AlertEngine`] turns a track's `opened`/`updated`/`closed` events into [`Alert`]s: once
//!   per track and rule, within the rule's agency's jurisdiction, with a per-source cooldown.
//!   It runs beside the detector (in process, or in a distributed detector worker, which
//!   publishes to the alerts topic).
//! - [`Notifier`] delivers alerts: each rule's webhook (signed, retried with backoff, dead
//!   letters kept in the store), the live feed the page listens to ([`AlertFeed`]), and the
//!   audit log.

mod engine;
mod feed;
mod notifier;
mod rule;
mod rulebook;
mod signature;
#[cfg(feature = "testing")]
pub mod testing;
mod webhook;

pub use canvass_schemas::{Alert, TrackPhase};
pub use engine::AlertEngine;
pub use feed::AlertFeed;
pub use notifier::Notifier;
pub use rule::{AlertRule, CompiledRule};
pub use rulebook::{LiveRules, RELOAD_EVERY, RuleBook};
pub use signature::{SIGNATURE_HEADER, sign};
pub use webhook::{DeadLetter, RetryPolicy, dead_letters};

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// A rule in the configuration cannot be used; says which and why.
    #[error("alert rule '{rule}': {reason}")]
    Rule { rule: String, reason: String },
    #[error(transparent)]
    Store(#[from] canvass_store::StoreError),
}
