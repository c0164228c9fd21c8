//! The embedded store: one SQLite file in WAL mode. One writer connection (SQLite has one
//! writer at a time anyway; `BEGIN IMMEDIATE` takes the lock up front so a transaction that reads
//! then writes never fails half-way), and a small pool of read-only connections.

use crate::{EntryQuery, EntryRecord, IdKind, IngestTx, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use std::path::Path;
use std::time::Duration;
use tongdang_core::InstitutionCode;

mod sql {
    crate::shared::shared_sql!(sqlx::Sqlite, sqlx::SqliteConnection, "(id)");
    crate::mpi::mpi_sql!(sqlx::Sqlite, sqlx::SqliteConnection);
    crate::protection_sql::protection_sql!(sqlx::Sqlite, sqlx::SqliteConnection);
    crate::grants_sql::grants_sql!(sqlx::Sqlite);
    crate::work_orders_sql::work_orders_sql!(sqlx::Sqlite);
    crate::governance_sql::governance_sql!(sqlx::Sqlite, sqlx::SqliteConnection);
    crate::reports_sql::reports_sql!(sqlx::Sqlite);

    /// Looks up by `IN` lists: SQLite probes the primary key once per id.
    pub(crate) async fn tx_source_keys(
        conn: &mut sqlx::SqliteConnection,
        institution: &str,
        keys: &[crate::TypeAndId],
    ) -> crate::Result<std::collections::HashMap<crate::TypeAndId, crate::SourceKey>> {
        use sqlx::Row;
        let mut out = std::collections::HashMap::new();
        // Group by type so each query is one index range per id.
        let mut by_type: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (t, id) in keys {
            by_type.entry(t.as_str()).or_default().push(id.as_str());
        }
        for (rt, ids) in by_type {
            for chunk in ids.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<sqlx::Sqlite> = QueryBuilder::new(
                    "SELECT source_id, kind, person_id, target_id, version, digest FROM source_keys WHERE institution = ",
                );
                b.push_bind(institution.to_string())
                    .push(" AND resource_type = ")
                    .push_bind(rt.to_string())
                    .push(" AND source_id IN (");
                let mut sep = b.separated(", ");
                for id in chunk {
                    sep.push_bind(id.to_string());
                }
                b.push(")");
                for r in b.build().fetch_all(&mut *conn).await? {
                    let source_id: String = r.try_get(0)?;
                    let key = crate::SourceKey {
                        institution: institution.to_string(),
                        resource_type: rt.to_string(),
                        source_id: source_id.clone(),
                        kind: crate::SourceKind::from_i16(r.try_get(1)?),
                        person: r.try_get::<Option<i64>, _>(2)?.map(tongdang_core::PersonId),
                        target_id: r.try_get(3)?,
                        version: r.try_get(4)?,
                        digest: r.try_get(5)?,
                    };
                    out.insert((rt.to_string(), source_id), key);
                }
            }
        }
        Ok(out)
    }

    /// Strong-identifier holders, one `system = ? AND value IN (…)` per system and chunk: a
    /// primary-key probe per value (the row-value `IN (VALUES …)` list cost twice as much).
    pub(crate) async fn tx_persons_holding(
        conn: &mut sqlx::SqliteConnection,
        identifiers: &[(String, String)],
    ) -> crate::Result<std::collections::HashMap<(String, String), tongdang_core::PersonId>> {
        use sqlx::Row;
        let mut by_system: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (system, value) in identifiers {
            by_system.entry(system.as_str()).or_default().push(value.as_str());
        }
        let mut out = std::collections::HashMap::new();
        for (system, values) in by_system {
            for chunk in values.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<sqlx::Sqlite> =
                    QueryBuilder::new("SELECT value, MIN(person_id) FROM person_identifiers WHERE system = ");
                b.push_bind(system.to_string()).push(" AND value IN (");
                let mut sep = b.separated(", ");
                for v in chunk {
                    sep.push_bind(v.to_string());
                }
                b.push(") GROUP BY value");
                for r in b.build().fetch_all(&mut *conn).await? {
                    out.insert((system.to_string(), r.try_get(0)?), tongdang_core::PersonId(r.try_get(1)?));
                }
            }
        }
        Ok(out)
    }

    /// The next audit event ids: the one writer serializes this with the insert.
    pub(crate) async fn allocate_event_ids(conn: &mut sqlx::SqliteConnection, n: usize) -> crate::Result<Vec<i64>> {
        let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM audit_events").fetch_one(&mut *conn).await?;
        Ok((max + 1..=max + n as i64).collect())
    }

    /// Multi-row VALUES in the one writer's transaction: SQLite has no array parameters, and
    /// binding is cheap in-process.
    pub(crate) async fn insert_entries(conn: &mut sqlx::SqliteConnection, entries: &[crate::EntryRecord]) -> crate::Result<()> {
        for chunk in entries.chunks(ROWS_PER_INSERT) {
            let mut b: QueryBuilder<sqlx::Sqlite> = QueryBuilder::new(format!("INSERT INTO entries ({ENTRY_COLUMNS}) "));
            b.push_values(chunk, |mut row, e| {
                row.push_bind(e.id.0)
                    .push_bind(e.person.0)
                    .push_bind(e.category.as_i16())
                    .push_bind(e.resource_type.clone())
                    .push_bind(e.sort_time.0)
                    .push_bind(e.clinical_time.clone())
                    .push_bind(e.collected_at.0)
                    .push_bind(e.institution.clone())
                    .push_bind(e.source_id.clone())
                    .push_bind(e.version)
                    .push_bind(e.status as i16)
                    .push_bind(e.codes.clone())
                    .push_bind(e.digest.clone())
                    .push_bind(e.submission)
                    .push_bind(e.resource.clone())
                    .push_bind(e.category_codes.clone())
                    .push_bind(e.patient_record);
            });
            b.push(concat!(
                " ON CONFLICT ",
                "(id)",
                " DO UPDATE SET category = excluded.category, resource_type = excluded.resource_type, sort_time = excluded.sort_time,
                  clinical_time = excluded.clinical_time, collected_at = excluded.collected_at, version = excluded.version, status = excluded.status,
                  codes = excluded.codes, digest = excluded.digest, submission_id = excluded.submission_id, resource = excluded.resource,
                      category_codes = excluded.category_codes, patient_record = excluded.patient_record"
            ));
            b.build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// As [`insert_entries`].
    pub(crate) async fn insert_source_keys(conn: &mut sqlx::SqliteConnection, keys: &[crate::SourceKey]) -> crate::Result<()> {
        for chunk in keys.chunks(ROWS_PER_INSERT) {
            let mut b: QueryBuilder<sqlx::Sqlite> = QueryBuilder::new(
                "INSERT INTO source_keys (institution, resource_type, source_id, kind, person_id, target_id, version, digest) ",
            );
            b.push_values(chunk, |mut row, k| {
                row.push_bind(k.institution.clone())
                    .push_bind(k.resource_type.clone())
                    .push_bind(k.source_id.clone())
                    .push_bind(k.kind as i16)
                    .push_bind(k.person.map(|p| p.0))
                    .push_bind(k.target_id)
                    .push_bind(k.version)
                    .push_bind(k.digest.clone());
            });
            b.push(
                " ON CONFLICT (institution, resource_type, source_id) DO UPDATE SET kind = excluded.kind, person_id = excluded.person_id,
                  target_id = excluded.target_id, version = excluded.version, digest = excluded.digest",
            );
            b.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Address space SQLite may map (not memory it uses: the OS pages it in and out).
pub(crate) const MMAP_SIZE: i64 = 1 << 36;

/// SQLite behind the [`Store`] trait.
pub(crate) struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    fast: std::sync::Arc<crate::sqlite_reads::ReadPool>,
}

impl SqliteStore {
    /// Open the database in `dir`, creating the directory (owner-only) and the file if needed.
    pub(crate) async fn open(dir: &Path) -> Result<SqliteStore> {
        if !dir.exists() {
            std::fs::create_dir_all(dir)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            }
        }
        let options = SqliteConnectOptions::new()
            .filename(crate::sqlite_path(dir))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            .pragma("case_sensitive_like", "ON")
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        // A checkpoint inside a commit made one registration in seventy take 13 ms instead of
        // 1.5 (BENCHMARKS.md): a background connection copies the WAL every 200 ms, so the
        // writer's own checkpoint (every 4,000 pages, the only one that lets the WAL restart
        // under continuous writes) finds little left to copy.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // The writer's look-ups (source keys, blocking keys) hit indexes that outgrow 64 MB
            // at a million persons; its page cache is larger than the readers (256 MB: 1 GB made
            // bulk import a fifth slower, 64 MB made registration writes at 1M persons 15x slower).
            .connect_with(options.clone().pragma("wal_autocheckpoint", "4000").pragma("cache_size", "-262144"))
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        spawn_checkpointer(options.clone()).await?;
        // Readers map the file: pages the OS already caches are read in place, not copied by a
        // system call each. The writer does not: mapped writes took bulk import from 40k to 30k
        // resources/s (BENCHMARKS.md).
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true).pragma("mmap_size", MMAP_SIZE.to_string()))
            .await?;
        let fast = crate::sqlite_reads::ReadPool::new(crate::sqlite_path(dir));
        Ok(SqliteStore { read, write, fast })
    }
}

/// Checkpoint the WAL every 200 ms from a connection of its own. PASSIVE never waits for the
/// writer or the readers; it copies what it can, and the WAL is reused once it has all been
/// copied. Stops when the runtime shuts down.
async fn spawn_checkpointer(options: SqliteConnectOptions) -> Result<()> {
    use sqlx::ConnectOptions;
    let mut conn = options.connect().await?;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut conn).await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
    Ok(())
}

async fn allocate(conn: &mut SqliteConnection, kind: IdKind, n: usize) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let n = n as i64;
    let end: i64 = sqlx::query_scalar("UPDATE id_sequences SET next_id = next_id + $1 WHERE name = $2 RETURNING next_id")
        .bind(n)
        .bind(kind.name())
        .fetch_one(&mut *conn)
        .await?;
    Ok((end - n..end).collect())
}

impl SqliteStore {
    /// An operator's write: the one writer, locked up front.
    async fn begin_admin(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The ledger's sequencer: the one writer serializes it.
    async fn begin_ledger(&self) -> Result<Transaction<'static, Sqlite>> {
        self.begin_admin().await
    }
}

/// Registrations are serialized by the single writer already.
async fn lock_identities(_conn: &mut SqliteConnection, _keys: &[i64]) -> Result<()> {
    Ok(())
}

struct SqliteIngest {
    tx: Transaction<'static, Sqlite>,
}

crate::shared::store_impls!(SqliteStore, SqliteIngest, read: read, write: write, {
    fn dialect(&self) -> &'static str {
        "sqlite"
    }

    async fn ledger_nodes(
        &self,
        ids: &[tongdang_protection::ledger::NodeId],
    ) -> Result<std::collections::HashMap<tongdang_protection::ledger::NodeId, tongdang_protection::ledger::Hash>> {
        self.fast.ledger_nodes(ids).await
    }

    async fn ledger_node_page(
        &self,
        after: Option<tongdang_protection::ledger::NodeId>,
        limit: u32,
    ) -> Result<Vec<(tongdang_protection::ledger::NodeId, tongdang_protection::ledger::Hash)>> {
        self.fast.ledger_node_page(after, limit).await
    }

    async fn begin_ingest(&self, _institution: &InstitutionCode) -> Result<Box<dyn IngestTx>> {
        let tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Box::new(SqliteIngest { tx }))
    }

    async fn entries(&self, query: &EntryQuery) -> Result<Vec<EntryRecord>> {
        self.fast.entries(query).await
    }

    async fn grants_in_force(
        &self,
        person: tongdang_core::PersonId,
        institution: &str,
        now: tongdang_core::Timestamp,
    ) -> Result<Vec<crate::GrantRecord>> {
        self.fast.grants_in_force(person, institution, now).await
    }
});
