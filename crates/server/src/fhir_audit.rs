//! `/fhir/Consent` (residents' grants) and `/fhir/AuditEvent` (the audit trail, IHE BALP style):
//! views of the platform's own records, read-only.

use crate::AppState;
use crate::auth::FhirCaller;
use crate::error::FhirError;
use crate::respond::{fhir_base, fhir_json};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_access::authorize::GrantError;
use tongdang_access::fhir_views;
use tongdang_core::{PersonId, Role};
use tongdang_fhir::IssueCode;

impl From<GrantError> for FhirError {
    fn from(e: GrantError) -> FhirError {
        match e {
            GrantError::NotFound(_) => FhirError::new(StatusCode::NOT_FOUND, IssueCode::NotFound, e.to_string()),
            GrantError::Forbidden(_) => FhirError::new(StatusCode::FORBIDDEN, IssueCode::Security, e.to_string()),
            GrantError::Store(s) => FhirError::internal(s),
            e => FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Invalid, e.to_string()),
        }
    }
}

fn bad(message: &str) -> FhirError {
    FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Value, message)
}

struct Paging {
    person: Option<PersonId>,
    before: Option<i64>,
    count: u32,
    from: Option<tongdang_core::Timestamp>,
    to: Option<tongdang_core::Timestamp>,
    outcomes: Vec<String>,
    /// The query as given, for the links.
    query: Vec<(String, String)>,
}

/// `patient` (a Patient id or `Patient/id`), `_count` (≤ 200) and `_before` (an id, for paging);
/// for AuditEvents also `date` (with prefixes, repeatable) and `outcome` (0 success, 4 refused
/// or failed, 8 other).
fn paging(q: Result<Query<Vec<(String, String)>>, QueryRejection>, audit: bool) -> Result<Paging, FhirError> {
    let Query(params) = q.map_err(|_| bad("the query string could not be read"))?;
    let mut p = Paging { person: None, before: None, count: 50, from: None, to: None, outcomes: Vec::new(), query: Vec::new() };
    for (k, v) in params {
        match k.as_str() {
            "patient" | "subject" | "entity" => {
                let id = v.strip_prefix("Patient/").unwrap_or(&v);
                p.person = Some(id.parse().map_err(|_| bad("patient is a Patient id"))?);
            }
            "_count" => p.count = v.parse::<u32>().map_err(|_| bad("_count is a number"))?.clamp(1, 200),
            "_before" => {
                p.before = Some(v.parse().map_err(|_| bad("_before is an id"))?);
                continue;
            }
            "date" if audit => crate::search::narrow("date", &v, &mut p.from, &mut p.to)?,
            "outcome" if audit => {
                for code in v.split(',') {
                    let outcomes: &[&str] = match code {
                        "0" => &["allowed", "ok", "disclosed", "justified", "unjustified"],
                        "4" => &["refused", "wrong-code", "no-match", "id-mismatch", "expired"],
                        "8" => &["failed", "unavailable"],
                        _ => return Err(bad("outcome is 0, 4 or 8")),
                    };
                    p.outcomes.extend(outcomes.iter().map(|o| o.to_string()));
                }
            }
            _ => {
                return Err(FhirError::new(
                    StatusCode::BAD_REQUEST,
                    IssueCode::NotSupported,
                    format!("search parameter '{k}' is not supported here"),
                ));
            }
        }
        p.query.push((k, v));
    }
    Ok(p)
}

fn searchset(base: &str, kind: &str, resources: Vec<Value>, next: Option<i64>, p: &Paging) -> Value {
    let query = crate::fhir_read::query_string(&p.query);
    let mut links = vec![json!({ "relation": "self", "url": format!("{base}/{kind}?{query}") })];
    if let Some(n) = next {
        let sep = if query.is_empty() { "" } else { "&" };
        links.push(json!({ "relation": "next", "url": format!("{base}/{kind}?{query}{sep}_before={n}") }));
    }
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": resources.into_iter().map(|r| json!({
            "fullUrl": format!("{base}/{kind}/{}", r["id"].as_str().unwrap_or("")),
            "resource": r,
            "search": { "mode": "match" }
        })).collect::<Vec<_>>()
    })
}

pub(crate) async fn consents(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    headers: HeaderMap,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, FhirError> {
    let p = paging(q, false)?;
    let list = state.authorizations.consents(&caller.requester(), p.person, p.before, p.count).await?;
    let now = state.reader.clock().now();
    let next = (list.len() == p.count as usize).then(|| list.last().map(|g| g.id)).flatten();
    let resources = list.iter().map(|g| fhir_views::consent(g, now)).collect();
    Ok(fhir_json(StatusCode::OK, &searchset(&fhir_base(&headers), "Consent", resources, next, &p)))
}

pub(crate) async fn consent(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    Path(id): Path<String>,
) -> Result<Response, FhirError> {
    let id: i64 = id.parse().map_err(|_| FhirError::new(StatusCode::NOT_FOUND, IssueCode::NotFound, "Consent not found"))?;
    let g = state.authorizations.consent(&caller.requester(), id).await?;
    Ok(fhir_json(StatusCode::OK, &fhir_views::consent(&g, state.reader.clock().now())))
}

/// Auditors and the provincial operator read the whole trail; a resident their own record's.
fn audit_scope(role: Role, own: Option<PersonId>, asked: Option<PersonId>) -> Result<Option<PersonId>, FhirError> {
    match role {
        Role::Auditor | Role::ProvincialOperator => Ok(asked),
        Role::Resident => match (own, asked) {
            (Some(o), None) => Ok(Some(o)),
            (Some(o), Some(a)) if a == o => Ok(Some(o)),
            _ => Err(FhirError::new(
                StatusCode::FORBIDDEN,
                IssueCode::Security,
                "a resident reads the audit trail of their own record",
            )),
        },
        _ => Err(FhirError::new(
            StatusCode::FORBIDDEN,
            IssueCode::Security,
            "the audit trail is for auditors and for residents' own records",
        )),
    }
}

pub(crate) async fn audit_events(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    headers: HeaderMap,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, FhirError> {
    let mut p = paging(q, true)?;
    p.person = audit_scope(caller.role, caller.person, p.person)?;
    if caller.role == Role::Resident && caller.face_verified_at.is_none() {
        return Err(FhirError::new(StatusCode::FORBIDDEN, IssueCode::Security, GrantError::FaceVerificationRequired.to_string()));
    }
    let query = tongdang_store::AuditQuery {
        person: p.person,
        from: p.from,
        to: p.to,
        outcomes: p.outcomes.clone(),
        before: p.before,
        limit: p.count,
    };
    let list = state.store.audit_search(&query).await.map_err(FhirError::internal)?;
    let next = (list.len() == p.count as usize).then(|| list.last().map(|e| e.id)).flatten();
    let resources = list.iter().map(fhir_views::audit_event).collect();
    Ok(fhir_json(StatusCode::OK, &searchset(&fhir_base(&headers), "AuditEvent", resources, next, &p)))
}

pub(crate) async fn audit_event(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    Path(id): Path<String>,
) -> Result<Response, FhirError> {
    let not_found = || FhirError::new(StatusCode::NOT_FOUND, IssueCode::NotFound, "AuditEvent not found");
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let e = state.store.events_by_id(&[id]).await.map_err(FhirError::internal)?.into_iter().next().ok_or_else(not_found)?;
    if audit_scope(caller.role, caller.person, e.person).is_err() || (caller.role == Role::Resident && e.person.is_none()) {
        return Err(not_found());
    }
    Ok(fhir_json(StatusCode::OK, &fhir_views::audit_event(&e)))
}
