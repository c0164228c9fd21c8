//! Protection of the data at rest and of its history, with no I/O: the two cipher suites
//! (AES-256-GCM and 国密 SM4-GCM), envelope keys wrapped by a master key, keyed blind indexes,
//! masking by field and role, the RFC 9162 Merkle ledger with its signed checkpoints, and
//! password hashing. The store calls these at its edge; nothing here knows SQL or HTTP.

pub mod checkpoint;
pub mod envelope;
pub mod error;
pub mod keyring;
pub mod ledger;
pub mod mask;
pub mod password;
pub mod suite;

pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use envelope::{KeyProvider, LocalMasterKey};
pub use error::ProtectionError;
pub use keyring::{KeyPurpose, KeyState, Keyring, StoredKey};
pub use suite::Suite;

/// Fill a buffer from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source failed");
    b
}
