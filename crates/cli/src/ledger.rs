//! `tongdang verify` and `tongdang ledger checkpoint`.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Duration;
use tongdang_store::Location;
use tongdang_store::verify::{verify, verify_witness_checkpoint};

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// Instead of the whole database: prove that this checkpoint (a signed note kept by an
    /// outside witness) is a prefix of today's log.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(crate) enum LedgerCommand {
    /// Append queued leaves, sign a checkpoint of the tree and print it (the note a witness keeps).
    Checkpoint {
        /// Also write the note to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub(crate) async fn run_verify(location: &Location, args: &VerifyArgs) -> anyhow::Result<()> {
    let store = crate::open(location).await?;
    if let Some(file) = &args.checkpoint {
        let note = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        if note.len() > tongdang_protection::checkpoint::MAX_LEN {
            bail!("{} is not a checkpoint (too long)", file.display());
        }
        match verify_witness_checkpoint(&store, &note).await {
            Ok(p) => {
                println!("ok: the checkpoint of {} leaves is a prefix of today's log of {} leaves", p.old_size, p.new_size);
                println!("consistency proof: {}", p.proof.join(" "));
                return Ok(());
            }
            Err(e) => bail!("the checkpoint does not verify: {e}"),
        }
    }
    // Leaves still queued are appended first, so every entry version is checked against the tree.
    let size = store.sequence_all().await?;
    let bar = ProgressBar::new(size);
    bar.set_style(ProgressStyle::with_template("{spinner} 校验 {msg} {pos}/{len} [{elapsed}]").context("progress template")?);
    bar.enable_steady_tick(Duration::from_millis(200));
    let report = verify(&store, |what, n| {
        bar.set_message(what.to_string());
        bar.set_position(n);
    })
    .await?;
    bar.finish_and_clear();
    let rate = |n: u64, s: f64| if s > 0.0 { format!("{:.0}/s", n as f64 / s) } else { "-".into() };
    println!(
        "log: {} leaves, {} stored nodes, {} signed checkpoints in {:.2} s ({} leaves)",
        report.leaves,
        report.nodes,
        report.checkpoints,
        report.log_seconds,
        rate(report.leaves, report.log_seconds)
    );
    println!(
        "content: {} entry versions and {} events recomputed in {:.2} s ({})",
        report.entry_versions,
        report.events,
        report.content_seconds,
        rate(report.entry_versions + report.events, report.content_seconds)
    );
    if report.ok() {
        println!("ok: nothing changed, removed or reordered");
        Ok(())
    } else {
        for p in &report.problems {
            eprintln!("mismatch: {p}");
        }
        bail!("first mismatch: {}", report.problems[0])
    }
}

pub(crate) async fn run(location: &Location, cmd: &LedgerCommand) -> anyhow::Result<()> {
    let store = crate::open(location).await?;
    match cmd {
        LedgerCommand::Checkpoint { out } => {
            let cp = store.checkpoint().await?;
            print!("{}", cp.note);
            if let Some(f) = out {
                std::fs::write(f, &cp.note).with_context(|| format!("cannot write {}", f.display()))?;
            }
        }
    }
    Ok(())
}
