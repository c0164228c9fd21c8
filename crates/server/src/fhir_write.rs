//! Submissions over FHIR REST: a `batch` or `transaction` Bundle at the base, `PUT` and `POST`
//! of single resources.

use crate::AppState;
use crate::auth::{Caller, FhirCaller};
use crate::error::FhirError;
use crate::respond::{Bundle, BundleEntry, fhir_base, fhir_json};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;
use std::sync::Arc;
use tongdang_fhir::bundle::{BundleMode, parse_bundle};
use tongdang_fhir::outcome::operation_outcome;
use tongdang_fhir::{Issue, IssueCode, ParsedResource, Severity, parse_resource};
use tongdang_ingest::{Channel, GroupMode, Item, ItemResult, Outcome, Position, Summary, prepare};

fn require_submit(caller: &Caller) -> Result<(), FhirError> {
    if caller.may_submit() {
        Ok(())
    } else {
        Err(FhirError::new(StatusCode::FORBIDDEN, IssueCode::Security, "this API key does not carry the submit scope"))
    }
}

/// The body as UTF-8 text, with size and media-type problems answered as OperationOutcomes.
pub(crate) fn body_text(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<String, FhirError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if media != "application/fhir+json" && media != "application/json" {
            return Err(FhirError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                IssueCode::NotSupported,
                format!("media type {media} is not accepted; send application/fhir+json"),
            ));
        }
    }
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            FhirError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                IssueCode::TooLong,
                "the body is larger than the limit; split it, or use the bulk endpoint /api/v1/ingest",
            )
        } else {
            FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Structure, "the body could not be read")
        }
    })?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Structure, "the body is not UTF-8 text"))
}

fn status_of_refusal(issues: &[Issue]) -> StatusCode {
    if issues.iter().any(|i| matches!(i.code, IssueCode::NotFound | IssueCode::BusinessRule)) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// Locate an item's issues in the submitted document.
fn located(position: Position, issues: Vec<Issue>) -> Vec<Issue> {
    match position {
        Position::Entry(n) => {
            let prefix = format!("Bundle.entry[{n}].resource");
            issues.into_iter().map(|i| if i.path.starts_with("Bundle.") { i } else { i.under(&prefix) }).collect()
        }
        _ => issues,
    }
}

async fn record(
    state: &AppState,
    caller: &Caller,
    channel: Channel,
    items: Vec<tongdang_ingest::Prepared>,
    mode: GroupMode,
) -> Result<Vec<ItemResult>, FhirError> {
    let mut submission = state.ingestor.begin(caller.namespace(), channel).await?;
    submission.via = caller.via.clone();
    let results = state.ingestor.commit(&submission, items, mode).await?;
    let mut summary = Summary::default();
    results.iter().for_each(|r| summary.add(r));
    state.ingestor.finish(&submission, &summary).await?;
    let t = summary.totals();
    state.metrics.submitted(submission.institution.as_str(), t.stored, t.unchanged, t.refused);
    Ok(results)
}

/// One resource through the pipeline as a transaction of one (a return's correction): the
/// outcome (`created`, `updated`, `unchanged`, `refused`), the stored version, and the issues.
pub(crate) async fn submit_one(
    state: &AppState,
    caller: &Caller,
    text: String,
) -> Result<(String, Option<String>, Vec<Issue>), crate::error::ApiError> {
    let item = prepare(
        Item { position: Position::Single, full_url: None, id_hint: None, resource: parse_resource(&text) },
        &state.ingestor.preparation(&caller.namespace()),
        text.len(),
    );
    let rt = item.resource_type.clone();
    let result = record(state, caller, Channel::Rest, vec![item], GroupMode::Transaction)
        .await
        .map_err(|e| {
            crate::error::ApiError::new(
                e.status,
                "submission_failed",
                e.issues.first().map_or(String::new(), |i| i.message.clone()),
            )
        })?
        .into_iter()
        .next()
        .ok_or_else(|| crate::error::ApiError::internal("no result"))?;
    let stored = |target: tongdang_ingest::Target, version: i64| Some(format!("{}/_history/{version}", target.reference(&rt)));
    Ok(match result.outcome {
        Outcome::Created { target, version } => ("created".into(), stored(target, version), result.warnings),
        Outcome::Updated { target, version } => ("updated".into(), stored(target, version), result.warnings),
        Outcome::Unchanged { target, version } => ("unchanged".into(), stored(target, version), result.warnings),
        Outcome::Refused(mut issues) | Outcome::Deferred(mut issues) => {
            issues.extend(result.warnings);
            ("refused".into(), None, issues)
        }
    })
}

/// The rule of `PUT /fhir/{type}/{id}` (the URL names the resource's type and id) applied to a
/// Bundle entry's literal `request.url` (`Type/id` for PUT, `Type` for POST). Conditional and
/// absolute URLs are not checked.
fn request_url_issues(n: usize, method: &str, url: &str, resource: &ParsedResource) -> Vec<Issue> {
    let url = url.trim();
    if url.is_empty() || url.contains('?') || url.contains("://") {
        return Vec::new();
    }
    let path = format!("Bundle.entry[{n}].request.url");
    let rt = resource.resource_type();
    let mut parts = url.split('/');
    match (method, parts.next(), parts.next(), parts.next()) {
        (_, Some(named), _, _) if named != rt => {
            vec![Issue::error(IssueCode::Invalid, path, format!("request.url names {named}, but the resource is a {rt}"))]
        }
        ("PUT", _, Some(id), None) if resource.id().is_some_and(|own| own != id) => {
            vec![Issue::error(IssueCode::Invalid, path, "the id of the resource differs from the id in request.url")]
        }
        _ => Vec::new(),
    }
}

/// `POST /fhir`: a batch or transaction Bundle.
pub(crate) async fn submit_bundle(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FhirError> {
    require_submit(&caller)?;
    let text = body_text(&headers, body)?;
    let preparation = state.ingestor.preparation(&caller.namespace());
    let parsed = tokio::task::spawn_blocking(move || {
        parse_bundle(&text).map(|bundle| {
            let items: Vec<_> = bundle
                .entries
                .into_iter()
                .enumerate()
                .map(|(n, e)| {
                    // A resource without an id takes it from a PUT's request.url (as FHIR says),
                    // else from its urn:uuid fullUrl, so resending the Bundle updates instead of
                    // duplicating.
                    let url_id = (e.method == "PUT")
                        .then(|| e.url.trim().split('/').nth(1).filter(|id| !id.contains('?')).map(str::to_string))
                        .flatten();
                    let hint =
                        url_id.or_else(|| e.full_url.as_deref().and_then(|u| u.strip_prefix("urn:uuid:")).map(str::to_string));
                    let resource = e.resource.and_then(|r| {
                        let issues = request_url_issues(n, &e.method, &e.url, &r);
                        if issues.is_empty() { Ok(r) } else { Err(issues) }
                    });
                    prepare(Item { position: Position::Entry(n), full_url: e.full_url, id_hint: hint, resource }, &preparation, 0)
                })
                .collect();
            (bundle.mode, items)
        })
    })
    .await
    .map_err(FhirError::internal)?;
    let (mode, items) = parsed.map_err(FhirError::invalid)?;
    let group_mode = if mode == BundleMode::Transaction { GroupMode::Transaction } else { GroupMode::Batch };
    let results = record(&state, &caller, Channel::Bundle, items, group_mode).await?;
    let base = fhir_base(&headers);
    if mode == BundleMode::Transaction {
        let failed: Vec<Issue> = results
            .iter()
            .filter_map(|r| match &r.outcome {
                Outcome::Refused(issues) => Some(located(r.position, issues.clone())),
                _ => None,
            })
            .flatten()
            .filter(|i| i.code != IssueCode::Processing)
            .collect();
        if !failed.is_empty() {
            let status = status_of_refusal(&failed);
            return Ok(fhir_json(status, &operation_outcome(&failed)));
        }
    }
    let entries = results.into_iter().map(|r| response_entry(&base, r)).collect();
    let kind = if mode == BundleMode::Transaction { "transaction-response" } else { "batch-response" };
    Ok(fhir_json(StatusCode::OK, &Bundle { resource_type: "Bundle", kind, total: None, link: Vec::new(), entry: entries }))
}

fn response_entry(base: &str, r: ItemResult) -> BundleEntry {
    let (status, location, version, issues) = match r.outcome {
        Outcome::Created { target, version } => {
            ("201 Created", Some(target.reference(&r.resource_type)), Some(version), r.warnings)
        }
        Outcome::Updated { target, version } => ("200 OK", Some(target.reference(&r.resource_type)), Some(version), r.warnings),
        Outcome::Unchanged { target, version } => ("200 OK", Some(target.reference(&r.resource_type)), Some(version), r.warnings),
        Outcome::Refused(issues) | Outcome::Deferred(issues) => {
            let status = if status_of_refusal(&issues) == StatusCode::UNPROCESSABLE_ENTITY {
                "422 Unprocessable Entity"
            } else {
                "400 Bad Request"
            };
            (status, None, None, located(r.position, issues))
        }
    };
    let mut response = json!({"status": status});
    if let (Some(loc), Some(v)) = (&location, version) {
        response["location"] = json!(format!("{loc}/_history/{v}"));
        response["etag"] = json!(format!("W/\"{v}\""));
    }
    if !issues.is_empty() {
        response["outcome"] = operation_outcome(&issues);
    }
    BundleEntry { full_url: location.map(|l| format!("{base}/{l}")), resource: None, search: None, response: Some(response) }
}

/// `PUT /fhir/{type}/{id}`: create or update the institution's resource with that id.
pub(crate) async fn update(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FhirError> {
    write_one(&state, &caller, &headers, body, &resource_type, Some(id)).await
}

/// `POST /fhir/{type}`: submit one resource. With an `id`, it is the institution's id and the
/// call updates like PUT; without one, a new id is assigned (and resending creates another).
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    Path(resource_type): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FhirError> {
    write_one(&state, &caller, &headers, body, &resource_type, None).await
}

async fn write_one(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    resource_type: &str,
    url_id: Option<String>,
) -> Result<Response, FhirError> {
    require_submit(caller)?;
    crate::fhir_read::known_type(resource_type)?;
    let text = body_text(headers, body)?;
    let parsed = parse_resource(&text).map_err(FhirError::invalid)?;
    if parsed.resource_type() != resource_type {
        return Err(FhirError::invalid(vec![Issue::error(
            IssueCode::Invalid,
            "resourceType",
            format!("the body is a {}, but the URL names {resource_type}", parsed.resource_type()),
        )]));
    }
    if let (Some(url), Some(body_id)) = (&url_id, parsed.id())
        && url != body_id
    {
        return Err(FhirError::invalid(vec![Issue::error(
            IssueCode::Invalid,
            format!("{resource_type}.id"),
            "the id in the body differs from the id in the URL",
        )]));
    }
    let generated = url_id.is_none() && parsed.id().is_none();
    let hint = url_id.or_else(|| Some(uuid::Uuid::new_v4().to_string()));
    let mut item = prepare(
        Item { position: Position::Single, full_url: None, id_hint: hint, resource: Ok(parsed) },
        &state.ingestor.preparation(&caller.namespace()),
        text.len(),
    );
    if generated {
        // An id the platform made up cannot be resubmitted: a refusal is answered, but it opens
        // no return that nothing could ever close.
        item.source_id = None;
    }
    let result = record(state, caller, Channel::Rest, vec![item], GroupMode::Transaction)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| FhirError::internal("no result"))?;
    let base = fhir_base(headers);
    let (status, target, version) = match result.outcome {
        Outcome::Created { target, version } => (StatusCode::CREATED, target, version),
        Outcome::Updated { target, version } | Outcome::Unchanged { target, version } => (StatusCode::OK, target, version),
        Outcome::Refused(issues) | Outcome::Deferred(issues) => {
            return Err(FhirError { status: status_of_refusal(&issues), issues, location: None, retry_after: None });
        }
    };
    let reference = target.reference(resource_type);
    let mut issues = vec![Issue {
        severity: Severity::Information,
        code: IssueCode::Informational,
        path: String::new(),
        message: format!("stored as {reference}, version {version}"),
    }];
    issues.extend(result.warnings);
    let mut response = fhir_json(status, &operation_outcome(&issues));
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("{base}/{reference}/_history/{version}")) {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{version}\"")) {
        h.insert(header::ETAG, v);
    }
    Ok(response)
}
