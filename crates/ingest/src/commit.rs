//! Committing a group of prepared items in one store transaction.

use crate::prepare::{Body, Position, Prepared, Role};
use crate::register::{Assigned, NewPatient, resolve_persons};
use crate::{IngestError, Submission, quality};
use std::collections::HashMap;
use std::sync::Arc;
use tongdang_core::{EntryId, PersonId, Timestamp};
use tongdang_fhir::{Issue, IssueCode, Reference};
use tongdang_govern::Severity;
use tongdang_store::{
    DirectoryRecord, EntryRecord, EntryStatus, IdKind, IngestTx, MatchRecord, MatchRecordWrite, NewReview, PatientRecord,
    PersonIdentifier, SourceIdentifier, SourceKey, SourceKind, Store, TypeAndId, WriteSet,
};

/// How a group's items depend on each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupMode {
    /// Each item stands alone (a `batch` Bundle, the last pass of a stream).
    Batch,
    /// All or nothing (a `transaction` Bundle, a single resource).
    Transaction,
    /// Each item stands alone, and items whose references do not resolve yet are handed back
    /// to be tried again later in the same stream.
    Stream,
}

/// What a stored item is on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A Patient: the person it belongs to.
    Person(PersonId),
    /// A directory resource.
    Directory(i64),
    /// A record entry.
    Entry(EntryId),
}

impl Target {
    /// The platform reference to it, e.g. `Patient/1000001` or `Encounter/42`.
    pub fn reference(&self, resource_type: &str) -> String {
        match self {
            Target::Person(p) => format!("Patient/{p}"),
            Target::Directory(id) => format!("{resource_type}/{id}"),
            Target::Entry(id) => format!("{resource_type}/{id}"),
        }
    }

    fn from_key(key: &SourceKey) -> Target {
        match key.kind {
            SourceKind::Patient => Target::Person(key.person.unwrap_or(PersonId(0))),
            SourceKind::Directory => Target::Directory(key.target_id),
            SourceKind::Entry => Target::Entry(EntryId(key.target_id)),
        }
    }
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored for the first time.
    Created { target: Target, version: i64 },
    /// Stored as a new version.
    Updated { target: Target, version: i64 },
    /// Identical to what is stored: nothing written.
    Unchanged { target: Target, version: i64 },
    /// Refused, with every reason.
    Refused(Vec<Issue>),
    /// Handed back to be tried again later in the stream (its references do not resolve yet).
    Deferred(Vec<Issue>),
}

/// The result for one item, in submission order.
#[derive(Debug, Clone)]
pub struct ItemResult {
    /// Where it came from.
    pub position: Position,
    /// Resource type ("" if unknown).
    pub resource_type: String,
    /// The institution's id, if known.
    pub source_id: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// Accepted-but-noted problems.
    pub warnings: Vec<Issue>,
}

/// A committed group: results in order, and the items handed back in `Stream` mode.
pub(crate) struct Committed {
    pub results: Vec<ItemResult>,
    pub deferred: Vec<Prepared>,
}

const MAX_ATTEMPTS: usize = 3;

pub(crate) async fn commit_group(
    store: &Arc<dyn Store>,
    submission: &Submission,
    items: Vec<Prepared>,
    mode: GroupMode,
) -> Result<Vec<ItemResult>, IngestError> {
    Ok(commit_group_deferring(store, submission, items, mode).await?.results)
}

pub(crate) async fn commit_group_deferring(
    store: &Arc<dyn Store>,
    submission: &Submission,
    items: Vec<Prepared>,
    mode: GroupMode,
) -> Result<Committed, IngestError> {
    // The same resource twice in one group: the first goes now, the rest in following groups,
    // so each becomes its own version in submission order (a transaction refuses this instead).
    let (now, later) = split_duplicates(items);
    if mode == GroupMode::Transaction && !later.is_empty() {
        let mut all = now;
        all.extend(later);
        let results = all
            .into_iter()
            .map(|p| {
                let source_id = p.body.as_ref().ok().map(|b| b.source_id.clone());
                let issue = Issue::error(
                    IssueCode::Invalid,
                    "Bundle.entry",
                    "the same resource appears more than once in one transaction",
                );
                ItemResult {
                    position: p.position,
                    resource_type: p.resource_type,
                    source_id,
                    outcome: Outcome::Refused(vec![issue]),
                    warnings: p.warnings,
                }
            })
            .collect();
        return Ok(Committed { results, deferred: Vec::new() });
    }
    let mut out = commit_unique(store, submission, now, mode).await?;
    // A later version must not overtake an earlier one that is being held back.
    let (held, later) = hold_behind(later, &out.deferred.iter().filter_map(key_of).collect());
    out.results.extend(held.iter().map(waiting));
    out.deferred.extend(held);
    if !later.is_empty() {
        let rest = Box::pin(commit_group_deferring(store, submission, later, mode)).await?;
        out.results.extend(rest.results);
        out.deferred.extend(rest.deferred);
        out.results.sort_by_key(|r| position_key(r.position));
    }
    Ok(out)
}

/// The `(type, id)` of a valid item.
pub(crate) fn key_of(p: &Prepared) -> Option<TypeAndId> {
    p.body.as_ref().ok().map(|b| (p.resource_type.clone(), b.source_id.clone()))
}

/// Split off the items whose resource has an earlier version held back: `(held, rest)`.
pub(crate) fn hold_behind(
    items: Vec<Prepared>,
    held_keys: &std::collections::HashSet<TypeAndId>,
) -> (Vec<Prepared>, Vec<Prepared>) {
    if held_keys.is_empty() {
        return (Vec::new(), items);
    }
    items.into_iter().partition(|p| key_of(p).is_some_and(|k| held_keys.contains(&k)))
}

/// The result of an item waiting behind an earlier version of itself.
pub(crate) fn waiting(p: &Prepared) -> ItemResult {
    ItemResult {
        position: p.position,
        resource_type: p.resource_type.clone(),
        source_id: p.body.as_ref().ok().map(|b| b.source_id.clone()),
        outcome: Outcome::Deferred(vec![Issue::error(
            IssueCode::Processing,
            "",
            "waits for an earlier version of the same resource",
        )]),
        warnings: p.warnings.clone(),
    }
}

fn position_key(p: Position) -> (u64, u64) {
    match p {
        Position::Line(n) => (0, n),
        Position::Entry(n) => (0, n as u64),
        Position::Single => (0, 0),
    }
}

fn split_duplicates(items: Vec<Prepared>) -> (Vec<Prepared>, Vec<Prepared>) {
    let mut seen: std::collections::HashSet<TypeAndId> = std::collections::HashSet::new();
    let (mut now, mut later) = (Vec::with_capacity(items.len()), Vec::new());
    for p in items {
        let dup = match &p.body {
            Ok(b) => !seen.insert((p.resource_type.clone(), b.source_id.clone())),
            Err(_) => false,
        };
        if dup { later.push(p) } else { now.push(p) }
    }
    (now, later)
}

async fn commit_unique(
    store: &Arc<dyn Store>,
    submission: &Submission,
    mut items: Vec<Prepared>,
    mode: GroupMode,
) -> Result<Committed, IngestError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut tx = store.begin_ingest(&submission.institution).await?;
        match plan_and_write(tx.as_mut(), submission, &mut items, mode).await {
            Ok((results, deferred_idx)) => match tx.commit().await {
                Ok(()) => return Ok(finish(items, results, deferred_idx)),
                Err(e) if e.is_retryable() && attempt < MAX_ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            },
            Err(e) if e.is_retryable() && attempt < MAX_ATTEMPTS => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

fn finish(items: Vec<Prepared>, results: Vec<ItemResult>, deferred_idx: Vec<usize>) -> Committed {
    let mut deferred = Vec::with_capacity(deferred_idx.len());
    if !deferred_idx.is_empty() {
        let mut keep: Vec<Option<Prepared>> = items.into_iter().map(Some).collect();
        for i in deferred_idx {
            if let Some(p) = keep[i].take() {
                deferred.push(p);
            }
        }
    }
    Committed { results, deferred }
}

/// Per-item working state while planning.
struct Slot {
    existing: Option<SourceKey>,
    target: Option<Target>,
    /// The patient record or directory resource id (Patients' targets are their persons).
    record_id: Option<i64>,
    person: Option<PersonId>,
    rewrites: HashMap<String, String>,
    state: State,
    /// Refused only because what it references in the group was refused.
    cascaded: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Pending,
    Unchanged,
    Refused(Vec<Issue>),
    Deferred(Vec<Issue>),
}

type Plan = (Vec<ItemResult>, Vec<usize>);

async fn plan_and_write(
    tx: &mut dyn IngestTx,
    submission: &Submission,
    items: &mut [Prepared],
    mode: GroupMode,
) -> Result<Plan, tongdang_store::StoreError> {
    let institution = submission.institution.as_str();
    let mut slots: Vec<Slot> = items
        .iter()
        .map(|p| Slot {
            existing: None,
            target: None,
            record_id: None,
            person: None,
            rewrites: HashMap::new(),
            cascaded: false,
            state: match &p.body {
                Ok(_) => State::Pending,
                Err(issues) => State::Refused(issues.clone()),
            },
        })
        .collect();

    // 1. What is already stored: the items themselves, and what their references name.
    let mut in_group: HashMap<TypeAndId, usize> = HashMap::new();
    let mut by_full_url: HashMap<&str, usize> = HashMap::new();
    let mut by_identifier: HashMap<(&str, &str, &str), usize> = HashMap::new();
    let mut wanted: Vec<TypeAndId> = Vec::new();
    let mut conditional: Vec<(String, String, String)> = Vec::new();
    for (i, p) in items.iter().enumerate() {
        let Ok(body) = &p.body else { continue };
        in_group.insert((p.resource_type.clone(), body.source_id.clone()), i);
        wanted.push((p.resource_type.clone(), body.source_id.clone()));
        if let Some(u) = &p.full_url {
            by_full_url.insert(u.as_str(), i);
        }
        if let Role::Patient { identifiers, .. } | Role::Directory { identifiers } = &body.role {
            for (s, v) in identifiers {
                by_identifier.insert((p.resource_type.as_str(), s.as_str(), v.as_str()), i);
            }
        }
    }
    for p in items.iter() {
        let Ok(body) = &p.body else { continue };
        for (_, r) in &body.references {
            match r {
                Reference::Literal { resource_type, id } if !in_group.contains_key(&(resource_type.clone(), id.clone())) => {
                    wanted.push((resource_type.clone(), id.clone()));
                }
                Reference::Conditional { resource_type, system, value }
                    if !by_identifier.contains_key(&(
                        resource_type.as_str(),
                        system.as_deref().unwrap_or(""),
                        value.as_str(),
                    )) =>
                {
                    conditional.push((resource_type.clone(), system.clone().unwrap_or_default(), value.clone()));
                }
                _ => {}
            }
        }
    }
    conditional.sort();
    conditional.dedup();
    let started = std::time::Instant::now();
    let by_condition = tx.source_ids_by_identifier(institution, &conditional).await?;
    wanted.extend(by_condition.iter().map(|((rt, _, _), id)| (rt.clone(), id.clone())));
    wanted.sort();
    wanted.dedup();
    let stored = tx.source_keys(institution, &wanted).await?;
    // Open returns of the group's resources: accepting one closes its return.
    let own: Vec<TypeAndId> = items.iter().filter_map(|p| Some((p.resource_type.clone(), p.source_id.clone()?))).collect();
    let open_returns = if own.is_empty() { HashMap::new() } else { tx.open_returns(institution, &own).await? };
    let looked_up = started.elapsed();

    // 2. Unchanged items, and the persons of Patients.
    for (i, p) in items.iter().enumerate() {
        let Ok(body) = &p.body else { continue };
        let slot = &mut slots[i];
        slot.existing = stored.get(&(p.resource_type.clone(), body.source_id.clone())).cloned();
        if let Some(k) = &slot.existing
            && k.digest == body.digest
        {
            slot.state = State::Unchanged;
            slot.target = Some(Target::from_key(k));
            slot.person = k.person;
        }
    }
    let mut patients = Vec::new();
    for (i, p) in items.iter().enumerate() {
        let Ok(body) = &p.body else { continue };
        let Role::Patient { strong, matching, .. } = &body.role else { continue };
        if slots[i].state != State::Pending {
            continue;
        }
        match &slots[i].existing {
            Some(k) => slots[i].person = k.person,
            None => patients.push(NewPatient { index: i, strong, matching }),
        }
    }
    let (assigned, pending_reviews) = resolve_persons(tx, &submission.matching, &patients).await?;
    let registered = started.elapsed();
    let registering = patients.len();
    let mut new_persons: Vec<usize> = Vec::new();
    let mut person_of_new: HashMap<usize, usize> = HashMap::new();
    for (i, a) in assigned {
        match a {
            Assigned::Existing(person) => slots[i].person = Some(person),
            Assigned::NewOwner => {
                new_persons.push(i);
                person_of_new.insert(i, i);
            }
            Assigned::SameAs(owner) => {
                person_of_new.insert(i, owner);
            }
        }
    }

    // 3. Platform ids for what is new.
    let needs_resource: Vec<usize> = (0..items.len())
        .filter(|&i| slots[i].state == State::Pending && slots[i].existing.is_none())
        .filter(|&i| matches!(items[i].body.as_ref().map(|b| &b.role), Ok(Role::Patient { .. } | Role::Directory { .. })))
        .collect();
    let needs_entry: Vec<usize> = (0..items.len())
        .filter(|&i| slots[i].state == State::Pending && slots[i].existing.is_none())
        .filter(|&i| matches!(items[i].body.as_ref().map(|b| &b.role), Ok(Role::Entry { .. })))
        .collect();
    let person_ids = tx.allocate_ids(IdKind::Person, new_persons.len()).await?;
    let resource_ids = tx.allocate_ids(IdKind::Resource, needs_resource.len()).await?;
    let entry_ids = tx.allocate_ids(IdKind::Entry, needs_entry.len()).await?;
    let mut new_person_id: HashMap<usize, PersonId> = HashMap::new();
    for (i, id) in new_persons.iter().zip(person_ids) {
        new_person_id.insert(*i, PersonId(id));
    }
    for (i, owner) in &person_of_new {
        slots[*i].person = new_person_id.get(owner).copied();
    }
    // Review candidates that are new persons of this group get their ids now.
    let real = |p: PersonId| if p.0 < 0 { new_person_id.get(&((-p.0 - 1) as usize)).copied() } else { Some(p) };
    let resource_id_of: HashMap<usize, i64> = needs_resource.iter().copied().zip(resource_ids).collect();
    let entry_id_of: HashMap<usize, i64> = needs_entry.iter().copied().zip(entry_ids).collect();
    for (i, p) in items.iter().enumerate() {
        if slots[i].state != State::Pending {
            continue;
        }
        let Ok(body) = &p.body else { continue };
        let existing_target = slots[i].existing.as_ref().map(Target::from_key);
        slots[i].record_id = slots[i].existing.as_ref().map(|k| k.target_id).or_else(|| resource_id_of.get(&i).copied());
        slots[i].target = match &body.role {
            Role::Patient { .. } => slots[i].person.map(Target::Person),
            Role::Directory { .. } => existing_target.or_else(|| resource_id_of.get(&i).copied().map(Target::Directory)),
            Role::Entry { .. } => existing_target.or_else(|| entry_id_of.get(&i).copied().map(|id| Target::Entry(EntryId(id)))),
        };
    }

    // 4. References, in the institution's namespace; refusals can cascade, so repeat until stable.
    // Every item of the group, valid or not: a reference to one that was refused is a cascade.
    let all_keys: std::collections::HashSet<(&str, &str)> =
        items.iter().filter_map(|p| Some((p.resource_type.as_str(), p.source_id.as_deref()?))).collect();
    let all_urls: std::collections::HashSet<&str> = items.iter().filter_map(|p| p.full_url.as_deref()).collect();
    let mut judged = false;
    let mut late: HashMap<usize, Vec<tongdang_govern::Finding>> = HashMap::new();
    loop {
        let mut changed = false;
        for i in 0..items.len() {
            if slots[i].state != State::Pending {
                continue;
            }
            let Ok(body) = &items[i].body else { continue };
            let mut problems = Vec::new();
            // Whether every unresolved reference names an item of this group that was refused.
            let mut only_cascades = true;
            let mut rewrites = HashMap::new();
            let mut subject_person = None;
            let mut subject_record = None;
            for (site, r) in &body.references {
                let resolved: Option<Resolved> = match r {
                    Reference::Literal { resource_type, id } => resolve_key(resource_type, id, &in_group, &slots, &stored),
                    Reference::Conditional { resource_type, system, value } => {
                        let sys = system.as_deref().unwrap_or("");
                        match by_identifier.get(&(resource_type.as_str(), sys, value.as_str())) {
                            Some(&j) => resolve_index(j, &items[j].resource_type, &slots),
                            None => by_condition
                                .get(&(resource_type.clone(), sys.to_string(), value.clone()))
                                .and_then(|id| resolve_key(resource_type, id, &in_group, &slots, &stored)),
                        }
                    }
                    Reference::Urn(u) => {
                        by_full_url.get(u.as_str()).and_then(|&j| resolve_index(j, &items[j].resource_type, &slots))
                    }
                    Reference::Contained | Reference::External | Reference::Unsupported(_) => {
                        continue;
                    }
                };
                match resolved {
                    Some((rt, target, person, record)) => {
                        if let Role::Entry { subject_path, .. } = &body.role
                            && &site.path == subject_path
                        {
                            subject_person = person;
                            subject_record = record;
                        }
                        rewrites.insert(site.raw.clone(), target.reference(&rt));
                    }
                    None => {
                        let in_this_group = match r {
                            Reference::Literal { resource_type, id } => all_keys.contains(&(resource_type.as_str(), id.as_str())),
                            Reference::Conditional { resource_type, system, value } => by_identifier.contains_key(&(
                                resource_type.as_str(),
                                system.as_deref().unwrap_or(""),
                                value.as_str(),
                            )),
                            Reference::Urn(u) => all_urls.contains(u.as_str()),
                            _ => false,
                        };
                        only_cascades &= in_this_group;
                        problems.push(Issue::error(
                            IssueCode::NotFound,
                            format!("{}.reference", site.path),
                            "the reference does not resolve: nothing of that type with that id or identifier has been submitted by this institution".to_string(),
                        ));
                    }
                }
            }
            if problems.is_empty()
                && let Role::Entry { subject_path, .. } = &body.role
                && subject_person.is_none()
            {
                problems.push(Issue::error(IssueCode::Value, format!("{subject_path}.reference"), "does not name a Patient"));
            }
            if problems.is_empty() {
                slots[i].rewrites = rewrites;
                if matches!(body.role, Role::Entry { .. }) {
                    slots[i].person = subject_person;
                    slots[i].record_id = subject_record;
                }
            } else {
                let deferrable = mode == GroupMode::Stream && problems.iter().all(|p| p.code == IssueCode::NotFound);
                slots[i].cascaded = only_cascades && problems.iter().all(|p| p.code == IssueCode::NotFound);
                slots[i].state = if deferrable { State::Deferred(problems) } else { State::Refused(problems) };
                changed = true;
            }
        }
        if !changed {
            if judged {
                break;
            }
            // 4b. The rules that need the person or the store, once every subject is known; a
            // refusal here can cascade to what references the refused item, so resolve again.
            judged = true;
            let pending: Vec<usize> = (0..items.len()).filter(|&i| slots[i].state == State::Pending).collect();
            let person_of: Vec<Option<PersonId>> = slots.iter().map(|s| s.person).collect();
            let fresh: std::collections::HashSet<PersonId> = new_person_id.values().copied().collect();
            late = quality::judge(tx, institution, items, &pending, &person_of, &fresh).await?;
            let mut refused_any = false;
            for (i, findings) in &late {
                let errors: Vec<Issue> =
                    findings.iter().filter(|f| f.severity == Severity::Error).map(crate::prepare::finding_issue).collect();
                if !errors.is_empty() {
                    slots[*i].state = State::Refused(errors);
                    refused_any = true;
                }
            }
            if !refused_any {
                break;
            }
        }
    }

    // 5. All or nothing.
    let mut casualties = vec![false; items.len()];
    let failed = |s: &Slot| matches!(s.state, State::Refused(_) | State::Deferred(_));
    if mode == GroupMode::Transaction
        && let Some(bad) = slots.iter().position(|s| failed(s) && !s.cascaded).or_else(|| slots.iter().position(failed))
    {
        for (i, s) in slots.iter_mut().enumerate() {
            // What was refused only because it references the culprit is a casualty too: the
            // culprit alone becomes a return.
            if i != bad && s.cascaded && failed(s) {
                casualties[i] = true;
            }
            if matches!(s.state, State::Pending | State::Unchanged) {
                casualties[i] = true;
                s.state = State::Refused(vec![Issue::error(
                    IssueCode::Processing,
                    "",
                    format!(
                        "not stored: the transaction failed because entry {} was refused",
                        position_label(items[bad].position, bad)
                    ),
                )]);
            }
        }
    }

    // 6. Write.
    let now = Timestamp::now();
    let now_text = now.to_rfc3339_cst();
    let mut set = WriteSet::default();
    // A new person is created only when a Patient naming it is stored.
    let mut stored_persons: Vec<PersonId> = (0..items.len())
        .filter(|&i| slots[i].state == State::Pending && person_of_new.contains_key(&i))
        .filter_map(|i| slots[i].person)
        .collect();
    stored_persons.sort();
    stored_persons.dedup();
    set.new_persons = stored_persons;
    for (i, r) in pending_reviews {
        if slots[i].state != State::Pending {
            continue;
        }
        // A candidate that is a new person of this group exists only if its Patient was stored.
        let stored_candidate = r.candidate.0 > 0 || real(r.candidate).is_some_and(|c| set.new_persons.contains(&c));
        if let (true, Some(person), Some(candidate), Some(record)) =
            (stored_candidate, slots[i].person, real(r.candidate), slots[i].record_id)
            && person != candidate
        {
            set.reviews.push(NewReview { record, person, candidate, weight: r.weight, reason: r.reason });
        }
    }
    let mut accounts = quality::Accounts::new(institution, &submission.city, submission.id, now);
    let mut results = Vec::with_capacity(items.len());
    let mut deferred_idx = Vec::new();
    for (i, p) in items.iter_mut().enumerate() {
        let slot = &mut slots[i];
        let source_id = p.body.as_ref().ok().map(|b| b.source_id.clone());
        let outcome = match std::mem::replace(&mut slot.state, State::Pending) {
            State::Refused(issues) => Outcome::Refused(issues),
            State::Deferred(issues) => {
                deferred_idx.push(i);
                Outcome::Deferred(issues)
            }
            State::Unchanged => {
                let version = slot.existing.as_ref().map_or(1, |k| k.version);
                Outcome::Unchanged { target: slot.target.unwrap_or(Target::Directory(0)), version }
            }
            State::Pending => {
                let Ok(body) = &mut p.body else { continue };
                let (Some(target), version) = (slot.target, slot.existing.as_ref().map_or(1, |k| k.version + 1)) else {
                    results.push(ItemResult {
                        position: p.position,
                        resource_type: p.resource_type.clone(),
                        source_id,
                        outcome: Outcome::Refused(vec![Issue::error(
                            IssueCode::Exception,
                            "",
                            "no platform id could be assigned",
                        )]),
                        warnings: p.warnings.clone(),
                    });
                    continue;
                };
                write_item(&mut set, institution, submission.id, &p.resource_type, body, slot, target, version, now, &now_text);
                if slot.existing.is_some() { Outcome::Updated { target, version } } else { Outcome::Created { target, version } }
            }
        };
        let open = p.source_id.as_ref().and_then(|id| open_returns.get(&(p.resource_type.clone(), id.clone()))).copied();
        // Findings judged at commit stay out of the item itself: a retried transaction, or an
        // item deferred and committed again, judges them anew.
        let judged = late.get(&i).map_or(&[][..], Vec::as_slice);
        accounts.item(p, judged, &outcome, casualties[i], open);
        let mut warnings = p.warnings.clone();
        warnings.extend(judged.iter().filter(|f| f.severity != Severity::Error).map(crate::prepare::finding_issue));
        results.push(ItemResult { position: p.position, resource_type: p.resource_type.clone(), source_id, outcome, warnings });
    }
    accounts.write_into(&mut set);
    if !set.is_empty() {
        let planned = started.elapsed();
        tx.write(&set).await?;
        tracing::debug!(
            items = items.len(),
            patients = registering,
            lookups_us = looked_up.as_micros() as u64,
            registration_us = (registered - looked_up).as_micros() as u64,
            planning_us = (planned - registered).as_micros() as u64,
            write_us = (started.elapsed() - planned).as_micros() as u64,
            "group committed"
        );
    }
    Ok((results, deferred_idx))
}

fn position_label(p: Position, index: usize) -> String {
    match p {
        Position::Entry(n) => format!("Bundle.entry[{n}]"),
        Position::Line(n) => format!("on line {n}"),
        Position::Single => format!("#{index}"),
    }
}

/// A resolved reference: the type, the target, and for a Patient its person and record.
type Resolved = (String, Target, Option<PersonId>, Option<i64>);

fn resolve_index(j: usize, resource_type: &str, slots: &[Slot]) -> Option<Resolved> {
    let s = &slots[j];
    match s.state {
        State::Pending | State::Unchanged => s.target.map(|t| match t {
            Target::Person(p) => (
                resource_type.to_string(),
                t,
                s.person.or(Some(p)),
                s.record_id.or_else(|| s.existing.as_ref().map(|k| k.target_id)),
            ),
            _ => (resource_type.to_string(), t, s.person, None),
        }),
        _ => None,
    }
}

fn resolve_key(
    resource_type: &str,
    id: &str,
    in_group: &HashMap<TypeAndId, usize>,
    slots: &[Slot],
    stored: &HashMap<TypeAndId, SourceKey>,
) -> Option<Resolved> {
    let key = (resource_type.to_string(), id.to_string());
    if let Some(&j) = in_group.get(&key) {
        return resolve_index(j, resource_type, slots);
    }
    stored.get(&key).map(|k| {
        let record = (k.kind == SourceKind::Patient).then_some(k.target_id);
        (resource_type.to_string(), Target::from_key(k), k.person, record)
    })
}

#[allow(clippy::too_many_arguments)]
fn write_item(
    set: &mut WriteSet,
    institution: &str,
    submission: i64,
    resource_type: &str,
    body: &Body,
    slot: &Slot,
    target: Target,
    version: i64,
    now: Timestamp,
    now_text: &str,
) {
    let (kind, target_id, platform_id) = match target {
        Target::Person(p) => (SourceKind::Patient, 0, p.0),
        Target::Directory(id) => (SourceKind::Directory, id, id),
        Target::Entry(id) => (SourceKind::Entry, id.0, id.0),
    };
    let rewrites = &slot.rewrites;
    let references = &body.references;
    let bytes = body
        .template
        .render(&platform_id.to_string(), version, now_text, |i| rewrites.get(&references[i].0.raw).map(String::as_str));
    let digest = body.digest.to_vec();
    let mut key = SourceKey {
        institution: institution.to_string(),
        resource_type: resource_type.to_string(),
        source_id: body.source_id.clone(),
        kind,
        person: slot.person,
        target_id,
        version,
        digest: digest.clone(),
    };
    // Patients and directory data can be named by identifier (conditional references).
    if let Role::Patient { identifiers, .. } | Role::Directory { identifiers } = &body.role {
        if slot.existing.is_some() {
            set.replaced_identifiers.push((institution.to_string(), resource_type.to_string(), body.source_id.clone()));
        }
        set.source_identifiers.extend(identifiers.iter().map(|(system, value)| SourceIdentifier {
            institution: institution.to_string(),
            resource_type: resource_type.to_string(),
            system: system.clone(),
            value: value.clone(),
            source_id: body.source_id.clone(),
        }));
    }
    match &body.role {
        Role::Patient { identifiers, matching, .. } => {
            let person = slot.person.unwrap_or(PersonId(0));
            set.match_records.push(MatchRecordWrite {
                record: MatchRecord { record: slot.record_id.unwrap_or(0), person, demographics: matching.serialized.clone() },
                keys: matching.index_keys.clone(),
                replaces: slot.existing.is_some(),
            });
            // The Patient's own id is an identifier of the person too, in the institution's
            // namespace: PIXm cross-references start from it.
            let own = (tongdang_identity::systems::local_patient_system(institution), body.source_id.clone());
            let own = (!identifiers.contains(&own)).then_some(own);
            set.person_identifiers.extend(identifiers.iter().chain(own.as_ref()).map(|(system, value)| PersonIdentifier {
                system: system.clone(),
                value: value.clone(),
                person,
                institution: institution.to_string(),
                source_id: body.source_id.clone(),
                sealed: None,
            }));
            key.target_id = slot.record_id.unwrap_or(0);
            set.patients.push(PatientRecord {
                id: key.target_id,
                person,
                institution: institution.to_string(),
                source_id: body.source_id.clone(),
                version,
                collected_at: now,
                resource: bytes,
            });
        }
        Role::Directory { .. } => {
            set.directory.push(DirectoryRecord {
                id: slot.record_id.unwrap_or(target_id),
                resource_type: resource_type.to_string(),
                institution: institution.to_string(),
                source_id: body.source_id.clone(),
                version,
                collected_at: now,
                resource: bytes,
            });
        }
        Role::Entry { category, clinical, codes, category_codes, withdrawn, .. } => {
            set.entries.push(EntryRecord {
                id: EntryId(target_id),
                person: slot.person.unwrap_or(PersonId(0)),
                category: *category,
                resource_type: resource_type.to_string(),
                sort_time: clinical.as_ref().map_or(now, |(_, t)| *t),
                clinical_time: clinical.as_ref().map(|(s, _)| s.clone()),
                collected_at: now,
                institution: institution.to_string(),
                source_id: body.source_id.clone(),
                version,
                status: if *withdrawn { EntryStatus::EnteredInError } else { EntryStatus::Current },
                codes: codes.clone(),
                digest,
                submission,
                resource: bytes,
                category_codes: category_codes.clone(),
                patient_record: slot.record_id,
            });
        }
    }
    set.source_keys.push(key);
}
