//! What every HTTP test needs: a registered institution, API keys, the whole application served
//! on a free port over the test's store, and a few documents to send.

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_access::credential::new_key;
use tongdang_core::{City, ConnectionMode, Institution, InstitutionCode, InstitutionKind, Level, Ownership, Scope, Timestamp};
use tongdang_server::AppState;
use tongdang_store::{ProtectedStore, Store};

/// The institution every test submits as.
pub const CODE: &str = "12440100MB1234567X";
/// Its registered name.
pub const NAME: &str = "广州市测试医院";

/// The identifier systems, as the platform defines them.
pub use tongdang_identity::systems::{HEALTH_CODE as HEALTH_CODE_SYSTEM, NATIONAL_ID as NATIONAL_ID_SYSTEM};

/// A valid GB 11643 number (check character X).
pub const NATIONAL_ID: &str = "11010519491231002X";
/// Another valid one.
pub const NATIONAL_ID_2: &str = "440106199003071231";
/// A health code: 64 hex characters.
pub const HEALTH_CODE: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// An institution in Guangzhou.
pub fn institution(code: &str, name: &str) -> Institution {
    Institution {
        code: InstitutionCode::new(code).unwrap(),
        name: name.into(),
        city: City::Guangzhou,
        level: Level::TertiaryA,
        ownership: Ownership::Public,
        kind: InstitutionKind::Hospital,
        connection: ConnectionMode::Direct,
    }
}

/// Issue an API key the way `tongdang institution key` does; returns the secret.
pub async fn issue_key(store: &dyn Store, code: &str, scopes: &[Scope], revoke_others: bool) -> String {
    let (key, record) = new_key(code, scopes);
    store.insert_api_key(&record, revoke_others).await.unwrap();
    key
}

/// The application on `127.0.0.1:{port}` over a store, with the test institution registered.
pub struct Server {
    /// The store behind it.
    pub store: Arc<ProtectedStore>,
    /// `http://127.0.0.1:{port}`.
    pub url: String,
    /// A client that never goes through a proxy.
    pub client: Client,
    /// A key of the test institution with both scopes.
    pub key: String,
}

impl Server {
    /// Default limits.
    pub async fn start(store: Arc<ProtectedStore>) -> Server {
        Server::start_with(store, |_| {}).await
    }

    /// `configure` may change the state (limits) before it is shared.
    pub async fn start_with(store: Arc<ProtectedStore>, configure: impl FnOnce(&mut AppState)) -> Server {
        Server::start_access(store, tongdang_server::Access::default(), configure).await
    }

    /// With these channels (simulators the test holds), grant defaults and clock.
    pub async fn start_access(
        store: Arc<ProtectedStore>,
        access: tongdang_server::Access,
        configure: impl FnOnce(&mut AppState),
    ) -> Server {
        store.upsert_institution(&institution(CODE, NAME)).await.unwrap();
        let key = issue_key(store.as_ref(), CODE, &[Scope::Submit, Scope::Read], false).await;
        let mut state = AppState::with_access(store.clone(), access);
        configure(&mut state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = tongdang_server::router(Arc::new(state));
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        // No pooled connections: a request reusing a keep-alive connection the server is closing
        // at that moment fails with IncompleteMessage on a loaded machine (a client-side race).
        let client = Client::builder().no_proxy().pool_max_idle_per_host(0).build().unwrap();
        Server { store, url: format!("http://{addr}"), client, key }
    }

    /// Every current person grants the test institution their whole record (see
    /// `tongdang_testkit::grant_everyone`).
    pub async fn grant_everyone(&self) {
        tongdang_testkit::grant_everyone(self.store.as_ref(), CODE).await;
    }

    /// Sign an account in through the API; its bearer token.
    pub async fn token(&self, login: &str, password: &str) -> String {
        let r = self
            .request(Method::POST, "/api/v1/auth/sign-in", None)
            .json(&json!({"login": login, "password": password, "kind": "api"}))
            .send()
            .await
            .unwrap();
        let (status, body) = read(r).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// The FHIR base as the server names it to this client.
    pub fn fhir_base(&self) -> String {
        format!("{}/fhir", self.url)
    }

    /// A request to `path` (absolute URLs are taken as they are), with `key` if given.
    pub fn request(&self, method: Method, path: &str, key: Option<&str>) -> RequestBuilder {
        let url = if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.url) };
        let r = self.client.request(method, url);
        match key {
            Some(k) => r.header(AUTHORIZATION, format!("Bearer {k}")),
            None => r,
        }
    }

    /// `GET` with the full key.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path, Some(&self.key))
    }

    /// `GET` with the full key, answered as JSON.
    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        read(self.get(path).send().await.unwrap()).await
    }

    /// A FHIR JSON write with `key`.
    pub fn fhir_write(&self, method: Method, path: &str, key: &str, body: &Value) -> RequestBuilder {
        self.request(method, path, Some(key)).header(CONTENT_TYPE, "application/fhir+json").body(body.to_string())
    }

    /// `PUT` with the full key.
    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, HeaderMap, Value) {
        let r = self.fhir_write(Method::PUT, path, &self.key, body).send().await.unwrap();
        read_with_headers(r).await
    }

    /// `POST /fhir` with the full key.
    pub async fn post_bundle(&self, bundle: &Value) -> (StatusCode, Value) {
        read(self.fhir_write(Method::POST, "/fhir", &self.key, bundle).send().await.unwrap()).await
    }

    /// `POST /api/v1/ingest` of `body` streamed in 64 KiB chunks, with the full key.
    pub async fn ingest(&self, body: &[u8]) -> (StatusCode, Value) {
        let chunks: Vec<Result<Bytes, std::io::Error>> = body.chunks(64 << 10).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let r = self
            .request(Method::POST, "/api/v1/ingest", Some(&self.key))
            .header(CONTENT_TYPE, "application/fhir+ndjson")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
            .send()
            .await
            .unwrap();
        read(r).await
    }

    /// The platform Patient ids, via `GET /fhir/Patient`.
    pub async fn person_ids(&self) -> Vec<String> {
        let (status, bundle) = self.get_json("/fhir/Patient?_count=100").await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        assert!(bundle["link"].as_array().unwrap().iter().all(|l| l["relation"] != "next"), "one page holds everyone");
        entries(&bundle).iter().map(|e| e["resource"]["id"].as_str().unwrap().to_string()).collect()
    }
}

/// Status and JSON body; panics with the text when the body is not JSON.
pub async fn read(r: Response) -> (StatusCode, Value) {
    let (status, _, body) = read_with_headers(r).await;
    (status, body)
}

/// Status, headers and JSON body.
pub async fn read_with_headers(r: Response) -> (StatusCode, HeaderMap, Value) {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text}"));
    (status, headers, body)
}

/// `(type, id, version)` from a `Location` of the form `…/fhir/{type}/{id}/_history/{version}`.
pub fn location(headers: &HeaderMap) -> (String, String, String) {
    let text = headers.get("location").expect("a Location header").to_str().unwrap();
    let parts: Vec<&str> = text.rsplitn(5, '/').collect();
    assert_eq!(parts.len(), 5, "{text}");
    assert_eq!(parts[1], "_history", "{text}");
    (parts[3].to_string(), parts[2].to_string(), parts[0].to_string())
}

/// `Bundle.entry`, or nothing.
pub fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().cloned().unwrap_or_default()
}

/// The `expression[0]` of every issue of an OperationOutcome.
pub fn expressions(outcome: &Value) -> Vec<String> {
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    outcome["issue"].as_array().unwrap().iter().filter_map(|i| i["expression"][0].as_str().map(str::to_string)).collect()
}

/// The `code` of every issue of an OperationOutcome.
pub fn issue_codes(outcome: &Value) -> Vec<String> {
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    outcome["issue"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap().to_string()).collect()
}

/// Assert an OperationOutcome whose first issue is an error with this code.
pub fn assert_outcome(body: &Value, code: &str) {
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(body["issue"][0]["severity"], "error", "{body}");
    assert_eq!(body["issue"][0]["code"], code, "{body}");
    assert!(!body["issue"][0]["diagnostics"].as_str().unwrap().is_empty(), "{body}");
}

/// Assert `{"error": {"code", "message"}}` and nothing else.
pub fn assert_api_error(body: &Value, code: &str) {
    let top: Vec<&String> = body.as_object().unwrap_or_else(|| panic!("not an object: {body}")).keys().collect();
    assert_eq!(top, ["error"], "{body}");
    let mut keys: Vec<&String> = body["error"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["code", "message"], "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty(), "{body}");
}

/// A Chinese resident as a hospital submits it: the name as text only, the ID number under the
/// national OID, the health code under the platform's system.
pub fn chinese_patient(id: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "id": id,
        "identifier": [
            {"system": NATIONAL_ID_SYSTEM, "value": NATIONAL_ID},
            {"system": HEALTH_CODE_SYSTEM, "value": HEALTH_CODE}
        ],
        "name": [{"text": "张伟"}],
        "gender": "female",
        "birthDate": "1949-12-31"
    })
}

/// An outpatient encounter of `subject` (a reference string).
pub fn encounter(id: &str, subject: &str) -> Value {
    json!({
        "resourceType": "Encounter",
        "id": id,
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": subject},
        "period": {"start": "2024-10-03T09:00:00+08:00", "end": "2024-10-03T09:30:00+08:00"}
    })
}

/// The Synthea sample as one NDJSON body, its files in a deliberately bad order (entries before
/// the Patients they name, Encounters last, the export log in the middle), and the line numbers
/// of the log's lines in that body.
pub fn synthea_body() -> (Vec<u8>, Vec<u64>) {
    let dir = tongdang_testkit::fixture("synthea-10");
    let order = [
        "Procedure.000.ndjson",
        "Condition.000.ndjson",
        "MedicationRequest.000.ndjson",
        "DocumentReference.000.ndjson",
        "log.ndjson",
        "Patient.000.ndjson",
        "Immunization.000.ndjson",
        "Organization.000.ndjson",
        "Location.000.ndjson",
        "Practitioner.000.ndjson",
        "PractitionerRole.000.ndjson",
        "AllergyIntolerance.000.ndjson",
        "Device.000.ndjson",
        "Encounter.000.ndjson",
    ];
    let on_disk = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "ndjson"))
        .count();
    assert_eq!(on_disk, order.len(), "every NDJSON file of the fixture is sent");
    let mut body = Vec::new();
    let mut log_lines = Vec::new();
    let mut line = 0u64;
    for name in order {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(bytes.last(), Some(&b'\n'), "{name} ends with a newline, so files concatenate line by line");
        let n = bytes.iter().filter(|b| **b == b'\n').count() as u64;
        if name == "log.ndjson" {
            log_lines.extend(line + 1..=line + n);
        }
        line += n;
        body.extend_from_slice(&bytes);
    }
    assert_eq!(line, 7164);
    (body, log_lines)
}

/// Import the Synthea sample over HTTP and check it all went in.
pub async fn import_synthea(server: &Server) {
    let (body, _) = synthea_body();
    let (status, answer) = server.ingest(&body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["stored"].as_u64(), answer["refused"].as_u64()), (Some(7160), Some(4)), "{}", answer["refused"]);
}

/// A point in time given in RFC 3339 (or any FHIR dateTime).
pub fn instant(text: &str) -> Timestamp {
    Timestamp::parse_fhir(text).unwrap_or_else(|| panic!("not a dateTime: {text}"))
}
