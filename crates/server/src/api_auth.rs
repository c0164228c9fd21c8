//! `/api/v1/auth/…` (sign-in, sign-out, who am I) and `/api/v1/institutions/{code}/keys`
//! (institution API keys: list, issue, revoke).

use crate::AppState;
use crate::api::ErrorBody;
use crate::auth::{ApiCaller, Credential, SESSION_COOKIE};
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tongdang_access::credential::new_key;
use tongdang_access::signin::SignInError;
use tongdang_core::{Role, Scope, Timestamp};
use tongdang_store::AuditEvent;
use utoipa::ToSchema;

/// A sign-in.
#[derive(Deserialize, ToSchema)]
pub struct SignIn {
    /// Sign-in name (a resident's phone number, a clinician's staff id…).
    login: String,
    /// Password (staff; residents may use one too).
    #[serde(default)]
    password: String,
    /// Or, for a resident, the code sent by SMS (`POST /auth/sms-code`).
    #[serde(default)]
    code: Option<String>,
    /// `web` (a session cookie, HttpOnly, SameSite=Strict, with a CSRF token) or `api` (a bearer token).
    #[serde(default = "web")]
    kind: String,
}

fn web() -> String {
    "web".into()
}

/// Sign-in attempts and code requests are limited per client address before any work is done.
fn per_address(state: &AppState, extensions: &axum::http::Extensions) -> Result<(), ApiError> {
    let client = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or("unknown".to_string(), |c| c.0.ip().to_string());
    state.sign_in_limits.take(&client).map_err(|q| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many sign-in attempts; retry in {} s", q.retry_after_secs),
        )
        .retry_after(q.retry_after_secs)
    })
}

fn sign_in_error(e: SignInError) -> ApiError {
    match e {
        SignInError::Rejected => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()),
        SignInError::Locked(s) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "locked", e.to_string()).retry_after(s as u64),
        SignInError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m),
        SignInError::Store(e) => ApiError::internal(e),
    }
}

/// A resident asks for a sign-in code.
#[derive(Deserialize, ToSchema)]
pub struct CodeRequest {
    /// The resident's phone number (their sign-in name).
    login: String,
}

/// The code is on its way — the same answer whether or not the number has an account, asked a
/// minute ago (one code a minute, ten a day; the later asks are not sent) or is locked.
#[derive(Serialize, ToSchema)]
pub struct CodeSent {
    /// Seconds the code is good for.
    expires_in: i64,
    /// Seconds before another may be asked for.
    resend_in: i64,
}

#[utoipa::path(
    post,
    path = "/auth/sms-code",
    request_body = CodeRequest,
    responses(
        (status = 202, body = CodeSent),
        (status = 400, body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
    )
)]
pub(crate) async fn sms_code(
    State(state): State<Arc<AppState>>,
    extensions: axum::http::Extensions,
    body: Result<Json<CodeRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<CodeSent>), ApiError> {
    per_address(&state, &extensions)?;
    let Json(req) = body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
    state.accounts.send_code(&req.login, state.authorizations.channels().sms.as_ref()).await.map_err(sign_in_error)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeSent { expires_in: tongdang_access::signin::CODE_SECONDS, resend_in: tongdang_access::signin::RESEND_SECONDS }),
    ))
}

/// A signed-in account.
#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    /// The bearer token (`api` sign-ins only; web sessions get a cookie).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// The CSRF token to send in `X-CSRF-Token` with unsafe requests of a web session.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf: Option<String>,
    /// When the session ends (RFC 3339, CST).
    expires_at: String,
    /// Who.
    account: AccountView,
}

/// An account as shown to itself.
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    /// Role code.
    role: String,
    /// Role in Chinese.
    role_zh: String,
    /// Name shown.
    display_name: String,
    /// Institution.
    institution: Option<String>,
    /// Department.
    department: Option<String>,
    /// A resident's person id.
    person: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/sign-in",
    request_body = SignIn,
    responses(
        (status = 200, body = SignedIn),
        (status = 400, description = "Over-long name or password", body = ErrorBody),
        (status = 401, description = "Wrong name or password", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address, or the account is locked; see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn sign_in(
    State(state): State<Arc<AppState>>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    per_address(&state, &extensions)?;
    // JSON only: a form another site posts cannot sign a visitor in (login CSRF), since a
    // cross-site JSON request needs a CORS preflight this server never grants.
    let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json",
        ));
    }
    let req: SignIn = serde_json::from_slice(&body)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "send {\"login\", \"password\", \"kind\"} as JSON"))?;
    let kind = if req.kind == "api" { "api" } else { "web" };
    let session = match &req.code {
        Some(code) => state.accounts.sign_in_with_code(&req.login, code, kind).await,
        None => state.accounts.sign_in(&req.login, &req.password, kind).await,
    }
    .map_err(sign_in_error)?;
    let p = &session.principal;
    let body = SignedIn {
        token: (kind == "api").then(|| session.token.clone()),
        csrf: (kind == "web").then(|| session.csrf.clone()),
        expires_at: session.expires_at.to_rfc3339_cst(),
        account: AccountView {
            role: p.role.code().into(),
            role_zh: p.role.label_zh().into(),
            display_name: p.display_name.clone(),
            institution: p.institution.clone(),
            department: p.department.clone(),
            person: p.person.map(|p| p.0.to_string()),
        },
    };
    let mut response = Json(body).into_response();
    if kind == "web" {
        let secure = if state.tls { "; Secure" } else { "" };
        let cookie = format!(
            "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
            session.token,
            tongdang_access::signin::WEB_SESSION_SECONDS
        );
        response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ApiError::internal)?);
    }
    Ok(response)
}

#[utoipa::path(post, path = "/auth/sign-out", responses((status = 204), (status = 401, body = ErrorBody), (status = 403, description = "Cookie session without its CSRF token", body = ErrorBody)))]
pub(crate) async fn sign_out(State(state): State<Arc<AppState>>, ApiCaller(caller): ApiCaller) -> Result<Response, ApiError> {
    let token = match &caller.credential {
        Credential::Token(t) | Credential::Cookie { token: t, .. } => t.clone(),
        Credential::ApiKey => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "API keys are revoked, not signed out"));
        }
    };
    state.accounts.sign_out(&token).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static("tongdang_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"));
    Ok(r)
}

#[utoipa::path(get, path = "/auth/me", responses((status = 200, body = AccountView), (status = 401, body = ErrorBody)))]
pub(crate) async fn me(ApiCaller(caller): ApiCaller) -> Json<AccountView> {
    Json(AccountView {
        role: caller.role.code().into(),
        role_zh: caller.role.label_zh().into(),
        display_name: caller.display_name.clone(),
        institution: caller.institution.as_ref().map(|i| i.as_str().to_string()),
        department: caller.department.clone(),
        person: caller.person.map(|p| p.0.to_string()),
    })
}

/// An API key as listed (never the secret).
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    /// Public prefix.
    prefix: String,
    /// Scopes.
    scopes: Vec<String>,
    /// Issued.
    created_at: String,
    /// Revoked.
    revoked_at: Option<String>,
}

/// A key to issue.
#[derive(Deserialize, ToSchema)]
pub struct NewKey {
    /// `submit` only: administrators see no clinical content, so they cannot issue a key that
    /// reads records (`tongdang institution key CODE --scopes read` does, on the server).
    scopes: Vec<String>,
}

/// A newly issued key: shown once.
#[derive(Serialize, ToSchema)]
pub struct IssuedKey {
    /// The secret.
    key: String,
    /// Its public prefix.
    prefix: String,
}

/// Institution administrators manage their own institution's keys; provincial operators any.
fn may_manage_keys(caller: &crate::auth::Caller, code: &str) -> Result<(), ApiError> {
    let own = caller.role == Role::InstitutionAdmin && caller.institution.as_ref().is_some_and(|i| i.as_str() == code);
    if own || caller.role == Role::ProvincialOperator {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "only the institution's administrators manage its keys"))
    }
}

async fn audit_admin(
    state: &AppState,
    caller: &crate::auth::Caller,
    kind: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let mut e = AuditEvent::new(kind, &caller.actor, "ok");
    e.institution = caller.institution.as_ref().map(|i| i.as_str().to_string());
    e.detail = detail.to_string();
    state.store.append_events(&[e]).await?;
    Ok(())
}

#[utoipa::path(get, path = "/institutions/{code}/keys", params(("code" = String, Path)), responses((status = 200, body = Vec<KeyView>), (status = 403, body = ErrorBody)))]
pub(crate) async fn list_keys(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(code): Path<String>,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    may_manage_keys(&caller, &code)?;
    let keys = state.store.api_keys_of(&code).await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| KeyView {
                prefix: k.prefix,
                scopes: k.scopes.iter().map(|s| s.code().to_string()).collect(),
                created_at: k.created_at.to_rfc3339_cst(),
                revoked_at: k.revoked_at.map(|t| t.to_rfc3339_cst()),
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/institutions/{code}/keys", params(("code" = String, Path)), request_body = NewKey, responses((status = 201, body = IssuedKey), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn issue_key(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(code): Path<String>,
    Json(req): Json<NewKey>,
) -> Result<(StatusCode, Json<IssuedKey>), ApiError> {
    may_manage_keys(&caller, &code)?;
    let scopes: Vec<Scope> = req
        .scopes
        .iter()
        .map(|s| match s.parse::<Scope>() {
            Ok(Scope::Submit) => Ok(Scope::Submit),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "keys issued here submit only; keys that read are issued on the server (tongdang institution key)",
            )),
        })
        .collect::<Result<_, _>>()?;
    if scopes.is_empty() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "give at least one scope"));
    }
    if state
        .store
        .institution(
            &tongdang_core::InstitutionCode::new(&code)
                .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))?,
        )
        .await?
        .is_none()
    {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such institution"));
    }
    let (key, record) = new_key(&code, &scopes);
    state.store.insert_api_key(&record, false).await?;
    audit_admin(&state, &caller, "admin.key.issue", serde_json::json!({ "institution": code, "prefix": record.prefix })).await?;
    Ok((StatusCode::CREATED, Json(IssuedKey { key, prefix: record.prefix })))
}

#[utoipa::path(delete, path = "/institutions/{code}/keys/{prefix}", params(("code" = String, Path), ("prefix" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn revoke_key(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path((code, prefix)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    may_manage_keys(&caller, &code)?;
    if !state.store.revoke_api_key(&code, &prefix).await? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no active key with this prefix"));
    }
    state.keys.forget_institution(&code).await;
    audit_admin(
        &state,
        &caller,
        "admin.key.revoke",
        serde_json::json!({ "institution": code, "prefix": prefix, "at": Timestamp::now().0 }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
