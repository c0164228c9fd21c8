//! `tongdang synth`: write synthetic FHIR R4 NDJSON for one institution (for load tests and
//! benchmarks): each person's Patient, then that person's entries, in every category.

use anyhow::{Context, anyhow};
use clap::Args;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use tongdang_core::InstitutionCode;

#[derive(Args)]
pub(crate) struct SynthArgs {
    /// The institution the data claims to come from.
    #[arg(long)]
    institution: String,
    /// Persons.
    #[arg(long, default_value_t = 1000)]
    persons: usize,
    /// Entries per person.
    #[arg(long, default_value_t = 100)]
    entries_per_person: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file (standard output when absent).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: &SynthArgs) -> anyhow::Result<()> {
    let code = InstitutionCode::new(&args.institution).map_err(|e| anyhow!("{e}"))?;
    let sink: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, sink);
    for line in tongdang_synth::bench_stream(args.seed, &code, args.persons, args.entries_per_person) {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
