//! Single resources over FHIR REST: `PUT /fhir/{type}/{id}`, what it answers, what it stores, and
//! every way a submission is refused.

use crate::common::*;
use reqwest::header::{CONTENT_TYPE, ETAG};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_store::{ProtectedStore, Store};

/// A Chinese resident is created (201), resent unchanged (200, still version 1), changed (200,
/// version 2); an Encounter naming her by the hospital's id lands in her record.
async fn put_creates_keeps_and_versions(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let base = s.fhir_base();

    let (status, headers, outcome) = s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    assert_eq!(status, StatusCode::CREATED, "{outcome}");
    let (rt, person, version) = location(&headers);
    assert_eq!((rt.as_str(), version.as_str()), ("Patient", "1"));
    assert!(person.parse::<i64>().is_ok(), "the platform's Patient id is the person's: {person}");
    assert_eq!(headers["location"].to_str().unwrap(), format!("{base}/Patient/{person}/_history/1"));
    assert_eq!(headers[ETAG].to_str().unwrap(), "W/\"1\"");
    assert!(headers[CONTENT_TYPE].to_str().unwrap().starts_with("application/fhir+json"));
    // A valid ID number and health code raise no warnings.
    assert_eq!(issue_codes(&outcome), ["informational"], "{outcome}");
    assert_eq!(outcome["issue"][0]["severity"], "information");

    // The same body again: nothing new.
    let (status, headers, outcome) = s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(headers["location"].to_str().unwrap(), format!("{base}/Patient/{person}/_history/1"));
    assert_eq!(headers[ETAG].to_str().unwrap(), "W/\"1\"");

    // A change: version 2 of the same person.
    let mut changed = chinese_patient("p1");
    changed["telecom"] = json!([{"system": "phone", "value": "13800138000"}]);
    let (status, headers, outcome) = s.put("/fhir/Patient/p1", &changed).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(headers["location"].to_str().unwrap(), format!("{base}/Patient/{person}/_history/2"));
    assert_eq!(headers[ETAG].to_str().unwrap(), "W/\"2\"");
    assert_eq!(store.counts().await.unwrap().persons, 1);

    s.grant_everyone().await;
    let (status, patient) = s.get_json(&format!("/fhir/Patient/{person}")).await;
    assert_eq!(status, StatusCode::OK, "{patient}");
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(patient["id"], person.as_str());
    assert_eq!(patient["name"][0]["text"], "张伟");
    assert_eq!(patient["telecom"][0]["value"], "13800138000", "the latest version is shown");
    let ids = patient["identifier"].as_array().unwrap();
    assert!(ids.contains(&json!({"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID})), "{ids:?}");
    assert!(ids.contains(&json!({"system": HEALTH_CODE_SYSTEM, "value": HEALTH_CODE})), "{ids:?}");

    // Found by her ID number.
    let (status, found) = s.get_json(&format!("/fhir/Patient?identifier={NATIONAL_ID_SYSTEM}|{NATIONAL_ID}")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!((found["resourceType"].as_str(), found["type"].as_str()), (Some("Bundle"), Some("searchset")));
    let hits = entries(&found);
    assert_eq!(hits.len(), 1, "{found}");
    assert_eq!(hits[0]["resource"]["id"], person.as_str());
    assert_eq!(hits[0]["fullUrl"], format!("{base}/Patient/{person}"));
    let (_, found) = s.get_json(&format!("/fhir/Patient?identifier={HEALTH_CODE_SYSTEM}|{HEALTH_CODE}")).await;
    assert_eq!(entries(&found).len(), 1, "and by her health code: {found}");
    let (_, found) = s.get_json(&format!("/fhir/Patient?identifier={NATIONAL_ID_SYSTEM}|{NATIONAL_ID_2}")).await;
    assert_eq!(entries(&found).len(), 0, "{found}");

    // An Encounter naming Patient/p1 (the hospital's id) is filed under the person.
    let (status, headers, outcome) = s.put("/fhir/Encounter/e1", &encounter("e1", "Patient/p1")).await;
    assert_eq!(status, StatusCode::CREATED, "{outcome}");
    let (rt, id, version) = location(&headers);
    assert_eq!((rt.as_str(), version.as_str()), ("Encounter", "1"));
    assert_eq!(headers["location"].to_str().unwrap(), format!("{base}/Encounter/{id}/_history/1"));
    let (status, stored) = s.get_json(&format!("/fhir/Encounter/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["resourceType"], "Encounter");
    assert_eq!(stored["id"], id.as_str());
    assert_eq!(stored["subject"]["reference"], format!("Patient/{person}"));
    assert_eq!(stored["meta"]["versionId"], "1");
    assert_eq!(stored["meta"]["source"], format!("urn:tongdang:institution:{CODE}"));
    assert_eq!(stored["period"]["start"], "2024-10-03T09:00:00+08:00", "content is kept as sent");

    // Read as the wrong type, or an id that is not the platform's: 404.
    for path in [format!("/fhir/Condition/{id}"), "/fhir/Encounter/e1".to_string(), "/fhir/Encounter/999999999".to_string()] {
        let (status, body) = s.get_json(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_outcome(&body, "not-found");
    }
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.persons, counts.entries), (1, 1));
}

/// `PUT` with `key`, returning status and body.
async fn put_raw(s: &Server, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
    let r = s.request(Method::PUT, path, Some(&s.key)).header(CONTENT_TYPE, content_type).body(body).send().await.unwrap();
    read(r).await
}

/// Every kind of bad submission gets its status and an OperationOutcome naming the problem, and
/// none of them stores anything.
async fn bad_puts_are_refused(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let (status, _, _) = s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    assert_eq!(status, StatusCode::CREATED);
    let before = store.counts().await.unwrap();

    // The id in the URL is not the body's.
    let (status, _, body) = s.put("/fhir/Encounter/e1", &encounter("e9", "Patient/p1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_outcome(&body, "invalid");
    assert_eq!(expressions(&body), ["Encounter.id"]);

    // The body is not the type the URL names.
    let (status, _, body) = s.put("/fhir/Encounter/p1", &chinese_patient("p1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_outcome(&body, "invalid");
    assert_eq!(expressions(&body), ["resourceType"]);
    assert!(body["issue"][0]["diagnostics"].as_str().unwrap().contains("Encounter"), "{body}");

    // A type the server does not hold.
    for path in ["/fhir/Foo/x", "/fhir/Claim/x"] {
        let (status, _, body) = s.put(path, &json!({"resourceType": "Foo", "id": "x"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_outcome(&body, "not-supported");
    }

    // Invalid R4: every problem named by its path.
    let observation = json!({"resourceType": "Observation", "id": "o1", "subject": {"reference": "Patient/p1"}});
    let (status, _, body) = s.put("/fhir/Observation/o1", &observation).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let paths = expressions(&body);
    assert!(paths.contains(&"Observation.status".to_string()), "{paths:?}");
    assert!(paths.contains(&"Observation.code".to_string()), "{paths:?}");
    assert!(body["issue"].as_array().unwrap().iter().all(|i| i["severity"] == "error"), "{body}");

    // A reference to a Patient this institution never submitted.
    let (status, _, body) = s.put("/fhir/Encounter/e2", &encounter("e2", "Patient/nobody")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_outcome(&body, "not-found");
    assert_eq!(expressions(&body), ["Encounter.subject.reference"]);
    // The message names the element, never the submitted value (it may carry an ID number).
    let said = body["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(said.contains("does not resolve") && !said.contains("nobody"), "{body}");

    // Not JSON.
    let (status, body) = put_raw(&s, "/fhir/Patient/p2", "application/fhir+json", r#"{"resourceType":"Patient","#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_outcome(&body, "structure");
    // JSON, but not a resource.
    let (status, body) = put_raw(&s, "/fhir/Patient/p2", "application/json", "[1,2]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_outcome(&body, "structure");
    // Not UTF-8.
    let (status, body) =
        put_raw(&s, "/fhir/Patient/p2", "application/fhir+json", b"{\"resourceType\":\"Patient\xff\"}".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_outcome(&body, "structure");

    // Not FHIR JSON at all.
    let (status, body) = put_raw(&s, "/fhir/Patient/p2", "text/plain", chinese_patient("p2").to_string()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_outcome(&body, "not-supported");
    let (status, body) = read(
        s.request(Method::POST, "/fhir", Some(&s.key))
            .header(CONTENT_TYPE, "application/xml")
            .body("<Bundle/>")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_outcome(&body, "not-supported");

    assert_eq!(store.counts().await.unwrap(), before, "nothing refused was stored");
}

/// A body over `fhir_body_bytes` is refused with 413 before it is parsed; one under it is taken.
async fn fhir_bodies_over_the_limit_are_refused(store: Arc<ProtectedStore>) {
    let s = Server::start_with(store.clone(), |state| state.limits.fhir_body_bytes = 10_000).await;
    let mut big = chinese_patient("p1");
    big["text"] =
        json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div>", "档".repeat(5000))});
    assert!(big.to_string().len() > 10_000);
    let (status, _, body) = s.put("/fhir/Patient/p1", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_outcome(&body, "too-long");
    let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": big, "request": {"method": "PUT", "url": "Patient/p1"}}
    ]});
    let (status, body) = s.post_bundle(&bundle).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_outcome(&body, "too-long");
    // Streamed without a Content-Length, the limit holds all the same.
    let text = bundle.to_string();
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> =
        text.as_bytes().chunks(4096).map(|c| Ok(bytes::Bytes::copy_from_slice(c))).collect();
    let r = s
        .request(Method::POST, "/fhir", Some(&s.key))
        .header(CONTENT_TYPE, "application/fhir+json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    let (status, body) = read(r).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_outcome(&body, "too-long");
    assert_eq!(store.counts().await.unwrap().persons, 0);

    let (status, _, body) = s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    assert_eq!(status, StatusCode::CREATED, "a body under the limit is taken: {body}");
}

tongdang_testkit::backend_tests!(put_creates_keeps_and_versions, bad_puts_are_refused, fhir_bodies_over_the_limit_are_refused);
