//! Rows of data governance: returns (质控退还), the daily quality counters, reconciliation
//! results (对账) and rule sets. None of them holds personal data: a return names the
//! institution's own resource id and the rules it failed, never the content.

use tongdang_core::Timestamp;

/// A return to a source institution: one of its resources failed an error rule (or was
/// refused otherwise) and is in nobody's record until it is corrected and resubmitted.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnRecord {
    /// Platform id (0 before it is written).
    pub id: i64,
    /// The source institution.
    pub institution: String,
    /// Resource type.
    pub resource_type: String,
    /// The institution's id of the resource.
    pub source_id: String,
    /// The record category code, for entries.
    pub category: Option<i16>,
    /// `submission` (refused on arrival) or `recheck` (a stored entry failing a newer rule set).
    pub origin: String,
    /// `open` or `closed`.
    pub status: String,
    /// Ids of the rules failed, space separated.
    pub rules: String,
    /// The findings as JSON: `[{rule, severity, message, path}]`.
    pub findings: String,
    /// The rule set version that judged it.
    pub rule_set: String,
    /// The submission that first failed.
    pub first_submission: Option<i64>,
    /// The latest submission that failed.
    pub submission: Option<i64>,
    /// Failed submissions so far.
    pub attempts: i32,
    /// Opened.
    pub opened_at: Timestamp,
    /// Last failed.
    pub updated_at: Timestamp,
    /// Closed, if it is.
    pub closed_at: Option<Timestamp>,
    /// The submission that closed it.
    pub closed_submission: Option<i64>,
    /// The accepted correction, e.g. `Observation/42/_history/2`.
    pub correction: Option<String>,
}

/// Closing an open return: its resource was resubmitted and accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnClosure {
    /// The return.
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// By which submission.
    pub submission: i64,
    /// The stored correction, e.g. `Observation/42/_history/2`.
    pub correction: String,
}

/// Which returns to list.
#[derive(Debug, Clone, Default)]
pub struct ReturnFilter {
    /// Of this institution (operators see all).
    pub institution: Option<String>,
    /// Of these institutions (a city's).
    pub institutions: Option<Vec<String>>,
    /// `open` or `closed`.
    pub status: Option<String>,
    /// Changed at or after.
    pub since: Option<Timestamp>,
    /// Failing this rule.
    pub rule: Option<String>,
    /// Page after this id (newest first: ids below it).
    pub before: Option<i64>,
    /// Page size.
    pub limit: u32,
}

/// The category of Patients in the quality counters (record categories are 0–9).
pub const PATIENT_CATEGORY: i16 = -1;

/// Quality counters of one institution, receipt day (CST, `yyyymmdd`) and record category.
/// Added to as groups commit; every field is a count, so rows add up across days and sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QualityCounts {
    /// Source institution.
    pub institution: String,
    /// Receipt day, `yyyymmdd` in CST.
    pub day: i32,
    /// Record category code ([`PATIENT_CATEGORY`] for Patients).
    pub category: i16,
    /// The institution's city code.
    pub city: String,
    /// Items received (valid or not, with a type).
    pub received: i64,
    /// Stored (created, updated or unchanged).
    pub accepted: i64,
    /// Returned.
    pub returned: i64,
    /// Items missing a required or recommended element.
    pub incomplete: i64,
    /// Items with an invalid code, unit, format or value.
    pub invalid: i64,
    /// Items inconsistent with the person or themselves.
    pub inconsistent: i64,
    /// Items received later than the timeliness rules allow.
    pub late: i64,
    /// Items that repeat an entry already stored under another id.
    pub duplicates: i64,
    /// Accepted items with a clinical time (the lag figures' base).
    pub timed: i64,
    /// Sum of their lags, seconds.
    pub lag_seconds: i64,
    /// Lag histogram: ≤1 h, ≤1 d, ≤3 d, ≤7 d, ≤30 d, more.
    pub lag: [i64; 6],
}

impl QualityCounts {
    /// Add another row's counts (same key or not: the caller decides what they stand for).
    pub fn add(&mut self, o: &QualityCounts) {
        self.received += o.received;
        self.accepted += o.accepted;
        self.returned += o.returned;
        self.incomplete += o.incomplete;
        self.invalid += o.invalid;
        self.inconsistent += o.inconsistent;
        self.late += o.late;
        self.duplicates += o.duplicates;
        self.timed += o.timed;
        self.lag_seconds += o.lag_seconds;
        for (a, b) in self.lag.iter_mut().zip(o.lag) {
            *a += b;
        }
    }
}

/// Which quality rows to read: days `[from, to]`, one institution, one city, or all.
#[derive(Debug, Clone, Default)]
pub struct QualityQuery {
    /// Of this institution.
    pub institution: Option<String>,
    /// Of this city.
    pub city: Option<String>,
    /// First day, `yyyymmdd`.
    pub from: i32,
    /// Last day, `yyyymmdd`.
    pub to: i32,
}

/// Open returns of a scope, by age.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReturns {
    /// How many.
    pub count: i64,
    /// The oldest one's opening.
    pub oldest: Option<Timestamp>,
    /// Opened ≤1 d, ≤7 d, ≤30 d ago, and older.
    pub by_age: [i64; 4],
}

/// What the platform holds of one entry, as reconciliation compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldEntry {
    /// Resource type.
    pub resource_type: String,
    /// The institution's id.
    pub source_id: String,
    /// Current version.
    pub version: i64,
    /// SHA-256 of its canonical content.
    pub digest: Vec<u8>,
    /// Record category code.
    pub category: i16,
}

/// A stored reconciliation result.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconciliationRecord {
    /// Platform id (0 before it is written).
    pub id: i64,
    /// The institution.
    pub institution: String,
    /// The day reconciled, `yyyymmdd` (receipt, CST).
    pub day: i32,
    /// The category, if one.
    pub category: Option<i16>,
    /// When.
    pub submitted_at: Timestamp,
    /// Who (an API key prefix or an account).
    pub submitted_by: String,
    /// Ids the institution listed (or its count, for a summary manifest).
    pub listed: i64,
    /// Entries the platform holds for that day.
    pub held: i64,
    /// Listed and identical.
    pub matched: i64,
    /// Listed, not held.
    pub missing: i64,
    /// Held, not listed.
    pub extra: i64,
    /// Held in another version or content.
    pub differing: i64,
    /// The lists, as JSON.
    pub result: String,
}

/// One step of a re-check: where it started, where it got to, what it found.
#[derive(Debug, Clone, PartialEq)]
pub struct RecheckStep {
    /// The rule set re-checked against.
    pub version: String,
    /// The cursor the step started from (the last entry id checked before it).
    pub from: i64,
    /// The last entry id it checked.
    pub after: i64,
    /// Entries checked.
    pub done: i64,
    /// Entries that now fail an error rule.
    pub returned: i64,
    /// Set when nothing is left to check.
    pub finished: Option<Timestamp>,
}

/// A rule set kept by the platform.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSetRecord {
    /// Its version.
    pub version: String,
    /// The rule set document.
    pub body: String,
    /// `active`, `retired`.
    pub status: String,
    /// The trial's figures, as JSON.
    pub trial: String,
    /// Stored.
    pub created_at: Timestamp,
    /// By whom.
    pub created_by: String,
    /// Made active.
    pub activated_at: Option<Timestamp>,
    /// Stored entries to re-check.
    pub recheck_total: i64,
    /// Re-checked so far.
    pub recheck_done: i64,
    /// Re-checked entries that now fail an error rule.
    pub recheck_returned: i64,
    /// The last entry id re-checked.
    pub recheck_after: i64,
    /// When the re-check finished.
    pub recheck_finished_at: Option<Timestamp>,
}

/// An entry stored at a given person and clinical time: a duplicate candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimilarEntry {
    /// Its person.
    pub person: tongdang_core::PersonId,
    /// Its sort time (µs).
    pub sort_time: i64,
    /// Resource type.
    pub resource_type: String,
    /// Its code tokens.
    pub codes: String,
    /// Source institution.
    pub institution: String,
    /// The institution's id.
    pub source_id: String,
}

/// Rows of a city's rollup are kept under this institution prefix (no institution code starts
/// with it): the province's figures sum 21 cities' rows instead of every institution's.
pub const ROLLUP_PREFIX: &str = "city:";
/// The end of the rollup range (`;` follows `:`).
pub const ROLLUP_END: &str = "city;";

/// The rollup row key of a city (area code).
pub fn city_rollup(city: &str) -> String {
    format!("{ROLLUP_PREFIX}{city}")
}

/// Counters with their cities' rollup rows added, merged by key and sorted, so concurrent
/// writers lock the shared rows in one order (no deadlocks on PostgreSQL).
pub(crate) fn with_city_rollups(counts: &[QualityCounts]) -> Vec<QualityCounts> {
    let mut by_key: std::collections::BTreeMap<(String, i32, i16), QualityCounts> = Default::default();
    for c in counts {
        let mut keys = vec![c.institution.clone()];
        if !c.city.is_empty() && !c.institution.starts_with(ROLLUP_PREFIX) {
            keys.push(city_rollup(&c.city));
        }
        for k in keys {
            by_key
                .entry((k.clone(), c.day, c.category))
                .or_insert_with(|| QualityCounts {
                    institution: k,
                    day: c.day,
                    category: c.category,
                    city: c.city.clone(),
                    ..Default::default()
                })
                .add(c);
        }
    }
    by_key.into_values().collect()
}
