//! What the user named: a local file or a stream URL, and how to open it.

use std::path::{Path, PathBuf};

use crate::IngestError;

/// URL schemes that deliver live video: the end of such an input means the camera dropped,
/// so ingest reconnects instead of finishing.
const LIVE_SCHEMES: &[&str] = &["rtsp", "rtsps", "rtmp", "rtmps", "srt", "udp", "rtp", "tcp"];
/// Schemes that may be a finite file or a live feed (HLS, MJPEG over HTTP); live only if asked.
const HTTP_SCHEMES: &[&str] = &["http", "https"];

/// One input: a file on disk or a URL FFmpeg opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    File(PathBuf),
    Url { url: String, scheme: String },
}

impl InputSpec {
    pub fn parse(text: &str) -> Self {
        if let Some((scheme, rest)) = text.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            let is_scheme = !scheme.is_empty()
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-');
            if is_scheme && scheme != "file" {
                return InputSpec::Url { url: text.to_string(), scheme };
            }
            if scheme == "file" {
                return InputSpec::File(PathBuf::from(rest));
            }
        }
        InputSpec::File(PathBuf::from(text))
    }

    /// What FFmpeg is asked to open.
    pub fn ffmpeg_target(&self) -> &str {
        match self {
            InputSpec::File(path) => path.to_str().unwrap_or_default(),
            InputSpec::Url { url, .. } => url,
        }
    }

    /// A name safe to log and to store in messages: URLs lose any `user:password@`.
    pub fn display_name(&self) -> String {
        match self {
            InputSpec::File(path) => path.display().to_string(),
            InputSpec::Url { url, .. } => canvass_schemas::strip_credentials(url),
        }
    }

    /// Whether the end of this input means "reconnect" rather than "done".
    pub fn is_live(&self, http_is_live: bool) -> bool {
        match self {
            InputSpec::File(_) => false,
            InputSpec::Url { scheme, .. } => {
                LIVE_SCHEMES.contains(&scheme.as_str())
                    || (http_is_live && HTTP_SCHEMES.contains(&scheme.as_str()))
            }
        }
    }

    /// A source id derived from the input when the user gives none: the file stem or the URL's
    /// host and path, lowercased, with anything outside `[a-z0-9-_.]` turned into `-`.
    pub fn default_source_id(&self) -> String {
        let raw = match self {
            InputSpec::File(path) => {
                path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
            }
            InputSpec::Url { url, .. } => {
                let without_scheme = canvass_schemas::strip_credentials(url);
                let after = without_scheme.split_once("://").map_or(without_scheme.as_str(), |(_, r)| r);
                after.split(['?', '#']).next().unwrap_or_default().to_string()
            }
        };
        canvass_schemas::sanitize_source_id(&raw)
    }

    /// Cheap checks that give a clearer message than FFmpeg would: missing, empty, a folder.
    pub fn preflight(&self) -> Result<(), IngestError> {
        let InputSpec::File(path) = self else { return Ok(()) };
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => IngestError::NotFound,
            _ => IngestError::Unreadable(e.to_string()),
        })?;
        if meta.is_dir() {
            return Err(IngestError::IsDirectory);
        }
        if meta.len() == 0 {
            return Err(IngestError::EmptyFile);
        }
        if path.to_str().is_none() {
            return Err(IngestError::Unreadable("path is not valid UTF-8".into()));
        }
        Ok(())
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            InputSpec::File(path) => Some(path),
            InputSpec::Url { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_files_are_told_apart() {
        assert!(matches!(InputSpec::parse("clip.mp4"), InputSpec::File(_)));
        assert!(matches!(InputSpec::parse("/a/b c.mkv"), InputSpec::File(_)));
        assert_eq!(InputSpec::parse("file:///a/b.mp4"), InputSpec::File("/a/b.mp4".into()));
        let url = InputSpec::parse("RTSP://cam/stream");
        assert!(matches!(url, InputSpec::Url { ref scheme, .. } if scheme == "rtsp"));
        assert!(url.is_live(false));
        assert!(!InputSpec::parse("https://host/a.mp4").is_live(false));
        assert!(InputSpec::parse("https://host/live.m3u8").is_live(true));
    }

    #[test]
    fn credentials_never_leave_the_input() {
        let url = InputSpec::parse("rtsp://admin:s3cret@10.0.0.5:554/h264?channel=1");
        assert_eq!(url.display_name(), "rtsp://10.0.0.5:554/h264?channel=1");
        assert!(!url.default_source_id().contains("s3cret"));
        assert!(!url.default_source_id().contains("admin"));
    }

    #[test]
    fn source_ids_are_clean() {
        assert_eq!(InputSpec::parse("/ev/Main St #2.MP4").default_source_id(), "main-st-2");
        assert_eq!(
            InputSpec::parse("rtsp://cam.local:554/live/1").default_source_id(),
            "cam.local-554-live-1"
        );
        assert_eq!(canvass_schemas::sanitize_source_id("///"), "source");
    }
}
