//! `canvass`: one binary, one subcommand per job.

mod alerting;
mod case_arg;
mod commands;
mod config;
mod data_arg;
mod detector_args;
mod event_table;
mod ingest_args;
mod job_worker;
mod progress;
mod worker_args;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "canvass", version, about = "Search video for vehicles and weapons, never faces")]
struct Cli {
    /// TOML configuration file; flags and CANVASS_* environment variables override it.
    #[arg(long, global = true, env = "CANVASS_CONFIG")]
    config: Option<PathBuf>,
    /// Log filter (tracing's EnvFilter syntax), e.g. `debug` or `canvass_ingest=debug`.
    #[arg(long, global = true, env = "CANVASS_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode video files or streams, detect vehicles and weapons, write events (embedded mode).
    Run(commands::run::RunArgs),
    /// Distributed mode: decode files or streams and publish the sampled frames to Kafka.
    Ingest(commands::ingest::IngestWorkerArgs),
    /// Distributed mode: a detector worker: frames from Kafka, events to the object store.
    Detect(commands::detect::DetectWorkerArgs),
    /// Search the events: "red pickup", "firearm after:-24h camera:main-st".
    Search(commands::search::SearchArgs),
    /// Accuracy of the models on labelled images (COCO or YOLO): recall and precision per class.
    Eval(commands::eval::EvalArgs),
    /// Show the streams, duration, frame rate and codecs of video files or streams.
    Probe(commands::probe::ProbeArgs),
    /// List the model manifests, or verify that each model loads and runs.
    #[command(subcommand)]
    Models(commands::models::ModelsCommand),
    /// Serve the investigator API (search, events, cameras, holds, audit) over the data folder.
    Serve(commands::serve::ServeArgs),
    /// Cases and their stored evidence.
    #[command(subcommand)]
    Case(commands::case::CaseCommand),
    /// Export a case as a signed package (events, clips, originals, audit extract), or verify one.
    Export(commands::export::ExportArgs),
    /// Ingest jobs of stored evidence (uploads, reprocessing) and where they stand.
    Jobs(commands::jobs::JobsArgs),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(commands::governance::AuditCommand),
    /// Delete events past retention, except those under legal hold.
    Janitor(commands::governance::JanitorArgs),
    /// Make an API token and the hash to configure for it.
    Token,
    /// Check a configuration file.
    #[command(subcommand)]
    Config(commands::check_config::ConfigCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    let result = config::FileConfig::load(cli.config.as_deref()).and_then(|file| match cli.command {
        Command::Run(args) => commands::run::run(args, &file),
        Command::Ingest(args) => commands::ingest::run(args, &file),
        Command::Detect(args) => commands::detect::run(args, &file),
        Command::Search(args) => commands::search::run(args, &file),
        Command::Eval(args) => commands::eval::run(args, &file),
        Command::Probe(args) => commands::probe::run(args),
        Command::Models(command) => commands::models::run(command, &file),
        Command::Serve(args) => commands::serve::run(args, &file),
        Command::Case(command) => commands::case::run(command, &file),
        Command::Jobs(args) => commands::jobs::run(args, &file),
        Command::Export(args) => commands::export::run(args, &file),
        Command::Audit(command) => commands::governance::audit(command, &file),
        Command::Janitor(args) => commands::governance::janitor(args, &file),
        Command::Token => commands::governance::token(),
        Command::Config(command) => commands::check_config::run(command, &file),
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
