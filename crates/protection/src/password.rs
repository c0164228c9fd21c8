//! Password hashing with Argon2id (RFC 9106), PHC strings stored.

use crate::error::ProtectionError;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Passwords shorter than this are refused when set.
pub const MIN_LEN: usize = 10;
/// Longer inputs are refused before hashing (a long password costs the server, not the guesser).
pub const MAX_LEN: usize = 256;

fn hasher() -> Argon2<'static> {
    // OWASP's second recommended configuration: m = 19 MiB, t = 2, p = 1.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).expect("valid parameters"))
}

/// Hash a new password (its length checked).
pub fn hash(password: &str) -> Result<String, ProtectionError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(ProtectionError::Password(format!("a password needs at least {MIN_LEN} characters")));
    }
    if password.len() > MAX_LEN {
        return Err(ProtectionError::Password(format!("a password may have at most {MAX_LEN} bytes")));
    }
    let salt: [u8; 16] = crate::random_bytes();
    hasher()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ProtectionError::Password("the password could not be hashed".into()))
}

/// Hash a one-time code (an SMS sign-in code): short by nature, so no length rule; it lives
/// minutes and is tried at most a few times.
pub fn hash_code(code: &str) -> Result<String, ProtectionError> {
    if code.is_empty() || code.len() > 32 {
        return Err(ProtectionError::Password("a code has 1 to 32 bytes".into()));
    }
    let salt: [u8; 16] = crate::random_bytes();
    hasher()
        .hash_password_with_salt(code.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ProtectionError::Password("the code could not be hashed".into()))
}

/// Whether `password` matches a stored hash. Over-long input never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    password.len() <= MAX_LEN && hasher().verify_password(password.as_bytes(), stored).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_argon2id_and_checks_lengths() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify(&"x".repeat(MAX_LEN + 1), &h));
        assert!(hash("short").is_err());
        assert!(hash(&"x".repeat(MAX_LEN + 1)).is_err());
        assert!(!verify("anything", "not a phc string"));
    }
}
