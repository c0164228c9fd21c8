//! The record store. One [`Store`] trait; SQLite (embedded, WAL) and PostgreSQL behind it, each
//! with its own versioned migrations. Only this crate speaks SQL. Everything about one person
//! (entries, their history, patient records) carries the person id, so the scale-out path can
//! distribute those tables by person (see `docs/scale-out.md`).

pub mod accounts;
pub mod error;
pub mod governance;
mod governance_sql;
pub mod grants;
mod grants_sql;
pub mod ledger;
pub mod model;
mod mpi;
mod postgres;
mod protected;
pub mod protection_sql;
pub mod reports;
mod reports_sql;
mod shared;
mod sqlite;
mod sqlite_reads;
pub mod verify;
pub mod work_orders;
mod work_orders_sql;

use async_trait::async_trait;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use tongdang_core::{EntryId, Institution, InstitutionCode, PersonId};

pub use accounts::{AccountRecord, SessionRecord};
pub use error::StoreError;
pub use governance::{
    HeldEntry, OpenReturns, PATIENT_CATEGORY, QualityCounts, QualityQuery, RecheckStep, ReconciliationRecord, ReturnClosure,
    ReturnFilter, ReturnRecord, RuleSetRecord, SimilarEntry,
};
pub use grants::{GrantFilter, GrantRecord, GrantTransition};
pub use ledger::{AuditEvent, AuditQuery, CheckpointRecord, EntryVersionFacts, LeafKind, LedgerLeaf, StoredLeaf};
pub use model::*;
pub use mpi::{LinkRow, MatchRecord, MatchRecordWrite, MpiCounts, MpiEvent, NewReview, PersonStatus, RelinkOp, ReviewItem};
pub use protected::{DEFAULT_ORIGIN, ProtectedStore, Protection};
pub use protection_sql::{SealedKey, SealedRow, SealedTable, StoredEntryVersion};
pub use reports::{IntegrationTest, PROVINCE_SCOPE, ReportRecord, SourceActivity, SubmissionMinute, WorkOrderStats};
use tongdang_protection::ledger::{Hash, NodeId};
pub use work_orders::{WorkOrderChange, WorkOrderFilter, WorkOrderRecord, WorkOrderStep};

/// Result of store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Platform id sequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// Persons.
    Person,
    /// Entries.
    Entry,
    /// Patient records and directory resources.
    Resource,
    /// Submissions.
    Submission,
}

impl IdKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            IdKind::Person => "person",
            IdKind::Entry => "entry",
            IdKind::Resource => "resource",
            IdKind::Submission => "submission",
        }
    }
}

/// The key of a resource in a submitting institution's namespace: `(type, source id)`.
pub type TypeAndId = (String, String);

/// A lookup of a resource by identifier within an institution: `(type, system, value)`.
pub type IdentifierLookup = (String, String, String);

/// The persistent state of the platform.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn dialect(&self) -> &'static str;

    /// Register or update an institution.
    async fn upsert_institution(&self, institution: &Institution) -> Result<()>;
    /// One institution.
    async fn institution(&self, code: &InstitutionCode) -> Result<Option<Institution>>;
    /// All institutions, by code.
    async fn institutions(&self) -> Result<Vec<Institution>>;
    /// Store a new API key; with `revoke_others`, revoke the institution's other keys.
    async fn insert_api_key(&self, key: &ApiKeyRecord, revoke_others: bool) -> Result<()>;
    /// The key with this hash, revoked or not.
    async fn api_key(&self, hash: &[u8]) -> Result<Option<ApiKeyRecord>>;

    /// Start the write transaction of one ingest step. Writers of one institution are
    /// serialized; the transaction sees its own writes.
    async fn begin_ingest(&self, institution: &InstitutionCode) -> Result<Box<dyn IngestTx>>;
    /// Record a finished submission.
    /// One submission's record.
    async fn submission(&self, id: i64) -> Result<Option<SubmissionRecord>>;
    async fn record_submission(&self, submission: &SubmissionRecord) -> Result<()>;
    /// Allocate ids outside an ingest transaction.
    async fn allocate_ids(&self, kind: IdKind, n: usize) -> Result<Vec<i64>>;

    /// Entries of a person, newest first.
    async fn entries(&self, query: &EntryQuery) -> Result<Vec<EntryRecord>>;
    /// One entry by id (any status).
    async fn entry(&self, id: EntryId) -> Result<Option<EntryRecord>>;
    /// Whether a person exists.
    async fn person_exists(&self, person: PersonId) -> Result<bool>;
    /// Persons in id order after `after`.
    async fn persons(&self, after: Option<PersonId>, limit: u32) -> Result<Vec<PersonId>>;
    /// The institutions' Patient records of a person, newest first.
    async fn patient_records(&self, person: PersonId) -> Result<Vec<PatientRecord>>;
    /// Every identifier submitted for a person.
    async fn person_identifiers(&self, person: PersonId) -> Result<Vec<PersonIdentifier>>;
    /// Persons holding an identifier (any system when `system` is `None`).
    async fn persons_by_identifier(&self, system: Option<&str>, value: &str) -> Result<Vec<PersonId>>;
    /// One directory resource.
    async fn directory_resource(&self, resource_type: &str, id: i64) -> Result<Option<DirectoryRecord>>;
    /// Directory resources by their platform ids.
    async fn directory_resources(&self, ids: &[i64]) -> Result<Vec<DirectoryRecord>>;
    /// Headline figures.
    async fn counts(&self) -> Result<Counts>;

    /// Whether a person exists, and the active survivor if it was merged away.
    async fn person_status(&self, person: PersonId) -> Result<Option<PersonStatus>>;
    /// Apply an operator's link, unlink, merge or unmerge, recorded with who and why.
    async fn relink(&self, op: &RelinkOp, actor: &str, reason: &str) -> Result<MpiEvent>;
    /// Patient records in id order after `after` (re-indexing).
    async fn patient_records_page(&self, after: i64, limit: u32) -> Result<Vec<PatientRecord>>;
    /// The person a Patient record belongs to now.
    async fn patient_record_person(&self, record: i64) -> Result<Option<PersonId>>;
    /// The index history of a person.
    async fn mpi_events(&self, person: PersonId) -> Result<Vec<MpiEvent>>;
    /// Review items after `after`, optionally of one status.
    async fn reviews(&self, status: Option<&str>, after: i64, limit: u32) -> Result<Vec<ReviewItem>>;
    /// Decide an open review item: link the record to the candidate, or mark them distinct.
    async fn decide_review(&self, id: i64, link: bool, actor: &str, note: &str) -> Result<(ReviewItem, Option<MpiEvent>)>;
    /// Source records and their persons, by record id after `after`.
    async fn links(&self, after: i64, limit: u32) -> Result<Vec<LinkRow>>;
    /// Headline figures of the index.
    async fn mpi_counts(&self) -> Result<MpiCounts>;
    /// Match records by record id after `after`.
    async fn match_records_page(&self, after: i64, limit: u32) -> Result<Vec<MatchRecord>>;
    /// Match records holding every one of these keys.
    async fn match_records_with_keys(&self, keys: &[i64], limit: u32) -> Result<Vec<MatchRecord>>;
    /// Match records of these persons.
    async fn match_records_of(&self, persons: &[PersonId]) -> Result<Vec<MatchRecord>>;
    /// Write (replace) match records and their keys, outside ingest (re-indexing).
    async fn write_match_records(&self, records: &[MatchRecordWrite]) -> Result<()>;
    /// The latest saved matching parameters (JSON).
    async fn match_parameters(&self) -> Result<Option<String>>;
    /// Save matching parameters (JSON).
    async fn save_match_parameters(&self, json: &str) -> Result<()>;

    /// The wrapped keys.
    async fn protection_keys(&self) -> Result<Vec<tongdang_protection::StoredKey>>;
    /// Store wrapped keys: new ones only (`replace = false`: a key whose id exists is left as it
    /// is, so two processes creating keys at once cannot overwrite each other's), or new
    /// states and wrappings of existing ones (`replace = true`).
    async fn save_protection_keys(&self, keys: &[tongdang_protection::StoredKey], replace: bool) -> Result<()>;
    /// Append up to `limit` queued leaves to the ledger's tree: `(appended, new size)`.
    async fn ledger_sequence(&self, limit: usize) -> Result<(u64, u64)>;
    /// `(tree size, leaves waiting in the queue)`.
    async fn ledger_counts(&self) -> Result<(u64, u64)>;
    /// Stored nodes of the tree.
    async fn ledger_nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>>;
    /// Stored nodes in storage order (by last leaf, then level), after `after`.
    async fn ledger_node_page(&self, after: Option<NodeId>, limit: u32) -> Result<Vec<(NodeId, Hash)>>;
    /// Leaves in index order after `after`, with what they stand for.
    async fn ledger_leaves_page(&self, after: Option<u64>, limit: u32) -> Result<Vec<StoredLeaf>>;
    /// The index of the leaf of an entry version or event.
    async fn ledger_leaf_index(&self, kind: LeafKind, ref_id: i64, ref_version: i64) -> Result<Option<u64>>;
    /// Whether the leaf of an entry version or event waits in the queue.
    async fn ledger_queued(&self, kind: LeafKind, ref_id: i64, ref_version: i64) -> Result<bool>;
    /// Store a signed checkpoint.
    async fn insert_checkpoint(&self, checkpoint: &CheckpointRecord) -> Result<()>;
    /// Checkpoints of trees smaller than `before`, largest first.
    async fn checkpoints(&self, before: Option<u64>, limit: u32) -> Result<Vec<CheckpointRecord>>;
    /// Append audit events (and queue their leaves) in one transaction; their ids.
    async fn append_events(&self, events: &[AuditEvent]) -> Result<Vec<i64>>;
    /// Audit events, newest first, of one person or all, before an id.
    async fn audit_events(&self, person: Option<PersonId>, before: Option<i64>, limit: u32) -> Result<Vec<AuditEvent>>;
    /// Audit events matching an auditor's search, newest first.
    async fn audit_search(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>>;
    /// Audit events by id.
    async fn events_by_id(&self, ids: &[i64]) -> Result<Vec<AuditEvent>>;
    /// Entry versions (current and history) in `(id, version)` order after `after`.
    async fn entry_versions_page(&self, after: (i64, i64), limit: u32) -> Result<Vec<StoredEntryVersion>>;
    /// Sealed values of a table after a key, for re-sealing.
    async fn sealed_page(&self, table: SealedTable, after: &SealedKey, limit: u32) -> Result<Vec<SealedRow>>;
    /// Replace sealed values that are still what was read; how many were replaced.
    async fn replace_sealed(&self, table: SealedTable, rows: &[(SealedRow, Vec<u8>)]) -> Result<u64>;
    /// Create an account; its id.
    async fn insert_account(&self, account: &AccountRecord) -> Result<i64>;
    /// The account with this sign-in name.
    async fn account_by_login(&self, login: &str) -> Result<Option<AccountRecord>>;
    /// An account by id.
    async fn account(&self, id: i64) -> Result<Option<AccountRecord>>;
    /// The (first, enabled) resident account of a person: its sign-in name is the phone number
    /// the resident registered with.
    async fn resident_account(&self, person: PersonId) -> Result<Option<AccountRecord>>;
    /// Accounts in id order.
    async fn accounts(&self, after: i64, limit: u32) -> Result<Vec<AccountRecord>>;
    /// Record a sign-in's outcome, atomically: a success clears the failures; a failure counts
    /// one more and locks the account until `lock_until` when it reaches `max_failures`.
    /// Returns the lock now in force, if any.
    async fn record_sign_in(
        &self,
        account: i64,
        success: bool,
        max_failures: i64,
        lock_until: tongdang_core::Timestamp,
    ) -> Result<Option<tongdang_core::Timestamp>>;
    /// Store a session or token.
    async fn insert_session(&self, session: &SessionRecord) -> Result<()>;
    /// Keep a new SMS sign-in code (its hash) unless one was sent after `resend_after`, or
    /// `day_cap` were sent on `day` (`yyyymmdd`) already.
    #[allow(clippy::too_many_arguments)]
    async fn put_sign_in_code(
        &self,
        account: i64,
        hash: &str,
        now: tongdang_core::Timestamp,
        expires: tongdang_core::Timestamp,
        resend_after: tongdang_core::Timestamp,
        day: i32,
        day_cap: i32,
    ) -> Result<bool>;
    /// Spend one attempt of an account's live sign-in code: its hash, unless none is left.
    async fn claim_sign_in_code(&self, account: i64, now: tongdang_core::Timestamp, max_attempts: i32) -> Result<Option<String>>;
    /// Use a sign-in code once: true for the caller that removed it.
    async fn use_sign_in_code(&self, account: i64, hash: &str) -> Result<bool>;
    /// A session by the hash of its token.
    async fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRecord>>;
    /// Revoke a session.
    async fn revoke_session(&self, token_hash: &[u8]) -> Result<()>;
    /// An institution's API keys.
    async fn api_keys_of(&self, institution: &str) -> Result<Vec<ApiKeyRecord>>;
    /// Revoke an institution's key by prefix; whether one was revoked.
    async fn revoke_api_key(&self, institution: &str, prefix: &str) -> Result<bool>;

    /// Store a grant or request: `(id, created)`. A booking's `external_ref` already stored
    /// answers with that grant and `created = false`.
    async fn insert_grant(&self, grant: &GrantRecord) -> Result<(i64, bool)>;
    /// One grant.
    async fn grant(&self, id: i64) -> Result<Option<GrantRecord>>;
    /// Grants matching a filter, newest first.
    async fn grants(&self, filter: &GrantFilter) -> Result<Vec<GrantRecord>>;
    /// Active grants of a person to an institution not ended by `now`.
    async fn grants_in_force(
        &self,
        person: PersonId,
        institution: &str,
        now: tongdang_core::Timestamp,
    ) -> Result<Vec<GrantRecord>>;
    /// Change a grant's status if it is still in one of the expected ones; whether it changed.
    async fn transition_grant(&self, transition: &GrantTransition) -> Result<bool>;
    /// Count one wrong SMS code of a request, locking it at `max_tries`; the tries now, or
    /// `None` if the request was no longer waiting for a code.
    async fn record_code_try(&self, grant: i64, max_tries: i64, at: tongdang_core::Timestamp) -> Result<Option<i64>>;
    /// Record the privacy officer's review of an open emergency access (the record's review
    /// fields and note); whether it was still open.
    async fn review_grant(&self, review: &GrantRecord) -> Result<bool>;
    /// Note that an institution read a person's record; whether this was its first read.
    async fn mark_first_read(&self, person: PersonId, institution: &str, at: tongdang_core::Timestamp) -> Result<bool>;
    /// Record a resident's passed face verification.
    async fn set_face_verified(&self, account: i64, at: tongdang_core::Timestamp) -> Result<()>;
    /// Audit events decided under a grant, newest first.
    async fn audit_events_of_grant(&self, grant: i64, limit: u32) -> Result<Vec<AuditEvent>>;

    /// Returns, newest first.
    async fn returns(&self, filter: &ReturnFilter) -> Result<Vec<ReturnRecord>>;
    /// One return.
    async fn return_by_id(&self, id: i64) -> Result<Option<ReturnRecord>>;
    /// Open returns of these institutions (all if `None`), by age at `now`.
    async fn open_returns_summary(&self, institutions: Option<&[String]>, now: tongdang_core::Timestamp) -> Result<OpenReturns>;
    /// Add quality counters and open returns outside an ingest (a re-check).
    async fn record_quality(&self, counts: &[QualityCounts], returns: &[ReturnRecord]) -> Result<()>;
    /// Quality sums per day and category.
    async fn quality(&self, query: &QualityQuery) -> Result<Vec<QualityCounts>>;
    /// Quality sums per institution over the query's days.
    async fn quality_by_institution(&self, query: &QualityQuery) -> Result<Vec<QualityCounts>>;
    /// What the platform holds of an institution's entries whose current version was received in
    /// `[from, to)`.
    async fn held_entries(
        &self,
        institution: &str,
        from: tongdang_core::Timestamp,
        to: tongdang_core::Timestamp,
        category: Option<i16>,
    ) -> Result<Vec<HeldEntry>>;
    /// Store a reconciliation result; its id.
    async fn insert_reconciliation(&self, record: &ReconciliationRecord) -> Result<i64>;
    /// Reconciliation results (without their lists), newest first.
    async fn reconciliations(
        &self,
        institutions: Option<&[String]>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ReconciliationRecord>>;
    /// One reconciliation result, with its lists.
    async fn reconciliation(&self, id: i64) -> Result<Option<ReconciliationRecord>>;
    /// Store a rule set (false: that version exists).
    async fn insert_rule_set(&self, record: &RuleSetRecord) -> Result<bool>;
    /// Every rule set, newest first.
    async fn rule_sets(&self) -> Result<Vec<RuleSetRecord>>;
    /// Make a rule set the active one, with a re-check of `recheck_total` entries to do.
    async fn activate_rule_set(&self, version: &str, at: tongdang_core::Timestamp, recheck_total: i64) -> Result<bool>;
    /// Record a re-check step that started at `from` and checked up to `after`, with the returns
    /// it opens, in one transaction. False (and nothing written) when another server recorded a
    /// step from `from` first.
    async fn record_recheck(&self, step: &RecheckStep, returns: &[ReturnRecord]) -> Result<bool>;
    /// Entries in id order after `after` (re-checks and trials).
    async fn entries_after(&self, after: i64, limit: u32) -> Result<Vec<EntryRecord>>;
    /// How many entries are stored.
    async fn entry_count(&self) -> Result<i64>;
    /// The lowest and highest entry id (0, 0 when there are none).
    async fn entry_id_bounds(&self) -> Result<(i64, i64)>;

    /// Raise a work order with its first step; `None` when an open quality-check order of the
    /// same source and rule exists already.
    async fn insert_work_order(&self, order: &WorkOrderRecord, step: &WorkOrderStep) -> Result<Option<i64>>;
    /// One work order.
    async fn work_order(&self, id: i64) -> Result<Option<WorkOrderRecord>>;
    /// Work orders, newest first.
    async fn work_orders(&self, filter: &WorkOrderFilter) -> Result<Vec<WorkOrderRecord>>;
    /// Change a work order if it is still in the expected state, with its step.
    async fn change_work_order(&self, change: &WorkOrderChange) -> Result<bool>;
    /// A work order's steps, oldest first.
    async fn work_order_steps(&self, order: i64) -> Result<Vec<WorkOrderStep>>;
    /// `(institution, rules, count)` of open returns failing the same rules, where at least `min`.
    async fn return_clusters(&self, min: i64) -> Result<Vec<(String, String, i64)>>;
    /// Work orders per state.
    async fn work_order_counts(&self) -> Result<Vec<(String, i64)>>;
    /// Work orders whose handler's time ran out at `now`.
    async fn overdue_work_orders(&self, now: tongdang_core::Timestamp, limit: u32) -> Result<Vec<WorkOrderRecord>>;

    /// Work-order figures per source over `[from, to)`.
    async fn work_order_stats(&self, from: tongdang_core::Timestamp, to: tongdang_core::Timestamp)
    -> Result<Vec<WorkOrderStats>>;
    /// `(institution, rules, count)` of returns opened in `[from, to)`.
    async fn return_problems(
        &self,
        from: tongdang_core::Timestamp,
        to: tongdang_core::Timestamp,
    ) -> Result<Vec<(String, String, i64)>>;
    /// The cities' quality rollups per day over days `[from, to]` (`institution` is the rollup key, `city` the city).
    async fn quality_rollups(&self, from: i32, to: i32) -> Result<Vec<QualityCounts>>;
    /// Keep a report; `None` when a scheduled one of its period and scope exists already.
    async fn insert_report(&self, report: &ReportRecord) -> Result<Option<i64>>;
    /// Reports newest first, without their renderings: of a period, of some scopes.
    async fn reports(&self, period: Option<&str>, scopes: Option<&[String]>, limit: u32) -> Result<Vec<ReportRecord>>;
    /// One report with its renderings.
    async fn report(&self, id: i64) -> Result<Option<ReportRecord>>;
    /// Whether the schedule has generated this period's report of this scope.
    async fn has_scheduled_report(&self, period: &str, scope: &str) -> Result<bool>;
    /// Record an institution's integration-test status.
    async fn set_integration_test(&self, test: &IntegrationTest) -> Result<()>;
    /// Every recorded integration test.
    async fn integration_tests(&self) -> Result<Vec<IntegrationTest>>;
    /// When each source first and last had data accepted.
    async fn source_activity(&self) -> Result<Vec<SourceActivity>>;
    /// Institutions holding an API key that is not revoked.
    async fn keyed_institutions(&self) -> Result<Vec<String>>;
    /// Submissions since `since` of some sources (all when `None`): per minute, then per source.
    async fn submission_flow(&self, since: tongdang_core::Timestamp, sources: Option<&[String]>)
    -> Result<Vec<SubmissionMinute>>;
    /// `(channel, status, count)` of grants created since `since`.
    async fn grant_counts(&self, since: tongdang_core::Timestamp) -> Result<Vec<(String, String, i64)>>;
}

/// One ingest step's transaction: look up what is stored, then write, then commit. Dropping it
/// without commit rolls everything back.
#[async_trait]
pub trait IngestTx: Send {
    /// Source keys of the institution for these `(type, id)` pairs.
    async fn source_keys(&mut self, institution: &str, keys: &[TypeAndId]) -> Result<HashMap<TypeAndId, SourceKey>>;
    /// Source ids of the institution's Patient and directory resources by identifier.
    async fn source_ids_by_identifier(
        &mut self,
        institution: &str,
        lookups: &[IdentifierLookup],
    ) -> Result<HashMap<IdentifierLookup, String>>;
    /// Holders of `(system, value)` identifiers.
    async fn persons_holding(&mut self, identifiers: &[(String, String)]) -> Result<HashMap<(String, String), PersonId>>;
    /// Allocate `n` ids of a kind.
    async fn allocate_ids(&mut self, kind: IdKind, n: usize) -> Result<Vec<i64>>;
    /// Hold these identity keys (strong identifiers, blocking keys) until commit, so a
    /// concurrent registration of the same person waits and then sees this one.
    async fn lock_identities(&mut self, keys: &[i64]) -> Result<()>;
    /// `(key, record)` of indexed records under these blocking keys.
    async fn match_hits(&mut self, keys: &[i64]) -> Result<Vec<(i64, i64)>>;
    /// Match records by record id.
    async fn match_records(&mut self, records: &[i64]) -> Result<Vec<MatchRecord>>;
    /// Match records of these persons.
    async fn match_records_of(&mut self, persons: &[PersonId]) -> Result<Vec<MatchRecord>>;
    /// `(person, active survivor)` for those of these persons that were merged away.
    async fn survivors(&mut self, persons: &[PersonId]) -> Result<Vec<(PersonId, PersonId)>>;
    /// Ids of the open returns among these resources of the institution.
    async fn open_returns(&mut self, institution: &str, keys: &[TypeAndId]) -> Result<HashMap<TypeAndId, i64>>;
    /// Entries stored at exactly these `(person, sort time)` points.
    async fn entries_at(&mut self, points: &[(i64, i64)]) -> Result<Vec<SimilarEntry>>;
    /// Write everything in `set`.
    async fn write(&mut self, set: &WriteSet) -> Result<()>;
    /// Make it durable.
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An embedded SQLite database in this directory.
    DataDir(std::path::PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

/// Open (creating if needed) and migrate the store, behind its protection.
pub async fn open(location: &Location, protection: Protection) -> Result<Arc<ProtectedStore>> {
    let inner: Arc<dyn Store> = match location {
        Location::DataDir(dir) => Arc::new(sqlite::SqliteStore::open(dir).await?),
        Location::Postgres(url) => Arc::new(postgres::PgStore::open(url).await?),
    };
    Ok(Arc::new(ProtectedStore::open(inner, protection).await?))
}

/// The SQLite file inside a data directory.
pub fn sqlite_path(dir: &Path) -> std::path::PathBuf {
    dir.join("tongdang.sqlite3")
}

/// A `LIKE` pattern (escape `\`) matching code tokens: `system|code`, `code` in any system, or
/// any code of `system|`.
pub fn code_pattern(system: Option<&str>, code: Option<&str>) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    match (system, code) {
        (Some(s), Some(c)) => format!("%\n{}|{}\n%", esc(s), esc(c)),
        (None, Some(c)) => format!("%|{}\n%", esc(c)),
        (Some(s), None) => format!("%\n{}|%", esc(s)),
        (None, None) => "%".to_string(),
    }
}
