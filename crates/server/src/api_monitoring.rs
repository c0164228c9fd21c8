//! `/api/v1/monitoring/overview`: the live figures of the whole chain for the operators' pages —
//! submissions per minute by source, acceptance and return rates, ingest and read latency,
//! grant volumes, work orders opened and resolved with their handling time. Submissions, grants
//! and work orders come from the store (every server's); latencies are this server's own last
//! hour (Prometheus has every server's in `/metrics`).

use crate::AppState;
use crate::api::ErrorBody;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::monitoring::{RequestClass, Sample};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tongdang_core::{City, Timestamp};
use tongdang_store::{QualityCounts, QualityQuery, WorkOrderStats};
use utoipa::{IntoParams, ToSchema};

const MINUTE_US: i64 = 60_000_000;
/// How many sources the overview lists, busiest first.
const BUSIEST: usize = 50;

/// The window.
#[derive(Deserialize, IntoParams)]
pub struct OverviewParams {
    /// Minutes back from now, 1–1440 (default 60). Latencies cover at most the last 60.
    minutes: Option<i64>,
}

/// Submissions in one minute, or of one source.
#[derive(Serialize, ToSchema, Default, Clone)]
pub struct Flow {
    /// The minute's start (per-minute lines) or the source's code (per-source lines).
    key: String,
    /// The source's name (per-source lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    submissions: i64,
    items: i64,
    accepted: i64,
    refused: i64,
}

/// Latency of a class of requests on this server.
#[derive(Serialize, ToSchema, Default)]
pub struct Latency {
    count: usize,
    per_minute: f64,
    errors: usize,
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
    p99_ms: Option<f64>,
}

/// Work orders over the window.
#[derive(Serialize, ToSchema, Default)]
pub struct OrderFlow {
    opened: i64,
    resolved: i64,
    /// Mean hours from opening to resolution of those resolved in the window.
    mean_handling_hours: Option<f64>,
    /// Resolved late, escalated, or past their deadline and unresolved.
    overdue: i64,
    /// Every order now, by state.
    by_state: BTreeMap<String, i64>,
}

/// The chain's live figures.
#[derive(Serialize, ToSchema)]
pub struct Overview {
    /// `province` or `city:<code>`.
    scope: String,
    since: String,
    until: String,
    minutes: i64,
    /// Totals over the window.
    submissions: Flow,
    /// Accepted ÷ items.
    acceptance_rate: Option<f64>,
    /// Refused (returned) ÷ items.
    return_rate: Option<f64>,
    per_minute: Vec<Flow>,
    /// Sources, busiest first.
    by_source: Vec<Flow>,
    /// Today's quality counters (CST day): received, accepted, returned.
    today: TodayFigures,
    ingest_latency: Latency,
    reads: Latency,
    /// Grants created in the window: `channel/status` → count.
    grants: BTreeMap<String, i64>,
    work_orders: OrderFlow,
}

/// Today's counters.
#[derive(Serialize, ToSchema, Default)]
pub struct TodayFigures {
    received: i64,
    accepted: i64,
    returned: i64,
}

fn latency(samples: &[Sample], class: RequestClass, minutes: i64) -> Latency {
    let mut ms: Vec<f32> = samples.iter().filter(|s| s.class == class).map(|s| s.ms).collect();
    let errors = samples.iter().filter(|s| s.class == class && s.failed).count();
    ms.sort_by(f32::total_cmp);
    let at = |p: f64| (!ms.is_empty()).then(|| f64::from(ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)]));
    Latency {
        count: ms.len(),
        per_minute: ms.len() as f64 / minutes.clamp(1, 60) as f64,
        errors,
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
    }
}

#[utoipa::path(get, path = "/monitoring/overview", params(OverviewParams), responses((status = 200, body = Overview), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn overview(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    q: Result<Query<OverviewParams>, QueryRejection>,
) -> Result<Json<Overview>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_query", e.body_text()))?;
    let minutes = q.minutes.unwrap_or(60);
    if !(1..=1440).contains(&minutes) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_minutes", "minutes is 1 to 1440"));
    }
    let city: Option<City> = crate::api_reports::operator_city(&state, &caller).await?;
    let now = Timestamp::now();
    let since = Timestamp(now.0 - minutes * MINUTE_US);
    let today = now.cst_day();
    let quality_query = QualityQuery { institution: None, city: city.map(|c| c.area_code().to_string()), from: today, to: today };
    let institutions = state.store.institutions().await?;
    let sources: Option<Vec<String>> =
        city.map(|c| institutions.iter().filter(|i| i.city == c).map(|i| i.code.as_str().to_string()).collect());
    let (flow, grants, orders, states, quality) = tokio::try_join!(
        state.store.submission_flow(since, sources.as_deref()),
        state.store.grant_counts(since),
        state.store.work_order_stats(since, Timestamp(now.0 + 1)),
        state.store.work_order_counts(),
        state.store.quality(&quality_query),
    )?;
    let directory: HashMap<&str, (&str, City)> =
        institutions.iter().map(|i| (i.code.as_str(), (i.name.as_str(), i.city))).collect();

    let mut total = Flow::default();
    let mut per_minute: BTreeMap<i64, Flow> = BTreeMap::new();
    let mut by_source: HashMap<String, Flow> = HashMap::new();
    for r in &flow {
        // Minute lines have no institution; the totals add up the minutes only.
        let minute_line = r.institution.is_empty();
        let line = if minute_line {
            per_minute.entry(r.minute.0).or_default()
        } else {
            by_source.entry(r.institution.clone()).or_default()
        };
        let add = |f: &mut Flow| {
            f.submissions += r.submissions;
            f.items += r.items;
            f.accepted += r.accepted;
            f.refused += r.refused;
        };
        add(line);
        if minute_line {
            add(&mut total);
        }
    }
    let per_minute = per_minute
        .into_iter()
        .map(|(m, mut f)| {
            f.key = Timestamp(m).to_rfc3339_cst();
            f
        })
        .collect();
    let mut by_source: Vec<Flow> = by_source
        .into_iter()
        .map(|(code, mut f)| {
            f.name = directory.get(code.as_str()).map(|(n, _)| n.to_string());
            f.key = code;
            f
        })
        .collect();
    by_source.sort_by(|a, b| b.items.cmp(&a.items).then_with(|| a.key.cmp(&b.key)));
    by_source.truncate(BUSIEST);

    let mut o = WorkOrderStats::default();
    for w in orders.iter().filter(|w| city.is_none_or(|c| c.code() == w.city)) {
        o.add(w);
    }
    let mut day = QualityCounts::default();
    for r in &quality {
        day.add(r);
    }
    let samples = state.metrics.recent();
    let cutoff = std::time::Instant::now().checked_sub(std::time::Duration::from_secs(60 * minutes.min(60) as u64));
    let samples: Vec<Sample> = samples.into_iter().filter(|s| cutoff.is_none_or(|c| s.at >= c)).collect();
    let share = |part: i64, whole: i64| (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0);
    Ok(Json(Overview {
        scope: city.map_or_else(|| "province".to_string(), |c| format!("city:{}", c.code())),
        since: since.to_rfc3339_cst(),
        until: now.to_rfc3339_cst(),
        minutes,
        acceptance_rate: share(total.accepted, total.items),
        return_rate: share(total.refused, total.items),
        submissions: total,
        per_minute,
        by_source,
        today: TodayFigures { received: day.received, accepted: day.accepted, returned: day.returned },
        ingest_latency: latency(&samples, RequestClass::Ingest, minutes),
        reads: latency(&samples, RequestClass::Read, minutes),
        grants: grants.into_iter().map(|(c, s, n)| (format!("{c}/{s}"), n)).collect(),
        work_orders: OrderFlow {
            opened: o.opened,
            resolved: o.resolved,
            mean_handling_hours: (o.resolved > 0).then(|| (o.handling_seconds as f64 / o.resolved as f64 / 36.0).round() / 100.0),
            overdue: o.overdue,
            by_state: states.into_iter().collect(),
        },
    }))
}
