//! Random input at the API over HTTP (the stable-toolchain companion of `fuzz/`): whatever the
//! query string or body, the answer is a 2xx or a 4xx with a message, never a 5xx or a dropped
//! connection.

mod support;

use proptest::prelude::*;
use support::{call, start, with_events};

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_query_text_gets_an_answer_not_a_failure(
        q in "\\PC{0,60}",
        extra in prop::sample::select(vec!["", "&limit=5", "&from=2026-01-01", "&near=1,2&radius_m=9", "&offset=-1"]),
    ) {
        let server = start(Default::default());
        with_events(&server);
        let path = format!("/v1/search?q={}&case=1&purpose=fuzz{extra}", percent_encode(&q));
        let response = call(&server, "GET", &path, Some("ana"), None);
        prop_assert!(response.status == 200 || (400..500).contains(&response.status), "{path}: {}", response.status);
        if response.status != 200 {
            prop_assert!(!response.error().is_empty(), "{path}: a 4xx says why");
        }
    }

    #[test]
    fn any_body_gets_an_answer_not_a_failure(body in prop::collection::vec(any::<u8>(), 0..300), json in "\\{\"[a-z_]{1,12}\": ?(\"[^\"]{0,20}\"|-?[0-9.e]{1,8}|true|null|\\[\\])\\}") {
        let server = start(Default::default());
        for (who, path) in [("olga", "/v1/cameras"), ("sam", "/v1/holds")] {
            for payload in [body.as_slice(), json.as_bytes()] {
                let response = call(&server, "POST", path, Some(who), Some(payload));
                prop_assert!((400..500).contains(&response.status), "{path} {:?}: {}", String::from_utf8_lossy(payload), response.status);
            }
        }
    }
}
