//! Operations' view of the running server: `/metrics` (Prometheus text format, from
//! `prometheus-client`), `/readyz` (the store answers), `/healthz` (the process answers, in
//! `pages`). Request figures are labelled by route pattern, never by path: paths carry ids.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

/// Labels of a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

/// Labels of a latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// Labels of submitted items.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ItemLabels {
    institution: String,
    outcome: String,
}

/// Labels of a state count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    items: Family<ItemLabels, Counter>,
    work_orders: Family<StateLabels, Gauge>,
    open_returns: Gauge,
    /// When the state counts were last read from the store.
    refreshed: std::sync::Mutex<Option<Instant>>,
    /// The last hour of ingest and read requests, for the monitoring pages' latencies.
    recent: std::sync::Mutex<std::collections::VecDeque<Sample>>,
}

/// What a request was, for the monitoring pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestClass {
    /// A submission: FHIR create/update/Bundle, bulk ingest.
    Ingest,
    /// A read of record data: FHIR reads and searches, the timeline.
    Read,
}

/// One timed request.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When it finished.
    pub at: Instant,
    /// Ingest or read.
    pub class: RequestClass,
    /// How long it took, milliseconds.
    pub ms: f32,
    /// Whether it failed (status ≥ 400).
    pub failed: bool,
}

/// The window the monitoring pages' latencies cover, and how many samples it keeps at most.
pub const WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);
const MAX_SAMPLES: usize = 200_000;

fn class_of(method: &str, route: &str) -> Option<RequestClass> {
    let fhir = route.starts_with("/fhir/") && route != "/fhir/metadata";
    match method {
        "POST" | "PUT" if fhir || route == "/fhir" || route == "/api/v1/ingest" => Some(RequestClass::Ingest),
        "GET" if fhir || route == "/api/v1/persons/{id}/timeline" => Some(RequestClass::Read),
        _ => None,
    }
}

/// How often the background loop reads the state counts; a scrape reads them itself only when
/// they are older than [`STALE`] (a server without the loop, in tests).
pub const REFRESH: std::time::Duration = std::time::Duration::from_secs(15);
const STALE: std::time::Duration = std::time::Duration::from_secs(60);

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("tongdang");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route pattern, method and status", requests.clone());
        let latency =
            Family::<RouteLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        registry.register("http_request_duration_seconds", "HTTP request latency by route pattern", latency.clone());
        let items = Family::<ItemLabels, Counter>::default();
        registry.register("submitted_items", "Submitted resources by source institution and outcome", items.clone());
        let work_orders = Family::<StateLabels, Gauge>::default();
        registry.register("work_orders", "Work orders by state (at the last scrape)", work_orders.clone());
        let open_returns = Gauge::default();
        registry.register("open_returns", "Returns open at their sources (at the last scrape)", open_returns.clone());
        Metrics {
            registry,
            requests,
            latency,
            items,
            work_orders,
            open_returns,
            refreshed: Default::default(),
            recent: Default::default(),
        }
    }
}

impl Metrics {
    /// The ingest and read requests of the last [`WINDOW`], oldest first.
    pub fn recent(&self) -> Vec<Sample> {
        let mut q = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        while q.front().is_some_and(|s| now.duration_since(s.at) > WINDOW) {
            q.pop_front();
        }
        q.iter().copied().collect()
    }

    fn remember(&self, sample: Sample) {
        let mut q = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        while q.len() >= MAX_SAMPLES || q.front().is_some_and(|s| sample.at.duration_since(s.at) > WINDOW) {
            q.pop_front();
        }
        q.push_back(sample);
    }

    /// Count a submission's items: stored, unchanged, refused.
    pub fn submitted(&self, institution: &str, stored: u64, unchanged: u64, refused: u64) {
        for (outcome, n) in [("stored", stored), ("unchanged", unchanged), ("refused", refused)] {
            if n > 0 {
                self.items.get_or_create(&ItemLabels { institution: institution.to_string(), outcome: outcome.into() }).inc_by(n);
            }
        }
    }
}

impl Metrics {
    /// Read the state counts (work orders by state, open returns) from the store. Counting is a
    /// scan of the work orders (36 ms p50 over 100,000 of them on SQLite), so it is done here,
    /// every [`REFRESH`], not in each scrape.
    pub async fn refresh(&self, store: &dyn tongdang_store::Store) {
        match store.work_order_counts().await {
            Ok(counts) => {
                for (s, n) in counts {
                    self.work_orders.get_or_create(&StateLabels { state: s }).set(n);
                }
            }
            Err(e) => tracing::warn!(error = %e, "work order counts not read for /metrics"),
        }
        match store.open_returns_summary(None, tongdang_core::Timestamp::now()).await {
            Ok(open) => {
                self.open_returns.set(open.count);
            }
            Err(e) => tracing::warn!(error = %e, "open returns not read for /metrics"),
        }
        *self.refreshed.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    fn stale(&self) -> bool {
        self.refreshed.lock().unwrap_or_else(|e| e.into_inner()).is_none_or(|t| t.elapsed() > STALE)
    }
}

/// Middleware: count and time every request by its route pattern.
pub(crate) async fn track(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_string();
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let m = &state.metrics;
    let elapsed = started.elapsed();
    if let Some(class) = class_of(&method, &route) {
        let failed = response.status().as_u16() >= 400;
        m.remember(Sample { at: Instant::now(), class, ms: elapsed.as_secs_f32() * 1000.0, failed });
    }
    m.requests.get_or_create(&RequestLabels { route: route.clone(), method, status: response.status().as_u16() }).inc();
    m.latency.get_or_create(&RouteLabels { route }).observe(elapsed.as_secs_f64());
    response
}

/// `GET /metrics`: Prometheus text format. Request and submission figures are live; the state
/// counts are at most [`REFRESH`] old.
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    if state.metrics.stale() {
        state.metrics.refresh(state.store.as_ref()).await;
    }
    let mut body = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut body, &state.metrics.registry) {
        tracing::error!(error = %e, "metrics not encoded");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body).into_response()
}

/// `GET /readyz`: ready when the store answers.
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    // The cheapest question that needs the database: two ends of the entries' primary key.
    match state.store.entry_id_bounds().await {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "the store does not answer").into_response()
        }
    }
}
