//! For tests in this and other crates (feature `testing`): example events, and a real
//! S3-compatible server (with the `s3` feature).

mod events;
#[cfg(feature = "s3")]
mod s3_server;

pub use events::{event, event_by, event_of, model};
#[cfg(feature = "s3")]
pub use s3_server::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
