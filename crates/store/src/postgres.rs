//! The production store: PostgreSQL. Ingest transactions of one institution are serialized by a
//! transaction-scoped advisory lock, so two concurrent submissions of the same resource cannot
//! both decide it is new; different institutions write in parallel.

use crate::{EntryQuery, EntryRecord, IdKind, IngestTx, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;
use tongdang_core::InstitutionCode;

mod sql {
    crate::shared::shared_sql!(sqlx::Postgres, sqlx::PgConnection, "(person_id, id)");
    crate::mpi::mpi_sql!(sqlx::Postgres, sqlx::PgConnection);
    crate::protection_sql::protection_sql!(sqlx::Postgres, sqlx::PgConnection);
    crate::grants_sql::grants_sql!(sqlx::Postgres);
    crate::work_orders_sql::work_orders_sql!(sqlx::Postgres);
    crate::governance_sql::governance_sql!(sqlx::Postgres, sqlx::PgConnection);
    crate::reports_sql::reports_sql!(sqlx::Postgres);

    /// The grants the policy weighs on a read (SQLite reads them through rusqlite).
    pub(crate) async fn grants_in_force(
        pool: &sqlx::Pool<sqlx::Postgres>,
        person: tongdang_core::PersonId,
        institution: &str,
        now: tongdang_core::Timestamp,
    ) -> crate::Result<Vec<crate::GrantRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{GRANT_COLUMNS} WHERE person_id = $1 AND institution = $2 AND status = 'active' AND valid_until > $3"
        )))
        .bind(person.0)
        .bind(institution)
        .bind(now.0)
        .fetch_all(pool)
        .await?;
        rows.iter().map(grant_from_row).collect()
    }

    /// Looks up by joining the ids as an array: an `IN` list of thousands is planned as a scan of
    /// every key of the institution and type (measured: it made ingest slow down as the store
    /// grew), the join as one primary-key probe per id.
    pub(crate) async fn tx_source_keys(
        conn: &mut sqlx::PgConnection,
        institution: &str,
        keys: &[crate::TypeAndId],
    ) -> crate::Result<std::collections::HashMap<crate::TypeAndId, crate::SourceKey>> {
        use sqlx::Row;
        let types: Vec<String> = keys.iter().map(|(t, _)| t.clone()).collect();
        let ids: Vec<String> = keys.iter().map(|(_, id)| id.clone()).collect();
        let rows = sqlx::query(
            "SELECT k.resource_type, k.source_id, k.kind, k.person_id, k.target_id, k.version, k.digest
             FROM UNNEST($2::text[], $3::text[]) AS wanted(resource_type, source_id)
             JOIN source_keys k ON k.institution = $1 AND k.resource_type = wanted.resource_type AND k.source_id = wanted.source_id",
        )
        .bind(institution)
        .bind(types)
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
        let mut out = std::collections::HashMap::with_capacity(rows.len());
        for r in rows {
            let key = crate::SourceKey {
                institution: institution.to_string(),
                resource_type: r.try_get(0)?,
                source_id: r.try_get(1)?,
                kind: crate::SourceKind::from_i16(r.try_get(2)?),
                person: r.try_get::<Option<i64>, _>(3)?.map(tongdang_core::PersonId),
                target_id: r.try_get(4)?,
                version: r.try_get(5)?,
                digest: r.try_get(6)?,
            };
            out.insert((key.resource_type.clone(), key.source_id.clone()), key);
        }
        Ok(out)
    }

    /// Ledger nodes in storage order (PostgreSQL streams them fast enough through sqlx).
    pub(crate) async fn ledger_node_page(
        pool: &sqlx::PgPool,
        after: Option<NodeId>,
        limit: u32,
    ) -> crate::Result<Vec<(NodeId, tongdang_protection::ledger::Hash)>> {
        use sqlx::Row;
        let (pos, level) = after.map_or((-1i64, 0i16), |n| (n.pos() as i64, n.level as i16));
        let rows =
            sqlx::query("SELECT pos, level, hash FROM ledger_nodes WHERE (pos, level) > ($1, $2) ORDER BY pos, level LIMIT $3")
                .bind(pos)
                .bind(level)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
        rows.iter()
            .map(|r| {
                let id = NodeId::checked_from_pos(r.try_get::<i64, _>(0)?, i64::from(r.try_get::<i16, _>(1)?))
                    .ok_or_else(|| crate::protection_sql::corrupt("ledger node key"))?;
                Ok((id, crate::protection_sql::hash32(r.try_get(2)?)?))
            })
            .collect()
    }

    /// The next audit event ids from their sequence.
    pub(crate) async fn allocate_event_ids(conn: &mut sqlx::PgConnection, n: usize) -> crate::Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT nextval('audit_events_id_seq') FROM generate_series(1, $1)")
            .bind(n as i64)
            .fetch_all(&mut *conn)
            .await?)
    }

    /// Strong-identifier holders by joining the wanted pairs as arrays: a row-value `IN` list
    /// was planned as a scan of every identifier (1.2 s a group of 2,000 new Patients).
    pub(crate) async fn tx_persons_holding(
        conn: &mut sqlx::PgConnection,
        identifiers: &[(String, String)],
    ) -> crate::Result<std::collections::HashMap<(String, String), tongdang_core::PersonId>> {
        use sqlx::Row;
        if identifiers.is_empty() {
            return Ok(Default::default());
        }
        let systems: Vec<String> = identifiers.iter().map(|(s, _)| s.clone()).collect();
        let values: Vec<String> = identifiers.iter().map(|(_, v)| v.clone()).collect();
        let rows = sqlx::query(
            "SELECT p.system, p.value, MIN(p.person_id) FROM UNNEST($1::text[], $2::text[]) AS wanted(system, value)
             JOIN person_identifiers p ON p.system = wanted.system AND p.value = wanted.value GROUP BY p.system, p.value",
        )
        .bind(systems)
        .bind(values)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(|r| Ok(((r.try_get(0)?, r.try_get(1)?), tongdang_core::PersonId(r.try_get(2)?)))).collect()
    }

    /// One statement per group: each column is one array parameter, unnested into rows, so
    /// PostgreSQL parses and plans once instead of binding fifteen parameters a row.
    pub(crate) async fn insert_entries(conn: &mut sqlx::PgConnection, entries: &[crate::EntryRecord]) -> crate::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let col = |f: &dyn Fn(&crate::EntryRecord) -> i64| entries.iter().map(f).collect::<Vec<i64>>();
        let text = |f: &dyn Fn(&crate::EntryRecord) -> String| entries.iter().map(f).collect::<Vec<String>>();
        sqlx::query(
            "INSERT INTO entries (id, person_id, category, resource_type, sort_time, clinical_time, collected_at, institution, source_id, version,
                                  status, codes, digest, submission_id, resource, category_codes, patient_record)
             SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int2[], $4::text[], $5::int8[], $6::text[], $7::int8[], $8::text[], $9::text[],
                                  $10::int8[], $11::int2[], $12::text[], $13::bytea[], $14::int8[], $15::bytea[], $16::text[], $17::int8[])
             ON CONFLICT (person_id, id) DO UPDATE SET category = excluded.category, resource_type = excluded.resource_type,
                 sort_time = excluded.sort_time, clinical_time = excluded.clinical_time, collected_at = excluded.collected_at,
                 version = excluded.version, status = excluded.status, codes = excluded.codes, digest = excluded.digest,
                 submission_id = excluded.submission_id, resource = excluded.resource, category_codes = excluded.category_codes,
                 patient_record = excluded.patient_record",
        )
        .bind(col(&|e| e.id.0))
        .bind(col(&|e| e.person.0))
        .bind(entries.iter().map(|e| e.category.as_i16()).collect::<Vec<i16>>())
        .bind(text(&|e| e.resource_type.clone()))
        .bind(col(&|e| e.sort_time.0))
        .bind(entries.iter().map(|e| e.clinical_time.clone()).collect::<Vec<Option<String>>>())
        .bind(col(&|e| e.collected_at.0))
        .bind(text(&|e| e.institution.clone()))
        .bind(text(&|e| e.source_id.clone()))
        .bind(col(&|e| e.version))
        .bind(entries.iter().map(|e| e.status as i16).collect::<Vec<i16>>())
        .bind(text(&|e| e.codes.clone()))
        .bind(entries.iter().map(|e| e.digest.clone()).collect::<Vec<Vec<u8>>>())
        .bind(col(&|e| e.submission))
        .bind(entries.iter().map(|e| e.resource.clone()).collect::<Vec<Vec<u8>>>())
        .bind(text(&|e| e.category_codes.clone()))
        .bind(entries.iter().map(|e| e.patient_record).collect::<Vec<Option<i64>>>())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// As [`insert_entries`].
    pub(crate) async fn insert_source_keys(conn: &mut sqlx::PgConnection, keys: &[crate::SourceKey]) -> crate::Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let text = |f: &dyn Fn(&crate::SourceKey) -> String| keys.iter().map(f).collect::<Vec<String>>();
        sqlx::query(
            "INSERT INTO source_keys (institution, resource_type, source_id, kind, person_id, target_id, version, digest)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int2[], $5::int8[], $6::int8[], $7::int8[], $8::bytea[])
             ON CONFLICT (institution, resource_type, source_id) DO UPDATE SET kind = excluded.kind, person_id = excluded.person_id,
                 target_id = excluded.target_id, version = excluded.version, digest = excluded.digest",
        )
        .bind(text(&|k| k.institution.clone()))
        .bind(text(&|k| k.resource_type.clone()))
        .bind(text(&|k| k.source_id.clone()))
        .bind(keys.iter().map(|k| k.kind as i16).collect::<Vec<i16>>())
        .bind(keys.iter().map(|k| k.person.map(|p| p.0)).collect::<Vec<Option<i64>>>())
        .bind(keys.iter().map(|k| k.target_id).collect::<Vec<i64>>())
        .bind(keys.iter().map(|k| k.version).collect::<Vec<i64>>())
        .bind(keys.iter().map(|k| k.digest.clone()).collect::<Vec<Vec<u8>>>())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// PostgreSQL behind the [`Store`] trait.
pub(crate) struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connect and migrate.
    pub(crate) async fn open(url: &str) -> Result<PgStore> {
        let options = PgConnectOptions::from_str(url)?;
        let pool =
            PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(30)).connect_with(options).await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }
}

async fn allocate(conn: &mut PgConnection, kind: IdKind, n: usize) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT nextval('{}_ids') FROM generate_series(1, $1)", kind.name());
    // The sequence name comes from a closed enum, never from input.
    let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(n as i64).fetch_all(&mut *conn).await?;
    Ok(ids)
}

/// Advisory lock spaces (two-int4 keys, apart from the institutions' one-bigint keys): the
/// index as a whole (ingest shares it, operators' changes take it alone), and buckets of
/// identity keys, so two institutions registering the same new person queue instead of both
/// creating one.
const INDEX_LOCK: i32 = 1;
const IDENTITY_LOCKS: i32 = 2;
const IDENTITY_BUCKETS: i64 = 1024;
/// The ledger's sequencer: one at a time across every server on the database.
const LEDGER_LOCK: i32 = 3;

impl PgStore {
    /// An operator's change of the index: waits for ingest transactions in flight, which could
    /// otherwise write entries to a person being merged away.
    async fn begin_admin(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, 0)").bind(INDEX_LOCK).execute(&mut *tx).await?;
        Ok(tx)
    }

    /// The ledger's sequencer, apart from ingest and the index.
    async fn begin_ledger(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, 0)").bind(LEDGER_LOCK).execute(&mut *tx).await?;
        Ok(tx)
    }
}

/// Lock the buckets of these identity keys, in order (so two transactions cannot deadlock).
async fn lock_identities(conn: &mut PgConnection, keys: &[i64]) -> Result<()> {
    let mut buckets: Vec<i32> = keys.iter().map(|k| k.rem_euclid(IDENTITY_BUCKETS) as i32).collect();
    buckets.sort_unstable();
    buckets.dedup();
    if !buckets.is_empty() {
        sqlx::query("SELECT pg_advisory_xact_lock($1, b) FROM UNNEST($2::int4[]) AS b ORDER BY b")
            .bind(IDENTITY_LOCKS)
            .bind(buckets)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

struct PgIngest {
    tx: Transaction<'static, Postgres>,
}

crate::shared::store_impls!(PgStore, PgIngest, read: pool, write: pool, {
    fn dialect(&self) -> &'static str {
        "postgres"
    }

    async fn grants_in_force(
        &self,
        person: tongdang_core::PersonId,
        institution: &str,
        now: tongdang_core::Timestamp,
    ) -> crate::Result<Vec<crate::GrantRecord>> {
        sql::grants_in_force(&self.pool, person, institution, now).await
    }

    async fn ledger_nodes(
        &self,
        ids: &[tongdang_protection::ledger::NodeId],
    ) -> Result<std::collections::HashMap<tongdang_protection::ledger::NodeId, tongdang_protection::ledger::Hash>> {
        let mut conn = self.pool.acquire().await?;
        sql::tx_ledger_nodes(&mut conn, ids).await
    }

    async fn ledger_node_page(
        &self,
        after: Option<tongdang_protection::ledger::NodeId>,
        limit: u32,
    ) -> Result<Vec<(tongdang_protection::ledger::NodeId, tongdang_protection::ledger::Hash)>> {
        sql::ledger_node_page(&self.pool, after, limit).await
    }

    async fn begin_ingest(&self, institution: &InstitutionCode) -> Result<Box<dyn IngestTx>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))").bind(institution.as_str()).execute(&mut *tx).await?;
        sqlx::query("SELECT pg_advisory_xact_lock_shared($1, 0)").bind(INDEX_LOCK).execute(&mut *tx).await?;
        Ok(Box::new(PgIngest { tx }))
    }

    async fn entries(&self, query: &EntryQuery) -> Result<Vec<EntryRecord>> {
        let (text, params) = crate::shared::entries_sql(query);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
        for p in params {
            q = match p {
                crate::shared::SqlParam::Int(n) => q.bind(n),
                crate::shared::SqlParam::Text(t) => q.bind(t),
            };
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(crate::shared::entry_from_row).collect()
    }
});
