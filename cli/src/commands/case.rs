//! `canvass case`: open cases and see their stored evidence, as the data's operator (every
//! command is audited with the operating-system user).

use std::process::ExitCode;

use anyhow::Context;
use canvass_governance::cases::Cases;
use canvass_store::evidence::EvidenceStore;

use crate::case_arg;
use crate::config::FileConfig;
use crate::data_arg::DataArg;

#[derive(clap::Subcommand)]
pub enum CaseCommand {
    /// Open a case for an agency.
    Create {
        /// The case id: letters, digits, '-', '_' or '.'.
        id: String,
        #[arg(long)]
        title: String,
        /// The agency the case belongs to (one of [[agencies]] when the config names any).
        #[arg(long)]
        agency: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// Every case, newest first.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArg,
    },
    /// One case and its stored evidence (name, size, SHA-256, who submitted it and when).
    Show {
        id: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArg,
    },
}

pub fn run(command: CaseCommand, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let operator = case_arg::operator();
    let now = chrono::Utc::now();
    match command {
        CaseCommand::Create { id, title, agency, data } => {
            if !file.agencies.is_empty() && !file.agencies.iter().any(|a| a.name == agency) {
                let known: Vec<&str> = file.agencies.iter().map(|a| a.name.as_str()).collect();
                anyhow::bail!("no agency '{agency}' in the config; agencies: {}", known.join(", "));
            }
            let store = file.store(data.dir)?;
            let case = Cases::new(store.clone()).open(&id, &title, &agency, &operator.name, now)?;
            let detail = serde_json::to_value(&case)?;
            case_arg::audit(&case_arg::audit_log(&store, file)?, "case_opened", None, detail, None)?;
            println!("opened case {} ({}) for {}", case.id, case.title, case.agency);
        }
        CaseCommand::List { json, data } => {
            let store = file.store(data.dir)?;
            let (cases, problems) = Cases::new(store.clone()).visible_to(&operator)?;
            for problem in &problems {
                eprintln!("warning: {problem}");
            }
            let log = case_arg::audit_log(&store, file)?;
            case_arg::audit(&log, "list_cases", None, serde_json::json!({}), Some(cases.len()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&cases)?);
            } else {
                println!("{:<20} {:<16} {:<20} title", "case", "agency", "opened");
                for case in &cases {
                    let opened = case.created_at.format("%Y-%m-%d %H:%M");
                    println!("{:<20} {:<16} {:<20} {}", case.id, case.agency, opened, case.title);
                }
            }
        }
        CaseCommand::Show { id, json, data } => {
            let store = file.store(data.dir)?;
            let case = Cases::new(store.clone()).get(&operator, &id)?;
            let evidence = EvidenceStore::new(store.clone()).list(&id).context("cannot list the evidence")?;
            let detail = serde_json::json!({ "evidence": evidence.len() });
            case_arg::audit(
                &case_arg::audit_log(&store, file)?,
                "view_case",
                Some(&case_arg::Case { case: id.clone(), purpose: "case view".into() }),
                detail,
                None,
            )?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "case": case, "evidence": evidence }))?
                );
            } else {
                println!(
                    "case {}: {} ({}, opened by {} at {})",
                    case.id, case.title, case.agency, case.created_by, case.created_at
                );
                for m in &evidence {
                    println!(
                        "  {}  {:>12} bytes  {}  from {} at {}",
                        m.sha256,
                        m.size,
                        m.original_name,
                        m.submitted_by,
                        m.submitted_at.format("%Y-%m-%d %H:%M")
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
