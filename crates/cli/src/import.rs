//! `tongdang import PATH... --institution CODE`.

use anyhow::{Context, anyhow, bail};
use clap::Args;
use comfy_table::Table;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Instant;
use tongdang_core::InstitutionCode;
use tongdang_ingest::Ingestor;
use tongdang_ingest::import::{import_files, total_bytes};
use tongdang_store::Location;
use tongdang_store::Store;

#[derive(Args)]
pub(crate) struct ImportArgs {
    /// NDJSON files (one resource a line) and Bundle or resource JSON files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The submitting institution's code.
    #[arg(long)]
    institution: String,
    /// Refusals listed in detail after the summary.
    #[arg(long, default_value_t = 20)]
    show_refusals: usize,
}

pub(crate) async fn run(location: &Location, args: &ImportArgs) -> anyhow::Result<()> {
    let code = InstitutionCode::new(&args.institution).map_err(|e| anyhow!("{e}"))?;
    let store = crate::open(location).await?;
    if store.institution(&code).await?.is_none() {
        bail!("institution {code} is not registered (tongdang institution add {code} --name …)");
    }
    let total = total_bytes(&args.paths).context("cannot read the input")?;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}")
            .map_err(|e| anyhow!("{e}"))?,
    );
    let started = Instant::now();
    let ingestor = Ingestor::new(store.clone());
    let report = import_files(&ingestor, &code, &args.paths, &|done| bar.set_position(done), args.show_refusals).await?;
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let mut table = Table::new();
    table.set_header(["类型 type", "读取 read", "存储 stored", "未变 unchanged", "拒收 refused", "首要原因 first reasons"]);
    for (rt, t) in &report.summary.by_type {
        table.add_row([
            rt.clone(),
            t.read.to_string(),
            t.stored.to_string(),
            t.unchanged.to_string(),
            t.refused.to_string(),
            t.reasons.join("\n"),
        ]);
    }
    let all = report.summary.totals();
    table.add_row([
        "total".to_string(),
        all.read.to_string(),
        all.stored.to_string(),
        all.unchanged.to_string(),
        all.refused.to_string(),
        String::new(),
    ]);
    println!("{table}");
    let checkpoint = store.checkpoint().await?;
    println!("ledger: {} leaves, checkpoint signed", checkpoint.size);
    println!(
        "submission {}: {} resources in {:.1} s ({:.0} resources/s)",
        report.submission,
        all.read,
        elapsed,
        all.read as f64 / elapsed.max(1e-9)
    );
    for r in &report.refusals {
        let reasons: Vec<String> = r.issues.iter().map(|i| i.to_string()).collect();
        println!("refused {} {}: {}", r.file.display(), r.location, reasons.join("; "));
    }
    Ok(())
}
