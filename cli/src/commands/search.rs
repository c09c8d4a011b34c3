//! `canvass search`: the query language over the event lake.

use std::process::ExitCode;

use anyhow::Context;
use canvass_store::EventLake;
use chrono::Utc;

use crate::config::FileConfig;
use crate::data_arg::DataArg;
use crate::event_table::{Hit, print_table};

#[derive(clap::Args)]
pub struct SearchArgs {
    #[command(flatten)]
    data: DataArg,
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

pub fn run(args: SearchArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let text = args.query.join(" ");
    let query = match canvass_search::parse(&text, Utc::now()) {
        Ok(query) => query,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let base = file.object_base(args.data.dir.clone());
    let location = file.store_location(args.data.dir.clone());
    let lake = EventLake::new(file.store(args.data.dir)?);
    let results = canvass_search::search(&lake, &query, args.all_versions, args.offset, args.limit)
        .with_context(|| format!("cannot search the lake in {location}"))?;
    tracing::debug!(
        summaries = results.stats.summaries_read,
        segments = results.stats.segments_opened,
        "searched"
    );
    let hits: Vec<Hit> = results.events.iter().map(|e| Hit::of(e, &base)).collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        println!("no events match \"{text}\" ({} segments searched)", results.stats.segments_opened);
        return Ok(ExitCode::SUCCESS);
    }
    print_table(&hits);
    let shown_to = args.offset + hits.len();
    println!("{}-{} of {} events", args.offset + 1, shown_to, results.total);
    if shown_to < results.total {
        println!("more: --offset {shown_to}");
    }
    Ok(ExitCode::SUCCESS)
}
