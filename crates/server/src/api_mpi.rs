//! `/api/v1/mpi`: operating the patient index — the review queue of possible matches, and
//! link, unlink, merge and unmerge, each recorded with who, when and why. Needs the `mpi` scope.

use crate::AppState;
use crate::api::ErrorBody;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tongdang_access::ReviewView;
use tongdang_core::PersonId;
use tongdang_identity::documents::DocumentKind;
use tongdang_store::{MpiEvent, RelinkOp};
use utoipa::{IntoParams, ToSchema};

/// Review list query.
#[derive(Deserialize, IntoParams)]
pub struct ReviewParams {
    /// `open` (default), `linked`, `distinct`, `superseded` or `all`.
    status: Option<String>,
    /// Continue after this item id.
    after: Option<i64>,
    /// Page size (default 50, at most 500).
    limit: Option<u32>,
}

/// A page of review items.
#[derive(Serialize, ToSchema)]
pub struct ReviewPage {
    /// Items, oldest first.
    #[schema(value_type = Vec<Object>)]
    items: Vec<ReviewView>,
    /// The `after` of the next page, if there may be more.
    next_after: Option<i64>,
}

/// A decision on a review item.
#[derive(Deserialize, ToSchema)]
pub struct ReviewDecision {
    /// `link` (the record is the candidate person) or `distinct` (a different person).
    decision: String,
    /// Why (kept in the history).
    note: String,
}

/// An operator's change of the index.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "operation", rename_all = "lowercase")]
pub enum Relink {
    /// Move one Patient record to an existing person.
    Link {
        /// The patient record id.
        record: i64,
        /// The person.
        person: String,
        /// Why.
        reason: String,
        /// Link even though the two hold different numbers of one identity document.
        #[serde(default)]
        force: bool,
    },
    /// Move one Patient record to a new person of its own.
    Unlink {
        /// The patient record id.
        record: i64,
        /// Why.
        reason: String,
    },
    /// Merge person `from` into person `into` (the survivor keeps every identifier and entry).
    Merge {
        /// Merged away.
        from: String,
        /// The survivor.
        into: String,
        /// Why.
        reason: String,
        /// Merge even though the two hold different numbers of one identity document.
        #[serde(default)]
        force: bool,
    },
    /// Undo a merge event, restoring both persons as they were.
    Unmerge {
        /// The merge event id.
        event: i64,
        /// Why.
        reason: String,
    },
}

/// A recorded change of the index.
#[derive(Serialize, ToSchema)]
pub struct EventView {
    id: i64,
    /// `link`, `unlink`, `merge`, `unmerge`, `review-link`.
    kind: String,
    /// The person the records went to.
    person: String,
    /// The person they came from.
    other: Option<String>,
    /// Patient record ids moved.
    records: Vec<i64>,
    actor: String,
    reason: String,
    /// RFC 3339, CST.
    at: String,
    /// The event that undid this one.
    undone_by: Option<i64>,
}

impl From<MpiEvent> for EventView {
    fn from(e: MpiEvent) -> EventView {
        EventView {
            id: e.id,
            kind: e.kind,
            person: e.person.to_string(),
            other: e.other.map(|p| p.to_string()),
            records: e.records,
            actor: e.actor,
            reason: e.reason,
            at: e.at.to_rfc3339_cst(),
            undone_by: e.undone_by,
        }
    }
}

/// Figures of the index.
#[derive(Serialize, ToSchema)]
pub struct IndexStats {
    /// Active persons.
    persons: i64,
    /// Persons merged into another.
    merged: i64,
    /// Source Patient records linked to persons.
    records: i64,
    /// Open review items.
    open_reviews: i64,
    /// Where the matching parameters come from: `default` or `em`.
    parameters: String,
}

/// An operation on the index, as an event of the ledger.
async fn audit_index(
    state: &AppState,
    caller: &crate::auth::Caller,
    kind: &str,
    person: PersonId,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let mut e = tongdang_store::AuditEvent::new(kind, &caller.actor, "ok");
    e.institution = caller.institution.as_ref().map(|i| i.as_str().to_string());
    e.person = Some(person);
    e.detail = detail.to_string();
    state.store.append_events(&[e]).await?;
    Ok(())
}

/// Who acted, as recorded: the account, or the institution and which of its keys.
fn actor(caller: &crate::auth::Caller) -> String {
    caller.actor.clone()
}

fn person(id: &str) -> Result<PersonId, ApiError> {
    id.parse().map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "a person id is a number"))
}

fn reason(text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 500 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "give a reason of 1 to 500 characters"));
    }
    Ok(text.to_string())
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("the body could not be read: {}", e.body_text()))
    })
}

/// The review queue: possible matches the index did not link, with both sides and the comparison.
#[utoipa::path(
    get,
    path = "/mpi/reviews",
    params(ReviewParams),
    responses((status = 200, body = ReviewPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("institution_key" = []))
)]
pub(crate) async fn reviews(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    query: Result<Query<ReviewParams>, QueryRejection>,
) -> Result<Json<ReviewPage>, ApiError> {
    let Query(p) =
        query.map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "the query string could not be read"))?;
    let status = match p.status.as_deref().unwrap_or("open") {
        "all" => None,
        s @ ("open" | "linked" | "distinct" | "superseded") => Some(s),
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "status is open, linked, distinct, superseded or all",
            ));
        }
    };
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    let items = state.reader.review_views(&caller.requester(), status, p.after.unwrap_or(0), limit).await?;
    let next_after = (items.len() == limit as usize).then(|| items.last().map(|i| i.id)).flatten();
    Ok(Json(ReviewPage { items, next_after }))
}

/// Decide a review item: `link` moves the record (and its entries) to the candidate person.
#[utoipa::path(
    post,
    path = "/mpi/reviews/{id}/decision",
    params(("id" = i64, Path, description = "Review item id")),
    request_body = ReviewDecision,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Already decided")),
    security(("institution_key" = []))
)]
pub(crate) async fn decide(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
    body: Result<Json<ReviewDecision>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.reader.permit_index_admin(&caller.requester())?;
    let d = json_body(body)?;
    let link = match d.decision.as_str() {
        "link" => true,
        "distinct" => false,
        _ => return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "decision is link or distinct")),
    };
    let (item, event) = state.store.decide_review(id, link, &actor(&caller), &reason(&d.note)?).await?;
    audit_index(&state, &caller, "admin.mpi.decision", item.review.person, serde_json::json!({ "review": id, "link": link }))
        .await?;
    Ok(Json(serde_json::json!({
        "id": item.id,
        "status": item.status,
        "event": event.map(EventView::from),
    })))
}

/// Link, unlink, merge or unmerge, recorded with who, when and why.
#[utoipa::path(
    post,
    path = "/mpi/operations",
    request_body = Relink,
    responses(
        (status = 200, body = EventView),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The operation contradicts the current state (a merged person), or the two hold different numbers of one identity document (send force)"),
    ),
    security(("institution_key" = []))
)]
pub(crate) async fn operate(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    body: Result<Json<Relink>, JsonRejection>,
) -> Result<Json<EventView>, ApiError> {
    state.reader.permit_index_admin(&caller.requester())?;
    let (op, why, force) = match json_body(body)? {
        Relink::Link { record, person: p, reason: r, force } => (RelinkOp::Link { record, person: person(&p)? }, r, force),
        Relink::Unlink { record, reason: r } => (RelinkOp::Unlink { record }, r, false),
        Relink::Merge { from, into, reason: r, force } => {
            (RelinkOp::Merge { from: person(&from)?, into: person(&into)? }, r, force)
        }
        Relink::Unmerge { event, reason: r } => (RelinkOp::Unmerge { event }, r, false),
    };
    if !force {
        refuse_document_conflict(&state, &op).await?;
    }
    let event = state.store.relink(&op, &actor(&caller), &reason(&why)?).await?;
    audit_index(
        &state,
        &caller,
        "admin.mpi.operation",
        event.person,
        serde_json::json!({ "operation": event.kind, "event": event.id }),
    )
    .await?;
    Ok(Json(event.into()))
}

/// Two persons (or a record and a person) holding different numbers of one identity document
/// are two people unless an operator says otherwise, explicitly.
async fn refuse_document_conflict(state: &AppState, op: &RelinkOp) -> Result<(), ApiError> {
    let (moving, target) = match op {
        RelinkOp::Merge { from, into } => (state.store.person_identifiers(*from).await?, *into),
        RelinkOp::Link { record, person } => {
            let Some(owner) = state.store.patient_record_person(*record).await? else { return Ok(()) };
            let source = state.store.patient_records(owner).await?.into_iter().find(|r| r.id == *record);
            let ids = state.store.person_identifiers(owner).await?;
            let ids = ids
                .into_iter()
                .filter(|i| source.as_ref().is_some_and(|s| s.institution == i.institution && s.source_id == i.source_id));
            (ids.collect(), *person)
        }
        _ => return Ok(()),
    };
    let theirs = state.store.person_identifiers(target).await?;
    let document =
        |system: &str| DocumentKind::from_system(system).is_some_and(|k| k.is_strong() || k == DocumentKind::BirthCertificate);
    for mine in moving.iter().filter(|i| document(&i.system)) {
        let same_system: Vec<&str> = theirs.iter().filter(|t| t.system == mine.system).map(|t| t.value.as_str()).collect();
        if !same_system.is_empty() && !same_system.contains(&mine.value.as_str()) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "document_conflict",
                format!(
                    "the two hold different numbers of {}: they look like two people; send \"force\": true with the reason to do it anyway",
                    mine.system
                ),
            ));
        }
    }
    Ok(())
}

/// The index history of a person: links, unlinks, merges and unmerges it took part in.
#[utoipa::path(
    get,
    path = "/mpi/persons/{id}/history",
    params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = Vec<EventView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("institution_key" = []))
)]
pub(crate) async fn history(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    state.reader.permit_index_admin(&caller.requester())?;
    let p = person(&id)?;
    if state.store.person_status(p).await?.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "person not found"));
    }
    Ok(Json(state.store.mpi_events(p).await?.into_iter().map(EventView::from).collect()))
}

/// Figures of the index.
#[utoipa::path(
    get,
    path = "/mpi/stats",
    responses((status = 200, body = IndexStats), (status = 403, body = ErrorBody)),
    security(("institution_key" = []))
)]
pub(crate) async fn stats(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<IndexStats>, ApiError> {
    state.reader.permit_index_admin(&caller.requester())?;
    let c = state.store.mpi_counts().await?;
    Ok(Json(IndexStats {
        persons: c.persons,
        merged: c.merged,
        records: c.records,
        open_reviews: c.open_reviews,
        parameters: state.ingestor.parameters().source.clone(),
    }))
}
