//! Answers a careful client relies on: withdrawn entries stay out of ordinary reads, unknown
//! routes and methods answer in each surface's error shape, and search parameters combine as
//! FHIR says (repeats AND, commas OR; codes and categories apart).

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::Arc;
use tongdang_store::ProtectedStore;

async fn withdrawn_entries_are_not_read(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    let (_, headers, _) = s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    let (_, person, _) = location(&headers);
    let (status, headers, _) = s.put("/fhir/Encounter/e1", &encounter("e1", "Patient/p1")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, id, _) = location(&headers);
    let mut withdrawn = encounter("e1", "Patient/p1");
    withdrawn["status"] = json!("entered-in-error");
    let (status, _, body) = s.put("/fhir/Encounter/e1", &withdrawn).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s.grant_everyone().await;
    let (status, body) = s.get_json(&format!("/fhir/Encounter/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_outcome(&body, "not-found");
    let (_, timeline) = s.get_json(&format!("/api/v1/persons/{person}/timeline")).await;
    assert_eq!(timeline["entries"].as_array().unwrap().len(), 0, "{timeline}");
}

async fn unknown_routes_answer_in_shape(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    let (status, body) = read(s.request(Method::GET, "/api/v1/nothing-here", Some(&s.key)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_api_error(&body, "not_found");
    let (status, body) = read(s.request(Method::DELETE, "/fhir/Patient/1", Some(&s.key)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_outcome(&body, "not-supported");
    let (status, body) =
        read(s.request(Method::GET, "/fhir/Patient/1/_history/1/extra", Some(&s.key)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_outcome(&body, "not-found");
    let (status, body) = read(s.request(Method::DELETE, "/api/v1/ingest", Some(&s.key)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_api_error(&body, "method_not_allowed");
}

async fn search_parameters_combine_as_fhir_says(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    let (_, headers, _) = s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    let (_, person, _) = location(&headers);
    let obs = |id: &str, code: &str, category: &str| {
        json!({"resourceType": "Observation", "id": id, "status": "final", "subject": {"reference": "Patient/p1"},
               "effectiveDateTime": "2024-10-03T09:00:00+08:00",
               "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}],
               "code": {"coding": [{"system": "http://loinc.org", "code": code}]}})
    };
    for (id, code, cat) in [("o1", "718-7", "laboratory"), ("o2", "8480-6", "vital-signs"), ("o3", "procedure", "procedure")] {
        let (status, _, body) = s.put(&format!("/fhir/Observation/{id}"), &obs(id, code, cat)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert_eq!(count(&s, &person, "code=718-7,8480-6").await, 2, "commas are alternatives");
    assert_eq!(count(&s, &person, "code=718-7&code=8480-6").await, 0, "repeats must all match");
    assert_eq!(count(&s, &person, "code=laboratory").await, 0, "a category coding is not a code");
    assert_eq!(count(&s, &person, "category=laboratory").await, 1);
    assert_eq!(count(&s, &person, "category=procedure").await, 1, "a bare token is the resource's own category coding");
    assert_eq!(count(&s, &person, "category=urn:tongdang:category|physical_exam").await, 1, "the record category by its system");
    assert_eq!(count(&s, &person, "code=718-7&category=vital-signs").await, 0);
    assert_eq!(
        count(&s, &person, "category=urn:tongdang:category|lab&category=urn:tongdang:category|physical_exam").await,
        0,
        "disjoint record categories leave nothing"
    );
    // o1 (laboratory) and o3 (procedure) file under lab, o2 (vital signs) under physical_exam.
    assert_eq!(
        count(&s, &person, "category=urn:tongdang:category|lab,urn:tongdang:category|physical_exam").await,
        3,
        "alternatives within one parameter"
    );
}

async fn count(s: &Server, person: &str, q: &str) -> usize {
    s.grant_everyone().await;
    let (status, body) = s.get_json(&format!("/fhir/Observation?patient={person}&{q}")).await;
    assert_eq!(status, StatusCode::OK, "{q}: {body}");
    entries(&body).len()
}

tongdang_testkit::backend_tests!(
    withdrawn_entries_are_not_read,
    unknown_routes_answer_in_shape,
    search_parameters_combine_as_fhir_says
);
