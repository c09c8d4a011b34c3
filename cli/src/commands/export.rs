//! `canvass export`: a case as one signed package (events, thumbnails, clips, the submitted
//! originals, the case's audit extract), and `canvass export verify` to check one anywhere,
//! with no access to the store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use canvass_custody::package::{AuditExtract, PackageRequest, Progress, case_events};
use canvass_custody::{VerifyReport, verify_package, write_package};
use canvass_governance::audit::{Verdict, read_and_verify};
use canvass_governance::cases::Cases;
use canvass_store::EventLake;
use canvass_store::evidence::EvidenceStore;

use crate::case_arg::{self, CaseArgs, operator};
use crate::config::FileConfig;
use crate::data_arg::DataArg;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ExportArgs {
    #[command(subcommand)]
    command: Option<ExportCommand>,
    #[command(flatten)]
    package: PackageArgs,
}

#[derive(clap::Subcommand)]
enum ExportCommand {
    /// Check a package: every file's SHA-256, the signature, the originals, the audit chain.
    Verify {
        package: PathBuf,
        /// The public key (64 hex digits) the package must be signed with: pin it to know who
        /// made it (`canvass export key` on the exporting side prints it).
        #[arg(long)]
        key: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the public key that signs this installation's packages.
    Key,
}

#[derive(clap::Args)]
struct PackageArgs {
    #[command(flatten)]
    data: DataArg,
    #[command(flatten)]
    case: CaseArgs,
    /// Only the events this query matches (the search language), e.g. "red pickup after:2026-11-01".
    #[arg(long)]
    query: Option<String>,
    /// Clips only: leave the submitted originals out (their SHA-256 and submitter stay listed).
    #[arg(long)]
    clips_only: bool,
    /// Seconds of footage before and after each event in its clip.
    #[arg(long, default_value_t = 5.0)]
    margin: f64,
    /// The package to write (a ZIP).
    #[arg(long, value_name = "FILE.zip")]
    out: Option<PathBuf>,
}

pub fn run(args: ExportArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(ExportCommand::Verify { package, key, json }) => verify(&package, key.as_deref(), json),
        Some(ExportCommand::Key) => {
            println!("{}", file.signing_key()?.public_hex());
            Ok(ExitCode::SUCCESS)
        }
        None => export(args.package, file),
    }
}

fn export(args: PackageArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let case = match args.case.resolve(file) {
        Ok(case) => case,
        Err(why) => {
            eprintln!("error: {why}");
            return Ok(ExitCode::from(2));
        }
    };
    let Some(out) = args.out else {
        eprintln!("error: give --out FILE.zip, where the package goes");
        return Ok(ExitCode::from(2));
    };
    if !(0.0..=60.0).contains(&args.margin) {
        anyhow::bail!("--margin: 0 to 60 seconds");
    }
    let key = file.signing_key()?;
    let store = file.store(args.data.dir)?;
    let record = Cases::new(store.clone()).get(&operator(), &case.case)?;
    let lake = EventLake::new(store.clone());
    let events = case_events(&lake, &record.id, args.query.as_deref(), None)?;
    let log = case_arg::audit_log(&store, file)?;
    let id = canvass_store::secret::new_id();
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    let detail = serde_json::json!({ "export": id, "query": args.query, "event_ids": ids,
        "originals": !args.clips_only, "to": out.display().to_string(), "signing_key": key.public_hex() });
    // Recorded before anything is written, so the package's audit extract holds its own export.
    case_arg::audit(&log, "export_package", Some(&case), detail, Some(events.len()))?;
    let (entries, verdict) = read_and_verify(&store, log.key())?;
    if let Verdict::Broken { problems } = verdict {
        anyhow::bail!(
            "the audit log does not verify, so no package can prove its chain: {}",
            problems.join("; ")
        );
    }
    let request = PackageRequest {
        id: id.clone(),
        audit: AuditExtract::of_case(&entries, &record.id),
        case: record,
        created_by: case_arg::os_user(),
        purpose: case.purpose.clone(),
        query: args.query,
        events,
        originals: !args.clips_only,
        clip_margin_us: (args.margin * 1e6) as i64,
    };
    // Written beside the target and renamed when whole: a crash leaves no half package there.
    let partial = partial_path(&out);
    let mut shown = 0;
    let mut progress = |p: Progress| {
        let percent = (p.done * 100).checked_div(p.total).unwrap_or(100);
        if percent >= shown + 10 || p.done == p.total {
            eprintln!("export: {percent}% ({} of {})", p.done, p.total);
            shown = percent;
        }
    };
    let evidence = EvidenceStore::new(store.clone());
    let written = write_package(&lake, &evidence, &key, &request, &partial, &mut progress);
    let summary = match written {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            let detail = serde_json::json!({ "export": id, "error": e.to_string() });
            case_arg::audit(&log, "export_failed", Some(&case), detail, Some(0))?;
            return Err(e).context(format!("export of case {} failed", case.case));
        }
    };
    std::fs::rename(&partial, &out).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{}: {} events, {} clips, {} originals, {} files, {} bytes, SHA-256 {}",
        out.display(),
        summary.events,
        summary.clips,
        summary.originals,
        summary.files,
        summary.bytes,
        summary.sha256
    );
    println!(
        "signed by {}; check with: canvass export verify {} --key {}",
        key.public_hex(),
        out.display(),
        key.public_hex()
    );
    Ok(ExitCode::SUCCESS)
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

fn verify(package: &Path, key: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let report: VerifyReport = verify_package(package, key)?;
    if json {
        let out = serde_json::json!({ "holds": report.holds(), "problems": report.problems, "signer": report.signer,
            "files_checked": report.files_checked, "manifest": report.manifest });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if report.holds() {
        let m = report.manifest.as_ref().expect("a package that holds has a manifest");
        println!(
            "{}: holds. Case {} ({}), {} events, {} files checked, {} originals, {} audit entries; signed by {}{}",
            package.display(),
            m.case.id,
            m.case.agency,
            m.events,
            report.files_checked,
            m.evidence.iter().filter(|e| e.path.is_some()).count(),
            m.audit.entries,
            report.signer.as_deref().unwrap_or("?"),
            if key.is_some() {
                " (the key you gave)"
            } else {
                " (not pinned: pass --key to check who signed)"
            }
        );
    } else {
        for problem in &report.problems {
            eprintln!("FAIL {problem}");
        }
        eprintln!("{}: does NOT hold ({} problems)", package.display(), report.problems.len());
    }
    Ok(if report.holds() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
