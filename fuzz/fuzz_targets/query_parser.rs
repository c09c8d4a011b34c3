//! Any text is either a query or an error, never a panic; a parsed query's time range is never
//! empty.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let now = chrono::DateTime::from_timestamp(1_790_000_000, 0).expect("a valid time");
    if let Ok(query) = canvass_search::parse(text, now)
        && let (Some(after), Some(before)) = (query.after, query.before)
    {
        assert!(after <= before);
    }
});
