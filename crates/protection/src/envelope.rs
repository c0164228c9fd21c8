//! Envelope encryption: data keys are stored wrapped by a master key that never enters the
//! database. The master key comes through a [`KeyProvider`]: today a local key file or an
//! environment variable ([`LocalMasterKey`]); an HSM or KMS adapter implements the same trait.

use crate::error::ProtectionError;
use crate::suite::{NONCE_LEN, Suite};
use data_encoding::HEXLOWER_PERMISSIVE;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Wraps and unwraps data keys. Implementations must authenticate `context` with the key.
pub trait KeyProvider: Send + Sync {
    /// A short public fingerprint of the master key, recorded with each wrapped key so a
    /// wrong master key is named at start-up.
    fn fingerprint(&self) -> String;
    /// Wrap a data key under the master key.
    fn wrap(&self, suite: Suite, key: &[u8], context: &[u8]) -> Vec<u8>;
    /// Unwrap a data key; an error when the master key or the context does not match.
    fn unwrap(&self, suite: Suite, wrapped: &[u8], context: &[u8]) -> Result<Vec<u8>, ProtectionError>;
}

/// A 32-byte master key held in this process, read from a file or an environment variable.
pub struct LocalMasterKey {
    key: [u8; 32],
}

impl std::fmt::Debug for LocalMasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalMasterKey({})", self.fingerprint())
    }
}

impl LocalMasterKey {
    /// From 32 raw bytes.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        LocalMasterKey { key }
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        LocalMasterKey { key: crate::random_bytes() }
    }

    /// Parse the 64 hex characters of a key file or variable (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, ProtectionError> {
        let t = text.trim();
        if t.len() != 64 {
            return Err(ProtectionError::BadMasterKey(format!("found {} characters", t.len())));
        }
        let bytes =
            HEXLOWER_PERMISSIVE.decode(t.as_bytes()).map_err(|_| ProtectionError::BadMasterKey("not hexadecimal".into()))?;
        Ok(LocalMasterKey { key: bytes.try_into().expect("64 hex characters are 32 bytes") })
    }

    /// Read a key file.
    pub fn from_file(path: &Path) -> Result<Self, ProtectionError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ProtectionError::BadMasterKey(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// Write the key as hex to a new file readable by its owner only.
    pub fn write_new_file(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path)?;
        writeln!(f, "{}", data_encoding::HEXLOWER.encode(&self.key))
    }

    /// The key wrapping data keys of `suite`: the master key itself for AES-256-GCM, its
    /// HMAC-SM3 derivation for SM4 (so a 国密 deployment uses SM algorithms throughout).
    fn wrapping_key(&self, suite: Suite) -> Vec<u8> {
        match suite {
            Suite::Aes256Gcm => self.key.to_vec(),
            Suite::Sm4Gcm => Suite::Sm4Gcm.mac(&self.key, &[b"tongdang master key wrapping"])[..16].to_vec(),
        }
    }
}

impl KeyProvider for LocalMasterKey {
    fn fingerprint(&self) -> String {
        let d = Sha256::new().chain_update(b"tongdang master key fingerprint\0").chain_update(self.key).finalize();
        data_encoding::HEXLOWER.encode(&d[..6])
    }

    fn wrap(&self, suite: Suite, key: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = crate::random_bytes();
        let mut out = nonce.to_vec();
        out.extend(suite.seal(&self.wrapping_key(suite), &nonce, context, key));
        out
    }

    fn unwrap(&self, suite: Suite, wrapped: &[u8], context: &[u8]) -> Result<Vec<u8>, ProtectionError> {
        if wrapped.len() < NONCE_LEN + crate::suite::TAG_LEN {
            return Err(ProtectionError::Malformed);
        }
        let nonce: [u8; NONCE_LEN] = wrapped[..NONCE_LEN].try_into().expect("length checked");
        suite.open(&self.wrapping_key(suite), &nonce, context, &wrapped[NONCE_LEN..]).ok_or_else(|| {
            ProtectionError::WrongMasterKey { given: self.fingerprint(), expected: "(recorded with the key)".into() }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_for_both_suites_and_refuses_the_wrong_master_or_context() {
        let m = LocalMasterKey::generate();
        for suite in [Suite::Aes256Gcm, Suite::Sm4Gcm] {
            let dk = vec![7u8; suite.key_len()];
            let w = m.wrap(suite, &dk, b"key 1");
            assert_eq!(m.unwrap(suite, &w, b"key 1").unwrap(), dk);
            assert!(m.unwrap(suite, &w, b"key 2").is_err());
            assert!(LocalMasterKey::generate().unwrap(suite, &w, b"key 1").is_err());
            assert_eq!(m.unwrap(suite, &w[..20], b"key 1"), Err(ProtectionError::Malformed));
        }
    }

    #[test]
    fn parses_key_files() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n";
        assert!(LocalMasterKey::parse(hex).is_ok());
        assert!(matches!(LocalMasterKey::parse("abcd"), Err(ProtectionError::BadMasterKey(_))));
        assert!(matches!(LocalMasterKey::parse(&"zz".repeat(32)), Err(ProtectionError::BadMasterKey(_))));
        let dir = tempfile_dir();
        let p = dir.join("master.key");
        let k = LocalMasterKey::generate();
        k.write_new_file(&p).unwrap();
        assert_eq!(LocalMasterKey::from_file(&p).unwrap().fingerprint(), k.fingerprint());
        assert!(k.write_new_file(&p).is_err(), "never overwrites a key file");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir()
            .join(format!("tongdang-envelope-{}", data_encoding::HEXLOWER.encode(&crate::random_bytes::<6>())));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
