//! `/api/v1/reports`: evaluation reports (评估报告) generated on request or by the monthly
//! schedule, every one kept and readable as HTML and PDF; `/api/v1/rollout`: the roll-out against
//! the plan's milestones; `/api/v1/institutions/{code}/integration-test`: an operator records an
//! institution's integration test. For operators and auditors; a city operator sees its city
//! (and the provincial reports).

use crate::AppState;
use crate::api::ErrorBody;
use crate::auth::{ApiCaller, Caller};
use crate::error::ApiError;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use tongdang_core::{City, InstitutionCode, Role, Timestamp};
use tongdang_reports::rollout::{self, CityRollout, InstitutionStatus};
use tongdang_reports::{Font, Period, Scope};
use tongdang_store::{IntegrationTest, ReportRecord};
use utoipa::{IntoParams, ToSchema};

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message.to_string())
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such report")
}

/// `None` for the provincial operator and auditors (every city); a city operator's city.
pub(crate) async fn operator_city(state: &AppState, caller: &Caller) -> Result<Option<City>, ApiError> {
    match caller.role {
        Role::ProvincialOperator | Role::Auditor => Ok(None),
        Role::CityOperator => {
            let code = caller.institution.as_ref().ok_or_else(|| forbidden("no city platform"))?;
            let home = state.store.institution(code).await?.ok_or_else(|| forbidden("no city platform"))?;
            Ok(Some(home.city))
        }
        _ => Err(forbidden("reports and roll-out are for operators and auditors")),
    }
}

fn may_read(city: Option<City>, scope: &str) -> bool {
    match (city, Scope::from_key(scope)) {
        (None, _) | (Some(_), Some(Scope::Province)) => true,
        (Some(c), Some(Scope::City(s))) => c == s,
        (Some(_), None) => false,
    }
}

/// The font the PDFs use, looked up once; without one, reports are kept as HTML only.
fn font() -> Option<&'static Font> {
    static FONT: OnceLock<Option<Font>> = OnceLock::new();
    FONT.get_or_init(|| match Font::find(None) {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::warn!(error = %e, "evaluation reports are kept without PDF");
            None
        }
    })
    .as_ref()
}

/// One report is computed at a time on a server: a provincial one is a few seconds of CPU, and
/// operators asking at once (or the schedule) wait their turn rather than starve the ingest.
static GENERATING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Generate and keep a report; `None` when the schedule's report of that period exists.
pub async fn generate(
    state: &AppState,
    period: Period,
    scope: Scope,
    by: &str,
    scheduled: bool,
) -> Result<Option<ReportRecord>, ApiError> {
    let _turn = GENERATING.acquire().await.map_err(ApiError::internal)?;
    let now = Timestamp::now();
    let input = tongdang_reports::input(state.store.as_ref(), period, scope, now).await.map_err(ApiError::internal)?;
    // Ranking a province and drawing its PDF is CPU work: off the async threads.
    let rendered = tokio::task::spawn_blocking(move || tongdang_reports::render_lenient(&input, font()))
        .await
        .map_err(ApiError::internal)?;
    let mut record = rendered.record(by, scheduled, now);
    Ok(state.store.insert_report(&record).await?.map(|id| {
        record.id = id;
        record
    }))
}

/// Generate last month's scheduled reports that do not exist yet (the province's, then each
/// city's). Several servers may run it: the store keeps one scheduled report per period and scope.
pub async fn run_schedule(state: &AppState, now: Timestamp) -> Result<usize, ApiError> {
    let period = Period::containing(now).previous();
    let (mut made, mut failed) = (0, 0);
    let scopes = std::iter::once(Scope::Province).chain(City::ALL.iter().map(|c| Scope::City(*c)));
    // A scope that fails is logged and tried again at the next run; the others go on.
    for scope in scopes {
        let done = match state.store.has_scheduled_report(&period.to_string(), &scope.key()).await {
            Ok(true) => continue,
            Ok(false) => generate(state, period, scope, "schedule", true).await,
            Err(e) => Err(e.into()),
        };
        match done {
            Ok(Some(_)) => made += 1,
            Ok(None) => {}
            Err(e) => {
                failed += 1;
                tracing::warn!(scope = %scope.key(), error = ?e, "scheduled report not generated");
            }
        }
    }
    if failed > 0 && made == 0 {
        return Err(ApiError::internal(format!("{failed} scheduled reports not generated")));
    }
    Ok(made)
}

/// A kept report.
#[derive(Serialize, ToSchema)]
pub struct ReportView {
    id: i64,
    /// `YYYY-MM`.
    period: String,
    /// `province` or a city's area code.
    scope: String,
    /// Generated by the monthly schedule.
    scheduled: bool,
    generated_at: String,
    /// An account, `cli` or `schedule`.
    generated_by: String,
    /// Headline figures.
    #[schema(value_type = Object)]
    summary: serde_json::Value,
    /// Where to read it.
    html: String,
    /// Where to read the PDF (none when no font was installed).
    pdf: Option<String>,
}

impl ReportView {
    fn of(r: &ReportRecord) -> ReportView {
        ReportView {
            id: r.id,
            period: r.period.clone(),
            scope: r.scope.clone(),
            scheduled: r.scheduled,
            generated_at: r.generated_at.to_rfc3339_cst(),
            generated_by: r.generated_by.clone(),
            summary: serde_json::from_str(&r.summary).unwrap_or(serde_json::Value::Null),
            html: format!("/api/v1/reports/{}/html", r.id),
            pdf: r.has_pdf.then(|| format!("/api/v1/reports/{}/pdf", r.id)),
        }
    }
}

/// Which reports.
#[derive(Deserialize, IntoParams)]
pub struct ReportParams {
    /// `YYYY-MM`.
    period: Option<String>,
    /// `province` or a city's area code.
    scope: Option<String>,
}

#[utoipa::path(get, path = "/reports", params(ReportParams), responses((status = 200, body = Vec<ReportView>), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    q: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Json<Vec<ReportView>>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_query", e.body_text()))?;
    let city = operator_city(&state, &caller).await?;
    // A city operator reads its city's reports and the province's (published to every city).
    let mut scopes: Option<Vec<String>> = city.map(|c| vec![Scope::City(c).key(), Scope::Province.key()]);
    if let Some(s) = &q.scope {
        if scopes.as_ref().is_some_and(|allowed| !allowed.contains(s)) {
            return Ok(Json(Vec::new()));
        }
        scopes = Some(vec![s.clone()]);
    }
    let rows = state.store.reports(q.period.as_deref(), scopes.as_deref(), 1_000).await?;
    Ok(Json(rows.iter().filter(|r| may_read(city, &r.scope)).map(ReportView::of).collect()))
}

/// A report to generate now.
#[derive(Deserialize, ToSchema)]
pub struct GenerateRequest {
    /// `YYYY-MM`.
    period: String,
    /// A city (`广州市`, `guangzhou` or its area code); the province when absent.
    city: Option<String>,
}

#[utoipa::path(post, path = "/reports", request_body = GenerateRequest, responses((status = 201, body = ReportView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    body: Result<Json<GenerateRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ReportView>), ApiError> {
    let Json(req) = body.map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_json", e.body_text()))?;
    let home = operator_city(&state, &caller).await?;
    if caller.role == Role::Auditor {
        return Err(forbidden("auditors read reports; operators generate them"));
    }
    let period: Period = req
        .period
        .parse()
        .map_err(|e: tongdang_reports::BadPeriod| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_period", e.to_string()))?;
    if period.start() > Timestamp::now() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "future_period", "that month has not begun"));
    }
    let scope = match &req.city {
        Some(c) => Scope::City(
            tongdang_reports::model::city_of(c)
                .or_else(|| c.parse().ok())
                .ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_city", "unknown city"))?,
        ),
        None => Scope::Province,
    };
    match (home, scope) {
        (None, _) => {}
        (Some(h), Scope::City(c)) if h == c => {}
        _ => return Err(forbidden("a city operator generates its own city's reports")),
    }
    let record =
        generate(&state, period, scope, &caller.actor, false).await?.ok_or_else(|| ApiError::internal("report not kept"))?;
    Ok((StatusCode::CREATED, Json(ReportView::of(&record))))
}

async fn readable(state: &AppState, caller: &Caller, id: i64) -> Result<ReportRecord, ApiError> {
    let city = operator_city(state, caller).await?;
    let r = state.store.report(id).await?.ok_or_else(not_found)?;
    if !may_read(city, &r.scope) {
        return Err(not_found());
    }
    Ok(r)
}

#[utoipa::path(get, path = "/reports/{id}", params(("id" = i64, Path)), responses((status = 200, body = ReportView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<ReportView>, ApiError> {
    let r = readable(&state, &caller, id).await?;
    Ok(Json(ReportView::of(&r)))
}

#[utoipa::path(get, path = "/reports/{id}/html", params(("id" = i64, Path)), responses((status = 200, content_type = "text/html"), (status = 404, body = ErrorBody)))]
pub(crate) async fn html(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let r = readable(&state, &caller, id).await?;
    // The page has no script and loads nothing: say so to the browser, on the API's origin.
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    Ok((headers, r.html).into_response())
}

#[utoipa::path(get, path = "/reports/{id}/pdf", params(("id" = i64, Path)), responses((status = 200, content_type = "application/pdf"), (status = 404, body = ErrorBody)))]
pub(crate) async fn pdf(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let r = readable(&state, &caller, id).await?;
    let pdf = r.pdf.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "no_pdf", "this report was kept without PDF (no CJK font was installed)")
    })?;
    let name = format!("attachment; filename=\"tongdang-report-{}-{}.pdf\"", r.period, r.scope);
    Ok(([(header::CONTENT_TYPE, "application/pdf".to_string()), (header::CONTENT_DISPOSITION, name)], pdf).into_response())
}

// ---------------------------------------------------------------- roll-out

/// A milestone of the plan.
#[derive(Serialize, ToSchema)]
pub struct MilestoneView {
    id: &'static str,
    deadline: String,
    label: &'static str,
}

/// The roll-out of every city (or the caller's).
#[derive(Serialize, ToSchema)]
pub struct RolloutView {
    /// Today, CST.
    today: String,
    milestones: Vec<MilestoneView>,
    #[schema(value_type = Vec<Object>)]
    cities: Vec<CityRollout>,
}

pub(crate) async fn rollout_of(
    state: &AppState,
    city: Option<City>,
) -> Result<(Vec<CityRollout>, Vec<InstitutionStatus>), ApiError> {
    let (institutions, keyed, activity, tests) = tokio::try_join!(
        state.store.institutions(),
        state.store.keyed_institutions(),
        state.store.source_activity(),
        state.store.integration_tests()
    )?;
    let keyed: HashSet<String> = keyed.into_iter().collect();
    Ok(rollout::rollout(&institutions, &keyed, &activity, &tests, Timestamp::now().cst_day(), city))
}

#[utoipa::path(get, path = "/rollout", responses((status = 200, body = RolloutView), (status = 403, body = ErrorBody)))]
pub(crate) async fn rollout(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<RolloutView>, ApiError> {
    let city = operator_city(&state, &caller).await?;
    let (cities, _) = rollout_of(&state, city).await?;
    let today = Timestamp::now().cst_day();
    Ok(Json(RolloutView {
        today: format!("{:04}-{:02}-{:02}", today / 10_000, today / 100 % 100, today % 100),
        milestones: rollout::MILESTONES
            .iter()
            .map(|m| MilestoneView {
                id: m.id,
                deadline: format!("{:04}-{:02}-{:02}", m.deadline / 10_000, m.deadline / 100 % 100, m.deadline % 100),
                label: m.label,
            })
            .collect(),
        cities,
    }))
}

/// Which institutions.
#[derive(Deserialize, IntoParams)]
pub struct RolloutParams {
    /// City code (`guangzhou`).
    city: Option<String>,
}

#[utoipa::path(get, path = "/rollout/institutions", params(RolloutParams), responses((status = 200, body = Vec<Object>), (status = 403, body = ErrorBody)))]
pub(crate) async fn rollout_institutions(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    q: Result<Query<RolloutParams>, QueryRejection>,
) -> Result<Json<Vec<InstitutionStatus>>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_query", e.body_text()))?;
    let home = operator_city(&state, &caller).await?;
    let asked = match &q.city {
        Some(c) => {
            Some(c.parse::<City>().map_err(|_| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_city", "unknown city"))?)
        }
        None => None,
    };
    if let (Some(h), Some(a)) = (home, asked)
        && h != a
    {
        return Err(forbidden("a city operator sees its own city"));
    }
    Ok(Json(rollout_of(&state, home.or(asked)).await?.1))
}

/// An integration test's outcome.
#[derive(Deserialize, ToSchema)]
pub struct IntegrationRequest {
    /// `not_started`, `testing`, `passed` or `failed`.
    status: String,
    /// What was tested, what failed.
    #[serde(default)]
    note: String,
}

#[utoipa::path(put, path = "/institutions/{code}/integration-test", params(("code" = String, Path)), request_body = IntegrationRequest, responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn set_integration_test(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(code): Path<String>,
    body: Result<Json<IntegrationRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_json", e.body_text()))?;
    let home = operator_city(&state, &caller).await?;
    if caller.role == Role::Auditor {
        return Err(forbidden("auditors read; operators record integration tests"));
    }
    if !["not_started", "testing", "passed", "failed"].contains(&req.status.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_status",
            "status is not_started, testing, passed or failed",
        ));
    }
    if req.note.chars().count() > 500 {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "too_long", "a note has at most 500 characters"));
    }
    let code =
        InstitutionCode::new(&code).map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such institution"))?;
    let institution = state
        .store
        .institution(&code)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such institution"))?;
    if home.is_some_and(|h| h != institution.city) {
        return Err(forbidden("a city operator records its own city's institutions"));
    }
    let test = IntegrationTest {
        institution: code.as_str().to_string(),
        status: req.status,
        note: req.note,
        updated_at: Timestamp::now(),
        updated_by: caller.actor.clone(),
    };
    state.store.set_integration_test(&test).await?;
    Ok(Json(serde_json::json!({
        "institution": test.institution,
        "status": test.status,
        "note": test.note,
        "updated_at": test.updated_at.to_rfc3339_cst(),
        "updated_by": test.updated_by,
    })))
}
