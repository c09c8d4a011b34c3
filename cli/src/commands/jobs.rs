//! `canvass jobs`: where the ingest jobs of stored evidence stand, as the data's operator
//! (audited with the operating-system user).

use std::process::ExitCode;

use canvass_store::jobs::{Job, JobBook};

use crate::case_arg;
use crate::config::FileConfig;
use crate::data_arg::DataArg;

#[derive(clap::Args)]
pub struct JobsArgs {
    /// Only this case's jobs.
    #[arg(long, value_name = "CASE_ID")]
    case: Option<String>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataArg,
}

pub fn run(args: JobsArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let store = file.store(args.data.dir)?;
    let jobs = JobBook::new(store.clone()).list(args.case.as_deref())?;
    let detail = serde_json::json!({ "case": args.case });
    case_arg::audit(&case_arg::audit_log(&store, file)?, "list_jobs", None, detail, Some(jobs.len()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&jobs)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<32} {:<16} {:<8} {:>15} {:>7} {:>7}  file",
        "job", "case", "state", "media s", "frames", "events"
    );
    for job in &jobs {
        println!(
            "{:<32} {:<16} {:<8} {:>15} {:>7} {:>7}  {}{}",
            job.id,
            job.case,
            format!("{:?}", job.state).to_lowercase(),
            progress(job),
            job.frames,
            job.events.map_or("-".into(), |e| e.to_string()),
            job.original_name,
            job.error.as_ref().or(job.warning.as_ref()).map_or(String::new(), |why| format!("  ({why})")),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn progress(job: &Job) -> String {
    match job.media_s_total {
        Some(total) => format!("{:.1} / {total:.1}", job.media_s_done),
        None => format!("{:.1}", job.media_s_done),
    }
}
