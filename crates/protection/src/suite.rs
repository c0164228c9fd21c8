//! The two cipher suites. Each fixes the AEAD for data, the MAC for blind indexes and the
//! signature for ledger checkpoints: AES-256-GCM, HMAC-SHA256 and Ed25519 by default;
//! SM4-GCM, HMAC-SM3 and SM2 (GB/T 32907, 32905, 32918) for deployments that must pass 密评.

use crate::error::ProtectionError;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, AesGcm};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sm3::Sm3;

type Sm4Gcm = AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;

/// A cipher suite, chosen by configuration (`--cipher-suite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Suite {
    /// AES-256-GCM, HMAC-SHA256, Ed25519.
    #[default]
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
    /// 国密: SM4-GCM, HMAC-SM3, SM2.
    #[serde(rename = "sm4-gcm")]
    Sm4Gcm,
}

/// The AEAD nonce length of both suites.
pub const NONCE_LEN: usize = 12;
/// The AEAD tag length of both suites.
pub const TAG_LEN: usize = 16;

impl Suite {
    /// The configuration name.
    pub fn code(self) -> &'static str {
        match self {
            Suite::Aes256Gcm => "aes-256-gcm",
            Suite::Sm4Gcm => "sm4-gcm",
        }
    }

    /// Parse a configuration name (`aes-256-gcm`, `sm4-gcm`; `aes` and `sm4`/`guomi` also work).
    pub fn parse(s: &str) -> Option<Suite> {
        match s.to_ascii_lowercase().as_str() {
            "aes-256-gcm" | "aes" | "aes256gcm" => Some(Suite::Aes256Gcm),
            "sm4-gcm" | "sm4" | "guomi" | "sm" => Some(Suite::Sm4Gcm),
            _ => None,
        }
    }

    /// The data key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Suite::Aes256Gcm => 32,
            Suite::Sm4Gcm => 16,
        }
    }

    /// Encrypt and authenticate; the result is the ciphertext followed by the tag.
    pub fn seal(self, key: &[u8], nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let payload = Payload { msg: plaintext, aad };
        let out = match self {
            Suite::Aes256Gcm => Aes256Gcm::new_from_slice(key).expect("key length").encrypt(nonce.into(), payload),
            Suite::Sm4Gcm => Sm4Gcm::new_from_slice(key).expect("key length").encrypt(nonce.into(), payload),
        };
        out.expect("AEAD encryption of an in-memory buffer cannot fail")
    }

    /// Check the tag and decrypt; `None` when it does not authenticate.
    pub fn open(self, key: &[u8], nonce: &[u8; NONCE_LEN], aad: &[u8], ciphertext: &[u8]) -> Option<Vec<u8>> {
        let payload = Payload { msg: ciphertext, aad };
        match self {
            Suite::Aes256Gcm => Aes256Gcm::new_from_slice(key).ok()?.decrypt(nonce.into(), payload).ok(),
            Suite::Sm4Gcm => Sm4Gcm::new_from_slice(key).ok()?.decrypt(nonce.into(), payload).ok(),
        }
    }

    /// The keyed MAC of the suite (HMAC-SHA256 or HMAC-SM3), 32 bytes.
    pub fn mac(self, key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        fn run<M: Mac>(mut m: M, parts: &[&[u8]]) -> [u8; 32] {
            for p in parts {
                m.update(p);
            }
            let out = m.finalize().into_bytes();
            let mut b = [0u8; 32];
            b.copy_from_slice(&out[..32]);
            b
        }
        match self {
            Suite::Aes256Gcm => run(<Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).expect("any key length"), parts),
            Suite::Sm4Gcm => run(<Hmac<Sm3> as hmac::KeyInit>::new_from_slice(key).expect("any key length"), parts),
        }
    }

    /// The signature algorithm's name in checkpoints.
    pub fn signature_name(self) -> &'static str {
        match self {
            Suite::Aes256Gcm => "ed25519",
            Suite::Sm4Gcm => "sm2",
        }
    }
}

/// A signing key of the suite's algorithm.
pub enum SigningKey {
    /// Ed25519 (RFC 8032).
    Ed25519(Box<ed25519_dalek::SigningKey>),
    /// SM2 with the default distinguishing id (GB/T 32918.2).
    Sm2(Box<sm2::dsa::SigningKey>),
}

/// The SM2 distinguishing identifier (the standard's default).
const SM2_DIST_ID: &str = "1234567812345678";

impl SigningKey {
    /// A key from its 32 secret bytes.
    pub fn from_secret(suite: Suite, secret: &[u8]) -> Result<SigningKey, ProtectionError> {
        let bad = || ProtectionError::Keyring("a signing key's secret is not 32 bytes of a valid key".into());
        match suite {
            Suite::Aes256Gcm => {
                let b: [u8; 32] = secret.try_into().map_err(|_| bad())?;
                Ok(SigningKey::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(&b))))
            }
            Suite::Sm4Gcm => {
                Ok(SigningKey::Sm2(Box::new(sm2::dsa::SigningKey::from_slice(SM2_DIST_ID, secret).map_err(|_| bad())?)))
            }
        }
    }

    /// Fresh secret bytes valid for the suite's algorithm.
    pub fn generate_secret(suite: Suite) -> Vec<u8> {
        loop {
            let b: [u8; 32] = crate::random_bytes();
            if SigningKey::from_secret(suite, &b).is_ok() {
                return b.to_vec();
            }
        }
    }

    /// The public key bytes (Ed25519: 32 bytes; SM2: uncompressed SEC1 point).
    pub fn public_key(&self) -> Vec<u8> {
        match self {
            SigningKey::Ed25519(k) => k.verifying_key().to_bytes().to_vec(),
            SigningKey::Sm2(k) => k.verifying_key().to_sec1_bytes().to_vec(),
        }
    }

    /// Sign a message.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        use ed25519_dalek::Signer as _;
        match self {
            SigningKey::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
            SigningKey::Sm2(k) => {
                let sig: sm2::dsa::Signature = sm2::dsa::signature::Signer::sign(k.as_ref(), msg);
                sig.to_bytes().to_vec()
            }
        }
    }
}

/// Check a signature made by [`SigningKey::sign`].
pub fn verify_signature(suite: Suite, public: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    match suite {
        Suite::Aes256Gcm => {
            let Ok(pk) = <[u8; 32]>::try_from(public) else { return false };
            let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(&pk) else { return false };
            let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else { return false };
            vk.verify_strict(msg, &sig).is_ok()
        }
        Suite::Sm4Gcm => {
            let Ok(vk) = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DIST_ID, public) else { return false };
            let Ok(sig) = sm2::dsa::Signature::try_from(sig) else { return false };
            sm2::dsa::signature::Verifier::verify(&vk, msg, &sig).is_ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use data_encoding::HEXLOWER_PERMISSIVE as HEX;

    fn h(s: &str) -> Vec<u8> {
        HEX.decode(s.as_bytes()).unwrap()
    }

    /// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 60-byte
    /// plaintext, 20-byte AAD), as used in NIST's GCM validation.
    #[test]
    fn aes_256_gcm_published_vector() {
        let key = h("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
        let nonce: [u8; 12] = h("cafebabefacedbaddecaf888").try_into().unwrap();
        let pt = h(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let aad = h("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let expected = h(concat!(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b"
        ));
        assert_eq!(Suite::Aes256Gcm.seal(&key, &nonce, &aad, &pt), expected);
        assert_eq!(Suite::Aes256Gcm.open(&key, &nonce, &aad, &expected).unwrap(), pt);
        let mut bad = expected.clone();
        bad[3] ^= 1;
        assert!(Suite::Aes256Gcm.open(&key, &nonce, &aad, &bad).is_none());
        assert!(Suite::Aes256Gcm.open(&key, &nonce, b"other row", &expected).is_none());
    }

    /// RFC 8998 appendix A.1: SM4-GCM.
    #[test]
    fn sm4_gcm_published_vector() {
        let key = h("0123456789ABCDEFFEDCBA9876543210");
        let nonce: [u8; 12] = h("00001234567800000000ABCD").try_into().unwrap();
        let aad = h("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
        let pt = h(concat!(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD",
            "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
        ));
        let expected = h(concat!(
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735",
            "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D",
            "83DE3541E4C2B58177E065A9BF7B62EC"
        ));
        assert_eq!(Suite::Sm4Gcm.seal(&key, &nonce, &aad, &pt), expected);
        assert_eq!(Suite::Sm4Gcm.open(&key, &nonce, &aad, &expected).unwrap(), pt);
        assert!(Suite::Sm4Gcm.open(&key, &nonce, &aad, &expected[..expected.len() - 1]).is_none());
    }

    /// RFC 4231 test case 2 (HMAC-SHA256); SM3 of "abc" from GB/T 32905 appendix A, and
    /// HMAC-SM3 as computed by OpenSSL (`hmac.new(b"k", b"abc", "sm3")`).
    #[test]
    fn macs_published_vectors() {
        let mac = Suite::Aes256Gcm.mac(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(mac.to_vec(), h("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
        use sm3::Digest;
        assert_eq!(Sm3::digest(b"abc").to_vec(), h("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"));
        let mac = Suite::Sm4Gcm.mac(b"k", &[b"abc"]);
        assert_eq!(mac.to_vec(), h("af684d81732e81f6a9c5dd0aa68f27667b36debcebe29e094a654c3d496a898a"));
    }

    /// RFC 8032 section 7.1, test 1 (empty message).
    #[test]
    fn ed25519_published_vector() {
        let k = SigningKey::from_secret(Suite::Aes256Gcm, &h("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
            .unwrap();
        assert_eq!(k.public_key(), h("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
        let sig = k.sign(b"");
        assert_eq!(
            sig,
            h(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            )
        );
        assert!(verify_signature(Suite::Aes256Gcm, &k.public_key(), b"", &sig));
        assert!(!verify_signature(Suite::Aes256Gcm, &k.public_key(), b"x", &sig));
    }

    #[test]
    fn sm2_signs_and_refuses_changes() {
        let secret = SigningKey::generate_secret(Suite::Sm4Gcm);
        let k = SigningKey::from_secret(Suite::Sm4Gcm, &secret).unwrap();
        let sig = k.sign(b"checkpoint");
        assert!(verify_signature(Suite::Sm4Gcm, &k.public_key(), b"checkpoint", &sig));
        assert!(!verify_signature(Suite::Sm4Gcm, &k.public_key(), b"checkpoinT", &sig));
        let other = SigningKey::from_secret(Suite::Sm4Gcm, &SigningKey::generate_secret(Suite::Sm4Gcm)).unwrap();
        assert!(!verify_signature(Suite::Sm4Gcm, &other.public_key(), b"checkpoint", &sig));
        assert!(!verify_signature(Suite::Sm4Gcm, &k.public_key(), b"checkpoint", &sig[..10]));
    }
}
