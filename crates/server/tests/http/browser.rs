//! The portals in a real browser: Playwright (`playwright-core` from npm) driving Debian's
//! Chromium through the scenarios in `tests/browser/*.mjs`, against this server over a fresh
//! store. Screenshots of every main page land in `target/screenshots/<backend>/`. Missing node,
//! Chromium or the npm package fail the test with what to install (scripts/test installs them).

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tongdang_access::channels::{Channels, PoliceSimulator};
use tongdang_access::signin::Accounts;
use tongdang_core::{PersonId, Role};
use tongdang_store::{ProtectedStore, Store};

const PASSWORD: &str = "correct horse battery staple";
const PHOTO: &[u8] = b"a live photo of the resident";
const PHONE: &str = "13812345678";
const OTHER: &str = "12442000MB0000001Z";
/// A resident's name that would run if a page did not escape it.
const HOSTILE_NAME: &str = "<script>window.__pwned=1</script>张<b>三</b>";

/// Where a backend's screenshots go.
fn backend_of(store: &ProtectedStore) -> &'static str {
    if store.dialect() == "postgres" { "postgres" } else { "sqlite" }
}

/// A page's HTML, read with a web session's cookie.
async fn page_text(client: &reqwest::Client, url: String, cookie: &str) -> String {
    client.get(url).header("cookie", cookie).send().await.unwrap().text().await.unwrap()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Node, Chromium and playwright-core, or a clear failure.
fn browser_tools() -> PathBuf {
    let dir = repo().join("tests/browser");
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "node is missing: apt-get install nodejs npm (scripts/test checks this)");
    assert!(Path::new("/usr/bin/chromium").exists(), "Chromium is missing: apt-get install chromium (scripts/test installs it)");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: (cd tests/browser && npm ci) — scripts/test runs it"
    );
    dir
}

fn run_scenario(script: &str, backend: &str, env: &[(&str, String)]) {
    let dir = browser_tools();
    let shots = repo().join("target/screenshots").join(backend);
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(dir.join(script))
        .env("SCREENSHOTS", &shots)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("node runs");
    let log = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script} failed:\n{log}");
}

async fn resident_portal(store: Arc<ProtectedStore>, backend: &str) {
    let mut channels = Channels::simulated();
    let police = Arc::new(PoliceSimulator::default());
    police.enrol(NATIONAL_ID, PHOTO);
    channels.face = police.clone();
    channels.police_simulator = Some(police);
    let access = tongdang_server::Access { channels, ..Default::default() };
    let s = Server::start_access(store.clone(), access, |_| {}).await;
    let patient = json!({"resourceType": "Patient", "id": "p1", "name": [{"text": "张三"}], "gender": "male", "birthDate": "1990-03-07",
        "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID}], "telecom": [{"system": "phone", "value": PHONE}]});
    let (status, headers, body) = s.put("/fhir/Patient/p1", &patient).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let person = location(&headers).1;
    let lab = json!({"resourceType": "Observation", "id": "o1", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "葡萄糖"}], "text": "空腹血糖<img src=x onerror=window.__pwned=2>"},
        "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2024-10-03T08:10:00+08:00",
        "valueQuantity": {"value": 7.8, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
        "referenceRange": [{"low": {"value": 3.9, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}, "high": {"value": 6.1, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}}]});
    let (status, _, body) = s.put("/fhir/Observation/o1", &lab).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let vaccine = json!({"resourceType": "Immunization", "id": "i1", "status": "completed",
        "vaccineCode": {"coding": [{"system": "urn:oid:2.16.156.10011.2.3.3.1", "code": "0201", "display": "乙肝疫苗"}]},
        "patient": {"reference": "Patient/p1"}, "occurrenceDateTime": "2023-05-01",
        "protocolApplied": [{"doseNumberPositiveInt": 2, "seriesDosesPositiveInt": 3}]});
    let (status, _, body) = s.put("/fhir/Immunization/i1", &vaccine).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let accounts = Accounts::new(store.clone());
    let pid = PersonId(person.parse().unwrap());
    accounts.create(PHONE, HOSTILE_NAME, PASSWORD, Role::Resident, None, None, Some(pid)).await.unwrap();
    accounts.create("doctor", "李医生", PASSWORD, Role::Clinician, Some(CODE), Some("心内科"), None).await.unwrap();
    accounts.create("gd-ops", "省运营", PASSWORD, Role::ProvincialOperator, None, None, None).await.unwrap();
    let doctor = s.token("doctor", PASSWORD).await;
    let operator = s.token("gd-ops", PASSWORD).await;
    let photo = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(photo.path(), PHOTO).unwrap();
    run_scenario(
        "resident.mjs",
        backend,
        &[
            ("TONGDANG_URL", s.url.clone()),
            ("RESIDENT_PHONE", PHONE.into()),
            ("RESIDENT_NAME", HOSTILE_NAME.into()),
            ("DOCTOR_TOKEN", doctor),
            ("OPERATOR_TOKEN", operator),
            ("PERSON", person),
            ("HOSPITAL", NAME.into()),
            ("FACE_PHOTO", photo.path().display().to_string()),
        ],
    );
}

/// Two hospitals hold data of one patient; a clinician of the first finds them by ID number,
/// gets an SMS-code grant, and reads both hospitals' entries; another patient is read under a
/// declared emergency.
async fn clinician_portal(store: Arc<ProtectedStore>, backend: &str) {
    let s = Server::start_access(store.clone(), tongdang_server::Access::default(), |_| {}).await;
    let mut other = institution(OTHER, "中山市测试人民医院");
    other.city = tongdang_core::City::Zhongshan;
    store.upsert_institution(&other).await.unwrap();
    let other_key = issue_key(store.as_ref(), OTHER, &[tongdang_core::Scope::Submit], false).await;
    let patient = |id: &str, name: &str, nid: &str, phone: &str| {
        json!({"resourceType": "Patient", "id": id, "name": [{"text": name}], "gender": "female", "birthDate": "1985-06-01",
            "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": nid}, {"system": HEALTH_CODE_SYSTEM, "value": HEALTH_CODE}],
            "telecom": [{"system": "phone", "value": phone}]})
    };
    let (status, headers, body) = s.put("/fhir/Patient/p1", &patient("p1", "王芳", NATIONAL_ID, PHONE)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let person = location(&headers).1;
    let r = s
        .fhir_write(reqwest::Method::PUT, "/fhir/Patient/z1", &other_key, &patient("z1", "王芳", NATIONAL_ID, PHONE))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let condition = json!({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/z1"}, "recordedDate": "2024-09-01",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9", "display": "2型糖尿病"}]}});
    let r = s.fhir_write(reqwest::Method::PUT, "/fhir/Condition/c1", &other_key, &condition).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    let allergy = json!({"resourceType": "AllergyIntolerance", "id": "a1", "patient": {"reference": "Patient/z1"}, "recordedDate": "2020-01-01",
        "criticality": "high", "code": {"text": "青霉素过敏"}});
    let r = s.fhir_write(reqwest::Method::PUT, "/fhir/AllergyIntolerance/a1", &other_key, &allergy).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    let lab = json!({"resourceType": "Observation", "id": "o1", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "葡萄糖"}], "text": "空腹血糖"},
        "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2024-10-03T08:10:00+08:00",
        "valueQuantity": {"value": 9.1, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
        "referenceRange": [{"low": {"value": 3.9, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}, "high": {"value": 6.1, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}}]});
    let (status, _, body) = s.put("/fhir/Observation/o1", &lab).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Another patient, for the emergency.
    let (status, headers, body) = s
        .put(
            "/fhir/Patient/p2",
            &json!({"resourceType": "Patient", "id": "p2", "name": [{"text": "无名氏"}],
        "gender": "male", "birthDate": "1970-01-01", "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID_2}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stranger = location(&headers).1;
    let (status, _, body) = s.put("/fhir/Encounter/e2", &encounter("e2", "Patient/p2")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let accounts = Accounts::new(store.clone());
    accounts.create("doctor", "李医生", PASSWORD, Role::Clinician, Some(CODE), Some("内分泌科"), None).await.unwrap();
    let doctor = s.token("doctor", PASSWORD).await;
    run_scenario(
        "clinician.mjs",
        backend,
        &[
            ("TONGDANG_URL", s.url.clone()),
            ("LOGIN", "doctor".into()),
            ("PASSWORD", PASSWORD.into()),
            ("DOCTOR_TOKEN", doctor),
            ("NATIONAL_ID", NATIONAL_ID.into()),
            ("HEALTH_CODE", HEALTH_CODE.into()),
            ("PERSON", person),
            ("STRANGER", stranger),
            ("NATIONAL_ID_2", NATIONAL_ID_2.into()),
            ("HOSPITAL", NAME.into()),
            ("OTHER_HOSPITAL", "中山市测试人民医院".into()),
        ],
    );
}

/// An institution's administrator fixes a returned resource; the provincial operator opens the
/// dashboard, generates this month's report and downloads its PDF.
async fn staff_portals(store: Arc<ProtectedStore>, backend: &str) {
    let s = Server::start(store.clone()).await;
    let (status, _, body) = s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let now = tongdang_core::Timestamp::now().to_rfc3339_cst();
    let bad = json!({"resourceType": "Observation", "id": "glu-1", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}]},
        "subject": {"reference": "Patient/p1"}, "effectiveDateTime": now, "issued": now,
        "valueQuantity": {"value": 5.4, "unit": "毫摩尔每升", "system": "http://unitsofmeasure.org", "code": "毫摩尔每升"}});
    let (status, _, body) = s.put("/fhir/Observation/glu-1", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "returned: {body}");
    let mut fixed = bad.clone();
    fixed["valueQuantity"] = json!({"value": 5.4, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"});
    let accounts = Accounts::new(store.clone());
    accounts.create("officer", "王管理员", PASSWORD, Role::InstitutionAdmin, Some(CODE), None, None).await.unwrap();
    accounts.create("gd-ops", "省运营", PASSWORD, Role::ProvincialOperator, None, None, None).await.unwrap();
    run_scenario(
        "staff.mjs",
        backend,
        &[
            ("TONGDANG_URL", s.url.clone()),
            ("PASSWORD", PASSWORD.into()),
            ("FIXED", fixed.to_string()),
            ("HOSPITAL", NAME.into()),
        ],
    );
}

async fn staff_portals_in_a_browser(store: Arc<ProtectedStore>) {
    let backend = backend_of(&store);
    staff_portals(store, backend).await;
}

async fn resident_portal_in_a_browser(store: Arc<ProtectedStore>) {
    let backend = backend_of(&store);
    resident_portal(store, backend).await;
}

async fn clinician_portal_in_a_browser(store: Arc<ProtectedStore>) {
    let backend = backend_of(&store);
    clinician_portal(store, backend).await;
}

mod browsers {
    use super::*;
    tongdang_testkit::backend_tests!(resident_portal_in_a_browser, clinician_portal_in_a_browser, staff_portals_in_a_browser);
}

/// Every page answers 200 for the roles it is for, 403 in its frame for the others, and sends
/// anyone without a session to sign in (no browser needed: template errors show here first).
async fn every_page_renders_for_its_roles(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let (status, headers, _) = s.put("/fhir/Patient/p1", &chinese_patient("p1")).await;
    assert_eq!(status, StatusCode::CREATED);
    let person = location(&headers).1;
    let mut platform = institution("GZ-CITY-PLATFORM", "广州市全民健康信息平台");
    platform.kind = tongdang_core::InstitutionKind::CityPlatform;
    store.upsert_institution(&platform).await.unwrap();
    let accounts = Accounts::new(store.clone());
    let pid = PersonId(person.parse().unwrap());
    for (login, role, inst, who) in [
        ("13812345678", Role::Resident, None, Some(pid)),
        ("doctor", Role::Clinician, Some(CODE), None),
        ("officer", Role::InstitutionAdmin, Some(CODE), None),
        ("gz-ops", Role::CityOperator, Some("GZ-CITY-PLATFORM"), None),
        ("gd-ops", Role::ProvincialOperator, None, None),
        ("auditor", Role::Auditor, None, None),
    ] {
        accounts.create(login, "测试", PASSWORD, role, inst, None, who).await.unwrap();
    }
    store.set_face_verified(accounts_id(&store, "13812345678").await, tongdang_core::Timestamp::now()).await.unwrap();
    let resident = ["/me", "/me/requests", "/me/grants", "/me/history", "/me/reports", "/me/verify"];
    let clinician = ["/clinic"];
    let institution_pages =
        ["/institution", "/institution/returns", "/institution/reconciliation", "/institution/work-orders", "/institution/keys"];
    let operator = [
        "/operator",
        "/operator/institutions",
        "/operator/work-orders",
        "/operator/reports",
        "/operator/emergencies",
        "/operator/ledger",
    ];
    let client = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for page in resident.iter().chain(&clinician).chain(&institution_pages).chain(&operator) {
        let r = client.get(format!("{}{page}", s.url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{page} without a session");
        assert!(r.headers()["location"].to_str().unwrap().starts_with("/signin?next="));
    }
    let clinic_record = format!("/clinic/patients/{person}");
    for (login, own) in [
        ("13812345678", resident.to_vec()),
        ("doctor", [clinician.to_vec(), vec![clinic_record.as_str()]].concat()),
        ("officer", institution_pages.to_vec()),
        ("gz-ops", operator.iter().copied().filter(|p| *p != "/operator/emergencies").collect()),
        ("gd-ops", operator.to_vec()),
        ("auditor", operator.to_vec()),
    ] {
        let signed = client
            .post(format!("{}/api/v1/auth/sign-in", s.url))
            .json(&json!({"login": login, "password": PASSWORD, "kind": "web"}))
            .send()
            .await
            .unwrap();
        assert_eq!(signed.status(), StatusCode::OK);
        let cookie = signed.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let csrf = signed.json::<serde_json::Value>().await.unwrap()["csrf"].as_str().unwrap().to_string();
        for page in resident.iter().chain(&clinician).chain(&institution_pages).chain(&operator) {
            let r = client.get(format!("{}{page}", s.url)).header("cookie", &cookie).send().await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            if own.contains(page) {
                assert_eq!(status, StatusCode::OK, "{login} {page}: {body}");
                assert!(body.contains("<main") && !body.contains("页面出错"), "{login} {page}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{login} may not open {page}");
            }
        }
        if login == "13812345678" {
            // Paging back past the oldest event: an empty page with the way back.
            let body = page_text(&client, format!("{}/me/history?before=1", s.url), &cookie).await;
            assert!(body.contains("没有更早的记录。") && body.contains("回到最新"), "{body}");
        }
        if login == "doctor" {
            // Searches are posted with the session's CSRF token: identifiers stay out of URLs.
            let post = |form: Vec<(&'static str, String)>| {
                let (client, url, cookie) = (client.clone(), format!("{}/clinic", s.url), cookie.clone());
                async move { client.post(url).header("cookie", cookie).form(&form).send().await.unwrap() }
            };
            let found = post(vec![("q", NATIONAL_ID.to_string()), ("csrf", csrf.clone())]).await;
            assert_eq!(found.status(), StatusCode::OK);
            assert!(found.text().await.unwrap().contains("打开档案"), "the patient is found by ID number");
            let forged = post(vec![("q", NATIONAL_ID.to_string()), ("csrf", "0".repeat(64))]).await;
            assert_eq!(forged.status(), StatusCode::FORBIDDEN, "a search without the session's token is refused");
            let body = page_text(&client, format!("{}{clinic_record}", s.url), &cookie).await;
            assert!(body.contains("需要患者授权"), "no grant yet: the ways to ask for one");
        }
    }
}

async fn accounts_id(store: &Arc<ProtectedStore>, login: &str) -> i64 {
    store.account_by_login(login).await.unwrap().unwrap().id
}

tongdang_testkit::backend_tests!(every_page_renders_for_its_roles);
