//! Who is calling: an institution API key (`Authorization: Bearer tdk_…`), an account's API
//! token (`Bearer tds_…`), or a web session cookie. A submitting institution is always the
//! key's, never anything in the payload. Requests authenticated by cookie must echo the
//! session's CSRF token in `X-CSRF-Token` unless they are safe methods (the pages' forms will
//! send it the same way). Every authenticated institution is held to its request quota.

use crate::AppState;
use crate::error::{ApiError, FhirError};
use crate::limits::QuotaExceeded;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use tongdang_access::Requester;
use tongdang_access::credential::{KEY_PREFIX, hash_key};
use tongdang_access::signin::{SESSION_PREFIX, constant_time_eq};
use tongdang_core::{InstitutionCode, PersonId, Role, Scope};
use tongdang_fhir::IssueCode;
use tongdang_store::ApiKeyRecord;

/// How long a looked-up key is trusted before it is read again (so a revocation takes effect
/// within this time).
const KEY_TTL: Duration = Duration::from_secs(10);

/// The web session cookie.
pub const SESSION_COOKIE: &str = "tongdang_session";

/// Recently verified keys, by hash.
#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<Vec<u8>, (ApiKeyRecord, Instant)>>,
}

impl KeyCache {
    /// Drop an institution's cached keys (after a revocation through the API).
    pub async fn forget_institution(&self, code: &str) {
        self.entries.write().await.retain(|_, (k, _)| k.institution != code);
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An institution API key (its public prefix).
    ApiKey,
    /// An account's bearer token.
    Token(String),
    /// A web session cookie (the token) and its CSRF token.
    Cookie { token: String, csrf: String },
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Role.
    pub role: Role,
    /// The institution of the key or account.
    pub institution: Option<InstitutionCode>,
    /// A clinician's department.
    pub department: Option<String>,
    /// A resident's person.
    pub person: Option<PersonId>,
    /// What the credential allows.
    pub scopes: Vec<Scope>,
    /// The name shown on pages (accounts only).
    pub display_name: String,
    /// `institution:CODE key:PREFIX` or `account:ID`.
    pub actor: String,
    /// The account (people signed in).
    pub account: Option<i64>,
    /// When a resident last passed face verification.
    pub face_verified_at: Option<tongdang_core::Timestamp>,
    /// The credential.
    pub credential: Credential,
    /// The city platform a submission came through, when a fused city platform submits for a
    /// member (then `institution` is the member: the entries' source stays the hospital).
    pub via: Option<InstitutionCode>,
}

impl Caller {
    /// As the policy's requester.
    pub fn requester(&self) -> Requester {
        Requester {
            role: self.role,
            institution: self.institution.clone(),
            department: self.department.clone(),
            person: self.person,
            scopes: self.scopes.clone(),
            actor: self.actor.clone(),
            account: self.account,
            face_verified_at: self.face_verified_at,
        }
    }

    /// The institution this caller submits for: only institution systems with `submit`.
    pub fn submitter(&self) -> Option<&InstitutionCode> {
        (self.role == Role::InstitutionSystem && self.scopes.contains(&Scope::Submit))
            .then_some(self.institution.as_ref())
            .flatten()
    }

    /// Whether the key may submit.
    pub fn may_submit(&self) -> bool {
        self.submitter().is_some()
    }

    /// The institution whose namespace local ids are read in (`$match` probes): the caller's,
    /// or the platform's for accounts without one.
    pub fn namespace(&self) -> InstitutionCode {
        self.institution.clone().unwrap_or_else(|| InstitutionCode::new("GD-PLATFORM").expect("a valid code"))
    }
}

pub(crate) enum AuthFailure {
    Missing,
    Invalid,
    Csrf,
    /// Not allowed, with why.
    Forbidden(&'static str),
    Quota(QuotaExceeded),
    Internal(String),
}

impl AuthFailure {
    fn message(&self) -> String {
        match self {
            AuthFailure::Missing => "sign in, or send an API key or token: Authorization: Bearer <key>".into(),
            AuthFailure::Invalid => "the credential is not valid (unknown, expired or revoked)".into(),
            AuthFailure::Csrf => "this request needs the session's CSRF token in X-CSRF-Token".into(),
            AuthFailure::Forbidden(why) => (*why).into(),
            AuthFailure::Quota(q) => format!("the institution's request quota is used up; retry in {} s", q.retry_after_secs),
            AuthFailure::Internal(_) => "internal error".into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AuthFailure::Missing | AuthFailure::Invalid => StatusCode::UNAUTHORIZED,
            AuthFailure::Csrf | AuthFailure::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthFailure::Quota(_) => StatusCode::TOO_MANY_REQUESTS,
            AuthFailure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The value of a cookie in a request.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get_all(axum::http::header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(
        |c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        },
    )
}

pub(crate) async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, AuthFailure> {
    let bearer = match parts.headers.get(axum::http::header::AUTHORIZATION) {
        Some(h) => {
            let value = h.to_str().map_err(|_| AuthFailure::Invalid)?;
            Some(
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                    .ok_or(AuthFailure::Missing)?
                    .trim()
                    .to_string(),
            )
        }
        None => None,
    };
    let caller = match bearer {
        Some(key) if key.starts_with(KEY_PREFIX) => api_key_caller(&key, state).await?,
        Some(token) if token.starts_with(SESSION_PREFIX) => session_caller(&token, state, false).await?,
        Some(_) => return Err(AuthFailure::Invalid),
        None => match cookie(parts, SESSION_COOKIE) {
            Some(token) => {
                let c = session_caller(token, state, true).await?;
                if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
                    let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
                    let Credential::Cookie { csrf, .. } = &c.credential else { unreachable!("a cookie caller") };
                    if !constant_time_eq(sent.as_bytes(), csrf.as_bytes()) {
                        return Err(AuthFailure::Csrf);
                    }
                }
                c
            }
            None => return Err(AuthFailure::Missing),
        },
    };
    if let Some(i) = &caller.institution {
        state.quotas.take(i.as_str()).map_err(AuthFailure::Quota)?;
    }
    match parts.headers.get(ON_BEHALF_OF) {
        Some(member) => {
            on_behalf(caller, member.to_str().map_err(|_| AuthFailure::Forbidden("not an institution code"))?, parts, state).await
        }
        None => Ok(caller),
    }
}

/// The header a fused city platform names the member it submits for with.
pub const ON_BEHALF_OF: &str = "x-tongdang-on-behalf-of";

/// A fused city platform submitting for a member: the platform's key, the member in its city
/// and connected through it, a write. The caller becomes the member (so the entries' source is
/// the hospital), with the platform recorded as the channel; only the `submit` scope is kept, so
/// the platform never reads a member's patients on its behalf.
async fn on_behalf(mut caller: Caller, member: &str, parts: &Parts, state: &AppState) -> Result<Caller, AuthFailure> {
    let internal = |e: tongdang_store::StoreError| AuthFailure::Internal(e.to_string());
    if caller.role != Role::InstitutionSystem || !caller.scopes.contains(&Scope::Submit) || parts.method == Method::GET {
        return Err(AuthFailure::Forbidden("only a city platform's submit key submits on behalf of a member"));
    }
    let platform_code = caller.institution.clone().ok_or(AuthFailure::Forbidden("no institution"))?;
    let platform = state.store.institution(&platform_code).await.map_err(internal)?;
    let Some(platform) = platform.filter(|p| p.kind == tongdang_core::InstitutionKind::CityPlatform) else {
        return Err(AuthFailure::Forbidden("only a city platform submits on behalf of a member"));
    };
    let code = InstitutionCode::new(member.trim()).map_err(|_| AuthFailure::Forbidden("not an institution code"))?;
    let member = state.store.institution(&code).await.map_err(internal)?;
    let Some(member) =
        member.filter(|m| m.city == platform.city && m.connection == tongdang_core::ConnectionMode::ViaCityPlatform)
    else {
        return Err(AuthFailure::Forbidden("that institution does not connect through this city platform"));
    };
    caller.actor = format!("{} for:{}", caller.actor, member.code.as_str());
    caller.via = Some(platform.code);
    caller.institution = Some(member.code);
    caller.scopes = vec![Scope::Submit];
    Ok(caller)
}

async fn api_key_caller(key: &str, state: &AppState) -> Result<Caller, AuthFailure> {
    if key.len() > 200 {
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
    Ok(Caller {
        role: Role::InstitutionSystem,
        actor: format!("institution:{} key:{}", institution.as_str(), record.prefix),
        institution: Some(institution),
        department: None,
        person: None,
        scopes: record.scopes,
        display_name: String::new(),
        account: None,
        face_verified_at: None,
        credential: Credential::ApiKey,
        via: None,
    })
}

pub(crate) async fn session_caller(token: &str, state: &AppState, from_cookie: bool) -> Result<Caller, AuthFailure> {
    let (p, kind, csrf) =
        state.accounts.session(token).await.map_err(|e| AuthFailure::Internal(e.to_string()))?.ok_or(AuthFailure::Invalid)?;
    // A web session's token is only accepted from its cookie, an API token only as a bearer.
    if (kind == "web") != from_cookie {
        return Err(AuthFailure::Invalid);
    }
    let institution = match &p.institution {
        Some(i) => Some(InstitutionCode::new(i).map_err(|_| AuthFailure::Invalid)?),
        None => None,
    };
    Ok(Caller {
        role: p.role,
        institution,
        department: p.department.clone(),
        person: p.person,
        scopes: p.scopes(),
        display_name: p.display_name.clone(),
        actor: p.actor(),
        account: Some(p.account),
        face_verified_at: p.face_verified_at,
        credential: if from_cookie {
            Credential::Cookie { token: token.to_string(), csrf }
        } else {
            Credential::Token(token.to_string())
        },
        via: None,
    })
}

/// A caller of the FHIR API (rejections are OperationOutcomes).
pub struct FhirCaller(pub Caller);

impl FromRequestParts<Arc<AppState>> for FhirCaller {
    type Rejection = FhirError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await.map(FhirCaller).map_err(|f| match f {
            AuthFailure::Internal(e) => FhirError::internal(e),
            AuthFailure::Quota(q) => {
                FhirError::new(f.status(), IssueCode::Throttled, f.message()).retry_after(q.retry_after_secs)
            }
            f => FhirError::new(f.status(), IssueCode::Security, f.message()),
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
            AuthFailure::Quota(q) => ApiError::new(f.status(), "quota_exceeded", f.message()).retry_after(q.retry_after_secs),
            AuthFailure::Csrf => ApiError::new(f.status(), "csrf", f.message()),
            AuthFailure::Forbidden(_) => ApiError::new(f.status(), "forbidden", f.message()),
            f => ApiError::new(f.status(), "unauthorized", f.message()),
        })
    }
}
