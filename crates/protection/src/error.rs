//! What can go wrong when protecting or checking data. Messages never carry plaintext or keys.

/// A protection failure.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtectionError {
    /// A ciphertext is shorter than its header and tag, or has an unknown format byte.
    #[error("the ciphertext is truncated or not in Tongdang's format")]
    Malformed,
    /// A ciphertext names a key this keyring does not have.
    #[error("the ciphertext names key {0}, which is not loaded")]
    UnknownKey(u32),
    /// The AEAD tag did not verify: wrong key, changed bytes, or moved to another row.
    #[error("the ciphertext does not authenticate under key {0} (changed, moved or wrong key)")]
    Authentication(u32),
    /// The master key does not unwrap the stored keys.
    #[error(
        "the master key (fingerprint {given}) does not open this database's keys, which were wrapped by master key {expected}; start with the right --master-key-file or TONGDANG_MASTER_KEY"
    )]
    WrongMasterKey {
        /// The fingerprint of the key given.
        given: String,
        /// The fingerprint recorded with the stored keys.
        expected: String,
    },
    /// A master key file or variable that is not 32 bytes of hex.
    #[error("a master key must be 64 hexadecimal characters (32 bytes): {0}")]
    BadMasterKey(String),
    /// The stored keys are incomplete (no active data key, no index key…).
    #[error("the key table is incomplete: {0}")]
    Keyring(String),
    /// A checkpoint or proof that does not verify.
    #[error("{0}")]
    Verification(String),
    /// A password outside the accepted length, or a hash that cannot be computed.
    #[error("{0}")]
    Password(String),
}
