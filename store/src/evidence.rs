//! Stored originals: evidence kept in the store (so encrypted in the data folder, server-side
//! encrypted in a bucket), under its case, addressed by its SHA-256, in parts of `PART_SIZE`
//! so neither writing nor reading ever holds a whole file in memory, and never modified: every
//! part and the manifest are written create-if-absent.
//!
//! A file stored from disk is hashed first and its parts written under its hash folder; an
//! upload's hash is known only at its end, so its parts are written as they arrive under the
//! upload's folder, named by offset, and its manifest (under the hash, as every manifest) lists
//! them. `upload` keeps resumable uploads; `reader` reads an original by ranged reads.

pub mod reader;
pub mod upload;

use std::io::{Read, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::secret::hex;
use crate::{ObjectStore, StoreError, keys};

/// Parts are this large (the last one smaller): big enough that an S3 PUT per part is cheap,
/// small enough to hold in memory.
pub const PART_SIZE: u64 = 8 * 1024 * 1024;

/// What a stored original is and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub version: u32,
    pub case: String,
    pub sha256: String,
    pub size: u64,
    /// The file name it was submitted under (no folders).
    pub original_name: String,
    pub submitted_by: String,
    pub submitted_at: DateTime<Utc>,
    /// The camera it is footage of, if known.
    pub source_id: Option<String>,
    /// The footage request it answers, if any.
    pub request: Option<String>,
    /// Version 1 layout: parts of this size (the last smaller), named by index in the hash
    /// folder.
    pub part_size: u64,
    pub parts: u64,
    /// Version 2, an upload: the upload whose folder holds the parts, named by offset ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<String>,
    /// ... and their sizes, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sizes: Vec<u64>,
}

/// Manifests of files stored from disk; uploads' manifests are `UPLOAD_MANIFEST_VERSION`.
pub const MANIFEST_VERSION: u32 = 1;
pub const UPLOAD_MANIFEST_VERSION: u32 = 2;

/// One stored part of an original: its key, and which bytes of the file it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct PartRef {
    pub key: String,
    pub offset: u64,
    pub size: u64,
}

impl Manifest {
    /// Where the original's bytes are, in order.
    pub fn part_refs(&self) -> Vec<PartRef> {
        match &self.upload {
            Some(upload) => {
                let mut offset = 0;
                self.part_sizes
                    .iter()
                    .map(|&size| {
                        let key = keys::evidence_upload_part(&self.case, upload, offset);
                        offset += size;
                        PartRef { key, offset: offset - size, size }
                    })
                    .collect()
            }
            None => (0..self.parts)
                .map(|n| {
                    let offset = n * self.part_size;
                    PartRef {
                        key: keys::evidence_part(&self.case, &self.sha256, n),
                        offset,
                        size: self.part_size.min(self.size - offset),
                    }
                })
                .collect(),
        }
    }
}

const INPUT_SCHEME: &str = "evidence://";

/// The name frames and events of a stored original carry, whoever reads it and from wherever:
/// every run of it makes the same event ids, and its events carry the case by this name.
pub fn input_name(case: &str, sha256: &str) -> String {
    format!("{INPUT_SCHEME}{case}/{sha256}")
}

/// The case and SHA-256 an input name stands for, if it names stored evidence.
pub fn parse_input_name(input: &str) -> Option<(String, String)> {
    let (case, sha256) = input.strip_prefix(INPUT_SCHEME)?.split_once('/')?;
    let hex = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && !case.is_empty() && !case.contains('/')).then(|| (case.into(), sha256.into()))
}

/// A case id that can name stored objects: no folders, nothing hidden.
pub(crate) fn check_case(case: &str) -> Result<(), EvidenceError> {
    if case.is_empty() || case.contains('/') || case.starts_with('.') {
        return Err(EvidenceError::BadCase(case.into()));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("case id '{0}' cannot name stored evidence")]
    BadCase(String),
    #[error("no stored evidence {sha256} in case {case}")]
    NotFound { case: String, sha256: String },
    #[error("stored evidence {sha256} of case {case} is not what was stored: {problem}")]
    Damaged { case: String, sha256: String, problem: String },
}

/// Who submits a file, for its manifest.
pub struct Submission<'a> {
    pub case: &'a str,
    pub submitted_by: &'a str,
    pub source_id: Option<&'a str>,
    pub request: Option<&'a str>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError::Io { path: path.display().to_string(), source }
}

/// Fills `buffer` from `reader` as far as it goes; fewer bytes only at the end of the input.
/// How files are cut into parts.
pub fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Reads `file` in parts of `PART_SIZE`, calling `each` with every part.
fn for_each_part(
    path: &Path,
    mut each: impl FnMut(u64, &[u8]) -> Result<(), EvidenceError>,
) -> Result<(), EvidenceError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut buffer = vec![0u8; PART_SIZE as usize];
    for n in 0.. {
        let filled = read_full(&mut file, &mut buffer).map_err(io(path))?;
        if filled == 0 && n > 0 {
            break;
        }
        each(n, &buffer[..filled])?;
        if filled < buffer.len() {
            break;
        }
    }
    Ok(())
}

pub struct EvidenceStore<S> {
    store: S,
}

impl<S: ObjectStore> EvidenceStore<S> {
    pub fn new(store: S) -> Self {
        EvidenceStore { store }
    }

    /// Stores the file at `path` as evidence of `submission.case`; returns its manifest and
    /// whether it was new (the same content stored again in the case changes nothing).
    pub fn put_file(
        &self,
        path: &Path,
        submission: &Submission,
        now: DateTime<Utc>,
    ) -> Result<(Manifest, bool), EvidenceError> {
        let case = submission.case;
        check_case(case)?;
        // First the address: one pass to hash, a second to store under it.
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        for_each_part(path, |_, part| {
            hasher.update(part);
            size += part.len() as u64;
            Ok(())
        })?;
        let sha256 = hex(&hasher.finalize());
        if let Some(existing) = self.manifest(case, &sha256)? {
            return Ok((existing, false));
        }
        let mut parts = 0;
        let mut check = Sha256::new();
        for_each_part(path, |n, part| {
            check.update(part);
            // A part already there is one a stopped earlier attempt wrote: same address, same bytes.
            self.store.put_new(&keys::evidence_part(case, &sha256, n), part)?;
            parts = n + 1;
            Ok(())
        })?;
        if hex(&check.finalize()) != sha256 {
            return Err(EvidenceError::Io {
                path: path.display().to_string(),
                source: std::io::Error::other("the file changed while it was stored; submit it again"),
            });
        }
        let manifest = Manifest {
            version: MANIFEST_VERSION,
            case: case.into(),
            sha256: sha256.clone(),
            size,
            original_name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            submitted_by: submission.submitted_by.into(),
            submitted_at: now,
            source_id: submission.source_id.map(String::from),
            request: submission.request.map(String::from),
            part_size: PART_SIZE,
            parts,
            upload: None,
            part_sizes: Vec::new(),
        };
        // The manifest last: evidence without one is an unfinished upload, never listed.
        let bytes = serde_json::to_vec_pretty(&manifest).expect("manifests serialise");
        if !self.store.put_new(&keys::evidence_manifest(case, &sha256), &bytes)? {
            let existing = self.manifest(case, &sha256)?.expect("a manifest was there");
            return Ok((existing, false));
        }
        Ok((manifest, true))
    }

    /// The keys of the original's parts that are not in the store (listed, not read): what a
    /// package must not go out without.
    pub fn missing_parts(&self, manifest: &Manifest) -> Result<Vec<String>, EvidenceError> {
        let refs = manifest.part_refs();
        let Some(first) = refs.first() else { return Ok(Vec::new()) };
        let folder = &first.key[..first.key.rfind('/').map_or(0, |i| i + 1)];
        let present: std::collections::HashSet<String> =
            self.store.list(folder)?.into_iter().map(|o| o.key).collect();
        Ok(refs.into_iter().map(|r| r.key).filter(|k| !present.contains(k)).collect())
    }

    /// Reads the original of `manifest` by ranged reads of its parts, never the whole file.
    pub fn open(&self, manifest: &Manifest) -> reader::EvidenceReader<S>
    where
        S: Clone,
    {
        reader::EvidenceReader::new(self.store.clone(), manifest)
    }

    /// The manifest of `sha256` in `case`, if stored.
    pub fn manifest(&self, case: &str, sha256: &str) -> Result<Option<Manifest>, EvidenceError> {
        let key = keys::evidence_manifest(case, sha256);
        match self.store.get(&key) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| EvidenceError::Damaged {
                case: case.into(),
                sha256: sha256.into(),
                problem: format!("unreadable manifest: {e}"),
            }),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every stored original of `case`, by SHA-256.
    pub fn list(&self, case: &str) -> Result<Vec<Manifest>, EvidenceError> {
        let mut manifests = Vec::new();
        for dir in self.store.list_dirs(&keys::case_evidence(case))? {
            let Some(sha256) =
                dir.trim_end_matches('/').rsplit('/').next().and_then(|d| d.strip_prefix("sha256="))
            else {
                continue;
            };
            if let Some(manifest) = self.manifest(case, sha256)? {
                manifests.push(manifest);
            }
        }
        Ok(manifests)
    }

    /// Writes the original to `out`, part by part, checking every byte against its SHA-256:
    /// a missing, cut or changed part is an error naming it, never a silently different file.
    pub fn copy_to(&self, manifest: &Manifest, out: &mut impl Write) -> Result<(), EvidenceError> {
        let damaged = |problem: String| EvidenceError::Damaged {
            case: manifest.case.clone(),
            sha256: manifest.sha256.clone(),
            problem,
        };
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        for part_ref in manifest.part_refs() {
            let part = match self.store.get(&part_ref.key) {
                Ok(part) => part,
                Err(StoreError::NotFound(_)) => {
                    return Err(damaged(format!("the part at byte {} is missing", part_ref.offset)));
                }
                Err(e) => return Err(e.into()),
            };
            if part.len() as u64 != part_ref.size {
                return Err(damaged(format!(
                    "the part at byte {} has {} bytes, {} recorded",
                    part_ref.offset,
                    part.len(),
                    part_ref.size
                )));
            }
            hasher.update(&part);
            size += part.len() as u64;
            out.write_all(&part).map_err(|e| EvidenceError::Io { path: "output".into(), source: e })?;
        }
        if size != manifest.size {
            return Err(damaged(format!("{size} bytes stored, {} recorded", manifest.size)));
        }
        let found = hex(&hasher.finalize());
        if found != manifest.sha256 {
            return Err(damaged(format!("its bytes hash to {found}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
