//! A streamed submission (NDJSON over HTTP, `tongdang import`): lines arrive in chunks, each
//! chunk is prepared on worker threads while the previous one is committed, and items whose
//! references name something later in the stream are held back and tried again at the end.

use crate::commit::{GroupMode, ItemResult, Outcome, commit_group_deferring, hold_behind, key_of};
use crate::prepare::{Item, Position, Prepared, prepare};
use crate::summary::Summary;
use crate::{IngestError, Ingestor, Submission};
use rayon::prelude::*;
use tokio::task::JoinHandle;
use tongdang_fhir::Issue;

/// How many bytes of held-back items a session keeps before it stops holding items back.
const DEFER_BUDGET_BYTES: usize = 256 << 20;

/// One streamed submission.
pub struct Session {
    ingestor: Ingestor,
    submission: Submission,
    summary: Summary,
    refusals: Vec<(Position, Vec<Issue>)>,
    refusals_kept: usize,
    deferred: Vec<Prepared>,
    deferred_keys: std::collections::HashSet<tongdang_store::TypeAndId>,
    deferred_bytes: usize,
    preparing: Option<JoinHandle<Vec<Prepared>>>,
}

impl Session {
    /// Start a streamed submission; at most `refusals_kept` refusals are kept in detail (all are counted).
    pub fn new(ingestor: Ingestor, submission: Submission, refusals_kept: usize) -> Session {
        Session {
            ingestor,
            submission,
            summary: Summary::default(),
            refusals: Vec::new(),
            refusals_kept,
            deferred: Vec::new(),
            deferred_keys: Default::default(),
            deferred_bytes: 0,
            preparing: None,
        }
    }

    /// The submission.
    pub fn submission(&self) -> &Submission {
        &self.submission
    }

    /// Figures so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Add a chunk of `(line number, text)`. Returns once the previous chunk is committed; this
    /// chunk is being prepared meanwhile.
    pub async fn push(&mut self, lines: Vec<(u64, Result<String, Issue>)>) -> Result<(), IngestError> {
        let preparation = self.submission.preparation();
        let next = tokio::task::spawn_blocking(move || {
            lines
                .into_par_iter()
                .map(|(n, line)| match line {
                    Ok(text) => prepare(Item::from_line(n, &text), &preparation, text.len()),
                    Err(issue) => {
                        let item =
                            Item { position: Position::Line(n), full_url: None, id_hint: None, resource: Err(vec![issue]) };
                        prepare(item, &preparation, 0)
                    }
                })
                .collect::<Vec<_>>()
        });
        let previous = self.preparing.replace(next);
        if let Some(handle) = previous {
            let prepared = handle.await.map_err(|_| IngestError::Worker)?;
            self.commit(prepared).await?;
        }
        Ok(())
    }

    /// Push items that are already prepared (a Bundle's entries, for instance).
    pub async fn push_prepared(&mut self, items: Vec<Prepared>) -> Result<(), IngestError> {
        self.drain_preparing().await?;
        self.commit(items).await
    }

    /// Commit items that stand or fall together (a transaction Bundle in a file).
    pub async fn push_transaction(&mut self, items: Vec<Prepared>) -> Result<(), IngestError> {
        self.drain_preparing().await?;
        let committed = commit_group_deferring(self.ingestor.store(), &self.submission, items, GroupMode::Transaction).await?;
        for r in &committed.results {
            self.count(r);
        }
        Ok(())
    }

    async fn drain_preparing(&mut self) -> Result<(), IngestError> {
        if let Some(handle) = self.preparing.take() {
            let prepared = handle.await.map_err(|_| IngestError::Worker)?;
            self.commit(prepared).await?;
        }
        Ok(())
    }

    async fn commit(&mut self, items: Vec<Prepared>) -> Result<(), IngestError> {
        if items.is_empty() {
            return Ok(());
        }
        let mode = if self.deferred_bytes < DEFER_BUDGET_BYTES { GroupMode::Stream } else { GroupMode::Batch };
        // Versions of a resource whose earlier version is held back wait behind it, so the
        // last one submitted is the one that stays current.
        let (held, items) = hold_behind(items, &self.deferred_keys);
        self.deferred_bytes += held.iter().map(|p| p.size).sum::<usize>();
        self.deferred.extend(held);
        let committed = commit_group_deferring(self.ingestor.store(), &self.submission, items, mode).await?;
        for r in &committed.results {
            self.count(r);
        }
        self.deferred_keys.extend(committed.deferred.iter().filter_map(key_of));
        self.deferred_bytes += committed.deferred.iter().map(|p| p.size).sum::<usize>();
        self.deferred.extend(committed.deferred);
        Ok(())
    }

    fn count(&mut self, r: &ItemResult) {
        self.summary.add(r);
        if let Outcome::Refused(issues) = &r.outcome
            && self.refusals.len() < self.refusals_kept
        {
            self.refusals.push((r.position, issues.clone()));
        }
    }

    /// Finish: try held-back items again until no more resolve, refuse the rest, and record the
    /// submission. Returns the figures and the refusals kept in detail, in input order.
    pub async fn finish(mut self) -> Result<(Summary, Vec<(Position, Vec<Issue>)>), IngestError> {
        self.drain_preparing().await?;
        loop {
            let pending = std::mem::take(&mut self.deferred);
            if pending.is_empty() {
                break;
            }
            let before = pending.len();
            let committed = commit_group_deferring(self.ingestor.store(), &self.submission, pending, GroupMode::Stream).await?;
            for r in &committed.results {
                self.count(r);
            }
            if committed.deferred.len() == before {
                // No progress: what is left names things that never came. Refuse it.
                let last =
                    commit_group_deferring(self.ingestor.store(), &self.submission, committed.deferred, GroupMode::Batch).await?;
                for r in &last.results {
                    self.count(r);
                }
                break;
            }
            self.deferred = committed.deferred;
        }
        self.ingestor.finish(&self.submission, &self.summary).await?;
        let mut refusals = self.refusals;
        refusals.sort_by_key(|(p, _)| match p {
            Position::Line(n) => *n,
            Position::Entry(n) => *n as u64,
            Position::Single => 0,
        });
        Ok((self.summary, refusals))
    }
}
