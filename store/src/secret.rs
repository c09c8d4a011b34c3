//! 256-bit keys kept in files outside the store: the data folder's encryption key and the audit
//! log's authentication key. A file holds 64 hex digits and is made on first use, mode 0600.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SecretError(pub String);

/// 32 secret bytes. `Debug` never prints them.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret256([u8; 32]);

impl std::fmt::Debug for Secret256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret256(..)")
    }
}

impl Secret256 {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Secret256(bytes)
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key from 64 hex digits (surrounding white space ignored).
    pub fn from_hex(text: &str) -> Result<Self, SecretError> {
        let text = text.trim();
        let bad = || SecretError("a key is 64 hex digits".into());
        if text.len() != 64 {
            return Err(bad());
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16).map_err(|_| bad())?;
        }
        Ok(Secret256(key))
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// A new random key from the operating system.
    pub fn generate() -> Result<Self, SecretError> {
        let mut key = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
            .map_err(|_| SecretError("the operating system gave no random bytes".into()))?;
        Ok(Secret256(key))
    }

    /// The key in file `path`; `None` if there is no such file.
    pub fn load(path: &Path, what: &str) -> Result<Option<Self>, SecretError> {
        let shown = path.display();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                Self::from_hex(&text).map(Some).map_err(|e| SecretError(format!("{what} {shown}: {e}")))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SecretError(format!("cannot read the {what} {shown}: {e}"))),
        }
    }

    /// The key in file `path`, made on first use (mode 0600, its folder 0700).
    pub fn load_or_create(path: &Path, what: &str) -> Result<Self, SecretError> {
        if let Some(key) = Self::load(path, what)? {
            return Ok(key);
        }
        let key = Self::generate()?;
        let shown = path.display();
        if let Some(folder) = path.parent() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(folder)
                .map_err(|e| SecretError(format!("cannot create {}: {e}", folder.display())))?;
        }
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| SecretError(format!("cannot create the {what} {shown}: {e}")))?;
        file.write_all(key.to_hex().as_bytes())
            .map_err(|e| SecretError(format!("cannot write the {what} {shown}: {e}")))?;
        tracing::info!(path = %shown, "made a new {what}: back it up, nothing it protects can be read without it");
        Ok(key)
    }
}

/// Lowercase hex of `bytes`: how keys, digests and ids are written.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `~/.config/canvass/<name>` (or under `$XDG_CONFIG_HOME`), where keys made on first use go.
pub fn default_key_path(name: &str) -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("canvass").join(name))
}

/// Ids of uploads, jobs and footage requests: 32 lowercase hex digits (128 bits), safe as an
/// object key and in a URL.
pub fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// A new random id (`is_id`), from the operating system.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("the operating system gives random bytes");
    hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_made_once_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/data.key");
        assert_eq!(Secret256::load(&path, "data key").unwrap(), None);
        let made = Secret256::load_or_create(&path, "data key").unwrap();
        assert_eq!(Secret256::load_or_create(&path, "data key").unwrap(), made);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::write(&path, "not hex").unwrap();
        let err = Secret256::load(&path, "data key").unwrap_err().to_string();
        assert!(err.contains("64 hex digits") && err.contains("data.key"), "{err}");
    }
}
