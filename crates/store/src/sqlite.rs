//! The embedded store: one SQLite file in WAL mode. One writer connection (SQLite has one
//! writer at a time anyway; `BEGIN IMMEDIATE` takes the lock up front so a transaction that reads
//! then writes never fails half-way), and a small pool of read-only connections.

use crate::{
    ApiKeyRecord, Counts, DirectoryRecord, EntryQuery, EntryRecord, IdKind, IdentifierLookup, IngestTx, PatientRecord,
    PersonIdentifier, Result, SourceKey, Store, SubmissionRecord, TypeAndId, WriteSet,
};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tongdang_core::{EntryId, Institution, InstitutionCode, PersonId};

mod sql {
    crate::shared::shared_sql!(sqlx::Sqlite, sqlx::SqliteConnection, "(id)", "(id)");
}

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
        let write = SqlitePoolOptions::new().max_connections(1).min_connections(1).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new().max_connections(8).connect_with(options.read_only(true)).await?;
        let fast = crate::sqlite_reads::ReadPool::new(crate::sqlite_path(dir));
        Ok(SqliteStore { read, write, fast })
    }
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

#[async_trait]
impl Store for SqliteStore {
    fn dialect(&self) -> &'static str {
        "sqlite"
    }

    async fn upsert_institution(&self, institution: &Institution) -> Result<()> {
        sql::upsert_institution(&self.write, institution).await
    }

    async fn institution(&self, code: &InstitutionCode) -> Result<Option<Institution>> {
        sql::institution(&self.read, code).await
    }

    async fn institutions(&self) -> Result<Vec<Institution>> {
        sql::institutions(&self.read).await
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord, revoke_others: bool) -> Result<()> {
        sql::insert_api_key(&self.write, key, revoke_others).await
    }

    async fn api_key(&self, hash: &[u8]) -> Result<Option<ApiKeyRecord>> {
        sql::api_key(&self.read, hash).await
    }

    async fn begin_ingest(&self, _institution: &InstitutionCode) -> Result<Box<dyn IngestTx>> {
        let tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Box::new(SqliteIngest { tx }))
    }

    async fn record_submission(&self, submission: &SubmissionRecord) -> Result<()> {
        sql::record_submission(&self.write, submission).await
    }

    async fn allocate_ids(&self, kind: IdKind, n: usize) -> Result<Vec<i64>> {
        let mut conn = self.write.acquire().await?;
        allocate(&mut conn, kind, n).await
    }

    async fn entries(&self, query: &EntryQuery) -> Result<Vec<EntryRecord>> {
        self.fast.entries(query).await
    }

    async fn entry(&self, id: EntryId) -> Result<Option<EntryRecord>> {
        sql::entry(&self.read, id).await
    }

    async fn person_exists(&self, person: PersonId) -> Result<bool> {
        sql::person_exists(&self.read, person).await
    }

    async fn persons(&self, after: Option<PersonId>, limit: u32) -> Result<Vec<PersonId>> {
        sql::persons(&self.read, after, limit).await
    }

    async fn patient_records(&self, person: PersonId) -> Result<Vec<PatientRecord>> {
        sql::patient_records(&self.read, person).await
    }

    async fn person_identifiers(&self, person: PersonId) -> Result<Vec<PersonIdentifier>> {
        sql::person_identifiers(&self.read, person).await
    }

    async fn persons_by_identifier(&self, system: Option<&str>, value: &str) -> Result<Vec<PersonId>> {
        sql::persons_by_identifier(&self.read, system, value).await
    }

    async fn directory_resource(&self, resource_type: &str, id: i64) -> Result<Option<DirectoryRecord>> {
        sql::directory_resource(&self.read, resource_type, id).await
    }

    async fn directory_resources(&self, ids: &[i64]) -> Result<Vec<DirectoryRecord>> {
        sql::directory_resources(&self.read, ids).await
    }

    async fn counts(&self) -> Result<Counts> {
        sql::counts(&self.read).await
    }
}

struct SqliteIngest {
    tx: Transaction<'static, Sqlite>,
}

#[async_trait]
impl IngestTx for SqliteIngest {
    async fn source_keys(&mut self, institution: &str, keys: &[TypeAndId]) -> Result<HashMap<TypeAndId, SourceKey>> {
        sql::tx_source_keys(&mut self.tx, institution, keys).await
    }

    async fn source_ids_by_identifier(
        &mut self,
        institution: &str,
        lookups: &[IdentifierLookup],
    ) -> Result<HashMap<IdentifierLookup, String>> {
        sql::tx_source_ids_by_identifier(&mut self.tx, institution, lookups).await
    }

    async fn persons_holding(&mut self, identifiers: &[(String, String)]) -> Result<HashMap<(String, String), PersonId>> {
        sql::tx_persons_holding(&mut self.tx, identifiers).await
    }

    async fn allocate_ids(&mut self, kind: IdKind, n: usize) -> Result<Vec<i64>> {
        allocate(&mut self.tx, kind, n).await
    }

    async fn write(&mut self, set: &WriteSet) -> Result<()> {
        sql::tx_write(&mut self.tx, set).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
