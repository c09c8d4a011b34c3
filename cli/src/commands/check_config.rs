//! `canvass config check`: reads the configuration file the way every command does and says
//! what it sets up, or what is wrong with it, without touching any service.

use std::process::ExitCode;

use crate::config::{FileConfig, StoreSection};

#[derive(clap::Subcommand)]
pub enum ConfigCommand {
    /// Check the file given by --config (unknown keys, bad values, access rules) and print a
    /// summary of what it sets.
    Check,
}

pub fn run(command: ConfigCommand, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Check = command;
    let access = file.access()?;
    let store = match &file.store {
        StoreSection::Local => format!("data folder {}", file.data_dir(None).display()),
        StoreSection::S3(_) => {
            // Builds the client (region, endpoint, encryption) without sending a request.
            file.store(None)?;
            file.store_location(None)
        }
    };
    let kafka = &file.kafka;
    println!("store: {store}");
    println!(
        "kafka: {} group {} topics {}, {}, {} ({} partitions)",
        kafka.brokers,
        kafka.group,
        kafka.topics.frames,
        kafka.topics.events,
        kafka.topics.dead_letter,
        kafka.partitions
    );
    let properties: Vec<&str> = kafka.properties.keys().map(String::as_str).collect();
    if !properties.is_empty() {
        println!("kafka client properties: {}", properties.join(", "));
    }
    println!(
        "serve: {} ({} agencies, {} users)",
        file.serve.listen,
        access.agencies.len(),
        access.users.len()
    );
    println!("ok");
    Ok(ExitCode::SUCCESS)
}
