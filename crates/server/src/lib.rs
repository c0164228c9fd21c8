//! The HTTP server: FHIR R4 at `/fhir`, everything FHIR does not cover at `/api/v1` (described
//! by `/api/v1/openapi.json`), and pages at `/`. Handlers are thin: they authenticate, turn
//! HTTP into calls on `tongdang-ingest` (writes) and `tongdang-access` (reads), and shape the
//! answer. They never touch the store for record data themselves.

mod api;
mod api_auth;
mod api_grants;
mod api_ledger;
mod api_monitoring;
mod api_mpi;
mod api_quality;
pub mod api_reports;
mod api_workorders;
mod auth;
mod error;
mod fhir_audit;
mod fhir_identity;
mod fhir_read;
mod fhir_write;
mod limits;
pub mod monitoring;
mod pages;
mod respond;
mod search;
pub mod tls;
mod web;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::Request;
use std::net::SocketAddr;
use std::sync::Arc;
use tongdang_access::authorize::{Authorizations, GrantDefaults};
use tongdang_access::channels::Channels;
use tongdang_access::clock::{Clock, SystemClock};
use tongdang_access::notify::{Notifier, NotifyConfig};
use tongdang_access::signin::Accounts;
use tongdang_access::{Policy, RecordReader};
use tongdang_ingest::Ingestor;
use tongdang_store::{ProtectedStore, Store};
use tower_http::trace::TraceLayer;

pub use auth::KeyCache;
use axum::http::StatusCode;
use error::{ApiError, FhirError};
use tongdang_fhir::IssueCode;

pub use limits::Quotas;

/// Limits on what a request may carry.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest FHIR JSON body (a single resource or a Bundle).
    pub fhir_body_bytes: usize,
    /// Largest NDJSON line.
    pub ndjson_line_bytes: usize,
    /// Largest NDJSON body.
    pub ndjson_body_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { fhir_body_bytes: 32 << 20, ndjson_line_bytes: 8 << 20, ndjson_body_bytes: 8 << 30 }
    }
}

/// How authorized access reaches the outside and keeps time.
pub struct Access {
    /// The SMS gateway, app push and face verification adapters.
    pub channels: Channels,
    /// Channel defaults (grant durations, code lifetime and tries).
    pub grants: GrantDefaults,
    /// What residents are told.
    pub notify: NotifyConfig,
    /// The clock decisions are made at.
    pub clock: Arc<dyn Clock>,
}

impl Default for Access {
    fn default() -> Access {
        Access {
            channels: Channels::simulated(),
            grants: GrantDefaults::default(),
            notify: NotifyConfig::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// Requests a minute an institution may make by default (bulk NDJSON counts once).
pub const DEFAULT_QUOTA_PER_MINUTE: u32 = 60_000;

/// Everything a handler needs.
pub struct AppState {
    /// The store (registry and key look-ups; record reads go through `reader`).
    pub store: Arc<dyn Store>,
    /// The same store's protection operations: the ledger, checkpoints, keys.
    pub protected: Arc<ProtectedStore>,
    /// The write path.
    pub ingestor: Ingestor,
    /// The read path, behind the policy decision point.
    pub reader: RecordReader,
    /// Grants: requests, codes, approvals, bookings, emergencies; face verification.
    pub authorizations: Authorizations,
    /// Recently seen API keys.
    pub keys: KeyCache,
    /// Request, submission and state figures for `/metrics`.
    pub metrics: monitoring::Metrics,
    /// Work orders: raised, routed, acted on, escalated.
    pub work_orders: tongdang_workorders::WorkOrders,
    /// Request limits.
    pub limits: Limits,
    /// Accounts, sign-in and sessions.
    pub accounts: Accounts,
    /// Requests per institution.
    pub quotas: Quotas,
    /// Sign-in attempts per client address.
    pub sign_in_limits: Quotas,
    /// Whether the server speaks TLS (cookies get `Secure`, responses HSTS).
    pub tls: bool,
}

impl AppState {
    /// State over a store with default limits and policy, every external system simulated.
    pub fn new(protected: Arc<ProtectedStore>) -> AppState {
        AppState::with_access(protected, Access::default())
    }

    /// State over a store with these channels, grant defaults, notifications and clock.
    pub fn with_access(protected: Arc<ProtectedStore>, access: Access) -> AppState {
        let store: Arc<dyn Store> = protected.clone();
        let notifier = Arc::new(Notifier::new(store.clone(), access.channels.clone(), access.notify));
        AppState {
            authorizations: Authorizations::new(
                protected.clone(),
                access.clock.clone(),
                notifier.clone(),
                access.channels,
                access.grants,
            ),
            protected,
            ingestor: Ingestor::new(store.clone()),
            reader: RecordReader::new(store.clone(), Policy).with_clock(access.clock).with_notifier(notifier),
            keys: KeyCache::default(),
            work_orders: tongdang_workorders::WorkOrders::new(store.clone(), tongdang_workorders::Deadlines::default()),
            metrics: monitoring::Metrics::default(),
            limits: Limits::default(),
            accounts: Accounts::new(store.clone()),
            quotas: Quotas::new(DEFAULT_QUOTA_PER_MINUTE, DEFAULT_QUOTA_PER_MINUTE / 2),
            sign_in_limits: Quotas::new(20, 10),
            tls: false,
            store,
        }
    }
}

/// The whole application.
pub fn router(state: Arc<AppState>) -> Router {
    let fhir_limit = state.limits.fhir_body_bytes;
    let (api, _) = api::router().split_for_parts();
    // Unknown paths and methods answer in each surface's error shape, not with an empty body.
    let fhir = fhir_read::router()
        .fallback(|| async {
            FhirError::new(StatusCode::NOT_FOUND, IssueCode::NotFound, "no such FHIR endpoint; see /fhir/metadata")
        })
        .method_not_allowed_fallback(|| async {
            FhirError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                IssueCode::NotSupported,
                "method not supported here; nothing is deleted",
            )
        });
    let api = api
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see /api/v1/openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not supported here")
        });
    let headers = limits::security_headers(state.tls);
    let mut router = Router::new()
        .nest("/fhir", fhir.layer(DefaultBodyLimit::max(fhir_limit)))
        // JSON bodies of /api/v1 (a face photo in base64 is the largest); bulk ingest streams.
        .nest("/api/v1", api.layer(DefaultBodyLimit::max(3 << 20)))
        .merge(pages::router())
        .merge(web::router())
        .route("/metrics", axum::routing::get(monitoring::metrics))
        .route("/readyz", axum::routing::get(monitoring::readyz))
        .layer(axum::middleware::from_fn_with_state(state.clone(), monitoring::track))
        .with_state(state);
    for (name, value) in headers {
        router = router.layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(name, value));
    }
    router.layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
        // Only the route pattern: paths and queries can carry identifiers of residents.
        let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
        tracing::info_span!("request", method = %req.method(), route)
    }))
}

/// The OpenAPI document of `/api/v1`, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().split_for_parts().1
}

/// How the server runs its background work and listens.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// PEM certificate chain and private key, for TLS.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// How often a ledger checkpoint is signed (when the tree grew).
    pub checkpoint_interval: std::time::Duration,
}

/// Keep the ledger and keys current: append queued leaves every second, sign a checkpoint at
/// the interval, re-read the keys every 10 s (a rotation by `tongdang keys rotate`), the state
/// counts of `/metrics` every 15 s, and every minute the matching parameters and the rule set,
/// and escalate overdue work orders.
pub fn spawn_background(state: Arc<AppState>, checkpoint_interval: std::time::Duration) {
    use std::time::{Duration, Instant};
    let s = state.clone();
    tokio::spawn(async move {
        let mut last_checkpoint = Instant::now();
        let mut last_keys = Instant::now();
        let mut last_parameters = Instant::now();
        let mut last_metrics: Option<Instant> = None;
        // Monthly evaluation reports, unless TONGDANG_REPORT_SCHEDULE=off; one run at a time.
        let schedule_reports = std::env::var("TONGDANG_REPORT_SCHEDULE").map_or(true, |v| v != "off");
        let reporting = Arc::new(std::sync::atomic::AtomicBool::new(false));
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Err(e) = s.protected.sequence_all().await {
                tracing::warn!(error = %e, "ledger leaves not sequenced");
            }
            if last_checkpoint.elapsed() >= checkpoint_interval {
                last_checkpoint = Instant::now();
                match s.protected.checkpoint().await {
                    Ok(c) => tracing::debug!(size = c.size, "ledger checkpoint"),
                    Err(e) => tracing::warn!(error = %e, "ledger checkpoint not signed"),
                }
            }
            if last_keys.elapsed() >= Duration::from_secs(10) {
                last_keys = Instant::now();
                if let Err(e) = s.protected.reload_keys().await {
                    tracing::error!(error = %e, "keys not reloaded");
                }
            }
            // The state counts /metrics shows (a scan of the work orders: not in each scrape).
            if last_metrics.is_none_or(|t| t.elapsed() >= monitoring::REFRESH) {
                last_metrics = Some(Instant::now());
                s.metrics.refresh(s.store.as_ref()).await;
            }
            // Parameters estimated by `tongdang mpi estimate --save` take effect without a restart.
            if last_parameters.elapsed() >= Duration::from_secs(60) {
                last_parameters = Instant::now();
                if let Err(e) = s.ingestor.reload_parameters().await {
                    tracing::warn!(error = %e, "matching parameters not reloaded");
                }
                // A class of failures at one source becomes a work order for it.
                match s.work_orders.raise_from_returns(QUALITY_ORDER_THRESHOLD, tongdang_core::Timestamp::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(raised = n, "quality-check work orders raised"),
                    Err(e) => tracing::warn!(error = %e, "quality-check work orders not raised"),
                }
                // Work orders whose handler's time ran out move up a level.
                match s.work_orders.escalate_overdue(tongdang_core::Timestamp::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(escalated = n, "work orders escalated"),
                    Err(e) => tracing::warn!(error = %e, "work orders not escalated"),
                }
                if schedule_reports && !reporting.swap(true, std::sync::atomic::Ordering::AcqRel) {
                    let (s, reporting) = (s.clone(), reporting.clone());
                    tokio::spawn(async move {
                        // Cleared however the run ends, a panic included, so the schedule goes on.
                        struct Done(Arc<std::sync::atomic::AtomicBool>);
                        impl Drop for Done {
                            fn drop(&mut self) {
                                self.0.store(false, std::sync::atomic::Ordering::Release);
                            }
                        }
                        let _done = Done(reporting);
                        match api_reports::run_schedule(&s, tongdang_core::Timestamp::now()).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(reports = n, "monthly evaluation reports generated"),
                            Err(e) => tracing::warn!(error = ?e, "monthly evaluation reports not generated"),
                        }
                    });
                }
                // A rule set activated on another server takes effect here within the minute.
                if let Err(e) = s.ingestor.reload_rules().await {
                    tracing::warn!(error = %e, "quality rules not reloaded");
                }
            }
        }
    });
}

/// Open returns of one source failing the same rules that make a quality-check work order.
pub const QUALITY_ORDER_THRESHOLD: i64 = 10;

/// Serve until Ctrl-C.
pub async fn serve(state: Arc<AppState>, options: ServeOptions) -> anyhow::Result<()> {
    state.ingestor.reload_rules().await?;
    spawn_background(state.clone(), options.checkpoint_interval);
    // A re-check of stored entries that a restart interrupted goes on where it stopped.
    let ingestor = state.ingestor.clone();
    tokio::spawn(async move {
        if let Err(e) = ingestor.recheck().await {
            tracing::warn!(error = %e, "re-check of stored entries stopped");
        }
    });
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match &options.tls {
        Some((cert, key)) => {
            let config = tls::server_config(cert, key)?;
            // `tap_io` gives the listener axum's connect-info support for any `Listener`.
            let listener = axum::serve::ListenerExt::tap_io(tls::TlsListener::bind(options.listen, config).await?, |_| {});
            axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        None => {
            let listener = tokio::net::TcpListener::bind(options.listen).await?;
            axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(shutdown)
                .await?;
        }
    }
    Ok(())
}
