use canvass_transport::TransportError;

/// Why an input could not be ingested, worded for the person who gave it. The CLI prints
/// `error: <input>: <this>`, so variants say what is wrong, not where.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("no such file")]
    NotFound,
    #[error("is a directory, not a video file")]
    IsDirectory,
    #[error("file is empty (0 bytes)")]
    EmptyFile,
    #[error("cannot read: {0}")]
    Unreadable(String),
    /// FFmpeg could not open it; `reason` comes from a look at the file where that says more.
    #[error("cannot open: {reason}")]
    Open { reason: String },
    #[error("no video stream (streams found: {found})")]
    NoVideoStream { found: String },
    #[error("no decoder for video codec {codec} in this FFmpeg build")]
    UnsupportedCodec { codec: String },
    #[error("decoder failed to start: {0}")]
    Decoder(String),
    #[error("the span from {from_s:.1} s is past the end of the footage ({end_s:.1} s)")]
    PastTheEnd { from_s: f64, end_s: f64 },
    #[error("no decodable video frames ({corrupt_packets} corrupt packets)")]
    NoFrames { corrupt_packets: u64 },
    /// The frames before the cut were delivered; the rest of the file is missing.
    #[error(
        "truncated: decoded up to {decoded_until_s:.1} s of {declared_s:.1} s \
         ({frames_sampled} frames delivered before the cut)"
    )]
    Truncated { decoded_until_s: f64, declared_s: f64, frames_sampled: u64 },
    #[error("read failed at {at_s:.1} s: {reason} ({frames_sampled} frames delivered before it)")]
    Read { at_s: f64, reason: String, frames_sampled: u64 },
    /// The stream's server turned the credentials down: trying again cannot help.
    #[error("the camera refused access ({reason}): check the user and password in the URL")]
    AccessDenied { reason: String },
    #[error("gave up after {attempts} connection attempts: {last_error}")]
    GaveUp { attempts: u32, last_error: String },
    #[error("frame sink failed: {0}")]
    Sink(#[from] TransportError),
}
