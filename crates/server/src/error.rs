//! Error answers in the two shapes clients rely on: FHIR OperationOutcome under `/fhir`, and
//! `{"error": {"code", "message"}}` under `/api/v1`. Messages never carry submitted content.

use crate::respond::fhir_json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tongdang_access::AccessError;
use tongdang_fhir::outcome::operation_outcome;
use tongdang_fhir::{Issue, IssueCode};

/// An error answered as an OperationOutcome.
#[derive(Debug)]
pub struct FhirError {
    /// HTTP status.
    pub status: StatusCode,
    /// The issues.
    pub issues: Vec<Issue>,
    /// Where to go instead (a merged person's survivor).
    pub location: Option<String>,
    /// Seconds before retrying (429).
    pub retry_after: Option<u64>,
}

impl FhirError {
    /// One issue with a status.
    pub fn new(status: StatusCode, code: IssueCode, message: impl Into<String>) -> FhirError {
        FhirError { status, issues: vec![Issue::error(code, "", message)], location: None, retry_after: None }
    }

    /// Refused content, with every issue.
    pub fn invalid(issues: Vec<Issue>) -> FhirError {
        FhirError { status: StatusCode::BAD_REQUEST, issues, location: None, retry_after: None }
    }

    /// With a `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> FhirError {
        self.retry_after = Some(seconds);
        self
    }

    /// A person merged into `survivor`: 307 to `location` (temporary: an unmerge undoes it).
    pub fn moved(survivor: tongdang_core::PersonId, location: String) -> FhirError {
        FhirError {
            status: StatusCode::TEMPORARY_REDIRECT,
            issues: vec![Issue::warning(
                IssueCode::Informational,
                "",
                format!("this person was merged into Patient/{survivor}; the record is read there"),
            )],
            location: Some(location),
            retry_after: None,
        }
    }

    /// An internal failure; details go to the log, not the client.
    pub fn internal(e: impl std::fmt::Display) -> FhirError {
        tracing::error!(error = %e, "request failed");
        FhirError::new(StatusCode::INTERNAL_SERVER_ERROR, IssueCode::Exception, "internal error; the request was not applied")
    }
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        let mut r = fhir_json(self.status, &operation_outcome(&self.issues));
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(s) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(l) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            r.headers_mut().insert(header::LOCATION, l);
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        r
    }
}

impl From<AccessError> for FhirError {
    fn from(e: AccessError) -> FhirError {
        match e {
            AccessError::Denied(_) => FhirError::new(StatusCode::FORBIDDEN, IssueCode::Security, e.to_string()),
            AccessError::NotFound(_) => FhirError::new(StatusCode::NOT_FOUND, IssueCode::NotFound, e.to_string()),
            AccessError::BadCursor => FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Value, e.to_string()),
            AccessError::Moved(p) => FhirError::moved(p, format!("/fhir/Patient/{p}")),
            AccessError::Store(e) => FhirError::internal(e),
        }
    }
}

impl From<tongdang_ingest::IngestError> for FhirError {
    fn from(e: tongdang_ingest::IngestError) -> FhirError {
        FhirError::internal(e)
    }
}

/// An error answered as `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// A stable machine code, e.g. `unauthorized`.
    pub code: &'static str,
    /// Plain words.
    pub message: String,
    /// Where to go instead (a merged person's survivor).
    pub location: Option<String>,
    /// Seconds before retrying (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), location: None, retry_after: None }
    }

    /// With a `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// An internal failure; details go to the log.
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "request failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the request was not applied")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(json!({"error": {"code": self.code, "message": self.message}}))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(s) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(l) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            r.headers_mut().insert(header::LOCATION, l);
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        r
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> ApiError {
        match e {
            AccessError::Denied(_) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string()),
            AccessError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            AccessError::BadCursor => ApiError::new(StatusCode::BAD_REQUEST, "bad_cursor", e.to_string()),
            AccessError::Moved(p) => ApiError {
                location: Some(format!("/api/v1/persons/{p}/timeline")),
                ..ApiError::new(StatusCode::TEMPORARY_REDIRECT, "moved", format!("this person was merged into person {p}"))
            },
            AccessError::Store(e) => ApiError::internal(e),
        }
    }
}

impl From<tongdang_store::StoreError> for ApiError {
    fn from(e: tongdang_store::StoreError) -> ApiError {
        match e {
            tongdang_store::StoreError::NotFound(what) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
            }
            tongdang_store::StoreError::Conflict(why) => ApiError::new(StatusCode::CONFLICT, "conflict", why),
            e => ApiError::internal(e),
        }
    }
}

impl From<tongdang_ingest::IngestError> for ApiError {
    fn from(e: tongdang_ingest::IngestError) -> ApiError {
        ApiError::internal(e)
    }
}
