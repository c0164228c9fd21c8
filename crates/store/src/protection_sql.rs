//! SQL of keys, the ledger, audit events, accounts and sessions, and of re-sealing rows, the
//! same on both dialects. `protection_sql!` expands into a dialect's `sql` module (the `Store`
//! methods over it are in `shared::store_impls!`). The dialect provides `begin_ledger()` (the one
//! sequencer at a time) and `sql::allocate_event_ids`.

use crate::StoreError;

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(crate) fn hash32(v: Vec<u8>) -> Result<tongdang_protection::ledger::Hash, StoreError> {
    v.try_into().map_err(|_| corrupt("ledger hash length"))
}

/// Which table a sealed column is in, for re-sealing under a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedTable {
    /// `entries.resource`, keyed by (id, version).
    Entries,
    /// `entry_history.resource`, keyed by (entry id, version).
    EntryHistory,
    /// `patient_records.resource`, keyed by (id, version).
    PatientRecords,
    /// `directory_resources.resource`, keyed by (id, version).
    Directory,
    /// `person_identifiers.sealed`, keyed by (system, blind value).
    PersonIdentifiers,
    /// `match_records.demographics` (base64 text), keyed by record id.
    MatchRecords,
    /// `accounts.sealed`, keyed by the login's blind index.
    Accounts,
    /// `grants.sealed` (evidence and review note), keyed by grant id.
    Grants,
    /// `work_orders.sealed` (title, description, explanation), keyed by order id.
    WorkOrders,
    /// `work_order_steps.sealed` (notes), keyed by step id.
    WorkOrderSteps,
}

impl SealedTable {
    /// Every sealed column.
    pub const ALL: [SealedTable; 10] = [
        SealedTable::Entries,
        SealedTable::EntryHistory,
        SealedTable::PatientRecords,
        SealedTable::Directory,
        SealedTable::PersonIdentifiers,
        SealedTable::MatchRecords,
        SealedTable::Accounts,
        SealedTable::Grants,
        SealedTable::WorkOrders,
        SealedTable::WorkOrderSteps,
    ];

    /// `(SELECT page, UPDATE one)`: the page's key columns come first; text keys are compared
    /// as text, numeric ones as numbers. The update only replaces the exact old value, so a
    /// concurrent write is never overwritten.
    pub(crate) fn sql(self) -> (&'static str, &'static str) {
        match self {
            SealedTable::Entries => (
                "SELECT id, version, resource FROM entries WHERE id > $1 ORDER BY id LIMIT $2",
                "UPDATE entries SET resource = $1 WHERE id = $2 AND version = $3 AND resource = $4",
            ),
            SealedTable::EntryHistory => (
                "SELECT entry_id, version, resource FROM entry_history WHERE (entry_id, version) > ($1, $2) ORDER BY entry_id, version LIMIT $3",
                "UPDATE entry_history SET resource = $1 WHERE entry_id = $2 AND version = $3 AND resource = $4",
            ),
            SealedTable::PatientRecords => (
                "SELECT id, version, resource FROM patient_records WHERE id > $1 ORDER BY id LIMIT $2",
                "UPDATE patient_records SET resource = $1 WHERE id = $2 AND version = $3 AND resource = $4",
            ),
            SealedTable::Directory => (
                "SELECT id, version, resource FROM directory_resources WHERE id > $1 ORDER BY id LIMIT $2",
                "UPDATE directory_resources SET resource = $1 WHERE id = $2 AND version = $3 AND resource = $4",
            ),
            SealedTable::PersonIdentifiers => (
                "SELECT DISTINCT system, value, sealed FROM person_identifiers WHERE (system, value) > ($1, $2) AND sealed IS NOT NULL ORDER BY system, value LIMIT $3",
                "UPDATE person_identifiers SET sealed = $1 WHERE system = $2 AND value = $3 AND sealed = $4",
            ),
            SealedTable::MatchRecords => (
                "SELECT record_id, CAST(0 AS BIGINT), demographics FROM match_records WHERE record_id > $1 ORDER BY record_id LIMIT $2",
                "UPDATE match_records SET demographics = $1 WHERE record_id = $2 AND 0 = $3 AND demographics = $4",
            ),
            SealedTable::Accounts => (
                "SELECT login, CAST('' AS TEXT), sealed FROM accounts WHERE (login, '') > ($1, $2) ORDER BY login LIMIT $3",
                "UPDATE accounts SET sealed = $1 WHERE login = $2 AND '' = $3 AND sealed = $4",
            ),
            SealedTable::Grants => (
                "SELECT id, CAST(0 AS BIGINT), sealed FROM grants WHERE id > $1 ORDER BY id LIMIT $2",
                "UPDATE grants SET sealed = $1 WHERE id = $2 AND 0 = $3 AND sealed = $4",
            ),
            SealedTable::WorkOrders => (
                "SELECT id, CAST(0 AS BIGINT), sealed FROM work_orders WHERE id > $1 ORDER BY id LIMIT $2",
                "UPDATE work_orders SET sealed = $1 WHERE id = $2 AND 0 = $3 AND sealed = $4",
            ),
            SealedTable::WorkOrderSteps => (
                "SELECT id, CAST(0 AS BIGINT), sealed FROM work_order_steps WHERE id > $1 AND sealed IS NOT NULL ORDER BY id LIMIT $2",
                "UPDATE work_order_steps SET sealed = $1 WHERE id = $2 AND 0 = $3 AND sealed = $4",
            ),
        }
    }
}

/// The key of a sealed row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SealedKey {
    /// Numeric: (id, version).
    Id(i64, i64),
    /// Text: (system, blind value).
    Text(String, String),
}

/// A sealed value and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRow {
    /// Its row.
    pub key: SealedKey,
    /// The stored bytes (for `match_records`, the base64 text's bytes).
    pub sealed: Vec<u8>,
}

/// One version of an entry, as stored, for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntryVersion {
    /// Entry id.
    pub id: i64,
    /// Version.
    pub version: i64,
    /// Institution.
    pub institution: String,
    /// Source id.
    pub source_id: String,
    /// Status code as stored.
    pub status: i16,
    /// Submission.
    pub submission: i64,
    /// Collected.
    pub collected_at: i64,
    /// Digest.
    pub digest: Vec<u8>,
    /// The sealed resource.
    pub resource: Vec<u8>,
}

macro_rules! protection_sql {
    ($db:ty, $conn:ty) => {
        use tongdang_protection::ledger::{Frontier, NodeId};

        fn key_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<tongdang_protection::StoredKey> {
            use sqlx::Row;
            let c = crate::protection_sql::corrupt;
            Ok(tongdang_protection::StoredKey {
                id: u32::try_from(r.try_get::<i64, _>(0)?).map_err(|_| c("key id"))?,
                purpose: tongdang_protection::KeyPurpose::parse(&r.try_get::<String, _>(1)?).ok_or_else(|| c("key purpose"))?,
                suite: tongdang_protection::Suite::parse(&r.try_get::<String, _>(2)?).ok_or_else(|| c("key suite"))?,
                wrapped: r.try_get(3)?,
                master: r.try_get(4)?,
                public: r.try_get(5)?,
                state: tongdang_protection::KeyState::parse(&r.try_get::<String, _>(6)?).ok_or_else(|| c("key state"))?,
            })
        }

        pub(crate) async fn protection_keys(pool: &sqlx::Pool<$db>) -> crate::Result<Vec<tongdang_protection::StoredKey>> {
            let rows = sqlx::query("SELECT id, purpose, suite, wrapped, master, public_key, state FROM protection_keys ORDER BY id").fetch_all(pool).await?;
            rows.iter().map(key_from_row).collect()
        }

        pub(crate) async fn save_protection_keys(pool: &sqlx::Pool<$db>, keys: &[tongdang_protection::StoredKey], replace: bool) -> crate::Result<()> {
            let mut tx = pool.begin().await?;
            let sql = if replace {
                "INSERT INTO protection_keys (id, purpose, suite, wrapped, master, public_key, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id) DO UPDATE SET wrapped = excluded.wrapped, master = excluded.master, state = excluded.state"
            } else {
                "INSERT INTO protection_keys (id, purpose, suite, wrapped, master, public_key, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id) DO NOTHING"
            };
            for k in keys {
                sqlx::query(sql)
                .bind(i64::from(k.id))
                .bind(k.purpose.code())
                .bind(k.suite.code())
                .bind(&k.wrapped)
                .bind(&k.master)
                .bind(&k.public)
                .bind(k.state.code())
                .bind(tongdang_core::Timestamp::now().0)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }

        pub(crate) async fn tx_queue_leaves(conn: &mut $conn, leaves: &[crate::LedgerLeaf]) -> crate::Result<()> {
            for chunk in leaves.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("INSERT INTO ledger_queue (kind, ref_id, ref_version, hash) ");
                b.push_values(chunk, |mut row, l| {
                    row.push_bind(l.kind.code()).push_bind(l.ref_id).push_bind(l.ref_version).push_bind(l.hash.to_vec());
                });
                b.build().execute(&mut *conn).await?;
            }
            Ok(())
        }

        pub(crate) async fn tx_ledger_nodes(
            conn: &mut $conn,
            ids: &[NodeId],
        ) -> crate::Result<std::collections::HashMap<NodeId, tongdang_protection::ledger::Hash>> {
            use sqlx::Row;
            let mut out = std::collections::HashMap::new();
            let wanted: std::collections::HashSet<NodeId> = ids.iter().copied().collect();
            let mut positions: Vec<i64> = ids.iter().map(|id| id.pos() as i64).collect();
            positions.sort_unstable();
            positions.dedup();
            for chunk in positions.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("SELECT pos, level, hash FROM ledger_nodes WHERE pos IN (");
                crate::shared::push_ids(&mut b, chunk);
                b.push(")");
                for r in b.build().fetch_all(&mut *conn).await? {
                    let id = NodeId::checked_from_pos(r.try_get::<i64, _>(0)?, i64::from(r.try_get::<i16, _>(1)?))
                        .ok_or_else(|| crate::protection_sql::corrupt("ledger node key"))?;
                    if wanted.contains(&id) {
                        out.insert(id, crate::protection_sql::hash32(r.try_get(2)?)?);
                    }
                }
            }
            Ok(out)
        }

        /// Append up to `limit` queued leaves to the tree; the caller holds the sequencer lock.
        pub(crate) async fn tx_sequence(conn: &mut $conn, limit: usize) -> crate::Result<(u64, u64)> {
            use sqlx::Row;
            let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_state WHERE id = 1").fetch_one(&mut *conn).await?;
            let size = size as u64;
            let ids = Frontier::nodes_for(size);
            let hashes = tx_ledger_nodes(&mut *conn, &ids).await?;
            let roots = ids.iter().map(|id| hashes.get(id).copied()).collect::<Option<Vec<_>>>().ok_or_else(|| crate::protection_sql::corrupt("ledger frontier node missing"))?;
            let mut frontier = Frontier::from_roots(size, roots).ok_or_else(|| crate::protection_sql::corrupt("ledger frontier"))?;
            let queued = sqlx::query("SELECT seq, kind, ref_id, ref_version, hash FROM ledger_queue ORDER BY seq LIMIT $1").bind(limit as i64).fetch_all(&mut *conn).await?;
            if queued.is_empty() {
                return Ok((0, size));
            }
            let mut nodes: Vec<(i64, i16, Vec<u8>)> = Vec::with_capacity(queued.len() * 2);
            let mut leaves: Vec<(i64, i16, i64, i64)> = Vec::with_capacity(queued.len());
            let mut seqs: Vec<i64> = Vec::with_capacity(queued.len());
            for r in &queued {
                let hash = crate::protection_sql::hash32(r.try_get(4)?)?;
                leaves.push((frontier.size() as i64, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?));
                frontier.append(hash, |id, h| nodes.push((id.pos() as i64, id.level as i16, h.to_vec())));
                seqs.push(r.try_get(0)?);
            }
            for chunk in nodes.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("INSERT INTO ledger_nodes (pos, level, hash) ");
                b.push_values(chunk, |mut row, (p, l, h)| {
                    row.push_bind(*p).push_bind(*l).push_bind(h.clone());
                });
                b.build().execute(&mut *conn).await?;
            }
            for chunk in leaves.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("INSERT INTO ledger_leaves (idx, kind, ref_id, ref_version) ");
                b.push_values(chunk, |mut row, (i, k, r, v)| {
                    row.push_bind(*i).push_bind(*k).push_bind(*r).push_bind(*v);
                });
                b.build().execute(&mut *conn).await?;
            }
            for chunk in seqs.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("DELETE FROM ledger_queue WHERE seq IN (");
                crate::shared::push_ids(&mut b, chunk);
                b.push(")");
                b.build().execute(&mut *conn).await?;
            }
            sqlx::query("UPDATE ledger_state SET size = $1 WHERE id = 1").bind(frontier.size() as i64).execute(&mut *conn).await?;
            Ok((queued.len() as u64, frontier.size()))
        }

        pub(crate) async fn ledger_counts(pool: &sqlx::Pool<$db>) -> crate::Result<(u64, u64)> {
            let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_state WHERE id = 1").fetch_one(pool).await?;
            let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_queue").fetch_one(pool).await?;
            Ok((size as u64, pending as u64))
        }

        pub(crate) async fn ledger_leaves_page(pool: &sqlx::Pool<$db>, after: Option<u64>, limit: u32) -> crate::Result<Vec<crate::StoredLeaf>> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT l.idx, l.kind, l.ref_id, l.ref_version, n.hash FROM ledger_leaves l LEFT JOIN ledger_nodes n ON n.pos = l.idx AND n.level = 0
                 WHERE l.idx > $1 ORDER BY l.idx LIMIT $2",
            )
            .bind(after.map_or(-1, |a| a as i64))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(crate::StoredLeaf {
                        index: r.try_get::<i64, _>(0)? as u64,
                        kind: crate::LeafKind::from_code(r.try_get(1)?).ok_or_else(|| crate::protection_sql::corrupt("leaf kind"))?,
                        ref_id: r.try_get(2)?,
                        ref_version: r.try_get(3)?,
                        hash: r.try_get::<Option<Vec<u8>>, _>(4)?.map(crate::protection_sql::hash32).transpose()?.unwrap_or([0; 32]),
                    })
                })
                .collect()
        }

        pub(crate) async fn ledger_leaf_index(pool: &sqlx::Pool<$db>, kind: crate::LeafKind, ref_id: i64, ref_version: i64) -> crate::Result<Option<u64>> {
            let idx: Option<i64> = sqlx::query_scalar("SELECT idx FROM ledger_leaves WHERE ref_id = $1 AND kind = $2 AND ref_version = $3 ORDER BY idx LIMIT 1")
                .bind(ref_id)
                .bind(kind.code())
                .bind(ref_version)
                .fetch_optional(pool)
                .await?;
            Ok(idx.map(|i| i as u64))
        }

        pub(crate) async fn ledger_queued(pool: &sqlx::Pool<$db>, kind: crate::LeafKind, ref_id: i64, ref_version: i64) -> crate::Result<bool> {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_queue WHERE ref_id = $1 AND kind = $2 AND ref_version = $3")
                .bind(ref_id)
                .bind(kind.code())
                .bind(ref_version)
                .fetch_one(pool)
                .await?;
            Ok(n > 0)
        }

        fn checkpoint_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<crate::CheckpointRecord> {
            use sqlx::Row;
            Ok(crate::CheckpointRecord {
                size: r.try_get::<i64, _>(0)? as u64,
                root: crate::protection_sql::hash32(r.try_get(1)?)?,
                at: tongdang_core::Timestamp(r.try_get(2)?),
                key_id: r.try_get::<i64, _>(3)? as u32,
                signature: r.try_get(4)?,
                note: r.try_get(5)?,
            })
        }

        pub(crate) async fn insert_checkpoint(pool: &sqlx::Pool<$db>, c: &crate::CheckpointRecord) -> crate::Result<()> {
            sqlx::query("INSERT INTO ledger_checkpoints (size, root, at, key_id, signature, note) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (size) DO NOTHING")
                .bind(c.size as i64)
                .bind(c.root.to_vec())
                .bind(c.at.0)
                .bind(i64::from(c.key_id))
                .bind(&c.signature)
                .bind(&c.note)
                .execute(pool)
                .await?;
            Ok(())
        }

        pub(crate) async fn checkpoints(pool: &sqlx::Pool<$db>, before: Option<u64>, limit: u32) -> crate::Result<Vec<crate::CheckpointRecord>> {
            let rows = sqlx::query("SELECT size, root, at, key_id, signature, note FROM ledger_checkpoints WHERE size < $1 ORDER BY size DESC LIMIT $2")
                .bind(before.map_or(i64::MAX, |b| b as i64))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter().map(checkpoint_from_row).collect()
        }

        pub(crate) async fn append_events(pool: &sqlx::Pool<$db>, events: &[crate::AuditEvent]) -> crate::Result<Vec<i64>> {
            if events.is_empty() {
                return Ok(Vec::new());
            }
            let mut tx = pool.begin().await?;
            let ids = allocate_event_ids(&mut *tx, events.len()).await?;
            let stored: Vec<crate::AuditEvent> = events.iter().zip(&ids).map(|(e, id)| crate::AuditEvent { id: *id, ..e.clone() }).collect();
            for chunk in stored.chunks(ROWS_PER_INSERT / 2) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("INSERT INTO audit_events (id, at, kind, actor, institution, person_id, outcome, detail, grant_id) ");
                b.push_values(chunk, |mut row, e| {
                    row.push_bind(e.id)
                        .push_bind(e.at.0)
                        .push_bind(e.kind.clone())
                        .push_bind(e.actor.clone())
                        .push_bind(e.institution.clone())
                        .push_bind(e.person.map(|p| p.0))
                        .push_bind(e.outcome.clone())
                        .push_bind(e.detail.clone())
                        .push_bind(e.grant);
                });
                b.build().execute(&mut *tx).await?;
            }
            let leaves: Vec<crate::LedgerLeaf> = stored.iter().map(crate::AuditEvent::leaf).collect();
            tx_queue_leaves(&mut *tx, &leaves).await?;
            tx.commit().await?;
            Ok(ids)
        }

        fn audit_event_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<crate::AuditEvent> {
            use sqlx::Row;
            Ok(crate::AuditEvent {
                id: r.try_get(0)?,
                at: tongdang_core::Timestamp(r.try_get(1)?),
                kind: r.try_get(2)?,
                actor: r.try_get(3)?,
                institution: r.try_get(4)?,
                person: r.try_get::<Option<i64>, _>(5)?.map(tongdang_core::PersonId),
                outcome: r.try_get(6)?,
                detail: r.try_get(7)?,
                grant: r.try_get(8)?,
            })
        }

        const EVENT_COLUMNS: &str = "SELECT id, at, kind, actor, institution, person_id, outcome, detail, grant_id FROM audit_events";

        pub(crate) async fn audit_events(
            pool: &sqlx::Pool<$db>,
            person: Option<tongdang_core::PersonId>,
            before: Option<i64>,
            limit: u32,
        ) -> crate::Result<Vec<crate::AuditEvent>> {
            audit_search(pool, &crate::AuditQuery { person, before, limit, ..Default::default() }).await
        }

        pub(crate) async fn audit_search(pool: &sqlx::Pool<$db>, q: &crate::AuditQuery) -> crate::Result<Vec<crate::AuditEvent>> {
            let mut b: QueryBuilder<$db> = QueryBuilder::new(format!("{EVENT_COLUMNS} WHERE id < "));
            b.push_bind(q.before.unwrap_or(i64::MAX));
            if let Some(p) = q.person {
                b.push(" AND person_id = ").push_bind(p.0);
            }
            if let Some(f) = q.from {
                b.push(" AND at >= ").push_bind(f.0);
            }
            if let Some(t) = q.to {
                b.push(" AND at < ").push_bind(t.0);
            }
            if !q.outcomes.is_empty() {
                b.push(" AND outcome IN (");
                let mut sep = b.separated(", ");
                for o in &q.outcomes {
                    sep.push_bind(o.clone());
                }
                b.push(")");
            }
            b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(q.limit));
            b.build().fetch_all(pool).await?.iter().map(audit_event_from_row).collect()
        }

        pub(crate) async fn audit_events_of_grant(pool: &sqlx::Pool<$db>, grant: i64, limit: u32) -> crate::Result<Vec<crate::AuditEvent>> {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{EVENT_COLUMNS} WHERE grant_id = $1 ORDER BY id DESC LIMIT $2")))
                .bind(grant)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter().map(audit_event_from_row).collect()
        }

        pub(crate) async fn events_by_id(pool: &sqlx::Pool<$db>, ids: &[i64]) -> crate::Result<Vec<crate::AuditEvent>> {
            let mut out = Vec::new();
            for chunk in ids.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new(format!("{EVENT_COLUMNS} WHERE id IN ("));
                crate::shared::push_ids(&mut b, chunk);
                b.push(")");
                for r in b.build().fetch_all(pool).await? {
                    out.push(audit_event_from_row(&r)?);
                }
            }
            Ok(out)
        }

        pub(crate) async fn entry_versions_page(
            pool: &sqlx::Pool<$db>,
            after: (i64, i64),
            limit: u32,
        ) -> crate::Result<Vec<crate::protection_sql::StoredEntryVersion>> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT id, version, institution, source_id, status, submission_id, collected_at, digest, resource FROM (
                   SELECT id, version, institution, source_id, status, submission_id, collected_at, digest, resource FROM entries
                   UNION ALL
                   SELECT h.entry_id, h.version, e.institution, e.source_id, h.status, h.submission_id, h.collected_at, h.digest, h.resource
                   FROM entry_history h JOIN entries e ON e.id = h.entry_id
                 ) v WHERE (id, version) > ($1, $2) ORDER BY id, version LIMIT $3",
            )
            .bind(after.0)
            .bind(after.1)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(crate::protection_sql::StoredEntryVersion {
                        id: r.try_get(0)?,
                        version: r.try_get(1)?,
                        institution: r.try_get(2)?,
                        source_id: r.try_get(3)?,
                        status: r.try_get(4)?,
                        submission: r.try_get(5)?,
                        collected_at: r.try_get(6)?,
                        digest: r.try_get(7)?,
                        resource: r.try_get(8)?,
                    })
                })
                .collect()
        }

        pub(crate) async fn sealed_page(
            pool: &sqlx::Pool<$db>,
            table: crate::protection_sql::SealedTable,
            after: &crate::protection_sql::SealedKey,
            limit: u32,
        ) -> crate::Result<Vec<crate::protection_sql::SealedRow>> {
            use crate::protection_sql::{SealedKey, SealedRow, SealedTable};
            use sqlx::Row;
            let (select, _) = table.sql();
            let q = sqlx::query(sqlx::AssertSqlSafe(select));
            let q = match after {
                SealedKey::Id(a, b) if table == SealedTable::EntryHistory => q.bind(*a).bind(*b).bind(i64::from(limit)),
                SealedKey::Id(a, _) => q.bind(*a).bind(i64::from(limit)),
                SealedKey::Text(a, b) => q.bind(a.clone()).bind(b.clone()).bind(i64::from(limit)),
            };
            let rows = q.fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    let key = if matches!(table, SealedTable::PersonIdentifiers | SealedTable::Accounts) {
                        SealedKey::Text(r.try_get(0)?, r.try_get(1)?)
                    } else {
                        SealedKey::Id(r.try_get(0)?, r.try_get(1)?)
                    };
                    let sealed = if table == SealedTable::MatchRecords { r.try_get::<String, _>(2)?.into_bytes() } else { r.try_get(2)? };
                    Ok(SealedRow { key, sealed })
                })
                .collect()
        }

        pub(crate) async fn replace_sealed(
            pool: &sqlx::Pool<$db>,
            table: crate::protection_sql::SealedTable,
            rows: &[(crate::protection_sql::SealedRow, Vec<u8>)],
        ) -> crate::Result<u64> {
            use crate::protection_sql::{SealedKey, SealedTable};
            let (_, update) = table.sql();
            let mut tx = pool.begin().await?;
            let mut n = 0;
            for (old, new) in rows {
                let q = if table == SealedTable::MatchRecords {
                    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                    sqlx::query(sqlx::AssertSqlSafe(update)).bind(text(new))
                } else {
                    sqlx::query(sqlx::AssertSqlSafe(update)).bind(new.clone())
                };
                let q = match &old.key {
                    SealedKey::Id(a, b) => q.bind(*a).bind(*b),
                    SealedKey::Text(a, b) => q.bind(a.clone()).bind(b.clone()),
                };
                let q = if table == SealedTable::MatchRecords { q.bind(String::from_utf8_lossy(&old.sealed).into_owned()) } else { q.bind(old.sealed.clone()) };
                n += q.execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(n)
        }

        fn account_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<crate::AccountRecord> {
            use sqlx::Row;
            let c = crate::protection_sql::corrupt;
            Ok(
                crate::AccountRecord {
                    id: r.try_get(0)?,
                    login: r.try_get(1)?,
                    display_name: String::new(),
                    role: r.try_get::<String, _>(3)?.parse().map_err(|_| c("account role"))?,
                    institution: r.try_get(4)?,
                    department: r.try_get(5)?,
                    person: r.try_get::<Option<i64>, _>(6)?.map(tongdang_core::PersonId),
                    password_hash: r.try_get(7)?,
                    failed_attempts: r.try_get(8)?,
                    locked_until: r.try_get::<Option<i64>, _>(9)?.map(tongdang_core::Timestamp),
                    created_at: tongdang_core::Timestamp(r.try_get(10)?),
                    disabled_at: r.try_get::<Option<i64>, _>(11)?.map(tongdang_core::Timestamp),
                    face_verified_at: r.try_get::<Option<i64>, _>(12)?.map(tongdang_core::Timestamp),
                    sealed: r.try_get(2)?,
                },
            )
        }

        const ACCOUNT_COLUMNS: &str = "SELECT id, login, sealed, role, institution, department, person_id, password_hash, failed_attempts, locked_until, created_at, disabled_at, face_verified_at FROM accounts";

        pub(crate) async fn insert_account(pool: &sqlx::Pool<$db>, a: &crate::AccountRecord) -> crate::Result<i64> {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO accounts (login, sealed, role, institution, department, person_id, password_hash, failed_attempts, locked_until, created_at, disabled_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 0, NULL, $8, NULL) RETURNING id",
            )
            .bind(&a.login)
            .bind(&a.sealed)
            .bind(a.role.code())
            .bind(&a.institution)
            .bind(&a.department)
            .bind(a.person.map(|p| p.0))
            .bind(&a.password_hash)
            .bind(a.created_at.0)
            .fetch_one(pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => crate::StoreError::Conflict("an account with this sign-in name exists".into()),
                _ => e.into(),
            })?;
            Ok(id)
        }

        pub(crate) async fn account_where(pool: &sqlx::Pool<$db>, by_login: Option<&str>, by_id: i64) -> crate::Result<Option<crate::AccountRecord>> {
            let row = match by_login {
                Some(l) => sqlx::query(sqlx::AssertSqlSafe(format!("{ACCOUNT_COLUMNS} WHERE login = $1"))).bind(l.to_string()).fetch_optional(pool).await?,
                None => sqlx::query(sqlx::AssertSqlSafe(format!("{ACCOUNT_COLUMNS} WHERE id = $1"))).bind(by_id).fetch_optional(pool).await?,
            };
            row.as_ref().map(account_from_row).transpose()
        }

        pub(crate) async fn resident_account(pool: &sqlx::Pool<$db>, person: tongdang_core::PersonId) -> crate::Result<Option<crate::AccountRecord>> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("{ACCOUNT_COLUMNS} WHERE person_id = $1 AND role = 'resident' AND disabled_at IS NULL ORDER BY id LIMIT 1")))
                .bind(person.0)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(account_from_row).transpose()
        }

        pub(crate) async fn accounts_page(pool: &sqlx::Pool<$db>, after: i64, limit: u32) -> crate::Result<Vec<crate::AccountRecord>> {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{ACCOUNT_COLUMNS} WHERE id > $1 ORDER BY id LIMIT $2"))).bind(after).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.iter().map(account_from_row).collect()
        }

        pub(crate) async fn record_sign_in(
            pool: &sqlx::Pool<$db>,
            id: i64,
            success: bool,
            max_failures: i64,
            lock_until: tongdang_core::Timestamp,
        ) -> crate::Result<Option<tongdang_core::Timestamp>> {
            if success {
                sqlx::query("UPDATE accounts SET failed_attempts = 0, locked_until = NULL WHERE id = $1").bind(id).execute(pool).await?;
                return Ok(None);
            }
            // One statement, so parallel attempts each count (the old value is read in SET).
            let locked: Option<Option<i64>> = sqlx::query_scalar(
                "UPDATE accounts SET failed_attempts = failed_attempts + 1,
                 locked_until = CASE WHEN failed_attempts + 1 >= $1 THEN $2 ELSE locked_until END
                 WHERE id = $3 RETURNING locked_until",
            )
            .bind(max_failures)
            .bind(lock_until.0)
            .bind(id)
            .fetch_optional(pool)
            .await?;
            Ok(locked.flatten().map(tongdang_core::Timestamp))
        }

        /// Keep a new sign-in code unless one was sent after `resend_after` or `day_cap` were sent
        /// on `day` already; whether it was kept.
        #[allow(clippy::too_many_arguments)]
        pub(crate) async fn put_sign_in_code(
            pool: &sqlx::Pool<$db>,
            account: i64,
            hash: &str,
            now: tongdang_core::Timestamp,
            expires: tongdang_core::Timestamp,
            resend_after: tongdang_core::Timestamp,
            day: i32,
            day_cap: i32,
        ) -> crate::Result<bool> {
            let row: Option<i64> = sqlx::query_scalar(
                "INSERT INTO sign_in_codes (account_id, code_hash, sent_at, expires_at, attempts, count_day, sent_count) VALUES ($1, $2, $3, $4, 0, $5, 1)
                 ON CONFLICT (account_id) DO UPDATE SET code_hash = excluded.code_hash, sent_at = excluded.sent_at, expires_at = excluded.expires_at,
                     attempts = 0,
                     sent_count = CASE WHEN sign_in_codes.count_day = excluded.count_day THEN sign_in_codes.sent_count + 1 ELSE 1 END,
                     count_day = excluded.count_day
                 WHERE sign_in_codes.sent_at < $6 AND (sign_in_codes.count_day <> excluded.count_day OR sign_in_codes.sent_count < $7)
                 RETURNING account_id",
            )
            .bind(account)
            .bind(hash)
            .bind(now.0)
            .bind(expires.0)
            .bind(day)
            .bind(resend_after.0)
            .bind(day_cap)
            .fetch_optional(pool)
            .await?;
            Ok(row.is_some())
        }

        /// Take one of a pending code's attempts: its hash, or nothing when there is no live code
        /// or its attempts are used up. One statement, so parallel guesses each spend one.
        pub(crate) async fn claim_sign_in_code(
            pool: &sqlx::Pool<$db>,
            account: i64,
            now: tongdang_core::Timestamp,
            max_attempts: i32,
        ) -> crate::Result<Option<String>> {
            let row: Option<String> = sqlx::query_scalar(
                "UPDATE sign_in_codes SET attempts = attempts + 1 WHERE account_id = $1 AND expires_at > $2 AND attempts < $3 RETURNING code_hash",
            )
            .bind(account)
            .bind(now.0)
            .bind(max_attempts)
            .fetch_optional(pool)
            .await?;
            Ok(row)
        }

        /// Use a code: true for the one caller that spends it.
        pub(crate) async fn use_sign_in_code(pool: &sqlx::Pool<$db>, account: i64, hash: &str) -> crate::Result<bool> {
            let done = sqlx::query("UPDATE sign_in_codes SET expires_at = 0 WHERE account_id = $1 AND code_hash = $2 AND expires_at > 0")
                .bind(account)
                .bind(hash)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        pub(crate) async fn insert_session(pool: &sqlx::Pool<$db>, s: &crate::SessionRecord) -> crate::Result<()> {
            sqlx::query("INSERT INTO sessions (token_hash, account_id, kind, csrf, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)")
                .bind(&s.token_hash)
                .bind(s.account)
                .bind(&s.kind)
                .bind(&s.csrf)
                .bind(s.created_at.0)
                .bind(s.expires_at.0)
                .execute(pool)
                .await?;
            Ok(())
        }

        pub(crate) async fn session(pool: &sqlx::Pool<$db>, hash: &[u8]) -> crate::Result<Option<crate::SessionRecord>> {
            use sqlx::Row;
            let row = sqlx::query("SELECT token_hash, account_id, kind, csrf, created_at, expires_at, revoked_at FROM sessions WHERE token_hash = $1")
                .bind(hash)
                .fetch_optional(pool)
                .await?;
            let Some(r) = row else { return Ok(None) };
            Ok(Some(crate::SessionRecord {
                token_hash: r.try_get(0)?,
                account: r.try_get(1)?,
                kind: r.try_get(2)?,
                csrf: r.try_get(3)?,
                created_at: tongdang_core::Timestamp(r.try_get(4)?),
                expires_at: tongdang_core::Timestamp(r.try_get(5)?),
                revoked_at: r.try_get::<Option<i64>, _>(6)?.map(tongdang_core::Timestamp),
            }))
        }

        pub(crate) async fn revoke_session(pool: &sqlx::Pool<$db>, hash: &[u8]) -> crate::Result<()> {
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
                .bind(tongdang_core::Timestamp::now().0)
                .bind(hash)
                .execute(pool)
                .await?;
            Ok(())
        }

        pub(crate) async fn api_keys_of(pool: &sqlx::Pool<$db>, institution: &str) -> crate::Result<Vec<crate::ApiKeyRecord>> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT key_hash, prefix, institution, scopes, created_at, revoked_at FROM api_keys WHERE institution = $1 ORDER BY created_at")
                .bind(institution)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(crate::ApiKeyRecord {
                        hash: row.try_get(0)?,
                        prefix: row.try_get(1)?,
                        institution: row.try_get(2)?,
                        scopes: scopes_from_text(&row.try_get::<String, _>(3)?)?,
                        created_at: tongdang_core::Timestamp(row.try_get(4)?),
                        revoked_at: row.try_get::<Option<i64>, _>(5)?.map(tongdang_core::Timestamp),
                    })
                })
                .collect()
        }

        pub(crate) async fn revoke_api_key(pool: &sqlx::Pool<$db>, institution: &str, prefix: &str) -> crate::Result<bool> {
            let n = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE institution = $2 AND prefix = $3 AND revoked_at IS NULL")
                .bind(tongdang_core::Timestamp::now().0)
                .bind(institution)
                .bind(prefix)
                .execute(pool)
                .await?
                .rows_affected();
            Ok(n > 0)
        }
    };
}

pub(crate) use protection_sql;
