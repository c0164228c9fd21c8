//! Residents' grants as the store holds them: one row per grant, from the request that asks for
//! it to its end. The protected store seals the evidence and the review note (free text written
//! by people) before they reach SQL; everything a decision needs stays plain and indexed.

use tongdang_core::{PersonId, Timestamp};

/// A grant, or a request for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// Id (0 before it is stored).
    pub id: i64,
    /// Whose record.
    pub person: PersonId,
    /// The institution allowed to read.
    pub institution: String,
    /// Narrowed to one department of it.
    pub department: Option<String>,
    /// Narrowed to one clinician's account.
    pub clinician: Option<i64>,
    /// `all`, or category codes joined by commas.
    pub categories: String,
    /// `sms`, `app`, `booking` or `emergency`.
    pub channel: String,
    /// `requested`, `active`, `refused`, `revoked` or `locked` (expiry is read from `valid_until`).
    pub status: String,
    /// In force from.
    pub valid_from: Timestamp,
    /// In force until (exclusive).
    pub valid_until: Timestamp,
    /// Who asked: `account:12`, `institution:CODE key:PREFIX`.
    pub requested_by: String,
    /// A booking's `CLIENT/appointment id`: posting it again finds this grant.
    pub external_ref: Option<String>,
    /// The channel's evidence as JSON (phone masked, appointment, stated reason); sealed.
    pub evidence: String,
    /// The privacy officer's note on an emergency access; sealed.
    pub review_note: String,
    /// Created.
    pub created_at: Timestamp,
    /// Approved, refused or revoked at.
    pub decided_at: Option<Timestamp>,
    /// By whom.
    pub decided_by: Option<String>,
    /// Keyed digest of an SMS code.
    pub code_digest: Option<Vec<u8>>,
    /// The SMS code expires at.
    pub code_expires: Option<Timestamp>,
    /// Wrong codes entered.
    pub code_tries: i64,
    /// Emergency access: `open`, `justified` or `unjustified`.
    pub review_status: Option<String>,
    /// Reviewed by.
    pub reviewed_by: Option<String>,
    /// Reviewed at.
    pub reviewed_at: Option<Timestamp>,
    /// The evidence and note sealed, as stored (set by the protected store).
    pub sealed: Vec<u8>,
}

impl GrantRecord {
    /// A grant of `person`'s record to `institution` by `channel`, in `status`, for the window
    /// `[valid_from, valid_until)`, asked by `requested_by` at `valid_from`; everything else empty.
    pub fn new(
        person: PersonId,
        institution: &str,
        channel: &str,
        status: &str,
        valid_from: Timestamp,
        valid_until: Timestamp,
        requested_by: &str,
    ) -> GrantRecord {
        GrantRecord {
            id: 0,
            person,
            institution: institution.into(),
            department: None,
            clinician: None,
            categories: "all".into(),
            channel: channel.into(),
            status: status.into(),
            valid_from,
            valid_until,
            requested_by: requested_by.into(),
            external_ref: None,
            evidence: "{}".into(),
            review_note: String::new(),
            created_at: valid_from,
            decided_at: None,
            decided_by: None,
            code_digest: None,
            code_expires: None,
            code_tries: 0,
            review_status: None,
            reviewed_by: None,
            reviewed_at: None,
            sealed: Vec::new(),
        }
    }
}

/// The columns of `grants` in the order both readers (sqlx and the SQLite rusqlite path) map them.
pub(crate) const GRANT_SELECT: &str = "SELECT id, person_id, institution, department, clinician, categories, channel, status, valid_from, valid_until, requested_by, external_ref, sealed, created_at, decided_at, decided_by, code_digest, code_expires, code_tries, review_status, reviewed_by, reviewed_at FROM grants";

/// Which grants to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantFilter {
    /// Of one person.
    pub person: Option<PersonId>,
    /// To one institution.
    pub institution: Option<String>,
    /// In one status.
    pub status: Option<String>,
    /// Of one channel.
    pub channel: Option<String>,
    /// Emergency accesses in one review status.
    pub review_status: Option<String>,
    /// Ids below this (newest first paging).
    pub before: Option<i64>,
    /// At most.
    pub limit: u32,
}

/// A change of a grant's status, applied only if it is still in one of `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantTransition {
    /// The grant.
    pub id: i64,
    /// The statuses it may be in.
    pub from: Vec<String>,
    /// The new status.
    pub to: String,
    /// New validity (approval).
    pub valid_from: Option<Timestamp>,
    /// New end of validity (approval, revocation).
    pub valid_until: Option<Timestamp>,
    /// New categories (the resident's choice on approval).
    pub categories: Option<String>,
    /// When.
    pub at: Timestamp,
    /// By whom.
    pub by: String,
}
