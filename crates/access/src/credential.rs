//! Institution API keys: high-entropy random secrets, shown once, stored only as a SHA-256
//! hash (a slow password hash adds nothing for 256 random bits, and costs every request).

use rand::RngExt;
use sha2::{Digest, Sha256};
use tongdang_core::{Scope, Timestamp};
use tongdang_store::ApiKeyRecord;

/// The prefix every key starts with, so leaked keys are easy to recognise and scan for.
pub const KEY_PREFIX: &str = "tdk_";

/// A new random key.
pub fn generate_key() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("{KEY_PREFIX}{}", data_encoding::BASE32_NOPAD.encode(&bytes).to_ascii_lowercase())
}

/// The stored hash of a key.
pub fn hash_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// A new key for `institution`: the secret (to show once) and the record to store.
pub fn new_key(institution: &str, scopes: &[Scope]) -> (String, ApiKeyRecord) {
    let key = generate_key();
    let record = ApiKeyRecord {
        hash: hash_key(&key),
        prefix: key_prefix(&key),
        institution: institution.to_string(),
        scopes: scopes.to_vec(),
        created_at: Timestamp::now(),
        revoked_at: None,
    };
    (key, record)
}

/// The part of a key shown in listings.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX.len() + 6).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_hashed() {
        let (a, b) = (generate_key(), generate_key());
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX) && a.len() > 50);
        assert_eq!(hash_key(&a), hash_key(&a));
        assert_ne!(hash_key(&a), hash_key(&b));
    }
}
