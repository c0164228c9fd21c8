//! Building responses: FHIR JSON, and Bundles that embed stored resources without re-parsing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::value::RawValue;

/// The FHIR JSON media type.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// A FHIR JSON response.
pub fn fhir_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))], bytes).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A stored resource as raw JSON (it was written by the platform, so it is valid JSON).
pub fn raw(bytes: &[u8]) -> Box<RawValue> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    RawValue::from_string(text).unwrap_or_else(|_| RawValue::from_string("null".into()).unwrap_or_default())
}

/// A Bundle entry.
#[derive(Serialize)]
pub struct BundleEntry {
    /// Absolute URL of the resource.
    #[serde(rename = "fullUrl", skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    /// The resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Box<RawValue>>,
    /// Search mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<serde_json::Value>,
    /// Response of a batch/transaction entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<serde_json::Value>,
}

impl BundleEntry {
    /// A search result at `full_url`: `mode` is `match` or `include`.
    pub fn found(full_url: String, resource: Option<Box<RawValue>>, mode: &str) -> BundleEntry {
        BundleEntry { full_url: Some(full_url), resource, search: Some(serde_json::json!({ "mode": mode })), response: None }
    }
}

/// A Bundle.
#[derive(Serialize)]
pub struct Bundle {
    /// Always "Bundle".
    #[serde(rename = "resourceType")]
    pub resource_type: &'static str,
    /// searchset, batch-response, transaction-response.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Total matches, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Paging links.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<serde_json::Value>,
    /// Entries.
    pub entry: Vec<BundleEntry>,
}

/// The FHIR base URL as the client reached it (`TONGDANG_PUBLIC_URL` overrides, behind proxies).
pub fn fhir_base(headers: &axum::http::HeaderMap) -> String {
    if let Ok(public) = std::env::var("TONGDANG_PUBLIC_URL") {
        return format!("{}/fhir", public.trim_end_matches('/'));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .unwrap_or("localhost");
    format!("http://{host}/fhir")
}
