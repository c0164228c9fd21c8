//! `/api/v1/ledger/…`: the latest signed checkpoint and the signing keys (public, for outside
//! witnesses), inclusion proofs of entry versions and events, consistency proofs between tree
//! sizes; `/api/v1/audit/events`: the audit trail.

use crate::AppState;
use crate::api::ErrorBody;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use data_encoding::{BASE64, HEXLOWER};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tongdang_core::{PersonId, Role};
use tongdang_store::LeafKind;
use utoipa::{IntoParams, ToSchema};

/// A signed checkpoint.
#[derive(Serialize, ToSchema)]
pub struct CheckpointView {
    /// Leaves in the tree.
    size: u64,
    /// RFC 9162 root hash (hex).
    root: String,
    /// When signed (RFC 3339, CST).
    signed_at: String,
    /// The signing key's id.
    key_id: u32,
    /// The signed note (C2SP tlog-checkpoint text) a witness keeps.
    note: String,
}

/// A checkpoint signing key.
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    /// Id named in checkpoints.
    id: u32,
    /// `ed25519` or `sm2`.
    algorithm: String,
    /// The public key (base64: Ed25519 32 bytes; SM2 uncompressed SEC1 point).
    public_key: String,
}

#[utoipa::path(get, path = "/ledger/checkpoint", responses((status = 200, body = CheckpointView), (status = 404, description = "No checkpoint yet", body = ErrorBody)))]
pub(crate) async fn checkpoint(State(state): State<Arc<AppState>>) -> Result<Json<CheckpointView>, ApiError> {
    let cp = state
        .store
        .checkpoints(None, 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no checkpoint signed yet"))?;
    Ok(Json(CheckpointView {
        size: cp.size,
        root: HEXLOWER.encode(&cp.root),
        signed_at: cp.at.to_rfc3339_cst(),
        key_id: cp.key_id,
        note: cp.note,
    }))
}

#[utoipa::path(get, path = "/ledger/keys", responses((status = 200, body = Vec<KeyView>)))]
pub(crate) async fn keys(State(state): State<Arc<AppState>>) -> Json<Vec<KeyView>> {
    let ring = state.protected.keyring();
    let mut keys: Vec<KeyView> = ring
        .public_keys()
        .iter()
        .map(|(id, (suite, public))| KeyView {
            id: *id,
            algorithm: suite.signature_name().into(),
            public_key: BASE64.encode(public),
        })
        .collect();
    keys.sort_by_key(|k| k.id);
    Json(keys)
}

fn may_audit(caller: &crate::auth::Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Auditor | Role::ProvincialOperator | Role::CityOperator | Role::InstitutionSystem | Role::InstitutionAdmin => {
            Ok(())
        }
        _ => Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "proofs are for auditors, operators and institutions")),
    }
}

/// What to prove.
#[derive(Deserialize, IntoParams)]
pub struct InclusionParams {
    /// An entry id (with `version`).
    entry: Option<i64>,
    /// The entry's version (default 1).
    version: Option<i64>,
    /// Or an audit event id.
    event: Option<i64>,
    /// The tree size to prove against (default: the latest checkpoint's).
    size: Option<u64>,
}

/// An inclusion proof.
#[derive(Serialize, ToSchema)]
pub struct InclusionView {
    /// The leaf's index.
    leaf_index: u64,
    /// The tree size.
    tree_size: u64,
    /// The audit path (hex), RFC 9162 order.
    proof: Vec<String>,
    /// The root at that size (hex).
    root: String,
}

#[utoipa::path(get, path = "/ledger/proof/inclusion", params(InclusionParams), responses((status = 200, body = InclusionView), (status = 404, body = ErrorBody)))]
pub(crate) async fn inclusion(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<InclusionParams>,
) -> Result<Json<InclusionView>, ApiError> {
    may_audit(&caller)?;
    let (kind, id, version) = match (q.entry, q.event) {
        (Some(e), None) => (LeafKind::EntryVersion, e, q.version.unwrap_or(1)),
        (None, Some(e)) => (LeafKind::Event, e, 0),
        _ => return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "give entry (and version) or event")),
    };
    let index = state
        .store
        .ledger_leaf_index(kind, id, version)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "not in the ledger (yet)"))?;
    let size = match q.size {
        Some(s) => s,
        None => state
            .store
            .checkpoints(None, 1)
            .await?
            .first()
            .map(|c| c.size)
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no checkpoint yet"))?,
    };
    let (current, _) = state.store.ledger_counts().await?;
    if index >= size || size > current {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the leaf is {index}; give a size above it and at most {current}"),
        ));
    }
    let proof = state.protected.inclusion_proof(index, size).await?;
    let root = state.protected.root_at(size).await?;
    Ok(Json(InclusionView {
        leaf_index: index,
        tree_size: size,
        proof: proof.iter().map(|h| HEXLOWER.encode(h)).collect(),
        root: HEXLOWER.encode(&root),
    }))
}

/// Two tree sizes.
#[derive(Deserialize, IntoParams)]
pub struct ConsistencyParams {
    /// The older size.
    from: u64,
    /// The newer size (default: the latest checkpoint's).
    to: Option<u64>,
}

/// A consistency proof.
#[derive(Serialize, ToSchema)]
pub struct ConsistencyView {
    /// Older size.
    from: u64,
    /// Newer size.
    to: u64,
    /// The proof (hex), RFC 9162 order.
    proof: Vec<String>,
}

#[utoipa::path(get, path = "/ledger/proof/consistency", params(ConsistencyParams), responses((status = 200, body = ConsistencyView), (status = 400, body = ErrorBody)))]
pub(crate) async fn consistency(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<ConsistencyParams>,
) -> Result<Json<ConsistencyView>, ApiError> {
    may_audit(&caller)?;
    let (current, _) = state.store.ledger_counts().await?;
    let to = match q.to {
        Some(t) => t,
        None => state.store.checkpoints(None, 1).await?.first().map_or(current, |c| c.size),
    };
    if q.from > to || to > current {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("need from ≤ to ≤ {current}")));
    }
    let proof = state.protected.consistency_proof(q.from, to).await?;
    Ok(Json(ConsistencyView { from: q.from, to, proof: proof.iter().map(|h| HEXLOWER.encode(h)).collect() }))
}

/// Which events.
#[derive(Deserialize, IntoParams)]
pub struct EventParams {
    /// Only events about this person.
    person: Option<String>,
    /// Events before this id (paging).
    before: Option<i64>,
    /// Page size (≤ 500).
    limit: Option<u32>,
}

/// An audit event.
#[derive(Serialize, ToSchema)]
pub struct EventView {
    /// Id.
    id: i64,
    /// When.
    at: String,
    /// What.
    kind: String,
    /// Who.
    actor: String,
    /// Their institution.
    institution: Option<String>,
    /// Whose record.
    person: Option<String>,
    /// Outcome.
    outcome: String,
    /// Details.
    #[schema(value_type = Object)]
    detail: serde_json::Value,
}

#[utoipa::path(get, path = "/audit/events", params(EventParams), responses((status = 200, body = Vec<EventView>), (status = 403, body = ErrorBody)))]
pub(crate) async fn events(
    State(state): State<Arc<AppState>>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<EventParams>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let asked: Option<PersonId> = match &q.person {
        Some(p) => Some(p.parse().map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "a person id is a number"))?),
        None => None,
    };
    // Residents see who read their own record; auditors and provincial operators see all.
    let person = match caller.role {
        Role::Resident => {
            if caller.face_verified_at.is_none() {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "face_verification_required",
                    "verify your identity (face verification) first",
                ));
            }
            Some(caller.person.ok_or_else(|| ApiError::new(StatusCode::FORBIDDEN, "forbidden", "no person linked"))?)
        }
        Role::Auditor | Role::ProvincialOperator => asked,
        _ => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the audit trail is for auditors and for residents' own records",
            ));
        }
    };
    let list = state.store.audit_events(person, q.before, q.limit.unwrap_or(100).min(500)).await?;
    Ok(Json(
        list.into_iter()
            .map(|e| EventView {
                id: e.id,
                at: e.at.to_rfc3339_cst(),
                kind: e.kind,
                actor: e.actor,
                institution: e.institution,
                person: e.person.map(|p| p.0.to_string()),
                outcome: e.outcome,
                detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
            })
            .collect(),
    ))
}
