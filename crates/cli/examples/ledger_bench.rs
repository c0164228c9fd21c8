//! The ledger's figures at a given size: batched appends (leaves/s), `verify` of the log
//! (leaves/s), inclusion and consistency proofs (latency).
//!
//! `cargo run --release -p tongdang --example ledger_bench -- DIR|postgres://… LEAVES` fills a
//! new store with LEAVES audit events (each a leaf) in batches of 10,000, appending each batch
//! to the tree as the server's sequencer does, then verifies the whole log and times 10,000
//! inclusion proofs of random leaves against the latest checkpoint.

mod common;

use std::time::{Duration, Instant};
use tongdang_protection::ledger::verify_inclusion;
use tongdang_store::{AuditEvent, Store};

const BATCH: usize = 10_000;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let target = args.next().ok_or_else(|| anyhow::anyhow!("usage: ledger_bench DIR|postgres://… LEAVES"))?;
    let leaves: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1_000_000);
    let store = common::open_store(&target).await?;
    let (existing, _) = store.ledger_counts().await?;

    let (mut t_events, mut t_sequence) = (Duration::ZERO, Duration::ZERO);
    let mut done = 0;
    while done + existing as usize + BATCH <= leaves.max(BATCH) {
        let batch: Vec<AuditEvent> = (0..BATCH)
            .map(|i| {
                let mut e = AuditEvent::new("read.timeline", "institution:12440100MB0000001X key:tdk_bench", "allowed");
                e.person = Some(tongdang_core::PersonId(1_000_000 + ((done + i) % 100_000) as i64));
                e.detail = r#"{"role":"institution-system","categories":"all"}"#.into();
                e
            })
            .collect();
        let t = Instant::now();
        store.append_events(&batch).await?;
        t_events += t.elapsed();
        let t = Instant::now();
        store.sequence_all().await?;
        t_sequence += t.elapsed();
        done += BATCH;
        if done % 1_000_000 == 0 {
            eprintln!("{done} leaves");
        }
    }
    let checkpoint = store.checkpoint().await?;
    let size = checkpoint.size;
    if done > 0 {
        println!(
            "append: {done} leaves; events written {:.0}/s; appended to the tree (sequenced) {:.0} leaves/s; both {:.0}/s",
            done as f64 / t_events.as_secs_f64(),
            done as f64 / t_sequence.as_secs_f64(),
            done as f64 / (t_events + t_sequence).as_secs_f64()
        );
    }

    let t = Instant::now();
    let report = tongdang_store::verify::verify(&store, |_, _| {}).await?;
    anyhow::ensure!(report.ok(), "verification failed: {:?}", report.problems);
    println!(
        "verify: {} leaves, {} nodes: log {:.2} s = {:.0} leaves/s; events recomputed {:.2} s = {:.0}/s; total {:.1} s",
        report.leaves,
        report.nodes,
        report.log_seconds,
        report.leaves as f64 / report.log_seconds,
        report.content_seconds,
        report.events as f64 / report.content_seconds.max(1e-9),
        t.elapsed().as_secs_f64()
    );

    // Inclusion proofs of random leaves, as the API serves them, checked against the root.
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut times = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let index = rng % size;
        let t = Instant::now();
        let proof = store.inclusion_proof(index, size).await?;
        times.push(t.elapsed());
        let leaf = store.ledger_nodes(&[tongdang_protection::ledger::NodeId { level: 0, index }]).await?;
        let leaf = leaf.values().next().copied().ok_or_else(|| anyhow::anyhow!("leaf {index} missing"))?;
        anyhow::ensure!(verify_inclusion(index, size, &leaf, &proof, &checkpoint.root), "proof of {index} does not verify");
    }
    times.sort();
    println!(
        "inclusion proof at {size} leaves: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({} hashes)",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
        store.inclusion_proof(size / 3, size).await?.len()
    );
    let mut times = Vec::with_capacity(1000);
    for i in 1..=1000u64 {
        let old = (size * i / 1001).max(1);
        let t = Instant::now();
        store.consistency_proof(old, size).await?;
        times.push(t.elapsed());
    }
    times.sort();
    println!("consistency proof to {size} leaves: p50 {:.3} ms, p99 {:.3} ms", percentile(&times, 0.5), percentile(&times, 0.99));
    Ok(())
}
