//! `canvass search`: the query language over the event lake.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use canvass_schemas::{DetectionEvent, wire_name};
use canvass_store::{EventLake, LocalStore};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use crate::config::FileConfig;

#[derive(clap::Args)]
pub struct SearchArgs {
    /// Data folder holding the event lake. [default: ./canvass-data]
    #[arg(long, env = "CANVASS_DATA")]
    data: Option<PathBuf>,
    /// Print one JSON array instead of a table.
    #[arg(long)]
    json: bool,
    /// Results per page.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Results to skip (for the next pages).
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Show events of every model version, not only the newest per source.
    #[arg(long)]
    all_versions: bool,
    /// What to find, e.g. red pickup after:-24h camera:main-st
    #[arg(required = true, value_name = "QUERY")]
    query: Vec<String>,
}

/// One result in `--json` output.
#[derive(Serialize)]
struct Hit<'a> {
    event_id: &'a str,
    source: &'a str,
    class: String,
    colour: Option<String>,
    confidence: f32,
    start: String,
    end: String,
    media_start_s: f64,
    media_end_s: f64,
    thumbnail: String,
    input: &'a str,
    model: String,
}

fn hit<'a>(e: &'a DetectionEvent, data: &std::path::Path) -> Hit<'a> {
    Hit {
        event_id: &e.event_id,
        source: &e.source_id,
        class: wire_name(&e.class),
        colour: e.attributes.colour.as_ref().map(|c| wire_name(&c.value)),
        confidence: e.confidence,
        start: e.wall_start.to_rfc3339_opts(SecondsFormat::Millis, true),
        end: e.wall_end.to_rfc3339_opts(SecondsFormat::Millis, true),
        media_start_s: e.media_start_us as f64 / 1e6,
        media_end_s: e.media_end_us as f64 / 1e6,
        thumbnail: data.join(&e.thumbnail_key).display().to_string(),
        input: &e.input,
        model: format!("{}@{}", e.model.name, e.model.version),
    }
}

pub fn run(args: SearchArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let text = args.query.join(" ");
    let query = match canvass_search::parse(&text, Utc::now()) {
        Ok(query) => query,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let data = args.data.or_else(|| file.data_dir.clone()).unwrap_or_else(|| PathBuf::from("canvass-data"));
    let lake = EventLake::new(LocalStore::new(&data));
    let results = canvass_search::search(&lake, &query, args.all_versions, args.offset, args.limit)
        .with_context(|| format!("cannot search the lake in {}", data.display()))?;
    tracing::debug!(
        summaries = results.stats.summaries_read,
        segments = results.stats.segments_opened,
        "searched"
    );
    let hits: Vec<Hit> = results.events.iter().map(|e| hit(e, &data)).collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        println!("no events match \"{text}\" ({} segments searched)", results.stats.segments_opened);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<24} {:<20} {:<10} {:<7} {:>5} {:>12}  thumbnail",
        "time", "source", "class", "colour", "conf", "media s"
    );
    for h in &hits {
        println!(
            "{:<24} {:<20} {:<10} {:<7} {:>5.2} {:>5.1}-{:<6.1}  {}",
            h.start,
            h.source,
            h.class,
            h.colour.as_deref().unwrap_or("-"),
            h.confidence,
            h.media_start_s,
            h.media_end_s,
            h.thumbnail
        );
    }
    let shown_to = args.offset + hits.len();
    println!("{}-{} of {} events", args.offset + 1, shown_to, results.total);
    if shown_to < results.total {
        println!("more: --offset {shown_to}");
    }
    Ok(ExitCode::SUCCESS)
}
