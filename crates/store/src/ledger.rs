//! What the ledger's leaves stand for and how each is hashed, audit events, checkpoints as
//! stored. The tree itself is `tongdang_protection::ledger`; the SQL is `ledger_sql.rs`.

use crate::EntryRecord;
use sha2::{Digest, Sha256};
use tongdang_core::{PersonId, Timestamp};
use tongdang_protection::ledger::{Hash, leaf_hash};

/// What a leaf stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeafKind {
    /// One version of an entry.
    EntryVersion,
    /// An access or administrative event.
    Event,
}

impl LeafKind {
    /// The stored code.
    pub fn code(self) -> i16 {
        match self {
            LeafKind::EntryVersion => 1,
            LeafKind::Event => 2,
        }
    }

    /// From the stored code.
    pub fn from_code(c: i16) -> Option<LeafKind> {
        match c {
            1 => Some(LeafKind::EntryVersion),
            2 => Some(LeafKind::Event),
            _ => None,
        }
    }

    /// Its name in the API.
    pub fn name(self) -> &'static str {
        match self {
            LeafKind::EntryVersion => "entry",
            LeafKind::Event => "event",
        }
    }
}

/// A leaf to append: what it stands for and its RFC 9162 leaf hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLeaf {
    /// Entry version or event.
    pub kind: LeafKind,
    /// The entry or event id.
    pub ref_id: i64,
    /// The entry version (0 for events).
    pub ref_version: i64,
    /// `SHA-256(0x00 || leaf data)`.
    pub hash: Hash,
}

/// The parts of an entry version a leaf commits to; `content` is the stored resource in
/// plaintext. The person is left out: linking and merging move entries between persons.
pub struct EntryVersionFacts<'a> {
    /// Entry id.
    pub id: i64,
    /// Version.
    pub version: i64,
    /// Source institution.
    pub institution: &'a str,
    /// Its id there.
    pub source_id: &'a str,
    /// Status code.
    pub status: i16,
    /// Submission.
    pub submission: i64,
    /// When collected.
    pub collected_at: i64,
    /// The submitted content's digest.
    pub digest: &'a [u8],
    /// The stored resource.
    pub content: &'a [u8],
}

impl EntryVersionFacts<'_> {
    /// The leaf of this entry version.
    pub fn leaf(&self) -> LedgerLeaf {
        let content = Sha256::digest(self.content);
        let data = format!(
            "tongdang/entry/v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.id,
            self.version,
            self.institution,
            self.source_id,
            self.status,
            self.submission,
            self.collected_at,
            data_encoding::HEXLOWER.encode(self.digest),
            data_encoding::HEXLOWER.encode(&content),
        );
        LedgerLeaf { kind: LeafKind::EntryVersion, ref_id: self.id, ref_version: self.version, hash: leaf_hash(data.as_bytes()) }
    }
}

/// The leaf of an entry as written (its `resource` in plaintext).
pub fn entry_leaf(e: &EntryRecord) -> LedgerLeaf {
    EntryVersionFacts {
        id: e.id.0,
        version: e.version,
        institution: &e.institution,
        source_id: &e.source_id,
        status: e.status as i16,
        submission: e.submission,
        collected_at: e.collected_at.0,
        digest: &e.digest,
        content: &e.resource,
    }
    .leaf()
}

/// An access or administrative event. Carries platform ids and codes, never names or numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Id (0 before it is stored).
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// What: `read.timeline`, `read.entry`, `admin.institution`, `auth.sign-in`…
    pub kind: String,
    /// Who: `account:12`, `institution:CODE key:PREFIX`, `cli:keys-rotate`.
    pub actor: String,
    /// The actor's institution.
    pub institution: Option<String>,
    /// Whose record.
    pub person: Option<PersonId>,
    /// `allowed`, `refused`, `ok`, `failed`.
    pub outcome: String,
    /// Details as JSON (categories, grant, reason code, counts).
    pub detail: String,
    /// The grant (or emergency access) the decision was made under; also in `detail`, which
    /// the leaf covers.
    pub grant: Option<i64>,
}

impl AuditEvent {
    /// A new event now.
    pub fn new(kind: &str, actor: &str, outcome: &str) -> AuditEvent {
        AuditEvent {
            id: 0,
            at: Timestamp::now(),
            kind: kind.into(),
            actor: actor.into(),
            institution: None,
            person: None,
            outcome: outcome.into(),
            detail: "{}".into(),
            grant: None,
        }
    }

    /// The leaf of this event (once it has its id).
    pub fn leaf(&self) -> LedgerLeaf {
        let data = format!(
            "tongdang/event/v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.id,
            self.at.0,
            self.kind,
            self.actor,
            self.institution.as_deref().unwrap_or("-"),
            self.person.map_or("-".to_string(), |p| p.0.to_string()),
            self.outcome,
            self.detail,
        );
        LedgerLeaf { kind: LeafKind::Event, ref_id: self.id, ref_version: 0, hash: leaf_hash(data.as_bytes()) }
    }
}

/// Which audit events to find (an auditor's search), newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// About one person.
    pub person: Option<PersonId>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub to: Option<Timestamp>,
    /// With one of these outcomes (empty: any).
    pub outcomes: Vec<String>,
    /// Ids below this.
    pub before: Option<i64>,
    /// At most.
    pub limit: u32,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRecord {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// When signed.
    pub at: Timestamp,
    /// Signing key.
    pub key_id: u32,
    /// Signature.
    pub signature: Vec<u8>,
    /// The signed note's text.
    pub note: String,
}

/// A leaf as stored: its index, what it stands for, and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLeaf {
    /// Index in the log.
    pub index: u64,
    /// What it stands for.
    pub kind: LeafKind,
    /// Entry or event id.
    pub ref_id: i64,
    /// Entry version.
    pub ref_version: i64,
    /// Its hash (level-0 node).
    pub hash: Hash,
}
