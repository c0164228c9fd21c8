//! Failures of the pipeline itself (not of submitted content, which becomes refusals).

/// The pipeline could not do its work; nothing of the failing group was written.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] tongdang_store::StoreError),
    /// A worker thread died.
    #[error("internal error while preparing resources")]
    Worker,
    /// The active rule set stored is not a valid rule set.
    #[error("the active quality rule set is invalid: {0}")]
    Rules(String),
}
