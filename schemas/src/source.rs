//! How sources are named, the same everywhere: ingest derives ids with these rules, and the
//! camera registry normalises what owners register with them, so a policy always finds the
//! footage it governs.

/// A source id: lowercase ASCII letters, digits, `-`, `_` and `.`; anything else becomes `-`.
pub fn sanitize_source_id(raw: &str) -> String {
    let mut id: String = raw
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' })
        .collect();
    while id.contains("--") {
        id = id.replace("--", "-");
    }
    let trimmed = id.trim_matches('-');
    if trimmed.is_empty() { "source".to_string() } else { trimmed.to_string() }
}

/// A URL without its `user:password@`.
pub fn strip_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://{}{tail}", &authority[at + 1..]),
        None => url.to_string(),
    }
}

/// A stream URL as policies compare it: no credentials, scheme and host lowercase, no
/// trailing `/`. Two spellings of one camera's address compare equal.
pub fn normalise_stream_url(url: &str) -> String {
    let url = strip_credentials(url.trim());
    let Some((scheme, rest)) = url.split_once("://") else { return url.trim_end_matches('/').to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase(),
        tail.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_stream_compare_equal() {
        let a = normalise_stream_url("RTSP://admin:pw@Cam.Local:554/live/1/");
        assert_eq!(a, "rtsp://cam.local:554/live/1");
        assert_eq!(normalise_stream_url(" rtsp://cam.local:554/live/1"), a);
        assert_ne!(normalise_stream_url("rtsp://cam.local:554/live/2"), a);
        // An @ in the path is not userinfo.
        assert_eq!(strip_credentials("http://h/p@x"), "http://h/p@x");
    }
}
