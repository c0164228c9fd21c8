//! The governance figures of BENCHMARKS.md.
//!
//! `cargo run --release -p tongdang --example governance_bench -- ingest NDJSON N WORKDIR`:
//! import the first N resources of NDJSON into fresh SQLite stores, alternately with no quality
//! rules and with the built-in set (two rounds each): what checking costs.
//!
//! `… -- figures DIR|postgres://…`: on an existing store (the 10 M-entry timeline store of `scripts/bench`),
//! add a month of quality counters for 1,260 institutions (60 per city, 12 categories, 31 days) if
//! absent, then time `/quality/figures`' queries for one institution, one city and the province.
//!
//! `… -- reconcile DIR|postgres://… [INSTITUTION FROM_US TO_US]`: the held entries of an
//! institution received in a window (about 100,000 of them) read from the store, and a manifest of
//! them as JSON (1 % left out, 1,000 unknown added) parsed and reconciled against them; without
//! a window, 100,000 synthetic held entries.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};
use tongdang_core::{City, InstitutionCode, Timestamp};
use tongdang_govern::RuleSet;
use tongdang_govern::reconcile::{HeldItem, ListedItem, reconcile};
use tongdang_ingest::Ingestor;
use tongdang_store::{QualityCounts, QualityQuery, Store};

fn percentiles(mut d: Vec<Duration>) -> String {
    d.sort();
    let at = |p: f64| d[((d.len() as f64 * p) as usize).min(d.len() - 1)].as_secs_f64() * 1000.0;
    format!("p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} runs)", at(0.5), at(0.99), at(1.0), d.len())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ingest") => ingest(&args[1], args[2].parse()?, &args[3]).await,
        Some("figures") => figures(&args[1]).await,
        Some("reconcile") => {
            let window = match (args.get(2), args.get(3), args.get(4)) {
                (Some(i), Some(from), Some(to)) => Some((i.as_str(), from.parse()?, to.parse()?)),
                _ => None,
            };
            reconcile_bench(&args[1], window).await
        }
        _ => anyhow::bail!("usage: governance_bench ingest NDJSON N WORKDIR | figures DIR | reconcile DIR"),
    }
}

async fn ingest(source: &str, n: usize, work: &str) -> anyhow::Result<()> {
    let work = std::path::PathBuf::from(work);
    std::fs::create_dir_all(&work)?;
    let input = work.join(format!("gov-ingest-{n}.ndjson"));
    if !input.exists() {
        let text = std::fs::read_to_string(source)?;
        let lines: Vec<&str> = text.lines().take(n).collect();
        std::fs::write(&input, lines.join("\n") + "\n")?;
    }
    let code = InstitutionCode::new("12440100MB0000001X")?;
    let none = Arc::new(RuleSet::from_json(r#"{"version":"none","rules":[]}"#)?);
    let builtin = Arc::new(RuleSet::builtin());
    // The rules' CPU cost alone: preparing on one thread, without and with them (three rounds).
    let text = std::fs::read_to_string(&input)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut per_item = [Duration::ZERO; 2];
    for _ in 0..3 {
        for (k, rules) in [none.clone(), builtin.clone()].into_iter().enumerate() {
            let at = tongdang_ingest::Preparation { institution: code.clone(), rules, received: Timestamp::now() };
            let t = Instant::now();
            for (n, l) in lines.iter().enumerate() {
                std::hint::black_box(tongdang_ingest::prepare(tongdang_ingest::Item::from_line(n as u64 + 1, l), &at, l.len()));
            }
            per_item[k] += t.elapsed() / lines.len() as u32;
        }
    }
    let (a, b) = (per_item[0].as_secs_f64() / 3.0 * 1e6, per_item[1].as_secs_f64() / 3.0 * 1e6);
    println!(
        "preparing one resource on one thread: {a:.1} µs without rules, {b:.1} µs with the built-in rules (+{:.1} µs)",
        b - a
    );
    let mut rates: Vec<(&str, f64)> = Vec::new();
    for round in 0..2 {
        let mut no_dup = (*builtin).clone();
        no_dup.rules.retain(|r| r.kind != tongdang_govern::RuleKind::Duplicate);
        no_dup.version = "no-dup".into();
        let mut no_person = no_dup.clone();
        no_person.rules.retain(|r| !r.kind.needs_person());
        no_person.version = "no-person".into();
        for (name, rules) in [
            ("no rules", none.clone()),
            ("built-in rules", builtin.clone()),
            ("built-in without duplicates", Arc::new(no_dup)),
            ("built-in without duplicates and person rules", Arc::new(no_person)),
        ] {
            let dir = work.join(format!("gov-ingest-store-{round}-{}", rules.version));
            let _ = std::fs::remove_dir_all(&dir);
            let store = common::open_store(&dir.to_string_lossy()).await?;
            let ingestor = Ingestor::new(store.clone());
            ingestor.set_rules(rules);
            let started = Instant::now();
            let report =
                tongdang_ingest::import::import_files(&ingestor, &code, std::slice::from_ref(&input), &|_| {}, 10).await?;
            let secs = started.elapsed().as_secs_f64();
            let totals = report.summary.totals();
            let rate = totals.read as f64 / secs;
            println!(
                "{name}: {} resources in {secs:.1} s = {rate:.0}/s ({} stored, {} refused)",
                totals.read, totals.stored, totals.refused
            );
            rates.push((name, rate));
            drop(store);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let mean = |which: &str| {
        let r: Vec<f64> = rates.iter().filter(|(n, _)| *n == which).map(|(_, r)| *r).collect();
        r.iter().sum::<f64>() / r.len() as f64
    };
    let (a, b) = (mean("no rules"), mean("built-in rules"));
    println!(
        "import with rules vs without (noisy on this machine: ±10 % run to run): {:.1} % ({a:.0}/s → {b:.0}/s)",
        (1.0 - b / a) * 100.0
    );
    let rules_us = (per_item[1].as_secs_f64() - per_item[0].as_secs_f64()) / 3.0 * 1e6;
    println!(
        "quality checking costs {:.1} % of ingest throughput: {rules_us:.1} µs of CPU per resource, against {:.1} µs per resource at {b:.0}/s on 2 cores",
        rules_us / (2e6 / b) * 100.0,
        2e6 / b
    );
    Ok(())
}

const CATEGORIES: i16 = 12;

async fn figures(dir: &str) -> anyhow::Result<()> {
    let store = common::open_store(dir).await?;
    let entries = store.counts().await?.entries;
    let month = (20261001, 20261031);
    let probe = QualityQuery { institution: None, city: None, from: month.0, to: month.1 };
    if store.quality(&probe).await?.is_empty() {
        let started = Instant::now();
        let mut rows = Vec::new();
        for (c, city) in City::ALL.iter().enumerate() {
            for i in 0..60 {
                let institution = format!("1244{:02}00MB{:07}X", c, i);
                for day in month.0..=month.1 {
                    for category in 0..CATEGORIES {
                        let n = 200 + (i * 7 + category as i64 * 13 + day as i64) % 300;
                        rows.push(QualityCounts {
                            institution: institution.clone(),
                            day,
                            category,
                            city: city.area_code().to_string(),
                            received: n,
                            accepted: n - n / 50,
                            returned: n / 50,
                            incomplete: n / 20,
                            invalid: n / 40,
                            inconsistent: n / 100,
                            late: n / 10,
                            duplicates: n / 200,
                            timed: n - n / 50,
                            lag_seconds: n * 3600,
                            lag: [n / 2, n / 4, n / 8, n / 16, n / 32, n / 64],
                        });
                    }
                }
                if rows.len() >= 20_000 {
                    store.record_quality(&rows, &[]).await?;
                    rows.clear();
                }
            }
        }
        store.record_quality(&rows, &[]).await?;
        println!(
            "stored a month of quality counters for {} institutions in {:.1} s",
            City::ALL.len() * 60,
            started.elapsed().as_secs_f64()
        );
    }
    println!("store: {entries} entries");
    let scopes = [
        ("one institution", QualityQuery { institution: Some("12440000MB0000007X".into()), ..probe.clone() }),
        ("one city", QualityQuery { city: Some(City::Guangzhou.area_code().to_string()), ..probe.clone() }),
        ("the province", probe.clone()),
    ];
    for (name, q) in scopes {
        let mut times = Vec::new();
        for _ in 0..100 {
            let t = Instant::now();
            let (rows, open) = tokio::try_join!(store.quality(&q), store.open_returns_summary(None, Timestamp::now()))?;
            std::hint::black_box((rows, open));
            times.push(t.elapsed());
        }
        println!("quality figures over a month, {name}: {}", percentiles(times));
    }
    Ok(())
}

async fn reconcile_bench(dir: &str, window: Option<(&str, i64, i64)>) -> anyhow::Result<()> {
    let n = 100_000;
    let synthetic: Vec<HeldItem> = (0..n)
        .map(|i| HeldItem {
            resource_type: "Observation".into(),
            id: format!("OBS{i:09}"),
            version: 1,
            digest: vec![(i % 251) as u8; 32],
        })
        .collect();
    // The held side: 100,000 entries of the store received in a window, when given; else synthetic.
    let store = common::open_store(dir).await?;
    let (held, source) = match window {
        Some((institution, from, to)) => {
            let t = Instant::now();
            let rows = store.held_entries(institution, Timestamp(from), Timestamp(to), None).await?;
            println!(
                "held entries of an institution's window on the store: {} rows in {:.1} ms",
                rows.len(),
                t.elapsed().as_secs_f64() * 1000.0
            );
            let held: Vec<HeldItem> = rows
                .into_iter()
                .map(|h| HeldItem { resource_type: h.resource_type, id: h.source_id, version: h.version, digest: h.digest })
                .collect();
            (held, "held entries of the store")
        }
        None => (synthetic, "synthetic held entries"),
    };
    // The institution's side: all but 1 % of them (listed with version and digest), and 1,000 the
    // platform never received.
    let listed: Vec<serde_json::Value> = held
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 100 != 0)
        .map(|(_, h)| serde_json::json!({"type": h.resource_type, "id": h.id, "version": h.version, "digest": data_encoding::HEXLOWER.encode(&h.digest)}))
        .chain((0..1000).map(|i| serde_json::json!({"type": "Observation", "id": format!("NEW{i:09}")})))
        .collect();
    let body = serde_json::json!({"day": "2026-10-05", "items": listed}).to_string();
    let mut times = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let v: serde_json::Value = serde_json::from_str(&body)?;
        let items: Vec<ListedItem> = serde_json::from_value(v["items"].clone())?;
        let r = reconcile(&items, &held)?;
        let result = serde_json::to_string(&r)?;
        std::hint::black_box(result);
        times.push(t.elapsed());
    }
    println!(
        "reconciling a {}-item manifest ({:.1} MB) against {} {source} (parse, compare, answer): {}",
        listed.len(),
        body.len() as f64 / 1e6,
        held.len(),
        percentiles(times)
    );
    Ok(())
}
