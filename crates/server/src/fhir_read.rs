//! Reads over FHIR REST: the CapabilityStatement, read, search and `Patient/$everything`. Every
//! record read goes through the access crate's reader, which asks the policy first.

use crate::AppState;
use crate::auth::FhirCaller;
use crate::error::FhirError;
use crate::respond::{Bundle, BundleEntry, fhir_base, fhir_json, raw};
use crate::search::{DEFAULT_COUNT, MAX_COUNT, entry_search};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_core::{EntryId, PersonId};
use tongdang_fhir::capability::{ACCEPTED_TYPES, capability_statement};
use tongdang_fhir::{IssueCode, ResourceKind, classify};

/// The `/fhir` routes.
pub(crate) fn router() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/", post(crate::fhir_write::submit_bundle))
        .route("/metadata", get(metadata))
        .route("/Patient/$ihe-pix", get(crate::fhir_identity::pix))
        .route("/Patient/$match", post(crate::fhir_identity::match_patient))
        .route("/Consent", get(crate::fhir_audit::consents))
        .route("/Consent/{id}", get(crate::fhir_audit::consent))
        .route("/AuditEvent", get(crate::fhir_audit::audit_events))
        .route("/AuditEvent/{id}", get(crate::fhir_audit::audit_event))
        .route("/Task/{id}", get(crate::api_workorders::task))
        .route("/{type}", get(search).post(crate::fhir_write::create))
        .route("/{type}/{id}", get(read).put(crate::fhir_write::update))
        .route("/{type}/{id}/{operation}", get(operation))
}

/// The kind of a type named in a URL, or 404.
pub(crate) fn known_type(resource_type: &str) -> Result<ResourceKind, FhirError> {
    if ACCEPTED_TYPES.contains(&resource_type) {
        Ok(classify(resource_type))
    } else {
        Err(FhirError::new(
            StatusCode::NOT_FOUND,
            IssueCode::NotSupported,
            format!("'{resource_type}' is not a resource type this server holds; see /fhir/metadata"),
        ))
    }
}

async fn metadata(headers: HeaderMap) -> Response {
    fhir_json(StatusCode::OK, &capability_statement(&fhir_base(&headers), env!("CARGO_PKG_VERSION")))
}

fn not_found() -> FhirError {
    FhirError::new(StatusCode::NOT_FOUND, IssueCode::NotFound, "resource not found")
}

/// A read of a merged person goes to the survivor: 307 (an unmerge may undo it), `Location` the same path with its id.
fn moved(e: tongdang_access::AccessError, headers: &HeaderMap, suffix: &str) -> FhirError {
    match e {
        tongdang_access::AccessError::Moved(p) => FhirError::moved(p, format!("{}/Patient/{p}{suffix}", fhir_base(headers))),
        e => e.into(),
    }
}

async fn read(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, FhirError> {
    let kind = known_type(&resource_type)?;
    let who = caller.requester();
    match kind {
        ResourceKind::Patient => {
            let person: PersonId = id.parse().map_err(|_| not_found())?;
            Ok(fhir_json(StatusCode::OK, &state.reader.patient(&who, person).await.map_err(|e| moved(e, &headers, ""))?))
        }
        ResourceKind::Entry(_) => {
            let entry_id: EntryId = id.parse().map_err(|_| not_found())?;
            let entry = state.reader.entry(&who, &resource_type, entry_id).await?;
            Ok(fhir_json(StatusCode::OK, &raw(&entry.resource)))
        }
        ResourceKind::Directory => {
            let rid: i64 = id.parse().map_err(|_| not_found())?;
            let d = state.reader.directory(&who, &resource_type, rid).await?;
            Ok(fhir_json(StatusCode::OK, &raw(&d.resource)))
        }
        ResourceKind::NotAccepted => Err(not_found()),
    }
}

fn params(q: Result<Query<Vec<(String, String)>>, QueryRejection>) -> Result<Vec<(String, String)>, FhirError> {
    q.map(|Query(v)| v)
        .map_err(|_| FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Structure, "the query string could not be read"))
}

fn link(relation: &str, url: String) -> Value {
    json!({"relation": relation, "url": url})
}

pub(crate) fn query_string(params: &[(String, String)]) -> String {
    params.iter().map(|(k, v)| format!("{}={}", percent(k), percent(v))).collect::<Vec<_>>().join("&")
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

async fn search(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    Path(resource_type): Path<String>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, FhirError> {
    let kind = known_type(&resource_type)?;
    let params = params(query)?;
    let base = fhir_base(&headers);
    let who = caller.requester();
    let self_link = link("self", format!("{base}/{resource_type}?{}", query_string(&params)));
    match kind {
        ResourceKind::Patient => patient_search(&state, &who, &base, &params, self_link).await,
        ResourceKind::Entry(_) => {
            let s = entry_search(&resource_type, &params)?;
            let person =
                s.person.ok_or_else(|| FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Required, "patient is required"))?;
            // A merged person's id searches the survivor's record.
            let person = state.reader.current_person(person).await.unwrap_or(person);
            let page = state.reader.search(&who, person, s.query, s.cursor.as_deref()).await?;
            let mut links = vec![self_link];
            if let Some(next) = &page.next_cursor {
                let mut p: Vec<(String, String)> = params.iter().filter(|(k, _)| k != "_cursor").cloned().collect();
                p.push(("_cursor".into(), next.clone()));
                links.push(link("next", format!("{base}/{resource_type}?{}", query_string(&p))));
            }
            let entry = page
                .entries
                .iter()
                .map(|e| BundleEntry::found(format!("{base}/{}/{}", e.resource_type, e.id), Some(raw(&e.resource)), "match"))
                .collect();
            Ok(fhir_json(StatusCode::OK, &Bundle { resource_type: "Bundle", kind: "searchset", total: None, link: links, entry }))
        }
        _ => Err(FhirError::new(
            StatusCode::BAD_REQUEST,
            IssueCode::NotSupported,
            format!("search is not supported for {resource_type}; read it by id"),
        )),
    }
}

async fn patient_search(
    state: &AppState,
    who: &tongdang_access::Requester,
    base: &str,
    params: &[(String, String)],
    self_link: Value,
) -> Result<Response, FhirError> {
    let mut identifier = None;
    let mut ids = None;
    let mut demographic = tongdang_access::DemographicQuery::default();
    let mut by_demographics = false;
    let mut count = DEFAULT_COUNT;
    let mut after = None;
    for (k, v) in params {
        match k.as_str() {
            "identifier" => identifier = Some(v.clone()),
            "name" | "family" | "given" | "phonetic" | "birthdate" | "gender" | "telecom" | "address" => {
                let slot = match k.as_str() {
                    "name" => &mut demographic.name,
                    "family" => &mut demographic.family,
                    "given" => &mut demographic.given,
                    "phonetic" => &mut demographic.phonetic,
                    "birthdate" => &mut demographic.birthdate,
                    "gender" => &mut demographic.gender,
                    "telecom" => &mut demographic.telecom,
                    _ => &mut demographic.address,
                };
                // `telecom` may come as a token (phone|138…).
                *slot = Some(v.rsplit('|').next().unwrap_or(v).to_string());
                by_demographics = true;
            }
            "_id" => ids = Some(v.clone()),
            "_count" => {
                count = v
                    .parse::<u32>()
                    .map_err(|_| FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Value, "_count is not a number"))?
                    .clamp(1, MAX_COUNT)
            }
            "_cursor" => {
                after = Some(
                    v.parse::<PersonId>().map_err(|_| FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Value, "bad cursor"))?,
                )
            }
            "_format" | "_pretty" | "_total" => {}
            other => {
                return Err(FhirError::new(
                    StatusCode::BAD_REQUEST,
                    IssueCode::NotSupported,
                    format!("Patient search by '{other}' is not supported; see /fhir/metadata"),
                ));
            }
        }
    }
    let mut next = None;
    let found: Vec<(PersonId, Value)> = if let Some(token) = identifier {
        let (system, value) = match token.split_once('|') {
            Some((s, v)) => (Some(s).filter(|s| !s.is_empty()), v),
            None => (None, token.as_str()),
        };
        state.reader.find_persons(who, system, value).await?
    } else if by_demographics {
        match state.reader.search_demographics(who, &demographic, count).await? {
            Ok(found) => found,
            Err(e) => return Err(FhirError::new(StatusCode::BAD_REQUEST, IssueCode::NotSupported, e.to_string())),
        }
    } else if let Some(ids) = ids {
        let mut out = Vec::new();
        for id in ids.split(',') {
            if let Ok(p) = id.parse::<PersonId>() {
                // A merged id answers with its survivor, once.
                let p = match state.reader.patient(who, p).await {
                    Err(tongdang_access::AccessError::Moved(survivor)) => survivor,
                    _ => p,
                };
                match state.reader.patient(who, p).await {
                    Ok(v) if !out.iter().any(|(q, _)| *q == p) => out.push((p, v)),
                    Ok(_) | Err(tongdang_access::AccessError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        out
    } else {
        let mut page = state.reader.list_persons(who, after, count + 1).await?;
        if page.len() > count as usize {
            page.truncate(count as usize);
            next = page.last().map(|(p, _)| *p);
        }
        page
    };
    let mut links = vec![self_link];
    if let Some(p) = next {
        let mut q: Vec<(String, String)> = params.iter().filter(|(k, _)| k != "_cursor").cloned().collect();
        q.push(("_cursor".into(), p.to_string()));
        links.push(link("next", format!("{base}/Patient?{}", query_string(&q))));
    }
    let entry = found
        .into_iter()
        .map(|(p, v)| BundleEntry::found(format!("{base}/Patient/{p}"), serde_json::value::to_raw_value(&v).ok(), "match"))
        .collect();
    Ok(fhir_json(StatusCode::OK, &Bundle { resource_type: "Bundle", kind: "searchset", total: None, link: links, entry }))
}

async fn operation(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    Path((resource_type, id, operation)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, FhirError> {
    if resource_type != "Patient" || operation != "$everything" {
        return Err(FhirError::new(
            StatusCode::NOT_FOUND,
            IssueCode::NotSupported,
            format!("{resource_type}/{{id}}/{operation} is not supported"),
        ));
    }
    let person: PersonId = id.parse().map_err(|_| not_found())?;
    let all = state.reader.everything(&caller.requester(), person).await.map_err(|e| moved(e, &headers, "/$everything"))?;
    let base = fhir_base(&headers);
    let mut entry = Vec::with_capacity(all.entries.len() + all.directory.len() + 1);
    entry.push(BundleEntry::found(
        format!("{base}/Patient/{person}"),
        serde_json::value::to_raw_value(&all.patient).ok(),
        "match",
    ));
    for e in &all.entries {
        entry.push(BundleEntry::found(format!("{base}/{}/{}", e.resource_type, e.id), Some(raw(&e.resource)), "match"));
    }
    for d in &all.directory {
        entry.push(BundleEntry::found(format!("{base}/{}/{}", d.resource_type, d.id), Some(raw(&d.resource)), "include"));
    }
    let total = Some(entry.len() as u64);
    Ok(fhir_json(StatusCode::OK, &Bundle { resource_type: "Bundle", kind: "searchset", total, link: Vec::new(), entry }))
}
