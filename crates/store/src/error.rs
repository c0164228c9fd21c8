//! Store errors. Messages never carry row content (it may be personal data).

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or refused.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("schema migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (a vocabulary code unknown to this version).
    #[error("stored value not understood: {0}")]
    Corrupt(String),
    /// The thing named does not exist (the message names it by platform id only).
    #[error("not found: {0}")]
    NotFound(String),
    /// The operation contradicts the current state (the message names ids only).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A sealed value did not open, or the keys did not load (names the row, never content).
    #[error("protection: {what}: {source}")]
    Protection {
        /// Which row or key.
        what: String,
        /// Why.
        source: tongdang_protection::ProtectionError,
    },
    /// The data directory could not be prepared.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// Whether retrying the whole transaction may succeed: a serialization failure or deadlock
    /// on PostgreSQL, a busy database on SQLite. A constraint violation is not transient: the
    /// same work would fail the same way.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("40001") | Some("40P01") | Some("5") | Some("517"))
            }
            _ => false,
        }
    }
}
