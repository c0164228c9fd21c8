//! Operations' endpoints: `/healthz`, `/readyz`, and `/metrics` in the Prometheus text format,
//! labelled by route pattern (never by path, which carries ids), with submission outcomes per
//! source and the work orders and open returns counted at scrape time.

use crate::common::*;
use reqwest::{Method, StatusCode};
use std::sync::Arc;
use tongdang_store::ProtectedStore;

async fn metrics_readiness_and_health(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    let (status, _, _) = s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    assert_eq!(status, StatusCode::CREATED);
    s.put("/fhir/Encounter/e1", &encounter("e1", "Patient/p1")).await;
    s.put("/fhir/Encounter/e1", &encounter("e1", "Patient/p1")).await;
    let mut bad = encounter("e2", "Patient/p1");
    bad["period"]["start"] = serde_json::json!("2999-01-01T00:00:00+08:00");
    s.put("/fhir/Encounter/e2", &bad).await;
    for path in ["/healthz", "/readyz"] {
        let r = s.request(Method::GET, path, None).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let r = s.request(Method::GET, "/metrics", None).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().contains("openmetrics"));
    let text = r.text().await.unwrap();
    for needle in [
        &format!(r#"tongdang_submitted_items_total{{institution="{CODE}",outcome="stored"}} 2"#),
        &format!(r#"tongdang_submitted_items_total{{institution="{CODE}",outcome="unchanged"}} 1"#),
        &format!(r#"tongdang_submitted_items_total{{institution="{CODE}",outcome="refused"}} 1"#),
        r#"tongdang_http_requests_total{route="/fhir/{type}/{id}",method="PUT",status="201"} 2"#,
        "tongdang_http_request_duration_seconds_bucket{",
        "tongdang_open_returns 1",
    ] {
        assert!(text.contains(needle), "{needle} in:\n{text}");
    }
    assert!(!text.contains("/fhir/Encounter/e1"), "paths never label a figure");
}

tongdang_testkit::backend_tests!(metrics_readiness_and_health,);
