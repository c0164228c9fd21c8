//! Who may call what: API keys and their scopes, and the two documents anyone may read
//! (`/fhir/metadata`, `/api/v1/openapi.json`).

use crate::common::*;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_core::Scope;
use tongdang_store::{ProtectedStore, Store};

/// Send and expect 401 with `WWW-Authenticate: Bearer`; returns the body.
async fn unauthorized(request: RequestBuilder) -> Value {
    let (status, headers, body) = read_with_headers(request.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(headers.get(WWW_AUTHENTICATE).map(|v| v.to_str().unwrap()), Some("Bearer"), "{body}");
    body
}

/// Every protected route, in both error shapes, refuses a request without a usable key.
async fn requests_without_a_valid_key_are_refused(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    let ndjson = |r: RequestBuilder| r.header(CONTENT_TYPE, "application/fhir+ndjson").body("{}\n");
    let fhir_json = |r: RequestBuilder| r.header(CONTENT_TYPE, "application/fhir+json").body(chinese_patient("p1").to_string());
    let wrong = format!("{}x", s.key);
    let header_forms: [Option<String>; 5] = [
        None,
        Some(format!("Bearer {wrong}")),
        Some("Bearer tdk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into()),
        Some("Bearer ".into()),
        Some(format!("Basic {}", s.key)),
    ];
    for header in &header_forms {
        let with = |r: RequestBuilder| match header {
            Some(h) => r.header(AUTHORIZATION, h),
            None => r,
        };
        // /api/v1: {"error": {"code", "message"}}.
        for request in [
            with(s.request(Method::GET, "/api/v1/persons/1/timeline", None)),
            with(ndjson(s.request(Method::POST, "/api/v1/ingest", None))),
            with(s.request(Method::GET, "/api/v1/institutions", None)),
        ] {
            let body = unauthorized(request).await;
            assert_api_error(&body, "unauthorized");
        }
        // /fhir: an OperationOutcome with a security issue.
        for request in [
            with(s.request(Method::GET, "/fhir/Patient/1", None)),
            with(s.request(Method::GET, "/fhir/Patient?_count=1", None)),
            with(s.request(Method::GET, "/fhir/Encounter?patient=1", None)),
            with(fhir_json(s.request(Method::PUT, "/fhir/Patient/p1", None))),
            with(fhir_json(s.request(Method::POST, "/fhir", None))),
        ] {
            let body = unauthorized(request).await;
            assert_outcome(&body, "security");
        }
    }
    // Nothing got in.
    let counts = s.store.counts().await.unwrap();
    assert_eq!((counts.persons, counts.entries), (0, 0));
    // The same routes with the key work.
    let (status, body) = s.get_json("/api/v1/institutions").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = body.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0]["code"].as_str(), listed[0]["name"].as_str()), (Some(CODE), Some(NAME)));
}

/// A key revoked by the issue of a new one (`revoke_others`) is refused; the new one works.
async fn a_revoked_key_is_refused(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let other = "12440300MB7654321Y";
    store.upsert_institution(&institution(other, "深圳市测试医院")).await.unwrap();
    let old = issue_key(store.as_ref(), other, &[Scope::Submit, Scope::Read], false).await;
    let new = issue_key(store.as_ref(), other, &[Scope::Submit, Scope::Read], true).await;
    let record = store.api_key(&tongdang_access::credential::hash_key(&old)).await.unwrap().unwrap();
    assert!(record.revoked_at.is_some(), "issuing with revoke_others revokes the earlier key");

    // Never used before, so never cached: refused at once, on both APIs.
    let body = unauthorized(s.request(Method::GET, "/fhir/Patient?_count=1", Some(&old))).await;
    assert_outcome(&body, "security");
    assert!(body["issue"][0]["diagnostics"].as_str().unwrap().contains("revoked"), "{body}");
    let body = unauthorized(s.request(Method::GET, "/api/v1/institutions", Some(&old))).await;
    assert_api_error(&body, "unauthorized");
    let (status, _, body) =
        read_with_headers(s.fhir_write(Method::PUT, "/fhir/Patient/p1", &old, &chinese_patient("p1")).send().await.unwrap())
            .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(store.counts().await.unwrap().persons, 0);

    // The new key of that institution, and the other institution's key, are untouched.
    for key in [&new, &s.key] {
        let (status, body) = read(s.request(Method::GET, "/fhir/Patient?_count=1", Some(key)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // The submission is the new key's institution's, whatever the payload says.
    let (status, body) =
        read(s.fhir_write(Method::PUT, "/fhir/Patient/p1", &new, &chinese_patient("p1")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let person = s.person_ids().await.remove(0);
    let (_, patient) = s.get_json(&format!("/fhir/Patient/{person}")).await;
    assert_eq!(patient["name"][0]["text"], "张伟", "{patient}");
}

/// `read` alone cannot submit; `submit` alone cannot read; each is refused with 403 in the shape
/// of its API, and nothing is written or shown.
async fn scopes_limit_what_a_key_does(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let read_only = issue_key(store.as_ref(), CODE, &[Scope::Read], false).await;
    let submit_only = issue_key(store.as_ref(), CODE, &[Scope::Submit], false).await;

    // Submit-only: writes work.
    let (status, headers, body) = read_with_headers(
        s.fhir_write(Method::PUT, "/fhir/Patient/p1", &submit_only, &chinese_patient("p1")).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, person, _) = location(&headers);
    let (status, headers, body) = read_with_headers(
        s.fhir_write(Method::PUT, "/fhir/Encounter/e1", &submit_only, &encounter("e1", "Patient/p1")).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, encounter_id, _) = location(&headers);

    // …but every read is refused.
    for path in [
        format!("/fhir/Patient/{person}"),
        format!("/fhir/Patient?identifier={NATIONAL_ID_SYSTEM}|{NATIONAL_ID}"),
        "/fhir/Patient?_count=10".to_string(),
        format!("/fhir/Encounter?patient={person}"),
        format!("/fhir/Encounter/{encounter_id}"),
        format!("/fhir/Patient/{person}/$everything"),
    ] {
        let (status, body) = read(s.request(Method::GET, &path, Some(&submit_only)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_outcome(&body, "security");
        assert!(!body.to_string().contains("张伟"), "{path}: nothing of the record is shown");
    }
    let (status, body) =
        read(s.request(Method::GET, &format!("/api/v1/persons/{person}/timeline"), Some(&submit_only)).send().await.unwrap())
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_api_error(&body, "forbidden");

    // Read-only: reads work (under the resident's grant)…
    s.grant_everyone().await;
    let (status, body) =
        read(s.request(Method::GET, &format!("/fhir/Encounter/{encounter_id}"), Some(&read_only)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) =
        read(s.request(Method::GET, &format!("/api/v1/persons/{person}/timeline"), Some(&read_only)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);

    // …but every write is refused, and nothing changes.
    let before = store.counts().await.unwrap();
    let mut changed = chinese_patient("p1");
    changed["gender"] = json!("male");
    for (method, path, body) in [
        (Method::PUT, "/fhir/Patient/p1", changed.clone()),
        (Method::POST, "/fhir/Encounter", encounter("e2", "Patient/p1")),
        (
            Method::POST,
            "/fhir",
            json!({"resourceType": "Bundle", "type": "batch", "entry": [
                {"resource": encounter("e3", "Patient/p1"), "request": {"method": "PUT", "url": "Encounter/e3"}}
            ]}),
        ),
    ] {
        let (status, answer) = read(s.fhir_write(method, path, &read_only, &body).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {answer}");
        assert_outcome(&answer, "security");
    }
    let r = s
        .request(Method::POST, "/api/v1/ingest", Some(&read_only))
        .header(CONTENT_TYPE, "application/fhir+ndjson")
        .body(format!("{}\n", encounter("e4", "Patient/p1")))
        .send()
        .await
        .unwrap();
    let (status, body) = read(r).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_api_error(&body, "forbidden");
    assert_eq!(store.counts().await.unwrap(), before);
    let (_, patient) = s.get_json(&format!("/fhir/Patient/{person}")).await;
    assert_eq!(patient["gender"], "female", "the refused update changed nothing");
}

/// The CapabilityStatement is public and says what the server does.
async fn metadata_needs_no_key(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    let (status, headers, cs) = read_with_headers(s.request(Method::GET, "/fhir/metadata", None).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{cs}");
    assert!(headers[CONTENT_TYPE].to_str().unwrap().starts_with("application/fhir+json"));
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert_eq!(cs["implementation"]["url"], s.fhir_base());
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    let encounter = resources.iter().find(|r| r["type"] == "Encounter").expect("Encounter is listed");
    let params: Vec<&str> = encounter["searchParam"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(params.contains(&"patient"), "{params:?}");
    let patient = resources.iter().find(|r| r["type"] == "Patient").expect("Patient is listed");
    assert_eq!(patient["operation"][0]["name"], "everything");
    let interactions: Vec<&str> =
        cs["rest"][0]["interaction"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(interactions, ["batch", "transaction"]);
}

/// `/api/v1/openapi.json` is public and describes the routes of `/api/v1`.
async fn openapi_describes_api_v1(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    let (status, doc) = read(s.request(Method::GET, "/api/v1/openapi.json", None).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    // The paths are relative to /api/v1, which the document names as its server.
    let paths = doc["paths"].as_object().unwrap();
    let mut names: Vec<&str> = paths.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "/access-requests",
            "/access-requests/{id}",
            "/access-requests/{id}/code",
            "/audit/events",
            "/auth/me",
            "/auth/sign-in",
            "/auth/sign-out",
            "/auth/sms-code",
            "/bookings",
            "/emergency-reviews",
            "/emergency-reviews/{id}",
            "/emergency-reviews/{id}/decision",
            "/ingest",
            "/institutions",
            "/institutions/{code}/integration-test",
            "/institutions/{code}/keys",
            "/institutions/{code}/keys/{prefix}",
            "/ledger/checkpoint",
            "/ledger/keys",
            "/ledger/proof/consistency",
            "/ledger/proof/inclusion",
            "/me/access-history",
            "/me/face-verification",
            "/me/grants",
            "/me/grants/{id}/{action}",
            "/monitoring/overview",
            "/mpi/operations",
            "/mpi/persons/{id}/history",
            "/mpi/reviews",
            "/mpi/reviews/{id}/decision",
            "/mpi/stats",
            "/openapi.json",
            "/persons/{id}/emergency-access",
            "/persons/{id}/timeline",
            "/quality/figures",
            "/quality/institutions",
            "/quality/rule-sets",
            "/quality/rule-sets/{version}",
            "/reconciliation/manifests",
            "/reconciliation/manifests/{id}",
            "/reconciliation/receipts",
            "/reports",
            "/reports/{id}",
            "/reports/{id}/html",
            "/reports/{id}/pdf",
            "/returns",
            "/returns/{id}",
            "/returns/{id}/correction",
            "/rollout",
            "/rollout/institutions",
            "/simulators/{channel}/outbox",
            "/work-orders",
            "/work-orders/{id}",
            "/work-orders/{id}/actions"
        ],
        "{names:?}"
    );
    assert_eq!(doc["servers"][0]["url"], "/api/v1", "{}", doc["servers"]);
    let ingest = &paths["/ingest"]["post"];
    assert!(ingest["requestBody"]["content"]["application/fhir+ndjson"].is_object(), "{ingest}");
    for status in ["200", "401", "403", "413", "415"] {
        assert!(ingest["responses"][status].is_object(), "ingest documents {status}");
    }
    let timeline = &paths["/persons/{id}/timeline"]["get"];
    let params: Vec<&str> = timeline["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for p in ["id", "category", "from", "to", "cursor", "limit"] {
        assert!(params.contains(&p), "timeline documents {p}: {params:?}");
    }
    assert!(doc["components"]["securitySchemes"]["institution_key"].is_object());
    assert_eq!(doc, serde_json::to_value(tongdang_server::openapi()).unwrap(), "served as generated");
}

tongdang_testkit::backend_tests!(
    requests_without_a_valid_key_are_refused,
    a_revoked_key_is_refused,
    scopes_limit_what_a_key_does,
    metadata_needs_no_key,
    openapi_describes_api_v1,
);
