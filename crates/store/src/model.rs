//! What the store holds, as plain values crossing the `Store` trait.

use tongdang_core::{Category, EntryId, PersonId, Scope, Timestamp};

/// Whether an entry is part of ordinary reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryStatus {
    /// Shown.
    Current = 0,
    /// Withdrawn by its source: kept with its history, hidden from ordinary reads.
    EnteredInError = 1,
}

impl EntryStatus {
    /// From the stored number.
    pub fn from_i16(n: i16) -> EntryStatus {
        if n == 1 { EntryStatus::EnteredInError } else { EntryStatus::Current }
    }
}

/// The current version of one entry of a person's record.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryRecord {
    /// Platform id.
    pub id: EntryId,
    /// Whose record.
    pub person: PersonId,
    /// Record category.
    pub category: Category,
    /// FHIR resource type.
    pub resource_type: String,
    /// Ordering key: the clinical time, or the collection time when the resource has none.
    pub sort_time: Timestamp,
    /// The clinical time as the source wrote it (with its offset), if any.
    pub clinical_time: Option<String>,
    /// When the platform received this version.
    pub collected_at: Timestamp,
    /// Source institution code.
    pub institution: String,
    /// The source's own id of the resource.
    pub source_id: String,
    /// Platform version, from 1.
    pub version: i64,
    /// Shown or withdrawn.
    pub status: EntryStatus,
    /// `\nsystem|code\n…` search tokens of the resource's codes.
    pub codes: String,
    /// SHA-256 of the canonical form of what the source sent.
    pub digest: Vec<u8>,
    /// The submission this version came in.
    pub submission: i64,
    /// The stored resource (platform form, compact JSON).
    pub resource: Vec<u8>,
    /// `\nsystem|code\n…` search tokens of the resource's own category codings.
    pub category_codes: String,
    /// The Patient record its subject named (entries follow it when it is relinked).
    pub patient_record: Option<i64>,
}

/// What was last stored for one source resource `(institution, type, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceKey {
    /// Institution code.
    pub institution: String,
    /// FHIR type.
    pub resource_type: String,
    /// The source's id.
    pub source_id: String,
    /// Patient, directory or entry.
    pub kind: SourceKind,
    /// The person (patients and entries).
    pub person: Option<PersonId>,
    /// Platform id of the stored row (patient record, directory resource or entry).
    pub target_id: i64,
    /// Current platform version.
    pub version: i64,
    /// Digest of the current version.
    pub digest: Vec<u8>,
}

/// What a source resource became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A Patient: one institution's view of a person.
    Patient = 0,
    /// Directory data.
    Directory = 1,
    /// A record entry.
    Entry = 2,
}

impl SourceKind {
    /// From the stored number.
    pub fn from_i16(n: i16) -> SourceKind {
        match n {
            0 => SourceKind::Patient,
            1 => SourceKind::Directory,
            _ => SourceKind::Entry,
        }
    }
}

/// One institution's Patient resource for a person (its demographics as that source knows them).
#[derive(Debug, Clone, PartialEq)]
pub struct PatientRecord {
    /// Platform id of this record.
    pub id: i64,
    /// The person.
    pub person: PersonId,
    /// Source institution.
    pub institution: String,
    /// Source id.
    pub source_id: String,
    /// Platform version.
    pub version: i64,
    /// When received.
    pub collected_at: Timestamp,
    /// Stored resource.
    pub resource: Vec<u8>,
}

/// A directory resource (Organization, Location, Practitioner, …).
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryRecord {
    /// Platform id.
    pub id: i64,
    /// FHIR type.
    pub resource_type: String,
    /// Source institution.
    pub institution: String,
    /// Source id.
    pub source_id: String,
    /// Platform version.
    pub version: i64,
    /// When received.
    pub collected_at: Timestamp,
    /// Stored resource.
    pub resource: Vec<u8>,
}

/// An identifier of a person, as some institution submitted it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonIdentifier {
    /// Identifier system.
    pub system: String,
    /// Value (normalized for strong identifiers).
    pub value: String,
    /// The person.
    pub person: PersonId,
    /// The institution whose Patient carried it.
    pub institution: String,
    /// That Patient's source id: a corrected Patient replaces the identifiers it carried.
    pub source_id: String,
    /// The value sealed, as stored (set by the protected store; the stored `value` is its
    /// blind index).
    pub sealed: Option<Vec<u8>>,
}

/// An identifier of a Patient or directory resource within its institution, for conditional
/// references (`Location?identifier=system|value`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceIdentifier {
    /// Institution.
    pub institution: String,
    /// FHIR type.
    pub resource_type: String,
    /// System ("" when none).
    pub system: String,
    /// Value.
    pub value: String,
    /// The source id of the resource holding it.
    pub source_id: String,
}

/// A submission: one request or one import run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionRecord {
    /// Platform id.
    pub id: i64,
    /// Submitting institution.
    pub institution: String,
    /// How it arrived: `bundle`, `rest`, `ndjson`, `import`.
    pub channel: String,
    /// When it started.
    pub received_at: Timestamp,
    /// Items read.
    pub read: i64,
    /// Items stored (new or new version).
    pub stored: i64,
    /// Identical resubmissions.
    pub unchanged: i64,
    /// Items refused.
    pub refused: i64,
    /// The fused city platform it came through, if any (the institution is the source).
    pub via: Option<String>,
}

/// Everything one ingest transaction writes.
#[derive(Debug, Default)]
pub struct WriteSet {
    /// Persons created.
    pub new_persons: Vec<PersonId>,
    /// Identifiers to add (existing ones are kept).
    pub person_identifiers: Vec<PersonIdentifier>,
    /// Source keys to insert or update.
    pub source_keys: Vec<SourceKey>,
    /// Identifiers of Patient and directory resources.
    pub source_identifiers: Vec<SourceIdentifier>,
    /// `(institution, type, source id)` of updated Patient and directory resources, whose
    /// identifiers are replaced by the ones written now.
    pub replaced_identifiers: Vec<(String, String, String)>,
    /// Patient records to insert or replace.
    pub patients: Vec<PatientRecord>,
    /// Directory resources to insert or replace.
    pub directory: Vec<DirectoryRecord>,
    /// Entries: new ones, and new versions of existing ones (`version > 1`), whose previous
    /// version the store moves to the history first.
    pub entries: Vec<EntryRecord>,
    /// Patient records' demographics and blocking keys for the index.
    pub match_records: Vec<crate::MatchRecordWrite>,
    /// Possible matches raised for review.
    pub reviews: Vec<crate::NewReview>,
    /// Returns opened, or failed again (one open return per resource).
    pub returns: Vec<crate::ReturnRecord>,
    /// Returns closed by an accepted resubmission.
    pub closed_returns: Vec<crate::ReturnClosure>,
    /// Quality counters to add.
    pub quality: Vec<crate::QualityCounts>,
    /// Ledger leaves of the entry versions written (queued for sequencing in the same
    /// transaction; set by the protected store).
    pub ledger: Vec<crate::LedgerLeaf>,
}

impl WriteSet {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.new_persons.is_empty()
            && self.person_identifiers.is_empty()
            && self.source_keys.is_empty()
            && self.patients.is_empty()
            && self.directory.is_empty()
            && self.entries.is_empty()
            && self.match_records.is_empty()
            && self.reviews.is_empty()
            && self.returns.is_empty()
            && self.closed_returns.is_empty()
            && self.quality.is_empty()
    }
}

/// Which entries of one person to read.
#[derive(Debug, Clone, Default)]
pub struct EntryQuery {
    /// Whose record.
    pub person: Option<PersonId>,
    /// Only these categories (`None`: all; an empty list: none).
    pub categories: Option<Vec<Category>>,
    /// Only this resource type.
    pub resource_type: Option<String>,
    /// `sort_time >= from`.
    pub from: Option<Timestamp>,
    /// `sort_time < to`.
    pub to: Option<Timestamp>,
    /// `collected_at >= updated_from`.
    pub updated_from: Option<Timestamp>,
    /// `collected_at < updated_to`.
    pub updated_to: Option<Timestamp>,
    /// Code filters: every group must match, by any of its `LIKE` patterns over the code tokens.
    pub code_patterns: Vec<Vec<String>>,
    /// Category filters, as `code_patterns` over the category codings.
    pub category_patterns: Vec<Vec<String>>,
    /// Continue after this `(sort_time, id)`, newest first.
    pub after: Option<(Timestamp, EntryId)>,
    /// At most this many.
    pub limit: u32,
    /// Include entered-in-error entries (history views only).
    pub include_withdrawn: bool,
}

/// An API key as stored: only the hash of the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// SHA-256 of the key.
    pub hash: Vec<u8>,
    /// The first characters, to tell keys apart in listings.
    pub prefix: String,
    /// Whose key.
    pub institution: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When issued.
    pub created_at: Timestamp,
    /// When revoked, if it is.
    pub revoked_at: Option<Timestamp>,
}

/// Headline figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Institutions registered.
    pub institutions: i64,
    /// Persons.
    pub persons: i64,
    /// Entries (current versions).
    pub entries: i64,
}
