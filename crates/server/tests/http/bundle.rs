//! `POST /fhir` with `batch` and `transaction` Bundles.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_store::{ProtectedStore, Store};

const PATIENT_URN: &str = "urn:uuid:6f1c2d3e-4b5a-4c6d-8e7f-901234567890";
const ENCOUNTER_URN: &str = "urn:uuid:0a1b2c3d-4e5f-4a6b-8c7d-e8f901234567";

/// A Patient created by POST and named by its fullUrl, an Encounter referencing it by that
/// fullUrl, and (if `bad`) an Observation that is not valid R4.
fn bundle(kind: &str, national_id: &str, bad: bool) -> Value {
    let mut patient = chinese_patient("ignored");
    patient.as_object_mut().unwrap().remove("id");
    patient["identifier"] = json!([{"system": NATIONAL_ID_SYSTEM, "value": national_id}]);
    let mut enc = encounter("ignored", PATIENT_URN);
    enc.as_object_mut().unwrap().remove("id");
    let mut entry = vec![
        json!({"fullUrl": PATIENT_URN, "resource": patient, "request": {"method": "POST", "url": "Patient"}}),
        json!({"fullUrl": ENCOUNTER_URN, "resource": enc, "request": {"method": "POST", "url": "Encounter"}}),
    ];
    if bad {
        entry.push(json!({
            "resource": {"resourceType": "Observation", "id": "o1", "subject": {"reference": PATIENT_URN}},
            "request": {"method": "PUT", "url": "Observation/o1"}
        }));
    }
    json!({"resourceType": "Bundle", "type": kind, "entry": entry})
}

/// `(type, id, version)` of a response entry's `location` (`Type/id/_history/n`).
fn response_location(entry: &Value) -> (String, String, String) {
    let text = entry["response"]["location"].as_str().unwrap_or_else(|| panic!("no location: {entry}"));
    let parts: Vec<&str> = text.split('/').collect();
    assert_eq!((parts.len(), parts[2]), (4, "_history"), "{text}");
    (parts[0].to_string(), parts[1].to_string(), parts[3].to_string())
}

async fn identifier_hits(s: &Server, national_id: &str) -> usize {
    let (status, found) = s.get_json(&format!("/fhir/Patient?identifier={NATIONAL_ID_SYSTEM}|{national_id}")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    entries(&found).len()
}

/// In a batch each entry stands alone: the good ones are stored and readable, the bad one gets
/// its own 400 with an outcome located in the Bundle. Resending the batch duplicates nothing.
async fn batch_entries_stand_alone(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let base = s.fhir_base();
    let (status, answer) = s.post_bundle(&bundle("batch", NATIONAL_ID, true)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["resourceType"].as_str(), answer["type"].as_str()), (Some("Bundle"), Some("batch-response")));
    let results = entries(&answer);
    assert_eq!(results.len(), 3, "one response per entry, in order: {answer}");

    assert_eq!(results[0]["response"]["status"], "201 Created", "{answer}");
    let (rt, person, version) = response_location(&results[0]);
    assert_eq!((rt.as_str(), version.as_str()), ("Patient", "1"));
    assert_eq!(results[0]["fullUrl"], format!("{base}/Patient/{person}"));
    assert_eq!(results[0]["response"]["etag"], "W/\"1\"");

    assert_eq!(results[1]["response"]["status"], "201 Created", "{answer}");
    let (rt, encounter_id, version) = response_location(&results[1]);
    assert_eq!((rt.as_str(), version.as_str()), ("Encounter", "1"));
    assert_eq!(results[1]["fullUrl"], format!("{base}/Encounter/{encounter_id}"));

    let bad = &results[2]["response"];
    assert_eq!(bad["status"], "400 Bad Request", "{answer}");
    s.grant_everyone().await;
    assert!(bad.get("location").is_none() && results[2].get("fullUrl").is_none(), "{answer}");
    let paths = expressions(&bad["outcome"]);
    assert!(!paths.is_empty(), "{answer}");
    assert!(paths.iter().all(|p| p.starts_with("Bundle.entry[2].resource")), "{paths:?}");
    assert!(paths.iter().any(|p| p.ends_with(".status")) && paths.iter().any(|p| p.ends_with(".code")), "{paths:?}");

    // The good ones are there, the Encounter in the Patient's record.
    let (status, patient) = s.get_json(&format!("/fhir/Patient/{person}")).await;
    assert_eq!(status, StatusCode::OK, "{patient}");
    assert_eq!(patient["name"][0]["text"], "张伟");
    let (status, enc) = s.get_json(&format!("/fhir/Encounter/{encounter_id}")).await;
    assert_eq!(status, StatusCode::OK, "{enc}");
    assert_eq!(enc["subject"]["reference"], format!("Patient/{person}"));
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.persons, counts.entries), (1, 1));

    // The same batch again: the POST entries are known by their fullUrls, so nothing is new.
    let (status, again) = s.post_bundle(&bundle("batch", NATIONAL_ID, true)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let results = entries(&again);
    assert_eq!(results[0]["response"]["status"], "200 OK", "{again}");
    assert_eq!(response_location(&results[0]), ("Patient".into(), person.clone(), "1".into()));
    assert_eq!(results[1]["response"]["status"], "200 OK", "{again}");
    assert_eq!(response_location(&results[1]), ("Encounter".into(), encounter_id.clone(), "1".into()));
    assert_eq!(results[2]["response"]["status"], "400 Bad Request");
    assert_eq!(store.counts().await.unwrap(), counts);
}

/// A transaction is all or nothing: one bad entry and nothing is stored; all good and all is.
async fn transactions_are_all_or_nothing(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let before = store.counts().await.unwrap();

    // An invalid entry: 400, its issues located in the Bundle, nothing stored.
    let (status, outcome) = s.post_bundle(&bundle("transaction", NATIONAL_ID_2, true)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    let paths = expressions(&outcome);
    assert!(!paths.is_empty() && paths.iter().all(|p| p.starts_with("Bundle.entry[2].resource")), "{outcome}");
    assert_eq!(paths.len(), outcome["issue"].as_array().unwrap().len(), "only the cause is reported: {outcome}");
    assert_eq!(store.counts().await.unwrap(), before);
    assert_eq!(identifier_hits(&s, NATIONAL_ID_2).await, 0);

    // An entry whose reference resolves to nothing: 422, not-found, nothing stored.
    let mut dangling = bundle("transaction", NATIONAL_ID_2, false);
    dangling["entry"].as_array_mut().unwrap().push(json!({
        "resource": encounter("e-dangling", "Patient/never-sent"),
        "request": {"method": "PUT", "url": "Encounter/e-dangling"}
    }));
    let (status, outcome) = s.post_bundle(&dangling).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert_eq!(issue_codes(&outcome), ["not-found"], "{outcome}");
    assert_eq!(expressions(&outcome), ["Bundle.entry[2].resource.subject.reference"]);
    assert_eq!(store.counts().await.unwrap(), before);
    assert_eq!(identifier_hits(&s, NATIONAL_ID_2).await, 0);

    // All good: 200 transaction-response, everything stored.
    let (status, answer) = s.post_bundle(&bundle("transaction", NATIONAL_ID_2, false)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["resourceType"].as_str(), answer["type"].as_str()), (Some("Bundle"), Some("transaction-response")));
    let results = entries(&answer);
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r["response"]["status"] == "201 Created"), "{answer}");
    let (_, person, _) = response_location(&results[0]);
    let (rt, encounter_id, _) = response_location(&results[1]);
    assert_eq!(rt, "Encounter");
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.persons - before.persons, counts.entries - before.entries), (1, 1));
    assert_eq!(identifier_hits(&s, NATIONAL_ID_2).await, 1);
    s.grant_everyone().await;
    let (_, enc) = s.get_json(&format!("/fhir/Encounter/{encounter_id}")).await;
    assert_eq!(enc["subject"]["reference"], format!("Patient/{person}"));
}

/// Only batch and transaction Bundles, and only Bundles, are submitted at the base.
async fn other_bundles_are_refused(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let mut collection = bundle("batch", NATIONAL_ID, false);
    collection["type"] = json!("collection");
    let (status, outcome) = s.post_bundle(&collection).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert_outcome(&outcome, "not-supported");
    assert_eq!(expressions(&outcome), ["Bundle.type"]);

    let (status, outcome) = s.post_bundle(&chinese_patient("p1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert_outcome(&outcome, "structure");

    let mut untyped = bundle("batch", NATIONAL_ID, false);
    untyped.as_object_mut().unwrap().remove("type");
    let (status, outcome) = s.post_bundle(&untyped).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert_outcome(&outcome, "required");
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.persons, counts.entries), (0, 0));
}

/// As with `PUT /fhir/{type}/{id}`, an entry's `request.url` names its resource: an entry whose
/// resource is of another type or has another id is refused, not stored under a name the client
/// did not ask for.
async fn request_urls_must_match_their_entries(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let put = |resource: Value, url: &str| json!({"resource": resource, "request": {"method": "PUT", "url": url}});
    let post = |resource: Value, url: &str| json!({"resource": resource, "request": {"method": "POST", "url": url}});
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        put(chinese_patient("p1"), "Patient/p1"),
        put(encounter("e1", "Patient/p1"), "Encounter/other-id"),
        put(encounter("e2", "Patient/p1"), "Condition/e2"),
        post(encounter("e3", "Patient/p1"), "Condition"),
        put(encounter("e4", "Patient/p1"), "Encounter/e4"),
        post(encounter("e5", "Patient/p1"), "Encounter"),
    ]});
    let (status, answer) = s.post_bundle(&batch).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = entries(&answer);
    let statuses: Vec<&str> = results.iter().map(|e| e["response"]["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201 Created", "400 Bad Request", "400 Bad Request", "400 Bad Request", "201 Created", "201 Created"]);
    for (n, result) in results.iter().enumerate().take(4).skip(1) {
        let outcome = &result["response"]["outcome"];
        assert_eq!(expressions(outcome), [format!("Bundle.entry[{n}].request.url")], "{outcome}");
        assert_eq!(issue_codes(outcome), ["invalid"]);
    }
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.persons, counts.entries), (1, 2));

    // In a transaction, one such entry refuses the whole.
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        put(encounter("e6", "Patient/p1"), "Encounter/e6"),
        put(encounter("e7", "Patient/p1"), "Encounter/e8"),
    ]});
    let (status, outcome) = s.post_bundle(&transaction).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert_eq!(expressions(&outcome), ["Bundle.entry[1].request.url"]);
    assert_eq!(store.counts().await.unwrap(), counts);
}

/// A PUT entry whose resource has no id takes it from request.url, as FHIR says; resending it
/// then updates the same resource. Identifier search accepts any spelling of a strong identifier.
async fn put_entries_take_their_id_from_the_url(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [{
        "resource": {"resourceType": "Patient", "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID}], "name": [{"text": "张伟"}]},
        "request": {"method": "PUT", "url": "Patient/from-url"}
    }]});
    let (status, first) = s.post_bundle(&bundle).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(entries(&first)[0]["response"]["status"], "201 Created", "{first}");
    let (status, again) = s.post_bundle(&bundle).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(entries(&again)[0]["response"]["status"], "200 OK", "the same source id, so unchanged: {again}");
    assert_eq!(response_location(&entries(&first)[0]), response_location(&entries(&again)[0]));
    assert_eq!(store.counts().await.unwrap().persons, 1);
    // Stored as 11010519491231002X; found however the check character is written.
    assert_eq!(identifier_hits(&s, &NATIONAL_ID.to_ascii_lowercase()).await, 1);
}

tongdang_testkit::backend_tests!(
    put_entries_take_their_id_from_the_url,
    batch_entries_stand_alone,
    transactions_are_all_or_nothing,
    other_bundles_are_refused,
    request_urls_must_match_their_entries,
);
