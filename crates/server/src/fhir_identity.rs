//! The IHE identity transactions over FHIR: PIXm (`GET /fhir/Patient/$ihe-pix`, ITI-83) and
//! PDQm match (`POST /fhir/Patient/$match`, ITI-119). PDQm search itself is Patient search
//! (`fhir_read`).

use crate::AppState;
use crate::auth::FhirCaller;
use crate::error::FhirError;
use crate::respond::{Bundle, BundleEntry, fhir_base, fhir_json};
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_fhir::{IssueCode, parse_resource};
use tongdang_identity::documents::DocumentKind;

/// The match-grade extension of a `$match` result.
const MATCH_GRADE: &str = "http://hl7.org/fhir/StructureDefinition/match-grade";

fn bad(message: impl Into<String>) -> FhirError {
    FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Value, message)
}

/// Whether the platform knows an identifier system: its identity documents, and institutions'
/// own patient ids.
fn known_domain(system: &str) -> bool {
    DocumentKind::from_system(system).is_some()
        || (system.starts_with("urn:tongdang:institution:") && system.ends_with(":patient"))
}

/// PIXm: every identifier of the person holding `sourceIdentifier`, optionally only those of
/// the `targetSystem`s.
pub(crate) async fn pix(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, FhirError> {
    let Query(params) = query.map_err(|_| bad("the query string could not be read"))?;
    let mut source = None;
    let mut targets: Vec<String> = Vec::new();
    for (k, v) in &params {
        match k.as_str() {
            "sourceIdentifier" => source = Some(v.clone()),
            "targetSystem" => targets.extend(v.split(',').map(str::to_string)),
            "_format" => {}
            other => return Err(bad(format!("$ihe-pix does not take '{other}'"))),
        }
    }
    let source = source.ok_or_else(|| {
        FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Required, "sourceIdentifier is required (system|value)")
    })?;
    let (system, value) = source
        .split_once('|')
        .filter(|(s, v)| !s.is_empty() && !v.is_empty())
        .ok_or_else(|| bad("sourceIdentifier must be system|value"))?;
    // ITI-83: an unknown domain is a 400, an unknown target domain a 403, an unknown patient a 404.
    if !known_domain(system) {
        return Err(bad("sourceIdentifier: the identifier system (assigning authority) is not known to this platform"));
    }
    if let Some(t) = targets.iter().find(|t| !known_domain(t)) {
        return Err(FhirError::new(
            StatusCode::FORBIDDEN,
            IssueCode::NotSupported,
            format!("targetSystem '{t}' is not known to this platform"),
        ));
    }
    let Some((person, identifiers)) = state.reader.cross_references(&caller.requester(), system, value).await? else {
        return Err(FhirError::new(StatusCode::NOT_FOUND, IssueCode::NotFound, "no person holds that sourceIdentifier"));
    };
    let base = fhir_base(&headers);
    // The source identifier is not echoed, in whatever spelling it was asked.
    let asked = DocumentKind::from_system(system)
        .and_then(|k| tongdang_identity::documents::normalize(k, value).ok())
        .unwrap_or_else(|| value.to_string());
    let mut parameter: Vec<Value> = identifiers
        .iter()
        .filter(|i| !(i.system == system && i.value == asked))
        .filter(|i| targets.is_empty() || targets.contains(&i.system))
        .map(|i| json!({"name": "targetIdentifier", "valueIdentifier": {"system": i.system, "value": i.value}}))
        .collect();
    parameter.sort_by_key(|p| p.to_string());
    parameter.dedup();
    parameter.push(json!({"name": "targetId", "valueReference": {"reference": format!("{base}/Patient/{person}")}}));
    Ok(fhir_json(StatusCode::OK, &json!({"resourceType": "Parameters", "parameter": parameter})))
}

/// `$match`: the input Patient (in a Parameters `resource`, or the Patient itself) scored
/// against the index; a searchset of candidates with `search.score` and match-grade.
pub(crate) async fn match_patient(
    State(state): State<Arc<AppState>>,
    FhirCaller(caller): FhirCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FhirError> {
    let value: Value = serde_json::from_slice(&body)
        .map_err(|_| FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Structure, "the body is not JSON"))?;
    let mut count = 10usize;
    let mut only_certain = false;
    let patient = match value.get("resourceType").and_then(Value::as_str) {
        Some("Patient") => value.clone(),
        Some("Parameters") => {
            let mut patient = None;
            for p in value.get("parameter").and_then(Value::as_array).into_iter().flatten() {
                match p.get("name").and_then(Value::as_str) {
                    Some("resource") => patient = p.get("resource").cloned(),
                    Some("count") => count = p.get("valueInteger").and_then(Value::as_u64).unwrap_or(10).clamp(1, 100) as usize,
                    Some("onlyCertainMatches") => only_certain = p.get("valueBoolean").and_then(Value::as_bool).unwrap_or(false),
                    _ => {}
                }
            }
            patient.ok_or_else(|| {
                FhirError::new(
                    StatusCode::BAD_REQUEST,
                    IssueCode::Required,
                    "Parameters.parameter 'resource' (a Patient) is required",
                )
            })?
        }
        _ => {
            return Err(FhirError::new(
                StatusCode::BAD_REQUEST,
                IssueCode::Structure,
                "send a Parameters resource with a Patient in 'resource'",
            ));
        }
    };
    let parsed = parse_resource(&patient.to_string()).map_err(FhirError::invalid)?;
    if parsed.resource_type() != "Patient" {
        return Err(bad("the 'resource' parameter must be a Patient"));
    }
    let probe = tongdang_ingest::patient_demographics(&parsed, &caller.namespace());
    if probe.strong.is_empty() && !probe.has_demographics() {
        return Err(FhirError::new(
            StatusCode::BAD_REQUEST,
            IssueCode::Required,
            "the Patient carries nothing to match on: give an identity document, a name, a birth date or a phone",
        ));
    }
    let params = state.ingestor.parameters();
    // ITI-119: with onlyCertainMatches, at most one, and only a certain one.
    let count = if only_certain { 1 } else { count };
    let results = state.reader.match_patient(&caller.requester(), &probe, &params, count, only_certain).await?;
    let base = fhir_base(&headers);
    let entry = results
        .into_iter()
        .map(|r| BundleEntry {
            full_url: Some(format!("{base}/Patient/{}", r.person)),
            resource: serde_json::value::to_raw_value(&r.patient).ok(),
            search: Some(json!({
                "mode": "match",
                "score": (r.score * 1000.0).round() / 1000.0,
                "extension": [{"url": MATCH_GRADE, "valueCode": r.grade}],
            })),
            response: None,
        })
        .collect::<Vec<_>>();
    let total = Some(entry.len() as u64);
    Ok(fhir_json(StatusCode::OK, &Bundle { resource_type: "Bundle", kind: "searchset", total, link: Vec::new(), entry }))
}
