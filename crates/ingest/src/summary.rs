//! Counting what a submission did, per resource type, with the first reasons for refusals.

use crate::commit::{ItemResult, Outcome};
use std::collections::BTreeMap;

/// How many reasons are kept per resource type.
const REASONS_KEPT: usize = 3;

/// Figures for one resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeSummary {
    /// Items read.
    pub read: u64,
    /// Stored: new, or a new version.
    pub stored: u64,
    /// Identical to what was stored.
    pub unchanged: u64,
    /// Refused.
    pub refused: u64,
    /// The first distinct reasons for refusal.
    pub reasons: Vec<String>,
}

/// Figures of a whole submission, by resource type ("(not FHIR)" for lines that are not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Per type.
    pub by_type: BTreeMap<String, TypeSummary>,
}

impl Summary {
    /// Count one item's result (deferred items are counted when finally decided).
    pub fn add(&mut self, r: &ItemResult) {
        if matches!(r.outcome, Outcome::Deferred(_)) {
            return;
        }
        let name = if r.resource_type.is_empty() { "(not FHIR)".to_string() } else { r.resource_type.clone() };
        let t = self.by_type.entry(name).or_default();
        t.read += 1;
        match &r.outcome {
            Outcome::Created { .. } | Outcome::Updated { .. } => t.stored += 1,
            Outcome::Unchanged { .. } => t.unchanged += 1,
            Outcome::Refused(issues) => {
                t.refused += 1;
                if t.reasons.len() < REASONS_KEPT
                    && let Some(first) = issues.iter().find(|i| i.is_error()).or(issues.first())
                {
                    let reason = first.to_string();
                    if !t.reasons.contains(&reason) {
                        t.reasons.push(reason);
                    }
                }
            }
            Outcome::Deferred(_) => {}
        }
    }

    /// All types together.
    pub fn totals(&self) -> TypeSummary {
        let mut all = TypeSummary::default();
        for t in self.by_type.values() {
            all.read += t.read;
            all.stored += t.stored;
            all.unchanged += t.unchanged;
            all.refused += t.refused;
        }
        all
    }
}
