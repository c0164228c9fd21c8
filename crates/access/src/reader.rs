//! [`RecordReader`]: every way of reading a record, each behind the policy decision.

use crate::audit::AuditLog;
use crate::clock::{Clock, SystemClock};
use crate::cursor;
use crate::grant::Grant;
use crate::notify::Notifier;
use crate::patient::person_resource;
use crate::policy::{Basis, Decision, DenyReason, Disclosure, Policy, Requester};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use tokio::sync::RwLock;
use tongdang_core::{Category, EntryId, InstitutionCode, PersonId, Timestamp};
use tongdang_protection::mask::{MaskPolicy, Rule, mask_id, mask_patient};
use tongdang_store::{AuditEvent, DirectoryRecord, EntryQuery, EntryRecord, PersonIdentifier, Store, StoreError};

/// Why a read did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The policy refused it.
    #[error("access refused: {}", .0.message())]
    Denied(DenyReason),
    /// Nothing there (or nothing the requester may know of).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A paging cursor that this server did not issue.
    #[error("the cursor is not valid; start again without it")]
    BadCursor,
    /// The person was merged into another; read that one.
    #[error("person merged into {0}")]
    Moved(PersonId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which part of a timeline to read.
#[derive(Debug, Clone, Default)]
pub struct TimelineFilter {
    /// Only these categories (empty: all).
    pub categories: Vec<Category>,
    /// Clinical time at or after.
    pub from: Option<Timestamp>,
    /// Clinical time before.
    pub to: Option<Timestamp>,
    /// Page size.
    pub limit: u32,
    /// Continue from a previous page.
    pub cursor: Option<String>,
}

/// One page of entries and the cursor of the next, if there is more.
#[derive(Debug, Clone)]
pub struct TimelinePage {
    /// Entries, newest first.
    pub entries: Vec<EntryRecord>,
    /// Where the next page starts.
    pub next_cursor: Option<String>,
}

/// A whole record for `$everything`.
#[derive(Debug, Clone)]
pub struct Everything {
    /// The person's Patient.
    pub patient: Value,
    /// Every current entry, newest first.
    pub entries: Vec<EntryRecord>,
    /// The directory resources the entries reference.
    pub directory: Vec<DirectoryRecord>,
}

/// Reads records on behalf of a requester, after asking the policy; records every decision
/// in the audit trail and masks demographics by role.
pub struct RecordReader {
    store: Arc<dyn Store>,
    policy: Policy,
    masks: MaskPolicy,
    audit: AuditLog,
    names: RwLock<HashMap<String, String>>,
    clock: Arc<dyn Clock>,
    notifier: Option<Arc<Notifier>>,
}

impl RecordReader {
    /// A reader over `store` applying `policy`, with the default masking.
    pub fn new(store: Arc<dyn Store>, policy: Policy) -> RecordReader {
        RecordReader {
            audit: AuditLog::new(store.clone()),
            store,
            policy,
            masks: MaskPolicy::default(),
            names: RwLock::new(HashMap::new()),
            clock: Arc::new(SystemClock),
            notifier: None,
        }
    }

    /// The same reader deciding at the time of `clock` (tests move it by hand).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> RecordReader {
        self.clock = clock;
        self
    }

    /// The same reader telling residents of each institution's first read of their record.
    pub fn with_notifier(mut self, notifier: Arc<Notifier>) -> RecordReader {
        self.notifier = Some(notifier);
        self
    }

    /// The clock decisions are made at.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The grants that may bear on `who` reading `person`'s clinical content now: those of the
    /// person to the requester's institution, in force. Nothing is looked up for anyone else.
    async fn grants_bearing(
        &self,
        who: &Requester,
        person: Option<PersonId>,
        disclosure: Disclosure,
        now: Timestamp,
    ) -> Result<Vec<Grant>, AccessError> {
        let (Some(p), Some(institution), Disclosure::Clinical) = (person, &who.institution, disclosure) else {
            return Ok(Vec::new());
        };
        if !matches!(who.role, tongdang_core::Role::Clinician | tongdang_core::Role::InstitutionSystem)
            || !who.scopes.contains(&tongdang_core::Scope::Read)
        {
            return Ok(Vec::new());
        }
        let records = self.store.grants_in_force(p, institution.as_str(), now).await?;
        Ok(records.iter().filter_map(Grant::from_record).collect())
    }

    /// The same reader with another masking policy.
    pub fn with_masking(mut self, masks: MaskPolicy) -> RecordReader {
        self.masks = masks;
        self
    }

    /// Replace the masking policy.
    pub fn set_masking(&mut self, masks: MaskPolicy) {
        self.masks = masks;
    }

    /// The masking policy.
    pub fn masks(&self) -> &MaskPolicy {
        &self.masks
    }

    /// Ask the policy and record the decision. `Ok(None)`: permitted, but none of the requested
    /// categories may be read.
    pub(crate) async fn decide(
        &self,
        who: &Requester,
        action: &str,
        person: Option<PersonId>,
        disclosure: Disclosure,
        categories: &[Category],
    ) -> Result<Option<Vec<Category>>, AccessError> {
        let (granted, ticket) = self.decide_deferred(who, action, person, disclosure, categories).await?;
        ticket.wait().await?;
        Ok(granted)
    }

    /// [`RecordReader::decide`], but a permit returns while its event is being written: the
    /// caller reads meanwhile and waits on the ticket before returning anything (a refusal
    /// waits here). The answer then costs the slower of the read and the write, not both.
    pub(crate) async fn decide_deferred(
        &self,
        who: &Requester,
        action: &str,
        person: Option<PersonId>,
        disclosure: Disclosure,
        categories: &[Category],
    ) -> Result<(Option<Vec<Category>>, crate::audit::AuditTicket), AccessError> {
        let now = self.clock.now();
        let grants = self.grants_bearing(who, person, disclosure, now).await?;
        let decision = self.policy.decide(who, person, disclosure, &grants, now);
        let event = decision_event(who, action, person, &decision, categories, now);
        if let (Decision::Permit { basis: Basis::Grant(_, channel), .. }, Some(p), Some(n), Some(i)) =
            (&decision, person, &self.notifier, &who.institution)
        {
            n.first_read(p, i.as_str(), *channel, now);
        }
        let ticket = self.audit.submit(event).await;
        match decision {
            Decision::Permit { categories: allowed, .. } => Ok((allowed.allow(categories), ticket)),
            Decision::Deny(reason) => {
                ticket.wait().await?;
                Err(AccessError::Denied(reason))
            }
        }
    }

    /// Record whose demographics a look-up disclosed, one event per person, so each resident's
    /// trail shows it.
    pub(crate) async fn audit_disclosed(&self, who: &Requester, action: &str, persons: &[PersonId]) -> Result<(), AccessError> {
        for p in persons {
            let mut event = AuditEvent::new(action, &who.actor, "disclosed");
            event.institution = who.institution.as_ref().map(|i| i.as_str().to_string());
            event.person = Some(*p);
            event.detail = serde_json::json!({ "role": who.role.code() }).to_string();
            self.audit.record(event).await?;
        }
        Ok(())
    }

    /// A person's Patient as `who` may see it (masked by role).
    pub(crate) async fn compose_for(&self, who: &Requester, person: PersonId) -> Result<Value, AccessError> {
        let mut patient = self.compose_patient(person).await?;
        mask_patient(&mut patient, &self.masks.for_role(who.role));
        Ok(patient)
    }

    /// Identifiers as `who` may see them.
    pub(crate) fn mask_identifiers(&self, who: &Requester, ids: Vec<PersonIdentifier>) -> Vec<PersonIdentifier> {
        match self.masks.for_role(who.role).get(&tongdang_protection::mask::Field::IdNumber).copied().unwrap_or(Rule::Hidden) {
            Rule::Full => ids,
            Rule::Hidden => Vec::new(),
            Rule::Partial | Rule::Coarse => ids.into_iter().map(|i| PersonIdentifier { value: mask_id(&i.value), ..i }).collect(),
        }
    }

    /// A person that exists and is active; a merged one answers with where it went.
    async fn existing_person(&self, person: PersonId) -> Result<(), AccessError> {
        match self.store.person_status(person).await? {
            Some(tongdang_store::PersonStatus::Active) => Ok(()),
            Some(tongdang_store::PersonStatus::MergedInto(p)) => Err(AccessError::Moved(p)),
            None => Err(AccessError::NotFound("person")),
        }
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Permission to look persons up (demographics only).
    pub(crate) async fn permit_lookup(&self, who: &Requester, action: &str) -> Result<(), AccessError> {
        self.decide(who, action, None, Disclosure::Demographics, &[]).await.map(|_| ())
    }

    /// A page of a person's record, newest clinical time first.
    pub async fn timeline(
        &self,
        who: &Requester,
        person: PersonId,
        filter: &TimelineFilter,
    ) -> Result<TimelinePage, AccessError> {
        let (categories, audited) =
            self.decide_deferred(who, "read.timeline", Some(person), Disclosure::Clinical, &filter.categories).await?;
        let read = async {
            self.existing_person(person).await?;
            let Some(categories) = categories else { return Ok(TimelinePage { entries: Vec::new(), next_cursor: None }) };
            let query = EntryQuery {
                person: Some(person),
                categories: only(categories),
                from: filter.from,
                to: filter.to,
                limit: filter.limit,
                ..Default::default()
            };
            self.page(query, filter.cursor.as_deref()).await
        };
        let page = read.await;
        audited.wait().await?;
        page
    }

    /// Entries of one person matching a FHIR search.
    pub async fn search(
        &self,
        who: &Requester,
        person: PersonId,
        query: EntryQuery,
        cursor: Option<&str>,
    ) -> Result<TimelinePage, AccessError> {
        let requested = query.categories.clone().unwrap_or_default();
        let (granted, audited) = self.decide_deferred(who, "read.search", Some(person), Disclosure::Clinical, &requested).await?;
        let read = async {
            self.existing_person(person).await?;
            // Nothing granted, or filters that exclude every category: an empty page, asked of no one.
            let (Some(granted), false) = (granted, query.categories.as_ref().is_some_and(Vec::is_empty)) else {
                return Ok(TimelinePage { entries: Vec::new(), next_cursor: None });
            };
            self.page(EntryQuery { person: Some(person), categories: only(granted), ..query }, cursor).await
        };
        let page = read.await;
        audited.wait().await?;
        page
    }

    async fn page(&self, mut query: EntryQuery, cursor: Option<&str>) -> Result<TimelinePage, AccessError> {
        if let Some(c) = cursor {
            query.after = Some(cursor::decode(c).ok_or(AccessError::BadCursor)?);
        }
        let limit = query.limit.max(1);
        query.limit = limit + 1;
        let mut entries = self.store.entries(&query).await?;
        let next_cursor = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|e| cursor::encode(e.sort_time, e.id))
        } else {
            None
        };
        Ok(TimelinePage { entries, next_cursor })
    }

    /// One entry, by its platform id and type.
    pub async fn entry(&self, who: &Requester, resource_type: &str, id: EntryId) -> Result<EntryRecord, AccessError> {
        // Asked before anything is looked up: a role that never reads clinical content (or a
        // resident who has not verified) learns nothing of what exists.
        let now = self.clock.now();
        if let Decision::Deny(_) = self.policy.decide(who, who.person, Disclosure::Clinical, &[], now) {
            // Recorded (and refused) as decided: the resident's own person, so an unverified
            // resident is told to verify.
            self.decide(who, "read.entry", who.person, Disclosure::Clinical, &[]).await?;
            return Err(AccessError::NotFound("resource"));
        }
        let entry = self
            .store
            .entry(id)
            .await?
            .filter(|e| e.resource_type == resource_type && e.status == tongdang_store::EntryStatus::Current)
            .ok_or(AccessError::NotFound("resource"))?;
        // A refusal for this entry's person answers as "not found": an entry one may not read
        // is, to the reader, one that does not exist.
        match self.decide(who, "read.entry", Some(entry.person), Disclosure::Clinical, &[entry.category]).await {
            Ok(Some(_)) => Ok(entry),
            Ok(None) | Err(AccessError::Denied(_)) => Err(AccessError::NotFound("resource")),
            Err(e) => Err(e),
        }
    }

    /// A person's Patient resource.
    pub async fn patient(&self, who: &Requester, person: PersonId) -> Result<Value, AccessError> {
        self.decide(who, "read.patient", Some(person), Disclosure::Demographics, &[]).await?;
        self.existing_person(person).await?;
        self.compose_for(who, person).await
    }

    async fn compose_patient(&self, person: PersonId) -> Result<Value, AccessError> {
        let records = self.store.patient_records(person).await?;
        let identifiers = self.store.person_identifiers(person).await?;
        Ok(person_resource(person, &records, &identifiers))
    }

    /// Persons holding an identifier, with their Patient resources.
    pub async fn find_persons(
        &self,
        who: &Requester,
        system: Option<&str>,
        value: &str,
    ) -> Result<Vec<(PersonId, Value)>, AccessError> {
        self.decide(who, "read.find-persons", None, Disclosure::Demographics, &[]).await?;
        // Identity documents are stored in their normalized spelling; search them the same way.
        let value = system
            .and_then(tongdang_identity::documents::DocumentKind::from_system)
            .and_then(|kind| tongdang_identity::documents::normalize(kind, value).ok())
            .unwrap_or_else(|| value.to_string());
        let mut out = Vec::new();
        for p in self.store.persons_by_identifier(system, &value).await? {
            if who.role == tongdang_core::Role::Resident && Some(p) != who.person {
                continue;
            }
            out.push((p, self.compose_for(who, p).await?));
        }
        self.audit_disclosed(who, "read.find-persons", &out.iter().map(|(p, _)| *p).collect::<Vec<_>>()).await?;
        Ok(out)
    }

    /// Persons in id order, with their Patient resources.
    pub async fn list_persons(
        &self,
        who: &Requester,
        after: Option<PersonId>,
        limit: u32,
    ) -> Result<Vec<(PersonId, Value)>, AccessError> {
        // Listing every person is for systems (integration) and operators, not for people at a
        // screen, who find a patient by identifier or demographics.
        if who.role == tongdang_core::Role::Clinician {
            self.decide(who, "read.list-persons", None, Disclosure::Clinical, &[]).await?;
            return Err(AccessError::Denied(DenyReason::NoReadScope));
        }
        self.decide(who, "read.list-persons", None, Disclosure::Demographics, &[]).await?;
        if who.role == tongdang_core::Role::Resident {
            // A resident's list is their own person.
            let own = who.person.filter(|p| after.is_none_or(|a| *p > a));
            return match own {
                Some(p) => Ok(vec![(p, self.compose_for(who, p).await?)]),
                None => Ok(Vec::new()),
            };
        }
        let mut out = Vec::new();
        for p in self.store.persons(after, limit).await? {
            out.push((p, self.compose_for(who, p).await?));
        }
        self.audit_disclosed(who, "read.list-persons", &out.iter().map(|(p, _)| *p).collect::<Vec<_>>()).await?;
        Ok(out)
    }

    /// A whole record: the Patient, every current entry, and the directory data they reference.
    pub async fn everything(&self, who: &Requester, person: PersonId) -> Result<Everything, AccessError> {
        let categories = self.decide(who, "read.everything", Some(person), Disclosure::Clinical, &[]).await?;
        self.existing_person(person).await?;
        let patient = self.compose_for(who, person).await?;
        let entries = match categories {
            Some(categories) => {
                self.store
                    .entries(&EntryQuery {
                        person: Some(person),
                        categories: only(categories),
                        limit: u32::MAX,
                        ..Default::default()
                    })
                    .await?
            }
            None => Vec::new(),
        };
        let mut ids = BTreeSet::new();
        for e in &entries {
            directory_references(&e.resource, &mut ids);
        }
        let directory = self.store.directory_resources(&ids.into_iter().collect::<Vec<_>>()).await?;
        Ok(Everything { patient, entries, directory })
    }

    /// A directory resource (Organization, Location, …).
    pub async fn directory(&self, who: &Requester, resource_type: &str, id: i64) -> Result<DirectoryRecord, AccessError> {
        // Directory resources include Provenance, which tells of clinical activity.
        self.decide(who, "read.directory", None, Disclosure::Clinical, &[]).await?;
        // A Provenance names the entries it is about and who made them: clinical activity, so
        // only the institution that submitted it reads it by id (others reach it through no
        // grant; it is not part of any person's record).
        let own = |d: &DirectoryRecord| {
            d.resource_type != "Provenance" || who.institution.as_ref().is_some_and(|i| i.as_str() == d.institution)
        };
        self.store.directory_resource(resource_type, id).await?.filter(own).ok_or(AccessError::NotFound("resource"))
    }

    /// The registered name of an institution (cached; the registry changes rarely).
    pub async fn institution_name(&self, code: &str) -> String {
        if let Some(n) = self.names.read().await.get(code) {
            return n.clone();
        }
        let name = match InstitutionCode::new(code) {
            Ok(c) => self.store.institution(&c).await.ok().flatten().map(|i| i.name),
            Err(_) => None,
        };
        let name = name.unwrap_or_default();
        self.names.write().await.insert(code.to_string(), name.clone());
        name
    }
}

/// The audit event of one decision: who (role, institution, department), whose record, which
/// categories, on what basis (own, role, a grant or an emergency access) or why refused.
fn decision_event(
    who: &Requester,
    action: &str,
    person: Option<PersonId>,
    decision: &Decision,
    requested: &[Category],
    now: Timestamp,
) -> AuditEvent {
    let (outcome, mut detail, grant) = match decision {
        Decision::Permit { categories: allowed, basis } => {
            let shown = match allowed.allow(requested) {
                Some(c) if c.is_empty() => serde_json::json!("all"),
                Some(c) => serde_json::json!(c.iter().map(|c| c.code()).collect::<Vec<_>>()),
                None => serde_json::json!([]),
            };
            let mut d = serde_json::json!({ "role": who.role.code(), "categories": shown });
            let grant = match basis {
                Basis::Own => {
                    d["basis"] = "own".into();
                    None
                }
                Basis::Role => {
                    d["basis"] = "role".into();
                    None
                }
                Basis::Grant(id, channel) => {
                    d["basis"] = if *channel == crate::grant::Channel::Emergency { "emergency" } else { "grant" }.into();
                    d["grant"] = (*id).into();
                    d["channel"] = channel.code().into();
                    Some(*id)
                }
            };
            ("allowed", d, grant)
        }
        Decision::Deny(reason) => ("refused", serde_json::json!({ "role": who.role.code(), "reason": reason.code() }), None),
    };
    if let Some(dept) = &who.department {
        detail["department"] = dept.clone().into();
    }
    if !requested.is_empty() {
        detail["requested"] = serde_json::json!(requested.iter().map(|c| c.code()).collect::<Vec<_>>());
    }
    let mut event = AuditEvent::new(action, &who.actor, outcome);
    event.at = now;
    event.institution = who.institution.as_ref().map(|i| i.as_str().to_string());
    event.person = person;
    event.detail = detail.to_string();
    event.grant = grant;
    event
}

/// A granted category list as a store filter: empty means the whole record.
fn only(granted: Vec<Category>) -> Option<Vec<Category>> {
    (!granted.is_empty()).then_some(granted)
}

/// Collect platform ids of directory resources referenced in a stored resource. A byte scan:
/// stored resources are compact JSON written by the platform, so references look exactly like
/// `"reference":"Type/123"`. Contained resources keep their references as submitted (source ids,
/// not platform ids), so a resource with any is scanned without them.
fn directory_references(resource: &[u8], out: &mut BTreeSet<i64>) {
    const CONTAINED: &[u8] = b"\"contained\":";
    if resource.windows(CONTAINED.len()).any(|w| w == CONTAINED)
        && let Ok(mut v) = serde_json::from_slice::<Value>(resource)
        && let Some(o) = v.as_object_mut()
    {
        o.remove("contained");
        if let Ok(bytes) = serde_json::to_vec(&v) {
            scan_references(&bytes, out);
        }
        return;
    }
    scan_references(resource, out);
}

fn scan_references(resource: &[u8], out: &mut BTreeSet<i64>) {
    const NEEDLE: &[u8] = b"\"reference\":\"";
    let mut rest = resource;
    while let Some(at) = rest.windows(NEEDLE.len()).position(|w| w == NEEDLE) {
        rest = &rest[at + NEEDLE.len()..];
        let end = rest.iter().position(|b| *b == b'"').unwrap_or(rest.len());
        if let Ok(text) = std::str::from_utf8(&rest[..end])
            && let Some((rt, id)) = text.split_once('/')
            && tongdang_fhir::classify(rt) == tongdang_fhir::ResourceKind::Directory
            && let Ok(id) = id.parse()
        {
            out.insert(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_references_are_found_in_stored_form() {
        let mut ids = BTreeSet::new();
        directory_references(br#"{"subject":{"reference":"Patient/1"},"location":[{"location":{"reference":"Location/7"}}],"x":{"reference":"Practitioner/9"}}"#, &mut ids);
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec![7, 9]);
        let mut ids = BTreeSet::new();
        directory_references(br#"{"contained":[{"resourceType":"Practitioner","id":"c"},{"x":{"reference":"Location/123"}}],"y":{"reference":"Location/8"}}"#, &mut ids);
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec![8], "contained references are source ids, not platform ids");
    }
}
