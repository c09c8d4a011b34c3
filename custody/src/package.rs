//! A case export package: one ZIP that carries its own proof.
//!
//! ```text
//! manifest.json           every other file with its SHA-256 and size; the evidence with its
//!                         original SHA-256 and submitter; the audit extract's chain head
//! signature.json          Ed25519 signature of manifest.json's bytes, and the public key
//! events.json, events.csv the selected events
//! thumbnails/<event>.jpg  each event's thumbnail
//! clips/<event>.mp4       each event's span plus margins, cut from the stored evidence
//! evidence/<sha256>/<name> the submitted originals (unless clips only)
//! audit/entries.jsonl     every audit entry about the case (`touches_case`), as written
//! audit/chain.jsonl       (seq, prev_hash, hash) of every entry from the case's first to the
//!                         log's end: the extract's entries are links of one unbroken chain
//! ```
//!
//! A missing evidence object fails the export by name: never a package with a hole.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use canvass_governance::audit::Entry;
use canvass_governance::cases::Case;
use canvass_ingest::ClipMethod;
use canvass_schemas::{DetectionEvent, wire_name};
use canvass_store::evidence::{EvidenceError, EvidenceStore, Manifest, parse_input_name};
use canvass_store::secret::hex;
use canvass_store::{EventLake, Store, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use crate::footage::{FootageError, clip_of_event, shown_input};
use crate::signing::SigningKey;

pub const FORMAT: &str = "canvass-export";
pub const VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "signature.json";

/// One file of the package, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageFile {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// A stored original the events come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageEvidence {
    /// SHA-256 of the file as it was submitted.
    pub sha256: String,
    pub original_name: String,
    pub size: u64,
    pub submitted_by: String,
    pub submitted_at: DateTime<Utc>,
    pub source_id: Option<String>,
    /// The footage request it answered, if any.
    pub request: Option<String>,
    /// Where the original is in the package; `None` when the package holds clips only.
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageCase {
    pub id: String,
    pub title: String,
    pub agency: String,
}

/// The audit extract: how many entries, and the stretch of the chain that holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageAudit {
    pub entries: usize,
    pub chain_from: u64,
    pub chain_to: u64,
    /// The hash of the log's last entry when the package was made.
    pub head_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageManifest {
    pub format: String,
    pub version: u32,
    pub id: String,
    pub case: PackageCase,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub purpose: String,
    pub query: Option<String>,
    pub events: usize,
    pub files: Vec<PackageFile>,
    pub evidence: Vec<PackageEvidence>,
    /// What of the events is not in the package, and why: a clip of a live stream (which keeps
    /// no footage), a thumbnail no longer stored.
    pub not_included: Vec<String>,
    pub audit: PackageAudit,
    /// The public key that signs `manifest.json` (hex); pin it to know who made the package.
    pub signing_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSignature {
    pub algorithm: String,
    pub public_key: String,
    pub signature: String,
}

/// One link of the audit chain, without the entry's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainLink {
    pub seq: u64,
    pub prev_hash: String,
    pub hash: String,
}

/// The case's entries of the audit log and the chain from the first of them to the log's end.
#[derive(Debug, Clone, Default)]
pub struct AuditExtract {
    pub entries: Vec<Entry>,
    pub chain: Vec<ChainLink>,
}

/// Whether an audit entry is about `case`: done for it, opening it, or a request to its paths
/// (a refusal included).
pub fn touches_case(entry: &Entry, case: &str) -> bool {
    let detail = &entry.action.detail;
    let path = detail["path"].as_str().unwrap_or_default();
    let case_path = format!("/v1/cases/{case}");
    entry.action.case.as_deref() == Some(case)
        || detail["case"].as_str() == Some(case)
        || (entry.action.action == "case_opened" && detail["id"].as_str() == Some(case))
        || path == case_path
        || path.starts_with(&format!("{case_path}/"))
}

impl AuditExtract {
    /// From the whole log (oldest first, as `audit::read_and_verify` gives it).
    pub fn of_case(log: &[Entry], case: &str) -> Self {
        let names_case = |e: &Entry| touches_case(e, case);
        let Some(first) = log.iter().position(names_case) else { return AuditExtract::default() };
        AuditExtract {
            entries: log[first..].iter().filter(|e| names_case(e)).cloned().collect(),
            chain: log[first..]
                .iter()
                .map(|e| ChainLink { seq: e.seq, prev_hash: e.prev_hash.clone(), hash: e.hash.clone() })
                .collect(),
        }
    }
}

/// What to put in a package.
pub struct PackageRequest {
    pub id: String,
    pub case: Case,
    pub created_by: String,
    pub purpose: String,
    pub query: Option<String>,
    pub events: Vec<DetectionEvent>,
    /// Include the submitted originals, not only clips.
    pub originals: bool,
    pub clip_margin_us: i64,
    pub audit: AuditExtract,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSummary {
    pub events: usize,
    pub clips: usize,
    pub originals: usize,
    pub files: usize,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Nothing(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Query(String),
    #[error("evidence object missing: {0}: nothing was exported")]
    MissingEvidence(String),
    #[error("the audit log does not verify, so no package can prove its chain: {0}")]
    AuditBroken(String),
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot cut the clip of event {event}: {source}")]
    Clip { event: String, source: FootageError },
    #[error("cannot write the package {path}: {reason}")]
    Write { path: String, reason: String },
}

/// A package holds at most this many events; a larger case is exported in parts, by query.
pub const MAX_PACKAGE_EVENTS: usize = 5000;

/// The events of case `case` that `query` (the search language; `None`: all) matches, within
/// `scope` (the caller's jurisdiction), best first.
pub fn case_events(
    lake: &EventLake<Store>,
    case: &str,
    query: Option<&str>,
    scope: canvass_search::SourceScope,
) -> Result<Vec<DetectionEvent>, ExportError> {
    let mut parsed = match query.map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => canvass_search::parse(q, Utc::now()).map_err(|e| ExportError::Query(e.to_string()))?,
        None => canvass_search::Query::default(),
    };
    parsed.cases = [case.to_string()].into();
    let found = canvass_search::search_within(lake, &parsed, scope, false, 0, MAX_PACKAGE_EVENTS)?;
    if found.total > MAX_PACKAGE_EVENTS {
        return Err(ExportError::TooLarge(format!(
            "{} events match; a package holds at most {MAX_PACKAGE_EVENTS}: narrow it with a query (a time range, a camera)",
            found.total
        )));
    }
    Ok(found.events)
}

/// Where a package's writing stands: units done of the total (an event's thumbnail and clip,
/// an original), for progress bars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// Writes the package for `request` to `out`, signed with `key`.
pub fn write_package(
    lake: &EventLake<Store>,
    evidence: &EvidenceStore<Store>,
    key: &SigningKey,
    request: &PackageRequest,
    out: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<PackageSummary, ExportError> {
    let case = &request.case.id;
    if request.events.is_empty() {
        return Err(ExportError::Nothing(match &request.query {
            Some(q) => format!("no event of case {case} matches '{q}': nothing to export"),
            None => format!("case {case} has no events: nothing to export"),
        }));
    }
    // Every original the events come from, found before anything is written.
    let mut originals: BTreeMap<String, Manifest> = BTreeMap::new();
    for event in &request.events {
        if let Some((evidence_case, sha256)) = parse_input_name(&event.input)
            && !originals.contains_key(&sha256)
        {
            let manifest = evidence.manifest(&evidence_case, &sha256)?.ok_or_else(|| {
                ExportError::MissingEvidence(format!(
                    "evidence/v1/case={evidence_case}/sha256={sha256} (event {})",
                    event.event_id
                ))
            })?;
            if let Some(part) = evidence.missing_parts(&manifest)?.first() {
                return Err(ExportError::MissingEvidence(format!("{part} (event {})", event.event_id)));
            }
            originals.insert(sha256, manifest);
        }
    }
    let write_error = |reason: String| ExportError::Write { path: out.display().to_string(), reason };
    let file = File::create(out).map_err(|e| write_error(e.to_string()))?;
    let mut package = Package { zip: zip::ZipWriter::new(BufWriter::new(file)), files: Vec::new(), out };
    let total = 2 * request.events.len() as u64 + if request.originals { originals.len() as u64 } else { 0 };
    let mut done = 0u64;
    let mut step = |progress: &mut dyn FnMut(Progress)| {
        done += 1;
        progress(Progress { done, total });
    };
    progress(Progress { done: 0, total });

    let shown: Vec<DetectionEvent> = request.events.iter().cloned().map(without_server_path).collect();
    let json = serde_json::to_vec_pretty(&shown).expect("events serialise");
    package.add_bytes("events.json", &json)?;
    package.add_bytes("events.csv", events_csv(&shown).as_bytes())?;

    let (mut clips, mut not_included) = (0usize, Vec::new());
    let scratch = tempfile::tempdir().map_err(|e| write_error(format!("no scratch folder: {e}")))?;
    for event in &request.events {
        let id = &event.event_id;
        match lake.thumbnail(&event.thumbnail_key) {
            Ok(jpeg) => package.add_bytes(&format!("thumbnails/{id}.jpg"), &jpeg)?,
            Err(StoreError::NotFound(_)) => not_included.push(format!("{id}: no thumbnail stored")),
            Err(e) => return Err(e.into()),
        }
        step(progress);
        let clip_path = scratch.path().join(format!("{id}.mp4"));
        match clip_of_event(evidence, event, request.clip_margin_us, ClipMethod::Auto, &clip_path) {
            Ok(_) => {
                package.add_file(&format!("clips/{id}.mp4"), &clip_path, false)?;
                clips += 1;
            }
            // A stream or a file on another host: the event goes out without footage, said so.
            Err(FootageError::NotStored(input)) if input.contains("://") => {
                not_included.push(format!("{id}: {input} is a live stream, which keeps no footage"))
            }
            Err(FootageError::NotStored(input)) => not_included
                .push(format!("{id}: its file ({input}) is not stored as evidence nor on this host")),
            Err(FootageError::Gone(input)) => {
                return Err(ExportError::MissingEvidence(format!("{input} (event {id})")));
            }
            Err(source) => return Err(ExportError::Clip { event: id.clone(), source }),
        }
        let _ = std::fs::remove_file(&clip_path);
        step(progress);
    }

    let mut listed = Vec::new();
    for manifest in originals.values() {
        let path = request
            .originals
            .then(|| format!("evidence/{}/{}", manifest.sha256, safe_name(&manifest.original_name)));
        if let Some(path) = &path {
            package.add_evidence(path, evidence, manifest)?;
            step(progress);
        }
        listed.push(PackageEvidence {
            sha256: manifest.sha256.clone(),
            original_name: manifest.original_name.clone(),
            size: manifest.size,
            submitted_by: manifest.submitted_by.clone(),
            submitted_at: manifest.submitted_at,
            source_id: manifest.source_id.clone(),
            request: manifest.request.clone(),
            path,
        });
    }

    let lines = |items: Vec<Vec<u8>>| {
        items.into_iter().flat_map(|mut l| {
            l.push(b'\n');
            l
        })
    };
    let entries: Vec<u8> = lines(
        request.audit.entries.iter().map(|e| serde_json::to_vec(e).expect("entries serialise")).collect(),
    )
    .collect();
    let chain: Vec<u8> =
        lines(request.audit.chain.iter().map(|l| serde_json::to_vec(l).expect("links serialise")).collect())
            .collect();
    package.add_bytes("audit/entries.jsonl", &entries)?;
    package.add_bytes("audit/chain.jsonl", &chain)?;
    package.add_bytes("README.txt", README.as_bytes())?;

    let manifest = PackageManifest {
        format: FORMAT.into(),
        version: VERSION,
        id: request.id.clone(),
        case: PackageCase {
            id: request.case.id.clone(),
            title: request.case.title.clone(),
            agency: request.case.agency.clone(),
        },
        created_at: Utc::now(),
        created_by: request.created_by.clone(),
        purpose: request.purpose.clone(),
        query: request.query.clone(),
        events: request.events.len(),
        files: package.files.clone(),
        evidence: listed,
        not_included,
        audit: PackageAudit {
            entries: request.audit.entries.len(),
            chain_from: request.audit.chain.first().map_or(0, |l| l.seq),
            chain_to: request.audit.chain.last().map_or(0, |l| l.seq),
            head_hash: request.audit.chain.last().map_or_else(String::new, |l| l.hash.clone()),
        },
        signing_key: key.public_hex(),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("the manifest serialises");
    let signature = PackageSignature {
        algorithm: "ed25519".into(),
        public_key: key.public_hex(),
        signature: key.sign(&manifest_bytes),
    };
    let files = package.files.len();
    package.add_bytes(MANIFEST, &manifest_bytes)?;
    package.add_bytes(SIGNATURE, &serde_json::to_vec_pretty(&signature).expect("signatures serialise"))?;
    let mut writer = package.zip.finish().map_err(|e| write_error(e.to_string()))?;
    writer.flush().map_err(|e| write_error(e.to_string()))?;
    drop(writer);
    let (sha256, bytes) = hash_file(out).map_err(|e| write_error(e.to_string()))?;
    Ok(PackageSummary {
        events: request.events.len(),
        clips,
        originals: if request.originals { originals.len() } else { 0 },
        files,
        bytes,
        sha256,
    })
}

const README: &str = "A canvass case export.\n\n\
manifest.json lists every other file with its SHA-256; signature.json is the Ed25519 signature of\n\
manifest.json by the key it names. Check the whole package with\n\n    canvass export verify PACKAGE.zip --key <the public key you were given>\n\n\
or by hand: sha256sum each file and compare with manifest.json, and check the signature with any\n\
Ed25519 tool. audit/entries.jsonl holds every audit entry about the case; each entry's hash is\n\
the SHA-256 of its JSON with \"hash\" and \"mac\" empty, and audit/chain.jsonl links them into one\n\
unbroken chain up to the log's head when the package was made.\n";

fn without_server_path(mut event: DetectionEvent) -> DetectionEvent {
    event.input = shown_input(&event.input);
    event
}

/// A submitted name as one path segment inside the package.
fn safe_name(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_alphanumeric() || "._- ".contains(c) { c } else { '_' }).collect();
    let cleaned = cleaned.trim_start_matches('.').trim();
    if cleaned.is_empty() { "original".into() } else { cleaned.chars().take(120).collect() }
}

fn events_csv(events: &[DetectionEvent]) -> String {
    let field = |v: &str| {
        if v.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_string()
        }
    };
    let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut csv = String::from(
        "event_id,case,source,class,colour,confidence,wall_start,wall_end,media_start_s,media_end_s,input,evidence_sha256,model\n",
    );
    for e in events {
        let row = [
            e.event_id.clone(),
            e.case.clone().unwrap_or_default(),
            e.source_id.clone(),
            wire_name(&e.class),
            e.attributes.colour.as_ref().map(|c| wire_name(&c.value)).unwrap_or_default(),
            format!("{:.3}", e.confidence),
            time(&e.wall_start),
            time(&e.wall_end),
            format!("{:.3}", e.media_start_us as f64 / 1e6),
            format!("{:.3}", e.media_end_us as f64 / 1e6),
            e.input.clone(),
            e.evidence_sha256.clone().unwrap_or_default(),
            format!("{}@{}", e.model.name, e.model.version),
        ];
        csv.push_str(&row.iter().map(|v| field(v)).collect::<Vec<_>>().join(","));
        csv.push('\n');
    }
    csv
}

/// The ZIP being written and what went into it.
struct Package<'a> {
    zip: zip::ZipWriter<BufWriter<File>>,
    files: Vec<PackageFile>,
    out: &'a Path,
}

impl Package<'_> {
    fn error(&self, reason: impl std::fmt::Display) -> ExportError {
        ExportError::Write { path: self.out.display().to_string(), reason: reason.to_string() }
    }

    fn start(&mut self, path: &str, large: bool) -> Result<(), ExportError> {
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(large);
        self.zip.start_file(path, options).map_err(|e| self.error(e))
    }

    fn add_bytes(&mut self, path: &str, bytes: &[u8]) -> Result<(), ExportError> {
        self.start(path, false)?;
        self.zip.write_all(bytes).map_err(|e| self.error(e))?;
        self.files.push(PackageFile {
            path: path.into(),
            sha256: hex(&Sha256::digest(bytes)),
            size: bytes.len() as u64,
        });
        Ok(())
    }

    fn add_file(&mut self, path: &str, from: &Path, large: bool) -> Result<(), ExportError> {
        self.start(path, large)?;
        let mut input = File::open(from).map_err(|e| self.error(format!("{}: {e}", from.display())))?;
        let mut hashing = Hashing::new(&mut self.zip);
        std::io::copy(&mut input, &mut hashing)
            .map_err(|e| ExportError::Write { path: path.into(), reason: e.to_string() })?;
        let (sha256, size) = hashing.finish();
        self.files.push(PackageFile { path: path.into(), sha256, size });
        Ok(())
    }

    /// The original, read from the store and checked against its SHA-256 on the way.
    fn add_evidence(
        &mut self,
        path: &str,
        evidence: &EvidenceStore<Store>,
        manifest: &Manifest,
    ) -> Result<(), ExportError> {
        self.start(path, manifest.size >= u64::from(u32::MAX))?;
        let mut hashing = Hashing::new(&mut self.zip);
        evidence.copy_to(manifest, &mut hashing).map_err(|e| match e {
            EvidenceError::Damaged { problem, .. } if problem.contains("missing") => {
                ExportError::MissingEvidence(format!(
                    "a part of evidence/v1/case={}/sha256={} ({problem})",
                    manifest.case, manifest.sha256
                ))
            }
            e => e.into(),
        })?;
        let (sha256, size) = hashing.finish();
        self.files.push(PackageFile { path: path.into(), sha256, size });
        Ok(())
    }
}

/// A writer that hashes and counts what passes through it.
struct Hashing<'w, W: Write> {
    inner: &'w mut W,
    hasher: Sha256,
    size: u64,
}

impl<'w, W: Write> Hashing<'w, W> {
    fn new(inner: &'w mut W) -> Self {
        Hashing { inner, hasher: Sha256::new(), size: 0 }
    }

    fn finish(self) -> (String, u64) {
        (hex(&self.hasher.finalize()), self.size)
    }
}

impl<W: Write> Write for Hashing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 and size of a file, read in blocks.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    hash_reader(&mut File::open(path)?)
}

pub(crate) fn hash_reader(reader: &mut impl Read) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        match reader.read(&mut buffer)? {
            0 => return Ok((hex(&hasher.finalize()), size)),
            n => {
                hasher.update(&buffer[..n]);
                size += n as u64;
            }
        }
    }
}
