//! `GET /v1/events/{id}/clip`: the event's span plus margins as MP4, cut from its stored
//! evidence, with HTTP ranges so a `<video>` element can seek. A cut clip is kept a few minutes
//! for the user who asked (a player asks for several ranges), is never cached by the browser,
//! and every request is audited; the disclosure budget is spent once per cut.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use canvass_custody::FootageError;
use canvass_custody::footage::shown_input;
use canvass_ingest::{Clip, ClipMethod};
use canvass_schemas::DetectionEvent;

use super::blocking;
use super::events::{EventParams, find_event};
use crate::error::{ApiError, Params};
use crate::state::{Caller, Service, case_of};

/// A cut clip, kept for the user who asked.
pub struct CutClip {
    pub mp4: Bytes,
    pub clip: Clip,
}

struct Kept {
    user: String,
    event_id: String,
    at: Instant,
    clip: Arc<CutClip>,
}

/// The few clips cut last, each for its user: a player's range requests are answered from here.
#[derive(Default)]
pub struct ClipCache(Mutex<VecDeque<Kept>>);

const KEPT_CLIPS: usize = 8;
const KEPT_FOR: Duration = Duration::from_secs(600);

impl ClipCache {
    fn get(&self, user: &str, event_id: &str) -> Option<Arc<CutClip>> {
        let mut kept = self.0.lock().expect("clip cache lock");
        kept.retain(|k| k.at.elapsed() < KEPT_FOR);
        kept.iter().find(|k| k.user == user && k.event_id == event_id).map(|k| k.clip.clone())
    }

    fn put(&self, user: &str, event_id: &str, clip: Arc<CutClip>) {
        let mut kept = self.0.lock().expect("clip cache lock");
        kept.retain(|k| !(k.user == user && k.event_id == event_id));
        if kept.len() >= KEPT_CLIPS {
            kept.pop_front();
        }
        kept.push_back(Kept { user: user.into(), event_id: event_id.into(), at: Instant::now(), clip });
    }
}

fn cut(service: &Service, event: &DetectionEvent) -> Result<CutClip, ApiError> {
    let scratch = tempfile::NamedTempFile::new().map_err(ApiError::internal)?;
    let margin_us = (service.settings.clip_margin_s * 1e6) as i64;
    let clip =
        canvass_custody::clip_of_event(&service.evidence, event, margin_us, ClipMethod::Auto, scratch.path())
            .map_err(|e| match e {
                FootageError::Gone(_) => ApiError::not_found(e.to_string()),
                FootageError::NotStored(input) if input.contains("://") => ApiError::not_found(format!(
                    "the footage of this event ({input}) is a live stream, and it kept no footage"
                )),
                FootageError::NotStored(_) => ApiError::not_found(e.to_string()),
                e => {
                    tracing::error!(input = %event.input, "cannot cut a clip: {e}");
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        format!(
                            "cannot cut a clip from {} (logged on the server)",
                            shown_input(&event.input)
                        ),
                    )
                }
            })?;
    let mp4 = Bytes::from(std::fs::read(scratch.path()).map_err(ApiError::internal)?);
    Ok(CutClip { mp4, clip })
}

/// One `bytes=` range of a body `len` long: `Some(first..=last)`, `None` for the whole body
/// (no header, or several ranges), `Err` when it cannot be satisfied.
pub(crate) fn byte_range(header: Option<&str>, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.map(str::trim) else { return Ok(None) };
    let Some(spec) = spec.strip_prefix("bytes=") else { return Err(()) };
    if spec.contains(',') {
        return Ok(None); // several ranges: the whole clip, as RFC 9110 allows
    }
    let (first, last) = spec.split_once('-').ok_or(())?;
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.is_empty(), last.is_empty()) {
        (true, true) => return Err(()),
        (true, false) => {
            let n: u64 = last.parse().map_err(|_| ())?;
            if n == 0 || len == 0 {
                return Err(());
            }
            (len.saturating_sub(n), len - 1)
        }
        (false, _) => {
            let first: u64 = first.parse().map_err(|_| ())?;
            let last: u64 =
                if last.is_empty() { len.saturating_sub(1) } else { last.parse().map_err(|_| ())? };
            if first >= len || last < first {
                return Err(());
            }
            (first, last.min(len - 1))
        }
    };
    Ok(Some(range))
}

#[utoipa::path(get, path = "/v1/events/{id}/clip", params(("id" = String, Path), EventParams),
    responses((status = 200, content_type = "video/mp4", description = "the event's span plus margins, cut from the stored evidence; X-Canvass-Clip-Start is the media time (s) of the clip's time 0, X-Canvass-Clip-Fps its frame rate"),
    (status = 206, description = "the range asked for"), (status = 404, description = "no such event, or no footage stored for it"),
    (status = 416, description = "a range outside the clip")))]
pub async fn clip(
    State(service): State<Arc<Service>>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(p): Params<EventParams>,
) -> Result<Response, ApiError> {
    caller.require(caller.0.role.sees_events(), "view footage")?;
    let case = case_of(&headers, p.case.as_deref(), p.purpose.as_deref())?;
    let asked = headers.get(header::RANGE).map(|v| v.to_str().unwrap_or("?").to_string());
    blocking(move || {
        // Looked up every time: a clip kept for a user whose scope changed is not shown.
        let event = find_event(&service, &caller, &id, p.date.as_deref())?;
        let user = caller.0.name.clone();
        let clip = match service.clips.get(&user, &event.event_id) {
            Some(clip) => clip,
            None => {
                service.disclose(&caller.0, 1)?;
                let clip = Arc::new(cut(&service, &event)?);
                service.clips.put(&user, &event.event_id, clip.clone());
                clip
            }
        };
        let len = clip.mp4.len() as u64;
        let range = byte_range(asked.as_deref(), len);
        let sent = match range {
            Ok(Some((a, b))) => serde_json::json!([a, b]),
            Ok(None) => serde_json::json!([0, len.saturating_sub(1)]),
            Err(()) => serde_json::Value::Null,
        };
        let detail = serde_json::json!({ "event_id": event.event_id, "input": event.input,
            "clip_start_s": clip.clip.start_us as f64 / 1e6, "clip_end_s": clip.clip.end_us as f64 / 1e6,
            "method": format!("{:?}", clip.clip.method).to_lowercase(), "range": asked, "bytes": sent });
        service.audit(&caller.0, "view_clip", Some(&case), detail, Some(1))?;
        let mut response = Response::builder()
            .header(header::CONTENT_TYPE, "video/mp4")
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::CACHE_CONTROL, "no-store")
            .header("x-canvass-clip-start", format!("{:.6}", clip.clip.start_us as f64 / 1e6))
            .header("x-canvass-clip-method", format!("{:?}", clip.clip.method).to_lowercase())
            .header(
                "x-canvass-clip-fps",
                format!("{:.3}", clip.clip.frames as f64 * 1e6 / clip.clip.duration_us().max(1) as f64),
            );
        let body = match range {
            Ok(None) => Body::from(clip.mp4.clone()),
            Ok(Some((a, b))) => {
                response = response
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{len}"));
                Body::from(clip.mp4.slice(a as usize..=b as usize))
            }
            Err(()) => {
                response = response.status(StatusCode::RANGE_NOT_SATISFIABLE).header(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii"),
                );
                Body::empty()
            }
        };
        response.body(body).map_err(ApiError::internal)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_as_rfc_9110_reads_them() {
        assert_eq!(byte_range(None, 100), Ok(None));
        assert_eq!(byte_range(Some("bytes=0-"), 100), Ok(Some((0, 99))));
        assert_eq!(byte_range(Some("bytes=10-19"), 100), Ok(Some((10, 19))));
        assert_eq!(byte_range(Some("bytes=90-500"), 100), Ok(Some((90, 99))));
        assert_eq!(byte_range(Some("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(byte_range(Some("bytes=-500"), 100), Ok(Some((0, 99))));
        assert_eq!(byte_range(Some("bytes=0-1,5-6"), 100), Ok(None));
        for bad in ["bytes=100-", "bytes=20-10", "bytes=-0", "bytes=-", "items=0-1", "bytes=a-b", "bytes=5"] {
            assert_eq!(byte_range(Some(bad), 100), Err(()), "{bad}");
        }
    }
}
