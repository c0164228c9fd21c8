//! Quality at commit: the rules that need the item's person (birth, death, sex) or the store
//! (duplicates), and the bookkeeping of every committed group — returns opened or closed, and
//! the quality counters of the institution's day — written in the group's own transaction.

use crate::commit::{Outcome, Target};
use crate::prepare::{Prepared, Role};
use std::collections::{HashMap, HashSet};
use tongdang_core::{PersonId, Timestamp};
use tongdang_fhir::{Issue, IssueCode};
use tongdang_govern::{Context, Dimension, Finding, Severity, Sex};
use tongdang_identity::demographics::{BirthDate, Demographics, Sex as PersonSex};
use tongdang_store::{IngestTx, QualityCounts, ReturnClosure, ReturnRecord, StoreError, WriteSet};

/// Rule id of refusals that are not a quality rule's: the resource is not valid FHIR R4, or not
/// acceptable to the platform (no id, no subject, an unsupported type).
pub const STRUCTURE_RULE: &str = "QC-STR-001";
/// Rule id of refusals because a reference does not resolve in the institution's namespace.
pub const REFERENCE_RULE: &str = "QC-REF-001";

/// Judge the probes of pending items against their persons, and look for duplicates. Returns the
/// new findings per item index.
pub(crate) async fn judge(
    tx: &mut dyn IngestTx,
    institution: &str,
    items: &[Prepared],
    pending: &[usize],
    person_of: &[Option<PersonId>],
    fresh: &HashSet<PersonId>,
) -> Result<HashMap<usize, Vec<Finding>>, StoreError> {
    let mut out: HashMap<usize, Vec<Finding>> = HashMap::new();
    let facts = person_facts(tx, items, pending, person_of).await?;
    for &i in pending {
        let (Some(checked), Some(person)) = (items[i].checked.as_ref(), person_of[i]) else { continue };
        if checked.probes.is_empty() {
            continue;
        }
        let Some(ctx) = facts.get(&person).map(|f| f.context(checked.received)) else { continue };
        let found = checked.rules.judge(&checked.probes, &ctx);
        if !found.is_empty() {
            out.entry(i).or_default().extend(found);
        }
    }
    for (i, f) in duplicates(tx, institution, items, pending, person_of, fresh).await? {
        out.entry(i).or_default().push(f);
    }
    Ok(out)
}

/// What the person-dependent rules know of a person.
#[derive(Debug, Default, Clone, Copy)]
struct Facts {
    birth: Option<Timestamp>,
    death: Option<Timestamp>,
    sex: Option<Sex>,
}

impl Facts {
    fn context(self, received: Timestamp) -> Context {
        Context { received, birth: self.birth, death: self.death, sex: self.sex }
    }

    /// Fill what is unknown from one of the person's records.
    fn learn(&mut self, d: &Demographics) {
        let day = |b: &BirthDate| {
            let text = match (b.month, b.day) {
                (0, _) => format!("{:04}", b.year),
                (m, 0) => format!("{:04}-{m:02}", b.year),
                (m, d) => format!("{:04}-{m:02}-{d:02}", b.year),
            };
            Timestamp::parse_fhir(&text)
        };
        self.birth = self.birth.or_else(|| d.birth.as_ref().and_then(day));
        self.death = self.death.or_else(|| d.death.as_ref().and_then(day));
        self.sex = self.sex.or(match d.sex {
            Some(PersonSex::Male) => Some(Sex::Male),
            Some(PersonSex::Female) => Some(Sex::Female),
            _ => None,
        });
    }
}

async fn person_facts(
    tx: &mut dyn IngestTx,
    items: &[Prepared],
    pending: &[usize],
    person_of: &[Option<PersonId>],
) -> Result<HashMap<PersonId, Facts>, StoreError> {
    let wanted: HashSet<PersonId> = pending
        .iter()
        .filter(|&&i| items[i].checked.as_ref().is_some_and(|c| !c.probes.is_empty()))
        .filter_map(|&i| person_of[i])
        .collect();
    let mut facts: HashMap<PersonId, Facts> = HashMap::new();
    if wanted.is_empty() {
        return Ok(facts);
    }
    // The group's own Patients first: a new person is known only from them.
    for (i, p) in items.iter().enumerate() {
        if let (Ok(body), Some(person)) = (&p.body, person_of[i])
            && let Role::Patient { matching, .. } = &body.role
            && wanted.contains(&person)
        {
            facts.entry(person).or_default().learn(&matching.demographics);
        }
    }
    let mut stored: Vec<PersonId> = wanted.into_iter().filter(|p| p.0 > 0 && !facts.contains_key(p)).collect();
    stored.sort();
    stored.dedup();
    if !stored.is_empty() {
        for record in tx.match_records_of(&stored).await? {
            if let Ok(d) = serde_json::from_str::<Demographics>(&record.demographics) {
                facts.entry(record.person).or_default().learn(&d);
            }
        }
    }
    Ok(facts)
}

/// Entries that repeat, under another id, one the institution already submitted (or one earlier
/// in the group): same person, type, codes and clinical time.
async fn duplicates(
    tx: &mut dyn IngestTx,
    institution: &str,
    items: &[Prepared],
    pending: &[usize],
    person_of: &[Option<PersonId>],
    fresh: &HashSet<PersonId>,
) -> Result<Vec<(usize, Finding)>, StoreError> {
    struct Candidate<'a> {
        index: usize,
        person: PersonId,
        time: i64,
        codes: &'a str,
        source_id: &'a str,
        rule: &'a tongdang_govern::Rule,
    }
    let mut candidates = Vec::new();
    for &i in pending {
        let p = &items[i];
        let (Ok(body), Some(checked), Some(person)) = (&p.body, p.checked.as_ref(), person_of[i]) else { continue };
        let Role::Entry { clinical: Some((_, time)), codes, .. } = &body.role else { continue };
        if codes.is_empty() {
            continue;
        }
        if let Some(rule) = checked.rules.duplicate_rule(&p.resource_type) {
            candidates.push(Candidate { index: i, person, time: time.0, codes, source_id: &body.source_id, rule });
        }
    }
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    // A person created by this group has nothing stored yet: only the group itself can repeat.
    let mut points: Vec<(i64, i64)> =
        candidates.iter().filter(|c| c.person.0 > 0 && !fresh.contains(&c.person)).map(|c| (c.person.0, c.time)).collect();
    points.sort();
    points.dedup();
    let stored = if points.is_empty() { Vec::new() } else { tx.entries_at(&points).await? };
    let mut seen: HashMap<(PersonId, i64, &str, &str), &str> = HashMap::new();
    let mut out = Vec::new();
    for c in &candidates {
        let rt = items[c.index].resource_type.as_str();
        let in_store = stored.iter().any(|s| {
            s.person == c.person
                && s.sort_time == c.time
                && s.resource_type == rt
                && s.codes == c.codes
                && s.institution == institution
                && s.source_id != c.source_id
        });
        let in_group = match seen.get(&(c.person, c.time, rt, c.codes)) {
            Some(other) => *other != c.source_id,
            None => {
                seen.insert((c.person, c.time, rt, c.codes), c.source_id);
                false
            }
        };
        if in_store || in_group {
            out.push((
                c.index,
                Finding {
                    rule: c.rule.id.clone(),
                    severity: c.rule.severity,
                    message: c.rule.description.clone(),
                    path: rt.to_string(),
                },
            ));
        }
    }
    Ok(out)
}

/// The returns and quality counters of one committed group.
pub(crate) struct Accounts<'a> {
    institution: &'a str,
    city: &'a str,
    submission: i64,
    now: Timestamp,
    counts: HashMap<(i32, i16), QualityCounts>,
    /// Per resource, its last state in the group: a return to open (or fail again), or a
    /// closure of its open return. The same resource may come more than once in a group (failing
    /// items are not split off like valid ones), and only its last outcome counts.
    last: HashMap<(String, String), Settled>,
}

/// What a resource's last outcome in the group does to its return.
enum Settled {
    /// Refused: open a return, or fail the open one again (`attempts` in this group).
    Return(Box<ReturnRecord>),
    /// Accepted: close the open return, if any.
    Close(Option<ReturnClosure>),
}

impl<'a> Accounts<'a> {
    /// For a group of `institution` (in `city`), submitted by `submission`.
    pub(crate) fn new(institution: &'a str, city: &'a str, submission: i64, now: Timestamp) -> Accounts<'a> {
        Accounts { institution, city, submission, now, counts: HashMap::new(), last: HashMap::new() }
    }

    /// Count one item's final outcome, in submission order. `late`: findings of the rules judged
    /// at commit; `casualty`: refused only because its transaction failed; `open_return`: the id
    /// of the return its resource had open before the group.
    pub(crate) fn item(&mut self, p: &Prepared, late: &[Finding], outcome: &Outcome, casualty: bool, open_return: Option<i64>) {
        if matches!(outcome, Outcome::Deferred(_)) || p.resource_type.is_empty() {
            return;
        }
        let checked = p.checked.as_deref();
        let received = checked.map_or(self.now, |c| c.received);
        let category = checked.and_then(|c| c.category).map_or(tongdang_store::PATIENT_CATEGORY, |c| c.as_i16());
        let c = self.counts.entry((received.cst_day(), category)).or_insert_with(|| QualityCounts {
            institution: self.institution.to_string(),
            day: received.cst_day(),
            category,
            city: self.city.to_string(),
            ..Default::default()
        });
        c.received += 1;
        let all: Vec<&Finding> = checked.map(|c| c.findings.iter().chain(late).collect()).unwrap_or_default();
        if let Some(checked) = checked {
            let mut dims: Vec<Dimension> =
                all.iter().filter_map(|f| checked.rules.rule(&f.rule).map(|r| r.kind.dimension())).collect();
            dims.sort_by_key(|d| *d as u8);
            dims.dedup();
            for d in dims {
                match d {
                    Dimension::Completeness => c.incomplete += 1,
                    Dimension::Validity => c.invalid += 1,
                    Dimension::Consistency => c.inconsistent += 1,
                    Dimension::Timeliness => c.late += 1,
                    Dimension::Uniqueness => c.duplicates += 1,
                }
            }
        }
        match outcome {
            Outcome::Created { target, version }
            | Outcome::Updated { target, version }
            | Outcome::Unchanged { target, version } => {
                c.accepted += 1;
                if let Ok(body) = &p.body
                    && let Role::Entry { clinical: Some((_, t)), .. } = &body.role
                {
                    let lag = (received.0 - t.0).max(0) / 1_000_000;
                    c.timed += 1;
                    c.lag_seconds += lag;
                    let bucket = [3_600, 86_400, 3 * 86_400, 7 * 86_400, 30 * 86_400].iter().position(|&limit| lag <= limit);
                    c.lag[bucket.unwrap_or(5)] += 1;
                }
                let Some(source_id) = &p.source_id else { return };
                let closure = open_return.map(|id| ReturnClosure {
                    id,
                    at: self.now,
                    submission: self.submission,
                    correction: correction(&p.resource_type, *target, *version),
                });
                self.last.insert((p.resource_type.clone(), source_id.clone()), Settled::Close(closure));
            }
            Outcome::Refused(issues) if !casualty => {
                let Some(source_id) = &p.source_id else { return };
                c.returned += 1;
                let findings = return_findings(&all, issues);
                let mut rules: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
                rules.dedup();
                let key = (p.resource_type.clone(), source_id.clone());
                let attempts = match self.last.get(&key) {
                    Some(Settled::Return(r)) => r.attempts + 1,
                    _ => 1,
                };
                self.last.insert(
                    key,
                    Settled::Return(Box::new(ReturnRecord {
                        id: 0,
                        institution: self.institution.to_string(),
                        resource_type: p.resource_type.clone(),
                        source_id: source_id.clone(),
                        category: checked.and_then(|c| c.category).map(|c| c.as_i16()),
                        origin: "submission".into(),
                        status: "open".into(),
                        rules: rules.join(" "),
                        findings: serde_json::to_string(&findings).unwrap_or_else(|_| "[]".into()),
                        rule_set: checked.map(|c| c.rules.version.clone()).unwrap_or_default(),
                        first_submission: Some(self.submission),
                        submission: Some(self.submission),
                        attempts,
                        opened_at: self.now,
                        updated_at: self.now,
                        closed_at: None,
                        closed_submission: None,
                        correction: None,
                    })),
                );
            }
            Outcome::Refused(_) | Outcome::Deferred(_) => {}
        }
    }

    /// Add everything counted to the group's write set.
    pub(crate) fn write_into(self, set: &mut WriteSet) {
        set.quality.extend(self.counts.into_values());
        for settled in self.last.into_values() {
            match settled {
                Settled::Return(r) => set.returns.push(*r),
                Settled::Close(Some(c)) => set.closed_returns.push(c),
                Settled::Close(None) => {}
            }
        }
    }
}

/// `Observation/42/_history/2`.
fn correction(resource_type: &str, target: Target, version: i64) -> String {
    format!("{}/_history/{version}", target.reference(resource_type))
}

/// A return's findings: the failed error rules, and the other reasons for refusal under the
/// platform's own rule ids. Messages are the rules' (no submitted content is repeated: the
/// validator's messages may quote values, so those are replaced by a fixed text).
fn return_findings(rule_findings: &[&Finding], issues: &[Issue]) -> Vec<Finding> {
    let mut out: Vec<Finding> = rule_findings.iter().filter(|f| f.severity == Severity::Error).map(|f| (*f).clone()).collect();
    for i in issues.iter().filter(|i| i.is_error() && i.code != IssueCode::BusinessRule) {
        let (rule, message) = match i.code {
            IssueCode::NotFound => (REFERENCE_RULE, "引用无法解析：被引用的资源未由本机构上报".to_string()),
            code => (STRUCTURE_RULE, format!("不符合FHIR R4结构或平台接收要求（{}）", code.code())),
        };
        out.push(Finding { rule: rule.into(), severity: Severity::Error, message, path: i.path.clone() });
    }
    out.sort_by(|a, b| a.rule.cmp(&b.rule));
    out
}
