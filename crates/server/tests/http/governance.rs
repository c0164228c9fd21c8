//! Data governance over HTTP: a submission that fails a quality rule is answered with every
//! finding and becomes a return; resubmitting the same id closes it; a correction with another id
//! is refused; quality figures follow the data; reconciliation finds what is missing, extra and
//! different; a broken rule set is refused on its trial and a good one re-checks stored entries.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_access::signin::Accounts;
use tongdang_core::{Role, Timestamp};
use tongdang_store::{ProtectedStore, Store};

const PASSWORD: &str = "correct horse battery staple";

fn glucose(id: &str, subject: &str, value: f64, unit: &str, when: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}]},
        "subject": {"reference": subject}, "effectiveDateTime": when, "issued": when,
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}})
}

fn today() -> String {
    let t = Timestamp::now().to_rfc3339_cst();
    t[..10].to_string()
}

async fn operator(s: &Server, store: &Arc<ProtectedStore>) -> String {
    Accounts::new(store.clone())
        .create("gd-ops", "省级运营", PASSWORD, Role::ProvincialOperator, None, None, None)
        .await
        .unwrap();
    s.token("gd-ops", PASSWORD).await
}

async fn returns_are_opened_answered_and_closed_by_resubmission(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let (status, _, _) = s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    assert_eq!(status, StatusCode::CREATED);
    let now = Timestamp::now().to_rfc3339_cst();

    // A unit that is not UCUM: refused at once, with the rule, its Chinese message and the path.
    let bad = glucose("glu-1", "Patient/p1", 5.4, "毫摩尔每升", &now);
    let (status, _, outcome) = s.put("/fhir/Observation/glu-1", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    let issue =
        outcome["issue"].as_array().unwrap().iter().find(|i| i["code"] == "business-rule").expect("a rule finding").clone();
    assert!(issue["diagnostics"].as_str().unwrap().starts_with("[QC-LAB-003]"), "{outcome}");
    assert_eq!(issue["expression"][0], "Observation.valueQuantity.code");

    // It is nobody's record, and it is a return of this institution.
    let (status, page) = s.get_json("/api/v1/returns?status=open").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let list = page["returns"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{page}");
    let r = &list[0];
    assert_eq!(
        (r["resource_type"].as_str(), r["source_id"].as_str(), r["category"].as_str()),
        (Some("Observation"), Some("glu-1"), Some("lab"))
    );
    assert_eq!(r["rules"], json!(["QC-LAB-003"]));
    assert_eq!(r["findings"][0]["path"], "Observation.valueQuantity.code");
    assert!(r["findings"][0]["message"].as_str().unwrap().contains("UCUM"), "{r}");
    assert_eq!((r["attempts"].as_i64(), r["age_days"].as_i64()), (Some(1), Some(0)));
    let id = r["id"].as_i64().unwrap();

    // Failing again updates the same return.
    let (status, _, _) = s.put("/fhir/Observation/glu-1", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, page) = s.get_json("/api/v1/returns?status=open").await;
    assert_eq!(page["returns"].as_array().unwrap().len(), 1);
    assert_eq!(page["returns"][0]["attempts"], 2);

    // A correction under another id is refused plainly and leaves the return open.
    let other = glucose("glu-2", "Patient/p1", 5.4, "mmol/L", &now);
    let (status, body) = read(
        s.request(Method::POST, &format!("/api/v1/returns/{id}/correction"), Some(&s.key)).json(&other).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_api_error(&body, "correction_id_mismatch");

    // The corrected resource under the same id closes it, linked to the stored version.
    let good = glucose("glu-1", "Patient/p1", 5.4, "mmol/L", &now);
    let (status, body) = read(
        s.request(Method::POST, &format!("/api/v1/returns/{id}/correction"), Some(&s.key)).json(&good).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "created");
    assert_eq!(body["return"]["status"], "closed");
    assert_eq!(body["return"]["correction"], body["stored"]);
    assert!(body["stored"].as_str().unwrap().ends_with("/_history/1"), "{body}");
    let (status, body) = read(
        s.request(Method::POST, &format!("/api/v1/returns/{id}/correction"), Some(&s.key)).json(&good).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, page) = s.get_json("/api/v1/returns?status=open").await;
    assert!(page["returns"].as_array().unwrap().is_empty(), "{page}");

    // A plain PUT closes a return too; returns failing the person's facts come from the commit.
    let before_birth = json!({"resourceType": "Immunization", "id": "vac-1", "status": "completed",
        "vaccineCode": {"coding": [{"system": "urn:oid:2.16.156.10011.2.3.3.17", "code": "0101"}]},
        "patient": {"reference": "Patient/p1"}, "occurrenceDateTime": "1940-01-01"});
    let (status, _, outcome) = s.put("/fhir/Immunization/vac-1", &before_birth).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert!(outcome.to_string().contains("QC-VAC-004"), "{outcome}");
    let mut fixed = before_birth.clone();
    fixed["occurrenceDateTime"] = json!("2024-10-03");
    let (status, _, _) = s.put("/fhir/Immunization/vac-1", &fixed).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, page) = s.get_json("/api/v1/returns?status=closed").await;
    assert_eq!(page["returns"].as_array().unwrap().len(), 2, "{page}");
    assert!(page["returns"].as_array().unwrap().iter().all(|r| r["correction"].is_string()));

    // Another institution does not see these returns.
    store.upsert_institution(&institution("12440100MB7654321Q", "广州市另一医院")).await.unwrap();
    let other_key = issue_key(store.as_ref(), "12440100MB7654321Q", &[tongdang_core::Scope::Submit], false).await;
    let (_, page) = read(s.request(Method::GET, "/api/v1/returns", Some(&other_key)).send().await.unwrap()).await;
    assert!(page["returns"].as_array().unwrap().is_empty(), "{page}");
    let (status, _) =
        read(s.request(Method::GET, &format!("/api/v1/returns/{id}"), Some(&other_key)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The figures followed: received, accepted, returned, by category and day.
    let (status, q) = s.get_json("/api/v1/quality/figures").await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(q["scope"], format!("institution:{CODE}"));
    assert_eq!(
        (q["total"]["received"].as_i64(), q["total"]["accepted"].as_i64(), q["total"]["returned"].as_i64()),
        (Some(6), Some(3), Some(3)),
        "{q}"
    );
    let lab = q["by_category"].as_array().unwrap().iter().find(|c| c["category"] == "lab").expect("lab").clone();
    assert_eq!((lab["received"].as_i64(), lab["returned"].as_i64()), (Some(3), Some(2)), "{lab}");
    assert!(lab["validity"].as_f64().unwrap() < 1.0);
    let patients = q["by_category"].as_array().unwrap().iter().find(|c| c["category"] == "patient").expect("patients").clone();
    assert_eq!((patients["received"].as_i64(), patients["label"].as_str()), (Some(1), Some("患者基本信息")), "{q}");
    let encounters = q["by_category"].as_array().unwrap().iter().find(|c| c["category"] == "encounter");
    assert!(encounters.is_none(), "no encounter was sent: {q}");
    assert_eq!(q["open_returns"]["count"], 0);
    assert_eq!(q["by_day"][0]["day"], today());
    // Residents and clinicians see none of it.
    let (status, _) =
        read(s.request(Method::GET, "/api/v1/quality/figures?city=guangzhou", Some(&s.key)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let token = operator(&s, &store).await;
    let (status, q) =
        read(s.request(Method::GET, "/api/v1/quality/figures?city=guangzhou", Some(&token)).send().await.unwrap()).await;
    assert_eq!((status, q["total"]["received"].as_i64()), (StatusCode::OK, Some(6)), "{q}");
    let (_, q) = read(s.request(Method::GET, "/api/v1/quality/figures?city=shenzhen", Some(&token)).send().await.unwrap()).await;
    assert_eq!(q["total"]["received"], 0, "{q}");
    let (status, q) =
        read(s.request(Method::GET, "/api/v1/quality/figures?from=2024-13-01", Some(&token)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
}

async fn reconciliation_finds_missing_extra_and_different(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    for id in ["e1", "e2", "e3"] {
        let (status, _, body) = s.put(&format!("/fhir/Encounter/{id}"), &encounter(id, "Patient/p1")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mut changed = encounter("e3", "Patient/p1");
    changed["status"] = json!("cancelled");
    s.put("/fhir/Encounter/e3", &changed).await;

    let post = |manifest: Value| {
        s.request(Method::POST, "/api/v1/reconciliation/manifests", Some(&s.key))
            .header("content-type", "application/json")
            .body(manifest.to_string())
    };
    let day = today();
    let manifest = json!({"day": day, "category": "encounter", "count": 3, "items": [
        {"type": "Encounter", "id": "e1", "version": 1},
        {"type": "Encounter", "id": "e3", "version": 1},
        {"type": "Encounter", "id": "e9"}]});
    let (status, r) = read(post(manifest).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!((r["listed"].as_i64(), r["held"].as_i64(), r["matched"].as_i64()), (Some(3), Some(3), Some(1)), "{r}");
    assert_eq!(r["result"]["missing"], json!(["Encounter/e9"]));
    assert_eq!(r["result"]["extra"], json!(["Encounter/e2"]));
    assert_eq!(r["result"]["differing"][0]["reference"], "Encounter/e3");
    assert_eq!(r["result"]["differing"][0]["held_version"], 2);
    assert_eq!(r["agrees"], false);
    let id = r["id"].as_i64().unwrap();
    let (status, listed) = s.get_json("/api/v1/reconciliation/manifests").await;
    assert_eq!((status, listed[0]["id"].as_i64()), (StatusCode::OK, Some(id)), "{listed}");
    let (_, one) = s.get_json(&format!("/api/v1/reconciliation/manifests/{id}")).await;
    assert_eq!(one["result"]["missing"], json!(["Encounter/e9"]));

    // The platform's receipt settles a day with one digest.
    let (status, receipt) = s.get_json(&format!("/api/v1/reconciliation/receipts?day={day}")).await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(receipt["total"]["count"], 3);
    let summary = receipt["total"]["summary"].as_str().unwrap().to_string();
    let (_, agrees) = read(post(json!({"day": day, "count": 3, "summary": summary})).send().await.unwrap()).await;
    assert_eq!(agrees["agrees"], true, "{agrees}");
    let (status, body) = read(post(json!({"day": day, "count": 3, "summary": "00"})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a summary is a SHA-256: {body}");
    let (_, differs) = read(post(json!({"day": day, "count": 3, "summary": "0".repeat(64)})).send().await.unwrap()).await;
    assert_eq!(
        (differs["agrees"].as_bool(), differs["result"]["summary_differs"].as_bool()),
        (Some(false), Some(true)),
        "{differs}"
    );

    // Bad manifests: a future day, another institution, a repeated id, a million ids.
    let (status, body) =
        read(post(json!({"day": "2999-01-01", "items": [{"type": "Encounter", "id": "e1"}]})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_api_error(&body, "future_day");
    let (status, _) = read(
        post(json!({"day": day, "institution": "12440100MB7654321Q", "items": [{"type": "Encounter", "id": "e1"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = read(
        post(json!({"day": day, "items": [{"type": "Encounter", "id": "e1"}, {"type": "Encounter", "id": "e1"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // (Short enough to be read whole, so the answer is the count's, not the body limit's.)
    let million: Vec<Value> = (0..1_000_000).map(|i| json!({"type": "E", "id": i.to_string()})).collect();
    let (status, body) = read(post(json!({"day": day, "items": million})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_api_error(&body, "too_large");
}

async fn rule_sets_are_tried_then_activated_and_recheck(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    // Thirty encounters; e7 has no end time.
    for n in 1..=30 {
        let id = format!("e{n}");
        let mut e = encounter(&id, "Patient/p1");
        if n == 7 {
            e["period"].as_object_mut().unwrap().remove("end");
        }
        let (status, _, body) = s.put(&format!("/fhir/Encounter/{id}"), &e).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let token = operator(&s, &store).await;
    let post = |set: Value, key: &str| s.request(Method::POST, "/api/v1/quality/rule-sets", Some(key)).body(set.to_string());

    // Institutions do not change rules.
    let (status, _) = read(post(json!({}), &s.key).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A set that would return every stored encounter is refused on its trial.
    let mut broken: Value = serde_json::from_str(include_str!("../../../govern/rules/default.json")).unwrap();
    broken["version"] = json!("2026.2-broken");
    broken["rules"].as_array_mut().unwrap().push(json!({"id": "QC-ENC-099", "category": "encounter", "severity": "error",
        "description": "就诊须有科室", "applies_to": ["Encounter"], "kind": "required", "path": "serviceType"}));
    let (status, body) = read(post(broken.clone(), &token).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_api_error(&body, "rule_set_refused");
    let (_, sets) = read(s.request(Method::GET, "/api/v1/quality/rule-sets", Some(&token)).send().await.unwrap()).await;
    assert_eq!(sets.as_array().unwrap().len(), 1, "{sets}");
    assert_eq!(sets[0]["status"], "builtin");

    // The same rule as a warning, and an error rule only e7 fails (1 of 30, under the 5 %
    // limit), pass the trial; the set becomes active and stored entries are re-checked.
    broken["version"] = json!("2026.2");
    let last = broken["rules"].as_array().unwrap().len() - 1;
    broken["rules"][last]["severity"] = json!("warning");
    broken["rules"].as_array_mut().unwrap().push(json!({"id": "QC-ENC-098", "category": "encounter", "severity": "error",
        "description": "就诊须有结束时间", "applies_to": ["Encounter"], "kind": "required", "path": "period.end"}));
    let (status, body) = read(post(broken, &token).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "active");
    assert_eq!((body["trial"]["sampled"].as_i64(), body["trial"]["returned"].as_i64()), (Some(31), Some(1)), "{body}");
    let (status, body) = read(post(json!({"version": "2026.2", "rules": []}), &token).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The re-check runs in the background, with progress.
    let mut done = Value::Null;
    for _ in 0..100 {
        let (_, v) = read(s.request(Method::GET, "/api/v1/quality/rule-sets/2026.2", Some(&token)).send().await.unwrap()).await;
        if v["recheck"]["finished_at"].is_string() {
            done = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!((done["recheck"]["done"].as_i64(), done["recheck"]["returned"].as_i64()), (Some(30), Some(1)), "{done}");
    assert_eq!(done["recheck"]["progress"], 1.0);
    // The stored e7 stays in the record, and its source has a return to fix.
    let (_, page) = s.get_json("/api/v1/returns?status=open").await;
    let list = page["returns"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{page}");
    assert_eq!((list[0]["source_id"].as_str(), list[0]["origin"].as_str()), (Some("e7"), Some("recheck")));
    assert_eq!((list[0]["rules"][0].as_str(), list[0]["rule_set"].as_str()), (Some("QC-ENC-098"), Some("2026.2")));
    // New submissions are checked by the new set: the warning shows in the answer, the error refuses.
    let (status, _, outcome) = s.put("/fhir/Encounter/e31", &encounter("e31", "Patient/p1")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(outcome.to_string().contains("QC-ENC-099"), "{outcome}");
    let mut open_ended = encounter("e32", "Patient/p1");
    open_ended["period"].as_object_mut().unwrap().remove("end");
    let (status, _, outcome) = s.put("/fhir/Encounter/e32", &open_ended).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    // Fixing e7 closes its return.
    let (status, _, _) = s.put("/fhir/Encounter/e7", &encounter("e7", "Patient/p1")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = s.get_json("/api/v1/returns?status=open&rule=QC-ENC-098").await;
    assert_eq!(page["returns"].as_array().unwrap().len(), 1, "only e32 is open: {page}");
    assert_eq!(page["returns"][0]["source_id"], "e32");
}

async fn returns_follow_the_last_outcome_of_each_resource(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    let now = Timestamp::now().to_rfc3339_cst();
    let bad = |id: &str| glucose(id, "Patient/p1", 5.4, "毫摩尔每升", &now);
    let good = |id: &str| glucose(id, "Patient/p1", 5.4, "mmol/L", &now);
    // One stream: g1 fails twice, g2 fails then is corrected, g3 is fine.
    let lines: Vec<String> = [bad("g1"), bad("g2"), bad("g1"), good("g2"), good("g3")].iter().map(Value::to_string).collect();
    let (status, summary) = s.ingest((lines.join("\n") + "\n").as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let (_, page) = s.get_json("/api/v1/returns").await;
    let list = page["returns"].as_array().unwrap();
    assert_eq!(list.len(), 1, "g2 ended accepted: {page}");
    assert_eq!((list[0]["source_id"].as_str(), list[0]["attempts"].as_i64()), (Some("g1"), Some(2)), "{page}");

    // A transaction: the culprit is returned, the entry that references it is not.
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:3f1c0b4e-0000-4000-8000-000000000001", "resource": {"resourceType": "Encounter", "id": "enc-bad", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}, "subject": {"reference": "Patient/p1"},
            "period": {"start": "2999-01-01T09:00:00+08:00"}}, "request": {"method": "PUT", "url": "Encounter/enc-bad"}},
        {"resource": {"resourceType": "Condition", "id": "dx-1", "subject": {"reference": "Patient/p1"},
            "encounter": {"reference": "urn:uuid:3f1c0b4e-0000-4000-8000-000000000001"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9"}]}, "recordedDate": "2024-10-03"},
            "request": {"method": "PUT", "url": "Condition/dx-1"}}]});
    let (status, outcome) = s.post_bundle(&tx).await;
    assert!(status.is_client_error(), "{outcome}");
    let (_, page) = s.get_json("/api/v1/returns?status=open").await;
    let ids: Vec<&str> = page["returns"].as_array().unwrap().iter().filter_map(|r| r["source_id"].as_str()).collect();
    assert_eq!(ids, ["enc-bad", "g1"], "{page}");

    // A POST without an id: answered, but no return that nothing could close.
    let mut anonymous = bad("x");
    anonymous.as_object_mut().unwrap().remove("id");
    let r = s.fhir_write(Method::POST, "/fhir/Observation", &s.key, &anonymous).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, page) = s.get_json("/api/v1/returns?status=open").await;
    assert_eq!(page["returns"].as_array().unwrap().len(), 2, "{page}");
    // Bad queries answer in the API's error shape.
    let (status, body) = s.get_json("/api/v1/returns?limit=many").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_api_error(&body, "bad_query");
    let (status, body) = s.get_json("/api/v1/returns?rule=%25").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_api_error(&body, "bad_rule");
}

tongdang_testkit::backend_tests!(
    returns_follow_the_last_outcome_of_each_resource,
    returns_are_opened_answered_and_closed_by_resubmission,
    reconciliation_finds_missing_extra_and_different,
    rule_sets_are_tried_then_activated_and_recheck,
);
