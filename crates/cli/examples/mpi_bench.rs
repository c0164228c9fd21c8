//! Registration latency and match-decision throughput of the patient index at a given size.
//!
//! `cargo run --release -p tongdang --example mpi_bench -- DATA_DIR [REGISTRATIONS]` opens an
//! existing store (filled by `scripts/bench-mpi`), then registers realistic Chinese Patients
//! (the corrupted evaluation set: about half are new persons, half belong to one registered
//! moments earlier at another hospital) one at a time, each its own transaction as a `PUT`
//! would be, and prints the latency distribution. Then the same Patients again as new records
//! of a second round in groups of 1,000 (an NDJSON submission), for decisions per second.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tongdang_core::InstitutionCode;
use tongdang_ingest::{Channel, GroupMode, Ingestor, Item, Preparation, prepare};
use tongdang_protection::{LocalMasterKey, Suite};
use tongdang_store::{Location, Protection, Store};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or_else(|| anyhow::anyhow!("usage: mpi_bench DATA_DIR [REGISTRATIONS]"))?);
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2_000);
    let location = if dir.to_string_lossy().starts_with("postgres") {
        Location::Postgres(dir.to_string_lossy().into_owned())
    } else {
        Location::DataDir(dir)
    };
    // The master key: TONGDANG_MASTER_KEY, else the data directory's master.key.
    let master = match (std::env::var("TONGDANG_MASTER_KEY"), &location) {
        (Ok(hex), _) => LocalMasterKey::parse(&hex)?,
        (Err(_), Location::DataDir(d)) => LocalMasterKey::from_file(&d.join("master.key"))?,
        (Err(_), Location::Postgres(_)) => anyhow::bail!("set TONGDANG_MASTER_KEY for PostgreSQL"),
    };
    let protection =
        Protection { provider: Arc::new(master), suite: Suite::Aes256Gcm, origin: tongdang_store::DEFAULT_ORIGIN.into() };
    let store = tongdang_store::open(&location, protection).await?;
    let persons_before = store.mpi_counts().await?.persons;
    let ingestor = Ingestor::load(store.clone()).await?;
    // Seeds differ per run so a re-run registers new records rather than unchanged ones.
    let seed = tongdang_core::Timestamp::now().0 as u64;
    let set = tongdang_synth::mpi_eval_set(n / 2, seed);
    let lines: Vec<(InstitutionCode, String)> = set
        .institutions
        .iter()
        .flat_map(|(code, lines)| lines.iter().map(move |l| (InstitutionCode::new(code).unwrap(), l.clone())))
        .take(n)
        .collect();
    for code in set.institutions.iter().map(|(c, _)| c) {
        let inst = tongdang_core::Institution {
            code: InstitutionCode::new(code).unwrap(),
            name: format!("基准机构 {code}"),
            city: tongdang_core::City::Guangzhou,
            level: tongdang_core::Level::Secondary,
            ownership: tongdang_core::Ownership::Public,
            kind: tongdang_core::InstitutionKind::Hospital,
            connection: tongdang_core::ConnectionMode::Direct,
        };
        store.upsert_institution(&inst).await?;
    }
    // One at a time.
    let mut latencies = Vec::with_capacity(lines.len());
    let (mut preparing, mut beginning, mut committing) = (0.0, 0.0, 0.0);
    let started = Instant::now();
    for (code, line) in &lines {
        let t = Instant::now();
        let item = prepare(Item::from_line(1, line), &Preparation::new(code.clone()), line.len());
        let prepared = t.elapsed().as_secs_f64();
        let submission = ingestor.begin(code.clone(), Channel::Rest).await?;
        let begun = t.elapsed().as_secs_f64();
        ingestor.commit(&submission, vec![item], GroupMode::Transaction).await?;
        let done = t.elapsed().as_secs_f64();
        (preparing, beginning, committing) = (preparing + prepared, beginning + begun - prepared, committing + done - begun);
        latencies.push(done * 1000.0);
    }
    let single = started.elapsed().as_secs_f64();
    let per = |x: f64| x / lines.len() as f64 * 1000.0;
    println!(
        "mean per registration: prepare {:.3} ms · submission id {:.3} ms · commit {:.3} ms",
        per(preparing),
        per(beginning),
        per(committing)
    );
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "index {persons_before} persons · {} single registrations in {single:.2} s · p50 {:.3} ms · p95 {:.3} ms · p99 {:.3} ms · max {:.3} ms",
        lines.len(),
        pct(0.50),
        pct(0.95),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
    // Groups of 1,000, as an NDJSON submission commits them, under new local ids.
    let regrouped: Vec<(InstitutionCode, String)> =
        lines.iter().map(|(c, l)| (c.clone(), l.replacen("\"id\":\"", "\"id\":\"g", 1))).collect();
    let mut decided = 0;
    let mut committing = 0.0;
    let started = Instant::now();
    let mut by_institution: std::collections::BTreeMap<&InstitutionCode, Vec<&String>> = Default::default();
    for (c, l) in &regrouped {
        by_institution.entry(c).or_default().push(l);
    }
    for (code, lines) in by_institution {
        for chunk in lines.chunks(1_000) {
            let submission = ingestor.begin(code.clone(), Channel::Ndjson).await?;
            let items: Vec<_> = chunk
                .iter()
                .enumerate()
                .map(|(i, l)| prepare(Item::from_line(i as u64 + 1, l), &submission.preparation(), l.len()))
                .collect();
            decided += items.len();
            let t = Instant::now();
            ingestor.commit(&submission, items, GroupMode::Batch).await?;
            committing += t.elapsed().as_secs_f64();
        }
    }
    let grouped = started.elapsed().as_secs_f64();
    println!(
        "grouped: {decided} registrations in {grouped:.2} s ({:.0}/s on one thread, preparation included) · commit (decide + write) {:.0}/s",
        decided as f64 / grouped,
        decided as f64 / committing
    );
    Ok(())
}
