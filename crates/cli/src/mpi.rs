//! `tongdang mpi`: the patient index from the command line — links and reviews as CSV for
//! evaluation, figures, estimating the matching parameters by EM, and re-indexing.

use anyhow::{Context, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use tongdang_core::InstitutionCode;
use tongdang_identity::demographics::Demographics;
use tongdang_identity::matching::{
    Comparison, FIELDS, KeyKind, Parameters, TrainingSet, compare, estimate, index_keys, pair_keys_by_kind,
};
use tongdang_identity::systems::local_patient_system;
use tongdang_store::{Location, MatchRecord, MatchRecordWrite, Store};

/// Records read per page.
const PAGE: u32 = 10_000;
/// A block larger than this is too common to estimate from (the matcher skips it too).
const MAX_BLOCK: usize = 200;

#[derive(Subcommand)]
pub(crate) enum MpiCommand {
    /// One row per source Patient record: source_system,source_id,person_id.
    Links {
        /// csv (the only format).
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// Open review items: source_system,source_id,person_id,candidate_person_id,score.
    Reviews {
        /// csv (the only format).
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// Persons, links, review-queue size and the estimated duplicate rate.
    Stats,
    /// Estimate the matching parameters from the index by EM (no labels needed).
    Estimate {
        /// Save them in the database; servers pick them up within a minute.
        #[arg(long)]
        save: bool,
        /// Also write them to this JSON file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Use at most this many records (the first by id).
        #[arg(long, default_value_t = 500_000)]
        sample: usize,
        /// Link at or above this weight (bits); default: keep the one in force.
        #[arg(long)]
        link_threshold: Option<f64>,
        /// Review at or above this weight (bits); default: keep the one in force.
        #[arg(long)]
        review_threshold: Option<f64>,
    },
    /// Show the parameters in force, or load them from a JSON file into the database.
    Parameters {
        /// A JSON file written by `estimate --out`.
        #[arg(long)]
        load: Option<PathBuf>,
        /// Declare an identifier system whose numbers each belong to one person (repeatable).
        #[arg(long, value_name = "SYSTEM")]
        personal_system: Vec<String>,
    },
    /// Rebuild every Patient record's match record and keys (after a change of normalization).
    Reindex,
}

pub(crate) async fn run(location: &Location, cmd: &MpiCommand) -> anyhow::Result<()> {
    let store = crate::open(location).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match cmd {
        MpiCommand::Links { format } => {
            csv_only(format)?;
            writeln!(out, "source_system,source_id,person_id")?;
            let mut after = 0;
            loop {
                let page = store.links(after, PAGE).await?;
                let Some(last) = page.last() else { break };
                after = last.record;
                for l in &page {
                    writeln!(out, "{},{},{}", local_patient_system(&l.institution), csv(&l.source_id), l.person)?;
                }
            }
        }
        MpiCommand::Reviews { format } => {
            csv_only(format)?;
            writeln!(out, "source_system,source_id,person_id,candidate_person_id,score")?;
            let sources: HashMap<i64, (String, String)> = all_links(store.as_ref()).await?;
            let mut after = 0;
            loop {
                let page = store.reviews(Some("open"), after, PAGE).await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                for r in &page {
                    let Some((inst, source)) = sources.get(&r.review.record) else { continue };
                    let person = store.patient_record_person(r.review.record).await?.unwrap_or(r.review.person);
                    writeln!(
                        out,
                        "{},{},{},{},{:.2}",
                        local_patient_system(inst),
                        csv(source),
                        person,
                        r.review.candidate,
                        r.review.weight
                    )?;
                }
            }
        }
        MpiCommand::Stats => {
            let c = store.mpi_counts().await?;
            let params = parameters(store.as_ref()).await;
            let odds = params.prior / (1.0 - params.prior);
            let mut expected = 0.0;
            let mut after = 0;
            loop {
                let page = store.reviews(Some("open"), after, PAGE).await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                expected += page.iter().map(|r| 1.0 / (1.0 + 1.0 / (odds * r.review.weight.exp2()))).sum::<f64>();
            }
            let rate = if c.persons > 0 { expected / c.persons as f64 } else { 0.0 };
            writeln!(out, "persons            {}", c.persons)?;
            writeln!(out, "merged away        {}", c.merged)?;
            writeln!(out, "links (records)    {}", c.records)?;
            writeln!(out, "review queue       {}", c.open_reviews)?;
            writeln!(out, "est. duplicates    {:.4}% of persons ({expected:.1} expected among open reviews)", rate * 100.0)?;
            writeln!(out, "parameters         {} ({} pairs)", params.source, params.pairs)?;
        }
        MpiCommand::Estimate { save, out: file, sample, link_threshold, review_threshold } => {
            let mut start = parameters(store.as_ref()).await;
            start.link_threshold = link_threshold.unwrap_or(start.link_threshold);
            start.review_threshold = review_threshold.unwrap_or(start.review_threshold);
            if !start.is_valid() {
                bail!("the review threshold must not be above the link threshold");
            }
            let records = load_records(store.as_ref(), *sample).await?;
            let sets = candidate_pairs(&records);
            let random = random_pairs(&records, RANDOM_PAIRS);
            let sizes: Vec<usize> = sets.iter().map(|s| s.pairs.len()).collect();
            eprintln!(
                "{} records, candidate pairs by contact {} and by name/birth {}, {} random pairs",
                records.len(),
                sizes[0],
                sizes[1],
                random.len()
            );
            if sizes.iter().all(|n| *n == 0) {
                bail!("no candidate pairs: the index is empty or holds no two records sharing a key");
            }
            let params = estimate(&sets, &random, &start, 100);
            print_parameters(&mut out, &params)?;
            let json = serde_json::to_string_pretty(&params)?;
            if let Some(f) = file {
                std::fs::write(f, &json).with_context(|| format!("cannot write {}", f.display()))?;
            }
            if *save {
                store.save_match_parameters(&json).await?;
                eprintln!("saved; servers use them within a minute");
            }
        }
        MpiCommand::Parameters { load, personal_system } => {
            let mut p = match load {
                Some(f) => {
                    let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
                    serde_json::from_str::<Parameters>(&text).context("not a parameters file")?
                }
                None => parameters(store.as_ref()).await,
            };
            if !p.is_valid() {
                bail!("the parameters do not fit this version's fields and levels");
            }
            for s in personal_system {
                if !p.personal_systems.contains(s) {
                    p.personal_systems.push(s.clone());
                }
            }
            if load.is_some() || !personal_system.is_empty() {
                store.save_match_parameters(&serde_json::to_string(&p)?).await?;
                eprintln!("saved");
            }
            print_parameters(&mut out, &parameters(store.as_ref()).await)?;
        }
        MpiCommand::Reindex => {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {pos} records re-indexed ({per_sec})")
                    .unwrap_or(ProgressStyle::default_spinner()),
            );
            let mut after = 0;
            loop {
                let page = store.patient_records_page(after, 1_000).await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                let mut writes = Vec::with_capacity(page.len());
                for r in &page {
                    let Ok(parsed) = tongdang_fhir::parse_resource(&String::from_utf8_lossy(&r.resource)) else { continue };
                    let Ok(code) = InstitutionCode::new(&r.institution) else { continue };
                    let d = tongdang_ingest::patient_demographics(&parsed, &code);
                    writes.push(MatchRecordWrite {
                        record: MatchRecord { record: r.id, person: r.person, demographics: serde_json::to_string(&d)? },
                        keys: index_keys(&d),
                        replaces: true,
                    });
                }
                store.write_match_records(&writes).await?;
                bar.inc(page.len() as u64);
            }
            bar.finish();
        }
    }
    out.flush()?;
    Ok(())
}

fn csv_only(format: &str) -> anyhow::Result<()> {
    if format != "csv" {
        bail!("--format csv is the only format");
    }
    Ok(())
}

/// A CSV field: quoted when it holds a comma, quote or line break.
fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

async fn all_links(store: &dyn Store) -> anyhow::Result<HashMap<i64, (String, String)>> {
    let mut out = HashMap::new();
    let mut after = 0;
    loop {
        let page = store.links(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.record;
        out.extend(page.into_iter().map(|l| (l.record, (l.institution, l.source_id))));
    }
    Ok(out)
}

async fn parameters(store: &dyn Store) -> Parameters {
    store
        .match_parameters()
        .await
        .ok()
        .flatten()
        .and_then(|j| serde_json::from_str::<Parameters>(&j).ok())
        .filter(Parameters::is_valid)
        .unwrap_or_default()
}

async fn load_records(store: &dyn Store, sample: usize) -> anyhow::Result<Vec<Demographics>> {
    let mut out = Vec::new();
    let mut after = 0;
    while out.len() < sample {
        let page = store.match_records_page(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.record;
        out.extend(page.iter().filter_map(|r| serde_json::from_str::<Demographics>(&r.demographics).ok()));
    }
    out.truncate(sample);
    Ok(out)
}

/// Random record pairs drawn to count u: almost all are two different persons.
const RANDOM_PAIRS: usize = 2_000_000;

/// `n` random pairs of distinct records, compared (a fixed seed: estimates are repeatable).
fn random_pairs(records: &[Demographics], n: usize) -> Vec<Comparison> {
    if records.len() < 2 {
        return Vec::new();
    }
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let len = records.len() as u64;
    (0..n)
        .filter_map(|_| {
            let (a, b) = ((next() % len) as usize, (next() % len) as usize);
            (a != b).then(|| compare(&records[a], &records[b]))
        })
        .collect()
}

/// Every pair of records sharing a matching key, compared, in two training sets: pairs found by
/// a phone or a document (they teach names, birth date, sex, address, mother), and pairs found
/// by name and birth-date keys (they teach phone, documents, sex, address, mother). A pair
/// found both ways is in both: keeping it out of either would select against agreement.
fn candidate_pairs(records: &[Demographics]) -> Vec<TrainingSet> {
    let mut blocks: HashMap<i64, (KeyKind, Vec<u32>)> = HashMap::new();
    for (i, d) in records.iter().enumerate() {
        for (kind, k) in pair_keys_by_kind(d) {
            blocks.entry(k).or_insert_with(|| (kind, Vec::new())).1.push(i as u32);
        }
    }
    // Per pair: found by a contact key (phone, document), by a name/birth key, or both.
    let mut found: HashMap<(u32, u32), (bool, bool)> = HashMap::new();
    for (kind, members) in blocks.values().filter(|(_, m)| m.len() > 1 && m.len() <= MAX_BLOCK) {
        let contact = matches!(kind, KeyKind::Phone | KeyKind::WeakId);
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                let e = found.entry((a.min(b), a.max(b))).or_default();
                if contact { e.0 = true } else { e.1 = true }
            }
        }
    }
    let (mut by_contact, mut by_name) = (Vec::new(), Vec::new());
    for ((a, b), (contact, name)) in found {
        let c = compare(&records[a as usize], &records[b as usize]);
        if contact {
            by_contact.push(c);
        }
        if name {
            by_name.push(c);
        }
    }
    // Fields: family, given, birthDate, sex, phone, address, identifier, mother.
    vec![
        TrainingSet { pairs: by_contact, learn: [true, true, true, true, false, true, false, true] },
        TrainingSet { pairs: by_name, learn: [false, false, false, true, true, true, true, true] },
    ]
}

fn print_parameters(out: &mut impl Write, p: &Parameters) -> anyhow::Result<()> {
    writeln!(
        out,
        "source {} · pairs {} · prior {:.4} · link ≥ {} · review ≥ {}",
        p.source, p.pairs, p.prior, p.link_threshold, p.review_threshold
    )?;
    if !p.personal_systems.is_empty() {
        writeln!(out, "personal document systems: {}", p.personal_systems.join(", "))?;
    }
    writeln!(out, "{:<11} level: m / u → weight (bits)", "field")?;
    for (i, f) in FIELDS.iter().enumerate() {
        let levels: Vec<String> = (0..f.levels())
            .map(|l| format!("{l}: {:.3}/{:.3} → {:+.1}", p.m[i][l], p.u[i][l], (p.m[i][l] / p.u[i][l]).log2()))
            .collect();
        writeln!(out, "{:<11} {}", f.name(), levels.join("   "))?;
    }
    Ok(())
}
