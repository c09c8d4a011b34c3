//! Encryption at rest for any backend (the data folder uses it by default): each object is
//! sealed with AES-256-GCM under its own key, derived from the store's key and a random salt
//! kept in the object's header, in 64 KiB chunks so a ranged read (a Parquet footer, some
//! column chunks) decrypts only the chunks it touches.
//!
//! ```text
//! object  = "CVE1" | salt (32 bytes) | plaintext length (u64 LE) | chunk 0 | chunk 1 | ...
//! chunk i = AES-256-GCM(key = HMAC-SHA256(store key, "canvass object key v1" | salt),
//!                       nonce = 0u32 | i as u64 BE, aad = header | object key)
//! ```
//!
//! The header is authenticated with every chunk, so a changed length, a dropped or reordered
//! chunk, a flipped bit, or an object copied under another key fails to decrypt. A random
//! 256-bit salt per object means no two objects share a key, so chunk counters never repeat a
//! nonce under one key.
//!
//! The store is marked with the key's id (`encryption/v1/key.json`, not secret): opening it
//! with another key, or opening a folder that holds unencrypted objects, is refused.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};

use super::{ObjectMeta, ObjectStore};
use crate::secret::Secret256;
use crate::{StoreError, keys};

const MAGIC: &[u8; 4] = b"CVE1";
const SALT: usize = 32;
const HEADER: u64 = 4 + SALT as u64 + 8;
const CHUNK: u64 = 64 * 1024;
const TAG: u64 = 16;

/// What the marker says: which key encrypts the store, and how.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    format: String,
    key_id: String,
}

const FORMAT: &str = "CVE1: AES-256-GCM, 64 KiB chunks, HMAC-SHA256 per-object keys";

/// A store whose objects are encrypted under one key before they reach `inner`.
pub struct EncryptedStore<S> {
    inner: S,
    key: hmac::Key,
    random: ring::rand::SystemRandom,
}

/// The id of `key` as the store's marker records it: not secret, says which key is needed.
pub fn key_id(key: &Secret256) -> String {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key.bytes()), b"canvass data key id v1");
    crate::secret::hex(&tag.as_ref()[..8])
}

/// The id of the key `inner` is encrypted with, if it is marked as encrypted.
pub fn marked_key_id<S: ObjectStore + ?Sized>(inner: &S) -> Result<Option<String>, StoreError> {
    match inner.get(keys::ENCRYPTION_MARKER) {
        Ok(bytes) => {
            let marker: Marker = serde_json::from_slice(&bytes).map_err(|e| StoreError::Permanent {
                key: keys::ENCRYPTION_MARKER.into(),
                reason: format!("unreadable encryption marker: {e}"),
            })?;
            Ok(Some(marker.key_id))
        }
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The size of the plaintext of a `stored`-byte object.
fn plaintext_len(stored: u64) -> u64 {
    let body = stored.saturating_sub(HEADER);
    let chunks = body.div_ceil(CHUNK + TAG).max(1);
    body.saturating_sub(chunks * TAG)
}

fn stored_len(plaintext: u64) -> u64 {
    HEADER + plaintext + plaintext.div_ceil(CHUNK).max(1) * TAG
}

fn unreadable(key: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Permanent { key: key.to_string(), reason: reason.into() }
}

fn nonce(chunk: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&chunk.to_be_bytes());
    Nonce::assume_unique_for_key(bytes)
}

impl<S: ObjectStore> EncryptedStore<S> {
    /// `inner` encrypted under `key`. A store not yet marked is marked with the key's id, if it
    /// holds no objects; a marked one must carry this key's id.
    pub fn open(inner: S, key: &Secret256) -> Result<Self, StoreError> {
        let id = key_id(key);
        match marked_key_id(&inner)? {
            Some(marked) if marked == id => {}
            Some(marked) => {
                return Err(StoreError::Key(format!(
                    "it is encrypted with key {marked}, and the key given is {id}"
                )));
            }
            None => {
                if let Some(object) = inner.list("")?.first() {
                    return Err(StoreError::Key(format!(
                        "it holds objects written without encryption (such as {}); an older canvass \
                         wrote them: run it again into a new data folder",
                        object.key
                    )));
                }
                let marker = Marker { format: FORMAT.into(), key_id: id };
                let bytes = serde_json::to_vec_pretty(&marker).expect("a marker serialises");
                inner.put_new(keys::ENCRYPTION_MARKER, &bytes)?;
                // Two processes marking a new folder at once: whichever won must be this key.
                if marked_key_id(&inner)?.as_deref() != Some(marker.key_id.as_str()) {
                    return Err(StoreError::Key("another key marked it at the same moment".into()));
                }
            }
        }
        Ok(EncryptedStore {
            inner,
            key: hmac::Key::new(hmac::HMAC_SHA256, key.bytes()),
            random: ring::rand::SystemRandom::new(),
        })
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn object_key(&self, salt: &[u8]) -> LessSafeKey {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(b"canvass object key v1");
        context.update(salt);
        let derived = context.sign();
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, derived.as_ref()).expect("32 bytes make a key"))
    }

    fn seal(&self, key: &str, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut salt = [0u8; SALT];
        self.random.fill(&mut salt).map_err(|_| unreadable(key, "no random bytes for a salt"))?;
        let mut out = Vec::with_capacity(stored_len(plaintext.len() as u64) as usize);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&salt);
        out.extend_from_slice(&(plaintext.len() as u64).to_le_bytes());
        let aad = [&out[..], key.as_bytes()].concat();
        let sealing = self.object_key(&salt);
        let chunks: Vec<&[u8]> =
            if plaintext.is_empty() { vec![&[]] } else { plaintext.chunks(CHUNK as usize).collect() };
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut sealed = chunk.to_vec();
            sealing
                .seal_in_place_append_tag(nonce(i as u64), Aad::from(&aad), &mut sealed)
                .map_err(|_| unreadable(key, "encryption failed"))?;
            out.extend_from_slice(&sealed);
        }
        Ok(out)
    }

    /// The header's salt and plaintext length.
    fn header(key: &str, header: &[u8]) -> Result<([u8; SALT], u64), StoreError> {
        if header.len() < HEADER as usize || &header[..4] != MAGIC {
            return Err(unreadable(key, "not an encrypted canvass object (no CVE1 header)"));
        }
        let salt = header[4..4 + SALT].try_into().expect("salt bytes");
        let len = u64::from_le_bytes(header[4 + SALT..HEADER as usize].try_into().expect("8 bytes"));
        Ok((salt, len))
    }

    /// Decrypts `sealed`, the stored bytes of chunks `first..` of the object `key` with
    /// header `header`.
    fn open_chunks(
        &self,
        key: &str,
        header: &[u8],
        first: u64,
        sealed: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let (salt, _) = Self::header(key, header)?;
        let aad = [&header[..HEADER as usize], key.as_bytes()].concat();
        let opening = self.object_key(&salt);
        let mut plaintext = Vec::with_capacity(sealed.len());
        for (i, chunk) in sealed.chunks((CHUNK + TAG) as usize).enumerate() {
            let mut buffer = chunk.to_vec();
            let opened = opening
                .open_in_place(nonce(first + i as u64), Aad::from(&aad), &mut buffer)
                .map_err(|_| {
                    unreadable(
                        key,
                        "cannot decrypt: the object was altered, cut short, or moved from another key",
                    )
                })?;
            plaintext.extend_from_slice(opened);
        }
        Ok(plaintext)
    }
}

impl<S: ObjectStore> ObjectStore for EncryptedStore<S> {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.put(key, &self.seal(key, bytes)?)
    }

    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        self.inner.put_new(key, &self.seal(key, bytes)?)
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let stored = self.inner.get(key)?;
        let (_, len) = Self::header(key, &stored)?;
        if stored.len() as u64 != stored_len(len) {
            return Err(unreadable(
                key,
                format!("{} bytes stored, {} expected: cut short or padded", stored.len(), stored_len(len)),
            ));
        }
        self.open_chunks(key, &stored[..HEADER as usize], 0, &stored[HEADER as usize..])
    }

    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>, StoreError> {
        let header = self.inner.get_range(key, 0..HEADER)?;
        let (_, len) = Self::header(key, &header)?;
        if range.start > range.end || range.end > len {
            return Err(unreadable(
                key,
                format!("bytes {}..{} asked of a {len}-byte object", range.start, range.end),
            ));
        }
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let (first, last) = (range.start / CHUNK, (range.end - 1) / CHUNK);
        let start = HEADER + first * (CHUNK + TAG);
        let end = HEADER + last * (CHUNK + TAG) + (len - last * CHUNK).min(CHUNK) + TAG;
        let plaintext = self.open_chunks(key, &header, first, &self.inner.get_range(key, start..end)?)?;
        let offset = first * CHUNK;
        Ok(plaintext[(range.start - offset) as usize..(range.end - offset) as usize].to_vec())
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let mut objects = self.inner.list(prefix)?;
        objects.retain(|o| o.key != keys::ENCRYPTION_MARKER);
        for object in &mut objects {
            object.size = plaintext_len(object.size);
        }
        Ok(objects)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }

    fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list_dirs(prefix)
    }
}

#[cfg(test)]
mod tests;
