//! `/api/v1`: what FHIR does not cover. Today: bulk NDJSON submission, the time-ordered record,
//! and the registry of institutions. The OpenAPI document is generated from these handlers.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;
use tokio::io::BufReader;
use tokio_util::io::StreamReader;
use tongdang_access::TimelineFilter;
use tongdang_core::{Category, PersonId, Timestamp};
use tongdang_fhir::outcome::operation_outcome;
use tongdang_ingest::lines::{CHUNK_LINES, LineReader};
use tongdang_ingest::{Channel, Position, Session};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Tongdang 通档 API", description = "Provincial health-record exchange: what FHIR does not cover. FHIR R4 itself is at /fhir."),
    servers((url = "/api/v1", description = "The paths below are relative to /api/v1")),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("institution_key", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The `/api/v1` routes with their OpenAPI description.
pub(crate) fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ingest))
        .routes(routes!(timeline))
        .routes(routes!(institutions))
        .routes(routes!(crate::api_mpi::reviews))
        .routes(routes!(crate::api_mpi::decide))
        .routes(routes!(crate::api_mpi::operate))
        .routes(routes!(crate::api_mpi::history))
        .routes(routes!(crate::api_mpi::stats))
        .routes(routes!(crate::api_auth::sign_in))
        .routes(routes!(crate::api_auth::sms_code))
        .routes(routes!(crate::api_auth::sign_out))
        .routes(routes!(crate::api_auth::me))
        .routes(routes!(crate::api_auth::list_keys, crate::api_auth::issue_key))
        .routes(routes!(crate::api_auth::revoke_key))
        .routes(routes!(crate::api_ledger::checkpoint))
        .routes(routes!(crate::api_ledger::keys))
        .routes(routes!(crate::api_ledger::inclusion))
        .routes(routes!(crate::api_ledger::consistency))
        .routes(routes!(crate::api_ledger::events))
        .routes(routes!(crate::api_grants::request_access))
        .routes(routes!(crate::api_grants::get_request))
        .routes(routes!(crate::api_grants::enter_code))
        .routes(routes!(crate::api_grants::emergency))
        .routes(routes!(crate::api_grants::booking))
        .routes(routes!(crate::api_grants::my_grants))
        .routes(routes!(crate::api_grants::answer))
        .routes(routes!(crate::api_grants::access_history))
        .routes(routes!(crate::api_grants::face_verification))
        .routes(routes!(crate::api_grants::reviews))
        .routes(routes!(crate::api_grants::review_item))
        .routes(routes!(crate::api_grants::review_decision))
        .routes(routes!(crate::api_grants::outbox))
        .routes(routes!(crate::api_quality::list_returns))
        .routes(routes!(crate::api_quality::get_return))
        .routes(routes!(crate::api_quality::correct_return))
        .routes(routes!(crate::api_quality::figures))
        .routes(routes!(crate::api_quality::institution_figures))
        .routes(routes!(crate::api_quality::rule_sets, crate::api_quality::add_rule_set))
        .routes(routes!(crate::api_quality::rule_set))
        .routes(routes!(crate::api_quality::post_manifest, crate::api_quality::list_manifests))
        .routes(routes!(crate::api_quality::get_manifest))
        .routes(routes!(crate::api_quality::receipt))
        .routes(routes!(crate::api_workorders::raise, crate::api_workorders::list))
        .routes(routes!(crate::api_workorders::get))
        .routes(routes!(crate::api_workorders::act))
        .routes(routes!(crate::api_reports::list, crate::api_reports::create))
        .routes(routes!(crate::api_reports::get))
        .routes(routes!(crate::api_reports::html))
        .routes(routes!(crate::api_reports::pdf))
        .routes(routes!(crate::api_reports::rollout))
        .routes(routes!(crate::api_reports::rollout_institutions))
        .routes(routes!(crate::api_reports::set_integration_test))
        .routes(routes!(crate::api_monitoring::overview))
        .routes(routes!(openapi_json))
}

/// Refusals reported in detail (all are counted).
const REFUSALS_REPORTED: usize = 1000;

/// The error body of every `/api/v1` error.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// `code` (stable, machine-readable) and `message` (plain words).
    #[schema(value_type = Object, example = json!({"code": "unauthorized", "message": "an institution API key is required"}))]
    error: serde_json::Value,
}

/// One refused line.
#[derive(Serialize, ToSchema)]
pub struct Refusal {
    /// 1-based line number in the body.
    line: u64,
    /// Why, as a FHIR OperationOutcome.
    #[schema(value_type = Object)]
    outcome: serde_json::Value,
}

/// The answer to a bulk submission.
#[derive(Serialize, ToSchema)]
pub struct IngestResponse {
    /// The submission's id.
    submission: i64,
    /// Non-empty lines read.
    read: u64,
    /// Resources stored (new, or a new version).
    stored: u64,
    /// Identical resubmissions (nothing written).
    unchanged: u64,
    /// Lines refused.
    refused: u64,
    /// The first refusals, in line order.
    refusals: Vec<Refusal>,
}

/// Submit FHIR R4 resources as NDJSON (one resource a line, any types mixed), streamed.
///
/// The body is read line by line and never held whole. References resolve within the
/// institution's own ids, across the whole body in any order. Resubmitting a resource with the
/// same id stores a new version if it changed, and nothing if it did not.
#[utoipa::path(
    post,
    path = "/ingest",
    request_body(content = String, content_type = "application/fhir+ndjson", description = "One FHIR R4 resource per line"),
    responses(
        (status = 200, description = "Every line was read; see the counts and refusals", body = IngestResponse),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the submit scope", body = ErrorBody),
        (status = 413, description = "The body exceeded the limit; lines before it were processed", body = ErrorBody),
        (status = 415, description = "Not NDJSON", body = ErrorBody),
    ),
    security(("institution_key" = []))
)]
async fn ingest(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestResponse>, ApiError> {
    if !caller.may_submit() {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "this API key does not carry the submit scope"));
    }
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !matches!(media.as_str(), "application/fhir+ndjson" | "application/ndjson" | "application/x-ndjson") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/fhir+ndjson",
        ));
    }
    let limits = state.limits.clone();
    let mut submission = state.ingestor.begin(caller.namespace(), Channel::Ndjson).await?;
    submission.via = caller.via.clone();
    let submission_id = submission.id;
    let mut session = Session::new(state.ingestor.clone(), submission, REFUSALS_REPORTED);
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let mut lines = LineReader::new(BufReader::with_capacity(1 << 20, StreamReader::new(stream)), limits.ndjson_line_bytes);
    let mut chunk = Vec::with_capacity(CHUNK_LINES);
    let mut over_limit = false;
    let mut read_failed = false;
    // A failure part-way leaves earlier chunks committed: say so, and that resending is safe.
    let partial = |line: u64| {
        move |e: tongdang_ingest::IngestError| {
            tracing::error!(error = %e, "bulk submission failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!(
                    "internal error near line {line}; lines before it may be stored as submission {submission_id}; resending the whole body is safe (identical resources are not stored twice)"
                ),
            )
        }
    };
    loop {
        let line = match lines.next().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(_) => {
                read_failed = true;
                break;
            }
        };
        if lines.consumed() > limits.ndjson_body_bytes {
            over_limit = true;
            break;
        }
        chunk.push(line);
        if chunk.len() == CHUNK_LINES {
            session.push(std::mem::take(&mut chunk)).await.map_err(partial(lines.line_no()))?;
        }
    }
    let line_no = lines.line_no();
    session.push(chunk).await.map_err(partial(line_no))?;
    let (summary, refusals) = session.finish().await.map_err(partial(line_no))?;
    let t = summary.totals();
    state.metrics.submitted(caller.namespace().as_str(), t.stored, t.unchanged, t.refused);
    if read_failed {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "body_read_failed",
            format!(
                "the body could not be read after line {line_no}; the lines before were processed as submission {submission_id}"
            ),
        ));
    }
    if over_limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the body exceeded {} bytes; lines 1 to {} were processed as submission {submission_id}; send the rest separately",
                limits.ndjson_body_bytes,
                line_no - 1
            ),
        ));
    }
    let t = summary.totals();
    let refusals = refusals
        .into_iter()
        .map(|(pos, issues)| Refusal {
            line: if let Position::Line(n) = pos { n } else { 0 },
            outcome: operation_outcome(&issues),
        })
        .collect();
    Ok(Json(IngestResponse {
        submission: submission_id,
        read: t.read,
        stored: t.stored,
        unchanged: t.unchanged,
        refused: t.refused,
        refusals,
    }))
}

/// Which part of the record to read.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TimelineParams {
    /// Comma-separated categories: encounter, physical_exam, lab, blood, vaccination, medication, procedure, allergy, document, other.
    category: Option<String>,
    /// Clinical time at or after this FHIR date or dateTime.
    from: Option<String>,
    /// Clinical time before the end of this FHIR date or dateTime.
    to: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 5000 (default 100).
    limit: Option<u32>,
}

/// Where an entry came from.
#[derive(Serialize, ToSchema)]
struct Source {
    /// Institution code.
    code: String,
    /// Registered name.
    name: String,
}

/// One entry of the record.
#[derive(Serialize, ToSchema)]
struct TimelineEntry {
    /// Platform id (the FHIR id of the resource).
    id: String,
    /// Record category (encounter, physical_exam, lab, blood, vaccination, medication, procedure, allergy, document, other).
    #[schema(value_type = String)]
    category: Category,
    /// The category in Chinese.
    category_label: &'static str,
    /// FHIR resource type.
    resource_type: String,
    /// When it happened (RFC 3339, China Standard Time); null when the resource says nothing.
    clinical_time: Option<String>,
    /// When the platform received this version (RFC 3339).
    collected_at: String,
    /// Platform version of the entry.
    version: i64,
    /// The source institution.
    source: Source,
    /// The FHIR resource.
    #[schema(value_type = Object)]
    resource: Box<RawValue>,
}

/// A page of the record, newest first.
#[derive(Serialize, ToSchema)]
struct TimelineResponse {
    /// Entries, newest clinical time first.
    entries: Vec<TimelineEntry>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

fn bad_request(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// A person's record in time order, newest first, each entry with its source and times.
#[utoipa::path(
    get,
    path = "/persons/{id}/timeline",
    params(("id" = String, Path, description = "The person's FHIR Patient id on the platform"), TimelineParams),
    responses(
        (status = 200, body = TimelineResponse),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("institution_key" = []))
)]
async fn timeline(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    params: Result<Query<TimelineParams>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(params) = params.map_err(|e| bad_request(format!("query: {e}")))?;
    let person: PersonId = id.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "person not found"))?;
    let mut filter =
        TimelineFilter { limit: params.limit.unwrap_or(100).clamp(1, 5000), cursor: params.cursor, ..Default::default() };
    if let Some(cats) = &params.category {
        for c in cats.split(',').filter(|c| !c.is_empty()) {
            filter
                .categories
                .push(c.parse().map_err(|e: tongdang_core::category::UnknownCategory| bad_request(format!("category: {e}")))?);
        }
    }
    if let Some(from) = &params.from {
        filter.from = Some(
            Timestamp::parse_fhir_range(from).ok_or_else(|| bad_request("from: not a FHIR date or dateTime".to_string()))?.0,
        );
    }
    if let Some(to) = &params.to {
        filter.to =
            Some(Timestamp::parse_fhir_range(to).ok_or_else(|| bad_request("to: not a FHIR date or dateTime".to_string()))?.1);
    }
    let page = state.reader.timeline(&caller.requester(), person, &filter).await?;
    // Written by hand around the stored bytes: each resource was written by the platform as
    // compact JSON, so re-validating a megabyte of it per request would only cost time.
    let size: usize = page.entries.iter().map(|e| e.resource.len() + 320).sum();
    let mut out = Vec::with_capacity(size + 64);
    out.extend_from_slice(b"{\"entries\":[");
    for (i, e) in page.entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let name = state.reader.institution_name(&e.institution).await;
        let meta = TimelineEntryMeta {
            id: e.id.to_string(),
            category: e.category,
            category_label: e.category.label_zh(),
            resource_type: &e.resource_type,
            clinical_time: e.clinical_time.as_ref().map(|_| e.sort_time.to_rfc3339_cst()),
            collected_at: e.collected_at.to_rfc3339_cst(),
            version: e.version,
            source: SourceRef { code: &e.institution, name: &name },
        };
        serde_json::to_writer(&mut out, &meta).map_err(ApiError::internal)?;
        out.pop(); // the closing brace; the resource follows
        out.extend_from_slice(b",\"resource\":");
        out.extend_from_slice(&e.resource);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"next_cursor\":");
    serde_json::to_writer(&mut out, &page.next_cursor).map_err(ApiError::internal)?;
    out.push(b'}');
    Ok(([(header::CONTENT_TYPE, "application/json")], out).into_response())
}

/// A timeline entry without its resource (which is spliced in as stored).
#[derive(Serialize)]
struct TimelineEntryMeta<'a> {
    id: String,
    category: Category,
    category_label: &'static str,
    resource_type: &'a str,
    clinical_time: Option<String>,
    collected_at: String,
    version: i64,
    source: SourceRef<'a>,
}

#[derive(Serialize)]
struct SourceRef<'a> {
    code: &'a str,
    name: &'a str,
}

/// An institution in the registry.
#[derive(Serialize, ToSchema)]
struct InstitutionView {
    code: String,
    name: String,
    city: String,
    city_label: &'static str,
    level: String,
    ownership: String,
    kind: String,
    connection: String,
}

/// The registry of data sources.
#[utoipa::path(get, path = "/institutions", responses((status = 200, body = Vec<InstitutionView>), (status = 401, body = ErrorBody)), security(("institution_key" = [])))]
async fn institutions(
    State(state): State<Arc<AppState>>,
    ApiCaller(_caller): ApiCaller,
) -> Result<Json<Vec<InstitutionView>>, ApiError> {
    let list = state.store.institutions().await.map_err(ApiError::internal)?;
    Ok(Json(
        list.into_iter()
            .map(|i| InstitutionView {
                code: i.code.to_string(),
                name: i.name,
                city: i.city.code().into(),
                city_label: i.city.label_zh(),
                level: i.level.code().into(),
                ownership: i.ownership.code().into(),
                kind: i.kind.code().into(),
                connection: i.connection.code().into(),
            })
            .collect(),
    ))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "The OpenAPI 3 description of /api/v1")))]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi())
}
