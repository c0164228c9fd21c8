//! Finding persons by who they are, for the IHE profiles: PDQm demographic search, PIXm
//! identifier cross-references, and `$match`. Each call asks the policy first, like every read.

use crate::policy::Requester;
use crate::reader::{AccessError, RecordReader};
use serde_json::Value;
use std::collections::BTreeMap;
use tongdang_core::PersonId;
use tongdang_identity::demographics::{BirthDate, Demographics, Sex, phone};
use tongdang_identity::matching::{Candidate, Decision, KeyKind, Parameters, decide, query_keys, search_key};
use tongdang_identity::names;
use tongdang_store::{PersonIdentifier, PersonStatus};

/// The criteria of a PDQm Patient search (all optional; at least one selective one needed).
#[derive(Debug, Clone, Default)]
pub struct DemographicQuery {
    /// `name`: the full name.
    pub name: Option<String>,
    /// `family`.
    pub family: Option<String>,
    /// `given`.
    pub given: Option<String>,
    /// `phonetic`: the full name, matched by its pinyin.
    pub phonetic: Option<String>,
    /// `birthdate` (a full date).
    pub birthdate: Option<String>,
    /// `gender`.
    pub gender: Option<String>,
    /// `telecom` (a phone).
    pub telecom: Option<String>,
    /// `address` (a city or district name, or a postal code).
    pub address: Option<String>,
}

/// Why a demographic search cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnselectiveQuery(pub &'static str);

/// A candidate of `$match`.
#[derive(Debug, Clone)]
pub struct MatchResult {
    /// The person.
    pub person: PersonId,
    /// The person's Patient.
    pub patient: Value,
    /// Posterior probability that it is the same person (0–1).
    pub score: f64,
    /// `certain`, `probable` or `possible` (FHIR match-grade).
    pub grade: &'static str,
}

fn split_name(text: &str) -> (String, String) {
    let folded = names::fold(text);
    if names::is_chinese(&folded) {
        let (f, g) = names::split_chinese(&folded);
        (names::surname_pinyin(&f), names::pinyin_of(&g))
    } else {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.split_last() {
            Some((last, rest)) if !rest.is_empty() => (names::fold(last), names::fold(&rest.join(""))),
            _ => (folded, String::new()),
        }
    }
}

impl DemographicQuery {
    /// The index keys that must all be present, most selective first.
    pub fn keys(&self) -> Result<Vec<i64>, UnselectiveQuery> {
        let birth = self.birthdate.as_deref().and_then(BirthDate::parse).filter(BirthDate::is_full);
        let full_name = if let Some(n) = self.name.as_deref().or(self.phonetic.as_deref()) {
            Some(split_name(n))
        } else if let (Some(f), Some(g)) = (&self.family, &self.given) {
            let (f, g) = (names::fold(f), names::fold(g));
            Some(if names::is_chinese(&f) { (names::surname_pinyin(&f), names::pinyin_of(&g)) } else { (f, g) })
        } else {
            None
        };
        let mut keys = Vec::new();
        if let Some(p) = self.telecom.as_deref().and_then(phone) {
            keys.push(search_key(KeyKind::Phone, &p));
        }
        if let Some((f, g)) = full_name.filter(|(f, g)| !f.is_empty() && !g.is_empty()) {
            keys.push(search_key(KeyKind::Name, &format!("{f}{g}")));
        } else if let (Some(f), Some(b)) = (self.family.as_deref(), birth) {
            let folded = names::fold(f);
            let key = if names::is_chinese(&folded) { names::surname_pinyin(&folded) } else { folded };
            keys.push(search_key(KeyKind::BirthFamily, &format!("{}{key}", b.compact())));
        }
        if let Some(b) = birth {
            keys.push(search_key(KeyKind::Birth, &b.compact()));
        }
        if keys.is_empty() {
            return Err(UnselectiveQuery(
                "search patients by identifier, telecom, full name, surname with birthdate, or birthdate; gender and address only narrow such a search",
            ));
        }
        Ok(keys)
    }

    /// Whether a record satisfies the criteria (names by spelling unless `phonetic` was asked).
    pub fn accepts(&self, d: &Demographics) -> bool {
        let full = format!("{}{}", d.family, d.given);
        let phonetic = self.phonetic.is_some();
        // A Latin name is asked "Given Family" and stored family first.
        let asked = |n: &str| {
            let folded = names::fold(n);
            let words: Vec<&str> = n.split_whitespace().collect();
            let reordered = match words.split_last() {
                Some((last, rest)) if !rest.is_empty() => names::fold(&format!("{last}{}", rest.join(""))),
                _ => folded.clone(),
            };
            full == folded || full.starts_with(&folded) || full == reordered
        };
        let name_ok = phonetic || self.name.as_deref().is_none_or(asked);
        let family_ok = phonetic || self.family.as_deref().is_none_or(|f| names::fold(f) == d.family);
        let given_ok = phonetic || self.given.as_deref().is_none_or(|g| names::fold(g) == d.given);
        let gender_ok = self.gender.as_deref().is_none_or(|g| d.sex == Some(Sex::parse(g)));
        let birth_ok = self.birthdate.as_deref().and_then(BirthDate::parse).is_none_or(|b| d.birth == Some(b));
        let address_ok = self.address.as_deref().is_none_or(|a| {
            let a = names::fold(a);
            [&d.city, &d.locality, &d.postal_code, &d.line]
                .iter()
                .any(|x| !x.is_empty() && (x.contains(&a) || a.contains(x.as_str())))
        });
        name_ok && family_ok && given_ok && gender_ok && birth_ok && address_ok
    }
}

impl RecordReader {
    /// The active person behind an id: itself, or the survivor it was merged into.
    pub async fn current_person(&self, person: PersonId) -> Result<PersonId, AccessError> {
        match self.store().person_status(person).await? {
            None => Err(AccessError::NotFound("person")),
            Some(PersonStatus::Active) => Ok(person),
            Some(PersonStatus::MergedInto(p)) => Ok(p),
        }
    }

    /// PDQm: persons whose records satisfy the query, with their Patient resources.
    pub async fn search_demographics(
        &self,
        who: &Requester,
        query: &DemographicQuery,
        limit: u32,
    ) -> Result<Result<Vec<(PersonId, Value)>, UnselectiveQuery>, AccessError> {
        self.permit_lookup(who, "read.pdq").await?;
        let keys = match query.keys() {
            Ok(k) => k,
            Err(e) => return Ok(Err(e)),
        };
        let records = self.store().match_records_with_keys(&keys, 2_000).await?;
        let mut persons: Vec<PersonId> = Vec::new();
        for r in records {
            let Ok(d) = serde_json::from_str::<Demographics>(&r.demographics) else { continue };
            if query.accepts(&d) && !persons.contains(&r.person) {
                persons.push(r.person);
            }
        }
        let mut out = Vec::new();
        for p in persons.into_iter().take(limit as usize) {
            if who.role == tongdang_core::Role::Resident && Some(p) != who.person {
                continue;
            }
            out.push((p, self.compose_for(who, p).await?));
        }
        self.audit_disclosed(who, "read.pdq", &out.iter().map(|(p, _)| *p).collect::<Vec<_>>()).await?;
        Ok(Ok(out))
    }

    /// PIXm: the person holding an identifier and every identifier of that person.
    pub async fn cross_references(
        &self,
        who: &Requester,
        system: &str,
        value: &str,
    ) -> Result<Option<(PersonId, Vec<PersonIdentifier>)>, AccessError> {
        self.permit_lookup(who, "read.pix").await?;
        let value = tongdang_identity::documents::DocumentKind::from_system(system)
            .and_then(|kind| tongdang_identity::documents::normalize(kind, value).ok())
            .unwrap_or_else(|| value.to_string());
        let persons = self.store().persons_by_identifier(Some(system), &value).await?;
        // An identifier held by two persons (a possible duplicate in review) answers with none
        // rather than a guess.
        let [person] = persons.as_slice() else { return Ok(None) };
        let person = self.current_person(*person).await?;
        if who.role == tongdang_core::Role::Resident && Some(person) != who.person {
            return Ok(None);
        }
        let ids = self.store().person_identifiers(person).await?;
        self.audit_disclosed(who, "read.pix", &[person]).await?;
        Ok(Some((person, self.mask_identifiers(who, ids))))
    }

    /// `$match`: candidate persons for a Patient, scored, best first.
    pub async fn match_patient(
        &self,
        who: &Requester,
        probe: &Demographics,
        params: &Parameters,
        count: usize,
        only_certain: bool,
    ) -> Result<Vec<MatchResult>, AccessError> {
        self.permit_lookup(who, "read.match").await?;
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut certain: Vec<PersonId> = Vec::new();
        for s in &probe.strong {
            if let Some((system, value)) = s.split_once('|') {
                certain.extend(self.store().persons_by_identifier(Some(system), value).await?);
            }
        }
        let mut records = BTreeMap::new();
        for k in query_keys(probe) {
            for r in self.store().match_records_with_keys(&[k], 200).await? {
                records.insert(r.record, r);
            }
        }
        for r in self.store().match_records_of(&certain).await? {
            records.insert(r.record, r);
        }
        for r in records.into_values() {
            if let Ok(d) = serde_json::from_str::<Demographics>(&r.demographics) {
                candidates.push(Candidate { person: r.person, record: r.record, demographics: d });
            }
        }
        let outcome = decide(params, probe, &candidates);
        let odds = params.prior / (1.0 - params.prior);
        let mut ranked: Vec<(PersonId, f64, &'static str)> = Vec::new();
        // Holders of the probe's verified documents are certain, scored or not (a probe may carry
        // nothing but an ID number), unless the demographics rule them out.
        certain.sort();
        certain.dedup();
        for p in &certain {
            let ruled_out = outcome.scored.iter().any(|s| s.person == *p && s.decision == Decision::Distinct && s.weight > 0.0);
            if !ruled_out {
                ranked.push((self.current_person(*p).await?, 1.0, "certain"));
            }
        }
        for s in outcome.scored.iter().filter(|s| s.decision != Decision::Distinct && !certain.contains(&s.person)) {
            let score = 1.0 / (1.0 + 1.0 / (odds * s.weight.exp2()));
            ranked.push((
                s.person,
                if score.is_finite() { score } else { 0.0 },
                if s.decision == Decision::Link { "probable" } else { "possible" },
            ));
        }
        ranked.dedup_by_key(|r| r.0);
        let mut out = Vec::new();
        for (person, score, grade) in ranked.into_iter().filter(|r| !only_certain || r.2 == "certain").take(count) {
            out.push(MatchResult { person, patient: self.compose_for(who, person).await?, score, grade });
        }
        self.audit_disclosed(who, "read.match", &out.iter().map(|m| m.person).collect::<Vec<_>>()).await?;
        Ok(out)
    }
}

/// One side of a review, as an operator sees it: enough to decide, identifiers masked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReviewSide {
    /// The person.
    pub person: PersonId,
    /// Patient records of the person (institution, the institution's patient id, record id).
    pub records: Vec<(String, String, i64)>,
    /// Demographics of the best-matching record.
    pub demographics: Value,
}

/// A review item with both sides and the field-by-field comparison.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReviewView {
    /// Item id.
    pub id: i64,
    /// `open`, `linked`, `distinct`, `superseded`.
    pub status: String,
    /// `possible-match`, `ambiguous`, `identifier-conflict`.
    pub reason: String,
    /// Match weight (log2 likelihood ratio).
    pub weight: f64,
    /// The record that was not linked (and the person it was given).
    pub record: i64,
    /// The record's side.
    pub subject: ReviewSide,
    /// The candidate person's side.
    pub candidate: ReviewSide,
    /// Per field: `exact`, `phonetic`, `similar`, `different`, `missing`.
    pub comparison: BTreeMap<&'static str, &'static str>,
    /// Raised at (RFC 3339, CST).
    pub created_at: String,
    /// Decided by, when decided.
    pub decided_by: Option<String>,
    /// The decision note.
    pub note: Option<String>,
}

/// A masked view of demographics: name, sex, birth date and district in full (needed to decide),
/// phone as 138****1234, identity documents as first 6 and last 4.
fn masked(d: &Demographics, rules: &tongdang_protection::mask::Rules) -> Value {
    use tongdang_protection::mask::{Field, Rule, mask_name};
    let rule = |f: Field| rules.get(&f).copied().unwrap_or(Rule::Hidden);
    let name_rule = rule(Field::Name);
    let mask = |s: &str, keep_start: usize, keep_end: usize| {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() <= keep_start + keep_end {
            return "*".repeat(chars.len());
        }
        let mut out: String = chars[..keep_start].iter().collect();
        out.push_str(&"*".repeat(chars.len() - keep_start - keep_end));
        out.extend(&chars[chars.len() - keep_end..]);
        out
    };
    serde_json::json!({
        "name": match name_rule {
            tongdang_protection::mask::Rule::Full => format!("{}{}", d.family, d.given),
            tongdang_protection::mask::Rule::Hidden => String::new(),
            _ => tongdang_protection::mask::mask_name(&format!("{}{}", d.family, d.given)),
        },
        "placeholderName": d.placeholder_name,
        "sex": d.sex.map(Sex::code),
        "birthDate": match rule(Field::BirthDate) {
            Rule::Full => d.birth.map(|b| format!("{:04}-{:02}-{:02}", b.year, b.month, b.day)),
            Rule::Hidden => None,
            _ => d.birth.map(|b| format!("{:04}", b.year)),
        },
        "phones": d.phones.iter().map(|p| mask(p, 3, 4)).collect::<Vec<_>>(),
        "city": d.city,
        "district": if matches!(rule(Field::Address), Rule::Full | Rule::Partial) { d.locality.clone() } else { String::new() },
        "mother": match name_rule {
            Rule::Full => d.mother.clone(),
            Rule::Hidden => String::new(),
            _ => mask_name(&d.mother),
        },
        "multipleBirth": d.multiple_birth,
        // Only the last four: the birth date shown beside an ID number is its middle eight digits.
        "documents": d.strong.iter().chain(&d.weak).map(|s| {
            let (system, value) = s.split_once('|').unwrap_or(("", s));
            serde_json::json!({"system": system, "value": mask(value, 0, 4)})
        }).collect::<Vec<_>>(),
    })
}

fn level_name(field: tongdang_identity::matching::Field, level: u8) -> &'static str {
    use tongdang_identity::matching::{Field, MISSING};
    match (field, level) {
        (_, MISSING) => "missing",
        (_, 0) => "exact",
        (Field::Family | Field::Given, 1) => "phonetic",
        (Field::BirthDate, 1) => "day-month-swapped",
        (Field::Family | Field::Given | Field::BirthDate, 2) => "similar",
        (Field::Address, 1) => "same-district",
        (Field::Address, 2) => "same-city",
        _ => "different",
    }
}

impl RecordReader {
    /// Review items for an operator of the index, with both sides.
    pub async fn review_views(
        &self,
        who: &Requester,
        status: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ReviewView>, AccessError> {
        self.permit_index_admin(who)?;
        let mut out = Vec::new();
        for item in self.store().reviews(status, after, limit).await? {
            let r = &item.review;
            let subject_person = self.store().patient_record_person(r.record).await?.unwrap_or(r.person);
            // The candidate may have been merged since: show where it went.
            let candidate = match self.store().person_status(r.candidate).await? {
                Some(PersonStatus::MergedInto(p)) => p,
                _ => r.candidate,
            };
            let records = self.store().match_records_of(&[subject_person, candidate]).await?;
            let decode = |m: &tongdang_store::MatchRecord| serde_json::from_str::<Demographics>(&m.demographics).ok();
            let subject = records.iter().find(|m| m.record == r.record).and_then(decode).unwrap_or_default();
            let theirs: Vec<(i64, Demographics)> =
                records.iter().filter(|m| m.person == candidate).filter_map(|m| decode(m).map(|d| (m.record, d))).collect();
            let params = Parameters::default();
            let best = theirs
                .iter()
                .max_by(|a, b| {
                    let wa = params.weight(&tongdang_identity::matching::compare(&subject, &a.1));
                    let wb = params.weight(&tongdang_identity::matching::compare(&subject, &b.1));
                    wa.total_cmp(&wb)
                })
                .map(|(_, d)| d.clone())
                .unwrap_or_default();
            let c = tongdang_identity::matching::compare(&subject, &best);
            let comparison =
                tongdang_identity::matching::FIELDS.iter().zip(c).map(|(f, l)| (f.name(), level_name(*f, l))).collect();
            out.push(ReviewView {
                id: item.id,
                status: item.status.clone(),
                reason: r.reason.clone(),
                weight: (r.weight * 100.0).round() / 100.0,
                record: r.record,
                subject: self.review_side(who, subject_person, &subject).await?,
                candidate: self.review_side(who, candidate, &best).await?,
                comparison,
                created_at: item.created_at.to_rfc3339_cst(),
                decided_by: item.decided_by.clone(),
                note: item.note.clone(),
            });
        }
        Ok(out)
    }

    async fn review_side(&self, who: &Requester, person: PersonId, d: &Demographics) -> Result<ReviewSide, AccessError> {
        let rules = self.masks().for_role(who.role);
        let records = self.store().patient_records(person).await?;
        Ok(ReviewSide {
            person,
            records: records.iter().map(|p| (p.institution.clone(), p.source_id.clone(), p.id)).collect(),
            demographics: masked(d, &rules),
        })
    }

    /// Permission to operate the index (review, link, merge): the `mpi` scope.
    pub fn permit_index_admin(&self, who: &Requester) -> Result<(), AccessError> {
        if who.scopes.contains(&tongdang_core::Scope::Mpi) {
            Ok(())
        } else {
            Err(AccessError::Denied(crate::policy::DenyReason::NoIndexScope))
        }
    }
}
