//! The identifier systems Tongdang understands, in one place. `docs/identifiers.md` explains them.

/// 居民身份证号 (GB 11643), the national OID for a patient's ID number.
pub const NATIONAL_ID: &str = "urn:oid:2.16.156.10011.1.3";

/// 居民电子健康码 / 电子健康卡 id: 64 hexadecimal characters. No national URI is published for it,
/// so the platform names it in its own namespace.
pub const HEALTH_CODE: &str = "urn:tongdang:sid:ehc";

/// The system of an institution's own patient ids when a Patient gives an id without a system.
pub fn local_patient_system(institution: &str) -> String {
    format!("urn:tongdang:institution:{institution}:patient")
}

/// The `meta.source` written on every resource the platform stores for an institution.
pub fn institution_source_uri(institution: &str) -> String {
    format!("urn:tongdang:institution:{institution}")
}
