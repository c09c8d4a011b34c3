//! `canvass search`: the query language over the event lake. Like the API, it shows event data
//! only for a case and a purpose, and every search (refused ones too) is audited with the
//! operating-system user and the ids of the events shown.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use canvass_store::EventLake;
use chrono::{Local, Utc};

use crate::case_arg::{self, CaseArgs};
use crate::config::FileConfig;
use crate::data_arg::DataArg;
use crate::event_table::{Hit, print_table};

#[derive(clap::Args)]
pub struct SearchArgs {
    #[command(flatten)]
    data: DataArg,
    #[command(flatten)]
    case: CaseArgs,
    /// Print one JSON array instead of a table.
    #[arg(long)]
    json: bool,
    /// Results per page (at most 1000).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
    limit: u16,
    /// Results to skip (for the next pages; at most 10000).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=10_000))]
    offset: u16,
    /// Show events of every model version, not only the newest per source.
    #[arg(long)]
    all_versions: bool,
    /// Write the shown events' thumbnails (decrypted JPEGs, `<event id>.jpg`) into this folder.
    #[arg(long, value_name = "DIR")]
    thumbnails: Option<PathBuf>,
    /// What to find, e.g. red pickup after:-24h camera:main-st
    #[arg(required = true, value_name = "QUERY")]
    query: Vec<String>,
}

pub fn run(args: SearchArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let text = args.query.join(" ");
    let case = match args.case.resolve(file) {
        Ok(case) => case,
        Err(why) => {
            eprintln!("error: {why}");
            return Ok(ExitCode::from(2));
        }
    };
    let (offset, limit) = (args.offset as usize, args.limit as usize);
    let base = file.object_base();
    let location = file.store_location(args.data.dir.clone());
    let store = file.store(args.data.dir)?;
    let log = case_arg::audit_log(&store, file)?;
    let cameras = || canvass_governance::registry::Registry::new(store.clone()).all();
    let parsed = canvass_search::parse_in(&text, Utc::now(), *Local::now().offset());
    let parsed = match parsed {
        Ok(mut query) if query.near.is_some() => {
            let cameras =
                cameras().with_context(|| format!("cannot read the camera registry in {location}"))?;
            query.resolve_near(&cameras).map(|_| query)
        }
        other => other,
    };
    let query = match parsed {
        Ok(query) => query,
        Err(e) => {
            let detail = serde_json::json!({ "q": text, "error": e.to_string() });
            case_arg::audit(&log, "search_refused", Some(&case), detail, Some(0))?;
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    // How the query was read, before any result: on standard error when standard output is JSON.
    let understood = format!("understood: {}", query.understood_line());
    if args.json {
        eprintln!("{understood}");
    } else {
        println!("{understood}");
    }
    let lake = EventLake::new(store.clone());
    let results = canvass_search::search(&lake, &query, args.all_versions, offset, limit)
        .with_context(|| format!("cannot search the lake in {location}"))?;
    tracing::debug!(
        summaries = results.stats.summaries_read,
        segments = results.stats.segments_opened,
        "searched"
    );
    let shown: Vec<&str> = results.events.iter().map(|e| e.event_id.as_str()).collect();
    let detail = serde_json::json!({ "q": text, "offset": offset, "limit": limit, "event_ids": shown,
        "thumbnails_to": args.thumbnails });
    // Recorded before anything is shown: a search that cannot be audited shows nothing.
    case_arg::audit(&log, "search", Some(&case), detail, Some(results.total))?;
    let mut hits: Vec<Hit> = results.events.iter().map(|e| Hit::of(e, &base)).collect();
    if let Some(dir) = &args.thumbnails {
        save_thumbnails(&lake, &results.events, dir, &mut hits)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        println!("no events match \"{text}\" ({} segments searched)", results.stats.segments_opened);
        return Ok(ExitCode::SUCCESS);
    }
    print_table(&hits);
    let shown_to = offset + hits.len();
    println!("{}-{} of {} events", offset + 1, shown_to, results.total);
    if shown_to < results.total {
        println!("more: --offset {shown_to}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The thumbnails as plain JPEG files (the data folder keeps them encrypted); each hit then
/// names its file.
fn save_thumbnails(
    lake: &EventLake<canvass_store::Store>,
    events: &[canvass_schemas::DetectionEvent],
    dir: &std::path::Path,
    hits: &mut [Hit],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (event, hit) in events.iter().zip(hits) {
        let path = dir.join(format!("{}.jpg", event.event_id));
        match lake.thumbnail(&event.thumbnail_key) {
            Ok(jpeg) => {
                std::fs::write(&path, jpeg).with_context(|| format!("cannot write {}", path.display()))?;
                hit.thumbnail = path.display().to_string();
            }
            Err(e) => eprintln!("error: thumbnail of {}: {e}", event.event_id),
        }
    }
    Ok(())
}
