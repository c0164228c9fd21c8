//! A provincial monthly evaluation report on an existing store (the 10,000,000-entry store of
//! `scripts/bench`, whose quality counters cover the period), after giving the period at least
//! 100,000 work orders in every state and 20,000 returns.
//!
//! `cargo run --release -p tongdang --example report_bench -- DIR|postgres://… [PERIOD]`

mod common;

use std::time::Instant;
use tongdang_core::Timestamp;
use tongdang_reports::{Font, Period, Scope};
use tongdang_store::{ReturnRecord, Store, WorkOrderRecord, WorkOrderStep};

const ORDERS: i64 = 100_000;
const RETURNS: i64 = 20_000;
const HOUR: i64 = 3_600_000_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let target = args.next().ok_or_else(|| anyhow::anyhow!("usage: report_bench DIR|postgres://… [PERIOD]"))?;
    let period: Period = args.next().as_deref().unwrap_or("2026-10").parse()?;
    let store = common::open_store(&target).await?;
    let sources: Vec<_> = store.institutions().await?.into_iter().filter(|i| i.code.as_str().starts_with("1244")).collect();
    anyhow::ensure!(!sources.is_empty(), "the store has no institutions: run scripts/bench first");
    let (start, end) = (period.start().0, period.end().0);
    let span = end - start;

    let have: i64 = store.work_order_stats(period.start(), period.end()).await?.iter().map(|w| w.opened).sum();
    if have < ORDERS {
        let t = Instant::now();
        for i in have..ORDERS {
            let source = &sources[(i as usize * 7919) % sources.len()];
            let created = start + (i * 104_729) % span;
            // Resolved in 2–200 h; one in ten reopened, one in seven escalated, one in five still open.
            let open = i % 5 == 0;
            let resolved = (!open).then(|| (created + (2 + (i * 37) % 198) * HOUR).min(end - 1));
            let order = WorkOrderRecord {
                origin: "quality_check".into(),
                raised_by: "bench".into(),
                source: source.code.as_str().to_string(),
                city: source.city.code().to_string(),
                level: "institution".into(),
                assignee: source.code.as_str().to_string(),
                state: if open { "in_progress" } else { "closed" }.into(),
                title: format!("基准工单 {i}"),
                due_at: Timestamp(created + 72 * HOUR),
                created_at: Timestamp(created),
                updated_at: Timestamp(resolved.unwrap_or(created)),
                resolved_at: resolved.map(Timestamp),
                closed_at: resolved.map(Timestamp),
                reopen_count: i32::from(i % 10 == 1),
                escalations: i32::from(i % 7 == 3),
                ..Default::default()
            };
            let step = WorkOrderStep {
                at: Timestamp(created),
                actor: "bench".into(),
                action: "raise".into(),
                to_state: "open".into(),
                level: "institution".into(),
                assignee: order.assignee.clone(),
                ..Default::default()
            };
            store.insert_work_order(&order, &step).await?;
        }
        println!("added {} work orders in {period} ({:.1} s)", ORDERS - have, t.elapsed().as_secs_f64());
    }
    let returns: i64 = store.return_problems(period.start(), period.end()).await?.iter().map(|p| p.2).sum();
    if returns < RETURNS {
        let rules = ["QC-LAB-003", "QC-OBS-001", "QC-DX-002 QC-DX-001", "QC-VAC-007", "QC-TIM-001"];
        let batch: Vec<ReturnRecord> = (returns..RETURNS)
            .map(|i| {
                let at = Timestamp(start + (i * 7_777_777) % span);
                ReturnRecord {
                    id: 0,
                    institution: sources[(i as usize * 31) % sources.len().min(200)].code.as_str().to_string(),
                    resource_type: "Observation".into(),
                    source_id: format!("bench-return-{i}"),
                    category: Some(3),
                    origin: "submission".into(),
                    status: "closed".into(),
                    rules: rules[(i % 5) as usize].into(),
                    findings: "[]".into(),
                    rule_set: "2026.1".into(),
                    first_submission: None,
                    submission: None,
                    attempts: 1,
                    opened_at: at,
                    updated_at: at,
                    closed_at: Some(at),
                    closed_submission: None,
                    correction: None,
                }
            })
            .collect();
        for chunk in batch.chunks(5_000) {
            store.record_quality(&[], chunk).await?;
        }
        println!("added {} returns in {period}", RETURNS - returns);
    }

    let font = Font::find(None)?;
    let mut totals = Vec::new();
    for round in 0..5 {
        let t = Instant::now();
        let input = tongdang_reports::input(store.as_ref(), period, Scope::Province, Timestamp::now()).await?;
        let read = t.elapsed();
        let rendered = tongdang_reports::render(&input, Some(&font))?;
        let rendering = t.elapsed() - read;
        store.insert_report(&rendered.record("bench", false, Timestamp::now())).await?;
        let total = t.elapsed();
        let w: i64 = input.work_orders.iter().map(|w| w.opened).sum();
        println!(
            "round {round}: provincial report {period}: read {:.3} s ({} institutions' counters, {w} orders opened), computed and rendered HTML {} KB + PDF {} KB in {:.3} s, kept; total {:.3} s",
            read.as_secs_f64(),
            input.quality.len(),
            rendered.html.len() / 1024,
            rendered.pdf.as_ref().map_or(0, Vec::len) / 1024,
            rendering.as_secs_f64(),
            total.as_secs_f64()
        );
        totals.push(total.as_secs_f64());
    }
    totals.sort_by(f64::total_cmp);
    let entries = store.entry_id_bounds().await?;
    println!(
        "provincial monthly report ({} store, entries {}..{}): median {:.2} s, max {:.2} s over 5 rounds",
        store.dialect(),
        entries.0,
        entries.1,
        totals[2],
        totals[4]
    );
    Ok(())
}
