//! `--case` and `--purpose`: what every command that shows event data must say, as the API
//! requires, and who ran it (the operating-system user), for the audit log.

use canvass_governance::{Action, AuditLog};
use canvass_store::Store;

use crate::config::FileConfig;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct CaseArgs {
    /// The case this look at the data is for (audited). [default: [cli] case in the config]
    #[arg(long, env = "CANVASS_CASE")]
    pub case: Option<String>,
    /// Why the data is looked at (audited). [default: [cli] purpose in the config]
    #[arg(long, env = "CANVASS_PURPOSE")]
    pub purpose: Option<String>,
}

/// A case and purpose, given.
pub struct Case {
    pub case: String,
    pub purpose: String,
}

impl CaseArgs {
    /// The case and purpose from the flags, the environment or the config; `None` says what is
    /// missing.
    pub fn resolve(&self, file: &FileConfig) -> Result<Case, String> {
        let given = |flag: &Option<String>, default: &Option<String>| {
            flag.clone().or_else(|| default.clone()).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
        };
        match (given(&self.case, &file.cli.case), given(&self.purpose, &file.cli.purpose)) {
            (Some(case), Some(purpose)) => Ok(Case { case, purpose }),
            (case, _) => Err(format!(
                "event data is shown only for a case and a purpose, both audited: give {}",
                if case.is_none() { "--case and --purpose" } else { "--purpose" }
            )),
        }
    }
}

/// Who runs this command, as the operating system says.
pub fn os_user() -> String {
    use std::os::unix::fs::MetadataExt;
    let name = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok().filter(|n| !n.is_empty());
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    match (name, uid) {
        (Some(name), Some(uid)) => format!("os:{name} (uid {uid})"),
        (Some(name), None) => format!("os:{name}"),
        (None, Some(uid)) => format!("os:uid {uid}"),
        (None, None) => "os:unknown".into(),
    }
}

/// The command line's user as the governance code sees them: the data's operator, who holds
/// its keys, sees every case (like an admin) and is audited by operating-system name.
pub fn operator() -> canvass_governance::Principal {
    canvass_governance::Principal { name: os_user(), role: canvass_governance::Role::Admin, agency: None }
}

/// The store's audit log, for the command line's records: one per command, so its writer
/// finds the end of the log once.
pub fn audit_log(store: &Store, file: &FileConfig) -> anyhow::Result<AuditLog<Store>> {
    Ok(AuditLog::new(store.clone(), file.audit_key()?))
}

/// Records a CLI action on event data.
pub fn audit(
    log: &AuditLog<Store>,
    action: &str,
    case: Option<&Case>,
    detail: serde_json::Value,
    count: Option<usize>,
) -> anyhow::Result<()> {
    log.record(Action {
        actor: os_user(),
        role: "cli".into(),
        action: action.into(),
        case: case.map(|c| c.case.clone()),
        purpose: case.map(|c| c.purpose.clone()),
        agency: None,
        detail,
        result_count: count,
    })?;
    Ok(())
}
