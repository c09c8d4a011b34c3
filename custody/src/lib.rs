//! Custody out: what lets stored evidence leave canvass, and proves what it is when it has.
//!
//! - `footage`: the still and the clip of an event, cut from where its footage is stored.
//! - `signing`: the service's Ed25519 key that signs packages.
//! - `package`: a case export (events, thumbnails, clips, originals, audit extract) with a
//!   manifest of every file's SHA-256, signed.
//! - `exports`: packages made through the service, their progress and their stored bytes.
//! - `verify`: checks a package with nothing but the package (and, to pin the signer, a key).

pub mod exports;
pub mod footage;
pub mod package;
pub mod signing;
pub mod verify;

pub use footage::{FootageError, clip_of_event, still_of_event};
pub use package::{ExportError, PackageRequest, PackageSummary, write_package};
pub use signing::SigningKey;
pub use verify::{VerifyReport, verify_package};
