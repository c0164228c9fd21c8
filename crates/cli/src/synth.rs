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
    #[arg(long, required_unless_present = "mpi_eval")]
    institution: Option<String>,
    /// Instead: write a record-linkage evaluation set (Patients of several institutions with
    /// realistic corruption, one NDJSON file each, and truth.csv) into this directory.
    #[arg(long, value_name = "DIR", conflicts_with = "institution")]
    mpi_eval: Option<PathBuf>,
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
    if let Some(dir) = &args.mpi_eval {
        return mpi_eval(dir, args.persons, args.seed);
    }
    let code = InstitutionCode::new(args.institution.as_deref().unwrap_or_default()).map_err(|e| anyhow!("{e}"))?;
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

/// The Chinese record-linkage evaluation set: `{code}.ndjson` per institution and `truth.csv`
/// (`source_system,source_id,true_entity`).
fn mpi_eval(dir: &std::path::Path, persons: usize, seed: u64) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let set = tongdang_synth::mpi_eval_set(persons, seed);
    for (code, lines) in &set.institutions {
        let path = dir.join(format!("{code}.ndjson"));
        let mut out = BufWriter::new(std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?);
        for line in lines {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    let mut truth = BufWriter::new(std::fs::File::create(dir.join("truth.csv"))?);
    writeln!(truth, "source_system,source_id,true_entity")?;
    for (system, id, entity) in &set.truth {
        writeln!(truth, "{system},{id},{entity}")?;
    }
    truth.flush()?;
    eprintln!("{} institutions, {} Patients, {} persons", set.institutions.len(), set.truth.len(), persons);
    Ok(())
}
