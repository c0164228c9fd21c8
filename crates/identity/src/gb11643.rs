//! 居民身份证号 (GB 11643-1999): 6-digit area code, 8-digit birth date, 3-digit sequence whose
//! parity gives the sex, and an ISO 7064 MOD 11-2 check character.

use time::{Date, Month};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// Why a string is not a valid ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidNationalId {
    /// Not 17 digits and a check character.
    #[error("an ID number has 17 digits and a check character (digit or X)")]
    Format,
    /// The area code cannot be a GB/T 2260 code (province part 11–82).
    #[error("the area code is not a Chinese administrative area")]
    Area,
    /// Digits 7–14 are not a real date.
    #[error("the birth date in the ID number is not a real date")]
    BirthDate,
    /// The check character does not match.
    #[error("the check character does not match (GB 11643)")]
    Check,
}

/// A validated ID number, upper-case X.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NationalId(String);

impl NationalId {
    /// Validate an ID number. Unknown area codes are accepted on purpose: codes change and old ID
    /// numbers keep old codes; only the province part is checked.
    pub fn parse(s: &str) -> Result<NationalId, InvalidNationalId> {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(InvalidNationalId::Format);
        }
        let province = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
        if !(11..=82).contains(&province) {
            return Err(InvalidNationalId::Area);
        }
        let year: i32 = s[6..10].parse().map_err(|_| InvalidNationalId::BirthDate)?;
        let month: u8 = s[10..12].parse().map_err(|_| InvalidNationalId::BirthDate)?;
        let day: u8 = s[12..14].parse().map_err(|_| InvalidNationalId::BirthDate)?;
        let month = Month::try_from(month).map_err(|_| InvalidNationalId::BirthDate)?;
        if year < 1880 {
            return Err(InvalidNationalId::BirthDate);
        }
        Date::from_calendar_date(year, month, day).map_err(|_| InvalidNationalId::BirthDate)?;
        if check_char(&s[..17]) != Some(b[17] as char) {
            return Err(InvalidNationalId::Check);
        }
        Ok(NationalId(s))
    }

    /// The number, 18 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date the number encodes, as `YYYY-MM-DD`.
    pub fn birth_date(&self) -> String {
        format!("{}-{}-{}", &self.0[6..10], &self.0[10..12], &self.0[12..14])
    }

    /// `true` for an odd sequence number (male), per GB 11643.
    pub fn is_male(&self) -> bool {
        (self.0.as_bytes()[16] - b'0') % 2 == 1
    }
}

/// The check character for 17 digits, or `None` if they are not 17 digits.
pub fn check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    Some(CHECK[(sum % 11) as usize] as char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_example_validates() {
        // The example of GB 11643-1999 itself.
        let id = NationalId::parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), "1949-12-31");
        assert!(!id.is_male());
        assert!(NationalId::parse("440524188001010014").unwrap().is_male());
    }

    #[test]
    fn each_kind_of_error_is_named() {
        assert_eq!(NationalId::parse("1101051949123100"), Err(InvalidNationalId::Format));
        assert_eq!(NationalId::parse("11010519491231002Y"), Err(InvalidNationalId::Format));
        assert_eq!(NationalId::parse("99010519491231002X"), Err(InvalidNationalId::Area));
        assert_eq!(NationalId::parse("110105194913310029"), Err(InvalidNationalId::BirthDate));
        assert_eq!(NationalId::parse("110105194912310021"), Err(InvalidNationalId::Check));
    }

    #[test]
    fn every_17_digit_prefix_has_exactly_one_check_character() {
        let base = "44010619900307123";
        let c = check_char(base).unwrap();
        let valid: Vec<char> = "0123456789X".chars().filter(|x| NationalId::parse(&format!("{base}{x}")).is_ok()).collect();
        assert_eq!(valid, vec![c]);
    }
}
