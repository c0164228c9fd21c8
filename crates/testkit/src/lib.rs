//! Test support. Storage behaviour is tested on both databases: [`backend_tests!`] turns each
//! `async fn(Arc<dyn Store>)` into one test on a fresh SQLite store and one on a fresh
//! PostgreSQL database. PostgreSQL comes from `TONGDANG_TEST_PG_URL`, which `scripts/test`
//! sets after starting a temporary cluster; without it the PostgreSQL tests fail and say so.

use std::path::PathBuf;
use std::sync::Arc;
use tongdang_protection::{LocalMasterKey, Suite};
use tongdang_store::{Location, ProtectedStore, Protection, Store};

/// A path under `shared/fixtures/` (beside the project), failing loudly if it is not there.
pub fn fixture(relative: &str) -> PathBuf {
    let root = std::env::var_os("TONGDANG_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"));
    let path = root.join(relative);
    assert!(
        path.exists(),
        "test fixture {} is missing: the tests expect shared/fixtures beside the project (or TONGDANG_FIXTURES pointing at it)",
        path.display()
    );
    path
}

/// A fresh store and what keeps it alive.
pub struct Backend {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The same store with its protection operations (keys, ledger, checkpoints).
    pub protected: Arc<ProtectedStore>,
    /// The master key it was opened with.
    pub master: Arc<LocalMasterKey>,
    _dir: Option<tempfile::TempDir>,
    database: Option<(String, String)>,
}

/// Protection with a fresh master key.
pub fn protection(suite: Suite) -> (Protection, Arc<LocalMasterKey>) {
    let master = Arc::new(LocalMasterKey::generate());
    (Protection { provider: master.clone(), suite, origin: tongdang_store::DEFAULT_ORIGIN.to_string() }, master)
}

impl Backend {
    /// A new SQLite store in a temporary directory.
    pub async fn sqlite() -> Backend {
        Self::sqlite_with(Suite::Aes256Gcm).await
    }

    /// A new SQLite store whose keys use `suite`.
    pub async fn sqlite_with(suite: Suite) -> Backend {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (protection, master) = protection(suite);
        let protected =
            tongdang_store::open(&Location::DataDir(dir.path().join("data")), protection).await.expect("open SQLite store");
        Backend { store: protected.clone(), protected, master, _dir: Some(dir), database: None }
    }

    /// The data directory of a SQLite backend.
    pub fn data_dir(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(|d| d.path().join("data"))
    }

    /// A new, empty PostgreSQL database in the test cluster.
    pub async fn postgres() -> Backend {
        Self::postgres_with(Suite::Aes256Gcm).await
    }

    /// A new, empty PostgreSQL database whose keys use `suite`.
    pub async fn postgres_with(suite: Suite) -> Backend {
        let admin = pg_url();
        let name = format!("td_test_{}", rand::random::<u64>());
        let mut conn = connect_admin(&admin).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let url = with_database(&admin, &name);
        let (protection, master) = protection(suite);
        let protected = tongdang_store::open(&Location::Postgres(url), protection).await.expect("open PostgreSQL store");
        Backend { store: protected.clone(), protected, master, _dir: None, database: Some((admin, name)) }
    }

    /// Run SQL on the database directly, bypassing the store (tests that tamper with it).
    /// `$1` is bound to `blob` when given.
    pub async fn exec(&self, sql: &str, blob: Option<Vec<u8>>) -> u64 {
        use sqlx::Connection;
        let q = sqlx::AssertSqlSafe(sql.to_string());
        match (self.data_dir(), self.postgres_url()) {
            (Some(dir), _) => {
                let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", tongdang_store::sqlite_path(&dir).display()))
                    .await
                    .expect("connect");
                let mut query = sqlx::query(q);
                if let Some(b) = blob {
                    query = query.bind(b);
                }
                query.execute(&mut c).await.expect("raw SQL").rows_affected()
            }
            (None, Some(url)) => {
                let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
                let mut query = sqlx::query(q);
                if let Some(b) = blob {
                    query = query.bind(b);
                }
                query.execute(&mut c).await.expect("raw SQL").rows_affected()
            }
            _ => unreachable!("a backend is SQLite or PostgreSQL"),
        }
    }

    /// The first column of each row, as bytes (BLOB/BYTEA columns), read directly.
    pub async fn fetch_blobs(&self, sql: &str) -> Vec<Vec<u8>> {
        use sqlx::{Connection, Row};
        let q = sqlx::AssertSqlSafe(sql.to_string());
        match (self.data_dir(), self.postgres_url()) {
            (Some(dir), _) => {
                let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", tongdang_store::sqlite_path(&dir).display()))
                    .await
                    .expect("connect");
                sqlx::query(q).fetch_all(&mut c).await.expect("raw SQL").iter().map(|r| r.get::<Vec<u8>, _>(0)).collect()
            }
            (None, Some(url)) => {
                let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
                sqlx::query(q).fetch_all(&mut c).await.expect("raw SQL").iter().map(|r| r.get::<Vec<u8>, _>(0)).collect()
            }
            _ => unreachable!("a backend is SQLite or PostgreSQL"),
        }
    }

    /// The PostgreSQL URL of this backend's database, if it is one.
    pub fn postgres_url(&self) -> Option<String> {
        self.database.as_ref().map(|(admin, name)| with_database(admin, name))
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.database.take() {
            // Best effort: the whole cluster is removed at the end of the run anyway.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(mut c) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await {
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                .execute(&mut c)
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// A new, empty database in the test cluster (removed with the cluster); its URL.
pub async fn empty_postgres_database() -> String {
    let admin = pg_url();
    let name = format!("td_test_{}", rand::random::<u64>());
    let mut conn = connect_admin(&admin).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create test database");
    with_database(&admin, &name)
}

/// The URL of the test cluster's admin database (`TONGDANG_TEST_PG_URL`, set by `scripts/test`).
pub fn pg_url() -> String {
    std::env::var("TONGDANG_TEST_PG_URL").unwrap_or_else(|_| {
        panic!(
            "PostgreSQL tests need TONGDANG_TEST_PG_URL. Run the tests with scripts/test, which starts a temporary \
             PostgreSQL 15 cluster from /usr/lib/postgresql/15/bin (Debian package postgresql-15)."
        )
    })
}

async fn connect_admin(url: &str) -> sqlx::PgConnection {
    <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL cluster: {e}"))
}

fn with_database(admin: &str, name: &str) -> String {
    // postgres://user@host:port/db?params → replace the path.
    let (base, query) = admin.split_once('?').map_or((admin, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Turn `async fn name(store: Arc<dyn Store>)` functions into a SQLite and a PostgreSQL test each.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let backend = $crate::Backend::sqlite().await;
                    super::$name(backend.protected.clone()).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let backend = $crate::Backend::postgres().await;
                    super::$name(backend.protected.clone()).await;
                }
            )*
        }
    };
}

/// Give `institution` an active grant of every current person's whole record for a day, as if
/// each resident had approved it in the app: for tests of reading mechanics, not of the policy.
pub async fn grant_everyone(store: &dyn Store, institution: &str) {
    use tongdang_core::Timestamp;
    let now = Timestamp::now();
    let persons = store.persons(None, 100_000).await.expect("persons");
    for p in persons {
        if !store.grants_in_force(p, institution, now).await.expect("grants").is_empty() {
            continue;
        }
        let g = tongdang_store::GrantRecord {
            decided_at: Some(now),
            decided_by: Some("test".into()),
            ..tongdang_store::GrantRecord::new(
                p,
                institution,
                "app",
                "active",
                Timestamp(now.0 - 60_000_000),
                Timestamp(now.0 + 86_400_000_000),
                "test",
            )
        };
        store.insert_grant(&g).await.expect("grant");
    }
}
