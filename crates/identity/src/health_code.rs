//! The resident electronic health code (居民电子健康码): the 64-hex electronic health card id.

/// A validated health code, lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HealthCode(String);

/// A string that is not a health code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a health code is 64 hexadecimal characters")]
pub struct InvalidHealthCode;

impl HealthCode {
    /// Validate and normalize (trim, lower-case) a health code.
    pub fn parse(s: &str) -> Result<HealthCode, InvalidHealthCode> {
        let s = s.trim();
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(HealthCode(s.to_ascii_lowercase()))
        } else {
            Err(InvalidHealthCode)
        }
    }

    /// The code, 64 lower-case hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_64_hex_characters_are_a_health_code() {
        let code = "A".repeat(64);
        assert_eq!(HealthCode::parse(&code).unwrap().as_str(), "a".repeat(64));
        assert!(HealthCode::parse(&"g".repeat(64)).is_err());
        assert!(HealthCode::parse(&"a".repeat(63)).is_err());
    }
}
