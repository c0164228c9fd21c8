//! The hot read path of the embedded store on rusqlite. sqlx's SQLite driver runs each query on
//! a worker thread and hands every row across threads; reading a 1,000-entry record spent more
//! time in those hand-offs than in SQLite (BENCHMARKS.md). Here a query runs whole on one
//! blocking thread. rusqlite 0.39 links the same libsqlite3-sys as sqlx, so there is one SQLite.

use crate::shared::{SqlParam, entries_sql};
use crate::{EntryQuery, EntryRecord, EntryStatus, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tongdang_core::{Category, EntryId, PersonId, Timestamp};
use tongdang_protection::ledger::NodeId;

/// The grant look-up every clinical read makes (built once).
static GRANTS_IN_FORCE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{} WHERE person_id = ?1 AND institution = ?2 AND status = 'active' AND valid_until > ?3",
        crate::grants::GRANT_SELECT
    )
});

/// Idle connections kept.
const IDLE: usize = 8;

/// Read-only connections, opened on demand and reused.
pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub(crate) fn new(path: PathBuf) -> Arc<ReadPool> {
        Arc::new(ReadPool { path, idle: Mutex::new(Vec::new()) })
    }

    fn connection(&self) -> Result<Connection, StoreError> {
        if let Some(c) = self.idle.lock().map_err(|_| corrupt("read pool"))?.pop() {
            return Ok(c);
        }
        let c = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(sqlite)?;
        c.busy_timeout(std::time::Duration::from_secs(30)).map_err(sqlite)?;
        c.execute_batch("PRAGMA case_sensitive_like = ON; PRAGMA cache_size = -65536; PRAGMA temp_store = memory;")
            .map_err(sqlite)?;
        c.pragma_update(None, "mmap_size", crate::sqlite::MMAP_SIZE).map_err(sqlite)?;
        Ok(c)
    }

    fn give_back(&self, c: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE
        {
            idle.push(c);
        }
    }

    /// Run an entry query.
    pub(crate) async fn entries(self: &Arc<Self>, q: &EntryQuery) -> Result<Vec<EntryRecord>, StoreError> {
        let pool = self.clone();
        let (sql, params) = entries_sql(q);
        tokio::task::spawn_blocking(move || {
            let conn = pool.connection()?;
            let result = query(&conn, &sql, &params);
            pool.give_back(conn);
            result
        })
        .await
        .map_err(|_| corrupt("read worker"))?
    }
}

impl ReadPool {
    /// The grants the policy weighs on a read: one indexed range, on one thread, on every read.
    pub(crate) async fn grants_in_force(
        self: &Arc<Self>,
        person: PersonId,
        institution: &str,
        now: Timestamp,
    ) -> Result<Vec<crate::GrantRecord>, StoreError> {
        let pool = self.clone();
        let institution = institution.to_string();
        tokio::task::spawn_blocking(move || {
            let conn = pool.connection()?;
            let result = (|| {
                let mut stmt = conn.prepare_cached(&GRANTS_IN_FORCE).map_err(sqlite)?;
                let rows = stmt
                    .query_map(rusqlite::params![person.0, institution, now.0], |r| {
                        Ok(crate::GrantRecord {
                            id: r.get(0)?,
                            person: PersonId(r.get(1)?),
                            institution: r.get(2)?,
                            department: r.get(3)?,
                            clinician: r.get(4)?,
                            categories: r.get(5)?,
                            channel: r.get(6)?,
                            status: r.get(7)?,
                            valid_from: Timestamp(r.get(8)?),
                            valid_until: Timestamp(r.get(9)?),
                            requested_by: r.get(10)?,
                            external_ref: r.get(11)?,
                            sealed: r.get(12)?,
                            created_at: Timestamp(r.get(13)?),
                            decided_at: r.get::<_, Option<i64>>(14)?.map(Timestamp),
                            decided_by: r.get(15)?,
                            code_digest: r.get(16)?,
                            code_expires: r.get::<_, Option<i64>>(17)?.map(Timestamp),
                            code_tries: r.get(18)?,
                            review_status: r.get(19)?,
                            reviewed_by: r.get(20)?,
                            reviewed_at: r.get::<_, Option<i64>>(21)?.map(Timestamp),
                            evidence: String::new(),
                            review_note: String::new(),
                        })
                    })
                    .map_err(sqlite)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sqlite)
            })();
            pool.give_back(conn);
            result
        })
        .await
        .map_err(|_| corrupt("read worker"))?
    }

    /// Stored ledger nodes by id: a proof's ~30 primary-key probes on one thread (through sqlx
    /// each row crossed threads: p99 4 ms at 10 M leaves, BENCHMARKS.md).
    pub(crate) async fn ledger_nodes(
        self: &Arc<Self>,
        ids: &[NodeId],
    ) -> Result<std::collections::HashMap<NodeId, tongdang_protection::ledger::Hash>, StoreError> {
        let pool = self.clone();
        let ids = ids.to_vec();
        tokio::task::spawn_blocking(move || {
            let conn = pool.connection()?;
            let result = (|| {
                let mut stmt =
                    conn.prepare_cached("SELECT hash FROM ledger_nodes WHERE pos = ?1 AND level = ?2").map_err(sqlite)?;
                let mut out = std::collections::HashMap::with_capacity(ids.len());
                for id in ids {
                    let mut rows = stmt.query(rusqlite::params![id.pos() as i64, i64::from(id.level)]).map_err(sqlite)?;
                    if let Some(r) = rows.next().map_err(sqlite)? {
                        let hash = r.get_ref(0).map_err(sqlite)?.as_blob().map_err(|_| corrupt("ledger hash"))?;
                        out.insert(id, hash.try_into().map_err(|_| corrupt("ledger hash length"))?);
                    }
                }
                Ok(out)
            })();
            pool.give_back(conn);
            result
        })
        .await
        .map_err(|_| corrupt("read worker"))?
    }

    /// Ledger nodes in storage order after `after`: the stream `tongdang verify` reads, at
    /// millions of rows a second on one thread.
    pub(crate) async fn ledger_node_page(
        self: &Arc<Self>,
        after: Option<NodeId>,
        limit: u32,
    ) -> Result<Vec<(NodeId, tongdang_protection::ledger::Hash)>, StoreError> {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.connection()?;
            let result = (|| {
                let (pos, level) = after.map_or((-1i64, 0i64), |n| (n.pos() as i64, i64::from(n.level)));
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT pos, level, hash FROM ledger_nodes WHERE (pos, level) > (?1, ?2) ORDER BY pos, level LIMIT ?3",
                    )
                    .map_err(sqlite)?;
                let mut rows = stmt.query(rusqlite::params![pos, level, i64::from(limit)]).map_err(sqlite)?;
                let mut out = Vec::with_capacity(limit as usize);
                while let Some(r) = rows.next().map_err(sqlite)? {
                    let pos: i64 = r.get(0).map_err(sqlite)?;
                    let level: i64 = r.get(1).map_err(sqlite)?;
                    let hash = r.get_ref(2).map_err(sqlite)?.as_blob().map_err(|_| corrupt("ledger hash"))?;
                    let hash: tongdang_protection::ledger::Hash = hash.try_into().map_err(|_| corrupt("ledger hash length"))?;
                    out.push((NodeId::checked_from_pos(pos, level).ok_or_else(|| corrupt("ledger node key"))?, hash));
                }
                Ok(out)
            })();
            pool.give_back(conn);
            result
        })
        .await
        .map_err(|_| corrupt("read worker"))?
    }
}

fn query(conn: &Connection, sql: &str, params: &[SqlParam]) -> Result<Vec<EntryRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(sqlite)?;
    let values: Vec<rusqlite::types::Value> = params
        .iter()
        .map(|p| match p {
            SqlParam::Int(n) => rusqlite::types::Value::Integer(*n),
            SqlParam::Text(t) => rusqlite::types::Value::Text(t.clone()),
        })
        .collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(values)).map_err(sqlite)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(sqlite)? {
        let category: i16 = r.get(2).map_err(sqlite)?;
        out.push(EntryRecord {
            id: EntryId(r.get(0).map_err(sqlite)?),
            person: PersonId(r.get(1).map_err(sqlite)?),
            category: Category::from_i16(category).ok_or_else(|| corrupt("entry category"))?,
            resource_type: r.get(3).map_err(sqlite)?,
            sort_time: Timestamp(r.get(4).map_err(sqlite)?),
            clinical_time: r.get(5).map_err(sqlite)?,
            collected_at: Timestamp(r.get(6).map_err(sqlite)?),
            institution: r.get(7).map_err(sqlite)?,
            source_id: r.get(8).map_err(sqlite)?,
            version: r.get(9).map_err(sqlite)?,
            status: EntryStatus::from_i16(r.get(10).map_err(sqlite)?),
            codes: r.get(11).map_err(sqlite)?,
            digest: r.get(12).map_err(sqlite)?,
            submission: r.get(13).map_err(sqlite)?,
            resource: r.get(14).map_err(sqlite)?,
            category_codes: r.get(15).map_err(sqlite)?,
            patient_record: r.get(16).map_err(sqlite)?,
        });
    }
    Ok(out)
}

fn sqlite(e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt(format!("SQLite read failed: {e}"))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} failed"))
}
