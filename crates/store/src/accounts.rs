//! Accounts and sessions as the store holds them. The protected store seals the login and
//! display name and replaces the login by its blind index before they reach SQL.

use tongdang_core::{PersonId, Role, Timestamp};

/// A person who signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// Id (0 before it is stored).
    pub id: i64,
    /// The sign-in name (a phone number for residents); blind-indexed when stored.
    pub login: String,
    /// The name shown on pages; sealed when stored.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Institution (clinicians, institution administrators) or city platform (city operators).
    pub institution: Option<String>,
    /// Department (clinicians).
    pub department: Option<String>,
    /// The resident's person.
    pub person: Option<PersonId>,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Failed sign-ins since the last success.
    pub failed_attempts: i64,
    /// Locked until then after repeated failures.
    pub locked_until: Option<Timestamp>,
    /// Created.
    pub created_at: Timestamp,
    /// Disabled (cannot sign in, sessions refused).
    pub disabled_at: Option<Timestamp>,
    /// The resident last passed face verification (real-name check) at.
    pub face_verified_at: Option<Timestamp>,
    /// The login and display name sealed, as stored (set by the protected store).
    pub sealed: Vec<u8>,
}

/// A web session (cookie) or API token, stored by the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// Whose.
    pub account: i64,
    /// `web` or `api`.
    pub kind: String,
    /// The CSRF token of a web session (random, compared in constant time).
    pub csrf: Vec<u8>,
    /// Created.
    pub created_at: Timestamp,
    /// Expires.
    pub expires_at: Timestamp,
    /// Revoked (signed out).
    pub revoked_at: Option<Timestamp>,
}
