//! Changing the quality rules: a new rule set is tried on a sample of stored entries before it
//! is kept (a set that would return too much is refused), activated for every submission from
//! then on, and stored entries are re-checked against it in the background, with progress. A
//! stored entry that fails a new error rule stays in its record (nothing clinical is deleted) and
//! opens a return to its source.

use crate::quality::STRUCTURE_RULE;
use crate::{IngestError, Ingestor};
use std::sync::Arc;
use tongdang_core::Timestamp;
use tongdang_fhir::Node;
use tongdang_govern::{Context, RuleSet, RuleSetError, Severity, Trial};
use tongdang_store::{RecheckStep, ReturnRecord, RuleSetRecord};

/// Entries a trial runs on.
pub const TRIAL_SAMPLE: u32 = 2_000;
/// Patients a trial runs on.
pub const TRIAL_PATIENTS: u32 = 500;
/// The largest share of the sample a rule set may return (5 %).
pub const TRIAL_MAX_SHARE: f64 = 0.05;
/// Entries re-checked per step.
const RECHECK_BATCH: u32 = 500;

/// Why a rule set was not kept.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// Not a valid rule set, or it would return too much.
    #[error(transparent)]
    Invalid(#[from] RuleSetError),
    /// That version exists already.
    #[error("rule set version {0} exists already; give the new set a new version")]
    Exists(String),
    /// The pipeline failed.
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl From<tongdang_store::StoreError> for RulesError {
    fn from(e: tongdang_store::StoreError) -> RulesError {
        RulesError::Ingest(e.into())
    }
}

impl Ingestor {
    /// Try `text` as a rule set on stored entries, keep it, and make it the active one. Returns
    /// the kept record and the trial; start [`Ingestor::recheck`] after.
    pub async fn propose_rules(&self, text: &str, by: &str) -> Result<(RuleSetRecord, Trial), RulesError> {
        let set = RuleSet::from_json(text)?;
        if self.store().rule_sets().await?.iter().any(|r| r.version == set.version) || set.version == RuleSet::builtin().version {
            return Err(RulesError::Exists(set.version.clone()));
        }
        let parsed = self.trial_sample().await?;
        let trial = set.trial(parsed.iter().map(|(v, at)| (Node::Value(v), Context::at(*at))), TRIAL_MAX_SHARE)?;
        let now = Timestamp::now();
        let record = RuleSetRecord {
            version: set.version.clone(),
            body: text.to_string(),
            status: "retired".into(),
            trial: serde_json::json!({"sampled": trial.sampled, "returned": trial.returned, "by_rule": trial.by_rule})
                .to_string(),
            created_at: now,
            created_by: by.to_string(),
            activated_at: None,
            recheck_total: 0,
            recheck_done: 0,
            recheck_returned: 0,
            recheck_after: 0,
            recheck_finished_at: None,
        };
        if !self.store().insert_rule_set(&record).await? {
            return Err(RulesError::Exists(set.version));
        }
        let total = self.store().entry_count().await?;
        self.store().activate_rule_set(&record.version, now, total).await?;
        self.reload_rules().await?;
        let kept = self.store().rule_sets().await?.into_iter().find(|r| r.version == record.version).unwrap_or(record);
        Ok((kept, trial))
    }

    /// Stored resources to try a rule set on: entries from across the id range (ten slices, so
    /// old and recent data both count) and Patients, withdrawn entries left out.
    async fn trial_sample(&self) -> Result<Vec<(serde_json::Value, Timestamp)>, IngestError> {
        let store = self.store();
        let (first, last) = store.entry_id_bounds().await?;
        let slices = 10;
        let per_slice = TRIAL_SAMPLE / slices;
        let step = ((last - first) / i64::from(slices)).max(i64::from(per_slice));
        let mut out = Vec::new();
        let mut from = first - 1;
        for _ in 0..slices {
            let batch = store.entries_after(from, per_slice).await?;
            let Some(end) = batch.last().map(|e| e.id.0) else { break };
            out.extend(
                batch
                    .iter()
                    .filter(|e| e.status == tongdang_store::EntryStatus::Current)
                    .filter_map(|e| serde_json::from_slice(&e.resource).ok().map(|v| (v, e.collected_at))),
            );
            from = (from + step).max(end);
        }
        for p in store.patient_records_page(0, TRIAL_PATIENTS).await? {
            if let Ok(v) = serde_json::from_slice(&p.resource) {
                out.push((v, p.collected_at));
            }
        }
        Ok(out)
    }

    /// Re-check stored entries against the active rule set, from where the last re-check of it
    /// stopped, until done or until another set is activated. Progress is stored per batch.
    pub async fn recheck(&self) -> Result<(), IngestError> {
        loop {
            let Some(active) = self.store().rule_sets().await?.into_iter().find(|r| r.status == "active") else { return Ok(()) };
            if active.recheck_finished_at.is_some() {
                return Ok(());
            }
            let rules = self.rules();
            if rules.version != active.version {
                // Another server activated it: load it first.
                self.reload_rules().await?;
                continue;
            }
            let batch = self.store().entries_after(active.recheck_after, RECHECK_BATCH).await?;
            let Some(last) = batch.last().map(|e| e.id.0) else {
                let step = RecheckStep {
                    version: active.version.clone(),
                    from: active.recheck_after,
                    after: active.recheck_after,
                    done: 0,
                    returned: 0,
                    finished: Some(Timestamp::now()),
                };
                self.store().record_recheck(&step, &[]).await?;
                return Ok(());
            };
            let done = batch.len() as i64;
            let returns = tokio::task::spawn_blocking({
                let rules = rules.clone();
                move || recheck_batch(&rules, &batch)
            })
            .await
            .map_err(|_| IngestError::Worker)?;
            let step = RecheckStep {
                version: active.version.clone(),
                from: active.recheck_after,
                after: last,
                done,
                returned: returns.len() as i64,
                finished: None,
            };
            // False: another server did this batch; the loop reads the cursor again.
            self.store().record_recheck(&step, &returns).await?;
            tokio::task::yield_now().await;
        }
    }
}

/// The returns a batch of stored entries opens under `rules`.
fn recheck_batch(rules: &Arc<RuleSet>, batch: &[tongdang_store::EntryRecord]) -> Vec<ReturnRecord> {
    let now = Timestamp::now();
    let mut out = Vec::new();
    // A withdrawn entry is out of every record already: nothing to return.
    for e in batch.iter().filter(|e| e.status == tongdang_store::EntryStatus::Current) {
        let findings = match serde_json::from_slice::<serde_json::Value>(&e.resource) {
            Ok(v) => rules.check(Node::Value(&v), &Context::at(e.collected_at)),
            Err(_) => vec![tongdang_govern::Finding {
                rule: STRUCTURE_RULE.into(),
                severity: Severity::Error,
                message: "存储内容无法解析".into(),
                path: e.resource_type.clone(),
            }],
        };
        let errors: Vec<_> = findings.into_iter().filter(|f| f.severity == Severity::Error).collect();
        if errors.is_empty() {
            continue;
        }
        let mut ids: Vec<&str> = errors.iter().map(|f| f.rule.as_str()).collect();
        ids.sort();
        ids.dedup();
        out.push(ReturnRecord {
            id: 0,
            institution: e.institution.clone(),
            resource_type: e.resource_type.clone(),
            source_id: e.source_id.clone(),
            category: Some(e.category.as_i16()),
            origin: "recheck".into(),
            status: "open".into(),
            rules: ids.join(" "),
            findings: serde_json::to_string(&errors).unwrap_or_else(|_| "[]".into()),
            rule_set: rules.version.clone(),
            first_submission: Some(e.submission),
            submission: None,
            attempts: 0,
            opened_at: now,
            updated_at: now,
            closed_at: None,
            closed_submission: None,
            correction: None,
        });
    }
    out
}
