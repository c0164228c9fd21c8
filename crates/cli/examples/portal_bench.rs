//! The clinician's record view (`/clinic/patients/{id}`), rendered on the server, for persons of
//! about 1,000 entries: the whole page over HTTP with a web session, one request at a time, on
//! the timeline store of `scripts/bench` (whose persons hold grants to INSTITUTION).
//!
//! `cargo run --release -p tongdang --example portal_bench -- DIR|postgres://… IDS_FILE INSTITUTION`

mod common;

use std::time::Instant;
use tongdang_access::signin::Accounts;
use tongdang_core::Role;
use tongdang_store::Store;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [target, ids, institution] = args.as_slice() else {
        anyhow::bail!("usage: portal_bench DIR|postgres://… IDS_FILE INSTITUTION");
    };
    let store = common::open_store(target).await?;
    let ids: Vec<String> = std::fs::read_to_string(ids)?.lines().map(str::to_string).filter(|l| !l.is_empty()).collect();
    let accounts = Accounts::new(store.clone());
    let password = "portal bench password";
    // Present after the first run.
    let _ = accounts
        .create("portal-bench-doctor", "基准医生", password, Role::Clinician, Some(institution), Some("全科医学科"), None)
        .await;
    let base = common::serve(store.clone()).await?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    // Today's appointment at INSTITUTION for every sampled person, posted by the city's booking
    // platform with the resident's consent: the grant the record view reads under.
    let booking = tongdang_core::InstitutionCode::new("GZ-BOOKING")?;
    if store.institution(&booking).await?.is_none() {
        anyhow::bail!("the store has no booking platform GZ-BOOKING: run scripts/bench first");
    }
    let (booking_key, record) = tongdang_access::credential::new_key(booking.as_str(), &[tongdang_core::Scope::Booking]);
    store.insert_api_key(&record, false).await?;
    let now = tongdang_core::Timestamp::now().to_rfc3339_cst();
    for id in &ids {
        let r = client
            .post(format!("{base}/api/v1/bookings"))
            .bearer_auth(&booking_key)
            .json(&serde_json::json!({"appointment_id": format!("portal-bench-{id}-{}", &now[..10]), "patient": id, "institution": institution, "at": now, "consent": true}))
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success() || r.status() == reqwest::StatusCode::CONFLICT,
            "booking for {id}: {}",
            r.status()
        );
    }
    let signed = client
        .post(format!("{base}/api/v1/auth/sign-in"))
        .json(&serde_json::json!({"login": "portal-bench-doctor", "password": password, "kind": "web"}))
        .send()
        .await?;
    anyhow::ensure!(signed.status().is_success(), "sign-in failed: {}", signed.status());
    let cookie = signed
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("no session cookie"))?
        .to_string();
    let mut rows = Vec::new();
    let mut times = Vec::new();
    for round in 0..3 {
        for id in &ids {
            let t = Instant::now();
            let r = client.get(format!("{base}/clinic/patients/{id}")).header("cookie", &cookie).send().await?;
            let status = r.status();
            let body = r.text().await?;
            let elapsed = t.elapsed();
            anyhow::ensure!(
                status.is_success() && body.contains("<h1>患者档案</h1>"),
                "person {id}: {status}: {}",
                body.chars().take(1500).collect::<String>()
            );
            if round > 0 {
                times.push(elapsed);
                rows.push(body.matches("<tr><td>").count());
            }
        }
    }
    times.sort();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)].as_secs_f64() * 1000.0;
    let mean_rows = rows.iter().sum::<usize>() as f64 / rows.len() as f64;
    println!(
        "clinician record view (/clinic/patients/{{id}}, server-rendered, {} store, {} persons × 2 rounds, {mean_rows:.0} entries shown on average): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        store.dialect(),
        ids.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
