//! The protected store: the only way the rest of Tongdang reaches the database. It wraps a
//! dialect's store and, at this edge, seals every resource, identifier value, demographic
//! record and account name with the active data key (AEAD bound to the row), replaces
//! identifier values and blocking keys by keyed blind indexes, computes the ledger leaf of
//! every entry version it writes, and opens what it reads. The SQL below it sees no plaintext
//! personal data.

use crate::ledger::entry_leaf;
use crate::*;
use std::sync::RwLock;
use tongdang_core::Timestamp;
use tongdang_protection::checkpoint::{Checkpoint, SignedCheckpoint};
use tongdang_protection::ledger::{Plan, empty_root};
use tongdang_protection::{KeyProvider, KeyPurpose, KeyState, Keyring, ProtectionError, StoredKey, Suite};

/// How to protect a store: the master key's provider, the suite of new keys, the ledger's name.
#[derive(Clone)]
pub struct Protection {
    /// Unwraps the data keys.
    pub provider: Arc<dyn KeyProvider>,
    /// The suite of keys created from now on.
    pub suite: Suite,
    /// The ledger's origin line in checkpoints.
    pub origin: String,
}

/// The default origin of the ledger.
pub const DEFAULT_ORIGIN: &str = "tongdang.gd/ledger";

/// The protected store (see the module documentation).
pub struct ProtectedStore {
    inner: Arc<dyn Store>,
    protection: Protection,
    ring: RwLock<Arc<Keyring>>,
}

fn protection_error(what: impl Into<String>) -> impl FnOnce(ProtectionError) -> StoreError {
    let what = what.into();
    move |source| StoreError::Protection { what, source }
}

fn entry_context(id: i64, version: i64) -> Vec<u8> {
    format!("entry:{id}:{version}").into_bytes()
}
fn patient_context(id: i64, version: i64) -> Vec<u8> {
    format!("patient:{id}:{version}").into_bytes()
}
fn directory_context(id: i64, version: i64) -> Vec<u8> {
    format!("directory:{id}:{version}").into_bytes()
}
fn identifier_context(system: &str, blind: &str) -> Vec<u8> {
    format!("identifier:{system}:{blind}").into_bytes()
}
fn match_context(record: i64) -> Vec<u8> {
    format!("match:{record}").into_bytes()
}
fn account_context(login_blind: &str) -> Vec<u8> {
    format!("account:{login_blind}").into_bytes()
}

/// The context a sealed row was sealed with.
fn sealed_context(table: SealedTable, key: &SealedKey) -> Vec<u8> {
    match (table, key) {
        (SealedTable::Entries | SealedTable::EntryHistory, SealedKey::Id(id, v)) => entry_context(*id, *v),
        (SealedTable::PatientRecords, SealedKey::Id(id, v)) => patient_context(*id, *v),
        (SealedTable::Directory, SealedKey::Id(id, v)) => directory_context(*id, *v),
        (SealedTable::MatchRecords, SealedKey::Id(id, _)) => match_context(*id),
        (SealedTable::PersonIdentifiers, SealedKey::Text(system, blind)) => identifier_context(system, blind),
        (SealedTable::Accounts, SealedKey::Text(login, _)) => account_context(login),
        (SealedTable::Grants, SealedKey::Id(..)) => GRANT_TEXT.to_vec(),
        (SealedTable::WorkOrders | SealedTable::WorkOrderSteps, SealedKey::Id(..)) => WORK_ORDER_TEXT.to_vec(),
        _ => b"mismatched key".to_vec(),
    }
}

/// The context of operators' free text (reasons of index operations, review notes): it may name
/// a person, and has no row of its own before it is written.
const OPERATOR_TEXT: &[u8] = b"operator-text";

/// The context of a grant's evidence and review note: sealed before the row has its id.
const GRANT_TEXT: &[u8] = b"grant";

/// The context of work orders' free text (title, description, explanation, step notes): sealed
/// before the row has its id.
const WORK_ORDER_TEXT: &[u8] = b"work-order";

fn seal_order_text(ring: &Keyring, o: &crate::WorkOrderRecord) -> Vec<u8> {
    let text = serde_json::json!({"title": o.title, "description": o.description, "explanation": o.explanation});
    ring.seal(WORK_ORDER_TEXT, text.to_string().as_bytes())
}

fn seal_step_note(ring: &Keyring, s: &crate::WorkOrderStep) -> Option<Vec<u8>> {
    (!s.note.is_empty()).then(|| ring.seal(WORK_ORDER_TEXT, s.note.as_bytes()))
}

fn open_order_text(store: &ProtectedStore, ring: &Keyring, mut o: crate::WorkOrderRecord) -> Result<crate::WorkOrderRecord> {
    let plain = store.open_with(ring, WORK_ORDER_TEXT, &o.sealed, format!("work order {}", o.id))?;
    let v: serde_json::Value =
        serde_json::from_slice(&plain).map_err(|_| StoreError::Corrupt(format!("work order {} text", o.id)))?;
    let field = |k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_string();
    o.title = field("title");
    o.description = field("description");
    o.explanation = field("explanation");
    o.sealed = Vec::new();
    Ok(o)
}

/// What of a grant is sealed.
#[derive(serde::Serialize, serde::Deserialize)]
struct GrantSecrets {
    evidence: String,
    #[serde(default)]
    review_note: String,
}

/// The blind-index domain of identifier values.
const ID_DOMAIN: &str = "id";
/// The blind-index domain of sign-in names.
const LOGIN_DOMAIN: &str = "login";

#[derive(serde::Serialize, serde::Deserialize)]
struct AccountSecrets {
    login: String,
    display_name: String,
}

impl ProtectedStore {
    /// Wrap a dialect's store: load its keys with the master key (creating them in an empty
    /// database), refusing a wrong master key or a database holding unprotected data.
    pub async fn open(inner: Arc<dyn Store>, protection: Protection) -> Result<ProtectedStore> {
        let mut keys = inner.protection_keys().await?;
        if keys.is_empty() {
            let c = inner.counts().await?;
            if c.persons > 0 || c.entries > 0 {
                return Err(StoreError::Protection {
                    what: "database".into(),
                    source: ProtectionError::Keyring(
                        "it holds records written before encryption at rest (schema 3); import them into a new data directory"
                            .into(),
                    ),
                });
            }
            let p = protection.provider.as_ref();
            keys = vec![
                StoredKey::generate(1, KeyPurpose::Data, protection.suite, p),
                StoredKey::generate(2, KeyPurpose::Index, protection.suite, p),
                StoredKey::generate(3, KeyPurpose::Signing, protection.suite, p),
            ];
            keys[0].state = KeyState::Active;
            // Another process may be creating them at the same moment: the first one's stay.
            inner.save_protection_keys(&keys, false).await?;
            keys = inner.protection_keys().await?;
        }
        let ring = Keyring::load(&keys, protection.provider.as_ref()).map_err(protection_error("keys"))?;
        Ok(ProtectedStore { inner, protection, ring: RwLock::new(Arc::new(ring)) })
    }

    /// The keys in use.
    pub fn keyring(&self) -> Arc<Keyring> {
        self.ring.read().expect("keyring lock").clone()
    }

    /// Read the keys again (another process rotated them).
    pub async fn reload_keys(&self) -> Result<()> {
        let keys = self.inner.protection_keys().await?;
        let ring = Keyring::load(&keys, self.protection.provider.as_ref()).map_err(protection_error("keys"))?;
        *self.ring.write().expect("keyring lock") = Arc::new(ring);
        Ok(())
    }

    /// The ledger's name.
    pub fn origin(&self) -> &str {
        &self.protection.origin
    }

    fn open_with(&self, ring: &Keyring, context: &[u8], sealed: &[u8], what: impl Into<String>) -> Result<Vec<u8>> {
        ring.open(context, sealed).map_err(protection_error(what))
    }

    fn open_entry(&self, ring: &Keyring, mut e: EntryRecord) -> Result<EntryRecord> {
        e.resource = self.open_with(
            ring,
            &entry_context(e.id.0, e.version),
            &e.resource,
            format!("entry {} version {}", e.id.0, e.version),
        )?;
        Ok(e)
    }

    fn open_patient(&self, ring: &Keyring, mut p: PatientRecord) -> Result<PatientRecord> {
        p.resource = self.open_with(ring, &patient_context(p.id, p.version), &p.resource, format!("patient record {}", p.id))?;
        Ok(p)
    }

    fn open_directory(&self, ring: &Keyring, mut d: DirectoryRecord) -> Result<DirectoryRecord> {
        d.resource =
            self.open_with(ring, &directory_context(d.id, d.version), &d.resource, format!("directory resource {}", d.id))?;
        Ok(d)
    }

    fn seal_match(ring: &Keyring, w: &MatchRecordWrite) -> MatchRecordWrite {
        let sealed = ring.seal(&match_context(w.record.record), w.record.demographics.as_bytes());
        MatchRecordWrite {
            record: MatchRecord { demographics: data_encoding::BASE64.encode(&sealed), ..w.record.clone() },
            keys: w.keys.iter().map(|k| ring.blind_block_key(*k)).collect(),
            replaces: w.replaces,
        }
    }

    fn open_account(&self, ring: &Keyring, mut a: AccountRecord) -> Result<AccountRecord> {
        let plain = self.open_with(ring, &account_context(&a.login), &a.sealed, format!("account {}", a.id))?;
        let s: AccountSecrets = serde_json::from_slice(&plain).map_err(|_| StoreError::Corrupt(format!("account {}", a.id)))?;
        a.login = s.login;
        a.display_name = s.display_name;
        Ok(a)
    }

    fn seal_grant(&self, g: &GrantRecord) -> Vec<u8> {
        let secrets = GrantSecrets { evidence: g.evidence.clone(), review_note: g.review_note.clone() };
        self.keyring().seal(GRANT_TEXT, &serde_json::to_vec(&secrets).expect("strings serialize"))
    }

    fn open_grant(&self, ring: &Keyring, mut g: GrantRecord) -> Result<GrantRecord> {
        let plain = self.open_with(ring, GRANT_TEXT, &g.sealed, format!("grant {}", g.id))?;
        let s: GrantSecrets = serde_json::from_slice(&plain).map_err(|_| StoreError::Corrupt(format!("grant {}", g.id)))?;
        g.evidence = s.evidence;
        g.review_note = s.review_note;
        Ok(g)
    }

    fn seal_text(&self, text: &str) -> String {
        data_encoding::BASE64.encode(&self.keyring().seal(OPERATOR_TEXT, text.as_bytes()))
    }

    fn open_text(&self, ring: &Keyring, sealed: &str, what: &str) -> Result<String> {
        let bytes = data_encoding::BASE64
            .decode(sealed.as_bytes())
            .map_err(|_| protection_error(what.to_string())(ProtectionError::Malformed))?;
        let plain = self.open_with(ring, OPERATOR_TEXT, &bytes, what.to_string())?;
        String::from_utf8(plain).map_err(|_| StoreError::Corrupt(what.to_string()))
    }

    fn open_event(&self, ring: &Keyring, mut e: MpiEvent) -> Result<MpiEvent> {
        e.reason = self.open_text(ring, &e.reason, &format!("index event {}", e.id))?;
        Ok(e)
    }

    fn open_review(&self, ring: &Keyring, mut r: ReviewItem) -> Result<ReviewItem> {
        if let Some(n) = &r.note {
            r.note = Some(self.open_text(ring, n, &format!("review {}", r.id))?);
        }
        Ok(r)
    }

    /// Append every queued leaf to the tree; the new size.
    pub async fn sequence_all(&self) -> Result<u64> {
        loop {
            let (appended, size) = self.inner.ledger_sequence(10_000).await?;
            if appended == 0 {
                return Ok(size);
            }
        }
    }

    /// The root of the tree of `size` leaves, from its stored nodes.
    pub async fn root_at(&self, size: u64) -> Result<tongdang_protection::ledger::Hash> {
        if size == 0 {
            return Ok(empty_root());
        }
        let plan = Plan::root(size);
        let nodes = self.inner.ledger_nodes(&plan.needed()).await?;
        plan.assemble(&nodes).and_then(|v| v.first().copied()).ok_or_else(|| StoreError::Corrupt("ledger node missing".into()))
    }

    /// Sequence what is queued and sign a checkpoint of the tree (or return the latest one
    /// when nothing was added since).
    pub async fn checkpoint(&self) -> Result<CheckpointRecord> {
        let size = self.sequence_all().await?;
        if let Some(latest) = self.inner.checkpoints(None, 1).await?.into_iter().next()
            && latest.size == size
        {
            return Ok(latest);
        }
        let root = self.root_at(size).await?;
        let ring = self.keyring();
        let (key_id, _, key) = ring.signer();
        let cp = Checkpoint { origin: self.protection.origin.clone(), size, root, time: Timestamp::now().0 };
        let signed = SignedCheckpoint::sign(cp, key_id, key);
        let record = CheckpointRecord {
            size,
            root,
            at: Timestamp(signed.checkpoint.time),
            key_id,
            signature: signed.signature.clone(),
            note: signed.to_note(),
        };
        self.inner.insert_checkpoint(&record).await?;
        Ok(record)
    }

    /// The audit path of a leaf in the tree of `size` leaves.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<tongdang_protection::ledger::Hash>> {
        let plan = Plan::inclusion(index, size);
        let nodes = self.inner.ledger_nodes(&plan.needed()).await?;
        plan.assemble(&nodes).ok_or_else(|| StoreError::Corrupt("ledger node missing".into()))
    }

    /// The consistency proof between two tree sizes.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<tongdang_protection::ledger::Hash>> {
        let plan = Plan::consistency(old, new);
        let nodes = self.inner.ledger_nodes(&plan.needed()).await?;
        plan.assemble(&nodes).ok_or_else(|| StoreError::Corrupt("ledger node missing".into()))
    }

    /// Introduce a new data key (of `suite`, or the configured one), pending: every process
    /// that reloads its keys can open values sealed with it; see [`ProtectedStore::activate_key`].
    pub async fn add_data_key(&self, suite: Option<Suite>) -> Result<u32> {
        let keys = self.inner.protection_keys().await?;
        let id = keys.iter().map(|k| k.id).max().unwrap_or(0) + 1;
        let suite = suite.unwrap_or(self.protection.suite);
        let key = StoredKey::generate(id, KeyPurpose::Data, suite, self.protection.provider.as_ref());
        self.inner.save_protection_keys(std::slice::from_ref(&key), false).await?;
        // A concurrent rotation may have taken the id: use the key that is stored under it.
        self.reload_keys().await?;
        Ok(id)
    }

    /// Seal with data key `id` from now on; the others are retired (they still open what they
    /// sealed until [`ProtectedStore::reseal`] has replaced it).
    pub async fn activate_key(&self, id: u32) -> Result<()> {
        let mut keys = self.inner.protection_keys().await?;
        if !keys.iter().any(|k| k.id == id && k.purpose == KeyPurpose::Data) {
            return Err(StoreError::NotFound(format!("data key {id}")));
        }
        for k in keys.iter_mut().filter(|k| k.purpose == KeyPurpose::Data) {
            k.state = if k.id == id { KeyState::Active } else { KeyState::Retired };
        }
        self.inner.save_protection_keys(&keys, true).await?;
        self.reload_keys().await
    }

    /// Add a data key and seal with it at once (one process; `tongdang keys rotate` waits
    /// between the two so other servers can read what the new key seals).
    pub async fn rotate_data_key(&self, suite: Option<Suite>) -> Result<u32> {
        let id = self.add_data_key(suite).await?;
        self.activate_key(id).await?;
        Ok(id)
    }

    /// Re-seal every value not sealed with the active data key, table by table, in pages;
    /// `progress(table, done)` after each page. Values written meanwhile are left as they are
    /// (they already use the active key). The number re-sealed.
    pub async fn reseal(&self, mut progress: impl FnMut(SealedTable, u64)) -> Result<u64> {
        let mut total = 0;
        for table in SealedTable::ALL {
            let mut after = match table {
                SealedTable::PersonIdentifiers | SealedTable::Accounts => SealedKey::Text(String::new(), String::new()),
                _ => SealedKey::Id(i64::MIN, i64::MIN),
            };
            let mut done = 0;
            loop {
                let mut page = self.inner.sealed_page(table, &after, 1000).await?;
                // Identifier values repeat (one row per record holding them, each sealed apart):
                // a full page ends before the last value, so the next page takes all its rows.
                if page.len() == 1000 && table == SealedTable::PersonIdentifiers {
                    let last = page[page.len() - 1].key.clone();
                    let keep = page.iter().rposition(|r| r.key != last).map_or(page.len(), |i| i + 1);
                    page.truncate(keep);
                }
                let Some(last) = page.last() else { break };
                after = last.key.clone();
                let ring = self.keyring();
                let mut rows = Vec::new();
                for row in page {
                    let bytes = if table == SealedTable::MatchRecords {
                        data_encoding::BASE64.decode(&row.sealed).map_err(|_| StoreError::Corrupt("match record".into()))?
                    } else {
                        row.sealed.clone()
                    };
                    if Keyring::key_of(&bytes).map_err(protection_error(format!("{table:?}")))? == ring.active_key() {
                        continue;
                    }
                    let context = sealed_context(table, &row.key);
                    let plain = self.open_with(&ring, &context, &bytes, format!("{table:?} {:?}", row.key))?;
                    let fresh = ring.seal(&context, &plain);
                    let stored = if table == SealedTable::MatchRecords {
                        data_encoding::BASE64.encode(&fresh).into_bytes()
                    } else {
                        fresh
                    };
                    rows.push((row, stored));
                }
                let n = self.inner.replace_sealed(table, &rows).await?;
                done += n;
                total += n;
                progress(table, done);
            }
        }
        Ok(total)
    }

    /// Wrap every key under a new master key (the data stays as it is).
    pub async fn rewrap(&self, to: &dyn KeyProvider) -> Result<usize> {
        let keys = self.inner.protection_keys().await?;
        let from = self.protection.provider.as_ref();
        let rewrapped = keys
            .iter()
            .map(|k| k.rewrap(from, to))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(protection_error("keys"))?;
        self.inner.save_protection_keys(&rewrapped, true).await?;
        Ok(rewrapped.len())
    }

    /// Open an entry version's sealed resource (verification).
    pub fn open_entry_version(&self, v: &StoredEntryVersion) -> Result<Vec<u8>> {
        self.open_with(
            &self.keyring(),
            &entry_context(v.id, v.version),
            &v.resource,
            format!("entry {} version {}", v.id, v.version),
        )
    }
}

struct ProtectedTx {
    inner: Box<dyn IngestTx>,
    ring: Arc<Keyring>,
}

/// Seal a write set: resources, identifier values and demographics; blind the identifier
/// values and blocking keys; add the ledger leaf of every entry version.
fn seal_write_set(ring: &Keyring, set: &WriteSet) -> WriteSet {
    let entries: Vec<EntryRecord> = set
        .entries
        .iter()
        .map(|e| EntryRecord { resource: ring.seal(&entry_context(e.id.0, e.version), &e.resource), ..e.clone() })
        .collect();
    let mut ledger = set.ledger.clone();
    ledger.extend(set.entries.iter().map(entry_leaf));
    WriteSet {
        new_persons: set.new_persons.clone(),
        person_identifiers: set
            .person_identifiers
            .iter()
            .map(|i| {
                let blind = ring.blind(ID_DOMAIN, &i.value);
                PersonIdentifier {
                    sealed: Some(ring.seal(&identifier_context(&i.system, &blind), i.value.as_bytes())),
                    value: blind,
                    ..i.clone()
                }
            })
            .collect(),
        source_keys: set.source_keys.clone(),
        source_identifiers: set
            .source_identifiers
            .iter()
            .map(|i| SourceIdentifier { value: ring.blind(ID_DOMAIN, &i.value), ..i.clone() })
            .collect(),
        replaced_identifiers: set.replaced_identifiers.clone(),
        patients: set
            .patients
            .iter()
            .map(|p| PatientRecord { resource: ring.seal(&patient_context(p.id, p.version), &p.resource), ..p.clone() })
            .collect(),
        directory: set
            .directory
            .iter()
            .map(|d| DirectoryRecord { resource: ring.seal(&directory_context(d.id, d.version), &d.resource), ..d.clone() })
            .collect(),
        entries,
        match_records: set.match_records.iter().map(|w| ProtectedStore::seal_match(ring, w)).collect(),
        reviews: set.reviews.clone(),
        ledger,
        // Returns and quality counters name resources and rules, never content.
        returns: set.returns.clone(),
        closed_returns: set.closed_returns.clone(),
        quality: set.quality.clone(),
    }
}

fn open_matches(ring: &Keyring, records: Vec<MatchRecord>) -> Result<Vec<MatchRecord>> {
    records
        .into_iter()
        .map(|mut m| {
            let what = format!("match record {}", m.record);
            let bytes = data_encoding::BASE64
                .decode(m.demographics.as_bytes())
                .map_err(|_| protection_error(what.clone())(ProtectionError::Malformed))?;
            let plain = ring.open(&match_context(m.record), &bytes).map_err(protection_error(what.clone()))?;
            m.demographics = String::from_utf8(plain).map_err(|_| StoreError::Corrupt(what))?;
            Ok(m)
        })
        .collect()
}

/// Blind the keys of a look-up and remember each blind key's original.
fn blinded<K: Clone + Eq + std::hash::Hash>(items: &[K], blind: impl Fn(&K) -> K) -> (Vec<K>, HashMap<K, K>) {
    let mut back = HashMap::with_capacity(items.len());
    let out = items
        .iter()
        .map(|k| {
            let b = blind(k);
            back.insert(b.clone(), k.clone());
            b
        })
        .collect();
    (out, back)
}

#[async_trait]
impl IngestTx for ProtectedTx {
    async fn source_keys(&mut self, institution: &str, keys: &[TypeAndId]) -> Result<HashMap<TypeAndId, SourceKey>> {
        self.inner.source_keys(institution, keys).await
    }

    async fn source_ids_by_identifier(
        &mut self,
        institution: &str,
        lookups: &[IdentifierLookup],
    ) -> Result<HashMap<IdentifierLookup, String>> {
        let ring = self.ring.clone();
        let (blind, back) = blinded(lookups, |(t, s, v)| (t.clone(), s.clone(), ring.blind(ID_DOMAIN, v)));
        let found = self.inner.source_ids_by_identifier(institution, &blind).await?;
        Ok(found.into_iter().filter_map(|(k, v)| back.get(&k).map(|orig| (orig.clone(), v))).collect())
    }

    async fn persons_holding(&mut self, identifiers: &[(String, String)]) -> Result<HashMap<(String, String), PersonId>> {
        let ring = self.ring.clone();
        let (blind, back) = blinded(identifiers, |(s, v)| (s.clone(), ring.blind(ID_DOMAIN, v)));
        let found = self.inner.persons_holding(&blind).await?;
        Ok(found.into_iter().filter_map(|(k, p)| back.get(&k).map(|orig| (orig.clone(), p))).collect())
    }

    async fn allocate_ids(&mut self, kind: IdKind, n: usize) -> Result<Vec<i64>> {
        self.inner.allocate_ids(kind, n).await
    }

    async fn lock_identities(&mut self, keys: &[i64]) -> Result<()> {
        self.inner.lock_identities(keys).await
    }

    async fn match_hits(&mut self, keys: &[i64]) -> Result<Vec<(i64, i64)>> {
        let ring = self.ring.clone();
        let (blind, back) = blinded(keys, |k| ring.blind_block_key(*k));
        let hits = self.inner.match_hits(&blind).await?;
        Ok(hits.into_iter().filter_map(|(k, r)| back.get(&k).map(|orig| (*orig, r))).collect())
    }

    async fn match_records(&mut self, records: &[i64]) -> Result<Vec<MatchRecord>> {
        let found = self.inner.match_records(records).await?;
        open_matches(&self.ring, found)
    }

    async fn match_records_of(&mut self, persons: &[PersonId]) -> Result<Vec<MatchRecord>> {
        let found = self.inner.match_records_of(persons).await?;
        open_matches(&self.ring, found)
    }

    async fn survivors(&mut self, persons: &[PersonId]) -> Result<Vec<(PersonId, PersonId)>> {
        self.inner.survivors(persons).await
    }

    async fn open_returns(&mut self, institution: &str, keys: &[TypeAndId]) -> Result<HashMap<TypeAndId, i64>> {
        self.inner.open_returns(institution, keys).await
    }

    async fn entries_at(&mut self, points: &[(i64, i64)]) -> Result<Vec<crate::SimilarEntry>> {
        self.inner.entries_at(points).await
    }

    async fn write(&mut self, set: &WriteSet) -> Result<()> {
        let sealed = seal_write_set(&self.ring, set);
        self.inner.write(&sealed).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.inner.commit().await
    }
}

#[async_trait]
impl Store for ProtectedStore {
    fn dialect(&self) -> &'static str {
        self.inner.dialect()
    }

    async fn upsert_institution(&self, institution: &Institution) -> Result<()> {
        self.inner.upsert_institution(institution).await
    }

    async fn institution(&self, code: &InstitutionCode) -> Result<Option<Institution>> {
        self.inner.institution(code).await
    }

    async fn institutions(&self) -> Result<Vec<Institution>> {
        self.inner.institutions().await
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord, revoke_others: bool) -> Result<()> {
        self.inner.insert_api_key(key, revoke_others).await
    }

    async fn api_key(&self, hash: &[u8]) -> Result<Option<ApiKeyRecord>> {
        self.inner.api_key(hash).await
    }

    async fn begin_ingest(&self, institution: &InstitutionCode) -> Result<Box<dyn IngestTx>> {
        let inner = self.inner.begin_ingest(institution).await?;
        Ok(Box::new(ProtectedTx { inner, ring: self.keyring() }))
    }

    async fn submission(&self, id: i64) -> Result<Option<SubmissionRecord>> {
        self.inner.submission(id).await
    }

    async fn record_submission(&self, submission: &SubmissionRecord) -> Result<()> {
        self.inner.record_submission(submission).await
    }

    async fn allocate_ids(&self, kind: IdKind, n: usize) -> Result<Vec<i64>> {
        self.inner.allocate_ids(kind, n).await
    }

    async fn entries(&self, query: &EntryQuery) -> Result<Vec<EntryRecord>> {
        let ring = self.keyring();
        self.inner.entries(query).await?.into_iter().map(|e| self.open_entry(&ring, e)).collect()
    }

    async fn entry(&self, id: EntryId) -> Result<Option<EntryRecord>> {
        let ring = self.keyring();
        self.inner.entry(id).await?.map(|e| self.open_entry(&ring, e)).transpose()
    }

    async fn person_exists(&self, person: PersonId) -> Result<bool> {
        self.inner.person_exists(person).await
    }

    async fn persons(&self, after: Option<PersonId>, limit: u32) -> Result<Vec<PersonId>> {
        self.inner.persons(after, limit).await
    }

    async fn patient_records(&self, person: PersonId) -> Result<Vec<PatientRecord>> {
        let ring = self.keyring();
        self.inner.patient_records(person).await?.into_iter().map(|p| self.open_patient(&ring, p)).collect()
    }

    async fn person_identifiers(&self, person: PersonId) -> Result<Vec<PersonIdentifier>> {
        let ring = self.keyring();
        let mut out: Vec<PersonIdentifier> = self
            .inner
            .person_identifiers(person)
            .await?
            .into_iter()
            .map(|i| {
                let what = format!("identifier of person {}", i.person.0);
                let sealed = i.sealed.as_deref().ok_or_else(|| protection_error(what.clone())(ProtectionError::Malformed))?;
                let plain = self.open_with(&ring, &identifier_context(&i.system, &i.value), sealed, what.clone())?;
                Ok(PersonIdentifier {
                    value: String::from_utf8(plain).map_err(|_| StoreError::Corrupt(what))?,
                    sealed: None,
                    ..i
                })
            })
            .collect::<Result<_>>()?;
        out.sort_by(|a, b| (&a.system, &a.value).cmp(&(&b.system, &b.value)));
        Ok(out)
    }

    async fn persons_by_identifier(&self, system: Option<&str>, value: &str) -> Result<Vec<PersonId>> {
        let blind = self.keyring().blind(ID_DOMAIN, value);
        self.inner.persons_by_identifier(system, &blind).await
    }

    async fn directory_resource(&self, resource_type: &str, id: i64) -> Result<Option<DirectoryRecord>> {
        let ring = self.keyring();
        self.inner.directory_resource(resource_type, id).await?.map(|d| self.open_directory(&ring, d)).transpose()
    }

    async fn directory_resources(&self, ids: &[i64]) -> Result<Vec<DirectoryRecord>> {
        let ring = self.keyring();
        self.inner.directory_resources(ids).await?.into_iter().map(|d| self.open_directory(&ring, d)).collect()
    }

    async fn counts(&self) -> Result<Counts> {
        self.inner.counts().await
    }

    async fn person_status(&self, person: PersonId) -> Result<Option<PersonStatus>> {
        self.inner.person_status(person).await
    }

    async fn relink(&self, op: &RelinkOp, actor: &str, reason: &str) -> Result<MpiEvent> {
        let event = self.inner.relink(op, actor, &self.seal_text(reason)).await?;
        self.open_event(&self.keyring(), event)
    }

    async fn patient_records_page(&self, after: i64, limit: u32) -> Result<Vec<PatientRecord>> {
        let ring = self.keyring();
        self.inner.patient_records_page(after, limit).await?.into_iter().map(|p| self.open_patient(&ring, p)).collect()
    }

    async fn patient_record_person(&self, record: i64) -> Result<Option<PersonId>> {
        self.inner.patient_record_person(record).await
    }

    async fn mpi_events(&self, person: PersonId) -> Result<Vec<MpiEvent>> {
        let ring = self.keyring();
        self.inner.mpi_events(person).await?.into_iter().map(|e| self.open_event(&ring, e)).collect()
    }

    async fn reviews(&self, status: Option<&str>, after: i64, limit: u32) -> Result<Vec<ReviewItem>> {
        let ring = self.keyring();
        self.inner.reviews(status, after, limit).await?.into_iter().map(|r| self.open_review(&ring, r)).collect()
    }

    async fn decide_review(&self, id: i64, link: bool, actor: &str, note: &str) -> Result<(ReviewItem, Option<MpiEvent>)> {
        let (item, event) = self.inner.decide_review(id, link, actor, &self.seal_text(note)).await?;
        let ring = self.keyring();
        Ok((self.open_review(&ring, item)?, event.map(|e| self.open_event(&ring, e)).transpose()?))
    }

    async fn links(&self, after: i64, limit: u32) -> Result<Vec<LinkRow>> {
        self.inner.links(after, limit).await
    }

    async fn mpi_counts(&self) -> Result<MpiCounts> {
        self.inner.mpi_counts().await
    }

    async fn match_records_page(&self, after: i64, limit: u32) -> Result<Vec<MatchRecord>> {
        let ring = self.keyring();
        open_matches(&ring, self.inner.match_records_page(after, limit).await?)
    }

    async fn match_records_with_keys(&self, keys: &[i64], limit: u32) -> Result<Vec<MatchRecord>> {
        let ring = self.keyring();
        let blind: Vec<i64> = keys.iter().map(|k| ring.blind_block_key(*k)).collect();
        open_matches(&ring, self.inner.match_records_with_keys(&blind, limit).await?)
    }

    async fn match_records_of(&self, persons: &[PersonId]) -> Result<Vec<MatchRecord>> {
        let ring = self.keyring();
        open_matches(&ring, self.inner.match_records_of(persons).await?)
    }

    async fn write_match_records(&self, records: &[MatchRecordWrite]) -> Result<()> {
        let ring = self.keyring();
        let sealed: Vec<MatchRecordWrite> = records.iter().map(|w| Self::seal_match(&ring, w)).collect();
        self.inner.write_match_records(&sealed).await
    }

    async fn match_parameters(&self) -> Result<Option<String>> {
        self.inner.match_parameters().await
    }

    async fn save_match_parameters(&self, json: &str) -> Result<()> {
        self.inner.save_match_parameters(json).await
    }

    async fn protection_keys(&self) -> Result<Vec<StoredKey>> {
        self.inner.protection_keys().await
    }

    async fn save_protection_keys(&self, keys: &[StoredKey], replace: bool) -> Result<()> {
        self.inner.save_protection_keys(keys, replace).await
    }

    async fn ledger_sequence(&self, limit: usize) -> Result<(u64, u64)> {
        self.inner.ledger_sequence(limit).await
    }

    async fn ledger_counts(&self) -> Result<(u64, u64)> {
        self.inner.ledger_counts().await
    }

    async fn ledger_nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>> {
        self.inner.ledger_nodes(ids).await
    }

    async fn ledger_node_page(&self, after: Option<NodeId>, limit: u32) -> Result<Vec<(NodeId, Hash)>> {
        self.inner.ledger_node_page(after, limit).await
    }

    async fn ledger_leaves_page(&self, after: Option<u64>, limit: u32) -> Result<Vec<StoredLeaf>> {
        self.inner.ledger_leaves_page(after, limit).await
    }

    async fn ledger_leaf_index(&self, kind: LeafKind, ref_id: i64, ref_version: i64) -> Result<Option<u64>> {
        self.inner.ledger_leaf_index(kind, ref_id, ref_version).await
    }

    async fn ledger_queued(&self, kind: LeafKind, ref_id: i64, ref_version: i64) -> Result<bool> {
        self.inner.ledger_queued(kind, ref_id, ref_version).await
    }

    async fn insert_checkpoint(&self, checkpoint: &CheckpointRecord) -> Result<()> {
        self.inner.insert_checkpoint(checkpoint).await
    }

    async fn checkpoints(&self, before: Option<u64>, limit: u32) -> Result<Vec<CheckpointRecord>> {
        self.inner.checkpoints(before, limit).await
    }

    async fn append_events(&self, events: &[AuditEvent]) -> Result<Vec<i64>> {
        self.inner.append_events(events).await
    }

    async fn audit_events(&self, person: Option<PersonId>, before: Option<i64>, limit: u32) -> Result<Vec<AuditEvent>> {
        self.inner.audit_events(person, before, limit).await
    }

    async fn audit_search(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.inner.audit_search(query).await
    }

    async fn events_by_id(&self, ids: &[i64]) -> Result<Vec<AuditEvent>> {
        self.inner.events_by_id(ids).await
    }

    async fn entry_versions_page(&self, after: (i64, i64), limit: u32) -> Result<Vec<StoredEntryVersion>> {
        self.inner.entry_versions_page(after, limit).await
    }

    async fn sealed_page(&self, table: SealedTable, after: &SealedKey, limit: u32) -> Result<Vec<SealedRow>> {
        self.inner.sealed_page(table, after, limit).await
    }

    async fn replace_sealed(&self, table: SealedTable, rows: &[(SealedRow, Vec<u8>)]) -> Result<u64> {
        self.inner.replace_sealed(table, rows).await
    }

    async fn insert_account(&self, account: &AccountRecord) -> Result<i64> {
        let ring = self.keyring();
        let login = ring.blind(LOGIN_DOMAIN, &account.login);
        let secrets =
            serde_json::to_vec(&AccountSecrets { login: account.login.clone(), display_name: account.display_name.clone() })
                .expect("strings serialize");
        let sealed = ring.seal(&account_context(&login), &secrets);
        self.inner.insert_account(&AccountRecord { login, display_name: String::new(), sealed, ..account.clone() }).await
    }

    async fn account_by_login(&self, login: &str) -> Result<Option<AccountRecord>> {
        let ring = self.keyring();
        self.inner.account_by_login(&ring.blind(LOGIN_DOMAIN, login)).await?.map(|a| self.open_account(&ring, a)).transpose()
    }

    async fn account(&self, id: i64) -> Result<Option<AccountRecord>> {
        let ring = self.keyring();
        self.inner.account(id).await?.map(|a| self.open_account(&ring, a)).transpose()
    }

    async fn resident_account(&self, person: PersonId) -> Result<Option<AccountRecord>> {
        let ring = self.keyring();
        self.inner.resident_account(person).await?.map(|a| self.open_account(&ring, a)).transpose()
    }

    async fn accounts(&self, after: i64, limit: u32) -> Result<Vec<AccountRecord>> {
        let ring = self.keyring();
        self.inner.accounts(after, limit).await?.into_iter().map(|a| self.open_account(&ring, a)).collect()
    }

    async fn record_sign_in(
        &self,
        account: i64,
        success: bool,
        max_failures: i64,
        lock_until: Timestamp,
    ) -> Result<Option<Timestamp>> {
        self.inner.record_sign_in(account, success, max_failures, lock_until).await
    }

    async fn insert_session(&self, session: &SessionRecord) -> Result<()> {
        self.inner.insert_session(session).await
    }

    async fn put_sign_in_code(
        &self,
        account: i64,
        hash: &str,
        now: Timestamp,
        expires: Timestamp,
        resend_after: Timestamp,
        day: i32,
        day_cap: i32,
    ) -> Result<bool> {
        self.inner.put_sign_in_code(account, hash, now, expires, resend_after, day, day_cap).await
    }

    async fn claim_sign_in_code(&self, account: i64, now: Timestamp, max_attempts: i32) -> Result<Option<String>> {
        self.inner.claim_sign_in_code(account, now, max_attempts).await
    }

    async fn use_sign_in_code(&self, account: i64, hash: &str) -> Result<bool> {
        self.inner.use_sign_in_code(account, hash).await
    }

    async fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRecord>> {
        self.inner.session(token_hash).await
    }

    async fn revoke_session(&self, token_hash: &[u8]) -> Result<()> {
        self.inner.revoke_session(token_hash).await
    }

    async fn api_keys_of(&self, institution: &str) -> Result<Vec<ApiKeyRecord>> {
        self.inner.api_keys_of(institution).await
    }

    async fn revoke_api_key(&self, institution: &str, prefix: &str) -> Result<bool> {
        self.inner.revoke_api_key(institution, prefix).await
    }

    async fn insert_grant(&self, grant: &GrantRecord) -> Result<(i64, bool)> {
        let sealed = self.seal_grant(grant);
        self.inner
            .insert_grant(&GrantRecord { sealed, evidence: String::new(), review_note: String::new(), ..grant.clone() })
            .await
    }

    async fn grant(&self, id: i64) -> Result<Option<GrantRecord>> {
        let ring = self.keyring();
        self.inner.grant(id).await?.map(|g| self.open_grant(&ring, g)).transpose()
    }

    async fn grants(&self, filter: &GrantFilter) -> Result<Vec<GrantRecord>> {
        let ring = self.keyring();
        self.inner.grants(filter).await?.into_iter().map(|g| self.open_grant(&ring, g)).collect()
    }

    async fn grants_in_force(&self, person: PersonId, institution: &str, now: Timestamp) -> Result<Vec<GrantRecord>> {
        // The decision needs no evidence: left sealed, so the read path opens nothing here.
        self.inner.grants_in_force(person, institution, now).await
    }

    async fn transition_grant(&self, transition: &GrantTransition) -> Result<bool> {
        self.inner.transition_grant(transition).await
    }

    async fn record_code_try(&self, grant: i64, max_tries: i64, at: Timestamp) -> Result<Option<i64>> {
        self.inner.record_code_try(grant, max_tries, at).await
    }

    async fn review_grant(&self, review: &GrantRecord) -> Result<bool> {
        let sealed = self.seal_grant(review);
        self.inner
            .review_grant(&GrantRecord { sealed, evidence: String::new(), review_note: String::new(), ..review.clone() })
            .await
    }

    async fn mark_first_read(&self, person: PersonId, institution: &str, at: Timestamp) -> Result<bool> {
        self.inner.mark_first_read(person, institution, at).await
    }

    async fn set_face_verified(&self, account: i64, at: Timestamp) -> Result<()> {
        self.inner.set_face_verified(account, at).await
    }

    async fn audit_events_of_grant(&self, grant: i64, limit: u32) -> Result<Vec<AuditEvent>> {
        self.inner.audit_events_of_grant(grant, limit).await
    }

    async fn returns(&self, filter: &crate::ReturnFilter) -> Result<Vec<crate::ReturnRecord>> {
        self.inner.returns(filter).await
    }

    async fn return_by_id(&self, id: i64) -> Result<Option<crate::ReturnRecord>> {
        self.inner.return_by_id(id).await
    }

    async fn open_returns_summary(&self, institutions: Option<&[String]>, now: Timestamp) -> Result<crate::OpenReturns> {
        self.inner.open_returns_summary(institutions, now).await
    }

    async fn record_quality(&self, counts: &[crate::QualityCounts], returns: &[crate::ReturnRecord]) -> Result<()> {
        self.inner.record_quality(counts, returns).await
    }

    async fn quality(&self, query: &crate::QualityQuery) -> Result<Vec<crate::QualityCounts>> {
        self.inner.quality(query).await
    }

    async fn quality_by_institution(&self, query: &crate::QualityQuery) -> Result<Vec<crate::QualityCounts>> {
        self.inner.quality_by_institution(query).await
    }

    async fn held_entries(
        &self,
        institution: &str,
        from: Timestamp,
        to: Timestamp,
        category: Option<i16>,
    ) -> Result<Vec<crate::HeldEntry>> {
        self.inner.held_entries(institution, from, to, category).await
    }

    async fn insert_reconciliation(&self, record: &crate::ReconciliationRecord) -> Result<i64> {
        self.inner.insert_reconciliation(record).await
    }

    async fn reconciliations(
        &self,
        institutions: Option<&[String]>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::ReconciliationRecord>> {
        self.inner.reconciliations(institutions, before, limit).await
    }

    async fn reconciliation(&self, id: i64) -> Result<Option<crate::ReconciliationRecord>> {
        self.inner.reconciliation(id).await
    }

    async fn insert_rule_set(&self, record: &crate::RuleSetRecord) -> Result<bool> {
        self.inner.insert_rule_set(record).await
    }

    async fn rule_sets(&self) -> Result<Vec<crate::RuleSetRecord>> {
        self.inner.rule_sets().await
    }

    async fn activate_rule_set(&self, version: &str, at: Timestamp, recheck_total: i64) -> Result<bool> {
        self.inner.activate_rule_set(version, at, recheck_total).await
    }

    async fn record_recheck(&self, step: &crate::RecheckStep, returns: &[crate::ReturnRecord]) -> Result<bool> {
        self.inner.record_recheck(step, returns).await
    }

    async fn entries_after(&self, after: i64, limit: u32) -> Result<Vec<EntryRecord>> {
        let ring = self.keyring();
        self.inner.entries_after(after, limit).await?.into_iter().map(|e| self.open_entry(&ring, e)).collect()
    }

    async fn insert_work_order(&self, order: &crate::WorkOrderRecord, step: &crate::WorkOrderStep) -> Result<Option<i64>> {
        let ring = self.keyring();
        let order = crate::WorkOrderRecord { sealed: seal_order_text(&ring, order), ..order.clone() };
        let step = crate::WorkOrderStep { sealed: seal_step_note(&ring, step), ..step.clone() };
        self.inner.insert_work_order(&order, &step).await
    }

    async fn work_order(&self, id: i64) -> Result<Option<crate::WorkOrderRecord>> {
        let ring = self.keyring();
        self.inner.work_order(id).await?.map(|o| open_order_text(self, &ring, o)).transpose()
    }

    async fn work_orders(&self, filter: &crate::WorkOrderFilter) -> Result<Vec<crate::WorkOrderRecord>> {
        let ring = self.keyring();
        self.inner.work_orders(filter).await?.into_iter().map(|o| open_order_text(self, &ring, o)).collect()
    }

    async fn change_work_order(&self, change: &crate::WorkOrderChange) -> Result<bool> {
        let ring = self.keyring();
        let change = crate::WorkOrderChange {
            after: crate::WorkOrderRecord { sealed: seal_order_text(&ring, &change.after), ..change.after.clone() },
            step: crate::WorkOrderStep { sealed: seal_step_note(&ring, &change.step), ..change.step.clone() },
            ..change.clone()
        };
        self.inner.change_work_order(&change).await
    }

    async fn work_order_steps(&self, order: i64) -> Result<Vec<crate::WorkOrderStep>> {
        let ring = self.keyring();
        self.inner
            .work_order_steps(order)
            .await?
            .into_iter()
            .map(|mut s| {
                if let Some(sealed) = &s.sealed {
                    let plain = self.open_with(&ring, WORK_ORDER_TEXT, sealed, format!("work order step {}", s.id))?;
                    s.note = String::from_utf8(plain).map_err(|_| StoreError::Corrupt("a work order note is not text".into()))?;
                }
                s.sealed = None;
                Ok(s)
            })
            .collect()
    }

    async fn return_clusters(&self, min: i64) -> Result<Vec<(String, String, i64)>> {
        self.inner.return_clusters(min).await
    }

    async fn work_order_counts(&self) -> Result<Vec<(String, i64)>> {
        self.inner.work_order_counts().await
    }

    async fn work_order_stats(&self, from: Timestamp, to: Timestamp) -> Result<Vec<crate::WorkOrderStats>> {
        self.inner.work_order_stats(from, to).await
    }

    async fn return_problems(&self, from: Timestamp, to: Timestamp) -> Result<Vec<(String, String, i64)>> {
        self.inner.return_problems(from, to).await
    }

    async fn quality_rollups(&self, from: i32, to: i32) -> Result<Vec<crate::QualityCounts>> {
        self.inner.quality_rollups(from, to).await
    }

    async fn insert_report(&self, report: &crate::ReportRecord) -> Result<Option<i64>> {
        self.inner.insert_report(report).await
    }

    async fn reports(&self, period: Option<&str>, scopes: Option<&[String]>, limit: u32) -> Result<Vec<crate::ReportRecord>> {
        self.inner.reports(period, scopes, limit).await
    }

    async fn report(&self, id: i64) -> Result<Option<crate::ReportRecord>> {
        self.inner.report(id).await
    }

    async fn has_scheduled_report(&self, period: &str, scope: &str) -> Result<bool> {
        self.inner.has_scheduled_report(period, scope).await
    }

    async fn set_integration_test(&self, test: &crate::IntegrationTest) -> Result<()> {
        self.inner.set_integration_test(test).await
    }

    async fn integration_tests(&self) -> Result<Vec<crate::IntegrationTest>> {
        self.inner.integration_tests().await
    }

    async fn source_activity(&self) -> Result<Vec<crate::SourceActivity>> {
        self.inner.source_activity().await
    }

    async fn keyed_institutions(&self) -> Result<Vec<String>> {
        self.inner.keyed_institutions().await
    }

    async fn submission_flow(&self, since: Timestamp, sources: Option<&[String]>) -> Result<Vec<crate::SubmissionMinute>> {
        self.inner.submission_flow(since, sources).await
    }

    async fn grant_counts(&self, since: Timestamp) -> Result<Vec<(String, String, i64)>> {
        self.inner.grant_counts(since).await
    }

    async fn overdue_work_orders(&self, now: Timestamp, limit: u32) -> Result<Vec<crate::WorkOrderRecord>> {
        let ring = self.keyring();
        self.inner.overdue_work_orders(now, limit).await?.into_iter().map(|o| open_order_text(self, &ring, o)).collect()
    }

    async fn entry_id_bounds(&self) -> Result<(i64, i64)> {
        self.inner.entry_id_bounds().await
    }

    async fn entry_count(&self) -> Result<i64> {
        self.inner.entry_count().await
    }
}
