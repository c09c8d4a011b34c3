//! The published JSON Schema files must describe the types as they are now.

use std::path::PathBuf;

#[test]
fn json_schema_files_match_the_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("json");
    for (name, schema) in canvass_schemas::json_schemas() {
        let path = dir.join(&name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; run cargo run -p canvass-schemas --bin canvass-write-schemas", path.display())
        });
        assert_eq!(
            on_disk,
            canvass_schemas::render_json_schema(&schema),
            "{name} is stale: run `cargo run -p canvass-schemas --bin canvass-write-schemas`"
        );
    }
}

#[test]
fn schema_files_declare_the_required_fields() {
    // Guards against a serde attribute silently making a field optional.
    let (_, frame) = &canvass_schemas::json_schemas()[0];
    let required: Vec<&str> =
        frame["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for field in [
        "schema_version",
        "source_id",
        "sequence",
        "media_time_us",
        "wall_time",
        "original_width",
        "encoded_bytes",
    ] {
        assert!(required.contains(&field), "frame header must require {field}");
    }
}
