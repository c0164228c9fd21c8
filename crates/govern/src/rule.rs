//! Rules as data: a rule set is a versioned JSON document (`rules/default.json` is the built-in
//! one), each rule an id (`QC-LAB-003`), the category it counts under, a severity (an error
//! returns the item to its source; a warning is counted), a description in Chinese, the resource
//! types it applies to, and one check of a known kind with its parameters. A rule set is checked
//! whole when loaded, and tried on a sample before it is activated.

use crate::check::{Context, Finding, Probe, Sex};
use serde::{Deserialize, Serialize};
use tongdang_fhir::Node;

/// What failing a rule means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The item is not stored in anyone's record; it becomes a return to its source.
    Error,
    /// The item is stored, and the finding counted in the quality figures.
    Warning,
}

/// The checks rules are made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleKind {
    /// The element must be present (and not empty).
    Required { path: String },
    /// Codes at the path (strings, or codings of the set's systems) must be in the named set.
    ValueSet { path: String, set: String },
    /// ICD-10 codings at the path must be written as ICD-10 codes.
    Icd10 { path: String },
    /// Quantities at the path must carry a UCUM unit.
    UcumUnit { path: String },
    /// The time at the path must not be after receipt (plus `skew_minutes`).
    NotInFuture { path: String, skew_minutes: i64 },
    /// The time at the path must not be before the person's birth date.
    NotBeforeBirth { path: String },
    /// The time at the path must not be later than `grace_days` after the day of the person's
    /// death (death certification and autopsy come after it).
    NotAfterDeath {
        path: String,
        #[serde(default)]
        grace_days: i64,
    },
    /// The time at `path` must not be before the time at `other` (a report after its sample).
    NotBefore { path: String, other: String },
    /// The value of a quantity at `path`, when the resource carries `code` in `code_path`, must
    /// lie within `[min, max]`.
    Range { code_path: String, code: String, path: String, min: f64, max: f64 },
    /// When the resource carries one of `codes` in `code_path`, the age at `path` must lie within
    /// `[min_days, max_days]`.
    AgeAt { code_path: String, codes: Vec<String>, path: String, min_days: i64, max_days: i64 },
    /// Codes at `code_path` starting with one of `prefixes` are only for persons of `sex`.
    SexSpecific { code_path: String, prefixes: Vec<String>, sex: Sex },
    /// Identifiers of `system` must pass their check character (GB 11643 for ID numbers).
    CheckDigit { system: String },
    /// The time at the path must be received within `max_lag_hours`.
    Timeliness { path: String, max_lag_hours: i64 },
    /// The entry must not repeat one the institution already submitted under another id: same
    /// person, type, codes and clinical time. Checked against the store at commit.
    Duplicate,
}

/// The quality dimension a rule measures (the figures count findings per dimension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Required and recommended elements present (完整性).
    Completeness,
    /// Codes, units, formats and values that can be true (规范性/准确性).
    Validity,
    /// Agreement with the person and the rest of the record (一致性).
    Consistency,
    /// Received soon enough after the clinical time (及时性).
    Timeliness,
    /// Not a repeat of what is stored under another id (唯一性).
    Uniqueness,
}

impl RuleKind {
    /// The dimension this kind of check measures.
    pub fn dimension(&self) -> Dimension {
        match self {
            RuleKind::Required { .. } => Dimension::Completeness,
            RuleKind::ValueSet { .. }
            | RuleKind::Icd10 { .. }
            | RuleKind::UcumUnit { .. }
            | RuleKind::CheckDigit { .. }
            | RuleKind::NotInFuture { .. }
            | RuleKind::Range { .. } => Dimension::Validity,
            RuleKind::NotBeforeBirth { .. }
            | RuleKind::NotAfterDeath { .. }
            | RuleKind::NotBefore { .. }
            | RuleKind::AgeAt { .. }
            | RuleKind::SexSpecific { .. } => Dimension::Consistency,
            RuleKind::Timeliness { .. } => Dimension::Timeliness,
            RuleKind::Duplicate => Dimension::Uniqueness,
        }
    }

    /// Whether the check needs the person (birth, death, sex), known only once the item's
    /// subject is resolved.
    pub fn needs_person(&self) -> bool {
        matches!(
            self,
            RuleKind::NotBeforeBirth { .. }
                | RuleKind::NotAfterDeath { .. }
                | RuleKind::AgeAt { .. }
                | RuleKind::SexSpecific { .. }
        )
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Stable id, e.g. `QC-LAB-003`.
    pub id: String,
    /// What it counts under: a record category code, or `patient`.
    pub category: String,
    /// Error or warning.
    pub severity: Severity,
    /// What it asks, in Chinese (shown to the institution with every finding).
    pub description: String,
    /// The resource types it applies to.
    pub applies_to: Vec<String>,
    /// The check.
    #[serde(flatten)]
    pub kind: RuleKind,
}

/// A versioned set of rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    /// Its version, e.g. `2026.1`.
    pub version: String,
    /// The rules.
    pub rules: Vec<Rule>,
}

/// Why a rule set cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleSetError {
    /// Not a rule set document.
    #[error("not a rule set: {0}")]
    Malformed(String),
    /// A rule that cannot work.
    #[error("rule {id}: {why}")]
    BadRule { id: String, why: String },
    /// On the sample it was tried on, it would return too much.
    #[error(
        "the rule set would return {returned} of {sampled} sampled items ({share:.0} %); at most {limit:.0} % is allowed before activation"
    )]
    RejectsTooMuch { returned: usize, sampled: usize, share: f64, limit: f64 },
    /// It would return too much of one resource type (a misspelt path returns all of a type,
    /// which may be a small share of a mixed sample).
    #[error(
        "the rule set would return {returned} of {sampled} sampled {resource_type} resources ({share:.0} %); at most {limit:.0} % of any type is allowed before activation"
    )]
    RejectsTooMuchOf { resource_type: String, returned: usize, sampled: usize, share: f64, limit: f64 },
}

/// Items of one type a trial needs before its share of that type is judged.
pub const TRIAL_MIN_PER_TYPE: usize = 20;

/// What a rule set does to a sample, before it is activated.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Items tried.
    pub sampled: usize,
    /// Items an error rule would return.
    pub returned: usize,
    /// Findings per rule id.
    pub by_rule: Vec<(String, usize)>,
    /// `(type, sampled, returned)` per resource type.
    pub by_type: Vec<(String, usize, usize)>,
}

impl RuleSet {
    /// The built-in rule set.
    pub fn builtin() -> RuleSet {
        RuleSet::from_json(include_str!("../rules/default.json")).expect("the built-in rule set is valid")
    }

    /// Parse and check a rule set: ids unique and well formed, descriptions present, value sets
    /// known, ranges ordered.
    pub fn from_json(text: &str) -> Result<RuleSet, RuleSetError> {
        let set: RuleSet = serde_json::from_str(text).map_err(|e| RuleSetError::Malformed(e.to_string()))?;
        if set.version.trim().is_empty() {
            return Err(RuleSetError::Malformed("the version is empty".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for r in &set.rules {
            let bad = |why: &str| Err(RuleSetError::BadRule { id: r.id.clone(), why: why.into() });
            if !r.id.starts_with("QC-") || r.id.len() > 32 || !seen.insert(r.id.clone()) {
                return bad("ids are unique, start with QC- and have at most 32 characters");
            }
            if r.description.trim().is_empty() || r.applies_to.is_empty() {
                return bad("a rule needs a description and the resource types it applies to");
            }
            match &r.kind {
                RuleKind::ValueSet { set, .. } if crate::valuesets::lookup(set).is_none() => return bad("unknown value set"),
                RuleKind::Range { min, max, .. } if min.partial_cmp(max) != Some(std::cmp::Ordering::Less) && min != max => {
                    return bad("min is above max, or not a number");
                }
                RuleKind::AgeAt { min_days, max_days, .. } if min_days > max_days => return bad("min_days is above max_days"),
                RuleKind::Timeliness { max_lag_hours, .. } if *max_lag_hours <= 0 => {
                    return bad("max_lag_hours must be positive");
                }
                _ => {}
            }
        }
        Ok(set)
    }

    /// Every finding of every rule that applies to this resource.
    pub fn check(&self, resource: Node<'_>, ctx: &Context) -> Vec<Finding> {
        let Some(rt) = resource.get("resourceType").and_then(Node::as_str) else { return Vec::new() };
        self.rules
            .iter()
            .filter(|r| r.applies_to.iter().any(|t| t == rt))
            .flat_map(|r| crate::check::run(r, resource, ctx))
            .collect()
    }

    /// The findings that need nothing but the resource, and the probes of the rules that need
    /// its person (judged by [`RuleSet::judge`] once the person is known).
    pub fn check_alone(&self, resource: Node<'_>, ctx: &Context) -> (Vec<Finding>, Vec<Probe>) {
        let Some(rt) = resource.get("resourceType").and_then(Node::as_str) else { return (Vec::new(), Vec::new()) };
        let (mut findings, mut probes) = (Vec::new(), Vec::new());
        for (i, r) in self.rules.iter().enumerate().filter(|(_, r)| r.applies_to.iter().any(|t| t == rt)) {
            if r.kind.needs_person() {
                probes.extend(crate::check::probe(r, resource).into_iter().map(|p| Probe { rule: i, ..p }));
            } else {
                findings.extend(crate::check::run(r, resource, ctx));
            }
        }
        (findings, probes)
    }

    /// Judge the probes of [`RuleSet::check_alone`] against what is known of the person.
    pub fn judge(&self, probes: &[Probe], ctx: &Context) -> Vec<Finding> {
        probes.iter().filter_map(|p| self.rules.get(p.rule).and_then(|r| crate::check::judge(r, p, ctx))).collect()
    }

    /// The duplicate rule that applies to this resource type, if any.
    pub fn duplicate_rule(&self, resource_type: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.kind == RuleKind::Duplicate && r.applies_to.iter().any(|t| t == resource_type))
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Run the set on a sample; refuse it if it would return more than `max_share` (0–1) of it.
    /// A broken rule set (a path misspelt, a range inverted in meaning) shows here, not in
    /// production.
    pub fn trial<'a>(
        &self,
        sample: impl IntoIterator<Item = (Node<'a>, Context)>,
        max_share: f64,
    ) -> Result<Trial, RuleSetError> {
        let mut t = Trial { sampled: 0, returned: 0, by_rule: Vec::new(), by_type: Vec::new() };
        for (resource, ctx) in sample {
            t.sampled += 1;
            let rt = resource.get("resourceType").and_then(Node::as_str).unwrap_or("");
            let at = match t.by_type.iter().position(|(ty, _, _)| ty == rt) {
                Some(i) => i,
                None => {
                    t.by_type.push((rt.to_string(), 0, 0));
                    t.by_type.len() - 1
                }
            };
            t.by_type[at].1 += 1;
            let findings = self.check(resource, &ctx);
            if findings.iter().any(|f| f.severity == Severity::Error) {
                t.returned += 1;
                t.by_type[at].2 += 1;
            }
            for f in findings {
                match t.by_rule.iter_mut().find(|(id, _)| *id == f.rule) {
                    Some((_, n)) => *n += 1,
                    None => t.by_rule.push((f.rule.clone(), 1)),
                }
            }
        }
        let share = if t.sampled == 0 { 0.0 } else { t.returned as f64 / t.sampled as f64 };
        if share > max_share {
            return Err(RuleSetError::RejectsTooMuch {
                returned: t.returned,
                sampled: t.sampled,
                share: share * 100.0,
                limit: max_share * 100.0,
            });
        }
        for (resource_type, sampled, returned) in &t.by_type {
            let share = *returned as f64 / *sampled as f64;
            if *sampled >= TRIAL_MIN_PER_TYPE && share > max_share {
                return Err(RuleSetError::RejectsTooMuchOf {
                    resource_type: resource_type.clone(),
                    returned: *returned,
                    sampled: *sampled,
                    share: share * 100.0,
                    limit: max_share * 100.0,
                });
            }
        }
        Ok(t)
    }
}
