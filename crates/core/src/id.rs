//! Platform identifiers of persons and entries.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! platform_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                // Only canonical decimal forms: no sign, no leading zeros, so one id has one spelling.
                let canonical = !s.is_empty()
                    && s.len() <= 18
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && (s == "0" || !s.starts_with('0'));
                if !canonical {
                    return Err(InvalidId);
                }
                s.parse().map($name).map_err(|_| InvalidId)
            }
        }
    };
}

platform_id!(
    /// A person on the platform: one per resident (一人一档). Rendered as the FHIR Patient id.
    PersonId
);
platform_id!(
    /// One entry (档案条目) of a record. Rendered as the FHIR id of the entry's resource.
    EntryId
);

/// A string that is not a platform id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a platform id (expected a decimal number)")]
pub struct InvalidId;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_one_spelling() {
        assert_eq!("42".parse::<PersonId>(), Ok(PersonId(42)));
        assert!("042".parse::<PersonId>().is_err());
        assert!("-1".parse::<PersonId>().is_err());
        assert!("1e3".parse::<EntryId>().is_err());
        assert!("".parse::<EntryId>().is_err());
        assert!("9999999999999999999".parse::<EntryId>().is_err());
    }
}
