//! The key that signs export packages: Ed25519 from a 32-byte seed kept like the audit key
//! (a file readable only by canvass, or an environment variable), never in the store. Anyone
//! holding a package checks it with the public key alone.

use std::path::Path;

use canvass_store::Secret256;
use canvass_store::secret::hex;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

#[derive(Debug, thiserror::Error)]
#[error("signing key: {0}")]
pub struct SigningKeyError(String);

pub struct SigningKey(Ed25519KeyPair);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(public {})", self.public_hex())
    }
}

impl SigningKey {
    pub fn from_seed(seed: &Secret256) -> Result<Self, SigningKeyError> {
        Ed25519KeyPair::from_seed_unchecked(seed.bytes())
            .map(SigningKey)
            .map_err(|e| SigningKeyError(e.to_string()))
    }

    /// The seed is 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, SigningKeyError> {
        Self::from_seed(&Secret256::from_hex(text).map_err(|e| SigningKeyError(e.to_string()))?)
    }

    /// The key in file `path`, made on first use (mode 0600).
    pub fn load_or_create(path: &Path) -> Result<Self, SigningKeyError> {
        let seed =
            Secret256::load_or_create(path, "signing key").map_err(|e| SigningKeyError(e.to_string()))?;
        Self::from_seed(&seed)
    }

    pub fn generate() -> Result<Self, SigningKeyError> {
        Self::from_seed(&Secret256::generate().map_err(|e| SigningKeyError(e.to_string()))?)
    }

    /// The public key, 64 hex digits: what a recipient pins (`canvass export verify --key`).
    pub fn public_hex(&self) -> String {
        hex(self.0.public_key().as_ref())
    }

    /// The Ed25519 signature of `message`, hex.
    pub fn sign(&self, message: &[u8]) -> String {
        hex(self.0.sign(message).as_ref())
    }
}

/// Whether `signature_hex` is `public_hex`'s signature of `message`.
pub fn signature_holds(public_hex: &str, message: &[u8], signature_hex: &str) -> bool {
    match (unhex(public_hex), unhex(signature_hex)) {
        (Some(public), Some(signature)) => {
            UnparsedPublicKey::new(&ED25519, public).verify(message, &signature).is_ok()
        }
        _ => false,
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_only_for_its_message_and_key() {
        let key = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap();
        let signature = key.sign(b"manifest");
        assert!(signature_holds(&key.public_hex(), b"manifest", &signature));
        assert!(!signature_holds(&key.public_hex(), b"manifest.", &signature));
        assert!(!signature_holds(&other.public_hex(), b"manifest", &signature));
        assert!(!signature_holds(&key.public_hex(), b"manifest", "zz"));
        // The same seed is the same key.
        let seed = "11".repeat(32);
        assert_eq!(
            SigningKey::from_hex(&seed).unwrap().public_hex(),
            SigningKey::from_hex(&seed).unwrap().public_hex()
        );
    }
}
