//! Stored ciphertexts, as a changed or truncated database could hold them. Opening must never
//! panic, and must never return anything but the sealed plaintext.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tongdang_protection::{KeyPurpose, KeyState, Keyring, LocalMasterKey, StoredKey, Suite};

fn ring() -> &'static Keyring {
    static RING: OnceLock<Keyring> = OnceLock::new();
    RING.get_or_init(|| {
        let m = LocalMasterKey::from_bytes([7; 32]);
        let mut keys = vec![
            StoredKey::generate(1, KeyPurpose::Data, Suite::Aes256Gcm, &m),
            StoredKey::generate(2, KeyPurpose::Data, Suite::Sm4Gcm, &m),
            StoredKey::generate(3, KeyPurpose::Index, Suite::Aes256Gcm, &m),
            StoredKey::generate(4, KeyPurpose::Signing, Suite::Aes256Gcm, &m),
        ];
        keys[0].state = KeyState::Active;
        Keyring::load(&keys, &m).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let r = ring();
    assert!(r.open(b"entry:1:1", data).is_err(), "random bytes never authenticate");
    let sealed = r.seal(b"entry:1:1", data);
    assert_eq!(r.open(b"entry:1:1", &sealed).unwrap(), data);
    for cut in [0, 1, 5, sealed.len() / 2, sealed.len() - 1] {
        assert!(r.open(b"entry:1:1", &sealed[..cut]).is_err());
    }
});
