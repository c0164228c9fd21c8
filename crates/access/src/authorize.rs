//! How grants come to be and end: a clinician's request answered by an SMS code or by the
//! resident in the app, a booking platform's appointment, an emergency access and its review,
//! the resident's approval, refusal and revocation, and the face verification residents pass
//! first. Every step is an audit event; the policy reads only the outcome (grants in force).

use crate::audit::AuditLog;
use crate::channels::{ChannelError, Channels, FaceOutcome};
use crate::clock::Clock;
use crate::grant::{Channel, Grant, Status, categories_to_text};
use crate::notify::{Notifier, PhoneOnFile, phone_on_file};
use crate::policy::{Categories, Requester};
use crate::signin::constant_time_eq;
use rand::RngExt;
use std::sync::Arc;
use tongdang_core::{Category, InstitutionCode, InstitutionKind, PersonId, Role, Scope, Timestamp};
use tongdang_store::{AuditEvent, GrantFilter, GrantRecord, GrantTransition, PersonStatus, ProtectedStore, Store, StoreError};

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;

/// The defaults of each channel (configuration; `docs/access.md` lists them).
#[derive(Debug, Clone)]
pub struct GrantDefaults {
    /// An SMS-code grant lasts this long, for the requesting institution.
    pub sms_hours: i64,
    /// An SMS code is valid this long.
    pub code_minutes: i64,
    /// Wrong codes that lock a request.
    pub code_max_tries: i64,
    /// A request in the app waits this long for the resident.
    pub app_answer_hours: i64,
    /// The longest an app grant may last.
    pub app_max_hours: i64,
    /// An app grant lasts this long when the resident does not choose.
    pub app_default_hours: i64,
    /// An emergency access lasts this long at most.
    pub emergency_hours: i64,
    /// Approving a request needs a face verification this recent.
    pub face_fresh_hours: i64,
    /// SMS requests an institution may make for one person in an hour.
    pub sms_requests_per_hour: usize,
    /// Failed face verifications of a resident in an hour before further attempts wait.
    pub face_failures_per_hour: usize,
    /// Wrong codes an institution may enter for one person in a day, across all its requests
    /// (with the per-request lock, this bounds guessing: 10 in a million a day).
    pub wrong_codes_per_day: i64,
}

impl Default for GrantDefaults {
    fn default() -> Self {
        GrantDefaults {
            sms_hours: 24,
            code_minutes: 5,
            code_max_tries: 5,
            app_answer_hours: 72,
            app_max_hours: 24 * 90,
            app_default_hours: 24 * 7,
            emergency_hours: 72,
            face_fresh_hours: 24,
            sms_requests_per_hour: 3,
            face_failures_per_hour: 5,
            wrong_codes_per_day: 10,
        }
    }
}

/// Why a step was not taken. Messages are safe to show: they name no person.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// Nothing there, or nothing the caller may know of.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller's role or credential may not do this.
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    /// The person was merged into another: ask again for that one.
    #[error("this person was merged into Patient/{0}; ask for that record")]
    PersonMerged(PersonId),
    /// Input that cannot be taken.
    #[error("{0}")]
    Invalid(String),
    /// No mobile number on file to send a code to.
    #[error("no mobile number is on file for this person; use the app or the booking platform")]
    NoPhone,
    /// The mobile numbers on file disagree: no code is sent to either.
    #[error("the mobile numbers on file for this person disagree; use the app or the booking platform")]
    PhonesDisagree,
    /// Too many SMS requests or wrong codes for this person, or failed face verifications.
    #[error(
        "too many attempts for this person (SMS requests, wrong codes or failed face verifications); wait, or use another channel"
    )]
    TooManyRequests,
    /// A wrong code.
    #[error("wrong code; {0} tries left")]
    WrongCode(i64),
    /// Too many wrong codes.
    #[error("this request is locked after too many wrong codes; make a new request")]
    Locked,
    /// The code's time is over.
    #[error("the code has expired; make a new request")]
    CodeExpired,
    /// The request was answered already (a code used twice, an approval repeated).
    #[error("this request is no longer waiting (it is {0})")]
    NotPending(&'static str),
    /// A face verification is needed first.
    #[error("verify your identity (face verification) first")]
    FaceVerificationRequired,
    /// The photo is not of the holder of the ID number.
    #[error("face verification failed: the photo does not match the ID number")]
    FaceNoMatch,
    /// An external system failed.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl GrantError {
    /// A stable code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            GrantError::NotFound(_) => "not_found",
            GrantError::Forbidden(_) => "forbidden",
            GrantError::PersonMerged(_) => "person_merged",
            GrantError::Invalid(_) => "invalid",
            GrantError::NoPhone => "no_phone_on_file",
            GrantError::PhonesDisagree => "phones_disagree",
            GrantError::TooManyRequests => "too_many_requests",
            GrantError::WrongCode(_) => "wrong_code",
            GrantError::Locked => "request_locked",
            GrantError::CodeExpired => "code_expired",
            GrantError::NotPending(_) => "not_pending",
            GrantError::FaceVerificationRequired => "face_verification_required",
            GrantError::FaceNoMatch => "face_no_match",
            GrantError::Channel(ChannelError::Timeout(_)) => "channel_timeout",
            GrantError::Channel(_) => "channel_unavailable",
            GrantError::Store(_) => "internal",
        }
    }
}

/// An appointment posted by a booking platform.
#[derive(Debug, Clone)]
pub struct Appointment {
    /// The platform's id of it (posting it again changes nothing).
    pub id: String,
    /// The resident.
    pub person: PersonId,
    /// Where.
    pub institution: InstitutionCode,
    /// Which department.
    pub department: Option<String>,
    /// The appointment day's start, or its time.
    pub at: Timestamp,
    /// The resident agreed to share their record with the institution.
    pub consent: bool,
}

/// A request just made, with where its code went.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// The request.
    pub grant: GrantRecord,
    /// The phone the code went to, masked (SMS requests).
    pub phone_masked: Option<String>,
}

/// Grants: requests, codes, approvals, bookings, emergencies, reviews; and face verification.
pub struct Authorizations {
    store: Arc<ProtectedStore>,
    audit: AuditLog,
    clock: Arc<dyn Clock>,
    notifier: Arc<Notifier>,
    channels: Channels,
    defaults: GrantDefaults,
}

impl Authorizations {
    /// The service over `store`, sending through `channels`.
    pub fn new(
        store: Arc<ProtectedStore>,
        clock: Arc<dyn Clock>,
        notifier: Arc<Notifier>,
        channels: Channels,
        defaults: GrantDefaults,
    ) -> Authorizations {
        Authorizations { audit: AuditLog::new(store.clone()), store, clock, notifier, channels, defaults }
    }

    /// The defaults in force.
    pub fn defaults(&self) -> &GrantDefaults {
        &self.defaults
    }

    /// The adapters in use.
    pub fn channels(&self) -> &Channels {
        &self.channels
    }

    /// A clinician (or an institution's system) asks to read a person's record, by SMS code
    /// (sent to the phone on file, never to one the requester gives) or in the resident's app.
    pub async fn request(
        &self,
        who: &Requester,
        person: PersonId,
        channel: Channel,
        categories: Categories,
    ) -> Result<NewRequest, GrantError> {
        let institution = reading_institution(who)?;
        self.active_person(person).await?;
        let now = self.clock.now();
        let mut g = new_grant(person, &institution, channel, &categories, who, now);
        let mut phone_masked = None;
        let mut code = None;
        match channel {
            Channel::Sms => {
                self.sms_budget(person, &institution, now).await?;
                let phone = match phone_on_file(self.store.as_ref(), person).await {
                    PhoneOnFile::One(p) => p,
                    PhoneOnFile::None => return Err(GrantError::NoPhone),
                    PhoneOnFile::Disagree => return Err(GrantError::PhonesDisagree),
                };
                let c = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
                let salt: [u8; 16] = rand::rng().random();
                g.code_digest = Some(self.code_digest(&salt, &c));
                g.code_expires = Some(Timestamp(now.0 + self.defaults.code_minutes * MINUTE));
                g.valid_until = Timestamp(now.0 + self.defaults.code_minutes * MINUTE);
                let masked = tongdang_protection::mask::mask_phone(&phone);
                g.evidence = serde_json::json!({ "phone": masked, "grant_hours": self.defaults.sms_hours }).to_string();
                phone_masked = Some(masked);
                code = Some((phone, c));
            }
            Channel::App => {
                g.department = who.department.clone();
                g.valid_until = Timestamp(now.0 + self.defaults.app_answer_hours * HOUR);
                g.evidence = serde_json::json!({ "asked_by": who.actor }).to_string();
            }
            Channel::Booking | Channel::Emergency => return Err(GrantError::Invalid("request a grant by sms or app".into())),
        }
        let (id, _) = self.store.insert_grant(&g).await?;
        g.id = id;
        self.record(who, "grant.request", person, "ok", &g, serde_json::json!({})).await?;
        if let Some((phone, c)) = code {
            if let Err(e) = self.notifier.send_code(&phone, institution.as_str(), &c).await {
                self.store
                    .transition_grant(&transition(id, &[Status::Requested], Status::Refused, now, "system:sms-not-sent"))
                    .await?;
                return Err(e.into());
            }
        } else {
            self.notifier.request(person, institution.as_str(), who.department.as_deref());
        }
        Ok(NewRequest { grant: g, phone_masked })
    }

    /// The clinician enters the code the resident read to them. Single use; bound to the request
    /// and to whoever made it.
    pub async fn enter_code(&self, who: &Requester, id: i64, code: &str) -> Result<GrantRecord, GrantError> {
        let g = self.own_request(who, id).await?;
        if g.channel != Channel::Sms.code() {
            return Err(GrantError::Invalid("this request does not take a code".into()));
        }
        let now = self.clock.now();
        match Status::parse(&g.status) {
            Some(Status::Requested) => {}
            Some(Status::Locked) => return Err(GrantError::Locked),
            Some(s) => return Err(GrantError::NotPending(s.code())),
            None => return Err(GrantError::NotFound("request")),
        }
        if g.code_expires.is_none_or(|e| now.0 >= e.0) {
            self.record(who, "grant.code", g.person, "expired", &g, serde_json::json!({})).await?;
            return Err(GrantError::CodeExpired);
        }
        let digest = g.code_digest.as_deref().unwrap_or_default();
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        let right = well_formed && digest.len() > 16 && constant_time_eq(&self.code_digest(&digest[..16], code), digest);
        if !right {
            let Some(tries) = self.store.record_code_try(id, self.defaults.code_max_tries, now).await? else {
                // Answered meanwhile (the right code, or the last wrong one, at the same moment).
                let now_status = self.store.grant(id).await?.map(|g| g.status).unwrap_or_default();
                return Err(if now_status == Status::Locked.code() {
                    GrantError::Locked
                } else {
                    GrantError::NotPending("used")
                });
            };
            let left = self.defaults.code_max_tries - tries;
            self.record(who, "grant.code", g.person, "wrong-code", &g, serde_json::json!({ "tries": tries })).await?;
            return Err(if left <= 0 { GrantError::Locked } else { GrantError::WrongCode(left) });
        }
        let until = Timestamp(now.0 + self.defaults.sms_hours * HOUR);
        let mut t = transition(id, &[Status::Requested], Status::Active, now, &who.actor);
        t.valid_from = Some(now);
        t.valid_until = Some(until);
        if !self.store.transition_grant(&t).await? {
            return Err(GrantError::NotPending("used"));
        }
        let g = self.store.grant(id).await?.ok_or(GrantError::NotFound("request"))?;
        self.record(who, "grant.active", g.person, "ok", &g, serde_json::json!({})).await?;
        self.notifier.grant_active(g.person, &g.institution, Channel::Sms, until);
        Ok(g)
    }

    /// A request as its maker sees it (to wait for the resident's answer in the app).
    pub async fn own_request(&self, who: &Requester, id: i64) -> Result<GrantRecord, GrantError> {
        let g = self.store.grant(id).await?.ok_or(GrantError::NotFound("request"))?;
        // Another clinician's or institution's request is, to this caller, not there.
        if g.requested_by != who.actor || who.institution.as_ref().map(|i| i.as_str()) != Some(g.institution.as_str()) {
            return Err(GrantError::NotFound("request"));
        }
        Ok(g)
    }

    /// A resident's grants and requests, newest first, with their status now.
    pub async fn of_resident(
        &self,
        who: &Requester,
        status: Option<Status>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(GrantRecord, Status)>, GrantError> {
        let person = own_person(who)?;
        let now = self.clock.now();
        let filter = GrantFilter { person: Some(person), before, limit: 1000, ..Default::default() };
        let mut out = Vec::new();
        for g in self.store.grants(&filter).await? {
            let Some(d) = Grant::from_record(&g) else { continue };
            let s = d.status_at(now);
            if status.is_none_or(|want| want == s) {
                out.push((g, s));
            }
            if out.len() >= limit as usize {
                break;
            }
        }
        Ok(out)
    }

    /// The resident approves a waiting request, for as long and as much as they choose.
    pub async fn approve(
        &self,
        who: &Requester,
        id: i64,
        hours: Option<i64>,
        categories: Option<Categories>,
    ) -> Result<GrantRecord, GrantError> {
        self.fresh_face(who)?;
        let g = self.residents_grant(who, id).await?;
        let now = self.clock.now();
        let d = Grant::from_record(&g).ok_or(GrantError::NotFound("grant"))?;
        if d.status_at(now) != Status::Requested || d.channel == Channel::Emergency {
            return Err(GrantError::NotPending(d.status_at(now).code()));
        }
        let hours = hours.unwrap_or(self.defaults.app_default_hours);
        if !(1..=self.defaults.app_max_hours).contains(&hours) {
            return Err(GrantError::Invalid(format!("hours must be between 1 and {}", self.defaults.app_max_hours)));
        }
        // The resident may narrow what was asked, never widen it.
        let chosen = match categories {
            None => d.categories.clone(),
            Some(Categories::All) => d.categories.clone(),
            Some(Categories::Only(c)) => match d.categories.allow(&c) {
                Some(list) if !list.is_empty() => Categories::Only(list),
                _ => return Err(GrantError::Invalid("choose at least one of the categories asked for".into())),
            },
        };
        let until = Timestamp(now.0 + hours * HOUR);
        let mut t = transition(id, &[Status::Requested], Status::Active, now, &who.actor);
        t.valid_from = Some(now);
        t.valid_until = Some(until);
        t.categories = Some(categories_to_text(&chosen));
        if !self.store.transition_grant(&t).await? {
            return Err(GrantError::NotPending("answered"));
        }
        let g = self.store.grant(id).await?.ok_or(GrantError::NotFound("grant"))?;
        self.record(who, "grant.active", g.person, "ok", &g, serde_json::json!({ "hours": hours })).await?;
        self.notifier.grant_active(g.person, &g.institution, d.channel, until);
        Ok(g)
    }

    /// The resident refuses a waiting request.
    pub async fn refuse(&self, who: &Requester, id: i64) -> Result<GrantRecord, GrantError> {
        let g = self.residents_grant(who, id).await?;
        let now = self.clock.now();
        let d = Grant::from_record(&g).ok_or(GrantError::NotFound("grant"))?;
        if d.status_at(now) != Status::Requested {
            return Err(GrantError::NotPending(d.status_at(now).code()));
        }
        if !self.store.transition_grant(&transition(id, &[Status::Requested], Status::Refused, now, &who.actor)).await? {
            return Err(GrantError::NotPending("answered"));
        }
        let g = self.store.grant(id).await?.ok_or(GrantError::NotFound("grant"))?;
        self.record(who, "grant.refused", g.person, "ok", &g, serde_json::json!({})).await?;
        Ok(g)
    }

    /// The resident ends a grant (or withdraws a request); the next read is refused.
    pub async fn revoke(&self, who: &Requester, id: i64) -> Result<GrantRecord, GrantError> {
        let g = self.residents_grant(who, id).await?;
        let now = self.clock.now();
        let mut t = transition(id, &[Status::Active, Status::Requested], Status::Revoked, now, &who.actor);
        t.valid_until = Some(Timestamp(now.0.min(g.valid_until.0)));
        if !self.store.transition_grant(&t).await? {
            return Err(GrantError::NotPending(Status::parse(&g.status).map_or("ended", Status::code)));
        }
        let g = self.store.grant(id).await?.ok_or(GrantError::NotFound("grant"))?;
        self.record(who, "grant.revoked", g.person, "ok", &g, serde_json::json!({})).await?;
        Ok(g)
    }

    /// A booking platform (or an institution's own booking system) posts an appointment; with
    /// the resident's consent it becomes a grant to that institution (and department) until the
    /// end of the appointment day. Posting the same appointment again answers the same grant.
    pub async fn book(&self, who: &Requester, a: &Appointment) -> Result<Option<(GrantRecord, bool)>, GrantError> {
        if who.role != Role::InstitutionSystem || !who.scopes.contains(&Scope::Booking) {
            return Err(GrantError::Forbidden("posting appointments needs an API key with the booking scope"));
        }
        let client = who.institution.clone().ok_or(GrantError::Forbidden("no institution"))?;
        self.serves(&client, &a.institution).await?;
        if a.id.is_empty() || a.id.len() > 64 {
            return Err(GrantError::Invalid("the appointment id must have 1 to 64 characters".into()));
        }
        self.active_person(a.person).await?;
        let now = self.clock.now();
        let until = end_of_day_cst(a.at);
        if until.0 <= now.0 {
            return Err(GrantError::Invalid("the appointment day is over".into()));
        }
        // An appointment months ahead is no consent to reading the record until then: the grant
        // starts on the appointment day, and appointments more than 90 days ahead are refused.
        if a.at.0 - now.0 > 90 * 24 * HOUR {
            return Err(GrantError::Invalid("the appointment is more than 90 days ahead".into()));
        }
        let from = Timestamp(until.0 - 24 * HOUR).max(now);
        if !a.consent {
            return Ok(None);
        }
        let mut g = new_grant(a.person, &a.institution, Channel::Booking, &Categories::All, who, now);
        g.clinician = None;
        g.department = a.department.clone();
        g.status = Status::Active.code().into();
        g.valid_from = from;
        g.valid_until = until;
        g.decided_at = Some(now);
        g.decided_by = Some(who.actor.clone());
        g.external_ref = Some(format!("{}/{}", client.as_str(), a.id));
        g.evidence =
            serde_json::json!({ "appointment": a.id, "appointment_at": a.at.0, "booking_client": client.as_str() }).to_string();
        let (id, created) = self.store.insert_grant(&g).await?;
        let stored = self.store.grant(id).await?.ok_or(GrantError::NotFound("grant"))?;
        if stored.person != a.person || stored.institution != a.institution.as_str() {
            return Err(GrantError::Invalid("this appointment id was posted before for another resident or institution".into()));
        }
        if created {
            self.record(who, "grant.active", a.person, "ok", &stored, serde_json::json!({})).await?;
            self.notifier.grant_active(a.person, a.institution.as_str(), Channel::Booking, until);
        }
        Ok(Some((stored, created)))
    }

    /// A clinician declares an emergency: the patient cannot consent. A stated reason, a
    /// limited time, the resident told, and a review by the institution's privacy officer.
    pub async fn emergency(
        &self,
        who: &Requester,
        person: PersonId,
        reason: &str,
        hours: Option<i64>,
    ) -> Result<GrantRecord, GrantError> {
        if who.role != Role::Clinician {
            return Err(GrantError::Forbidden("only clinicians declare emergency access"));
        }
        let institution = reading_institution(who)?;
        let reason = reason.trim();
        if reason.chars().count() < 4 || reason.chars().count() > 500 {
            return Err(GrantError::Invalid("state the reason (4 to 500 characters)".into()));
        }
        let hours = hours.unwrap_or(self.defaults.emergency_hours);
        if !(1..=self.defaults.emergency_hours).contains(&hours) {
            return Err(GrantError::Invalid(format!("hours must be between 1 and {}", self.defaults.emergency_hours)));
        }
        self.active_person(person).await?;
        let now = self.clock.now();
        let mut g = new_grant(person, &institution, Channel::Emergency, &Categories::All, who, now);
        g.status = Status::Active.code().into();
        g.valid_until = Timestamp(now.0 + hours * HOUR);
        g.decided_at = Some(now);
        g.decided_by = Some(who.actor.clone());
        g.review_status = Some("open".into());
        g.evidence = serde_json::json!({ "reason": reason }).to_string();
        let (id, _) = self.store.insert_grant(&g).await?;
        g.id = id;
        self.record(who, "grant.emergency", person, "ok", &g, serde_json::json!({ "hours": hours })).await?;
        self.notifier.emergency(person, institution.as_str(), g.valid_until);
        Ok(g)
    }

    /// Emergency accesses of the caller's institution, for its privacy officer.
    pub async fn reviews(
        &self,
        who: &Requester,
        status: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<GrantRecord>, GrantError> {
        let institution = self.privacy_officer(who)?;
        let filter = GrantFilter {
            institution: Some(institution),
            channel: Some(Channel::Emergency.code().into()),
            review_status: status.map(str::to_string),
            before,
            limit,
            ..Default::default()
        };
        Ok(self.store.grants(&filter).await?)
    }

    /// One emergency access and each read made under it.
    pub async fn review_item(&self, who: &Requester, id: i64) -> Result<(GrantRecord, Vec<AuditEvent>), GrantError> {
        let institution = self.privacy_officer(who)?;
        let g = self.store.grant(id).await?.filter(|g| g.institution == institution && g.channel == Channel::Emergency.code());
        let g = g.ok_or(GrantError::NotFound("emergency access"))?;
        let uses = self.store.audit_events_of_grant(id, 1000).await?;
        Ok((g, uses))
    }

    /// The privacy officer's finding on an emergency access.
    pub async fn review(&self, who: &Requester, id: i64, justified: bool, note: &str) -> Result<GrantRecord, GrantError> {
        let (mut g, _) = self.review_item(who, id).await?;
        if g.review_status.as_deref() != Some("open") {
            return Err(GrantError::NotPending("reviewed"));
        }
        if note.chars().count() > 2000 {
            return Err(GrantError::Invalid("the note is longer than 2000 characters".into()));
        }
        let now = self.clock.now();
        g.review_status = Some(if justified { "justified" } else { "unjustified" }.into());
        g.reviewed_by = Some(who.actor.clone());
        g.reviewed_at = Some(now);
        g.review_note = note.to_string();
        if !self.store.review_grant(&g).await? {
            return Err(GrantError::NotPending("reviewed"));
        }
        let outcome = if justified { "justified" } else { "unjustified" };
        self.record(who, "grant.review", g.person, outcome, &g, serde_json::json!({})).await?;
        Ok(g)
    }

    /// Grants as the caller may see them: residents their own, institutions (clinicians,
    /// systems, administrators) those to them, auditors and the provincial operator all.
    pub async fn consents(
        &self,
        who: &Requester,
        person: Option<PersonId>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<GrantRecord>, GrantError> {
        let mut filter = GrantFilter { person, before, limit, ..Default::default() };
        match who.role {
            Role::Resident => {
                let own = own_person(who)?;
                if person.is_some_and(|p| p != own) {
                    return Ok(Vec::new());
                }
                filter.person = Some(own);
            }
            Role::Clinician | Role::InstitutionSystem | Role::InstitutionAdmin => {
                if who.role == Role::InstitutionSystem && !who.scopes.contains(&Scope::Read) {
                    return Err(GrantError::Forbidden("reading grants needs the read scope"));
                }
                filter.institution =
                    Some(who.institution.as_ref().ok_or(GrantError::Forbidden("no institution"))?.as_str().to_string());
            }
            Role::Auditor | Role::ProvincialOperator => {}
            Role::CityOperator => {
                return Err(GrantError::Forbidden("grants are shown to residents, their institutions and auditors"));
            }
        }
        let list = self.store.grants(&filter).await?;
        // One event per person whose grants were shown, so each resident's trail has it.
        let mut persons: Vec<PersonId> = list.iter().map(|g| g.person).collect();
        persons.sort();
        persons.dedup();
        for p in persons {
            let count = list.iter().filter(|g| g.person == p).count();
            self.event(who, "read.consent", p, "allowed", None, serde_json::json!({ "count": count })).await?;
        }
        Ok(list)
    }

    /// One grant, if the caller may see it (see [`Authorizations::consents`]).
    pub async fn consent(&self, who: &Requester, id: i64) -> Result<GrantRecord, GrantError> {
        let g = self.store.grant(id).await?.ok_or(GrantError::NotFound("Consent"))?;
        let visible = match who.role {
            Role::Resident => who.person == Some(g.person),
            Role::Clinician | Role::InstitutionSystem | Role::InstitutionAdmin => {
                who.institution.as_ref().map(|i| i.as_str()) == Some(g.institution.as_str())
            }
            Role::Auditor | Role::ProvincialOperator => true,
            Role::CityOperator => false,
        };
        if !visible {
            return Err(GrantError::NotFound("Consent"));
        }
        self.event(who, "read.consent", g.person, "allowed", Some(g.id), serde_json::json!({ "grant": g.id })).await?;
        Ok(g)
    }

    /// A resident's real-name check: an ID number on their record (the one given, or else the
    /// one on file) and a live photo, verified by the police service. Passing it opens their own
    /// record to them.
    pub async fn verify_face(&self, who: &Requester, id_number: Option<&str>, photo: &[u8]) -> Result<Timestamp, GrantError> {
        let person = own_person(who)?;
        let account = who.account.ok_or(GrantError::Forbidden("sign in as a resident"))?;
        let on_file: Vec<String> = self
            .store
            .person_identifiers(person)
            .await?
            .into_iter()
            .filter(|i| i.system == tongdang_identity::systems::NATIONAL_ID)
            .map(|i| i.value)
            .collect();
        let typed = match id_number {
            Some(n) => {
                let kind = tongdang_identity::documents::DocumentKind::NationalId;
                tongdang_identity::documents::normalize(kind, n)
                    .map_err(|_| GrantError::Invalid("not a valid ID number".into()))?
            }
            None => {
                on_file.first().cloned().ok_or_else(|| GrantError::Invalid("no ID number is on your record; give one".into()))?
            }
        };
        // Five failed attempts in an hour stop further ones for the hour: a stolen session
        // cannot try photo after photo against the police service.
        let now = self.clock.now();
        let recent = tongdang_store::AuditQuery {
            person: Some(person),
            from: Some(Timestamp(now.0 - HOUR)),
            outcomes: vec!["no-match".into(), "id-mismatch".into()],
            limit: 10,
            ..Default::default()
        };
        let failures = self.store.audit_search(&recent).await?.iter().filter(|e| e.kind == "auth.face-verification").count();
        if failures >= self.defaults.face_failures_per_hour {
            return Err(GrantError::TooManyRequests);
        }
        if !on_file.contains(&typed) {
            self.face_event(who, person, "id-mismatch").await?;
            return Err(GrantError::FaceNoMatch);
        }
        let outcome = match self.channels.face.verify(&typed, photo).await {
            Ok(o) => o,
            Err(e) => {
                self.face_event(who, person, "unavailable").await?;
                return Err(e.into());
            }
        };
        if outcome == FaceOutcome::NoMatch {
            self.face_event(who, person, "no-match").await?;
            return Err(GrantError::FaceNoMatch);
        }
        let now = self.clock.now();
        self.store.set_face_verified(account, now).await?;
        self.face_event(who, person, "ok").await?;
        Ok(now)
    }

    async fn face_event(&self, who: &Requester, person: PersonId, outcome: &str) -> Result<(), GrantError> {
        self.event(who, "auth.face-verification", person, outcome, None, serde_json::json!({})).await
    }

    fn fresh_face(&self, who: &Requester) -> Result<(), GrantError> {
        let now = self.clock.now();
        match who.face_verified_at {
            Some(t) if now.0 - t.0 <= self.defaults.face_fresh_hours * HOUR => Ok(()),
            _ => Err(GrantError::FaceVerificationRequired),
        }
    }

    /// An institution's SMS requests for a person are limited per hour, and its wrong codes for
    /// the person per day across requests: a new request does not reset the guessing.
    async fn sms_budget(&self, person: PersonId, institution: &InstitutionCode, now: Timestamp) -> Result<(), GrantError> {
        let filter = GrantFilter {
            person: Some(person),
            institution: Some(institution.as_str().to_string()),
            channel: Some(Channel::Sms.code().into()),
            limit: 500,
            ..Default::default()
        };
        let recent = self.store.grants(&filter).await?;
        let last_hour = recent.iter().filter(|g| now.0 - g.created_at.0 < HOUR).count();
        let wrong_today: i64 = recent.iter().filter(|g| now.0 - g.created_at.0 < 24 * HOUR).map(|g| g.code_tries).sum();
        if last_hour >= self.defaults.sms_requests_per_hour || wrong_today >= self.defaults.wrong_codes_per_day {
            return Err(GrantError::TooManyRequests);
        }
        Ok(())
    }

    fn privacy_officer(&self, who: &Requester) -> Result<String, GrantError> {
        match (who.role, &who.institution) {
            (Role::InstitutionAdmin, Some(i)) => Ok(i.as_str().to_string()),
            _ => Err(GrantError::Forbidden(
                "emergency reviews are for the institution's privacy officer (institution administrator)",
            )),
        }
    }

    async fn residents_grant(&self, who: &Requester, id: i64) -> Result<GrantRecord, GrantError> {
        let person = own_person(who)?;
        self.store.grant(id).await?.filter(|g| g.person == person).ok_or(GrantError::NotFound("grant"))
    }

    async fn active_person(&self, person: PersonId) -> Result<(), GrantError> {
        match self.store.person_status(person).await? {
            Some(PersonStatus::Active) => Ok(()),
            Some(PersonStatus::MergedInto(p)) => Err(GrantError::PersonMerged(p)),
            None => Err(GrantError::NotFound("person")),
        }
    }

    /// Whether a booking client may post for `target`: an institution for itself; a booking
    /// platform for the institutions of its city.
    async fn serves(&self, client: &InstitutionCode, target: &InstitutionCode) -> Result<(), GrantError> {
        if client == target {
            return Ok(());
        }
        let c = self.store.institution(client).await?;
        let t = self.store.institution(target).await?;
        match (c, t) {
            (Some(c), Some(t)) if c.kind == InstitutionKind::BookingPlatform && c.city == t.city => Ok(()),
            (_, None) => Err(GrantError::NotFound("institution")),
            _ => Err(GrantError::Forbidden("this booking client does not serve that institution")),
        }
    }

    fn code_digest(&self, salt: &[u8], code: &str) -> Vec<u8> {
        let blind = self.store.keyring().blind("sms-code", &format!("{}:{code}", data_encoding::HEXLOWER.encode(salt)));
        let mut out = salt.to_vec();
        out.extend_from_slice(blind.as_bytes());
        out
    }

    async fn record(
        &self,
        who: &Requester,
        kind: &str,
        person: PersonId,
        outcome: &str,
        g: &GrantRecord,
        mut detail: serde_json::Value,
    ) -> Result<(), GrantError> {
        detail["grant"] = g.id.into();
        detail["channel"] = g.channel.clone().into();
        detail["to"] = g.institution.clone().into();
        detail["categories"] = g.categories.clone().into();
        self.event(who, kind, person, outcome, Some(g.id), detail).await
    }

    /// Every event of this service: who (role, institution, department), whose record, when by
    /// the service's clock, the grant if any, and `detail`.
    async fn event(
        &self,
        who: &Requester,
        kind: &str,
        person: PersonId,
        outcome: &str,
        grant: Option<i64>,
        mut detail: serde_json::Value,
    ) -> Result<(), GrantError> {
        let mut e = AuditEvent::new(kind, &who.actor, outcome);
        e.at = self.clock.now();
        e.institution = who.institution.as_ref().map(|i| i.as_str().to_string());
        e.person = Some(person);
        e.grant = grant;
        detail["role"] = who.role.code().into();
        if let Some(d) = &who.department {
            detail["department"] = d.clone().into();
        }
        e.detail = detail.to_string();
        self.audit.record(e).await?;
        Ok(())
    }
}

fn reading_institution(who: &Requester) -> Result<InstitutionCode, GrantError> {
    if !matches!(who.role, Role::Clinician | Role::InstitutionSystem) || !who.scopes.contains(&Scope::Read) {
        return Err(GrantError::Forbidden("only clinicians and institution systems with the read scope ask to read records"));
    }
    who.institution.clone().ok_or(GrantError::Forbidden("no institution"))
}

fn own_person(who: &Requester) -> Result<PersonId, GrantError> {
    match (who.role, who.person) {
        (Role::Resident, Some(p)) => Ok(p),
        _ => Err(GrantError::Forbidden("only the resident manages their grants")),
    }
}

fn new_grant(
    person: PersonId,
    institution: &InstitutionCode,
    channel: Channel,
    categories: &Categories,
    who: &Requester,
    now: Timestamp,
) -> GrantRecord {
    // Emergency accesses are the declaring clinician's alone.
    let (clinician, department) = if channel == Channel::Emergency && who.role == Role::Clinician {
        (who.account, who.department.clone())
    } else {
        (None, None)
    };
    GrantRecord {
        department,
        clinician,
        categories: categories_to_text(categories),
        ..GrantRecord::new(person, institution.as_str(), channel.code(), Status::Requested.code(), now, now, &who.actor)
    }
}

fn transition(id: i64, from: &[Status], to: Status, at: Timestamp, by: &str) -> GrantTransition {
    GrantTransition {
        id,
        from: from.iter().map(|s| s.code().to_string()).collect(),
        to: to.code().into(),
        valid_from: None,
        valid_until: None,
        categories: None,
        at,
        by: by.into(),
    }
}

/// The first instant after the appointment's day in China Standard Time.
pub fn end_of_day_cst(at: Timestamp) -> Timestamp {
    const DAY: i64 = 24 * HOUR;
    const CST: i64 = 8 * HOUR;
    // Saturating: a time near the ends of the range stays there instead of overflowing.
    Timestamp(at.0.saturating_add(CST).div_euclid(DAY).saturating_add(1).saturating_mul(DAY).saturating_sub(CST))
}

/// Categories from API codes; an unknown code is an error, not ignored.
pub fn parse_categories(codes: Option<&[String]>) -> Result<Categories, GrantError> {
    match codes {
        None => Ok(Categories::All),
        Some([]) => Err(GrantError::Invalid("categories, if given, must not be empty".into())),
        Some(list) => {
            let mut out: Vec<Category> = Vec::new();
            for c in list {
                let c = c.parse::<Category>().map_err(|e| GrantError::Invalid(e.to_string()))?;
                if !out.contains(&c) {
                    out.push(c);
                }
            }
            Ok(Categories::Only(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_appointment_day_ends_at_midnight_in_china() {
        // 2024-10-03 09:30 CST = 01:30 UTC.
        let at = Timestamp::parse_fhir("2024-10-03T09:30:00+08:00").unwrap();
        assert_eq!(end_of_day_cst(at), Timestamp::parse_fhir("2024-10-04T00:00:00+08:00").unwrap());
        // 23:59:59 CST stays on its day; 00:00 starts the next.
        let late = Timestamp::parse_fhir("2024-10-03T23:59:59+08:00").unwrap();
        assert_eq!(end_of_day_cst(late), Timestamp::parse_fhir("2024-10-04T00:00:00+08:00").unwrap());
        let midnight = Timestamp::parse_fhir("2024-10-04T00:00:00+08:00").unwrap();
        assert_eq!(end_of_day_cst(midnight), Timestamp::parse_fhir("2024-10-05T00:00:00+08:00").unwrap());
    }

    #[test]
    fn categories_are_checked() {
        assert_eq!(parse_categories(None).unwrap(), Categories::All);
        assert!(parse_categories(Some(&[])).is_err());
        assert!(parse_categories(Some(&["x-ray".to_string()])).is_err());
        assert_eq!(
            parse_categories(Some(&["lab".to_string(), "lab".to_string()])).unwrap(),
            Categories::Only(vec![Category::Lab])
        );
    }
}
