//! `canvass export verify`: checks a package with nothing but the package. Every listed file's
//! SHA-256 and size, no file that is not listed, the signature over the manifest (and, when the
//! recipient pins one, that it is the key they were given), each original against the SHA-256
//! it was submitted with, and the audit extract as links of one unbroken chain. Every problem
//! names the file it is in.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use canvass_governance::audit::Entry;

use crate::package::{
    ChainLink, MANIFEST, PackageManifest, PackageSignature, SIGNATURE, hash_reader, touches_case,
};
use crate::signing::signature_holds;

#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    /// What is wrong, each naming its file; empty when the package holds.
    pub problems: Vec<String>,
    /// The manifest, when it could be read.
    pub manifest: Option<PackageManifest>,
    /// The key that signed the manifest, when the signature holds.
    pub signer: Option<String>,
    pub files_checked: usize,
}

impl VerifyReport {
    pub fn holds(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{path}: {reason}")]
    Unreadable { path: String, reason: String },
}

/// Checks the package at `path`; `pinned`: the public key (hex) the recipient expects.
pub fn verify_package(path: &Path, pinned: Option<&str>) -> Result<VerifyReport, VerifyError> {
    let unreadable = |reason: String| VerifyError::Unreadable { path: path.display().to_string(), reason };
    let file = File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| unreadable(format!("not a readable ZIP package: {e}")))?;
    let mut problems = Vec::new();

    // Every file's hash as read (the ZIP's own CRC fails a changed byte too; either way the file
    // is named).
    let mut actual: BTreeMap<String, Result<(String, u64), String>> = BTreeMap::new();
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = match zip.by_index(i) {
            Ok(entry) => entry,
            Err(e) => {
                problems.push(format!("entry {i} of the package: unreadable: {e}"));
                continue;
            }
        };
        let name = entry.name().to_string();
        // The small files are kept to read; media is hashed as it streams.
        let keep =
            name == MANIFEST || name == SIGNATURE || name.ends_with(".json") || name.ends_with(".jsonl");
        let read = if keep {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map(|_| {
                let hashed = hash_reader(&mut bytes.as_slice()).expect("reading memory");
                contents.insert(name.clone(), bytes);
                hashed
            })
        } else {
            hash_reader(&mut entry)
        };
        if let Err(e) = &read {
            problems.push(format!("{name}: unreadable, so changed or damaged: {e}"));
        }
        actual.insert(name, read.map_err(|e| e.to_string()));
    }

    let manifest: Option<PackageManifest> = match contents.get(MANIFEST) {
        None => {
            if !actual.contains_key(MANIFEST) {
                problems.push(format!("{MANIFEST}: missing"));
            }
            None
        }
        Some(bytes) => serde_json::from_slice(bytes)
            .map_err(|e| problems.push(format!("{MANIFEST}: not a canvass export manifest: {e}")))
            .ok(),
    };
    let mut signer = None;
    match (
        contents.get(SIGNATURE).map(|b| serde_json::from_slice::<PackageSignature>(b)),
        contents.get(MANIFEST),
    ) {
        (None, _) if !actual.contains_key(SIGNATURE) => problems.push(format!("{SIGNATURE}: missing")),
        (None, _) => {}
        (Some(Err(e)), _) => problems.push(format!("{SIGNATURE}: unreadable: {e}")),
        (Some(Ok(signature)), Some(manifest_bytes)) => {
            if signature.algorithm != "ed25519" {
                problems.push(format!("{SIGNATURE}: unknown algorithm {}", signature.algorithm));
            } else if !signature_holds(&signature.public_key, manifest_bytes, &signature.signature) {
                problems.push(format!(
                    "{MANIFEST}: the signature in {SIGNATURE} does not hold: the manifest was changed"
                ));
            } else {
                signer = Some(signature.public_key.clone());
            }
            if let Some(pinned) = pinned
                && !pinned.trim().eq_ignore_ascii_case(&signature.public_key)
            {
                problems.push(format!(
                    "{SIGNATURE}: signed by key {}, not the key you expect ({})",
                    signature.public_key,
                    pinned.trim()
                ));
            }
            if let Some(manifest) = &manifest
                && manifest.signing_key != signature.public_key
            {
                problems.push(format!(
                    "{MANIFEST}: names signing key {}, but {SIGNATURE} holds another",
                    manifest.signing_key
                ));
            }
        }
        (Some(Ok(_)), None) => {}
    }

    let mut files_checked = 0;
    if let Some(manifest) = &manifest {
        let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        for file in &manifest.files {
            match actual.get(&file.path) {
                None => {
                    problems.push(format!("{}: listed in the manifest but not in the package", file.path))
                }
                Some(Err(_)) => {} // said above
                Some(Ok((sha256, size))) => {
                    if sha256 != &file.sha256 || *size != file.size {
                        problems.push(format!(
                            "{}: its SHA-256 is {sha256} ({size} bytes), the manifest says {} ({} bytes): the file was changed",
                            file.path, file.sha256, file.size
                        ));
                    }
                    files_checked += 1;
                }
            }
        }
        for name in actual.keys() {
            if name != MANIFEST && name != SIGNATURE && !listed.contains(name.as_str()) {
                problems.push(format!("{name}: in the package but not in the manifest"));
            }
        }
        for original in &manifest.evidence {
            if let Some(path) = &original.path
                && let Some(Ok((sha256, _))) = actual.get(path)
                && sha256 != &original.sha256
            {
                problems.push(format!(
                    "{path}: is not the original submitted (SHA-256 {sha256}, submitted {})",
                    original.sha256
                ));
            }
        }
        check_audit(manifest, &contents, &mut problems);
    }
    Ok(VerifyReport { problems, manifest, signer, files_checked })
}

/// The extract's entries are as written (each hash recomputed) and sit in one unbroken chain
/// that ends at the head the manifest records.
fn check_audit(manifest: &PackageManifest, contents: &BTreeMap<String, Vec<u8>>, problems: &mut Vec<String>) {
    const ENTRIES: &str = "audit/entries.jsonl";
    const CHAIN: &str = "audit/chain.jsonl";
    let lines = |name: &str| -> Vec<String> {
        contents.get(name).map_or_else(Vec::new, |b| {
            String::from_utf8_lossy(b).lines().filter(|l| !l.is_empty()).map(String::from).collect()
        })
    };
    let mut chain: BTreeMap<u64, ChainLink> = BTreeMap::new();
    let mut previous: Option<ChainLink> = None;
    for (n, line) in lines(CHAIN).iter().enumerate() {
        let Ok(link) = serde_json::from_str::<ChainLink>(line) else {
            problems.push(format!("{CHAIN}: line {} is not a chain link", n + 1));
            return;
        };
        if let Some(before) = &previous
            && (link.seq != before.seq + 1 || link.prev_hash != before.hash)
        {
            problems.push(format!(
                "{CHAIN}: entry {} does not follow entry {}: the chain is broken",
                link.seq, before.seq
            ));
        }
        previous = Some(link.clone());
        chain.insert(link.seq, link);
    }
    let last = previous.map(|l| l.hash).unwrap_or_default();
    if last != manifest.audit.head_hash {
        problems
            .push(format!("{CHAIN}: ends at {last}, the manifest records head {}", manifest.audit.head_hash));
    }
    let entries = lines(ENTRIES);
    if entries.len() != manifest.audit.entries {
        problems.push(format!(
            "{ENTRIES}: {} entries, the manifest records {}",
            entries.len(),
            manifest.audit.entries
        ));
    }
    for (n, line) in entries.iter().enumerate() {
        let Ok(entry) = serde_json::from_str::<Entry>(line) else {
            problems.push(format!("{ENTRIES}: line {} is not an audit entry", n + 1));
            continue;
        };
        if !entry.hash_holds() {
            problems.push(format!(
                "{ENTRIES}: entry {} was changed: its hash does not match its content",
                entry.seq
            ));
        } else if !touches_case(&entry, &manifest.case.id) {
            problems.push(format!("{ENTRIES}: entry {} is not about case {}", entry.seq, manifest.case.id));
        } else if chain.get(&entry.seq).is_none_or(|l| l.hash != entry.hash || l.prev_hash != entry.prev_hash)
        {
            problems.push(format!(
                "{ENTRIES}: entry {} is not the entry the chain holds at its place",
                entry.seq
            ));
        }
    }
}
