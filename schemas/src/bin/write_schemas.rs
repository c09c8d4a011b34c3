//! Writes the JSON Schema files in `schemas/json/` from the Rust types.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("json");
    std::fs::create_dir_all(&dir)?;
    for (name, schema) in canvass_schemas::json_schemas() {
        let path = dir.join(name);
        std::fs::write(&path, canvass_schemas::render_json_schema(&schema))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
