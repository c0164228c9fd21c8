//! Registration: the person of each new Patient of a group. A verified strong identifier that
//! someone already holds links deterministically, unless the demographics contradict it (then a
//! new person and a review item). Otherwise the patient index decides: candidates come from
//! shared blocking keys, stored or earlier in the same group, and are scored (Fellegi–Sunter);
//! the outcome is a link, a new person with review items, or a new person.

use crate::prepare::PatientMatch;
use std::collections::{HashMap, HashSet};
use tongdang_core::PersonId;
use tongdang_identity::demographics::Demographics;
use tongdang_identity::matching::{Candidate, Field, KeyKind, Parameters, compare, conflict, decide, search_key};
use tongdang_identity::{Resolution, StrongIdentifier, resolve_person};
use tongdang_store::{IngestTx, StoreError};

/// A key holding more records than this is too common to tell anyone apart (a shared
/// switchboard number, say): it is skipped rather than scored record by record.
const MAX_BLOCK: usize = 200;

/// A Patient of the group not yet linked to any person.
pub(crate) struct NewPatient<'a> {
    /// Its index in the group.
    pub index: usize,
    /// Verified strong identifiers, health code first.
    pub strong: &'a [StrongIdentifier],
    /// Its demographics and keys.
    pub matching: &'a PatientMatch,
}

/// Where a new Patient goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Assigned {
    /// An existing person.
    Existing(PersonId),
    /// A new person of its own.
    NewOwner,
    /// The new person of an earlier Patient of the group.
    SameAs(usize),
}

/// A possible match to raise once ids are known. A negative candidate `-(i + 1)` is the new
/// person of the group's item `i`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PendingReview {
    pub candidate: PersonId,
    pub weight: f64,
    pub reason: String,
}

fn placeholder(owner: usize) -> PersonId {
    PersonId(-(owner as i64) - 1)
}

fn identity_key(s: &StrongIdentifier) -> i64 {
    search_key(KeyKind::WeakId, &format!("{}|{}", s.system(), s.value()))
}

/// A strong identifier held by someone who is plainly someone else: a different name (a twin
/// or a relative using the card) or a different birth date without the same given name. A typo
/// in the number or a borrowed card; either way not linked without a human's word. (Conflicts —
/// another number of a document both carry — are checked by [`holder_accepts`].)
fn contradicts(new: &Demographics, holder: &Demographics) -> bool {
    let c = compare(new, holder);
    let named = !new.placeholder_name && !holder.placeholder_name;
    let given = c[Field::Given as usize];
    // A Chinese given name one character apart that is neither a homophone nor a look-alike
    // (雨涵/雨轩) is a sibling's name, not a typo.
    let sibling = new.chinese && holder.chinese && given == 2;
    let name_differs = named && (c[Field::Family as usize] == 3 || given == 3 || sibling);
    let birth_differs = c[Field::BirthDate as usize] == 3 && c[Field::Given as usize] != 0;
    name_differs || birth_differs
}

/// Whether a strong identifier may link the new record to a holder with these records: not if
/// any of them is in conflict with it, nor if it contradicts every one.
fn holder_accepts(new: &Demographics, records: &[&Demographics]) -> bool {
    !records.iter().any(|h| conflict(new, h)) && (records.is_empty() || !records.iter().all(|h| contradicts(new, h)))
}

/// Decide the person of every new Patient, in group order.
pub(crate) async fn resolve_persons(
    tx: &mut dyn IngestTx,
    params: &Parameters,
    patients: &[NewPatient<'_>],
) -> Result<(Vec<(usize, Assigned)>, Vec<(usize, PendingReview)>), StoreError> {
    if patients.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // Hold every identity key first, so a concurrent registration of the same person waits for
    // this one and then finds it.
    let mut lock_keys: Vec<i64> = patients.iter().flat_map(|p| p.strong.iter().map(identity_key)).collect();
    lock_keys.extend(patients.iter().flat_map(|p| p.matching.query_keys.iter().copied()));
    let started = std::time::Instant::now();
    tx.lock_identities(&lock_keys).await?;

    let mut strong_wanted: Vec<(String, String)> =
        patients.iter().flat_map(|p| p.strong.iter().map(|s| (s.system().to_string(), s.value().to_string()))).collect();
    strong_wanted.sort();
    strong_wanted.dedup();
    let mut holders = tx.persons_holding(&strong_wanted).await?;
    // Identifiers written before a merge moved them may still name the merged person.
    let held: Vec<PersonId> = holders.values().copied().collect();
    let moved: HashMap<PersonId, PersonId> = tx.survivors(&held).await?.into_iter().collect();
    for p in holders.values_mut() {
        if let Some(s) = moved.get(p) {
            *p = *s;
        }
    }
    let held = started.elapsed();

    // Candidates from the index, by blocking key.
    let mut query: Vec<i64> = patients.iter().flat_map(|p| p.matching.query_keys.iter().copied()).collect();
    query.sort_unstable();
    query.dedup();
    let hits = tx.match_hits(&query).await?;
    let mut by_key: HashMap<i64, Vec<i64>> = HashMap::new();
    for (k, r) in hits {
        by_key.entry(k).or_default().push(r);
    }
    by_key.retain(|_, records| records.len() <= MAX_BLOCK);
    let mut wanted: Vec<i64> = by_key.values().flatten().copied().collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut stored: HashMap<i64, (PersonId, Demographics)> = HashMap::new();
    for r in tx.match_records(&wanted).await? {
        if let Ok(d) = serde_json::from_str::<Demographics>(&r.demographics) {
            stored.insert(r.record, (r.person, d));
        }
    }
    // The holders' own records, to check their demographics against.
    let holder_persons: Vec<PersonId> = {
        let mut v: Vec<PersonId> = holders.values().copied().collect();
        v.sort();
        v.dedup();
        v
    };
    let mut holder_records: HashMap<PersonId, Vec<Demographics>> = HashMap::new();
    for r in tx.match_records_of(&holder_persons).await? {
        if let Ok(d) = serde_json::from_str::<Demographics>(&r.demographics) {
            holder_records.entry(r.person).or_default().push(d);
        }
    }

    let fetched = started.elapsed();
    let mut assigned: Vec<(usize, Assigned)> = Vec::with_capacity(patients.len());
    let mut reviews: Vec<(usize, PendingReview)> = Vec::new();
    // Earlier Patients of this group: by strong identifier and by index key.
    let mut group_strong: HashMap<(String, String), usize> = HashMap::new();
    let mut group_keys: HashMap<i64, Vec<usize>> = HashMap::new();
    let mut person_of: HashMap<usize, PersonId> = HashMap::new();
    let mut demo_of: HashMap<usize, &Demographics> = HashMap::new();

    for p in patients {
        let d = &p.matching.demographics;
        let found: Vec<Option<PersonId>> =
            p.strong.iter().map(|s| holders.get(&(s.system().to_string(), s.value().to_string())).copied()).collect();
        let in_group = p.strong.iter().find_map(|s| group_strong.get(&(s.system().to_string(), s.value().to_string())).copied());
        let decision = match (resolve_person(p.strong, &found), in_group) {
            (Resolution::Existing(holder), _) => {
                let records: Vec<&Demographics> = holder_records.get(&holder).map(|v| v.iter().collect()).unwrap_or_default();
                // Its documents held by two persons: the index holds a split (or one number is
                // wrong); the record goes with the first, and the other is raised for review.
                for other in found.iter().flatten().filter(|o| **o != holder) {
                    reviews
                        .push((p.index, PendingReview { candidate: *other, weight: 0.0, reason: "possible-duplicate".into() }));
                }
                if holder_accepts(d, &records) {
                    Assigned::Existing(holder)
                } else {
                    reviews
                        .push((p.index, PendingReview { candidate: holder, weight: 0.0, reason: "identifier-conflict".into() }));
                    Assigned::NewOwner
                }
            }
            (Resolution::New, Some(j)) if holder_accepts(d, &[demo_of[&j]]) => match person_of.get(&j) {
                Some(p) if p.0 > 0 => Assigned::Existing(*p),
                Some(p) => Assigned::SameAs((-p.0 - 1) as usize),
                None => Assigned::SameAs(j),
            },
            (Resolution::New, Some(j)) => {
                let candidate = person_of.get(&j).copied().unwrap_or(placeholder(j));
                reviews.push((p.index, PendingReview { candidate, weight: 0.0, reason: "identifier-conflict".into() }));
                Assigned::NewOwner
            }
            (Resolution::New, None) => {
                let mut candidates: Vec<Candidate> = Vec::new();
                let mut seen: HashSet<i64> = HashSet::new();
                for k in &p.matching.query_keys {
                    for r in by_key.get(k).into_iter().flatten() {
                        if seen.insert(*r)
                            && let Some((person, demo)) = stored.get(r)
                        {
                            candidates.push(Candidate { person: *person, record: *r, demographics: demo.clone() });
                        }
                    }
                }
                let mut seen_group: HashSet<usize> = HashSet::new();
                for k in &p.matching.query_keys {
                    // The same cap as for stored blocks: one group must not compare every
                    // Patient with every other through a shared switchboard number.
                    for j in group_keys.get(k).into_iter().filter(|b| b.len() <= MAX_BLOCK).flatten() {
                        if seen_group.insert(*j) {
                            candidates.push(Candidate { person: person_of[j], record: -1, demographics: demo_of[j].clone() });
                        }
                    }
                }
                let outcome = decide(params, d, &candidates);
                let reason = match (outcome.link, outcome.review.len()) {
                    (Some(_), _) => "possible-duplicate",
                    (None, 1) => "possible-match",
                    (None, _) => "ambiguous",
                };
                for s in &outcome.review {
                    reviews.push((p.index, PendingReview { candidate: s.person, weight: s.weight, reason: reason.into() }));
                }
                match outcome.link {
                    Some(person) if person.0 > 0 => Assigned::Existing(person),
                    Some(person) => Assigned::SameAs((-person.0 - 1) as usize),
                    None => Assigned::NewOwner,
                }
            }
        };
        let person = match decision {
            Assigned::Existing(person) => person,
            Assigned::NewOwner => placeholder(p.index),
            Assigned::SameAs(owner) => placeholder(owner),
        };
        person_of.insert(p.index, person);
        demo_of.insert(p.index, d);
        for s in p.strong {
            group_strong.entry((s.system().to_string(), s.value().to_string())).or_insert(p.index);
        }
        for k in &p.matching.index_keys {
            group_keys.entry(*k).or_default().push(p.index);
        }
        assigned.push((p.index, decision));
    }
    tracing::debug!(
        patients = patients.len(),
        holders_us = held.as_micros() as u64,
        candidates_us = (fetched - held).as_micros() as u64,
        decisions_us = (started.elapsed() - fetched).as_micros() as u64,
        "registration"
    );
    Ok((assigned, reviews))
}
