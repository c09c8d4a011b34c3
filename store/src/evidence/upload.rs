//! Resumable uploads of originals: the store side of the tus protocol that `serve` speaks.
//!
//! An upload is a state object (`uploads/v1/<id>.json`: case, length, who, until when) and the
//! parts received so far, each written create-if-absent under the upload's evidence folder and
//! named by the offset of its first byte. The offset to resume at is where the contiguous run
//! of parts from 0 ends, so it survives a restart of the server and is shared by its replicas;
//! a part is never rewritten. The last byte in, the manifest goes under the file's SHA-256 and
//! lists the parts: the upload is evidence.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{EvidenceError, Manifest, PartRef, UPLOAD_MANIFEST_VERSION, check_case};
use crate::secret::{hex, is_id};
use crate::{ObjectStore, StoreError, keys};

pub const UPLOAD_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    pub version: u32,
    /// `secret::new_id`, random: knowing one upload's id tells nothing of another's.
    pub id: String,
    pub case: String,
    /// The whole file's size, declared when the upload was created.
    pub length: u64,
    /// The file name it is submitted under (no folders).
    pub filename: String,
    pub source_id: Option<String>,
    /// The footage request it answers.
    pub request: Option<String>,
    pub submitted_by: String,
    pub created_at: DateTime<Utc>,
    /// An unfinished upload is removed after this.
    pub expires_at: DateTime<Utc>,
    /// Set once the last byte is in: the stored original ...
    pub sha256: Option<String>,
    /// ... and the ingest job made of it.
    pub job: Option<String>,
}

pub struct Uploads<S> {
    store: S,
}

impl<S: ObjectStore + Clone> Uploads<S> {
    pub fn new(store: S) -> Self {
        Uploads { store }
    }

    /// Records a new upload (its id must be new).
    pub fn create(&self, upload: &Upload) -> Result<(), EvidenceError> {
        check_case(&upload.case)?;
        let bytes = serde_json::to_vec_pretty(upload).expect("uploads serialise");
        if !self.store.put_new(&keys::upload(&upload.id), &bytes)? {
            return Err(StoreError::PreconditionFailed(keys::upload(&upload.id)).into());
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Result<Option<Upload>, EvidenceError> {
        if !is_id(id) {
            return Ok(None);
        }
        match self.store.get(&keys::upload(id)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| EvidenceError::Io {
                path: keys::upload(id),
                source: std::io::Error::other(format!("not an upload: {e}")),
            }),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every upload on record (finished ones included), for the janitor.
    pub fn all(&self) -> Result<Vec<Upload>, EvidenceError> {
        let mut uploads = Vec::new();
        for object in self.store.list(keys::UPLOADS)? {
            let id = object.key.trim_start_matches(keys::UPLOADS).trim_end_matches(".json");
            if let Some(upload) = self.get(id)? {
                uploads.push(upload);
            }
        }
        Ok(uploads)
    }

    fn save(&self, upload: &Upload) -> Result<(), EvidenceError> {
        self.store
            .put(&keys::upload(&upload.id), &serde_json::to_vec_pretty(upload).expect("uploads serialise"))?;
        Ok(())
    }

    /// Every part object of the upload, with the offset its name gives.
    fn part_objects(&self, upload: &Upload) -> Result<Vec<(u64, crate::ObjectMeta)>, EvidenceError> {
        let prefix = keys::evidence_upload(&upload.case, &upload.id);
        Ok(self
            .store
            .list(&prefix)?
            .into_iter()
            .filter_map(|o| {
                let offset = o.key.strip_prefix(&prefix)?.strip_prefix("part-")?.parse().ok()?;
                Some((offset, o))
            })
            .collect())
    }

    /// The parts received, in order and contiguous from byte 0. A part that does not follow on
    /// (left by a write that lost a race or failed half-way) is not counted.
    pub fn parts(&self, upload: &Upload) -> Result<Vec<PartRef>, EvidenceError> {
        let mut parts = Vec::new();
        let mut next = 0u64;
        for (offset, object) in self.part_objects(upload)? {
            if offset > next {
                break;
            }
            if offset == next {
                parts.push(PartRef { key: object.key, offset, size: object.size });
                next += object.size;
            }
        }
        Ok(parts)
    }

    /// How many bytes are in: where the client resumes.
    pub fn offset(&self, upload: &Upload) -> Result<u64, EvidenceError> {
        Ok(self.parts(upload)?.last().map_or(0, |p| p.offset + p.size))
    }

    /// Stores `bytes` as the part at `offset`; false if a part is there already (another
    /// request wrote it first).
    pub fn write_part(&self, upload: &Upload, offset: u64, bytes: &[u8]) -> Result<bool, EvidenceError> {
        if bytes.is_empty() {
            return Ok(true);
        }
        Ok(self.store.put_new(&keys::evidence_upload_part(&upload.case, &upload.id, offset), bytes)?)
    }

    /// Removes the parts at or after `offset`: a chunk whose checksum did not match is not
    /// kept, nor is anything left beyond it.
    pub fn discard_from(&self, upload: &Upload, offset: u64) -> Result<(), EvidenceError> {
        for (_, object) in self.part_objects(upload)?.into_iter().filter(|(at, _)| *at >= offset) {
            self.store.delete(&object.key)?;
        }
        Ok(())
    }

    /// The SHA-256 of the bytes received, read back from the store: for a server that did not
    /// see the whole upload itself (it restarted, or another replica took some of it).
    pub fn hash(&self, upload: &Upload) -> Result<String, EvidenceError> {
        let mut hasher = Sha256::new();
        for part in self.parts(upload)? {
            hasher.update(self.store.get(&part.key)?);
        }
        Ok(hex(&hasher.finalize()))
    }

    /// The last byte is in: writes the manifest under the file's `sha256` and closes the
    /// upload. Returns the manifest and whether the content was new to the case (if not, the
    /// parts just received are removed and the stored original stands).
    pub fn finish(
        &self,
        upload: &mut Upload,
        sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<(Manifest, bool), EvidenceError> {
        let parts = self.parts(upload)?;
        let size = parts.last().map_or(0, |p| p.offset + p.size);
        if size != upload.length {
            return Err(EvidenceError::Damaged {
                case: upload.case.clone(),
                sha256: sha256.into(),
                problem: format!("{size} of {} bytes received", upload.length),
            });
        }
        let evidence = super::EvidenceStore::new(self.store.clone());
        let existing = evidence.manifest(&upload.case, sha256)?;
        let (manifest, new) = match existing {
            Some(existing) => (existing, false),
            None => {
                let manifest = Manifest {
                    version: UPLOAD_MANIFEST_VERSION,
                    case: upload.case.clone(),
                    sha256: sha256.into(),
                    size,
                    original_name: upload.filename.clone(),
                    submitted_by: upload.submitted_by.clone(),
                    submitted_at: now,
                    source_id: upload.source_id.clone(),
                    request: upload.request.clone(),
                    part_size: parts.iter().map(|p| p.size).max().unwrap_or(0),
                    parts: parts.len() as u64,
                    upload: Some(upload.id.clone()),
                    part_sizes: parts.iter().map(|p| p.size).collect(),
                };
                let bytes = serde_json::to_vec_pretty(&manifest).expect("manifests serialise");
                if self.store.put_new(&keys::evidence_manifest(&upload.case, sha256), &bytes)? {
                    (manifest, true)
                } else {
                    let raced = evidence.manifest(&upload.case, sha256)?.ok_or_else(|| {
                        EvidenceError::NotFound { case: upload.case.clone(), sha256: sha256.into() }
                    })?;
                    (raced, false)
                }
            }
        };
        if manifest.upload.as_deref() != Some(upload.id.as_str()) {
            self.discard_from(upload, 0)?;
        }
        upload.sha256 = Some(sha256.into());
        self.save(upload)?;
        Ok((manifest, new))
    }

    /// Records the job made of a finished upload.
    pub fn set_job(&self, upload: &mut Upload, job: &str) -> Result<(), EvidenceError> {
        upload.job = Some(job.into());
        self.save(upload)
    }

    /// Removes an unfinished upload: its parts, then its state. A finished one is evidence,
    /// which is never removed this way; only its state goes.
    pub fn terminate(&self, upload: &Upload) -> Result<(), EvidenceError> {
        if upload.sha256.is_none() {
            self.discard_from(upload, 0)?;
        }
        self.store.delete(&keys::upload(&upload.id))?;
        Ok(())
    }
}
