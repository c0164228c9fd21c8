//! The HTTP server: FHIR R4 at `/fhir`, everything FHIR does not cover at `/api/v1` (described
//! by `/api/v1/openapi.json`), and pages at `/`. Handlers are thin: they authenticate, turn
//! HTTP into calls on `tongdang-ingest` (writes) and `tongdang-access` (reads), and shape the
//! answer. They never touch the store for record data themselves.

mod api;
mod api_mpi;
mod auth;
mod error;
mod fhir_identity;
mod fhir_read;
mod fhir_write;
mod pages;
mod respond;
mod search;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::Request;
use std::net::SocketAddr;
use std::sync::Arc;
use tongdang_access::{Policy, RecordReader};
use tongdang_ingest::Ingestor;
use tongdang_store::{ProtectedStore, Store};
use tower_http::trace::TraceLayer;

pub use auth::KeyCache;
use axum::http::StatusCode;
use error::{ApiError, FhirError};
use tongdang_fhir::IssueCode;

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
    /// Recently seen API keys.
    pub keys: KeyCache,
    /// Request limits.
    pub limits: Limits,
}

impl AppState {
    /// State over a store with default limits and policy.
    pub fn new(protected: Arc<ProtectedStore>) -> AppState {
        let store: Arc<dyn Store> = protected.clone();
        AppState {
            protected,
            ingestor: Ingestor::new(store.clone()),
            reader: RecordReader::new(store.clone(), Policy),
            keys: KeyCache::default(),
            limits: Limits::default(),
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
    Router::new()
        .nest("/fhir", fhir.layer(DefaultBodyLimit::max(fhir_limit)))
        .nest("/api/v1", api)
        .merge(pages::router())
        .with_state(state)
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            // Only the route pattern: paths and queries can carry identifiers of residents.
            let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
            tracing::info_span!("request", method = %req.method(), route)
        }))
}

/// The OpenAPI document of `/api/v1`, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().split_for_parts().1
}

/// Serve until Ctrl-C.
pub async fn serve(state: Arc<AppState>, addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    // Parameters estimated by `tongdang mpi estimate --save` take effect without a restart.
    let reload = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            if let Err(e) = reload.ingestor.reload_parameters().await {
                tracing::warn!(error = %e, "matching parameters not reloaded");
            }
        }
    });
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
