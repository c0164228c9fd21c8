//! Sign-in, roles, masking, audit, quotas, security headers and the ledger API, end to end.

use crate::common::*;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_access::signin::Accounts;
use tongdang_core::{PersonId, Role};
use tongdang_protection::ledger::{Hash, leaf_hash, verify_consistency, verify_inclusion};
use tongdang_server::Quotas;
use tongdang_store::{ProtectedStore, Store};

const PASSWORD: &str = "correct horse battery staple";

/// A Patient with demographics and one encounter; the person id.
async fn seed(s: &Server) -> String {
    let patient = json!({"resourceType": "Patient", "id": "p1", "name": [{"text": "张三丰"}], "gender": "male", "birthDate": "1990-03-07",
        "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID}],
        "telecom": [{"system": "phone", "value": "13812345678"}],
        "address": [{"text": "广州市天河区天河路1号", "city": "广州市", "district": "天河区"}]});
    let (status, headers, body) = s.put("/fhir/Patient/p1", &patient).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let person = location(&headers).1;
    let enc = json!({"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p1"}, "period": {"start": "2024-10-03T14:22:00+08:00"}});
    let (status, _, body) = s.put("/fhir/Encounter/e1", &enc).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    person
}

async fn account(store: &Arc<ProtectedStore>, login: &str, role: Role, person: Option<PersonId>) {
    let institution = matches!(role, Role::Clinician | Role::InstitutionAdmin).then_some(CODE);
    let id = Accounts::new(store.clone()).create(login, "测试", PASSWORD, role, institution, None, person).await.unwrap();
    // Residents here have passed face verification (its own tests are in grants.rs).
    if role == Role::Resident {
        store.set_face_verified(id, tongdang_core::Timestamp::now()).await.unwrap();
    }
}

/// Sign in for a bearer token.
async fn token(s: &Server, login: &str) -> String {
    s.token(login, PASSWORD).await
}

async fn get_as(s: &Server, token: &str, path: &str) -> (StatusCode, Value) {
    read(s.request(Method::GET, path, Some(token)).send().await.unwrap()).await
}

async fn sign_in_sessions_and_csrf(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    account(&store, "doctor01", Role::Clinician, None).await;
    // A web sign-in sets an HttpOnly, SameSite=Strict cookie and returns the CSRF token.
    let r = s
        .request(Method::POST, "/api/v1/auth/sign-in", None)
        .json(&json!({"login": "doctor01", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    let (status, body) = read(r).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    assert!(body.get("token").is_none(), "a web session's token stays in its cookie: {body}");
    let csrf = body["csrf"].as_str().unwrap().to_string();
    let session = cookie.split(';').next().unwrap().to_string();
    let me = |c: &str| s.client.get(format!("{}/api/v1/auth/me", s.url)).header(COOKIE, c.to_string());
    let (status, who) = read(me(&session).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{who}");
    assert_eq!((who["role"].as_str(), who["institution"].as_str()), (Some("clinician"), Some(CODE)));
    // A forged cookie, and the session token used as a bearer, are refused.
    let (status, body) = read(me("tongdang_session=tds_forged").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let bearer = session.trim_start_matches("tongdang_session=").to_string();
    assert_eq!(get_as(&s, &bearer, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);
    // An unsafe request on the cookie needs the CSRF token.
    let out = |c: Option<&str>| {
        let r = s.client.post(format!("{}/api/v1/auth/sign-out", s.url)).header(COOKIE, session.clone());
        match c {
            Some(c) => r.header("x-csrf-token", c),
            None => r,
        }
    };
    let (status, body) = read(out(None).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_api_error(&body, "csrf");
    assert_eq!(read(out(Some("00")).send().await.unwrap()).await.0, StatusCode::FORBIDDEN);
    assert_eq!(out(Some(&csrf)).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(read(me(&session).send().await.unwrap()).await.0, StatusCode::UNAUTHORIZED, "signed out");
    // API tokens work as bearers; a forged one does not.
    let t = token(&s, "doctor01").await;
    assert_eq!(get_as(&s, &t, "/api/v1/auth/me").await.0, StatusCode::OK);
    assert_eq!(
        get_as(&s, "tds_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get_as(&s, "tdk_forged", "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);
}

async fn failed_sign_ins_lock_the_account(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    account(&store, "doctor02", Role::Clinician, None).await;
    let attempt = |password: String| {
        s.request(Method::POST, "/api/v1/auth/sign-in", None)
            .json(&json!({"login": "doctor02", "password": password, "kind": "api"}))
            .send()
    };
    for _ in 0..4 {
        let (status, body) = read(attempt("wrong password!".into()).await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(!body.to_string().contains("doctor02"), "messages never echo the name");
    }
    let r = attempt("wrong password!".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 60);
    let r = attempt(PASSWORD.into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "locked even with the right password");
    // Unknown names answer exactly like wrong passwords; over-long passwords are refused unhashed.
    let r = s
        .request(Method::POST, "/api/v1/auth/sign-in", None)
        .json(&json!({"login": "nobody", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = read(attempt("x".repeat(100_000)).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The failures are in the audit trail.
    let events = store.audit_events(None, None, 100).await.unwrap();
    assert!(events.iter().filter(|e| e.kind == "auth.sign-in" && e.outcome == "failed").count() >= 5);
}

async fn roles_decide_what_is_seen_and_every_decision_is_audited(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let person = seed(&s).await;
    let pid = PersonId(person.parse().unwrap());
    account(&store, "13800000001", Role::Resident, Some(pid)).await;
    account(&store, "13800000002", Role::Resident, Some(PersonId(999))).await;
    account(&store, "doctor03", Role::Clinician, None).await;
    account(&store, "gd-operator", Role::ProvincialOperator, None).await;
    account(&store, "auditor01", Role::Auditor, None).await;
    let timeline = format!("/api/v1/persons/{person}/timeline");
    let patient = format!("/fhir/Patient/{person}");

    let own = token(&s, "13800000001").await;
    let (status, body) = get_as(&s, &own, &timeline).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
    let (_, p) = get_as(&s, &own, &patient).await;
    assert!(
        p.to_string().contains("张三丰") && p.to_string().contains(NATIONAL_ID),
        "a resident sees their own data in full: {p}"
    );

    let other = token(&s, "13800000002").await;
    assert_eq!(get_as(&s, &other, &timeline).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get_as(&s, &other, &patient).await.0, StatusCode::FORBIDDEN);

    let doctor = token(&s, "doctor03").await;
    assert_eq!(get_as(&s, &doctor, &timeline).await.0, StatusCode::FORBIDDEN, "no grant yet");
    s.grant_everyone().await;
    assert_eq!(get_as(&s, &doctor, &timeline).await.0, StatusCode::OK);
    let (_, p) = get_as(&s, &doctor, &patient).await;
    let text = p.to_string();
    assert!(text.contains("张三丰") && text.contains(NATIONAL_ID), "a clinician sees what care needs: {text}");
    assert_eq!(
        get_as(&s, &doctor, "/fhir/Patient?_count=5").await.0,
        StatusCode::FORBIDDEN,
        "clinicians do not list the province"
    );

    let operator = token(&s, "gd-operator").await;
    let (status, body) = get_as(&s, &operator, &timeline).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "operators see no clinical content: {body}");
    assert_eq!(get_as(&s, &operator, &format!("/fhir/Patient/{person}/$everything")).await.0, StatusCode::FORBIDDEN);
    let (status, p) = get_as(&s, &operator, &patient).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let text = p.to_string();
    for secret in ["张三丰", NATIONAL_ID, "13812345678", "天河路1号", "1990-03-07"] {
        assert!(!text.contains(secret), "an operator does not see {secret}: {text}");
    }
    assert!(text.contains("张*丰") && text.contains("138****5678") && text.contains("广州市天河区"), "{text}");

    // Every decision, allowed or refused, is an event the auditor can read, and the resident
    // sees who read their record.
    let auditor = token(&s, "auditor01").await;
    assert_eq!(get_as(&s, &auditor, &timeline).await.0, StatusCode::FORBIDDEN);
    let (status, events) = get_as(&s, &auditor, &format!("/api/v1/audit/events?person={person}&limit=500")).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let events = events.as_array().unwrap();
    let refused = events.iter().filter(|e| e["outcome"] == "refused" && e["kind"] == "read.timeline").count();
    let allowed = events.iter().filter(|e| e["outcome"] == "allowed" && e["kind"] == "read.timeline").count();
    assert_eq!((allowed, refused), (2, 4), "{events:?}");
    assert!(events.iter().any(|e| e["detail"]["reason"] == "no-grant"));
    assert!(events.iter().any(|e| e["detail"]["reason"] == "no-clinical-content"));
    let (status, mine) = get_as(&s, &own, "/api/v1/audit/events").await;
    assert_eq!(status, StatusCode::OK);
    assert!(mine.as_array().unwrap().iter().all(|e| e["person"] == person.as_str()), "{mine}");
    assert_eq!(get_as(&s, &doctor, "/api/v1/audit/events").await.0, StatusCode::FORBIDDEN);
    // The events are leaves of the ledger.
    let checkpoint = store.checkpoint().await.unwrap();
    assert!(checkpoint.size >= 2 + events.len() as u64);
}

async fn quotas_answer_429_with_retry_after(store: Arc<ProtectedStore>) {
    let s = Server::start_with(store, |state| state.quotas = Quotas::new(60, 2)).await;
    assert_eq!(s.get("/api/v1/institutions").send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(s.get("/api/v1/institutions").send().await.unwrap().status(), StatusCode::OK);
    let r = s.get("/api/v1/institutions").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    let (_, body) = read(r).await;
    assert_api_error(&body, "quota_exceeded");
    let r = s.get("/fhir/Patient?_count=1").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let (_, body) = read(r).await;
    assert_outcome(&body, "throttled");
}

async fn every_response_carries_security_headers(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    for (path, key) in
        [("/fhir/metadata", None), ("/api/v1/nothing", None), ("/fhir/Patient/1", Some(s.key.clone())), ("/", None)]
    {
        let r = s.request(Method::GET, path, key.as_deref()).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(h.get("strict-transport-security").is_none(), "no HSTS without TLS");
    }
    // Header injection through the path or a value goes nowhere.
    let r = s.get("/fhir/Patient/1%0d%0aSet-Cookie:%20x=y").send().await.unwrap();
    assert!(r.headers().get(SET_COOKIE).is_none());
    let r = s
        .request(Method::POST, "/api/v1/auth/sign-in", None)
        .json(&json!({"login": "a\r\nSet-Cookie: x=y", "password": "p"}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get(SET_COOKIE).is_none());
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = s
        .request(Method::POST, "/api/v1/auth/sign-in", None)
        .header(CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

async fn institution_administrators_manage_their_keys(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    account(&store, "hospital-admin", Role::InstitutionAdmin, None).await;
    let admin = token(&s, "hospital-admin").await;
    let keys = format!("/api/v1/institutions/{CODE}/keys");
    // Administrators see no clinical content, so they cannot issue a key that reads records.
    let r = s.request(Method::POST, &keys, Some(&admin)).json(&json!({"scopes": ["read"]})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = s.request(Method::POST, &keys, Some(&admin)).json(&json!({"scopes": ["submit"]})).send().await.unwrap();
    let (status, issued) = read(r).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let new_key = issued["key"].as_str().unwrap().to_string();
    assert_eq!(s.request(Method::GET, "/api/v1/institutions", Some(&new_key)).send().await.unwrap().status(), StatusCode::OK);
    let (_, list) = get_as(&s, &admin, &keys).await;
    assert!(list.as_array().unwrap().len() >= 2 && !list.to_string().contains(&new_key), "listings never show secrets: {list}");
    let prefix = issued["prefix"].as_str().unwrap();
    let r = s.request(Method::DELETE, &format!("{keys}/{prefix}"), Some(&admin)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        s.request(Method::GET, "/api/v1/institutions", Some(&new_key)).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "revoked at once"
    );
    let r = s.request(Method::POST, &keys, Some(&admin)).json(&json!({"scopes": ["mpi"]})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "institutions never issue mpi keys");
    let r = s.request(Method::GET, "/fhir/Patient?_count=1", Some(issued["key"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the revoked submit key reads nothing either");
    let r = s.request(Method::GET, "/api/v1/institutions/OTHER-HOSPITAL/keys", Some(&admin)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

fn hash(hex: &Value) -> Hash {
    data_encoding::HEXLOWER.decode(hex.as_str().unwrap().as_bytes()).unwrap().try_into().unwrap()
}

async fn the_ledger_proves_inclusion_and_consistency(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let r = s.request(Method::GET, "/api/v1/ledger/checkpoint", None).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "no checkpoint yet");
    seed(&s).await;
    let first = store.checkpoint().await.unwrap();
    let enc = json!({"resourceType": "Encounter", "id": "e2", "status": "finished", "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p1"}, "period": {"start": "2024-10-04T14:22:00+08:00"}});
    s.put("/fhir/Encounter/e2", &enc).await;
    let latest = store.checkpoint().await.unwrap();
    // The checkpoint and keys are public, for outside witnesses.
    let (status, cp) = read(s.request(Method::GET, "/api/v1/ledger/checkpoint", None).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{cp}");
    assert_eq!(cp["size"], latest.size);
    let (_, keys) = read(s.request(Method::GET, "/api/v1/ledger/keys", None).send().await.unwrap()).await;
    assert_eq!(keys[0]["algorithm"], "ed25519");
    // An entry's inclusion proof verifies against the signed root.
    let entry = store.entries(&tongdang_store::EntryQuery { limit: 10, ..Default::default() }).await.unwrap().pop().unwrap();
    let (status, proof) = s.get_json(&format!("/api/v1/ledger/proof/inclusion?entry={}&version=1", entry.id.0)).await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    let path: Vec<Hash> = proof["proof"].as_array().unwrap().iter().map(hash).collect();
    let leaf = tongdang_store::ledger::entry_leaf(&entry).hash;
    let index = proof["leaf_index"].as_u64().unwrap();
    assert!(verify_inclusion(index, latest.size, &leaf, &path, &latest.root));
    assert!(!verify_inclusion(index, latest.size, &leaf_hash(b"forged"), &path, &latest.root));
    // And the old checkpoint is a prefix of the new one.
    let (status, c) = s.get_json(&format!("/api/v1/ledger/proof/consistency?from={}&to={}", first.size, latest.size)).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let path: Vec<Hash> = c["proof"].as_array().unwrap().iter().map(hash).collect();
    assert!(verify_consistency(first.size, latest.size, &first.root, &latest.root, &path));
    let (status, _) = s.get_json(&format!("/api/v1/ledger/proof/consistency?from={}&to=1", latest.size + 5)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s.get_json("/api/v1/ledger/proof/inclusion?entry=987654").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

tongdang_testkit::backend_tests!(
    sign_in_sessions_and_csrf,
    failed_sign_ins_lock_the_account,
    roles_decide_what_is_seen_and_every_decision_is_audited,
    quotas_answer_429_with_retry_after,
    every_response_carries_security_headers,
    institution_administrators_manage_their_keys,
    the_ledger_proves_inclusion_and_consistency,
);
