//! `canvass audit verify`, `canvass janitor` and `canvass token`: the commands behind the
//! privacy promises that run outside the service.

use std::process::ExitCode;

use anyhow::Context;
use canvass_governance::Holds;
use canvass_governance::audit::{AuditLog, Verdict};
use canvass_store::EventLake;

use crate::config::FileConfig;
use crate::data_arg::DataArg;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain: exit 0 if intact, 1 naming every edit or deletion.
    Verify {
        #[command(flatten)]
        data: DataArg,
    },
}

pub fn audit(command: AuditCommand, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify { data } = command;
    let key = file.audit_key()?;
    match canvass_governance::audit::verify(&file.store(data.dir)?, &key)
        .context("cannot read the audit log")?
    {
        Verdict::Intact { entries, head } => {
            println!("audit log intact: {entries} entries, head {head}");
            println!(
                "(entries and head are authenticated with the audit key; keep the head hash elsewhere too: \
                 a log cut back to an older head, with that head restored, looks like an older log)"
            );
            Ok(ExitCode::SUCCESS)
        }
        Verdict::Broken { problems } => {
            for problem in &problems {
                println!("{problem}");
            }
            eprintln!("audit log BROKEN: {} problems", problems.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

#[derive(clap::Args)]
pub struct JanitorArgs {
    #[command(flatten)]
    data: DataArg,
    /// Days to keep events of sources whose agency sets no period. [default: 30]
    #[arg(long)]
    retention_days: Option<u32>,
}

pub fn janitor(args: JanitorArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let store = file.store(args.data.dir)?;
    let access = file.access()?;
    let retention = access
        .retention(args.retention_days.unwrap_or(file.serve.retention_days), file.serve.retention_clock);
    let (holds, unreadable) = Holds::new(store.clone()).all()?;
    for problem in &unreadable {
        eprintln!("warning: {problem} (skipped; fix or remove it)");
    }
    let report = canvass_governance::sweep(
        &EventLake::new(store.clone()),
        &holds,
        &AuditLog::new(store, file.audit_key()?),
        &retention,
        chrono::Utc::now(),
    )?;
    println!(
        "deleted {} events ({} thumbnails), kept {} under legal hold; {} segments removed, {} rewritten; \
         {} ingest log entries and {} stale detector checkpoints deleted",
        report.events_deleted,
        report.thumbnails_deleted,
        report.events_held,
        report.segments_removed,
        report.segments_rewritten,
        report.ingest_log_deleted,
        report.checkpoints_deleted
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints a new random API token and the hash that goes in the config file.
pub fn token() -> anyhow::Result<ExitCode> {
    let token = canvass_store::Secret256::generate()?.to_hex();
    println!("token:        {token}");
    println!("token_sha256: {}", canvass_governance::access::token_hash(&token));
    println!("(give the token to its user; put only the hash in the config file)");
    Ok(ExitCode::SUCCESS)
}
