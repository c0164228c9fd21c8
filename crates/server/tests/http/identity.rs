//! The patient index over HTTP: PIXm, PDQm search, `$match`, the operator API (review queue,
//! merge, unmerge, history) and reads of a merged person's old id.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_core::Scope;
use tongdang_identity::systems::local_patient_system;
use tongdang_store::{ProtectedStore, Store};

const H2: &str = "12440300MB7654321X";

/// A second hospital with its own key.
async fn second_hospital(s: &Server) -> String {
    s.store.upsert_institution(&institution(H2, "深圳市测试医院")).await.unwrap();
    issue_key(s.store.as_ref(), H2, &[Scope::Submit, Scope::Read], false).await
}

async fn put_as(s: &Server, key: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    read(s.fhir_write(reqwest::Method::PUT, path, key, body).send().await.unwrap()).await
}

fn resident(id: &str, name: &str, birth: &str, phone: &str, with_id: bool) -> Value {
    let mut p = json!({"resourceType": "Patient", "id": id, "name": [{"text": name}], "gender": "female", "birthDate": birth,
                       "telecom": [{"system": "phone", "value": phone}],
                       "address": [{"city": "广州市", "district": "天河区", "line": ["体育西路1号"]}]});
    if with_id {
        p["identifier"] = json!([{"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID}]);
    }
    p
}

async fn pix_cross_references(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    let key2 = second_hospital(&s).await;
    assert_eq!(
        s.put("/fhir/Patient/p1", &resident("p1", "张伟", "1949-12-31", "13800138000", true)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        put_as(&s, &key2, "/fhir/Patient/x7", &resident("x7", "張偉", "1949-12-31", "13800138000", true)).await.0,
        StatusCode::CREATED
    );
    let source = format!("{}|p1", local_patient_system(CODE));
    let (status, params) = s.get_json(&format!("/fhir/Patient/$ihe-pix?sourceIdentifier={}", urlencode(&source))).await;
    assert_eq!(status, StatusCode::OK, "{params}");
    assert_eq!(params["resourceType"], "Parameters");
    let parts = params["parameter"].as_array().unwrap();
    let ids: Vec<(String, String)> = parts
        .iter()
        .filter(|p| p["name"] == "targetIdentifier")
        .map(|p| {
            (p["valueIdentifier"]["system"].as_str().unwrap().into(), p["valueIdentifier"]["value"].as_str().unwrap().into())
        })
        .collect();
    assert!(ids.contains(&(local_patient_system(H2), "x7".into())), "{params}");
    assert!(ids.contains(&(NATIONAL_ID_SYSTEM.into(), NATIONAL_ID.into())), "{params}");
    assert!(!ids.contains(&(local_patient_system(CODE), "p1".into())), "the source identifier is not echoed");
    assert!(
        parts.iter().any(|p| p["name"] == "targetId" && p["valueReference"]["reference"].as_str().unwrap().contains("/Patient/"))
    );
    // Only the target domain asked for.
    let only =
        format!("/fhir/Patient/$ihe-pix?sourceIdentifier={}&targetSystem={}", urlencode(&source), urlencode(NATIONAL_ID_SYSTEM));
    let (_, params) = s.get_json(&only).await;
    let names: Vec<&str> =
        params["parameter"].as_array().unwrap().iter().filter_map(|p| p["valueIdentifier"]["system"].as_str()).collect();
    assert_eq!(names, vec![NATIONAL_ID_SYSTEM]);
    // ITI-83 error cases.
    let (status, body) = s.get_json("/fhir/Patient/$ihe-pix?sourceIdentifier=urn:unknown|1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_outcome(&body, "value");
    let missing = format!("{}|nobody", local_patient_system(CODE));
    let (status, _) = s.get_json(&format!("/fhir/Patient/$ihe-pix?sourceIdentifier={}", urlencode(&missing))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        s.get_json(&format!("/fhir/Patient/$ihe-pix?sourceIdentifier={}&targetSystem=urn:x", urlencode(&source))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn pdqm_search(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    s.put("/fhir/Patient/p1", &resident("p1", "张伟", "1949-12-31", "13800138000", true)).await;
    s.put("/fhir/Patient/p2", &resident("p2", "李娜", "1990-01-02", "13900139000", false)).await;
    let count = |b: &Value| entries(b).len();
    let (status, b) = s.get_json(&format!("/fhir/Patient?name={}", urlencode("张伟"))).await;
    assert_eq!((status, count(&b)), (StatusCode::OK, 1), "{b}");
    let (_, b) = s.get_json(&format!("/fhir/Patient?name={}", urlencode("章伟"))).await;
    assert_eq!(count(&b), 0, "name matches the spelling");
    let (_, b) = s.get_json(&format!("/fhir/Patient?phonetic={}", urlencode("章伟"))).await;
    assert_eq!(count(&b), 1, "phonetic matches the sound");
    let (_, b) = s.get_json(&format!("/fhir/Patient?family={}&birthdate=1949-12-31", urlencode("张"))).await;
    assert_eq!(count(&b), 1);
    let (_, b) = s.get_json("/fhir/Patient?telecom=13900139000").await;
    assert_eq!(count(&b), 1);
    assert_eq!(entries(&b)[0]["resource"]["birthDate"], "1990-01-02");
    let (_, b) = s.get_json(&format!("/fhir/Patient?name={}&gender=male", urlencode("张伟"))).await;
    assert_eq!(count(&b), 0, "gender narrows");
    let (_, b) = s.get_json("/fhir/Patient?birthdate=1990-01-02").await;
    assert_eq!(count(&b), 1);
    let (status, b) = s.get_json("/fhir/Patient?gender=female").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "gender alone would list half the province");
    assert_outcome(&b, "not-supported");
}

async fn match_operation(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    s.put("/fhir/Patient/p1", &resident("p1", "张伟", "1949-12-31", "13800138000", true)).await;
    let probe = json!({"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": resident("q", "章伟", "1949-12-31", "13800138000", false)},
        {"name": "count", "valueInteger": 5}]});
    let (status, b) =
        read(s.fhir_write(reqwest::Method::POST, "/fhir/Patient/$match", &s.key, &probe).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let e = &entries(&b)[0];
    assert_eq!(e["search"]["mode"], "match");
    assert!(e["search"]["score"].as_f64().unwrap() > 0.9, "{b}");
    assert_eq!(e["search"]["extension"][0]["valueCode"], "probable");
    let certain = json!({"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": resident("q", "张伟", "1949-12-31", "13800138000", true)},
        {"name": "onlyCertainMatches", "valueBoolean": true}]});
    let (_, b) = read(s.fhir_write(reqwest::Method::POST, "/fhir/Patient/$match", &s.key, &certain).send().await.unwrap()).await;
    assert_eq!(entries(&b)[0]["search"]["extension"][0]["valueCode"], "certain", "{b}");
    let (status, b) = read(
        s.fhir_write(reqwest::Method::POST, "/fhir/Patient/$match", &s.key, &json!({"resourceType": "Parameters"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_outcome(&b, "required");
}

async fn operators_merge_and_reads_follow(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    let key2 = second_hospital(&s).await;
    let operator = issue_key(s.store.as_ref(), CODE, &[Scope::Mpi], false).await;
    s.put("/fhir/Patient/a", &resident("a", "黄丽", "1980-05-06", "13700000001", false)).await;
    // Another phone and city: a possible match, left for review.
    let mut b = resident("b", "黄丽", "1980-05-06", "13700000009", false);
    b["address"] = json!([{"city": "珠海市", "district": "香洲区", "line": ["海滨路2号"]}]);
    put_as(&s, &key2, "/fhir/Patient/b", &b).await;
    let ids = s.person_ids().await;
    assert_eq!(ids.len(), 2);
    // The review queue needs the mpi scope.
    s.grant_everyone().await;
    let (status, body) = s.get_json("/api/v1/mpi/reviews").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_api_error(&body, "forbidden");
    let (status, page) =
        read(s.request(reqwest::Method::GET, "/api/v1/mpi/reviews", Some(&operator)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let item = &page["items"][0];
    assert_eq!(item["reason"], "possible-match");
    assert_eq!(item["comparison"]["given"], "exact");
    assert_eq!(item["comparison"]["phone"], "different");
    assert_eq!(item["candidate"]["demographics"]["phones"][0], "137****0001", "operators see masked phones");
    let (old, survivor) = (item["subject"]["person"].to_string(), item["candidate"]["person"].to_string());
    // Merge the new person into the first.
    let op = json!({"operation": "merge", "from": old, "into": survivor, "reason": "same resident, moved to Zhuhai"});
    let r = s.request(reqwest::Method::POST, "/api/v1/mpi/operations", Some(&operator)).json(&op).send().await.unwrap();
    let (status, event) = read(r).await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["kind"], "merge");
    // The old id answers 307 (an unmerge may undo it) to the survivor; a client that follows gets the survivor.
    let raw = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = raw.get(format!("{}/fhir/Patient/{old}", s.url)).bearer_auth(&s.key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    assert!(r.headers()["location"].to_str().unwrap().ends_with(&format!("/fhir/Patient/{survivor}")));
    let (status, p) = s.get_json(&format!("/fhir/Patient/{old}")).await;
    assert_eq!((status, p["id"].as_str().unwrap()), (StatusCode::OK, survivor.as_str()));
    let r = raw.get(format!("{}/api/v1/persons/{old}/timeline", s.url)).bearer_auth(&s.key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(s.person_ids().await, vec![survivor.clone()], "a merged person is not listed");
    // History, then unmerge.
    let (_, history) = read(
        s.request(reqwest::Method::GET, &format!("/api/v1/mpi/persons/{old}/history"), Some(&operator)).send().await.unwrap(),
    )
    .await;
    assert_eq!(history[0]["kind"], "merge");
    let undo = json!({"operation": "unmerge", "event": event["id"], "reason": "two residents after all"});
    let (status, _) =
        read(s.request(reqwest::Method::POST, "/api/v1/mpi/operations", Some(&operator)).json(&undo).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.person_ids().await.len(), 2);
    let (status, body) =
        read(s.request(reqwest::Method::POST, "/api/v1/mpi/operations", Some(&operator)).json(&undo).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_api_error(&body, "conflict");
    // Two persons with different ID numbers are not merged without force.
    let mut c = resident("c", "冯刚", "1966-06-06", "13600000006", false);
    c["identifier"] = json!([{"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID_2}]);
    s.put("/fhir/Patient/c", &c).await;
    let mut d = resident("d", "冯刚", "1949-12-31", "13600000007", true);
    d["gender"] = json!("female");
    put_as(&s, &key2, "/fhir/Patient/d", &d).await;
    let ids = s.person_ids().await;
    assert_eq!(ids.len(), 4, "{ids:?}");
    let (pc, pd) = (ids[2].clone(), ids[3].clone());
    let op = json!({"operation": "merge", "from": pd, "into": pc, "reason": "test"});
    let (status, body) =
        read(s.request(reqwest::Method::POST, "/api/v1/mpi/operations", Some(&operator)).json(&op).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_api_error(&body, "document_conflict");
    let forced = json!({"operation": "merge", "from": pd, "into": pc, "reason": "the registry confirmed it", "force": true});
    let (status, _) =
        read(s.request(reqwest::Method::POST, "/api/v1/mpi/operations", Some(&operator)).json(&forced).send().await.unwrap())
            .await;
    assert_eq!(status, StatusCode::OK);
    let (status, stats) = read(s.request(reqwest::Method::GET, "/api/v1/mpi/stats", Some(&operator)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((stats["persons"].as_i64(), stats["records"].as_i64()), (Some(3), Some(4)));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

tongdang_testkit::backend_tests!(pix_cross_references, pdqm_search, match_operation, operators_merge_and_reads_follow);
