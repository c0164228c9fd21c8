//! Evaluation reports, roll-out tracking and the monitoring overview over HTTP: an operator
//! generates a report and reads it as HTML and PDF; an empty month is a valid, empty report; the
//! monthly schedule keeps one report per period and scope; a city operator sees its city; the
//! roll-out counts connected and live institutions against the plan; the overview shows the
//! submissions just made.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_access::signin::Accounts;
use tongdang_core::{City, ConnectionMode, InstitutionKind, Role, Scope, Timestamp};
use tongdang_reports::Period;
use tongdang_store::{ProtectedStore, Store};

const PASSWORD: &str = "correct horse battery staple";
const MEMBER: &str = "12440100MB7654321Q";
const PLATFORM: &str = "GZ-CITY-PLATFORM";
const SHENZHEN: &str = "12440300MB0000001A";

struct Ctx {
    s: Server,
}

async fn setup(store: Arc<ProtectedStore>) -> Ctx {
    let s = Server::start(store.clone()).await;
    let (status, _, body) = s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _, body) = s.put("/fhir/Encounter/e1", &encounter("e1", "Patient/p1")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let accounts = Accounts::new(store.clone());
    let mut platform = institution(PLATFORM, "广州市全民健康信息平台");
    platform.kind = InstitutionKind::CityPlatform;
    store.upsert_institution(&platform).await.unwrap();
    let mut member = institution(MEMBER, "广州市经市平台医院");
    member.connection = ConnectionMode::ViaCityPlatform;
    member.level = tongdang_core::Level::Secondary;
    store.upsert_institution(&member).await.unwrap();
    let mut shenzhen = institution(SHENZHEN, "深圳市<b>测试</b>医院");
    shenzhen.city = City::Shenzhen;
    store.upsert_institution(&shenzhen).await.unwrap();
    accounts.create("gz-ops", "广州市运营", PASSWORD, Role::CityOperator, Some(PLATFORM), None, None).await.unwrap();
    accounts.create("gd-ops", "省运营", PASSWORD, Role::ProvincialOperator, None, None, None).await.unwrap();
    accounts.create("auditor", "审计", PASSWORD, Role::Auditor, None, None, None).await.unwrap();
    Ctx { s }
}

impl Ctx {
    async fn token(&self, login: &str) -> String {
        self.s.token(login, PASSWORD).await
    }

    async fn call(&self, method: Method, token: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut r = self.s.request(method, path, Some(token));
        if let Some(b) = body {
            r = r.json(&b);
        }
        read(r.send().await.unwrap()).await
    }

    async fn bytes(&self, token: &str, path: &str) -> (StatusCode, String, Vec<u8>) {
        let r = self.s.request(Method::GET, path, Some(token)).send().await.unwrap();
        let status = r.status();
        let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (status, kind, r.bytes().await.unwrap().to_vec())
    }
}

async fn reports_are_generated_kept_and_read_by_scope(store: Arc<ProtectedStore>) {
    let c = setup(store.clone()).await;
    let operator = c.token("gd-ops").await;
    let this_month = Period::containing(Timestamp::now()).to_string();

    let (status, report) = c.call(Method::POST, &operator, "/api/v1/reports", Some(json!({"period": this_month}))).await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    assert_eq!((report["scope"].as_str(), report["scheduled"].as_bool()), (Some("province"), Some(false)));
    assert_eq!(report["summary"]["totals"]["received"], 2, "{report}");
    assert_eq!(report["summary"]["empty"], false);
    let pdf_path =
        report["pdf"].as_str().unwrap_or_else(|| panic!("no PDF: scripts/test installs fonts-wqy-microhei ({report})"));
    let (status, kind, html) = c.bytes(&operator, report["html"].as_str().unwrap()).await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "text/html; charset=utf-8"));
    for want in [NAME, "地市排名", "评分方法", "<svg", "深圳市&lt;b&gt;测试&lt;/b&gt;医院"] {
        assert!(html.contains(want), "{want} missing from the report");
    }
    assert!(!html.contains("<b>测试</b>"), "names are escaped");
    let (status, kind, pdf) = c.bytes(&operator, pdf_path).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));

    // A month with no data: a valid, empty report.
    let (status, empty) = c.call(Method::POST, &operator, "/api/v1/reports", Some(json!({"period": "2024-10"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{empty}");
    assert_eq!(empty["summary"]["empty"], true, "{empty}");
    let (_, _, html) = c.bytes(&operator, empty["html"].as_str().unwrap()).await;
    assert!(String::from_utf8(html).unwrap().contains("这是一份有效的空报告"));

    for (body, code) in [
        (json!({"period": "2024-13"}), "bad_period"),
        (json!({"period": "2099-01"}), "future_period"),
        (json!({"period": "2024-10", "city": "北京市"}), "bad_city"),
    ] {
        let (status, err) = c.call(Method::POST, &operator, "/api/v1/reports", Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_api_error(&err, code);
    }

    // A city operator generates and reads its own city's reports, and the province's.
    let city = c.token("gz-ops").await;
    let (status, _) = c.call(Method::POST, &city, "/api/v1/reports", Some(json!({"period": this_month, "city": "深圳市"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, own) =
        c.call(Method::POST, &city, "/api/v1/reports", Some(json!({"period": this_month, "city": "广州市"}))).await;
    assert_eq!((status, own["scope"].as_str()), (StatusCode::CREATED, Some("440100")), "{own}");
    let (_, shenzhen) =
        c.call(Method::POST, &operator, "/api/v1/reports", Some(json!({"period": this_month, "city": "shenzhen"}))).await;
    let (status, _) = c.call(Method::GET, &city, &format!("/api/v1/reports/{}", shenzhen["id"]), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another city's report");
    let (_, list) = c.call(Method::GET, &city, "/api/v1/reports", None).await;
    let scopes: Vec<&str> = list.as_array().unwrap().iter().map(|r| r["scope"].as_str().unwrap()).collect();
    assert_eq!(scopes, ["440100", "province", "province"], "{list}");
    let (_, list) = c.call(Method::GET, &operator, &format!("/api/v1/reports?scope=440300&period={this_month}"), None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Institutions and residents have no reports; auditors read but do not generate.
    let (status, _) = read(c.s.request(Method::GET, "/api/v1/reports", Some(&c.s.key)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let auditor = c.token("auditor").await;
    assert_eq!(c.call(Method::GET, &auditor, &format!("/api/v1/reports/{}", shenzhen["id"]), None).await.0, StatusCode::OK);
    let (status, _) = c.call(Method::POST, &auditor, "/api/v1/reports", Some(json!({"period": "2024-10"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The monthly schedule: last month's report of the province and of every city, once.
    let state = tongdang_server::AppState::new(store.clone());
    let now = Timestamp::now();
    assert_eq!(tongdang_server::api_reports::run_schedule(&state, now).await.unwrap(), 22);
    assert_eq!(tongdang_server::api_reports::run_schedule(&state, now).await.unwrap(), 0, "kept once per period and scope");
    let last = Period::containing(now).previous().to_string();
    let (_, list) = c.call(Method::GET, &operator, &format!("/api/v1/reports?period={last}"), None).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 22);
    assert!(list.iter().all(|r| r["scheduled"] == true && r["generated_by"] == "schedule"));
    // Old reports stay readable.
    let (status, old) = c.call(Method::GET, &operator, &format!("/api/v1/reports/{}", report["id"]), None).await;
    assert_eq!((status, old["period"].as_str()), (StatusCode::OK, Some(this_month.as_str())));
}

async fn rollout_monitoring_and_the_city_platforms_view(store: Arc<ProtectedStore>) {
    let c = setup(store.clone()).await;
    let operator = c.token("gd-ops").await;
    let (status, rollout) = c.call(Method::GET, &operator, "/api/v1/rollout", None).await;
    assert_eq!(status, StatusCode::OK, "{rollout}");
    assert_eq!(rollout["milestones"].as_array().unwrap().len(), 3);
    let cities = rollout["cities"].as_array().unwrap();
    assert_eq!(cities.len(), 21);
    let gz = cities.iter().find(|c| c["city"] == "guangzhou").unwrap();
    // The test hospital has a key and sent data today; the member has no key and its platform none yet.
    assert_eq!(
        (gz["total"]["expected"].as_i64(), gz["total"]["connected"].as_i64(), gz["total"]["live"].as_i64()),
        (Some(2), Some(1), Some(1)),
        "{gz}"
    );
    let today = Timestamp::now().cst_day();
    let today = format!("{:04}-{:02}-{:02}", today / 10_000, today / 100 % 100, today % 100);
    assert_eq!(
        (gz["milestones"][0]["status"].as_str(), gz["milestones"][0]["achieved_on"].as_str()),
        (Some("met_late"), Some(today.as_str())),
        "{gz}"
    );
    assert_eq!(gz["milestones"][2]["status"], "missed", "one of two level-two-and-above hospitals is live");
    let sz = cities.iter().find(|c| c["city"] == "shenzhen").unwrap();
    assert_eq!(sz["milestones"][1]["status"], "missed");

    // A key for the fused platform connects its member.
    let platform_key = issue_key(store.as_ref(), PLATFORM, &[Scope::Submit], false).await;
    let (_, list) = c.call(Method::GET, &operator, "/api/v1/rollout/institutions?city=guangzhou", None).await;
    let member = list.as_array().unwrap().iter().find(|i| i["code"] == MEMBER).unwrap().clone();
    assert_eq!(
        (member["connected"].as_bool(), member["integration_test"].as_str()),
        (Some(true), Some("not_started")),
        "{member}"
    );

    let (status, t) = c
        .call(
            Method::PUT,
            &operator,
            &format!("/api/v1/institutions/{MEMBER}/integration-test"),
            Some(json!({"status": "passed", "note": "联调通过"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let (_, list) = c.call(Method::GET, &operator, "/api/v1/rollout/institutions?city=guangzhou", None).await;
    let member = list.as_array().unwrap().iter().find(|i| i["code"] == MEMBER).unwrap().clone();
    assert_eq!((member["integration_test"].as_str(), member["integration_note"].as_str()), (Some("passed"), Some("联调通过")));
    let (status, err) = c
        .call(Method::PUT, &operator, &format!("/api/v1/institutions/{MEMBER}/integration-test"), Some(json!({"status": "done"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_api_error(&err, "bad_status");
    let city = c.token("gz-ops").await;
    let (status, _) = c
        .call(
            Method::PUT,
            &city,
            &format!("/api/v1/institutions/{SHENZHEN}/integration-test"),
            Some(json!({"status": "testing"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another city's institution");
    let (_, own) = c.call(Method::GET, &city, "/api/v1/rollout", None).await;
    assert_eq!(own["cities"].as_array().unwrap().len(), 1);
    assert_eq!(c.call(Method::GET, &city, "/api/v1/rollout/institutions?city=shenzhen", None).await.0, StatusCode::FORBIDDEN);

    // The overview shows the two submissions just made, and the reads.
    let (status, _) = read(c.s.request(Method::GET, "/fhir/Encounter/e1", Some(&c.s.key)).send().await.unwrap()).await;
    assert!(status == StatusCode::OK || status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND, "{status}");
    let (status, o) = c.call(Method::GET, &operator, "/api/v1/monitoring/overview?minutes=10", None).await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!((o["submissions"]["submissions"].as_i64(), o["submissions"]["accepted"].as_i64()), (Some(2), Some(2)), "{o}");
    assert_eq!(o["acceptance_rate"], 1.0);
    assert_eq!((o["by_source"][0]["key"].as_str(), o["by_source"][0]["name"].as_str()), (Some(CODE), Some(NAME)));
    assert!(o["ingest_latency"]["count"].as_u64().unwrap() >= 2, "{o}");
    assert!(o["reads"]["count"].as_u64().unwrap() >= 1, "{o}");
    assert_eq!(o["today"]["received"], 2);
    let (status, err) = c.call(Method::GET, &operator, "/api/v1/monitoring/overview?minutes=0", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_api_error(&err, "bad_minutes");
    let (status, _) = read(c.s.request(Method::GET, "/api/v1/monitoring/overview", Some(&c.s.key)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, shenzhen_view) = c.call(Method::GET, &city, "/api/v1/monitoring/overview", None).await;
    assert_eq!(shenzhen_view["scope"], "city:guangzhou");

    // The fused platform's key reads its member's figures, not another hospital's.
    let (status, f) = read(
        c.s.request(Method::GET, &format!("/api/v1/quality/figures?institution={MEMBER}"), Some(&platform_key))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{f}");
    let (status, _) = read(
        c.s.request(Method::GET, &format!("/api/v1/quality/figures?institution={CODE}"), Some(&platform_key))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a direct hospital is not the platform's member");
}

tongdang_testkit::backend_tests!(reports_are_generated_kept_and_read_by_scope, rollout_monitoring_and_the_city_platforms_view,);
