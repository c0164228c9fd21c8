//! The demo, run as a user would run it: its database (the SQLite file, a PostgreSQL dump) holds
//! none of the demo residents' names, ID numbers, health codes, phone numbers or addresses, and
//! the logs of a full run (loading, serving, sign-ins, reads, searches by ID number) carry none
//! of them, nor passwords, keys or tokens.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tongdang_synth::{Province, SynthConfig};

const RESIDENTS: usize = 60;
const SEED: u64 = 20241001;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tongdang")
}

fn province() -> Province {
    Province::generate(&SynthConfig { residents: RESIDENTS, seed: SEED, ..SynthConfig::default() })
}

/// What must never be stored or logged in plaintext.
fn secrets() -> Vec<String> {
    let province = province();
    // Names that are also parts of institution names (public, stored in plaintext) cannot be
    // told apart in a byte search; leave those out.
    let public: String = province.institutions.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join("|");
    let mut out = BTreeSet::new();
    for r in &province.residents {
        if r.name.chars().count() >= 2 && !public.contains(&r.name) {
            out.insert(r.name.clone());
        }
        out.extend(r.national_id.clone());
        out.insert(r.health_code.clone());
        out.insert(r.phone.clone());
        if r.address.chars().count() >= 6 {
            out.insert(r.address.clone());
        }
    }
    assert!(out.len() > 3 * RESIDENTS, "enough to look for: {}", out.len());
    out.into_iter().collect()
}

/// The needles found in the haystack, in one pass.
fn find_any(haystack: &[u8], needles: &[String]) -> Vec<String> {
    let ac = aho_corasick::AhoCorasick::new(needles).unwrap();
    let found: BTreeSet<usize> = ac.find_overlapping_iter(haystack).map(|m| m.pattern().as_usize()).collect();
    found.into_iter().map(|i| needles[i].clone()).collect()
}

/// Every file of a data directory but the master key.
fn data_files(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().is_some_and(|n| n != "master.key") && p.is_file() {
            all.extend(std::fs::read(&p).unwrap());
        }
    }
    all
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_sqlite_demo_stores_and_logs_no_personal_data() {
    let secrets = secrets();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let port = free_port();
    let mut child = Command::new(bin())
        .args(["--data-dir", data.to_str().unwrap(), "demo", "--residents", &RESIDENTS.to_string()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("TONGDANG_LOG", "debug")
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
        .spawn()
        .unwrap();
    let result = std::panic::catch_unwind(|| exercise(port, &out));
    let _ = child.kill();
    let _ = child.wait();
    let (key, token) = result.unwrap_or_else(|e| {
        eprintln!("server log:\n{}", std::fs::read_to_string(&err).unwrap_or_default());
        std::panic::resume_unwind(e)
    });

    let logs = std::fs::read(&err).unwrap();
    assert!(logs.len() > 1000, "the run logged (debug): {} bytes", logs.len());
    let found = find_any(&logs, &secrets);
    assert!(found.is_empty(), "the logs carry personal data: {:?}", &found[..found.len().min(5)]);
    let master = std::fs::read_to_string(data.join("master.key")).unwrap().trim().to_string();
    let credentials = [key, token, "demo-resident-2024".to_string(), master];
    let found = find_any(&logs, &credentials);
    assert!(found.is_empty(), "the logs carry {} credential(s)", found.len());
    // Standard output is the demo's welcome (keys and sign-ins by design), never resident data
    // beyond the demo resident's sign-in name.
    let stdout = std::fs::read(&out).unwrap();
    let resident_login = province().residents[0].phone.clone();
    let others: Vec<String> = secrets.iter().filter(|s| **s != resident_login).cloned().collect();
    assert!(find_any(&stdout, &others).is_empty());

    let stored = data_files(&data);
    assert!(stored.len() > 100_000, "the database was written: {} bytes", stored.len());
    // The search does find what is stored in plaintext: institution names are public.
    let institution = province().institutions[0].name.clone();
    assert_eq!(find_any(&stored, std::slice::from_ref(&institution)), [institution]);
    let found = find_any(&stored, &secrets);
    assert!(found.is_empty(), "the SQLite files hold personal data in plaintext: {:?}", &found[..found.len().min(5)]);
}

/// Drive the running demo like its users: returns the API key and a session token it used.
fn exercise(port: u16, stdout: &Path) -> (String, String) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let started = Instant::now();
        loop {
            if client.get(format!("{base}/fhir/metadata")).send().await.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(300), "the demo did not start serving");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let printed = std::fs::read_to_string(stdout).unwrap();
        let key = printed
            .lines()
            .find_map(|l| l.trim().strip_prefix("export TONGDANG_KEY="))
            .expect("the demo prints a key")
            .to_string();
        let province = province();
        let r = &province.residents[0];
        // Reads and searches that carry personal data in the URL.
        let id = r.national_id.clone().unwrap_or_else(|| r.health_code.clone());
        for path in [
            format!("/fhir/Patient?identifier=urn:oid:2.16.156.10011.1.3|{id}"),
            format!("/fhir/Patient?name={}&birthdate={}", r.name, r.birth_date),
            format!("/fhir/Patient/$ihe-pix?sourceIdentifier=urn:oid:2.16.156.10011.1.3|{id}"),
            "/fhir/Patient/999999999".to_string(),
        ] {
            client.get(format!("{base}{path}")).bearer_auth(&key).send().await.unwrap();
        }
        // A wrong password, then the resident's own sign-in and reads.
        let sign_in = |password: &str| {
            let body = serde_json::json!({"login": r.phone, "password": password, "kind": "api"});
            client.post(format!("{base}/api/v1/auth/sign-in")).json(&body).send()
        };
        assert_eq!(sign_in("not the password").await.unwrap().status(), 401);
        let body: serde_json::Value = sign_in("demo-resident-2024").await.unwrap().json().await.unwrap();
        let token = body["token"].as_str().expect("the demo resident signs in").to_string();
        let person = body["account"]["person"].as_str().unwrap().to_string();
        // Face verification first, with the live photo the demo gave the police simulator.
        let photo_path = printed
            .lines()
            .find_map(|l| l.split_once("live photo is ").map(|(_, p)| p.trim().to_string()))
            .expect("the demo names the photo");
        let photo = data_encoding::BASE64.encode(&std::fs::read(photo_path).unwrap());
        let verified = client
            .post(format!("{base}/api/v1/me/face-verification"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "photo": photo }))
            .send()
            .await
            .unwrap();
        assert_eq!(verified.status(), 200, "{}", verified.text().await.unwrap());
        let timeline = client.get(format!("{base}/api/v1/persons/{person}/timeline")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(timeline.status(), 200);
        let patient = client.get(format!("{base}/fhir/Patient/{person}")).bearer_auth(&token).send().await.unwrap();
        assert!(patient.text().await.unwrap().contains(&r.name), "the resident sees their own name");
        // A clinician's SMS request (a masked phone in its evidence) and an emergency access
        // whose stated reason names the resident: grants' free text is sealed like the rest.
        let body = serde_json::json!({"login": "doctor01", "password": "demo-clinician-2024", "kind": "api"});
        let doctor: serde_json::Value =
            client.post(format!("{base}/api/v1/auth/sign-in")).json(&body).send().await.unwrap().json().await.unwrap();
        let doctor = doctor["token"].as_str().expect("the demo clinician signs in").to_string();
        let asked = client
            .post(format!("{base}/api/v1/access-requests"))
            .bearer_auth(&doctor)
            .json(&serde_json::json!({"patient": person, "channel": "sms"}))
            .send()
            .await
            .unwrap();
        assert_eq!(asked.status(), 201, "{}", asked.text().await.unwrap());
        let reason = format!("{}昏迷送急诊，家属电话{}，身份证{}", r.name, r.phone, r.national_id.clone().unwrap_or_default());
        let emergency = client
            .post(format!("{base}/api/v1/persons/{person}/emergency-access"))
            .bearer_auth(&doctor)
            .json(&serde_json::json!({"reason": reason}))
            .send()
            .await
            .unwrap();
        assert_eq!(emergency.status(), 201, "{}", emergency.text().await.unwrap());
        (key, token)
    })
}

#[test]
fn the_postgres_demo_dump_holds_no_personal_data() {
    let secrets = secrets();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(tongdang_testkit::empty_postgres_database());
    let master = "7f".repeat(32);
    let status = Command::new(bin())
        .args(["--database-url", &url, "demo", "--residents", &RESIDENTS.to_string(), "--no-serve"])
        .env("TONGDANG_MASTER_KEY", &master)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let pg_dump = "/usr/lib/postgresql/15/bin/pg_dump";
    assert!(Path::new(pg_dump).exists(), "pg_dump is missing: install the Debian package postgresql-15");
    let dump = Command::new(pg_dump).args(["--data-only", "--dbname", &url]).output().unwrap();
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    assert!(dump.stdout.len() > 100_000, "the dump has the data: {} bytes", dump.stdout.len());
    let institution = province().institutions[0].name.clone();
    assert_eq!(find_any(&dump.stdout, std::slice::from_ref(&institution)), [institution], "the search finds plaintext");
    let found = find_any(&dump.stdout, &secrets);
    assert!(found.is_empty(), "the PostgreSQL dump holds personal data in plaintext: {:?}", &found[..found.len().min(5)]);
    assert!(!String::from_utf8_lossy(&dump.stdout).contains(&master), "the master key is never stored");
}
