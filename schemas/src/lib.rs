//! Versioned types for everything that crosses a process boundary in canvass.
//!
//! Each type has a JSON Schema file in `schemas/json/`, named `<type>.v<version>.json`; the test
//! `json_schema_files_match_the_types` fails when a type changes without its file.
//! Regenerate with `cargo run -p canvass-schemas --bin canvass-write-schemas`.

pub mod alert;
pub mod event;
pub mod frame;
pub mod live;
pub mod source;

pub use alert::*;
pub use event::*;
pub use frame::*;
pub use live::{CameraHealth, LiveState};
pub use source::{normalise_stream_url, sanitize_source_id, strip_credentials};

/// The name an enum value has on the wire (`vehicle`, `long_gun`, `grey`), for tables, Parquet
/// columns and messages.
pub fn wire_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// The published JSON Schema files: file name and the schema it must contain.
pub fn json_schemas() -> Vec<(String, serde_json::Value)> {
    let frame = schemars::schema_for!(FrameHeader);
    let event = schemars::schema_for!(DetectionEvent);
    let alert = schemars::schema_for!(Alert);
    vec![
        (format!("frame_header.v{FRAME_SCHEMA_VERSION}.json"), frame.to_value()),
        (format!("detection_event.v{EVENT_SCHEMA_VERSION}.json"), event.to_value()),
        (format!("alert.v{ALERT_SCHEMA_VERSION}.json"), alert.to_value()),
    ]
}

/// Renders a schema the way the files are written: pretty, with a trailing newline.
pub fn render_json_schema(schema: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("json values always serialise");
    text.push('\n');
    text
}
