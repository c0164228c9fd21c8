//! The loaded keys of one database: data keys (the active one seals, all of them open), the
//! blind-index key and the checkpoint signing keys. Keys are stored wrapped ([`StoredKey`]) and
//! unwrapped here with the master key.
//!
//! A sealed value is `[1][key id: u32 BE][nonce: 12][ciphertext + tag: 16]`. The caller's
//! context (table, row id, version) is authenticated with it, so a ciphertext copied to another
//! row does not open.

use crate::envelope::KeyProvider;
use crate::error::ProtectionError;
use crate::suite::{NONCE_LEN, SigningKey, Suite, TAG_LEN};
use std::collections::HashMap;

/// The format byte of sealed values.
const FORMAT: u8 = 1;
/// Bytes a sealed value adds to its plaintext.
pub const OVERHEAD: usize = 1 + 4 + NONCE_LEN + TAG_LEN;

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// Seals data (AEAD).
    Data,
    /// Keys the blind index (MAC); never rotated without re-indexing.
    Index,
    /// Signs ledger checkpoints.
    Signing,
}

impl KeyPurpose {
    /// The stored name.
    pub fn code(self) -> &'static str {
        match self {
            KeyPurpose::Data => "data",
            KeyPurpose::Index => "index",
            KeyPurpose::Signing => "signing",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [KeyPurpose::Data, KeyPurpose::Index, KeyPurpose::Signing].into_iter().find(|p| p.code() == s)
    }
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Introduced: every process loads it to open values, none seals with it yet (so that no
    /// value sealed with it meets a process that does not know it).
    Pending,
    /// Seals (data) or signs (signing) new values.
    Active,
    /// Only opens or verifies what it made.
    Retired,
}

impl KeyState {
    /// The stored name.
    pub fn code(self) -> &'static str {
        match self {
            KeyState::Pending => "pending",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [KeyState::Pending, KeyState::Active, KeyState::Retired].into_iter().find(|p| p.code() == s)
    }
}

/// A key as stored: wrapped by the master key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// Its id, written into every ciphertext and checkpoint it makes.
    pub id: u32,
    /// What it is for.
    pub purpose: KeyPurpose,
    /// Its algorithms.
    pub suite: Suite,
    /// The key, wrapped.
    pub wrapped: Vec<u8>,
    /// The master key's fingerprint that wrapped it.
    pub master: String,
    /// The public key, for signing keys.
    pub public: Option<Vec<u8>>,
    /// Active or retired.
    pub state: KeyState,
}

impl StoredKey {
    /// Generate and wrap a new key.
    pub fn generate(id: u32, purpose: KeyPurpose, suite: Suite, provider: &dyn KeyProvider) -> StoredKey {
        let (secret, public) = match purpose {
            KeyPurpose::Data => (crate::random_bytes::<32>()[..suite.key_len()].to_vec(), None),
            KeyPurpose::Index => (crate::random_bytes::<32>().to_vec(), None),
            KeyPurpose::Signing => {
                let s = SigningKey::generate_secret(suite);
                let p = SigningKey::from_secret(suite, &s).expect("generated secrets are valid").public_key();
                (s, Some(p))
            }
        };
        StoredKey {
            id,
            purpose,
            suite,
            wrapped: provider.wrap(suite, &secret, &wrap_context(id, purpose)),
            master: provider.fingerprint(),
            public,
            state: if purpose == KeyPurpose::Data { KeyState::Pending } else { KeyState::Active },
        }
    }

    /// The same key wrapped by another master key.
    pub fn rewrap(&self, from: &dyn KeyProvider, to: &dyn KeyProvider) -> Result<StoredKey, ProtectionError> {
        let secret = unwrap(self, from)?;
        Ok(StoredKey {
            wrapped: to.wrap(self.suite, &secret, &wrap_context(self.id, self.purpose)),
            master: to.fingerprint(),
            ..self.clone()
        })
    }
}

fn wrap_context(id: u32, purpose: KeyPurpose) -> Vec<u8> {
    format!("tongdang key {id} {}", purpose.code()).into_bytes()
}

fn unwrap(key: &StoredKey, provider: &dyn KeyProvider) -> Result<Vec<u8>, ProtectionError> {
    provider.unwrap(key.suite, &key.wrapped, &wrap_context(key.id, key.purpose)).map_err(|e| match e {
        ProtectionError::WrongMasterKey { given, .. } => ProtectionError::WrongMasterKey { given, expected: key.master.clone() },
        other => other,
    })
}

struct DataKey {
    suite: Suite,
    secret: Vec<u8>,
}

/// Keys unwrapped and ready.
pub struct Keyring {
    data: HashMap<u32, DataKey>,
    active: u32,
    index: (Suite, Vec<u8>),
    signers: HashMap<u32, (Suite, SigningKey)>,
    active_signer: u32,
    publics: HashMap<u32, (Suite, Vec<u8>)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring(active data key {}, {} data keys)", self.active, self.data.len())
    }
}

impl Keyring {
    /// Unwrap stored keys. Needs one active data key, an index key and an active signing key.
    pub fn load(keys: &[StoredKey], provider: &dyn KeyProvider) -> Result<Keyring, ProtectionError> {
        let mut data = HashMap::new();
        let mut active = None;
        let mut index = None;
        let mut signers = HashMap::new();
        let mut active_signer = None;
        let mut publics = HashMap::new();
        for k in keys {
            let secret = unwrap(k, provider)?;
            match k.purpose {
                KeyPurpose::Data => {
                    if k.state == KeyState::Active {
                        active = Some(active.map_or(k.id, |a: u32| a.max(k.id)));
                    }
                    data.insert(k.id, DataKey { suite: k.suite, secret });
                }
                KeyPurpose::Index => index = Some((k.suite, secret)),
                KeyPurpose::Signing => {
                    let s = SigningKey::from_secret(k.suite, &secret)?;
                    publics.insert(k.id, (k.suite, s.public_key()));
                    if k.state == KeyState::Active {
                        active_signer = Some(active_signer.map_or(k.id, |a: u32| a.max(k.id)));
                    }
                    signers.insert(k.id, (k.suite, s));
                }
            }
        }
        Ok(Keyring {
            data,
            active: active.ok_or_else(|| ProtectionError::Keyring("no active data key".into()))?,
            index: index.ok_or_else(|| ProtectionError::Keyring("no blind-index key".into()))?,
            signers,
            active_signer: active_signer.ok_or_else(|| ProtectionError::Keyring("no active signing key".into()))?,
            publics,
        })
    }

    /// The data key new values are sealed with.
    pub fn active_key(&self) -> u32 {
        self.active
    }

    /// The suite of the active data key.
    pub fn suite(&self) -> Suite {
        self.data[&self.active].suite
    }

    /// Seal `plaintext` with the active data key, bound to `context`.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let key = &self.data[&self.active];
        let nonce: [u8; NONCE_LEN] = crate::random_bytes();
        let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
        out.push(FORMAT);
        out.extend_from_slice(&self.active.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend(key.suite.seal(&key.secret, &nonce, context, plaintext));
        out
    }

    /// The key id a sealed value names.
    pub fn key_of(sealed: &[u8]) -> Result<u32, ProtectionError> {
        if sealed.len() < OVERHEAD || sealed[0] != FORMAT {
            return Err(ProtectionError::Malformed);
        }
        Ok(u32::from_be_bytes(sealed[1..5].try_into().expect("length checked")))
    }

    /// Open a sealed value bound to `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, ProtectionError> {
        let id = Self::key_of(sealed)?;
        let key = self.data.get(&id).ok_or(ProtectionError::UnknownKey(id))?;
        let nonce: [u8; NONCE_LEN] = sealed[5..5 + NONCE_LEN].try_into().expect("length checked");
        key.suite.open(&key.secret, &nonce, context, &sealed[5 + NONCE_LEN..]).ok_or(ProtectionError::Authentication(id))
    }

    /// The blind index of a value in a domain (e.g. `id` for identifier values): the first 16
    /// bytes of the suite's MAC under the index key, as 32 hex characters. Equal values give
    /// equal indexes; nothing about the value can be learned without the key.
    pub fn blind(&self, domain: &str, value: &str) -> String {
        let mac = self.index.0.mac(&self.index.1, &[domain.as_bytes(), b"\0", value.as_bytes()]);
        data_encoding::HEXLOWER.encode(&mac[..16])
    }

    /// A keyed form of a 64-bit blocking key, so stored blocking keys cannot be matched against
    /// hashes of guessed names and birth dates.
    pub fn blind_block_key(&self, key: i64) -> i64 {
        let mac = self.index.0.mac(&self.index.1, &[b"block\0", &key.to_be_bytes()]);
        i64::from_be_bytes(mac[..8].try_into().expect("32-byte MAC"))
    }

    /// The active signing key: its id, suite and key.
    pub fn signer(&self) -> (u32, Suite, &SigningKey) {
        let (suite, key) = &self.signers[&self.active_signer];
        (self.active_signer, *suite, key)
    }

    /// Every signing key's public part, by id.
    pub fn public_keys(&self) -> &HashMap<u32, (Suite, Vec<u8>)> {
        &self.publics
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::LocalMasterKey;

    fn ring(suite: Suite, master: &LocalMasterKey) -> (Vec<StoredKey>, Keyring) {
        let mut keys = vec![
            StoredKey::generate(1, KeyPurpose::Data, suite, master),
            StoredKey::generate(2, KeyPurpose::Index, suite, master),
            StoredKey::generate(3, KeyPurpose::Signing, suite, master),
        ];
        keys[0].state = KeyState::Active;
        let r = Keyring::load(&keys, master).unwrap();
        (keys, r)
    }

    #[test]
    fn seals_opens_and_binds_context_in_both_suites() {
        let m = LocalMasterKey::generate();
        for suite in [Suite::Aes256Gcm, Suite::Sm4Gcm] {
            let (_, r) = ring(suite, &m);
            let s = r.seal(b"entry:1:1", "王小明".as_bytes());
            assert_eq!(Keyring::key_of(&s).unwrap(), 1);
            assert_eq!(r.open(b"entry:1:1", &s).unwrap(), "王小明".as_bytes());
            assert_eq!(r.open(b"entry:2:1", &s), Err(ProtectionError::Authentication(1)));
            assert_eq!(r.open(b"entry:1:1", &s[..s.len() - 3]), Err(ProtectionError::Authentication(1)));
            assert_eq!(r.open(b"entry:1:1", &s[..10]), Err(ProtectionError::Malformed));
            let mut other_key = s.clone();
            other_key[4] = 9;
            assert_eq!(r.open(b"entry:1:1", &other_key), Err(ProtectionError::UnknownKey(9)));
            let mut flipped = s.clone();
            flipped[20] ^= 0x40;
            assert!(r.open(b"entry:1:1", &flipped).is_err());
            assert!(!String::from_utf8_lossy(&s).contains("王小明"));
        }
    }

    #[test]
    fn blind_indexes_are_keyed_and_stable() {
        let m = LocalMasterKey::generate();
        let (keys, a) = ring(Suite::Aes256Gcm, &m);
        let again = Keyring::load(&keys, &m).unwrap();
        assert_eq!(a.blind("id", "440104199003071234"), again.blind("id", "440104199003071234"));
        assert_ne!(a.blind("id", "440104199003071234"), a.blind("id", "440104199003071235"));
        assert_ne!(a.blind("id", "x"), a.blind("login", "x"));
        let (_, b) = ring(Suite::Aes256Gcm, &m);
        assert_ne!(a.blind("id", "x"), b.blind("id", "x"), "another index key gives other indexes");
        assert_ne!(a.blind_block_key(42), b.blind_block_key(42));
        let (_, g) = ring(Suite::Sm4Gcm, &m);
        assert_eq!(g.blind("id", "x").len(), 32);
    }

    #[test]
    fn a_wrong_master_key_is_named() {
        let m = LocalMasterKey::generate();
        let (keys, _) = ring(Suite::Aes256Gcm, &m);
        let wrong = LocalMasterKey::generate();
        match Keyring::load(&keys, &wrong) {
            Err(ProtectionError::WrongMasterKey { given, expected }) => {
                assert_eq!(given, wrong.fingerprint());
                assert_eq!(expected, m.fingerprint());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let m = LocalMasterKey::generate();
        let (mut keys, r1) = ring(Suite::Aes256Gcm, &m);
        let old = r1.seal(b"c", b"v");
        keys.push(StoredKey::generate(4, KeyPurpose::Data, Suite::Sm4Gcm, &m));
        let pending = Keyring::load(&keys, &m).unwrap();
        assert_eq!(pending.active_key(), 1, "a pending key opens but does not seal");
        keys[0].state = KeyState::Retired;
        keys[3].state = KeyState::Active;
        let r2 = Keyring::load(&keys, &m).unwrap();
        assert_eq!(r2.active_key(), 4);
        assert_eq!(r2.open(b"c", &old).unwrap(), b"v");
        assert_eq!(Keyring::key_of(&r2.seal(b"c", b"v")).unwrap(), 4);
        let m2 = LocalMasterKey::generate();
        let rewrapped: Vec<_> = keys.iter().map(|k| k.rewrap(&m, &m2).unwrap()).collect();
        assert_eq!(Keyring::load(&rewrapped, &m2).unwrap().open(b"c", &old).unwrap(), b"v");
    }
}
