//! `/api/v1` for authorized access: clinicians' access requests and SMS codes, emergency access,
//! booking platforms' appointments, the resident's grants, access history and face
//! verification, privacy officers' review of emergency accesses, and the simulators' outboxes.
//! Thin: each handler parses, calls `tongdang_access::authorize::Authorizations`, and shapes.

use crate::AppState;
use crate::api::ErrorBody;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tongdang_access::Requester;
use tongdang_access::authorize::{Appointment, GrantError, parse_categories};
use tongdang_access::grant::{Channel, Grant, Status, categories_from_text};
use tongdang_access::history::{HistoryLine, describe};
use tongdang_access::policy::Categories;
use tongdang_core::{InstitutionCode, PersonId, Timestamp};
use tongdang_store::{AuditEvent, GrantRecord};
use utoipa::{IntoParams, ToSchema};

/// Largest photo accepted for face verification (decoded).
const MAX_PHOTO_BYTES: usize = 2 << 20;

impl From<GrantError> for ApiError {
    fn from(e: GrantError) -> ApiError {
        let status = match &e {
            GrantError::NotFound(_) => StatusCode::NOT_FOUND,
            GrantError::Forbidden(_) | GrantError::FaceVerificationRequired => StatusCode::FORBIDDEN,
            GrantError::PersonMerged(_) | GrantError::NoPhone | GrantError::PhonesDisagree | GrantError::NotPending(_) => {
                StatusCode::CONFLICT
            }
            GrantError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            GrantError::Invalid(_) | GrantError::WrongCode(_) | GrantError::FaceNoMatch => StatusCode::UNPROCESSABLE_ENTITY,
            GrantError::Locked => StatusCode::LOCKED,
            GrantError::CodeExpired => StatusCode::GONE,
            GrantError::Channel(tongdang_access::channels::ChannelError::Timeout(_)) => StatusCode::GATEWAY_TIMEOUT,
            GrantError::Channel(_) => StatusCode::BAD_GATEWAY,
            GrantError::Store(s) => return ApiError::internal(s),
        };
        let location = match &e {
            GrantError::PersonMerged(p) => Some(format!("/fhir/Patient/{p}")),
            _ => None,
        };
        ApiError { location, ..ApiError::new(status, e.code(), e.to_string()) }
    }
}

/// Parse a JSON body into the error shape of `/api/v1`.
fn body<T: DeserializeOwned>(bytes: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("send {shape} as JSON")))
}

fn id_of(s: &str, what: &'static str) -> Result<i64, ApiError> {
    s.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found")))
}

/// A grant or request as APIs show it.
#[derive(Serialize, ToSchema)]
pub struct GrantView {
    /// Id (also the FHIR Consent id).
    id: String,
    /// The person's Patient id.
    patient: String,
    /// The institution allowed to read.
    institution: String,
    /// Its name.
    institution_name: String,
    /// Narrowed to a department.
    department: Option<String>,
    /// `sms`, `app`, `booking`, `emergency`.
    channel: String,
    /// In Chinese.
    channel_zh: String,
    /// `requested`, `active`, `refused`, `revoked`, `expired`, `locked` (now).
    status: String,
    /// In Chinese.
    status_zh: String,
    /// `["all"]` or category codes.
    categories: Vec<String>,
    /// In force from (RFC 3339, CST).
    valid_from: String,
    /// In force until, exclusive (for a request: until when it waits).
    valid_until: String,
    /// Asked at.
    created_at: String,
    /// An SMS request: the phone the code went to, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_masked: Option<String>,
    /// An SMS request: the code expires at.
    #[serde(skip_serializing_if = "Option::is_none")]
    code_expires_at: Option<String>,
    /// An emergency access: the stated reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// An emergency access: `open`, `justified`, `unjustified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    review_status: Option<String>,
    /// The privacy officer's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    review_note: Option<String>,
}

/// A grant as shown; a resident who has not passed face verification does not see the free
/// text in it (an emergency's stated reason, the privacy officer's note).
async fn view(state: &AppState, g: &GrantRecord) -> GrantView {
    view_for(state, g, true).await
}

pub(crate) async fn view_for(state: &AppState, g: &GrantRecord, reveal_text: bool) -> GrantView {
    let now = state.reader.clock().now();
    let status = Grant::from_record(g).map_or(Status::Expired, |d| d.status_at(now));
    let evidence: serde_json::Value = serde_json::from_str(&g.evidence).unwrap_or_default();
    let channel = Channel::parse(&g.channel);
    GrantView {
        id: g.id.to_string(),
        patient: g.person.to_string(),
        institution: g.institution.clone(),
        institution_name: state.reader.institution_name(&g.institution).await,
        department: g.department.clone(),
        channel: g.channel.clone(),
        channel_zh: channel.map_or("", Channel::label_zh).to_string(),
        status: status.code().into(),
        status_zh: status.label_zh().into(),
        categories: match categories_from_text(&g.categories) {
            Categories::All => vec!["all".into()],
            Categories::Only(list) => list.iter().map(|c| c.code().to_string()).collect(),
        },
        valid_from: g.valid_from.to_rfc3339_cst(),
        valid_until: g.valid_until.to_rfc3339_cst(),
        created_at: g.created_at.to_rfc3339_cst(),
        phone_masked: evidence.get("phone").and_then(|v| v.as_str()).map(str::to_string),
        code_expires_at: g.code_expires.filter(|_| status == Status::Requested).map(Timestamp::to_rfc3339_cst),
        reason: evidence.get("reason").and_then(|v| v.as_str()).filter(|_| reveal_text).map(str::to_string),
        review_status: g.review_status.clone(),
        review_note: (!g.review_note.is_empty() && reveal_text).then(|| g.review_note.clone()),
    }
}

/// Find the one person an identifier names, through the read path (the look-up is audited).
async fn person_of(
    state: &AppState,
    who: &Requester,
    patient: Option<&str>,
    identifier: Option<&str>,
) -> Result<PersonId, ApiError> {
    match (patient, identifier) {
        (Some(p), None) => p.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "person not found")),
        (None, Some(token)) => {
            let (system, value) = match token.split_once('|') {
                Some((s, v)) => (Some(s).filter(|s| !s.is_empty()), v),
                None => (None, token),
            };
            let found = state.reader.find_persons(who, system, value).await?;
            match found.as_slice() {
                [(p, _)] => Ok(*p),
                [] => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no person holds this identifier")),
                _ => Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "ambiguous",
                    "more than one person holds this identifier; name its system",
                )),
            }
        }
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "give either patient (the Patient id) or identifier (system|value)",
        )),
    }
}

/// A clinician's request to read a record.
#[derive(Deserialize, ToSchema)]
pub struct NewAccessRequest {
    /// The person's Patient id on the platform (from a PDQm search) …
    patient: Option<String>,
    /// … or an identifier `system|value` (health code, ID number).
    identifier: Option<String>,
    /// `sms` (a code to the phone on file) or `app` (the resident answers in the app).
    channel: String,
    /// Category codes asked for (default: the whole record).
    categories: Option<Vec<String>>,
}

#[utoipa::path(
    post,
    path = "/access-requests",
    request_body = NewAccessRequest,
    responses(
        (status = 201, body = GrantView),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Merged person (Location: the survivor), no phone on file, or an ambiguous identifier", body = ErrorBody),
        (status = 502, description = "The SMS gateway failed", body = ErrorBody),
    )
)]
pub(crate) async fn request_access(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let r: NewAccessRequest = body(&bytes, "{\"patient\" or \"identifier\", \"channel\": \"sms\"|\"app\", \"categories\"?}")?;
    let who = caller.requester();
    let channel = match Channel::parse(&r.channel) {
        Some(c @ (Channel::Sms | Channel::App)) => c,
        _ => return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "channel is sms or app")),
    };
    let categories = parse_categories(r.categories.as_deref())?;
    let person = person_of(&state, &who, r.patient.as_deref(), r.identifier.as_deref()).await?;
    let made = state.authorizations.request(&who, person, channel, categories).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &made.grant).await)).into_response())
}

#[utoipa::path(get, path = "/access-requests/{id}", params(("id" = String, Path)), responses((status = 200, body = GrantView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_request(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<GrantView>, ApiError> {
    let g = state.authorizations.own_request(&caller.requester(), id_of(&id, "request")?).await?;
    Ok(Json(view(&state, &g).await))
}

/// The code the resident read out.
#[derive(Deserialize, ToSchema)]
pub struct CodeEntry {
    /// Six digits.
    code: String,
}

#[utoipa::path(
    post,
    path = "/access-requests/{id}/code",
    params(("id" = String, Path)),
    request_body = CodeEntry,
    responses(
        (status = 200, description = "The grant, now active", body = GrantView),
        (status = 404, description = "No such request of this caller", body = ErrorBody),
        (status = 409, description = "Used already", body = ErrorBody),
        (status = 410, description = "The code expired", body = ErrorBody),
        (status = 422, description = "Wrong code (tries left in the message)", body = ErrorBody),
        (status = 423, description = "Locked after too many wrong codes", body = ErrorBody),
    )
)]
pub(crate) async fn enter_code(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<GrantView>, ApiError> {
    let c: CodeEntry = body(&bytes, "{\"code\": \"123456\"}")?;
    let g = state.authorizations.enter_code(&caller.requester(), id_of(&id, "request")?, c.code.trim()).await?;
    Ok(Json(view(&state, &g).await))
}

/// A declared emergency.
#[derive(Deserialize, ToSchema)]
pub struct EmergencyDeclaration {
    /// Why the patient cannot consent and the record is needed (4 to 500 characters).
    reason: String,
    /// Hours (default and most: 72).
    hours: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/persons/{id}/emergency-access",
    params(("id" = String, Path, description = "The person's Patient id")),
    request_body = EmergencyDeclaration,
    responses((status = 201, body = GrantView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub(crate) async fn emergency(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let d: EmergencyDeclaration = body(&bytes, "{\"reason\", \"hours\"?}")?;
    let person: PersonId = id.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "person not found"))?;
    let g = state.authorizations.emergency(&caller.requester(), person, &d.reason, d.hours).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &g).await)).into_response())
}

/// An appointment from a booking platform.
#[derive(Deserialize, ToSchema)]
pub struct BookingPost {
    /// The platform's appointment id (1 to 64 characters); posting it again is harmless.
    appointment_id: String,
    /// The resident's Patient id …
    patient: Option<String>,
    /// … or identifier `system|value`.
    identifier: Option<String>,
    /// The institution (USCC code) the appointment is at.
    institution: String,
    /// Its department.
    department: Option<String>,
    /// The appointment's time (RFC 3339).
    at: String,
    /// The resident agreed to share their record with the institution for this visit.
    consent: bool,
}

/// What a booking produced.
#[derive(Serialize, ToSchema)]
pub struct BookingResult {
    /// The grant, if the resident consented.
    grant: Option<GrantView>,
    /// Whether this post created it (false: posted before).
    created: bool,
}

#[utoipa::path(
    post,
    path = "/bookings",
    request_body = BookingPost,
    responses(
        (status = 201, body = BookingResult),
        (status = 200, description = "Posted before, or without consent", body = BookingResult),
        (status = 403, description = "No booking scope, or an institution this client does not serve", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub(crate) async fn booking(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: BookingPost = body(
        &bytes,
        "{\"appointment_id\", \"patient\" or \"identifier\", \"institution\", \"department\"?, \"at\", \"consent\"}",
    )?;
    let who = caller.requester();
    if !who.scopes.contains(&tongdang_core::Scope::Booking) {
        return Err(GrantError::Forbidden("posting appointments needs an API key with the booking scope").into());
    }
    let institution = InstitutionCode::new(&b.institution)
        .map_err(|_| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "institution is not a valid code"))?;
    let at = Timestamp::parse_fhir(&b.at)
        .ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "at is not an RFC 3339 time"))?;
    // Booking clients find residents by identifier; the look-up needs no read scope of theirs.
    let person = person_of(&state, &who, b.patient.as_deref(), b.identifier.as_deref()).await?;
    let department = b.department.filter(|d| !d.trim().is_empty());
    if department.as_ref().is_some_and(|d| d.chars().count() > 64) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "department has at most 64 characters"));
    }
    let a = Appointment { id: b.appointment_id, person, institution, department, at, consent: b.consent };
    match state.authorizations.book(&who, &a).await? {
        Some((g, created)) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, Json(BookingResult { grant: Some(view(&state, &g).await), created })).into_response())
        }
        None => Ok((StatusCode::OK, Json(BookingResult { grant: None, created: false })).into_response()),
    }
}

/// Filters of a resident's grants.
#[derive(Deserialize, IntoParams)]
pub struct MyGrantParams {
    /// Only this status (`requested` lists what waits for an answer).
    status: Option<String>,
    /// Ids below this.
    before: Option<i64>,
    /// At most (default 50, most 200).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/me/grants", params(MyGrantParams), responses((status = 200, body = Vec<GrantView>), (status = 403, body = ErrorBody)))]
pub(crate) async fn my_grants(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<MyGrantParams>,
) -> Result<Json<Vec<GrantView>>, ApiError> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "unknown status"))?),
    };
    let list =
        state.authorizations.of_resident(&caller.requester(), status, q.before, q.limit.unwrap_or(50).clamp(1, 200)).await?;
    let mut out = Vec::new();
    for (g, _) in &list {
        out.push(view_for(&state, g, caller.face_verified_at.is_some()).await);
    }
    Ok(Json(out))
}

/// The resident's answer to a request.
#[derive(Deserialize, ToSchema, Default)]
pub struct Approval {
    /// For how long (default 168 h).
    hours: Option<i64>,
    /// Which of the categories asked for (default: all asked).
    categories: Option<Vec<String>>,
}

#[utoipa::path(
    post,
    path = "/me/grants/{id}/{action}",
    params(("id" = String, Path), ("action" = String, Path, description = "`approve` (body: Approval), `refuse` or `revoke`")),
    request_body = Approval,
    responses(
        (status = 200, body = GrantView),
        (status = 403, description = "Not a resident, or approval without a recent face verification", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Answered or ended already", body = ErrorBody),
    )
)]
pub(crate) async fn answer(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path((id, action)): Path<(String, String)>,
    bytes: axum::body::Bytes,
) -> Result<Json<GrantView>, ApiError> {
    let id = id_of(&id, "grant")?;
    let who = caller.requester();
    let g = match action.as_str() {
        "approve" => {
            let a: Approval = if bytes.is_empty() { Approval::default() } else { body(&bytes, "{\"hours\"?, \"categories\"?}")? };
            let categories = match a.categories {
                Some(c) => Some(parse_categories(Some(&c))?),
                None => None,
            };
            state.authorizations.approve(&who, id, a.hours, categories).await?
        }
        "refuse" => state.authorizations.refuse(&who, id).await?,
        "revoke" => state.authorizations.revoke(&who, id).await?,
        _ => return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "the action is approve, refuse or revoke")),
    };
    Ok(Json(view(&state, &g).await))
}

/// Paging of a history.
#[derive(Deserialize, IntoParams)]
pub struct HistoryParams {
    /// Events below this id.
    before: Option<i64>,
    /// At most (default 50, most 200).
    limit: Option<u32>,
}

/// A page of the resident's access history.
#[derive(Serialize, ToSchema)]
pub struct HistoryPage {
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    lines: Vec<HistoryLine>,
    /// Pass as `before` for the next page.
    next_before: Option<i64>,
}

#[utoipa::path(get, path = "/me/access-history", params(HistoryParams), responses((status = 200, body = HistoryPage), (status = 403, body = ErrorBody)))]
pub(crate) async fn access_history(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<HistoryParams>,
) -> Result<Json<HistoryPage>, ApiError> {
    let Some(person) = caller.person.filter(|_| caller.role == tongdang_core::Role::Resident) else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "the access history is the resident's own"));
    };
    // Who read the record, from where and when, is itself health information.
    if caller.face_verified_at.is_none() {
        return Err(GrantError::FaceVerificationRequired.into());
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let events: Vec<AuditEvent> = state.store.audit_events(Some(person), q.before, limit).await?;
    let next_before = (events.len() == limit as usize).then(|| events.last().map(|e| e.id)).flatten();
    let mut lines = Vec::new();
    for e in &events {
        let name = match &e.institution {
            Some(i) => state.reader.institution_name(i).await,
            None => String::new(),
        };
        let name = if name.is_empty() { e.institution.clone().unwrap_or_default() } else { name };
        if let Some(l) = describe(e, &caller.actor, &name) {
            lines.push(l);
        }
    }
    Ok(Json(HistoryPage { lines, next_before }))
}

/// A face verification.
#[derive(Deserialize, ToSchema)]
pub struct FaceCheck {
    /// The resident's ID number (as on their record; default: the one on file).
    id_number: Option<String>,
    /// The live photo, base64 (at most 2 MiB decoded).
    photo: String,
}

/// The outcome of a face verification.
#[derive(Serialize, ToSchema)]
pub struct FaceVerified {
    /// When it passed.
    verified_at: String,
}

#[utoipa::path(
    post,
    path = "/me/face-verification",
    request_body = FaceCheck,
    responses(
        (status = 200, body = FaceVerified),
        (status = 422, description = "No match, or an ID number not on the record", body = ErrorBody),
        (status = 504, description = "The police service did not answer", body = ErrorBody),
    )
)]
pub(crate) async fn face_verification(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    bytes: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<FaceVerified>, ApiError> {
    let bytes = bytes.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the body is larger than 3 MiB (a photo of at most 2 MiB)")
    })?;
    let f: FaceCheck = body(&bytes, "{\"id_number\"?, \"photo\" (base64)}")?;
    let photo = data_encoding::BASE64
        .decode(f.photo.as_bytes())
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "photo is not base64"))?;
    if photo.is_empty() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "the photo is empty"));
    }
    if photo.len() > MAX_PHOTO_BYTES {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the photo is larger than 2 MiB"));
    }
    let at = state.authorizations.verify_face(&caller.requester(), f.id_number.as_deref(), &photo).await?;
    Ok(Json(FaceVerified { verified_at: at.to_rfc3339_cst() }))
}

/// Filters of the review queue.
#[derive(Deserialize, IntoParams)]
pub struct ReviewParams {
    /// `open` (default), `justified`, `unjustified`, or `all`.
    status: Option<String>,
    /// Ids below this.
    before: Option<i64>,
    /// At most (default 50, most 200).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/emergency-reviews", params(ReviewParams), responses((status = 200, body = Vec<GrantView>), (status = 403, body = ErrorBody)))]
pub(crate) async fn reviews(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<ReviewParams>,
) -> Result<Json<Vec<GrantView>>, ApiError> {
    let status = match q.status.as_deref() {
        None => Some("open"),
        Some("all") => None,
        Some(s @ ("open" | "justified" | "unjustified")) => Some(s),
        Some(_) => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "status is open, justified, unjustified or all"));
        }
    };
    let list = state.authorizations.reviews(&caller.requester(), status, q.before, q.limit.unwrap_or(50).clamp(1, 200)).await?;
    let mut out = Vec::new();
    for g in &list {
        out.push(view(&state, g).await);
    }
    Ok(Json(out))
}

/// An emergency access and each read made under it.
#[derive(Serialize, ToSchema)]
pub struct ReviewItem {
    /// The access.
    access: GrantView,
    /// Its uses, newest first.
    #[schema(value_type = Vec<Object>)]
    uses: Vec<serde_json::Value>,
}

#[utoipa::path(get, path = "/emergency-reviews/{id}", params(("id" = String, Path)), responses((status = 200, body = ReviewItem), (status = 404, body = ErrorBody)))]
pub(crate) async fn review_item(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ReviewItem>, ApiError> {
    let (g, uses) = state.authorizations.review_item(&caller.requester(), id_of(&id, "emergency access")?).await?;
    let uses = uses
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id, "at": e.at.to_rfc3339_cst(), "kind": e.kind, "actor": e.actor, "outcome": e.outcome,
                "detail": serde_json::from_str::<serde_json::Value>(&e.detail).unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(ReviewItem { access: view(&state, &g).await, uses }))
}

/// A privacy officer's finding.
#[derive(Deserialize, ToSchema)]
pub struct Finding {
    /// Whether the access was justified.
    justified: bool,
    /// A note (at most 2,000 characters).
    #[serde(default)]
    note: String,
}

#[utoipa::path(
    post,
    path = "/emergency-reviews/{id}/decision",
    params(("id" = String, Path)),
    request_body = Finding,
    responses((status = 200, body = GrantView), (status = 404, body = ErrorBody), (status = 409, description = "Reviewed already", body = ErrorBody))
)]
pub(crate) async fn review_decision(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<GrantView>, ApiError> {
    let f: Finding = body(&bytes, "{\"justified\": bool, \"note\"}")?;
    let g = state.authorizations.review(&caller.requester(), id_of(&id, "emergency access")?, f.justified, &f.note).await?;
    Ok(Json(view(&state, &g).await))
}

/// A message in a simulator's outbox.
#[derive(Serialize, ToSchema)]
pub struct SimulatedMessage {
    /// When.
    at: String,
    /// To (masked phone, or the Patient id for app pushes).
    to: String,
    /// Title (app pushes).
    title: Option<String>,
    /// Text.
    text: String,
}

#[utoipa::path(
    get,
    path = "/simulators/{channel}/outbox",
    params(("channel" = String, Path, description = "`sms` or `app`")),
    responses((status = 200, body = Vec<SimulatedMessage>), (status = 404, description = "That channel is not simulated here", body = ErrorBody))
)]
pub(crate) async fn outbox(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Path(channel): Path<String>,
) -> Result<Json<Vec<SimulatedMessage>>, ApiError> {
    let channels = state.authorizations.channels();
    let none = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "this channel is not simulated on this server");
    // The SMS outbox stands for residents' phones: in the demo, the clinician reads the code
    // the resident would read out. Residents see their own app pushes, not others' messages.
    match channel.as_str() {
        "sms" => {
            if !matches!(caller.role, tongdang_core::Role::Clinician | tongdang_core::Role::ProvincialOperator) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "the SMS outbox is shown to clinicians and the provincial operator",
                ));
            }
            let sim = channels.sms_simulator.as_ref().ok_or_else(none)?;
            // A resident's sign-in code would let a clinician sign in as them: only the
            // provincial operator (who runs the demo) sees those.
            let operator = caller.role == tongdang_core::Role::ProvincialOperator;
            Ok(Json(
                sim.outbox()
                    .into_iter()
                    .filter(|m| operator || !m.text.contains("登录验证码"))
                    .take(100)
                    .map(|m| SimulatedMessage {
                        at: m.at.to_rfc3339_cst(),
                        to: tongdang_protection::mask::mask_phone(&m.phone),
                        title: None,
                        text: m.text,
                    })
                    .collect(),
            ))
        }
        "app" => {
            let sim = channels.app_simulator.as_ref().ok_or_else(none)?;
            let person = caller
                .person
                .filter(|_| caller.role == tongdang_core::Role::Resident)
                .ok_or_else(|| ApiError::new(StatusCode::FORBIDDEN, "forbidden", "the app inbox is the resident's own"))?;
            Ok(Json(
                sim.inbox(person)
                    .into_iter()
                    .map(|m| SimulatedMessage {
                        at: m.at.to_rfc3339_cst(),
                        to: m.person.to_string(),
                        title: Some(m.title),
                        text: m.body,
                    })
                    .collect(),
            ))
        }
        _ => Err(none()),
    }
}
