//! The identifier systems Tongdang understands, in one place. `docs/identifiers.md` explains them.

/// 居民身份证号 (GB 11643), the national OID for a patient's ID number.
pub const NATIONAL_ID: &str = "urn:oid:2.16.156.10011.1.3";

/// 居民电子健康码 / 电子健康卡 id: 64 hexadecimal characters. No national URI is published for it,
/// so the platform names it in its own namespace.
pub const HEALTH_CODE: &str = "urn:tongdang:sid:ehc";

/// 外国人永久居留身份证 (foreign permanent resident ID card).
pub const FOREIGN_PERMANENT_RESIDENCE: &str = "urn:tongdang:sid:foreign-permanent-residence";

/// 港澳台居民居住证 (residence permit of Hong Kong, Macao and Taiwan residents).
pub const HMT_RESIDENCE_PERMIT: &str = "urn:tongdang:sid:hmt-residence-permit";

/// 港澳居民来往内地通行证 (Home Return Permit).
pub const HK_MACAO_PERMIT: &str = "urn:tongdang:sid:hk-macao-permit";

/// 台湾居民来往大陆通行证 (Taiwan compatriot permit).
pub const TAIWAN_PERMIT: &str = "urn:tongdang:sid:taiwan-permit";

/// 出生医学证明 (birth medical certificate), for newborns before they have an ID number.
pub const BIRTH_CERTIFICATE: &str = "urn:tongdang:sid:birth-certificate";

/// Passports, as FHIR names them: this prefix and the ISO 3166 alpha-3 code of the issuer
/// (`http://hl7.org/fhir/sid/passport-CHN`).
pub const PASSPORT_PREFIX: &str = "http://hl7.org/fhir/sid/passport-";

/// The system of an institution's own patient ids when a Patient gives an id without a system.
pub fn local_patient_system(institution: &str) -> String {
    format!("urn:tongdang:institution:{institution}:patient")
}

/// The `meta.source` written on every resource the platform stores for an institution.
pub fn institution_source_uri(institution: &str) -> String {
    format!("urn:tongdang:institution:{institution}")
}
