//! `/api/v1/work-orders`: raising a work order (工单), reading it with its steps, acting on it;
//! `/fhir/Task/{id}`: the same order as a FHIR Task. A resident raises one about an entry of
//! their own record (read through the policy, so an entry they may not see cannot be reported);
//! institutions about their own or another source's data; operators about any source.

use crate::AppState;
use crate::api::ErrorBody;
use crate::auth::{ApiCaller, Caller, FhirCaller};
use crate::error::{ApiError, FhirError};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tongdang_core::{Category, EntryId, InstitutionCode, Role, Timestamp};
use tongdang_fhir::IssueCode;
use tongdang_store::{WorkOrderFilter, WorkOrderRecord};
use tongdang_workorders::{Action, NewOrder, Origin, Party, ServiceError, State as OrderState};
use utoipa::{IntoParams, ToSchema};

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        match e {
            ServiceError::Refused(tongdang_workorders::WorkOrderError::NotYours { .. }) => {
                ApiError::new(StatusCode::FORBIDDEN, "not_yours", e.to_string())
            }
            ServiceError::Refused(tongdang_workorders::WorkOrderError::OutOfOrder { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "out_of_order", e.to_string())
            }
            ServiceError::Refused(tongdang_workorders::WorkOrderError::Invalid(_)) | ServiceError::Invalid(_) => {
                bad("invalid", e.to_string())
            }
            ServiceError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            ServiceError::UnknownSource => bad("unknown_source", e.to_string()),
            ServiceError::Conflict => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            ServiceError::Duplicate => ApiError::new(StatusCode::CONFLICT, "duplicate", e.to_string()),
            ServiceError::Store(e) => ApiError::internal(e),
        }
    }
}

/// The caller as the work orders see it (a city operator's city from its platform institution).
async fn party(state: &AppState, caller: &Caller) -> Result<Party, ApiError> {
    let city = match (caller.role, &caller.institution) {
        (Role::CityOperator, Some(code)) => state.store.institution(code).await?.map(|i| i.city),
        _ => None,
    };
    Ok(Party {
        role: caller.role,
        actor: caller.actor.clone(),
        account: caller.account,
        institution: caller.institution.as_ref().map(|i| i.as_str().to_string()),
        city,
    })
}

/// A new work order.
#[derive(Deserialize, ToSchema)]
pub struct RaiseRequest {
    /// Short title, e.g. `血糖结果单位有误`.
    title: String,
    /// What is wrong.
    #[serde(default)]
    description: String,
    /// The entry it is about, as `Type/id` (a platform id, as the record shows it).
    entry: Option<String>,
    /// Or a period of the record (FHIR dates), with `source`.
    from: Option<String>,
    /// End of the period.
    to: Option<String>,
    /// The data source (institution code), when no entry is named.
    source: Option<String>,
    /// The quality rule, when an operator raises an order about a class of failures.
    rule: Option<String>,
}

/// A step of a work order.
#[derive(Serialize, ToSchema)]
pub struct StepView {
    at: String,
    /// `account:…`, `institution:… key:…`, or `system`.
    actor: String,
    /// `raise`, `accept`, `start`, `resolve`, `confirm`, `reopen`, `close`, `escalate`.
    action: String,
    from_state: Option<String>,
    to_state: String,
    /// Chinese label of the state after.
    label: String,
    level: String,
    assignee: String,
    note: String,
}

/// A work order.
#[derive(Serialize, ToSchema)]
pub struct WorkOrderView {
    id: i64,
    /// `resident`, `quality_check`, `institution`, `operator`.
    origin: String,
    title: String,
    description: String,
    /// The data source.
    source: String,
    /// Its city.
    city: String,
    /// `Type/id` of the entry, if one.
    entry: Option<String>,
    period_from: Option<String>,
    period_to: Option<String>,
    rule: Option<String>,
    category: Option<String>,
    /// `institution`, `city` or `province`.
    level: String,
    assignee: String,
    /// State word, and its Chinese label.
    state: String,
    label: String,
    /// The linked correction, when resolved.
    correction: Option<String>,
    explanation: String,
    due_at: String,
    /// Whether the handler's time has run out.
    overdue: bool,
    created_at: String,
    updated_at: String,
    resolved_at: Option<String>,
    closed_at: Option<String>,
    reopen_count: i32,
    escalations: i32,
    /// Oldest first; on a single order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    steps: Vec<StepView>,
}

pub(crate) fn view(o: WorkOrderRecord, resource_type: Option<String>, steps: Vec<StepView>, now: Timestamp) -> WorkOrderView {
    let state = OrderState::parse(&o.state);
    WorkOrderView {
        id: o.id,
        label: state.map_or("", |s| s.label_zh()).to_string(),
        overdue: state.is_some_and(|s| s.awaits_handler()) && o.due_at.0 <= now.0,
        origin: o.origin,
        title: o.title,
        description: o.description,
        source: o.source,
        city: o.city,
        entry: o.entry.map(|e| format!("{}/{e}", resource_type.unwrap_or_else(|| "Entry".into()))),
        period_from: o.period_from.map(|t| t.to_rfc3339_cst()),
        period_to: o.period_to.map(|t| t.to_rfc3339_cst()),
        rule: o.rule,
        category: o.category.and_then(Category::from_i16).map(|c| c.code().to_string()),
        level: o.level,
        assignee: o.assignee,
        state: o.state,
        correction: o.correction,
        explanation: o.explanation,
        due_at: o.due_at.to_rfc3339_cst(),
        created_at: o.created_at.to_rfc3339_cst(),
        updated_at: o.updated_at.to_rfc3339_cst(),
        resolved_at: o.resolved_at.map(|t| t.to_rfc3339_cst()),
        closed_at: o.closed_at.map(|t| t.to_rfc3339_cst()),
        reopen_count: o.reopen_count,
        escalations: o.escalations,
        steps,
    }
}

pub(crate) async fn entry_type(state: &AppState, entry: Option<i64>) -> Option<String> {
    match entry {
        Some(id) => state.store.entry(EntryId(id)).await.ok().flatten().map(|e| e.resource_type),
        None => None,
    }
}

/// `POST /work-orders`: raise a work order. It is routed to the data source of the entry (or the
/// named source), or to that source's city platform when it connects through a fused one.
#[utoipa::path(post, path = "/work-orders", request_body = RaiseRequest,
    responses((status = 201, body = WorkOrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn raise(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    body: Result<Json<RaiseRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<WorkOrderView>), ApiError> {
    let Json(req) = body.map_err(|e| bad("bad_request", e.body_text()))?;
    let who = party(&state, &caller).await?;
    let origin = match caller.role {
        Role::Resident => Origin::Resident,
        Role::Clinician | Role::InstitutionAdmin | Role::InstitutionSystem => Origin::Institution,
        Role::CityOperator | Role::ProvincialOperator => Origin::Operator,
        Role::Auditor => {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "auditors read work orders, they do not raise them"));
        }
    };
    let (mut source, mut person, mut entry, mut category) = (None, None, None, None);
    if let Some(reference) = req.entry.as_deref() {
        let (rt, id) = reference.split_once('/').ok_or_else(|| bad("bad_entry", "entry is Type/id"))?;
        let id: i64 = id.parse().map_err(|_| bad("bad_entry", "entry is Type/id with the platform's numeric id"))?;
        // Read through the policy (and audited): an entry the reporter may not see is, to them,
        // an entry that does not exist.
        let record = state.reader.entry(&caller.requester(), rt, EntryId(id)).await.map_err(|e| match e {
            tongdang_access::AccessError::Store(e) => ApiError::internal(e),
            _ => ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such entry in a record you may read"),
        })?;
        source = Some(record.institution.clone());
        person = Some(record.person);
        entry = Some(record.id.0);
        category = Some(record.category.as_i16());
    } else if caller.role == Role::Resident {
        // A period of their own record, at a named source (missing data).
        if req.source.is_none() || req.from.is_none() {
            return Err(bad("bad_request", "name the entry, or the source and the period (from, to)"));
        }
        person = Some(caller.person.ok_or_else(|| ApiError::new(StatusCode::FORBIDDEN, "forbidden", "no record"))?);
    }
    let source = match source.or(req.source.clone()) {
        Some(s) => InstitutionCode::new(&s).map_err(|_| bad("bad_source", "not an institution code"))?,
        None => return Err(bad("bad_request", "name the entry, or the source institution")),
    };
    let period = match (req.from.as_deref(), req.to.as_deref()) {
        (None, None) => None,
        (from, to) => {
            let parse = |s: Option<&str>, end: bool| -> Result<Option<Timestamp>, ApiError> {
                match s {
                    None => Ok(None),
                    Some(s) => Timestamp::parse_fhir_range(s)
                        .map(|(a, b)| Some(if end { b } else { a }))
                        .ok_or_else(|| bad("bad_period", "from and to are FHIR dates")),
                }
            };
            let (f, t) = (parse(from, false)?, parse(to, true)?);
            let f = f.unwrap_or(Timestamp(0));
            let t = t.unwrap_or_else(Timestamp::now);
            if f > t {
                return Err(bad("bad_period", "from is after to"));
            }
            Some((f, t))
        }
    };
    let rule = match (origin, req.rule) {
        (Origin::Operator, Some(r)) => Some(r),
        (_, Some(_)) => return Err(bad("bad_request", "only operators raise orders about a quality rule")),
        (_, None) => None,
    };
    let new = NewOrder { origin, source, person, entry, period, rule, category, title: req.title, description: req.description };
    let order = state.work_orders.raise(&who, new, Timestamp::now()).await?;
    let steps = steps_of(&state, order.id).await?;
    let rt = entry_type(&state, order.entry).await;
    Ok((StatusCode::CREATED, Json(view(order, rt, steps, Timestamp::now()))))
}

pub(crate) async fn steps_of(state: &AppState, id: i64) -> Result<Vec<StepView>, ApiError> {
    Ok(state
        .store
        .work_order_steps(id)
        .await?
        .into_iter()
        .map(|s| StepView {
            at: s.at.to_rfc3339_cst(),
            label: OrderState::parse(&s.to_state).map_or("", |x| x.label_zh()).to_string(),
            actor: s.actor,
            action: s.action,
            from_state: s.from_state,
            to_state: s.to_state,
            level: s.level,
            assignee: s.assignee,
            note: s.note,
        })
        .collect())
}

/// Which work orders.
#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// In this state.
    state: Option<String>,
    /// Only those assigned to the caller now (handlers).
    assigned: Option<bool>,
    /// Page: ids below this.
    before: Option<i64>,
    /// Page size (default 50, at most 200).
    limit: Option<u32>,
}

/// A page of work orders.
#[derive(Serialize, ToSchema)]
pub struct WorkOrderPage {
    work_orders: Vec<WorkOrderView>,
    /// Pass as `before` for the next page.
    next_before: Option<i64>,
}

#[utoipa::path(get, path = "/work-orders", params(ListParams), responses((status = 200, body = WorkOrderPage), (status = 422, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<WorkOrderPage>, ApiError> {
    let Query(q) = q.map_err(|e| bad("bad_query", e.body_text()))?;
    if q.state.as_deref().is_some_and(|s| OrderState::parse(s).is_none()) {
        return Err(bad("bad_state", "state is open, accepted, in_progress, resolved, confirmed, reopened or closed"));
    }
    let who = party(&state, &caller).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let mut filter = WorkOrderFilter { state: q.state, before: q.before, limit, ..Default::default() };
    // What each role sees: its own reports, its data's orders, its city's, everything.
    match caller.role {
        Role::Resident => filter.raiser_account = Some(caller.account.unwrap_or(-1)),
        Role::Clinician => filter.raiser_account = Some(caller.account.unwrap_or(-1)),
        Role::InstitutionAdmin | Role::InstitutionSystem => filter.institution = who.institution.clone(),
        Role::CityOperator => filter.city = Some(who.city.map_or(String::new(), |c| c.code().to_string())),
        Role::ProvincialOperator | Role::Auditor => {}
    }
    if q.assigned == Some(true) {
        filter.assigned = Some(match caller.role {
            Role::InstitutionAdmin | Role::InstitutionSystem => {
                ("institution".into(), who.institution.clone().unwrap_or_default())
            }
            Role::CityOperator => ("city".into(), who.city.map_or(String::new(), |c| c.code().to_string())),
            Role::ProvincialOperator => ("province".into(), "province".into()),
            _ => return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "only handlers have orders assigned")),
        });
    }
    let orders = state.store.work_orders(&filter).await?;
    let next_before = (orders.len() == limit as usize).then(|| orders.last().map(|o| o.id)).flatten();
    let now = Timestamp::now();
    let mut out = Vec::with_capacity(orders.len());
    for o in orders {
        let rt = entry_type(&state, o.entry).await;
        out.push(view(o, rt, Vec::new(), now));
    }
    Ok(Json(WorkOrderPage { work_orders: out, next_before }))
}

async fn visible(state: &AppState, caller: &Caller, id: i64) -> Result<WorkOrderRecord, ApiError> {
    let who = party(state, caller).await?;
    let order = state
        .store
        .work_order(id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such work order"))?;
    if !state.work_orders.may_see(&who, &order) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such work order"));
    }
    Ok(order)
}

#[utoipa::path(get, path = "/work-orders/{id}", responses((status = 200, body = WorkOrderView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<WorkOrderView>, ApiError> {
    let order = visible(&state, &caller, id).await?;
    let steps = steps_of(&state, id).await?;
    let rt = entry_type(&state, order.entry).await;
    Ok(Json(view(order, rt, steps, Timestamp::now())))
}

/// An action on a work order.
#[derive(Deserialize, ToSchema)]
pub struct ActionRequest {
    /// `accept`, `start`, `resolve`, `confirm`, `reopen`, `close`.
    action: String,
    /// For `resolve`: the corrected entry (`Observation/42/_history/2`).
    correction: Option<String>,
    /// For `resolve`: why nothing needed to change, or what was done.
    explanation: Option<String>,
    /// For `reopen`: why.
    reason: Option<String>,
}

#[utoipa::path(post, path = "/work-orders/{id}/actions", request_body = ActionRequest,
    responses((status = 200, body = WorkOrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn act(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
    body: Result<Json<ActionRequest>, JsonRejection>,
) -> Result<Json<WorkOrderView>, ApiError> {
    let Json(req) = body.map_err(|e| bad("bad_request", e.body_text()))?;
    let action = match req.action.as_str() {
        "accept" => Action::Accept,
        "start" => Action::Start,
        "resolve" => Action::Resolve { correction: req.correction, explanation: req.explanation },
        "confirm" => Action::Confirm,
        "reopen" => Action::Reopen { reason: req.reason.unwrap_or_default() },
        "close" => Action::Close,
        _ => return Err(bad("bad_action", "action is accept, start, resolve, confirm, reopen or close")),
    };
    let who = party(&state, &caller).await?;
    let order = state.work_orders.act(&who, id, action, Timestamp::now()).await?;
    let steps = steps_of(&state, id).await?;
    let rt = entry_type(&state, order.entry).await;
    Ok(Json(view(order, rt, steps, Timestamp::now())))
}

/// `GET /fhir/Task/{id}`: a work order as a FHIR Task.
pub(crate) async fn task(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    Path(id): Path<String>,
) -> Result<axum::response::Response, FhirError> {
    let not_found = || FhirError::new(StatusCode::NOT_FOUND, IssueCode::NotFound, "Task not found");
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let order = visible(&state, &caller, id).await.map_err(|e| match e.status {
        StatusCode::NOT_FOUND => not_found(),
        _ => FhirError::internal(e.message),
    })?;
    let rt = entry_type(&state, order.entry).await;
    Ok(crate::respond::fhir_json(StatusCode::OK, &task_json(&order, rt)))
}

/// The FHIR Task of a work order: `status` in FHIR's words, `businessStatus` in ours (Chinese
/// label), `focus` the entry, `for` the person, `owner` the assignee, `restriction.period.end`
/// the deadline.
pub(crate) fn task_json(o: &WorkOrderRecord, resource_type: Option<String>) -> serde_json::Value {
    let state = OrderState::parse(&o.state).unwrap_or(OrderState::Open);
    let status = match state {
        OrderState::Open => "requested",
        OrderState::Accepted => "accepted",
        OrderState::InProgress | OrderState::Reopened => "in-progress",
        OrderState::Resolved => "on-hold",
        OrderState::Confirmed | OrderState::Closed => "completed",
    };
    let mut task = serde_json::json!({
        "resourceType": "Task",
        "id": o.id.to_string(),
        "status": status,
        "businessStatus": {"coding": [{"system": "urn:tongdang:cs:work-order-state", "code": o.state, "display": state.label_zh()}], "text": state.label_zh()},
        "intent": "order",
        "code": {"coding": [{"system": "urn:tongdang:cs:work-order-origin", "code": o.origin}]},
        "description": o.title,
        "authoredOn": o.created_at.to_rfc3339_cst(),
        "lastModified": o.updated_at.to_rfc3339_cst(),
        "requester": {"display": o.raised_by},
        "owner": {"identifier": {"system": format!("urn:tongdang:work-order-level:{}", o.level), "value": o.assignee}},
        "restriction": {"period": {"end": o.due_at.to_rfc3339_cst()}},
        "note": [{"text": o.description}],
    });
    if let (Some(e), Some(rt)) = (o.entry, resource_type) {
        task["focus"] = serde_json::json!({"reference": format!("{rt}/{e}")});
    }
    if let Some(p) = o.person {
        task["for"] = serde_json::json!({"reference": format!("Patient/{p}")});
    }
    if let Some(c) = &o.correction {
        task["output"] = serde_json::json!([{"type": {"text": "correction"}, "valueReference": {"reference": c}}]);
    }
    task
}
