//! Authorized access end to end: SMS-code, app and booking grants, emergency access and its
//! review, face verification, revocation and expiry at the microsecond, what a refusal reveals,
//! and grants and decisions as FHIR Consent and AuditEvent.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tongdang_access::channels::{AppSimulator, Channels, PoliceSimulator, SmsSimulator};
use tongdang_access::clock::{Clock, ManualClock};
use tongdang_access::signin::Accounts;
use tongdang_core::{InstitutionKind, PersonId, Role, Scope, Timestamp};
use tongdang_store::{ProtectedStore, RelinkOp, Store};

const PASSWORD: &str = "correct horse battery staple";
const OTHER_CODE: &str = "12440300MB7654321Y";
const PHOTO: &[u8] = b"a live photo of zhang sanfeng";
const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;

struct Ctx {
    s: Server,
    clock: Arc<ManualClock>,
    sms: Arc<SmsSimulator>,
    app: Arc<AppSimulator>,
    person: String,
    entry: String,
}

/// A server with a hand-moved clock and simulators the test reads; a resident (face enrolled
/// with the police simulator, not yet verified), two clinicians of the test hospital (cardiology
/// and orthopaedics), one of another hospital, its privacy officer, and an auditor.
async fn setup(store: Arc<ProtectedStore>) -> Ctx {
    let clock = Arc::new(ManualClock::at(Timestamp::now()));
    let mut channels = Channels::simulated();
    let police = Arc::new(PoliceSimulator::default().with_timeout(Duration::from_millis(300)));
    police.enrol(NATIONAL_ID, PHOTO);
    police.enrol_hanging(&PoliceSimulator::id_key(NATIONAL_ID_2));
    channels.face = police.clone();
    channels.police_simulator = Some(police);
    let (sms, app) = (channels.sms_simulator.clone().unwrap(), channels.app_simulator.clone().unwrap());
    let access = tongdang_server::Access { channels, clock: clock.clone(), ..Default::default() };
    let s = Server::start_access(store.clone(), access, |_| {}).await;
    let mut shenzhen = institution(OTHER_CODE, "深圳市测试医院");
    shenzhen.city = tongdang_core::City::Shenzhen;
    store.upsert_institution(&shenzhen).await.unwrap();
    let patient = json!({"resourceType": "Patient", "id": "p1", "name": [{"text": "张三丰"}], "gender": "male", "birthDate": "1990-03-07",
        "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID}, {"system": HEALTH_CODE_SYSTEM, "value": HEALTH_CODE}],
        "telecom": [{"system": "phone", "value": "13812345678"}]});
    let (status, headers, body) = s.put("/fhir/Patient/p1", &patient).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let person = location(&headers).1;
    let lab = json!({"resourceType": "Observation", "id": "o1", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-10-03T14:22:00+08:00", "valueQuantity": {"value": 13.2, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"}});
    let (status, headers, body) = s.put("/fhir/Observation/o1", &lab).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let entry = location(&headers).1;
    let enc = json!({"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p1"}, "period": {"start": "2024-10-01T09:00:00+08:00"}});
    let (status, _, body) = s.put("/fhir/Encounter/e1", &enc).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let accounts = Accounts::new(store.clone());
    let pid = PersonId(person.parse().unwrap());
    for (login, role, inst, dept, who) in [
        ("13812345678", Role::Resident, None, None, Some(pid)),
        ("cardio", Role::Clinician, Some(CODE), Some("心内科"), None),
        ("ortho", Role::Clinician, Some(CODE), Some("骨科"), None),
        ("shenzhen", Role::Clinician, Some(OTHER_CODE), Some("心内科"), None),
        ("officer", Role::InstitutionAdmin, Some(CODE), None, None),
        ("officer2", Role::InstitutionAdmin, Some(OTHER_CODE), None, None),
        ("auditor", Role::Auditor, None, None, None),
    ] {
        accounts.create(login, "测试", PASSWORD, role, inst, dept, who).await.unwrap();
    }
    Ctx { s, clock, sms, app, person, entry }
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

    fn timeline(&self) -> String {
        format!("/api/v1/persons/{}/timeline", self.person)
    }

    /// The code in the newest SMS, which must have gone to the phone on file.
    fn last_code(&self) -> String {
        let sent = self.sms.outbox();
        let m = sent.first().expect("an SMS was sent");
        assert_eq!(m.phone, "13812345678", "codes go to the phone on file");
        let at = m.text.find("验证码").unwrap() + "验证码".len();
        m.text[at..at + 6].to_string()
    }

    async fn request_sms(&self, token: &str) -> String {
        let (status, r) = self
            .post(
                token,
                "/api/v1/access-requests",
                json!({"identifier": format!("{HEALTH_CODE_SYSTEM}|{HEALTH_CODE}"), "channel": "sms"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        assert_eq!(r["status"], "requested");
        assert_eq!(r["phone_masked"], "138****5678");
        r["id"].as_str().unwrap().to_string()
    }

    async fn verify_face(&self, token: &str) {
        let (status, body) =
            self.post(token, "/api/v1/me/face-verification", json!({"photo": data_encoding::BASE64.encode(PHOTO)})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

/// A clinician asks, the resident reads the code out, the clinician reads the record; the
/// resident sees the read in plain Chinese and revokes; the next read is refused.
async fn an_sms_code_grants_the_requesting_institution(store: Arc<ProtectedStore>) {
    let c = setup(store).await;
    let doctor = c.token("cardio").await;
    let (status, body) = c.get(&doctor, &c.timeline()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no grant, no read: {body}");
    assert_api_error(&body, "forbidden");

    let id = c.request_sms(&doctor).await;
    let code = c.last_code();
    let (status, g) = c.post(&doctor, &format!("/api/v1/access-requests/{id}/code"), json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert_eq!((g["status"].as_str(), g["channel"].as_str()), (Some("active"), Some("sms")));
    let (status, page) = c.get(&doctor, &c.timeline()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["entries"].as_array().unwrap().len(), 2);
    // The grant is the institution's: a colleague in another department reads too.
    let ortho = c.token("ortho").await;
    assert_eq!(c.get(&ortho, &c.timeline()).await.0, StatusCode::OK);
    // Another institution's clinician does not.
    let shenzhen = c.token("shenzhen").await;
    assert_eq!(c.get(&shenzhen, &c.timeline()).await.0, StatusCode::FORBIDDEN);
    // The same code again: used.
    let (status, body) = c.post(&doctor, &format!("/api/v1/access-requests/{id}/code"), json!({"code": code})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_api_error(&body, "not_pending");

    // The resident: told by SMS and app, and sees the read in plain words.
    assert!(c.sms.outbox().iter().any(|m| m.text.contains("您已授权") && m.text.contains(NAME)), "{:?}", c.sms.outbox());
    let pid = PersonId(c.person.parse().unwrap());
    assert!(c.app.inbox(pid).iter().any(|m| m.body.contains("首次调阅")), "first read told: {:?}", c.app.inbox(pid));
    let resident = c.token("13812345678").await;
    let (status, body) = c.get(&resident, "/api/v1/me/access-history").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "who read the record is shown after face verification: {body}");
    c.verify_face(&resident).await;
    let (status, history) = c.get(&resident, "/api/v1/me/access-history").await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let lines: Vec<&str> = history["lines"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert!(lines.iter().any(|l| l.ends_with(&format!("{NAME} 心内科 调阅了您的健康档案（短信验证码授权）"))), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("深圳市测试医院 心内科 试图调阅您的健康档案，未获授权")), "{lines:#?}");

    // The simulators' outboxes: the clinician of the demo reads the code there (masked number);
    // a resident sees only their own app notifications.
    let (status, outbox) = c.get(&doctor, "/api/v1/simulators/sms/outbox").await;
    assert_eq!(status, StatusCode::OK, "{outbox}");
    assert!(
        outbox.as_array().unwrap().iter().any(|m| m["to"] == "138****5678" && m["text"].as_str().unwrap().contains(&code)),
        "{outbox}"
    );
    assert_eq!(c.get(&resident, "/api/v1/simulators/sms/outbox").await.0, StatusCode::FORBIDDEN);
    let (status, inbox) = c.get(&resident, "/api/v1/simulators/app/outbox").await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    assert!(
        inbox.as_array().unwrap().iter().all(|m| m["to"] == c.person.as_str()) && !inbox.as_array().unwrap().is_empty(),
        "{inbox}"
    );
    assert_eq!(c.get(&doctor, "/api/v1/simulators/fax/outbox").await.0, StatusCode::NOT_FOUND);

    // Revoked: the next request is refused.
    let (status, mine) = c.get(&resident, "/api/v1/me/grants?status=active").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let (status, g) = c.post(&resident, &format!("/api/v1/me/grants/{id}/revoke"), json!({})).await;
    assert_eq!((status, g["status"].as_str()), (StatusCode::OK, Some("revoked")), "{g}");
    assert_eq!(c.get(&doctor, &c.timeline()).await.0, StatusCode::FORBIDDEN);
    let (status, _) = c.post(&resident, &format!("/api/v1/me/grants/{id}/revoke"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "revoked once");
}

/// Wrong, guessed and replayed codes; a code for another request; another clinician entering
/// it; five wrong tries lock the request.
async fn codes_are_single_use_bound_and_locked(store: Arc<ProtectedStore>) {
    let c = setup(store).await;
    let doctor = c.token("cardio").await;
    let first = c.request_sms(&doctor).await;
    let first_code = c.last_code();
    let second = c.request_sms(&doctor).await;
    let second_code = c.last_code();
    if first_code != second_code {
        // The first request's code does not open the second.
        let (status, body) =
            c.post(&doctor, &format!("/api/v1/access-requests/{second}/code"), json!({"code": first_code})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_api_error(&body, "wrong_code");
        assert!(body["error"]["message"].as_str().unwrap().contains("4 tries left"), "{body}");
    }
    // A colleague cannot use someone else's request; another hospital's neither.
    for login in ["ortho", "shenzhen"] {
        let t = c.token(login).await;
        let (status, body) = c.post(&t, &format!("/api/v1/access-requests/{first}/code"), json!({"code": first_code})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{login}: {body}");
        assert_eq!(c.get(&t, &format!("/api/v1/access-requests/{first}")).await.0, StatusCode::NOT_FOUND);
    }
    // Malformed codes count as wrong ones; the fifth locks.
    let wrong = if second_code == "000000" { "000001" } else { "000000" };
    let tries_before = if first_code != second_code { 1 } else { 0 };
    for i in tries_before..5 {
        let code = if i % 2 == 0 { wrong } else { "12ab" };
        let (status, body) = c.post(&doctor, &format!("/api/v1/access-requests/{second}/code"), json!({"code": code})).await;
        let expected = if i == 4 { StatusCode::LOCKED } else { StatusCode::UNPROCESSABLE_ENTITY };
        assert_eq!(status, expected, "try {i}: {body}");
    }
    let (status, body) = c.post(&doctor, &format!("/api/v1/access-requests/{second}/code"), json!({"code": second_code})).await;
    assert_eq!(status, StatusCode::LOCKED, "the right code after the lock: {body}");
    assert_api_error(&body, "request_locked");
    assert_eq!(c.get(&doctor, &c.timeline()).await.0, StatusCode::FORBIDDEN);
    // The first request is untouched by the second's tries.
    let (status, g) = c.post(&doctor, &format!("/api/v1/access-requests/{first}/code"), json!({"code": first_code})).await;
    assert_eq!(status, StatusCode::OK, "{g}");
    // Bad bodies.
    let (status, body) = c.post(&doctor, "/api/v1/access-requests", json!({"patient": c.person, "channel": "fax"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) =
        c.post(&doctor, "/api/v1/access-requests", json!({"patient": c.person, "channel": "sms", "categories": ["x-ray"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let r = c.s.request(Method::POST, "/api/v1/access-requests", Some(&doctor)).body("{not json").send().await.unwrap();
    let (status, body) = read(r).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_api_error(&body, "bad_request");
}

/// Codes expire after five minutes and grants at the end of their window, to the microsecond.
async fn codes_and_grants_expire_at_the_edge(store: Arc<ProtectedStore>) {
    let c = setup(store).await;
    let doctor = c.token("cardio").await;
    let id = c.request_sms(&doctor).await;
    let code = c.last_code();
    c.clock.advance(5 * MINUTE);
    let (status, body) = c.post(&doctor, &format!("/api/v1/access-requests/{id}/code"), json!({"code": code})).await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert_api_error(&body, "code_expired");

    let id = c.request_sms(&doctor).await;
    let code = c.last_code();
    c.clock.advance(5 * MINUTE - 1);
    let (status, g) = c.post(&doctor, &format!("/api/v1/access-requests/{id}/code"), json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "one microsecond before the end: {g}");
    let granted_at = c.clock.now();
    c.clock.set(Timestamp(granted_at.0 + 24 * HOUR - 1));
    assert_eq!(c.get(&doctor, &c.timeline()).await.0, StatusCode::OK, "the last microsecond of 24 h");
    c.clock.set(Timestamp(granted_at.0 + 24 * HOUR));
    assert_eq!(c.get(&doctor, &c.timeline()).await.0, StatusCode::FORBIDDEN, "24 h later");
    let resident = c.token("13812345678").await;
    let (_, mine) = c.get(&resident, "/api/v1/me/grants").await;
    let statuses: Vec<&str> = mine.as_array().unwrap().iter().map(|g| g["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["expired", "expired"], "{mine}");
}

/// A request in the app: the resident verifies their face, then approves a narrower scope for
/// two hours; the clinician reads only that; another request is refused.
async fn the_resident_answers_in_the_app(store: Arc<ProtectedStore>) {
    let c = setup(store).await;
    let doctor = c.token("cardio").await;
    let resident = c.token("13812345678").await;
    let (status, r) = c.post(&doctor, "/api/v1/access-requests", json!({"patient": c.person, "channel": "app"})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let (_, polled) = c.get(&doctor, &format!("/api/v1/access-requests/{id}")).await;
    assert_eq!(polled["status"], "requested");
    let (status, pending) = c.get(&resident, "/api/v1/me/grants?status=requested").await;
    assert_eq!(status, StatusCode::OK, "{pending}");
    assert_eq!(pending[0]["id"], id.as_str());
    assert_eq!(pending[0]["department"], "心内科");
    let pid = PersonId(c.person.parse().unwrap());
    // The push goes off the request path: give it a moment under a loaded CI machine.
    let mut pushed = false;
    for _ in 0..100 {
        pushed = c.app.inbox(pid).iter().any(|m| m.title == "调阅申请");
        if pushed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(pushed, "pushed to the app");

    // Own record and approvals wait for face verification.
    let (status, body) = c.get(&resident, &c.timeline()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("face verification"), "{body}");
    let (status, body) = c.post(&resident, &format!("/api/v1/me/grants/{id}/approve"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_api_error(&body, "face_verification_required");
    c.verify_face(&resident).await;
    assert_eq!(c.get(&resident, &c.timeline()).await.0, StatusCode::OK, "own record after verification");

    let (status, body) = c.post(&resident, &format!("/api/v1/me/grants/{id}/approve"), json!({"hours": 100000})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, g) =
        c.post(&resident, &format!("/api/v1/me/grants/{id}/approve"), json!({"hours": 2, "categories": ["lab"]})).await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert_eq!(g["categories"], json!(["lab"]));
    let (status, page) = c.get(&doctor, &c.timeline()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let cats: Vec<&str> = page["entries"].as_array().unwrap().iter().map(|e| e["category"].as_str().unwrap()).collect();
    assert_eq!(cats, ["lab"], "only what the resident chose");
    // The department it was asked for; not the orthopaedist.
    let ortho = c.token("ortho").await;
    assert_eq!(c.get(&ortho, &c.timeline()).await.0, StatusCode::FORBIDDEN);
    // Outside the grant's categories an entry is "not found", like one that does not exist.
    let (status, _) = c.get(&doctor, &format!("/fhir/Observation/{}", c.entry)).await;
    assert_eq!(status, StatusCode::OK);
    c.clock.advance(2 * HOUR);
    assert_eq!(c.get(&doctor, &c.timeline()).await.0, StatusCode::FORBIDDEN, "two hours, as chosen");

    let (_, r) = c.post(&doctor, "/api/v1/access-requests", json!({"patient": c.person, "channel": "app"})).await;
    let id = r["id"].as_str().unwrap().to_string();
    let (status, g) = c.post(&resident, &format!("/api/v1/me/grants/{id}/refuse"), json!({})).await;
    assert_eq!((status, g["status"].as_str()), (StatusCode::OK, Some("refused")), "{g}");
    let (status, _) = c.post(&resident, &format!("/api/v1/me/grants/{id}/approve"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "refused stays refused");
    // Someone else's grant is not the resident's to answer.
    let other = c.token("shenzhen").await;
    let (status, _) = c.post(&other, &format!("/api/v1/me/grants/{id}/approve"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A booking platform posts appointments for its city's institutions only; posting again is
/// harmless; the grant covers the institution's department until the end of the day.
async fn bookings_grant_the_appointment_day(store: Arc<ProtectedStore>) {
    let c = setup(store.clone()).await;
    let mut platform = institution("GZ-BOOKING", "广州市预约挂号平台");
    platform.kind = InstitutionKind::BookingPlatform;
    store.upsert_institution(&platform).await.unwrap();
    let booking = issue_key(store.as_ref(), "GZ-BOOKING", &[Scope::Booking], false).await;
    let no_scope = issue_key(store.as_ref(), "GZ-BOOKING", &[Scope::Read], false).await;
    let at = c.clock.now().to_rfc3339_cst();
    let post = |key: String, body: Value| {
        let s = &c.s;
        async move { read(s.request(Method::POST, "/api/v1/bookings", Some(&key)).json(&body).send().await.unwrap()).await }
    };
    let appointment = json!({"appointment_id": "A-1", "identifier": format!("{NATIONAL_ID_SYSTEM}|{NATIONAL_ID}"),
        "institution": CODE, "department": "心内科", "at": at, "consent": true});
    let (status, body) = post(no_scope.clone(), appointment.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, first) = post(booking.clone(), appointment.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!((first["created"].as_bool(), first["grant"]["channel"].as_str()), (Some(true), Some("booking")));
    let (status, again) = post(booking.clone(), appointment.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["grant"]["id"], first["grant"]["id"], "the same appointment, the same grant");
    // Not a city it serves.
    let mut elsewhere = appointment.clone();
    elsewhere["institution"] = json!(OTHER_CODE);
    elsewhere["appointment_id"] = json!("A-2");
    let (status, body) = post(booking.clone(), elsewhere).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // No consent: no grant. A day that is over: refused.
    let mut no = appointment.clone();
    no["appointment_id"] = json!("A-3");
    no["consent"] = json!(false);
    let (status, body) = post(booking.clone(), no).await;
    assert_eq!((status, body["grant"].is_null()), (StatusCode::OK, true), "{body}");
    let mut past = appointment.clone();
    past["appointment_id"] = json!("A-4");
    past["at"] = json!("2020-01-01T09:00:00+08:00");
    assert_eq!(post(booking.clone(), past).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    let doctor = c.token("cardio").await;
    assert_eq!(c.get(&doctor, &c.timeline()).await.0, StatusCode::OK, "the department of the appointment");
    let ortho = c.token("ortho").await;
    assert_eq!(c.get(&ortho, &c.timeline()).await.0, StatusCode::FORBIDDEN, "not another department");
    let end = tongdang_access::authorize::end_of_day_cst(c.clock.now());
    c.clock.set(end);
    assert_eq!(c.get(&doctor, &c.timeline()).await.0, StatusCode::FORBIDDEN, "the day is over");
}

/// Emergency access: a reason, a limit, the resident told, each use in the privacy officer's queue.
async fn emergency_access_is_told_and_reviewed(store: Arc<ProtectedStore>) {
    let c = setup(store).await;
    let doctor = c.token("cardio").await;
    let path = format!("/api/v1/persons/{}/emergency-access", c.person);
    let (status, body) = c.post(&doctor, &path, json!({"reason": "急"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required: {body}");
    let (status, body) = c.post(&doctor, &path, json!({"reason": "患者昏迷送急诊，无法表达意愿", "hours": 100})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "72 h at most: {body}");
    let officer = c.token("officer").await;
    assert_eq!(c.post(&officer, &path, json!({"reason": "患者昏迷送急诊，无法表达意愿"})).await.0, StatusCode::FORBIDDEN);
    let (status, g) = c.post(&doctor, &path, json!({"reason": "患者昏迷送急诊，无法表达意愿"})).await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    assert_eq!((g["channel"].as_str(), g["review_status"].as_str()), (Some("emergency"), Some("open")));
    let id = g["id"].as_str().unwrap().to_string();
    assert_eq!(c.get(&doctor, &c.timeline()).await.0, StatusCode::OK);
    assert_eq!(c.get(&doctor, &format!("/fhir/Patient/{}/$everything", c.person)).await.0, StatusCode::OK);
    let ortho = c.token("ortho").await;
    assert_eq!(c.get(&ortho, &c.timeline()).await.0, StatusCode::FORBIDDEN, "the declaring clinician's alone");
    assert!(c.sms.outbox().iter().any(|m| m.text.contains("紧急调阅")), "the resident is told by SMS");

    let (status, queue) = c.get(&officer, "/api/v1/emergency-reviews").await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    assert_eq!(queue[0]["id"], id.as_str());
    assert_eq!(queue[0]["reason"], "患者昏迷送急诊，无法表达意愿");
    let (status, item) = c.get(&officer, &format!("/api/v1/emergency-reviews/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{item}");
    let uses: Vec<&str> = item["uses"].as_array().unwrap().iter().map(|u| u["kind"].as_str().unwrap()).collect();
    assert!(uses.contains(&"read.timeline") && uses.contains(&"read.everything"), "every use is listed: {uses:?}");
    let officer2 = c.token("officer2").await;
    assert_eq!(
        c.get(&officer2, &format!("/api/v1/emergency-reviews/{id}")).await.0,
        StatusCode::NOT_FOUND,
        "another institution's officer"
    );
    assert_eq!(c.get(&doctor, "/api/v1/emergency-reviews").await.0, StatusCode::FORBIDDEN);
    let decision = format!("/api/v1/emergency-reviews/{id}/decision");
    let (status, g) = c.post(&officer, &decision, json!({"justified": true, "note": "急诊记录核实"})).await;
    assert_eq!((status, g["review_status"].as_str()), (StatusCode::OK, Some("justified")), "{g}");
    assert_eq!(c.post(&officer, &decision, json!({"justified": false})).await.0, StatusCode::CONFLICT);
    let (_, open) = c.get(&officer, "/api/v1/emergency-reviews").await;
    assert!(open.as_array().unwrap().is_empty(), "{open}");
    c.clock.advance(72 * HOUR);
    assert_eq!(c.get(&doctor, &c.timeline()).await.0, StatusCode::FORBIDDEN, "72 h");
}

/// A refusal tells nothing of what exists: the same answer for a real person and a made-up
/// one, and a refused entry reads as missing.
async fn refusals_reveal_nothing(store: Arc<ProtectedStore>) {
    let c = setup(store).await;
    let doctor = c.token("cardio").await;
    let real = c.get(&doctor, &c.timeline()).await;
    let made_up = c.get(&doctor, "/api/v1/persons/987654321/timeline").await;
    assert_eq!(real, made_up);
    let real = c.get(&doctor, &format!("/fhir/Observation?patient={}", c.person)).await;
    let made_up = c.get(&doctor, "/fhir/Observation?patient=987654321").await;
    assert_eq!(real, made_up);
    let real = c.get(&doctor, &format!("/fhir/Observation/{}", c.entry)).await;
    let made_up = c.get(&doctor, "/fhir/Observation/987654321").await;
    assert_eq!(real, made_up);
    assert_eq!(real.0, StatusCode::NOT_FOUND);
    // A Provenance tells of clinical activity: by id, only its submitter reads it.
    let provenance = json!({"resourceType": "Provenance", "id": "prov1", "target": [{"reference": "Observation/o1"}],
        "recorded": "2024-10-03T15:00:00+08:00", "agent": [{"who": {"display": "检验科"}}]});
    let (status, headers, body) = c.s.put("/fhir/Provenance/prov1", &provenance).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let prov = format!("/fhir/Provenance/{}", location(&headers).1);
    assert_eq!(c.get(&doctor, &prov).await.0, StatusCode::OK, "the submitting institution's clinician");
    let shenzhen = c.token("shenzhen").await;
    let (status, body) = c.get(&shenzhen, &prov).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another institution: {body}");
    assert_eq!(c.get(&shenzhen, "/fhir/Provenance/987654321").await, (status, body), "as if it did not exist");
    // With a grant of encounters only, lab results are not counted or paged.
    let (_, r) = c
        .post(&doctor, "/api/v1/access-requests", json!({"patient": c.person, "channel": "sms", "categories": ["encounter"]}))
        .await;
    let id = r["id"].as_str().unwrap().to_string();
    assert_eq!(
        c.post(&doctor, &format!("/api/v1/access-requests/{id}/code"), json!({"code": c.last_code()})).await.0,
        StatusCode::OK
    );
    let (status, bundle) = c.get(&doctor, &format!("/fhir/Observation?patient={}&_total=accurate", c.person)).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert!(entries(&bundle).is_empty(), "{bundle}");
    assert!(bundle["total"].is_null() || bundle["total"] == 0, "{bundle}");
    let (_, page) = c.get(&doctor, &format!("{}?limit=1", c.timeline())).await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_null(), "no page of what may not be seen: {page}");
}

/// Grants are Consents; decisions are AuditEvents, for auditors, and for residents their own.
async fn consents_and_audit_events_read_as_fhir(store: Arc<ProtectedStore>) {
    let c = setup(store).await;
    let doctor = c.token("cardio").await;
    let id = c.request_sms(&doctor).await;
    c.post(&doctor, &format!("/api/v1/access-requests/{id}/code"), json!({"code": c.last_code()})).await;
    c.get(&doctor, &c.timeline()).await;
    let resident = c.token("13812345678").await;
    let (status, bundle) = c.get(&resident, "/fhir/Consent").await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let consent = &entries(&bundle)[0]["resource"];
    assert_eq!(consent["resourceType"], "Consent");
    assert_eq!(consent["status"], "active");
    assert_eq!(consent["patient"]["reference"], format!("Patient/{}", c.person));
    assert_eq!(consent["provision"]["type"], "permit");
    assert_eq!(consent["provision"]["actor"][0]["reference"]["identifier"]["value"], CODE);
    let (status, one) = c.get(&doctor, &format!("/fhir/Consent/{id}")).await;
    assert_eq!((status, &one["id"]), (StatusCode::OK, &json!(id)));
    let shenzhen = c.token("shenzhen").await;
    assert_eq!(c.get(&shenzhen, &format!("/fhir/Consent/{id}")).await.0, StatusCode::NOT_FOUND);

    let auditor = c.token("auditor").await;
    let (status, bundle) = c.get(&auditor, &format!("/fhir/AuditEvent?patient={}&_count=100", c.person)).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let events: Vec<Value> = entries(&bundle).into_iter().map(|e| e["resource"].clone()).collect();
    let read = events.iter().find(|e| e["subtype"][0]["code"] == "read.timeline" && e["outcome"] == "0").expect("the read");
    assert_eq!(read["resourceType"], "AuditEvent");
    assert_eq!(read["action"], "R");
    assert_eq!(read["agent"][0]["location"]["identifier"]["value"], CODE);
    assert_eq!(read["agent"][0]["name"], "心内科");
    let consent_ref = format!("Consent/{id}");
    assert!(read["entity"].as_array().unwrap().iter().any(|e| e["what"]["reference"] == consent_ref.as_str()), "{read}");
    assert!(events.iter().any(|e| e["subtype"][0]["code"] == "grant.active"), "grants are audited too");
    // An auditor's search: refusals only, by day, paged.
    let shenzhen_token = c.token("shenzhen").await;
    c.get(&shenzhen_token, &c.timeline()).await;
    let today = c.clock.now().to_rfc3339_cst()[..10].to_string();
    let (status, refused) = c.get(&auditor, &format!("/fhir/AuditEvent?patient={}&outcome=4&date=ge{today}", c.person)).await;
    assert_eq!(status, StatusCode::OK, "{refused}");
    let refused: Vec<Value> = entries(&refused).into_iter().map(|e| e["resource"].clone()).collect();
    assert!(!refused.is_empty() && refused.iter().all(|e| e["outcome"] == "4"), "{refused:?}");
    let (_, none) = c.get(&auditor, &format!("/fhir/AuditEvent?patient={}&date=lt2000-01-01", c.person)).await;
    assert!(entries(&none).is_empty(), "{none}");
    let (_, page) = c.get(&auditor, &format!("/fhir/AuditEvent?patient={}&_count=2", c.person)).await;
    let next = page["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").expect("a next page")["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(next.contains("_before=") && next.contains("_count=2"), "{next}");
    let (status, second) = c.get(&auditor, &next).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let first_ids: Vec<Value> = entries(&page).iter().map(|e| e["resource"]["id"].clone()).collect();
    assert!(entries(&second).iter().all(|e| !first_ids.contains(&e["resource"]["id"])), "pages do not overlap");
    let (status, body) = c.get(&auditor, "/fhir/AuditEvent?outcome=7").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(c.get(&resident, "/fhir/AuditEvent").await.0, StatusCode::FORBIDDEN, "not before face verification");
    c.verify_face(&resident).await;
    let (status, own) = c.get(&resident, "/fhir/AuditEvent").await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert!(!entries(&own).is_empty());
    assert_eq!(c.get(&resident, "/fhir/AuditEvent?patient=1").await.0, StatusCode::FORBIDDEN);
    assert_eq!(c.get(&doctor, "/fhir/AuditEvent").await.0, StatusCode::FORBIDDEN);
}

/// A request for a person merged into another names the survivor; the old grants of a merged
/// person do not open the survivor's record.
async fn merged_persons_are_asked_for_by_their_survivor(store: Arc<ProtectedStore>) {
    let c = setup(store.clone()).await;
    let doctor = c.token("cardio").await;
    let other = json!({"resourceType": "Patient", "id": "p2", "name": [{"text": "李四"}], "gender": "male", "birthDate": "1985-01-01",
        "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID_2}]});
    let (status, headers, body) = c.s.put("/fhir/Patient/p2", &other).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let merged = location(&headers).1;
    let id = {
        let (_, r) = c.post(&doctor, "/api/v1/access-requests", json!({"patient": merged, "channel": "sms"})).await;
        r
    };
    // p2 has no phone on file: the SMS channel says so.
    assert_eq!(id["error"]["code"], "no_phone_on_file", "{id}");
    let (status, r) = c.post(&doctor, "/api/v1/access-requests", json!({"patient": merged, "channel": "app"})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let op = RelinkOp::Merge { from: PersonId(merged.parse().unwrap()), into: PersonId(c.person.parse().unwrap()) };
    store.relink(&op, "test", "same person").await.unwrap();
    let (status, body) = c.post(&doctor, "/api/v1/access-requests", json!({"patient": merged, "channel": "app"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_api_error(&body, "person_merged");
    assert!(body["error"]["message"].as_str().unwrap().contains(&c.person), "{body}");
    tongdang_testkit::grant_everyone(store.as_ref(), CODE).await;
    assert_eq!(c.get(&doctor, &c.timeline()).await.0, StatusCode::OK);
}

/// Face verification: a photo of someone else, an ID number not on the record, a service that
/// does not answer.
async fn face_verification_fails_clearly(store: Arc<ProtectedStore>) {
    let c = setup(store).await;
    let resident = c.token("13812345678").await;
    let path = "/api/v1/me/face-verification";
    let (status, body) = c.post(&resident, path, json!({"photo": data_encoding::BASE64.encode(b"someone else")})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_api_error(&body, "face_no_match");
    let (status, body) =
        c.post(&resident, path, json!({"id_number": NATIONAL_ID_2, "photo": data_encoding::BASE64.encode(PHOTO)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not the resident's ID number: {body}");
    let (status, body) = c.post(&resident, path, json!({"photo": "not base64!"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = c.post(&resident, path, json!({"photo": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let big = data_encoding::BASE64.encode(&vec![0u8; (2 << 20) + 1]);
    let (status, body) = c.post(&resident, path, json!({"photo": big})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_api_error(&body, "too_large");
    let huge = json!({"photo": "A".repeat(4 << 20)});
    // The server answers 413 on seeing the length and closes; a client still writing the body
    // may see the pipe break first (a race on a loaded machine). The answer is what is tested.
    let mut answer = None;
    for _ in 0..5 {
        if let Ok(r) = c.s.request(Method::POST, path, Some(&resident)).json(&huge).send().await {
            answer = Some(read(r).await);
            break;
        }
    }
    let (status, body) = answer.expect("no answer to an oversized body in five tries");
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "over the body limit, still in the API's error shape: {body}");
    assert_api_error(&body, "too_large");
    assert_eq!(c.get(&resident, &c.timeline()).await.0, StatusCode::FORBIDDEN, "still unverified");
    c.verify_face(&resident).await;
    assert_eq!(c.get(&resident, &c.timeline()).await.0, StatusCode::OK);
    let doctor = c.token("cardio").await;
    assert_eq!(c.post(&doctor, path, json!({"photo": "AAAA"})).await.0, StatusCode::FORBIDDEN, "residents only");
    // Failed attempts are limited: two so far; three more, then the hour is over for attempts.
    for _ in 0..3 {
        let (status, _) = c.post(&resident, path, json!({"photo": data_encoding::BASE64.encode(b"not me")})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, body) = c.post(&resident, path, json!({"photo": data_encoding::BASE64.encode(PHOTO)})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "even the right photo waits: {body}");
    assert_api_error(&body, "too_many_requests");
    c.clock.advance(61 * MINUTE);
    c.verify_face(&resident).await;
}

/// The police service hangs: the resident gets 504, not a hung request.
async fn a_hanging_police_service_times_out(store: Arc<ProtectedStore>) {
    let c = setup(store.clone()).await;
    // A second resident whose identity the simulator was told to hang on.
    let p = json!({"resourceType": "Patient", "id": "p3", "name": [{"text": "王五"}], "gender": "male", "birthDate": "1990-03-07",
        "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID_2}]});
    let (_, headers, _) = c.s.put("/fhir/Patient/p3", &p).await;
    let person = PersonId(location(&headers).1.parse().unwrap());
    Accounts::new(store.clone()).create("13900000000", "测试", PASSWORD, Role::Resident, None, None, Some(person)).await.unwrap();
    let t = c.token("13900000000").await;
    let started = std::time::Instant::now();
    let (status, body) = c.post(&t, "/api/v1/me/face-verification", json!({"photo": data_encoding::BASE64.encode(PHOTO)})).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_api_error(&body, "channel_timeout");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Codes go only to a number the resident registered or the institutions agree on, and an
/// institution cannot keep asking: new requests do not reset the guessing.
async fn codes_go_to_a_trusted_number_and_requests_are_limited(store: Arc<ProtectedStore>) {
    let c = setup(store.clone()).await;
    let doctor = c.token("cardio").await;
    // A person with no account: two hospitals submit different mobile numbers.
    let other_key = issue_key(store.as_ref(), OTHER_CODE, &[Scope::Submit], false).await;
    let p = |phone: &str| {
        json!({"resourceType": "Patient", "id": "p9", "name": [{"text": "赵六"}], "gender": "female", "birthDate": "1980-05-05",
            "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID_2}],
            "telecom": [{"system": "phone", "value": phone, "use": "mobile"}]})
    };
    let (status, headers, body) = c.s.put("/fhir/Patient/p9", &p("13900001111")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let person = location(&headers).1;
    let (status, body) = c.post(&doctor, "/api/v1/access-requests", json!({"patient": person, "channel": "sms"})).await;
    assert_eq!(status, StatusCode::CREATED, "one number on file: {body}");
    assert_eq!(body["phone_masked"], "139****1111");
    let r = c.s.fhir_write(Method::PUT, "/fhir/Patient/p9", &other_key, &p("13700002222")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let sent = c.sms.outbox().len();
    let (status, body) = c.post(&doctor, "/api/v1/access-requests", json!({"patient": person, "channel": "sms"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_api_error(&body, "phones_disagree");
    assert_eq!(c.sms.outbox().len(), sent, "no code went to either number");

    // The resident's registered number: three requests an hour.
    c.request_sms(&doctor).await;
    c.request_sms(&doctor).await;
    let third = c.request_sms(&doctor).await;
    let (status, body) = c.post(&doctor, "/api/v1/access-requests", json!({"patient": c.person, "channel": "sms"})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_api_error(&body, "too_many_requests");
    // Wrong codes count across requests: after ten in a day, no new request.
    let code = c.last_code();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..4 {
        c.post(&doctor, &format!("/api/v1/access-requests/{third}/code"), json!({"code": wrong})).await;
    }
    c.clock.advance(61 * MINUTE);
    let fourth = c.request_sms(&doctor).await;
    let code = c.last_code();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        c.post(&doctor, &format!("/api/v1/access-requests/{fourth}/code"), json!({"code": wrong})).await;
    }
    c.clock.advance(61 * MINUTE);
    let fifth = c.request_sms(&doctor).await;
    let code = c.last_code();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    c.post(&doctor, &format!("/api/v1/access-requests/{fifth}/code"), json!({"code": wrong})).await;
    c.clock.advance(61 * MINUTE);
    let (status, body) = c.post(&doctor, "/api/v1/access-requests", json!({"patient": c.person, "channel": "sms"})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "ten wrong codes today: {body}");
    // The app still works.
    let (status, _) = c.post(&doctor, "/api/v1/access-requests", json!({"patient": c.person, "channel": "app"})).await;
    assert_eq!(status, StatusCode::CREATED);
}

/// A server given neither adapters nor --simulate-channels sends nothing and shows no outbox.
async fn unconfigured_channels_fail_clearly(store: Arc<ProtectedStore>) {
    let access = tongdang_server::Access { channels: Channels::unconfigured(), ..Default::default() };
    let s = Server::start_access(store.clone(), access, |_| {}).await;
    let patient = json!({"resourceType": "Patient", "id": "p1", "name": [{"text": "张三丰"}], "gender": "male", "birthDate": "1990-03-07",
        "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID}], "telecom": [{"system": "phone", "value": "13812345678"}]});
    let (_, headers, _) = s.put("/fhir/Patient/p1", &patient).await;
    let person = location(&headers).1;
    Accounts::new(store.clone())
        .create("cardio", "测试", PASSWORD, Role::Clinician, Some(CODE), Some("心内科"), None)
        .await
        .unwrap();
    let token = s.token("cardio", PASSWORD).await;
    let r = s
        .request(Method::POST, "/api/v1/access-requests", Some(&token))
        .json(&json!({"patient": person, "channel": "sms"}))
        .send()
        .await
        .unwrap();
    let (status, body) = read(r).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_api_error(&body, "channel_unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("not configured"), "{body}");
    assert!(!body.to_string().contains("13812345678"), "{body}");
    let (status, _) = read(s.request(Method::GET, "/api/v1/simulators/sms/outbox", Some(&token)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A resident signs in with their phone and a code sent by SMS; the code is single use, expires,
/// and wrong codes lock the account like wrong passwords; unknown numbers get the same answer.
async fn residents_sign_in_with_an_sms_code(store: Arc<ProtectedStore>) {
    let c = setup(store.clone()).await;
    let ask = |login: &'static str| {
        let c = &c;
        async move {
            read(c.s.request(Method::POST, "/api/v1/auth/sms-code", None).json(&json!({"login": login})).send().await.unwrap())
                .await
        }
    };
    let sign_in = |body: Value| {
        let c = &c;
        async move { read(c.s.request(Method::POST, "/api/v1/auth/sign-in", None).json(&body).send().await.unwrap()).await }
    };
    let (status, body) = ask("13812345678").await;
    assert_eq!((status, body["expires_in"].as_i64()), (StatusCode::ACCEPTED, Some(300)), "{body}");
    let code = c.last_code();
    // Again within the minute: the same answer, and nothing sent; an unknown number likewise.
    let sent = c.sms.outbox().len();
    assert_eq!(ask("13812345678").await.0, StatusCode::ACCEPTED);
    assert_eq!(c.sms.outbox().len(), sent, "one code a minute");
    assert_eq!(ask("13000000000").await.0, StatusCode::ACCEPTED);
    assert_eq!(c.sms.outbox().len(), sent);
    assert_eq!(ask("not-a-phone").await.0, StatusCode::BAD_REQUEST);

    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..2 {
        let (status, _) = sign_in(json!({"login": "13812345678", "code": wrong, "kind": "api"})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = sign_in(json!({"login": "13812345678", "code": code, "kind": "api"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["account"]["role"], "resident");
    let (status, _) = sign_in(json!({"login": "13812345678", "code": code, "kind": "api"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "single use");
    // Staff have no codes.
    let (status, _) = sign_in(json!({"login": "doctor", "code": "123456", "kind": "api"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Wrong codes spend a code (three tries), never lock the account: the password still works.
    let id = store.account_by_login("13812345678").await.unwrap().unwrap().id;
    let now = Timestamp::now();
    let hash = tongdang_protection::password::hash_code("424242").unwrap();
    let fresh = store.put_sign_in_code(id, &hash, now, Timestamp(now.0 + 300_000_000), Timestamp(now.0 + 1), now.cst_day(), 10);
    assert!(fresh.await.unwrap());
    // (Through the service: the address's sign-in budget is spent by now, as it should be.)
    let accounts = Accounts::new(store.clone());
    for _ in 0..3 {
        assert!(accounts.sign_in_with_code("13812345678", "111111", "api").await.is_err());
    }
    assert!(accounts.sign_in_with_code("13812345678", "424242", "api").await.is_err(), "the code's three tries are spent");
    assert!(accounts.sign_in("13812345678", PASSWORD, "api").await.is_ok(), "not locked");
}

tongdang_testkit::backend_tests!(
    residents_sign_in_with_an_sms_code,
    codes_go_to_a_trusted_number_and_requests_are_limited,
    unconfigured_channels_fail_clearly,
    an_sms_code_grants_the_requesting_institution,
    codes_are_single_use_bound_and_locked,
    codes_and_grants_expire_at_the_edge,
    the_resident_answers_in_the_app,
    bookings_grant_the_appointment_day,
    emergency_access_is_told_and_reviewed,
    refusals_reveal_nothing,
    consents_and_audit_events_read_as_fhir,
    merged_persons_are_asked_for_by_their_survivor,
    face_verification_fails_clearly,
    a_hanging_police_service_times_out,
);
