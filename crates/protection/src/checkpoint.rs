//! Signed checkpoints of the ledger, in the text form of C2SP `tlog-checkpoint` with a
//! `signed-note` signature line:
//!
//! ```text
//! tongdang.gd/ledger
//! 1234567
//! <base64 root hash>
//! time 1732600000000000
//!
//! — tongdang.gd/ledger <base64(key id: u32 BE || signature)>
//! ```
//!
//! The signed body is everything before the blank line, with its final newline. Tongdang
//! names its key by id instead of signed-note's key hash, because checkpoints are checked
//! against the platform's published key list (`/api/v1/ledger/keys`).

use crate::error::ProtectionError;
use crate::ledger::Hash;
use crate::suite::{Suite, verify_signature};
use data_encoding::BASE64;
use std::collections::HashMap;

/// The longest checkpoint text accepted.
pub const MAX_LEN: usize = 4096;

/// What a checkpoint commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name.
    pub origin: String,
    /// Leaves in the tree.
    pub size: u64,
    /// The RFC 9162 root.
    pub root: Hash,
    /// When it was signed (µs since the epoch).
    pub time: i64,
}

/// A checkpoint with its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// What is signed.
    pub checkpoint: Checkpoint,
    /// The signing key's id.
    pub key_id: u32,
    /// The signature over [`Checkpoint::body`].
    pub signature: Vec<u8>,
}

impl Checkpoint {
    /// The signed body.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\ntime {}\n", self.origin, self.size, BASE64.encode(&self.root), self.time)
    }
}

impl SignedCheckpoint {
    /// Sign a checkpoint.
    pub fn sign(checkpoint: Checkpoint, key_id: u32, key: &crate::suite::SigningKey) -> SignedCheckpoint {
        let signature = key.sign(checkpoint.body().as_bytes());
        SignedCheckpoint { checkpoint, key_id, signature }
    }

    /// The note's text.
    pub fn to_note(&self) -> String {
        let mut sig = self.key_id.to_be_bytes().to_vec();
        sig.extend_from_slice(&self.signature);
        format!("{}\n\u{2014} {} {}\n", self.checkpoint.body(), self.checkpoint.origin, BASE64.encode(&sig))
    }

    /// Parse a note. Checks its shape only; see [`SignedCheckpoint::verify`].
    pub fn parse(text: &str) -> Result<SignedCheckpoint, ProtectionError> {
        let bad = |why: &str| ProtectionError::Verification(format!("not a Tongdang checkpoint: {why}"));
        if text.len() > MAX_LEN {
            return Err(bad("too long"));
        }
        let (body, sigs) = text.split_once("\n\n").ok_or_else(|| bad("no blank line before the signature"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root, time] = lines[..] else { return Err(bad("the body must have four lines")) };
        if origin.is_empty() || origin.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad("bad origin line"));
        }
        let size: u64 = size.parse().map_err(|_| bad("bad tree size"))?;
        let root: Hash =
            BASE64.decode(root.as_bytes()).ok().and_then(|r| r.try_into().ok()).ok_or_else(|| bad("bad root hash"))?;
        let time: i64 = time.strip_prefix("time ").and_then(|t| t.parse().ok()).ok_or_else(|| bad("bad time line"))?;
        let sig_line = sigs.strip_suffix('\n').unwrap_or(sigs);
        if sig_line.contains('\n') {
            return Err(bad("exactly one signature line is expected"));
        }
        let rest = sig_line.strip_prefix("\u{2014} ").ok_or_else(|| bad("the signature line starts with an em dash"))?;
        let (name, sig) = rest.split_once(' ').ok_or_else(|| bad("bad signature line"))?;
        if name != origin {
            return Err(bad("the signature names another log"));
        }
        let sig = BASE64.decode(sig.as_bytes()).map_err(|_| bad("the signature is not base64"))?;
        if sig.len() < 5 {
            return Err(bad("the signature is too short"));
        }
        let key_id = u32::from_be_bytes(sig[..4].try_into().expect("length checked"));
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint { origin: origin.to_string(), size, root, time },
            key_id,
            signature: sig[4..].to_vec(),
        })
    }

    /// Check the signature against the platform's public keys and the expected origin.
    pub fn verify(&self, origin: &str, keys: &HashMap<u32, (Suite, Vec<u8>)>) -> Result<(), ProtectionError> {
        if self.checkpoint.origin != origin {
            return Err(ProtectionError::Verification(format!(
                "the checkpoint is for log {:?}, not {origin:?}",
                self.checkpoint.origin
            )));
        }
        let (suite, public) = keys.get(&self.key_id).ok_or_else(|| {
            ProtectionError::Verification(format!("the checkpoint is signed by key {}, which this log never had", self.key_id))
        })?;
        if verify_signature(*suite, public, self.checkpoint.body().as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(ProtectionError::Verification("the checkpoint's signature does not verify (forged or altered)".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::SigningKey;

    fn keys(suite: Suite) -> (SigningKey, HashMap<u32, (Suite, Vec<u8>)>) {
        let k = SigningKey::from_secret(suite, &SigningKey::generate_secret(suite)).unwrap();
        let map = HashMap::from([(7, (suite, k.public_key()))]);
        (k, map)
    }

    #[test]
    fn round_trips_and_verifies_in_both_suites() {
        for suite in [Suite::Aes256Gcm, Suite::Sm4Gcm] {
            let (k, map) = keys(suite);
            let cp = Checkpoint { origin: "tongdang.test/ledger".into(), size: 42, root: [9; 32], time: 1_700_000_000_000_000 };
            let s = SignedCheckpoint::sign(cp, 7, &k);
            let note = s.to_note();
            let back = SignedCheckpoint::parse(&note).unwrap();
            assert_eq!(back, s);
            back.verify("tongdang.test/ledger", &map).unwrap();
            assert!(back.verify("other/ledger", &map).is_err());
            let forged = note.replace("\n42\n", "\n43\n");
            assert!(SignedCheckpoint::parse(&forged).unwrap().verify("tongdang.test/ledger", &map).is_err());
            let (_, other) = keys(suite);
            assert!(back.verify("tongdang.test/ledger", &other).is_err());
        }
    }

    #[test]
    fn refuses_malformed_notes() {
        for bad in ["", "a\n1\nAAAA\ntime 1\n", "a\nx\nAAAA\ntime 1\n\n— a AAAAAAA=\n", &"x".repeat(MAX_LEN + 1)] {
            assert!(SignedCheckpoint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
