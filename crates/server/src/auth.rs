//! Who is calling: an institution API key in `Authorization: Bearer …`. The submitting
//! institution is always the key's, never anything in the payload.

use crate::AppState;
use crate::error::{ApiError, FhirError};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use tongdang_access::Requester;
use tongdang_access::credential::hash_key;
use tongdang_core::{InstitutionCode, Scope};
use tongdang_fhir::IssueCode;
use tongdang_store::ApiKeyRecord;

/// How long a looked-up key is trusted before it is read again (so a revocation takes effect
/// within this time).
const KEY_TTL: Duration = Duration::from_secs(10);

/// Recently verified keys, by hash.
#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<Vec<u8>, (ApiKeyRecord, Instant)>>,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The institution holding the key.
    pub institution: InstitutionCode,
    /// What the key allows.
    pub scopes: Vec<Scope>,
    /// The key's public prefix (tells keys of one institution apart in audit records).
    pub key_prefix: String,
}

impl Caller {
    /// As the policy's requester.
    pub fn requester(&self) -> Requester {
        Requester { institution: self.institution.clone(), scopes: self.scopes.clone() }
    }

    /// Whether the key may submit.
    pub fn may_submit(&self) -> bool {
        self.scopes.contains(&Scope::Submit)
    }
}

enum AuthFailure {
    Missing,
    Invalid,
    Internal(String),
}

impl AuthFailure {
    fn message(&self) -> &str {
        match self {
            AuthFailure::Missing => "an institution API key is required: Authorization: Bearer <key>",
            AuthFailure::Invalid => "the API key is not valid (unknown or revoked)",
            AuthFailure::Internal(_) => "internal error",
        }
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, AuthFailure> {
    let header = parts.headers.get(axum::http::header::AUTHORIZATION).ok_or(AuthFailure::Missing)?;
    let value = header.to_str().map_err(|_| AuthFailure::Invalid)?;
    let key = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).ok_or(AuthFailure::Missing)?.trim();
    if key.is_empty() || key.len() > 200 {
        return Err(AuthFailure::Invalid);
    }
    let hash = hash_key(key);
    let cached = state.keys.entries.read().await.get(&hash).filter(|(_, at)| at.elapsed() < KEY_TTL).map(|(k, _)| k.clone());
    let record = match cached {
        Some(k) => k,
        None => {
            let k = state
                .store
                .api_key(&hash)
                .await
                .map_err(|e| AuthFailure::Internal(e.to_string()))?
                .ok_or(AuthFailure::Invalid)?;
            state.keys.entries.write().await.insert(hash, (k.clone(), Instant::now()));
            k
        }
    };
    if record.revoked_at.is_some() {
        return Err(AuthFailure::Invalid);
    }
    let institution = InstitutionCode::new(&record.institution).map_err(|_| AuthFailure::Invalid)?;
    Ok(Caller { institution, scopes: record.scopes, key_prefix: record.prefix })
}

/// A caller of the FHIR API (rejections are OperationOutcomes).
pub struct FhirCaller(pub Caller);

impl FromRequestParts<Arc<AppState>> for FhirCaller {
    type Rejection = FhirError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await.map(FhirCaller).map_err(|f| match f {
            AuthFailure::Internal(e) => FhirError::internal(e),
            f => FhirError::new(StatusCode::UNAUTHORIZED, IssueCode::Security, f.message()),
        })
    }
}

/// A caller of `/api/v1` (rejections are `{"error": …}`).
pub struct ApiCaller(pub Caller);

impl FromRequestParts<Arc<AppState>> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await.map(ApiCaller).map_err(|f| match f {
            AuthFailure::Internal(e) => ApiError::internal(e),
            f => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", f.message()),
        })
    }
}
