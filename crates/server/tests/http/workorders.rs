//! Work orders over HTTP: a resident reports a wrong entry of their record, it goes to the
//! source, is resolved with the correction linked, confirmed by the resident (or reopened);
//! fused cities coordinate their members' orders; overdue orders climb to the city and the
//! province; the order reads as a FHIR Task; out-of-order and not-yours actions are refused.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_access::signin::Accounts;
use tongdang_core::{ConnectionMode, PersonId, Role, Scope, Timestamp};
use tongdang_store::{ProtectedStore, Store};
use tongdang_workorders::{Deadlines, WorkOrders};

const PASSWORD: &str = "correct horse battery staple";
const FUSED: &str = "12440100MB7654321Q";
const HOUR: i64 = 3_600_000_000;

struct Ctx {
    s: Server,
    entry: String,
}

async fn setup(store: Arc<ProtectedStore>) -> Ctx {
    let s = Server::start(store.clone()).await;
    let (_, headers, _) = s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    let person = PersonId(location(&headers).1.parse().unwrap());
    let (status, headers, body) = s.put("/fhir/Encounter/e1", &encounter("e1", "Patient/p1")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let entry = location(&headers).1;
    let accounts = Accounts::new(store.clone());
    let resident = accounts.create("13812345678", "张伟", PASSWORD, Role::Resident, None, None, Some(person)).await.unwrap();
    store.set_face_verified(resident, Timestamp::now()).await.unwrap();
    accounts.create("13900000000", "李四", PASSWORD, Role::Resident, None, None, Some(PersonId(person.0 + 999))).await.unwrap();
    accounts.create("officer", "管理员", PASSWORD, Role::InstitutionAdmin, Some(CODE), None, None).await.unwrap();
    // The city of Guangzhou's platform and its operator; the province's operator.
    let mut platform = institution("GZ-CITY-PLATFORM", "广州市全民健康信息平台");
    platform.kind = tongdang_core::InstitutionKind::CityPlatform;
    store.upsert_institution(&platform).await.unwrap();
    accounts.create("gz-ops", "广州市运营", PASSWORD, Role::CityOperator, Some("GZ-CITY-PLATFORM"), None, None).await.unwrap();
    accounts.create("gd-ops", "省运营", PASSWORD, Role::ProvincialOperator, None, None, None).await.unwrap();
    accounts.create("auditor", "审计", PASSWORD, Role::Auditor, None, None, None).await.unwrap();
    Ctx { s, entry }
}

impl Ctx {
    async fn token(&self, login: &str) -> String {
        self.s.token(login, PASSWORD).await
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        read(self.s.request(Method::GET, path, Some(token)).send().await.unwrap()).await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        read(self.s.request(Method::POST, path, Some(token)).json(&body).send().await.unwrap()).await
    }

    async fn act(&self, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
        self.post(token, &format!("/api/v1/work-orders/{id}/actions"), body).await
    }
}

async fn a_resident_report_goes_to_the_source_and_back(store: Arc<ProtectedStore>) {
    let c = setup(store.clone()).await;
    let resident = c.token("13812345678").await;
    let reference = format!("Encounter/{}", c.entry);
    let (status, order) = c
        .post(
            &resident,
            "/api/v1/work-orders",
            json!({"title": "就诊日期有误", "description": "我那天没有去医院", "entry": reference}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(
        (order["origin"].as_str(), order["state"].as_str(), order["label"].as_str()),
        (Some("resident"), Some("open"), Some("待受理"))
    );
    assert_eq!(
        (order["level"].as_str(), order["assignee"].as_str(), order["source"].as_str()),
        (Some("institution"), Some(CODE), Some(CODE))
    );
    assert_eq!(order["entry"], reference);
    let id = order["id"].as_i64().unwrap();

    // Another resident cannot report it, nor see the order.
    let other = c.token("13900000000").await;
    let (status, _) = c.post(&other, "/api/v1/work-orders", json!({"title": "有误", "entry": reference})).await;
    assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN, "{status}");
    let (status, _) = c.get(&other, &format!("/api/v1/work-orders/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The source sees it assigned; the resident cannot act for it; nothing out of order.
    let (status, page) = c.get(&c.s.key, "/api/v1/work-orders?assigned=true").await;
    assert_eq!((status, page["work_orders"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{page}");
    let (status, body) = c.act(&resident, id, json!({"action": "accept"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_api_error(&body, "not_yours");
    let (status, body) = c.act(&c.s.key, id, json!({"action": "confirm"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_api_error(&body, "out_of_order");
    let (status, body) = c.act(&c.s.key, id, json!({"action": "resolve"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a resolution needs a correction or an explanation: {body}");

    // The source fixes the entry and links the correction.
    let mut fixed = encounter("e1", "Patient/p1");
    fixed["period"]["start"] = json!("2024-10-04T09:00:00+08:00");
    let (status, _, _) = c.s.put("/fhir/Encounter/e1", &fixed).await;
    assert_eq!(status, StatusCode::OK);
    for action in ["accept", "start"] {
        let (status, body) = c.act(&c.s.key, id, json!({"action": action})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let correction = format!("Encounter/{}/_history/2", c.entry);
    let (status, body) =
        c.act(&c.s.key, id, json!({"action": "resolve", "correction": correction, "explanation": "已更正就诊日期"})).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("resolved")), "{body}");

    // The resident sees the progress, disagrees once, then confirms; the system closes it.
    let (status, mine) = c.get(&resident, "/api/v1/work-orders").await;
    assert_eq!((status, mine["work_orders"][0]["label"].as_str()), (StatusCode::OK, Some("已处理待确认")), "{mine}");
    let (status, body) = c.act(&resident, id, json!({"action": "reopen", "reason": "时间还是不对"})).await;
    assert_eq!(
        (status, body["state"].as_str(), body["reopen_count"].as_i64()),
        (StatusCode::OK, Some("reopened"), Some(1)),
        "{body}"
    );
    c.act(&c.s.key, id, json!({"action": "resolve", "correction": correction, "explanation": "再次核对"})).await;
    let (status, body) = c.act(&resident, id, json!({"action": "confirm"})).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("closed")), "{body}");
    assert_eq!(body["correction"], correction);
    let actions: Vec<&str> = body["steps"].as_array().unwrap().iter().filter_map(|s| s["action"].as_str()).collect();
    assert_eq!(actions, ["raise", "accept", "start", "resolve", "reopen", "resolve", "confirm", "close"]);
    assert_eq!(body["steps"][4]["note"], "时间还是不对");
    let (status, body) = c.act(&resident, id, json!({"action": "reopen", "reason": "又错了"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a closed order stays closed: {body}");

    // As a FHIR Task; and an auditor reads it, another institution does not.
    let (status, task) = c.get(&c.s.key, &format!("/fhir/Task/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{task}");
    assert_eq!((task["resourceType"].as_str(), task["status"].as_str()), (Some("Task"), Some("completed")));
    assert_eq!(task["focus"]["reference"], reference);
    assert_eq!(task["output"][0]["valueReference"]["reference"], correction);
    let auditor = c.token("auditor").await;
    assert_eq!(c.get(&auditor, &format!("/api/v1/work-orders/{id}")).await.0, StatusCode::OK);
    store.upsert_institution(&institution(FUSED, "广州市另一医院")).await.unwrap();
    let stranger = issue_key(store.as_ref(), FUSED, &[Scope::Submit], false).await;
    assert_eq!(c.get(&stranger, &format!("/api/v1/work-orders/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(c.get(&stranger, &format!("/fhir/Task/{id}")).await.0, StatusCode::NOT_FOUND);
}

async fn fused_cities_coordinate_and_overdue_orders_climb(store: Arc<ProtectedStore>) {
    let c = setup(store.clone()).await;
    // A hospital that connects through Guangzhou's fused city platform.
    let mut fused = institution(FUSED, "广州市经市平台医院");
    fused.connection = ConnectionMode::ViaCityPlatform;
    store.upsert_institution(&fused).await.unwrap();
    let operator = c.token("gd-ops").await;
    let (status, order) = c
        .post(&operator, "/api/v1/work-orders", json!({"title": "检验结果批量缺少单位", "source": FUSED, "rule": "QC-LAB-003"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!((order["level"].as_str(), order["assignee"].as_str()), (Some("city"), Some("guangzhou")), "{order}");
    let city = c.token("gz-ops").await;
    let (status, page) = c.get(&city, "/api/v1/work-orders?assigned=true").await;
    assert_eq!((status, page["work_orders"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{page}");
    let (status, body) = c.act(&city, order["id"].as_i64().unwrap(), json!({"action": "accept"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) =
        c.post(&operator, "/api/v1/work-orders", json!({"title": "again", "source": FUSED, "rule": "QC-LAB-003"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "one open order per source and rule: {body}");
    assert_api_error(&body, "duplicate");

    // An order at a direct hospital that nobody handles climbs when its time runs out.
    let officer = c.token("officer").await;
    let (status, direct) = c
        .post(
            &officer,
            "/api/v1/work-orders",
            json!({"title": "数据缺失", "source": CODE, "from": "2024-10-01", "to": "2024-10-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{direct}");
    assert_eq!(direct["level"], "institution");
    let id = direct["id"].as_i64().unwrap();
    let orders = WorkOrders::new(store.clone(), Deadlines::default());
    let now = Timestamp::now();
    assert_eq!(orders.escalate_overdue(Timestamp(now.0 + 71 * HOUR)).await.unwrap(), 0, "not yet");
    assert_eq!(orders.escalate_overdue(Timestamp(now.0 + 73 * HOUR)).await.unwrap(), 1);
    let (_, after) = c.get(&city, &format!("/api/v1/work-orders/{id}")).await;
    assert_eq!(
        (after["level"].as_str(), after["assignee"].as_str(), after["escalations"].as_i64()),
        (Some("city"), Some("guangzhou"), Some(1)),
        "{after}"
    );
    // By then the fused hospital's order, accepted by the city but never resolved, is overdue too.
    assert_eq!(orders.escalate_overdue(Timestamp(now.0 + 73 * HOUR + 121 * HOUR)).await.unwrap(), 2);
    let (_, after) = c.get(&operator, &format!("/api/v1/work-orders/{id}")).await;
    assert_eq!((after["level"].as_str(), after["overdue"].as_bool()), (Some("province"), Some(false)), "{after}");
    assert_eq!(after["steps"].as_array().unwrap().iter().filter(|s| s["action"] == "escalate").count(), 2);
    // The hospital can no longer act as the handler; the province can.
    let (status, _) = c.act(&c.s.key, id, json!({"action": "accept"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = c.act(&operator, id, json!({"action": "accept"})).await;
    assert_eq!(status, StatusCode::OK);

    // Three open returns of one rule at the direct hospital become one quality-check order.
    for n in 0..3 {
        let mut bad = encounter(&format!("late-{n}"), "Patient/p1");
        bad["period"]["start"] = json!("2999-01-01T09:00:00+08:00");
        let (status, _, _) = c.s.put(&format!("/fhir/Encounter/late-{n}"), &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(orders.raise_from_returns(4, now).await.unwrap(), 0, "below the threshold");
    assert_eq!(orders.raise_from_returns(3, now).await.unwrap(), 1);
    assert_eq!(orders.raise_from_returns(3, now).await.unwrap(), 0, "one open order per source and rule");
    let (_, mine) = c.get(&c.s.key, "/api/v1/work-orders?assigned=true").await;
    let quality: Vec<&Value> =
        mine["work_orders"].as_array().unwrap().iter().filter(|o| o["origin"] == "quality_check").collect();
    assert_eq!(quality.len(), 1, "{mine}");
    assert_eq!((quality[0]["rule"].as_str(), quality[0]["level"].as_str()), (Some("QC-ENC-004"), Some("institution")));
    assert!(quality[0]["title"].as_str().unwrap().contains("3条"), "{mine}");

    // Bad input.
    let (status, body) = c.post(&operator, "/api/v1/work-orders", json!({"title": "", "source": CODE})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = c.post(&operator, "/api/v1/work-orders", json!({"title": "x", "source": "NO-SUCH-PLACE"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = c.act(&operator, id, json!({"action": "explode"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let auditor = c.token("auditor").await;
    let (status, _) = c.post(&auditor, "/api/v1/work-orders", json!({"title": "x", "source": CODE})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn a_fused_city_platform_submits_for_its_members(store: Arc<ProtectedStore>) {
    let c = setup(store.clone()).await;
    let mut member = institution(FUSED, "广州市经市平台医院");
    member.connection = ConnectionMode::ViaCityPlatform;
    store.upsert_institution(&member).await.unwrap();
    let platform = issue_key(store.as_ref(), "GZ-CITY-PLATFORM", &[Scope::Submit, Scope::Read], false).await;
    let member_key = issue_key(store.as_ref(), FUSED, &[Scope::Submit, Scope::Read], false).await;
    let put = |key: &str, path: &str, body: &Value, member: &str| {
        c.s.fhir_write(Method::PUT, path, key, body).header("X-Tongdang-On-Behalf-Of", member.to_string()).send()
    };
    let (status, body) = read(put(&platform, "/fhir/Patient/m1", &chinese_patient("m1"), FUSED).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A faulty entry: its return belongs to the member hospital, the source; the platform is the channel.
    let mut enc = encounter("m-e1", "Patient/m1");
    enc["period"]["start"] = json!("2999-01-01T09:00:00+08:00");
    let (status, body) = read(put(&platform, "/fhir/Encounter/m-e1", &enc, FUSED).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, page) = c.get(&member_key, "/api/v1/returns").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let r = &page["returns"][0];
    assert_eq!((r["institution"].as_str(), r["source_id"].as_str()), (Some(FUSED), Some("m-e1")), "{page}");
    let submission = store.submission(r["submission"].as_i64().unwrap()).await.unwrap().unwrap();
    assert_eq!((submission.institution.as_str(), submission.via.as_deref()), (FUSED, Some("GZ-CITY-PLATFORM")));
    // Its own submissions record no channel.
    let (status, _, _) = c.s.put("/fhir/Encounter/e9", &encounter("e9", "Patient/p1")).await;
    assert_eq!(status, StatusCode::CREATED);

    // Only for members of its city that connect through it, only writes, only a platform.
    let (status, body) = read(put(&platform, "/fhir/Patient/x1", &chinese_patient("x1"), CODE).await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a directly connected hospital: {body}");
    let (status, _) = read(put(&member_key, "/fhir/Patient/x1", &chinese_patient("x1"), FUSED).await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a hospital is not a platform");
    let r =
        c.s.request(Method::GET, "/fhir/Patient?_count=5", Some(&platform))
            .header("X-Tongdang-On-Behalf-Of", FUSED)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a platform does not read for its members");
}

tongdang_testkit::backend_tests!(
    a_resident_report_goes_to_the_source_and_back,
    fused_cities_coordinate_and_overdue_orders_climb,
    a_fused_city_platform_submits_for_its_members,
);
