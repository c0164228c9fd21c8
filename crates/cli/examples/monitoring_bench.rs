//! The `/metrics` scrape, over HTTP, on an existing store (the 10,000,000-entry timeline store of
//! `scripts/bench`) after giving it at least 100,000 work orders.
//!
//! `cargo run --release -p tongdang --example monitoring_bench -- DIR|postgres://…`

mod common;

use std::time::Instant;
use tongdang_core::{InstitutionCode, Role, Timestamp};
use tongdang_store::{Store, WorkOrderFilter};
use tongdang_workorders::{Deadlines, NewOrder, Origin, Party, WorkOrders};

const ORDERS: usize = 100_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let target = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: monitoring_bench DIR|postgres://…"))?;
    let store = common::open_store(&target).await?;
    let source = InstitutionCode::new("12440100MB0000101X")?;
    if store.institution(&source).await?.is_none() {
        anyhow::bail!("the store has no institution {source}: run scripts/bench first");
    }
    let have = store.work_order_counts().await?.iter().map(|(_, n)| n).sum::<i64>() as usize;
    if have < ORDERS {
        let orders = WorkOrders::new(store.clone(), Deadlines::default());
        let by = Party { role: Role::ProvincialOperator, actor: "bench".into(), account: None, institution: None, city: None };
        let started = Instant::now();
        for i in have..ORDERS {
            let new = NewOrder {
                origin: Origin::Operator,
                source: source.clone(),
                person: None,
                entry: None,
                period: None,
                rule: None,
                category: None,
                title: format!("基准工单 {i}"),
                description: String::new(),
            };
            orders.raise(&by, new, Timestamp::now()).await?;
        }
        println!("raised {} work orders in {:.1} s", ORDERS - have, started.elapsed().as_secs_f64());
    }
    let open = store.work_orders(&WorkOrderFilter { limit: 1, ..Default::default() }).await?.len();
    let base = common::serve(store.clone()).await?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    let url = format!("{base}/metrics");
    // The first scrape reads the state counts itself (the background loop has not yet): not
    // what a scrape costs afterwards.
    client.get(&url).send().await?.text().await?;
    let mut times = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        let body = client.get(&url).send().await?.text().await?;
        std::hint::black_box(body);
        times.push(t.elapsed());
    }
    times.sort();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)].as_secs_f64() * 1000.0;
    let entries = store.entry_id_bounds().await?;
    println!(
        "/metrics scrape over HTTP ({} store, {ORDERS} work orders, entries {}..{}, {open} listed): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (100 scrapes)",
        store.dialect(),
        entries.0,
        entries.1,
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
