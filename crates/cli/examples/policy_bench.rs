//! The policy decision point's figures: `Policy::decide` alone (in-process, no I/O), and the
//! decision as the read path makes it — the person's grants to the reader's institution looked
//! up in the store, then decided — on a store of 100,000 grants over 20,000 persons.
//!
//! `cargo run --release -p tongdang --example policy_bench -- DIR|postgres://…`
//!
//! With `-- DIR|postgres://… timeline IDS_FILE INSTITUTION` it measures instead, on an existing
//! store (the timeline store of `scripts/bench`, whose persons hold grants to INSTITUTION), the
//! first page of 100 entries read straight from the store (the foundation's read) and through
//! `RecordReader::timeline` (grant look-up, decision, audit event durable, read), one at a time
//! and four at a time: the difference is what the decision and its audit cost.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};
use tongdang_access::grant::{Channel, Grant, Status};
use tongdang_access::{Categories, Disclosure, Policy, Requester};
use tongdang_core::{Category, InstitutionCode, PersonId, Role, Scope, Timestamp};
use tongdang_store::{GrantRecord, Store};

const HOSPITALS: [&str; 5] =
    ["12440100MB0000001X", "12440100MB0000002X", "12440100MB0000003X", "12440100MB0000004X", "12440100MB0000005X"];
const HOUR: i64 = 3_600_000_000;

fn percentiles(mut d: Vec<Duration>) -> String {
    d.sort();
    let at = |p: f64| d[((d.len() as f64 * p) as usize).min(d.len() - 1)].as_nanos() as f64 / 1000.0;
    format!(
        "p50 {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs, max {:.1} µs ({} decisions)",
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0),
        d.len()
    )
}

fn clinician() -> Requester {
    Requester {
        role: Role::Clinician,
        institution: Some(InstitutionCode::new(HOSPITALS[0]).unwrap()),
        department: Some("心内科".into()),
        person: None,
        scopes: vec![Scope::Read],
        actor: "account:1".into(),
        account: Some(1),
        face_verified_at: None,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let target = args
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("usage: policy_bench DIR|postgres://… [timeline IDS INSTITUTION]"))?;
    if args.get(1).map(String::as_str) == Some("timeline") {
        let (ids, institution) = (args.get(2).cloned().unwrap_or_default(), args.get(3).cloned().unwrap_or_default());
        return timeline(&target, &ids, &institution).await;
    }
    let now = Timestamp::now();
    let who = clinician();

    // 1. In-process: a person with five grants of mixed kinds, one of which covers the reader.
    let grant =
        |id: i64, institution: &str, department: Option<&str>, channel: Channel, categories: Categories, until: i64| Grant {
            id,
            person: PersonId(7),
            institution: institution.into(),
            department: department.map(str::to_string),
            clinician: None,
            categories,
            channel,
            status: Status::Active,
            valid_from: Timestamp(now.0 - HOUR),
            valid_until: Timestamp(now.0 + until),
        };
    let grants = vec![
        grant(1, HOSPITALS[0], Some("骨科"), Channel::Booking, Categories::All, HOUR),
        grant(2, HOSPITALS[0], None, Channel::Sms, Categories::Only(vec![Category::Lab, Category::Vaccination]), HOUR),
        grant(3, HOSPITALS[0], None, Channel::App, Categories::Only(vec![Category::Encounter]), -1),
        grant(4, HOSPITALS[0], Some("心内科"), Channel::Emergency, Categories::All, HOUR),
        grant(5, HOSPITALS[0], None, Channel::App, Categories::Only(vec![Category::Medication]), HOUR),
    ];
    for _ in 0..100_000 {
        std::hint::black_box(Policy.decide(&who, Some(PersonId(7)), Disclosure::Clinical, &grants, now));
    }
    let mut times = Vec::with_capacity(1_000_000);
    for _ in 0..1_000_000 {
        let t = Instant::now();
        std::hint::black_box(Policy.decide(std::hint::black_box(&who), Some(PersonId(7)), Disclosure::Clinical, &grants, now));
        times.push(t.elapsed());
    }
    println!("policy decision, in-process (5 grants): {}", percentiles(times));

    // 2. With the look-up the read path makes.
    let store = common::open_store(&target).await?;
    let persons = 20_000i64;
    if store.grants_in_force(PersonId(1), HOSPITALS[0], now).await?.is_empty() {
        let started = Instant::now();
        for i in 0..100_000i64 {
            let g = GrantRecord::new(
                PersonId(1 + i % persons),
                HOSPITALS[(i / persons) as usize % HOSPITALS.len()],
                "booking",
                "active",
                Timestamp(now.0 - HOUR),
                Timestamp(now.0 + 24 * HOUR),
                "bench",
            );
            store.insert_grant(&g).await?;
        }
        println!("stored 100,000 grants in {:.1} s", started.elapsed().as_secs_f64());
    }
    let mut times = Vec::with_capacity(20_000);
    let mut rng = 0x2545F4914F6CDD1Du64;
    for _ in 0..20_000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let person = PersonId(1 + (rng % persons as u64) as i64);
        let t = Instant::now();
        let records = store.grants_in_force(person, HOSPITALS[0], now).await?;
        let grants: Vec<Grant> = records.iter().filter_map(Grant::from_record).collect();
        std::hint::black_box(Policy.decide(&who, Some(person), Disclosure::Clinical, &grants, now));
        times.push(t.elapsed());
    }
    println!("grant look-up + decision ({}): {}", store.dialect(), percentiles(times));
    Ok(())
}

/// The foundation's read against the read with decision and audit, on an existing store.
async fn timeline(target: &str, ids: &str, institution: &str) -> anyhow::Result<()> {
    use tongdang_access::{RecordReader, TimelineFilter};
    use tongdang_store::EntryQuery;
    let store = common::open_store(target).await?;
    let persons: Vec<PersonId> = std::fs::read_to_string(ids)?.lines().filter_map(|l| l.trim().parse().ok()).collect();
    anyhow::ensure!(!persons.is_empty(), "no person ids in {ids}");
    let who = Requester::institution_key(InstitutionCode::new(institution)?, vec![Scope::Read], "bench");
    let reader = Arc::new(RecordReader::new(store.clone(), Policy));
    let dyn_store: Arc<dyn Store> = store.clone();
    let direct = |p: PersonId| {
        let s = dyn_store.clone();
        async move { s.entries(&EntryQuery { person: Some(p), limit: 101, ..Default::default() }).await.map(|e| e.len()) }
    };
    let decided = |p: PersonId| {
        let (r, w) = (reader.clone(), who.clone());
        async move { r.timeline(&w, p, &TimelineFilter { limit: 100, ..Default::default() }).await.map(|t| t.entries.len()) }
    };
    for round in 0..2 {
        for concurrency in [1usize, 4] {
            let mut straight = Vec::new();
            let mut through = Vec::new();
            let mut lookups = Vec::new();
            for chunk in persons.iter().cycle().take(2000).collect::<Vec<_>>().chunks(concurrency) {
                let t = Instant::now();
                let n = futures_join(chunk.iter().map(|p| direct(**p)).collect()).await;
                straight.push(t.elapsed());
                anyhow::ensure!(n.iter().all(|x| x.as_ref().is_ok_and(|n| *n > 0)), "empty record read");
                let t = Instant::now();
                for p in chunk {
                    std::hint::black_box(store.grants_in_force(**p, institution, Timestamp::now()).await?);
                }
                lookups.push(t.elapsed() / chunk.len() as u32);
                let t = Instant::now();
                let n = futures_join(chunk.iter().map(|p| decided(**p)).collect()).await;
                through.push(t.elapsed());
                anyhow::ensure!(
                    n.iter().all(|x| x.as_ref().is_ok_and(|n| *n == 100)),
                    "a read was refused: do the persons hold grants to {institution}?"
                );
            }
            if round == 1 {
                println!("first page of 100, {concurrency} at a time, store only: {}", percentiles_ms(straight));
                println!(
                    "first page of 100, {concurrency} at a time, with grant look-up, decision and audit: {}",
                    percentiles_ms(through)
                );
                if concurrency == 1 {
                    println!("the grant look-up alone: {}", percentiles_ms(lookups));
                }
            }
        }
    }
    Ok(())
}

async fn futures_join<T: Send + 'static>(fs: Vec<impl std::future::Future<Output = T> + Send + 'static>) -> Vec<T> {
    let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

fn percentiles_ms(mut d: Vec<Duration>) -> String {
    d.sort();
    let at = |p: f64| d[((d.len() as f64 * p) as usize).min(d.len() - 1)].as_secs_f64() * 1000.0;
    format!("p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms ({} rounds)", at(0.5), at(0.9), at(0.99), d.len())
}
