//! `/api/v1/returns`, `/api/v1/quality/…`, `/api/v1/reconciliation/…`: data governance. An
//! institution sees its own returns, figures and reconciliations; a city operator those of its
//! city's institutions; the provincial operator and auditors everything. Rule sets are the
//! provincial operator's.

use crate::AppState;
use crate::api::ErrorBody;
use crate::auth::{ApiCaller, Caller};
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tongdang_core::{Category, City, ConnectionMode, InstitutionCode, InstitutionKind, Role, Timestamp};
use tongdang_govern::Finding;
use tongdang_govern::reconcile::{HeldItem, ListedItem, MAX_MANIFEST_ITEMS, receipt_summary, reconcile};
use tongdang_ingest::rules::RulesError;
use tongdang_store::{QualityCounts, QualityQuery, ReconciliationRecord, ReturnFilter, ReturnRecord, RuleSetRecord};
use utoipa::{IntoParams, ToSchema};

const DAY_US: i64 = 86_400_000_000;
/// The most ids each list of a stored reconciliation keeps (the counts are always whole).
const MAX_LISTED: usize = 10_000;
/// Largest manifest body: 200,000 items of ~130 bytes.
const MAX_MANIFEST_BYTES: usize = 32 << 20;

/// Whose governance data a caller may see.
#[derive(Debug, Clone, PartialEq)]
enum Scope {
    Institution(String),
    City(City),
    Province,
}

impl Scope {
    fn label(&self) -> String {
        match self {
            Scope::Institution(i) => format!("institution:{i}"),
            Scope::City(c) => format!("city:{}", c.code()),
            Scope::Province => "province".into(),
        }
    }
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message.to_string())
}

fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// The scope a caller asks for (`institution`, `city`, or neither: their widest), within what
/// its role allows.
async fn scope_of(state: &AppState, caller: &Caller, institution: Option<&str>, city: Option<&str>) -> Result<Scope, ApiError> {
    let own = caller.institution.as_ref().map(|i| i.as_str().to_string());
    let city = match city {
        Some(c) => Some(c.parse::<City>().map_err(|_| bad_request("bad_city", "unknown city code"))?),
        None => None,
    };
    match caller.role {
        Role::InstitutionSystem | Role::InstitutionAdmin => {
            let own = own.ok_or_else(|| forbidden("no institution"))?;
            if city.is_some() {
                return Err(forbidden("an institution sees its own governance data only"));
            }
            match institution {
                Some(i) if i != own => {
                    // A fused city platform also sees the members that submit through it.
                    if platform_members(state, caller).await?.is_some_and(|m| m.iter().any(|c| c == i)) {
                        Ok(Scope::Institution(i.to_string()))
                    } else {
                        Err(forbidden("an institution sees its own governance data only"))
                    }
                }
                _ => Ok(Scope::Institution(own)),
            }
        }
        Role::CityOperator => {
            let code = InstitutionCode::new(own.as_deref().unwrap_or("")).map_err(|_| forbidden("no city platform"))?;
            let home = state.store.institution(&code).await?.ok_or_else(|| forbidden("no city platform"))?.city;
            if city.is_some_and(|c| c != home) {
                return Err(forbidden("a city operator sees its own city"));
            }
            match institution {
                Some(i) => {
                    let member = state
                        .store
                        .institution(
                            &InstitutionCode::new(i).map_err(|_| bad_request("bad_institution", "not an institution code"))?,
                        )
                        .await?;
                    if member.is_none_or(|m| m.city != home) {
                        return Err(forbidden("that institution is not in this city"));
                    }
                    Ok(Scope::Institution(i.to_string()))
                }
                None => Ok(Scope::City(home)),
            }
        }
        Role::ProvincialOperator | Role::Auditor => Ok(match (institution, city) {
            (Some(i), _) => Scope::Institution(i.to_string()),
            (None, Some(c)) => Scope::City(c),
            (None, None) => Scope::Province,
        }),
        Role::Resident | Role::Clinician => Err(forbidden("governance data is for institutions and operators")),
    }
}

/// When the caller is a city platform's key or account: the institutions of its city that
/// connect through it, and itself.
pub(crate) async fn platform_members(state: &AppState, caller: &Caller) -> Result<Option<Vec<String>>, ApiError> {
    let Some(own) = &caller.institution else { return Ok(None) };
    let Some(platform) = state.store.institution(own).await?.filter(|i| i.kind == InstitutionKind::CityPlatform) else {
        return Ok(None);
    };
    let mut members: Vec<String> = state
        .store
        .institutions()
        .await?
        .into_iter()
        .filter(|i| i.city == platform.city && i.connection == ConnectionMode::ViaCityPlatform)
        .map(|i| i.code.as_str().to_string())
        .collect();
    members.push(own.as_str().to_string());
    Ok(Some(members))
}

async fn institutions_of(state: &AppState, scope: &Scope) -> Result<Option<Vec<String>>, ApiError> {
    Ok(match scope {
        Scope::Institution(i) => Some(vec![i.clone()]),
        Scope::City(c) => Some(
            state.store.institutions().await?.into_iter().filter(|i| i.city == *c).map(|i| i.code.as_str().to_string()).collect(),
        ),
        Scope::Province => None,
    })
}

/// A query string that does not parse is answered in the API's error shape.
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v).map_err(|e| bad_request("bad_query", format!("query: {}", e.body_text())))
}

fn day_of(text: &str) -> Result<i32, ApiError> {
    let t =
        Timestamp::parse_fhir(text).filter(|_| text.len() == 10).ok_or_else(|| bad_request("bad_day", "a day is YYYY-MM-DD"))?;
    Ok(t.cst_day())
}

fn day_text(day: i32) -> String {
    format!("{:04}-{:02}-{:02}", day / 10_000, day / 100 % 100, day % 100)
}

// ---------------------------------------------------------------- returns

/// Which returns.
#[derive(Deserialize, IntoParams)]
pub struct ReturnParams {
    /// `open` or `closed`.
    status: Option<String>,
    /// Changed at or after (FHIR date or dateTime).
    since: Option<String>,
    /// Failing this rule (e.g. `QC-LAB-003`).
    rule: Option<String>,
    /// Of this institution (operators).
    institution: Option<String>,
    /// Of this city (provincial operators).
    city: Option<String>,
    /// Page: returns with ids below this.
    before: Option<i64>,
    /// Page size (default 50, at most 500).
    limit: Option<u32>,
}

/// A return to its source (质控退还).
#[derive(Serialize, ToSchema)]
pub struct ReturnView {
    id: i64,
    institution: String,
    resource_type: String,
    /// The institution's id of the resource.
    source_id: String,
    /// Record category code, for entries.
    category: Option<String>,
    /// `submission` or `recheck`.
    origin: String,
    /// `open` or `closed`.
    status: String,
    /// Rule ids failed.
    rules: Vec<String>,
    /// Every finding: rule, severity, Chinese message, element path.
    #[schema(value_type = Vec<Object>)]
    findings: Vec<Finding>,
    rule_set: String,
    /// The submission that last failed.
    submission: Option<i64>,
    /// Failed submissions so far.
    attempts: i32,
    opened_at: String,
    updated_at: String,
    /// Whole days it has been open (until closed).
    age_days: i64,
    closed_at: Option<String>,
    closed_submission: Option<i64>,
    /// The accepted correction, e.g. `Observation/42/_history/2`.
    correction: Option<String>,
}

impl ReturnView {
    fn from(r: ReturnRecord, now: Timestamp) -> ReturnView {
        let until = r.closed_at.unwrap_or(now);
        ReturnView {
            id: r.id,
            institution: r.institution,
            resource_type: r.resource_type,
            source_id: r.source_id,
            category: r.category.and_then(Category::from_i16).map(|c| c.code().to_string()),
            origin: r.origin,
            status: r.status,
            rules: r.rules.split_whitespace().map(str::to_string).collect(),
            findings: serde_json::from_str(&r.findings).unwrap_or_default(),
            rule_set: r.rule_set,
            submission: r.submission,
            attempts: r.attempts,
            opened_at: r.opened_at.to_rfc3339_cst(),
            updated_at: r.updated_at.to_rfc3339_cst(),
            age_days: (until.0 - r.opened_at.0).max(0) / DAY_US,
            closed_at: r.closed_at.map(|t| t.to_rfc3339_cst()),
            closed_submission: r.closed_submission,
            correction: r.correction,
        }
    }
}

/// A page of returns.
#[derive(Serialize, ToSchema)]
pub struct ReturnPage {
    returns: Vec<ReturnView>,
    /// Pass as `before` for the next page.
    next_before: Option<i64>,
}

#[utoipa::path(get, path = "/returns", params(ReturnParams), responses((status = 200, body = ReturnPage), (status = 403, body = ErrorBody)))]
pub(crate) async fn list_returns(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    q: Result<Query<ReturnParams>, QueryRejection>,
) -> Result<Json<ReturnPage>, ApiError> {
    let q = query(q)?;
    let scope = scope_of(&state, &caller, q.institution.as_deref(), q.city.as_deref()).await?;
    if q.status.as_deref().is_some_and(|s| s != "open" && s != "closed") {
        return Err(bad_request("bad_status", "status is open or closed"));
    }
    let since = match q.since.as_deref() {
        Some(s) => Some(Timestamp::parse_fhir(s).ok_or_else(|| bad_request("bad_since", "since is a FHIR date or dateTime"))?),
        None => None,
    };
    if q.rule.as_deref().is_some_and(|r| {
        !r.starts_with("QC-") || r.len() > 32 || !r.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    }) {
        return Err(bad_request("bad_rule", "a rule id looks like QC-LAB-003"));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let filter = ReturnFilter {
        institution: None,
        institutions: institutions_of(&state, &scope).await?,
        status: q.status,
        since,
        rule: q.rule,
        before: q.before,
        limit,
    };
    let now = Timestamp::now();
    let list = state.store.returns(&filter).await?;
    let next_before = (list.len() == limit as usize).then(|| list.last().map(|r| r.id)).flatten();
    Ok(Json(ReturnPage { returns: list.into_iter().map(|r| ReturnView::from(r, now)).collect(), next_before }))
}

async fn visible_return(state: &AppState, caller: &Caller, id: i64) -> Result<ReturnRecord, ApiError> {
    let r = state.store.return_by_id(id).await?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such return");
    let r = r.ok_or_else(not_found)?;
    // Another institution's return is answered as missing, not as forbidden.
    match scope_of(state, caller, Some(&r.institution), None).await {
        Ok(_) => Ok(r),
        Err(e) if e.status == StatusCode::FORBIDDEN => Err(not_found()),
        Err(e) => Err(e),
    }
}

#[utoipa::path(get, path = "/returns/{id}", responses((status = 200, body = ReturnView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_return(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<ReturnView>, ApiError> {
    Ok(Json(ReturnView::from(visible_return(&state, &caller, id).await?, Timestamp::now())))
}

/// What a correction did.
#[derive(Serialize, ToSchema)]
pub struct CorrectionView {
    /// `created`, `updated`, `unchanged` (the return is closed) or `refused` (it stays open).
    outcome: String,
    /// The stored resource, e.g. `Observation/42/_history/2`.
    stored: Option<String>,
    /// The OperationOutcome of the resubmission.
    #[schema(value_type = Object)]
    operation_outcome: serde_json::Value,
    /// The return after it.
    #[serde(rename = "return")]
    after: ReturnView,
}

/// `POST /returns/{id}/correction`: resubmit the corrected resource for a return. Its type and
/// id must be the returned ones (a different id would be a new resource and leave the return
/// open); it goes through the same pipeline and rules as any submission.
#[utoipa::path(post, path = "/returns/{id}/correction", request_body(content = Object, description = "The corrected FHIR resource"),
    responses((status = 200, body = CorrectionView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn correct_return(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: String,
) -> Result<Json<CorrectionView>, ApiError> {
    let media = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !(media.starts_with("application/fhir+json") || media.starts_with("application/json")) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the corrected resource as application/fhir+json",
        ));
    }
    // Only the type and id are read here; the text itself goes on to the pipeline, so numbers
    // keep their digits (1.50 stays 1.50).
    let resource: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| bad_request("bad_resource", format!("not JSON: {e}")))?;
    // The institution's system (submit key), or its administrator fixing it on the portal.
    let submitter = match caller.role {
        Role::InstitutionAdmin => caller.institution.clone(),
        _ => caller.submitter().cloned(),
    }
    .ok_or_else(|| forbidden("corrections are submitted with the institution's submit key or by its administrator"))?;
    let r = visible_return(&state, &caller, id).await?;
    if r.institution != submitter.as_str() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such return"));
    }
    if r.status != "open" {
        return Err(ApiError::new(StatusCode::CONFLICT, "return_closed", "this return is closed already"));
    }
    let rt = resource.get("resourceType").and_then(|v| v.as_str()).unwrap_or("");
    let rid = resource.get("id").and_then(|v| v.as_str()).unwrap_or("");
    if rt != r.resource_type || rid != r.source_id {
        return Err(bad_request(
            "correction_id_mismatch",
            format!(
                "this return is for {}/{}; a correction keeps the resource type and id (a resource with another id is a new resource, and the return would stay open)",
                r.resource_type, r.source_id
            ),
        ));
    }
    let (outcome, stored, issues) = crate::fhir_write::submit_one(&state, &caller, body).await?;
    if caller.role == Role::InstitutionAdmin {
        // Clinical data typed by a person rather than sent by the institution's system: say who.
        let mut e = tongdang_store::AuditEvent::new("return.correct", &caller.actor, &outcome);
        e.institution = Some(submitter.as_str().to_string());
        e.detail = serde_json::json!({ "return": id, "stored": stored }).to_string();
        state.store.append_events(&[e]).await?;
    }
    let after = state.store.return_by_id(id).await?.unwrap_or(r);
    Ok(Json(CorrectionView {
        outcome,
        stored,
        operation_outcome: tongdang_fhir::outcome::operation_outcome(&issues),
        after: ReturnView::from(after, Timestamp::now()),
    }))
}

// ---------------------------------------------------------------- quality figures

/// Which figures.
#[derive(Deserialize, IntoParams)]
pub struct QualityParams {
    /// One institution.
    institution: Option<String>,
    /// One city (its code, e.g. `guangzhou`).
    city: Option<String>,
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today, CST).
    to: Option<String>,
}

/// Quality figures over a set of counts.
#[derive(Serialize, ToSchema, Default)]
pub struct Figures {
    /// Items received.
    received: i64,
    /// Items stored.
    accepted: i64,
    /// Items returned.
    returned: i64,
    /// accepted ÷ received.
    acceptance_rate: Option<f64>,
    /// Share of items with every required and recommended element (完整性).
    completeness: Option<f64>,
    /// Share without an invalid code, unit, format or value (规范性).
    validity: Option<f64>,
    /// Share consistent with the person and themselves (一致性).
    consistency: Option<f64>,
    /// Share received within the timeliness rules (及时性).
    timeliness: Option<f64>,
    /// Items that repeat a stored entry under another id.
    duplicates: i64,
    /// Accepted entries with a clinical time.
    timed: i64,
    /// Mean lag from clinical time to receipt, hours.
    mean_lag_hours: Option<f64>,
    /// Lag distribution: ≤1 h, ≤1 d, ≤3 d, ≤7 d, ≤30 d, more.
    lag_histogram: [i64; 6],
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| ((whole - part) as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

impl Figures {
    fn of(c: &QualityCounts) -> Figures {
        Figures {
            received: c.received,
            accepted: c.accepted,
            returned: c.returned,
            acceptance_rate: share(c.received - c.accepted, c.received),
            completeness: share(c.incomplete, c.received),
            validity: share(c.invalid, c.received),
            consistency: share(c.inconsistent, c.received),
            timeliness: share(c.late, c.received),
            duplicates: c.duplicates,
            timed: c.timed,
            mean_lag_hours: (c.timed > 0).then(|| ((c.lag_seconds as f64 / c.timed as f64 / 3600.0) * 100.0).round() / 100.0),
            lag_histogram: c.lag,
        }
    }
}

/// Figures of one category.
#[derive(Serialize, ToSchema)]
pub struct CategoryFigures {
    /// Category code (`patient` for Patients).
    category: String,
    /// Its Chinese label.
    label: String,
    #[serde(flatten)]
    figures: Figures,
}

/// Figures of one day.
#[derive(Serialize, ToSchema)]
pub struct DayFigures {
    /// `YYYY-MM-DD`.
    day: String,
    #[serde(flatten)]
    figures: Figures,
}

/// Open returns by age.
#[derive(Serialize, ToSchema)]
pub struct OpenReturnsView {
    count: i64,
    /// Opened ≤1 d, ≤7 d, ≤30 d ago, older.
    by_age_days: [i64; 4],
    /// The oldest, in whole days.
    oldest_age_days: Option<i64>,
}

/// The quality of a scope over a period.
#[derive(Serialize, ToSchema)]
pub struct QualityView {
    /// `institution:CODE`, `city:CODE` or `province`.
    scope: String,
    from: String,
    to: String,
    /// The whole period.
    total: Figures,
    by_category: Vec<CategoryFigures>,
    by_day: Vec<DayFigures>,
    open_returns: OpenReturnsView,
}

fn period(from: Option<&str>, to: Option<&str>) -> Result<(i32, i32), ApiError> {
    let to = match to {
        Some(t) => day_of(t)?,
        None => Timestamp::now().cst_day(),
    };
    let from = match from {
        Some(f) => day_of(f)?,
        None => Timestamp::cst_day_start(to).map_or(to, |t| Timestamp(t.0 - 29 * DAY_US).cst_day()),
    };
    if from > to {
        return Err(bad_request("bad_period", "from is after to"));
    }
    let span = Timestamp::cst_day_start(to).zip(Timestamp::cst_day_start(from)).map_or(0, |(t, f)| (t.0 - f.0) / DAY_US);
    if span > 366 {
        return Err(bad_request("bad_period", "a period is at most a year"));
    }
    Ok((from, to))
}

#[utoipa::path(get, path = "/quality/figures", params(QualityParams), responses((status = 200, body = QualityView), (status = 403, body = ErrorBody)))]
pub(crate) async fn figures(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    q: Result<Query<QualityParams>, QueryRejection>,
) -> Result<Json<QualityView>, ApiError> {
    let q = query(q)?;
    let scope = scope_of(&state, &caller, q.institution.as_deref(), q.city.as_deref()).await?;
    let (from, to) = period(q.from.as_deref(), q.to.as_deref())?;
    let query = QualityQuery {
        institution: match &scope {
            Scope::Institution(i) => Some(i.clone()),
            _ => None,
        },
        city: match &scope {
            Scope::City(c) => Some(c.area_code().to_string()),
            _ => None,
        },
        from,
        to,
    };
    let now = Timestamp::now();
    let institutions = institutions_of(&state, &scope).await?;
    let (rows, open) =
        tokio::try_join!(state.store.quality(&query), state.store.open_returns_summary(institutions.as_deref(), now))?;
    let mut total = QualityCounts::default();
    let mut by_category: std::collections::BTreeMap<i16, QualityCounts> = Default::default();
    let mut by_day: std::collections::BTreeMap<i32, QualityCounts> = Default::default();
    for r in &rows {
        total.add(r);
        by_category.entry(r.category).or_default().add(r);
        by_day.entry(r.day).or_default().add(r);
    }
    Ok(Json(QualityView {
        scope: scope.label(),
        from: day_text(from),
        to: day_text(to),
        total: Figures::of(&total),
        by_category: by_category
            .into_iter()
            .map(|(code, c)| {
                let cat = Category::from_i16(code);
                CategoryFigures {
                    category: cat.map_or("patient", |c| c.code()).to_string(),
                    label: cat.map_or("患者基本信息", |c| c.label_zh()).to_string(),
                    figures: Figures::of(&c),
                }
            })
            .collect(),
        by_day: by_day.into_iter().map(|(d, c)| DayFigures { day: day_text(d), figures: Figures::of(&c) }).collect(),
        open_returns: OpenReturnsView {
            count: open.count,
            by_age_days: open.by_age,
            oldest_age_days: open.oldest.map(|t| (now.0 - t.0).max(0) / DAY_US),
        },
    }))
}

/// One institution's figures, for rankings.
#[derive(Serialize, ToSchema)]
pub struct InstitutionFigures {
    institution: String,
    city: String,
    #[serde(flatten)]
    figures: Figures,
}

#[utoipa::path(get, path = "/quality/institutions", params(QualityParams), responses((status = 200, body = Vec<InstitutionFigures>), (status = 403, body = ErrorBody)))]
pub(crate) async fn institution_figures(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    q: Result<Query<QualityParams>, QueryRejection>,
) -> Result<Json<Vec<InstitutionFigures>>, ApiError> {
    let q = query(q)?;
    let scope = scope_of(&state, &caller, None, q.city.as_deref()).await?;
    let (from, to) = period(q.from.as_deref(), q.to.as_deref())?;
    let query = QualityQuery {
        institution: None,
        city: match &scope {
            Scope::City(c) => Some(c.area_code().to_string()),
            _ => None,
        },
        from,
        to,
    };
    let rows = state.store.quality_by_institution(&query).await?;
    let members = match (&scope, caller.role) {
        (Scope::Institution(_), Role::InstitutionSystem | Role::InstitutionAdmin) => platform_members(&state, &caller).await?,
        _ => None,
    };
    Ok(Json(
        rows.into_iter()
            .filter(|r| match (&scope, &members) {
                (Scope::Institution(_), Some(m)) => m.contains(&r.institution),
                (Scope::Institution(i), None) => &r.institution == i,
                _ => true,
            })
            .map(|r| InstitutionFigures { institution: r.institution.clone(), city: r.city.clone(), figures: Figures::of(&r) })
            .collect(),
    ))
}

// ---------------------------------------------------------------- rule sets

/// A rule set kept by the platform.
#[derive(Serialize, ToSchema)]
pub struct RuleSetView {
    version: String,
    /// `active` or `retired` (`builtin` for the one compiled in, while no other is active).
    status: String,
    rules: usize,
    /// The trial on stored entries before it was kept.
    #[schema(value_type = Object)]
    trial: serde_json::Value,
    created_at: Option<String>,
    created_by: Option<String>,
    activated_at: Option<String>,
    /// Re-check of stored entries: total, done, opened returns, finished.
    recheck: RecheckView,
}

/// Progress of a re-check.
#[derive(Serialize, ToSchema)]
pub struct RecheckView {
    total: i64,
    done: i64,
    returned: i64,
    /// done ÷ total.
    progress: f64,
    finished_at: Option<String>,
}

impl RuleSetView {
    fn from(r: RuleSetRecord) -> RuleSetView {
        let rules = tongdang_govern::RuleSet::from_json(&r.body).map_or(0, |s| s.rules.len());
        RuleSetView {
            version: r.version,
            status: r.status,
            rules,
            trial: serde_json::from_str(&r.trial).unwrap_or_default(),
            created_at: Some(r.created_at.to_rfc3339_cst()),
            created_by: Some(r.created_by),
            activated_at: r.activated_at.map(|t| t.to_rfc3339_cst()),
            recheck: RecheckView {
                total: r.recheck_total,
                done: r.recheck_done,
                returned: r.recheck_returned,
                progress: if r.recheck_total > 0 { (r.recheck_done as f64 / r.recheck_total as f64).min(1.0) } else { 1.0 },
                finished_at: r.recheck_finished_at.map(|t| t.to_rfc3339_cst()),
            },
        }
    }
}

fn may_manage_rules(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::ProvincialOperator => Ok(()),
        _ => Err(forbidden("rule sets are managed by the provincial operator")),
    }
}

#[utoipa::path(get, path = "/quality/rule-sets", responses((status = 200, body = Vec<RuleSetView>), (status = 403, body = ErrorBody)))]
pub(crate) async fn rule_sets(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<RuleSetView>>, ApiError> {
    scope_of(&state, &caller, None, None).await?;
    let operator = caller.role.is_operator();
    let stored = state.store.rule_sets().await?;
    let mut out: Vec<RuleSetView> = Vec::new();
    if !stored.iter().any(|r| r.status == "active") {
        let builtin = tongdang_govern::RuleSet::builtin();
        out.push(RuleSetView {
            version: builtin.version.clone(),
            status: "builtin".into(),
            rules: builtin.rules.len(),
            trial: serde_json::Value::Null,
            created_at: None,
            created_by: None,
            activated_at: None,
            recheck: RecheckView { total: 0, done: 0, returned: 0, progress: 1.0, finished_at: None },
        });
    }
    out.extend(stored.into_iter().map(RuleSetView::from));
    if !operator {
        // Who changed the rules is the operators' business.
        out.iter_mut().for_each(|r| r.created_by = None);
    }
    Ok(Json(out))
}

/// `POST /quality/rule-sets`: try a rule set on stored entries; if it would return at most 5 %
/// of them, keep it, make it active, and re-check stored entries in the background.
#[utoipa::path(post, path = "/quality/rule-sets", request_body(content = Object, description = "A rule set: {version, rules: [...]}, see docs/quality-rules.md"),
    responses((status = 201, body = RuleSetView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_rule_set(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    body: String,
) -> Result<(StatusCode, Json<RuleSetView>), ApiError> {
    may_manage_rules(&caller)?;
    let (record, _) = state.ingestor.propose_rules(&body, &caller.actor).await.map_err(|e| match e {
        RulesError::Invalid(e) => bad_request("rule_set_refused", e.to_string()),
        RulesError::Exists(_) => ApiError::new(StatusCode::CONFLICT, "rule_set_exists", e.to_string()),
        RulesError::Ingest(e) => ApiError::internal(e),
    })?;
    let ingestor = state.ingestor.clone();
    tokio::spawn(async move {
        if let Err(e) = ingestor.recheck().await {
            tracing::warn!(error = %e, "re-check of stored entries stopped");
        }
    });
    Ok((StatusCode::CREATED, Json(RuleSetView::from(record))))
}

#[utoipa::path(get, path = "/quality/rule-sets/{version}", responses((status = 200, body = RuleSetView), (status = 404, body = ErrorBody)))]
pub(crate) async fn rule_set(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(version): Path<String>,
) -> Result<Json<RuleSetView>, ApiError> {
    scope_of(&state, &caller, None, None).await?;
    let r = state.store.rule_sets().await?.into_iter().find(|r| r.version == version);
    let mut view =
        r.map(RuleSetView::from).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such rule set"))?;
    if !caller.role.is_operator() {
        view.created_by = None;
    }
    Ok(Json(view))
}

// ---------------------------------------------------------------- reconciliation

/// An institution's manifest of one day (the day, CST, the platform received the current version
/// of each resource), optionally of one category:
/// either the list of what it sent, or only its count and receipt digest.
#[derive(Deserialize, ToSchema)]
pub struct Manifest {
    /// `YYYY-MM-DD`.
    day: String,
    /// A record category code (`lab`, `encounter`, …), or all.
    category: Option<String>,
    /// The institution (must be the caller's, if given).
    institution: Option<String>,
    /// How many resources it sent.
    count: Option<i64>,
    /// The receipt digest it computed (see `GET /reconciliation/receipts`), instead of `items`.
    summary: Option<String>,
    /// What it sent.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    items: Vec<ListedItem>,
}

/// A stored reconciliation.
#[derive(Serialize, ToSchema)]
pub struct ReconciliationView {
    id: i64,
    institution: String,
    day: String,
    category: Option<String>,
    submitted_at: String,
    submitted_by: String,
    listed: i64,
    held: i64,
    matched: i64,
    missing: i64,
    extra: i64,
    differing: i64,
    /// Whether both sides agree.
    agrees: bool,
    /// The lists (`missing`, `extra`, `differing`; `count_differs`/`summary_differs` for a summary
    /// manifest), on a single result.
    #[schema(value_type = Object)]
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    result: serde_json::Value,
}

impl ReconciliationView {
    fn from(r: ReconciliationRecord) -> ReconciliationView {
        ReconciliationView {
            id: r.id,
            day: day_text(r.day),
            category: r.category.and_then(Category::from_i16).map(|c| c.code().to_string()),
            submitted_at: r.submitted_at.to_rfc3339_cst(),
            agrees: r.missing == 0 && r.extra == 0 && r.differing == 0 && r.listed == r.held,
            result: if r.result.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::from_str(&r.result).unwrap_or_default()
            },
            institution: r.institution,
            submitted_by: r.submitted_by,
            listed: r.listed,
            held: r.held,
            matched: r.matched,
            missing: r.missing,
            extra: r.extra,
            differing: r.differing,
        }
    }
}

fn category_of(code: Option<&str>) -> Result<Option<i16>, ApiError> {
    match code {
        None | Some("") | Some("all") => Ok(None),
        Some(c) => {
            c.parse::<Category>().map(|c| Some(c.as_i16())).map_err(|_| bad_request("bad_category", "unknown record category"))
        }
    }
}

async fn held_of(state: &AppState, institution: &str, day: i32, category: Option<i16>) -> Result<Vec<HeldItem>, ApiError> {
    let start = Timestamp::cst_day_start(day).ok_or_else(|| bad_request("bad_day", "not a day"))?;
    let held = state.store.held_entries(institution, start, Timestamp(start.0 + DAY_US), category).await?;
    Ok(held
        .into_iter()
        .map(|h| HeldItem { resource_type: h.resource_type, id: h.source_id, version: h.version, digest: h.digest })
        .collect())
}

/// `POST /reconciliation/manifests`: reconcile a day. The answer, also stored, lists what the
/// platform lacks, what it holds that was not listed, and what differs.
#[utoipa::path(post, path = "/reconciliation/manifests", request_body = Manifest,
    responses((status = 201, body = ReconciliationView), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn post_manifest(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<ReconciliationView>), ApiError> {
    let institution = match caller.role {
        Role::InstitutionSystem | Role::InstitutionAdmin => caller.institution.as_ref().map(|i| i.as_str().to_string()),
        _ => None,
    }
    .ok_or_else(|| forbidden("a manifest is posted by the institution that sent the data"))?;
    if headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| !v.starts_with("application/json")) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the manifest as application/json",
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_MANIFEST_BYTES).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "a manifest is at most {} MiB and {MAX_MANIFEST_ITEMS} items; split the day by category",
                MAX_MANIFEST_BYTES >> 20
            ),
        )
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| bad_request("bad_manifest", format!("not a manifest: {e}")))?;
    if manifest.institution.as_deref().is_some_and(|i| i != institution) {
        return Err(forbidden("a manifest is for the caller's own institution"));
    }
    let day = day_of(&manifest.day)?;
    if day > Timestamp::now().cst_day() {
        return Err(bad_request("future_day", "the day has not happened yet"));
    }
    let category = category_of(manifest.category.as_deref())?;
    if manifest.items.len() > MAX_MANIFEST_ITEMS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("a manifest lists at most {MAX_MANIFEST_ITEMS} items; split the day by category"),
        ));
    }
    if manifest.items.is_empty() && manifest.summary.is_none() {
        return Err(bad_request("bad_manifest", "give items, or count and summary"));
    }
    if manifest.summary.as_deref().is_some_and(|d| d.len() != 64 || !d.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(bad_request("bad_manifest", "summary is 64 hexadecimal characters (SHA-256)"));
    }
    let held = held_of(&state, &institution, day, category).await?;
    let (record_result, listed, matched, missing, extra, differing) = if manifest.items.is_empty() {
        let summary = receipt_summary(&held);
        let count_differs = manifest.count.is_some_and(|c| c != held.len() as i64);
        let summary_differs = manifest.summary.as_deref().map(str::to_ascii_lowercase).as_deref() != Some(summary.as_str());
        let agrees = !count_differs && !summary_differs;
        let result = serde_json::json!({"count_differs": count_differs, "summary_differs": summary_differs, "held_summary": summary,
            "next": if agrees { "nothing to do" } else { "send the list of items for this day to see what differs" }});
        let n = manifest.count.unwrap_or(held.len() as i64);
        (result, n, if agrees { n } else { 0 }, 0, 0, i64::from(!agrees))
    } else {
        let items = manifest.items;
        let held_for = held.clone();
        let r = tokio::task::spawn_blocking(move || reconcile(&items, &held_for).map(|r| (r, items.len())))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| bad_request("bad_manifest", e.to_string()))?;
        let (mut r, n) = r;
        let counts = (r.matched as i64, r.missing.len() as i64, r.extra.len() as i64, r.differing.len() as i64);
        // The counts are whole; the lists are kept to a size a page can show and a client fetch.
        let truncated = r.missing.len() > MAX_LISTED || r.extra.len() > MAX_LISTED || r.differing.len() > MAX_LISTED;
        r.missing.truncate(MAX_LISTED);
        r.extra.truncate(MAX_LISTED);
        r.differing.truncate(MAX_LISTED);
        let mut value = serde_json::to_value(&r).unwrap_or_default();
        value["truncated"] = serde_json::Value::Bool(truncated);
        (value, n as i64, counts.0, counts.1, counts.2, counts.3)
    };
    let mut record = ReconciliationRecord {
        id: 0,
        institution,
        day,
        category,
        submitted_at: Timestamp::now(),
        submitted_by: caller.actor.clone(),
        listed,
        held: held.len() as i64,
        matched,
        missing,
        extra,
        differing,
        result: record_result.to_string(),
    };
    record.id = state.store.insert_reconciliation(&record).await?;
    Ok((StatusCode::CREATED, Json(ReconciliationView::from(record))))
}

/// Which reconciliations.
#[derive(Deserialize, IntoParams)]
pub struct ReconciliationParams {
    /// Of this institution (operators).
    institution: Option<String>,
    /// Page: ids below this.
    before: Option<i64>,
    /// Page size (default 50, at most 200).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/reconciliation/manifests", params(ReconciliationParams), responses((status = 200, body = Vec<ReconciliationView>), (status = 403, body = ErrorBody)))]
pub(crate) async fn list_manifests(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    q: Result<Query<ReconciliationParams>, QueryRejection>,
) -> Result<Json<Vec<ReconciliationView>>, ApiError> {
    let q = query(q)?;
    let scope = scope_of(&state, &caller, q.institution.as_deref(), None).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let institutions = institutions_of(&state, &scope).await?;
    let list = state.store.reconciliations(institutions.as_deref(), q.before, limit).await?;
    Ok(Json(list.into_iter().map(ReconciliationView::from).collect()))
}

#[utoipa::path(get, path = "/reconciliation/manifests/{id}", responses((status = 200, body = ReconciliationView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_manifest(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<ReconciliationView>, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such reconciliation");
    let r = state.store.reconciliation(id).await?.ok_or_else(not_found)?;
    scope_of(&state, &caller, Some(&r.institution), None).await.map_err(|_| not_found())?;
    Ok(Json(ReconciliationView::from(r)))
}

/// Which receipt.
#[derive(Deserialize, IntoParams)]
pub struct ReceiptParams {
    /// `YYYY-MM-DD` (default: yesterday, CST).
    day: Option<String>,
    /// The institution (operators; institutions get their own).
    institution: Option<String>,
}

/// One category's line of a daily receipt.
#[derive(Serialize, ToSchema)]
pub struct ReceiptLine {
    /// Category code.
    category: String,
    /// Entries whose current version was received on that day.
    count: usize,
    /// SHA-256 over the sorted lines `Type/id version digest\n` of those entries.
    summary: String,
}

/// The platform's receipt of an institution's day.
#[derive(Serialize, ToSchema)]
pub struct Receipt {
    institution: String,
    day: String,
    /// All categories together.
    total: ReceiptLine,
    by_category: Vec<ReceiptLine>,
}

#[utoipa::path(get, path = "/reconciliation/receipts", params(ReceiptParams), responses((status = 200, body = Receipt), (status = 403, body = ErrorBody)))]
pub(crate) async fn receipt(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    q: Result<Query<ReceiptParams>, QueryRejection>,
) -> Result<Json<Receipt>, ApiError> {
    let q = query(q)?;
    let institution = match scope_of(&state, &caller, q.institution.as_deref(), None).await? {
        Scope::Institution(i) => i,
        _ => return Err(bad_request("institution_required", "name the institution")),
    };
    let day = match q.day.as_deref() {
        Some(d) => day_of(d)?,
        None => Timestamp(Timestamp::now().0 - DAY_US).cst_day(),
    };
    let start = Timestamp::cst_day_start(day).ok_or_else(|| bad_request("bad_day", "not a day"))?;
    let raw = state.store.held_entries(&institution, start, Timestamp(start.0 + DAY_US), None).await?;
    let mut held = Vec::with_capacity(raw.len());
    let mut by: std::collections::BTreeMap<i16, Vec<HeldItem>> = Default::default();
    for h in raw {
        let item = HeldItem { resource_type: h.resource_type, id: h.source_id, version: h.version, digest: h.digest };
        by.entry(h.category).or_default().push(item.clone());
        held.push(item);
    }
    let categories: Vec<(i16, Vec<HeldItem>)> = by.into_iter().collect();
    Ok(Json(Receipt {
        total: ReceiptLine { category: "all".into(), count: held.len(), summary: receipt_summary(&held) },
        by_category: categories
            .into_iter()
            .map(|(c, items)| ReceiptLine {
                category: Category::from_i16(c).map_or("unknown", |c| c.code()).to_string(),
                count: items.len(),
                summary: receipt_summary(&items),
            })
            .collect(),
        institution,
        day: day_text(day),
    }))
}
