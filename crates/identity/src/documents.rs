//! Identity documents a Patient may carry, each validated and normalized by its own rule.
//! `docs/identifiers.md` lists the systems. A document that fails its check is never used to
//! link records; it is reported as a data-quality finding.

use crate::gb11643::{self, NationalId};
use crate::health_code::HealthCode;
use crate::systems;

/// The kinds of identifier the platform understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// 居民电子健康码 / 电子健康卡 id.
    HealthCode,
    /// 居民身份证 (GB 11643).
    NationalId,
    /// 外国人永久居留身份证 (2023 format: 18 characters starting with 9, GB 11643 check).
    ForeignPermanentResidence,
    /// 港澳台居民居住证 (area 810000 / 820000 / 830000, GB 11643 check).
    HmtResidencePermit,
    /// 港澳居民来往内地通行证 (H or M and 8 or 10 digits).
    HkMacaoPermit,
    /// 台湾居民来往大陆通行证 (8 digits; older cards 10 characters).
    TaiwanPermit,
    /// A passport (the issuing country in the system, as FHIR's `passport-XXX` systems do).
    Passport,
    /// 出生医学证明 (a letter and 9 digits), for newborns.
    BirthCertificate,
}

impl DocumentKind {
    /// The kind named by an identifier system, if the platform knows it.
    pub fn from_system(system: &str) -> Option<DocumentKind> {
        Some(match system {
            systems::HEALTH_CODE => DocumentKind::HealthCode,
            systems::NATIONAL_ID => DocumentKind::NationalId,
            systems::FOREIGN_PERMANENT_RESIDENCE => DocumentKind::ForeignPermanentResidence,
            systems::HMT_RESIDENCE_PERMIT => DocumentKind::HmtResidencePermit,
            systems::HK_MACAO_PERMIT => DocumentKind::HkMacaoPermit,
            systems::TAIWAN_PERMIT => DocumentKind::TaiwanPermit,
            systems::BIRTH_CERTIFICATE => DocumentKind::BirthCertificate,
            s if s.starts_with(systems::PASSPORT_PREFIX) && s.len() == systems::PASSPORT_PREFIX.len() + 3 => {
                DocumentKind::Passport
            }
            _ => return None,
        })
    }

    /// Whether a verified document of this kind identifies one person strongly enough to link
    /// records deterministically. Passports are reissued with new numbers and birth certificates
    /// are replaced by an ID number, so they only support matching.
    pub fn is_strong(self) -> bool {
        matches!(
            self,
            DocumentKind::HealthCode
                | DocumentKind::NationalId
                | DocumentKind::ForeignPermanentResidence
                | DocumentKind::HmtResidencePermit
                | DocumentKind::HkMacaoPermit
                | DocumentKind::TaiwanPermit
        )
    }
}

/// Why a document number fails its rule (never containing the number itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidDocument(pub String);

/// Validate and normalize a document number of `kind`: upper-case (lower-case for the health
/// code), spaces and hyphens removed; 15-digit first-generation ID numbers become 18 digits.
pub fn normalize(kind: DocumentKind, raw: &str) -> Result<String, InvalidDocument> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_uppercase();
    let fail = |why: &str| Err(InvalidDocument(why.to_string()));
    match kind {
        DocumentKind::HealthCode => {
            HealthCode::parse(&compact).map(|h| h.as_str().to_string()).map_err(|e| InvalidDocument(e.to_string()))
        }
        DocumentKind::NationalId => {
            let id = if compact.len() == 15 {
                upgrade_15(&compact)
                    .ok_or_else(|| InvalidDocument("a 15-digit ID number must be all digits with a real birth date".into()))?
            } else {
                compact
            };
            NationalId::parse(&id).map(|n| n.as_str().to_string()).map_err(|e| InvalidDocument(format!("invalid ID number: {e}")))
        }
        DocumentKind::ForeignPermanentResidence => {
            if !compact.starts_with('9') {
                return fail("a foreign permanent residence ID card number (2023 format) starts with 9");
            }
            checked_18(&compact, "foreign permanent residence ID card")
        }
        DocumentKind::HmtResidencePermit => {
            if !matches!(compact.get(..6), Some("810000" | "820000" | "830000")) {
                return fail("a Hong Kong, Macao or Taiwan residence permit number starts with 810000, 820000 or 830000");
            }
            NationalId::parse(&compact)
                .map(|n| n.as_str().to_string())
                .map_err(|e| InvalidDocument(format!("invalid residence permit number: {e}")))
        }
        DocumentKind::HkMacaoPermit => {
            let ok = matches!(compact.as_bytes().first(), Some(b'H' | b'M'))
                && matches!(compact.len(), 9 | 11)
                && compact[1..].bytes().all(|b| b.is_ascii_digit());
            if ok { Ok(compact) } else { fail("a Home Return Permit number is H or M followed by 8 or 10 digits") }
        }
        DocumentKind::TaiwanPermit => {
            let ok = (compact.len() == 8 && compact.bytes().all(|b| b.is_ascii_digit()))
                || (compact.len() == 10 && compact.bytes().all(|b| b.is_ascii_alphanumeric()));
            if ok { Ok(compact) } else { fail("a Taiwan compatriot permit number is 8 digits (10 characters on older cards)") }
        }
        DocumentKind::Passport => {
            let ok = (5..=20).contains(&compact.len()) && compact.bytes().all(|b| b.is_ascii_alphanumeric());
            if ok { Ok(compact) } else { fail("a passport number is 5 to 20 letters and digits") }
        }
        DocumentKind::BirthCertificate => {
            let ok = compact.len() == 10
                && compact.as_bytes()[0].is_ascii_uppercase()
                && compact[1..].bytes().all(|b| b.is_ascii_digit());
            if ok { Ok(compact) } else { fail("a birth medical certificate number is a letter followed by 9 digits") }
        }
    }
}

/// GB 11643 check on an 18-character number that is not a resident's ID (no area or date rule).
fn checked_18(s: &str, what: &str) -> Result<String, InvalidDocument> {
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return Err(InvalidDocument(format!("a {what} number has 17 digits and a check character")));
    }
    if gb11643::check_char(&s[..17]) != Some(b[17] as char) {
        return Err(InvalidDocument(format!("the check character of the {what} number does not match (GB 11643)")));
    }
    Ok(s.to_string())
}

/// A first-generation 15-digit number as 18 digits: century 19 inserted, check computed.
fn upgrade_15(s: &str) -> Option<String> {
    if s.len() != 15 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let first17 = format!("{}19{}", &s[..6], &s[6..]);
    let check = gb11643::check_char(&first17)?;
    Some(format!("{first17}{check}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DocumentKind::*;

    #[test]
    fn each_document_follows_its_rule() {
        assert_eq!(normalize(NationalId, "11010519491231002x").unwrap(), "11010519491231002X");
        assert_eq!(normalize(NationalId, "110105 491231 002").unwrap(), "11010519491231002X", "15 digits become 18");
        assert!(normalize(NationalId, "110105194912310021").is_err());
        let fpr17 = "91100000200001010";
        let fpr = format!("{fpr17}{}", gb11643::check_char(fpr17).unwrap());
        assert_eq!(normalize(ForeignPermanentResidence, &fpr).unwrap(), fpr);
        assert!(normalize(ForeignPermanentResidence, "11010519491231002X").is_err());
        let hk17 = "81000019900307123";
        let hk = format!("{hk17}{}", gb11643::check_char(hk17).unwrap());
        assert_eq!(normalize(HmtResidencePermit, &hk).unwrap(), hk);
        assert!(normalize(HmtResidencePermit, "11010519491231002X").is_err());
        assert_eq!(normalize(HkMacaoPermit, "h1234 5678").unwrap(), "H12345678");
        assert!(normalize(HkMacaoPermit, "X12345678").is_err());
        assert_eq!(normalize(TaiwanPermit, "12345678").unwrap(), "12345678");
        assert!(normalize(TaiwanPermit, "1234567").is_err());
        assert_eq!(normalize(Passport, "e1234-5678").unwrap(), "E12345678");
        assert_eq!(normalize(BirthCertificate, "o440012345").unwrap(), "O440012345");
        assert!(normalize(BirthCertificate, "4400123456").is_err());
        assert_eq!(normalize(HealthCode, &"AB".repeat(32)).unwrap(), "ab".repeat(32));
    }

    #[test]
    fn failures_never_repeat_the_number() {
        for (kind, raw) in
            [(NationalId, "110105194912310021"), (Passport, "!!"), (HkMacaoPermit, "Z99"), (BirthCertificate, "123")]
        {
            let e = normalize(kind, raw).unwrap_err().0;
            assert!(!e.contains(raw), "{e}");
        }
    }

    #[test]
    fn systems_name_their_kinds() {
        assert_eq!(DocumentKind::from_system("http://hl7.org/fhir/sid/passport-CHN"), Some(Passport));
        assert_eq!(DocumentKind::from_system("http://hl7.org/fhir/sid/passport-"), None);
        assert_eq!(DocumentKind::from_system(systems::NATIONAL_ID), Some(NationalId));
        assert!(NationalId.is_strong() && !Passport.is_strong() && !BirthCertificate.is_strong());
    }
}
