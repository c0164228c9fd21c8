//! Loading files: NDJSON (one resource a line, any types mixed) and Bundle or single-resource
//! JSON. All files of one run are one submission, so a reference from one file to another
//! resolves. Files are taken in dependency order (directory data, then Patients, then
//! Encounters, then everything else), judged by the type on their first line, as FHIR bulk
//! exports write one type per file; within a stream, the session holds back items whose
//! references arrive later. Running an import twice stores nothing twice.

use crate::lines::{CHUNK_LINES, LineReader, not_utf8};
use crate::prepare::{Item, Position, prepare};
use crate::session::Session;
use crate::summary::Summary;
use crate::{Channel, IngestError, Ingestor};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, BufReader};
use tongdang_core::InstitutionCode;
use tongdang_fhir::bundle::{BundleMode, parse_bundle_file};
use tongdang_fhir::{Issue, ResourceKind, classify};

/// Longest line taken.
pub const MAX_LINE_BYTES: usize = 16 << 20;
/// Bits of a stream position that hold the line number; the file's index sits above them.
const LINE_BITS: u32 = 40;

/// A refusal, located in a file.
#[derive(Debug, Clone)]
pub struct FileRefusal {
    /// The file.
    pub file: PathBuf,
    /// Line (NDJSON) or Bundle entry index, 1-based for lines.
    pub location: String,
    /// Why.
    pub issues: Vec<Issue>,
}

/// The result of an import run.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// Figures by resource type.
    pub summary: Summary,
    /// Refusals kept in detail (the first ones).
    pub refusals: Vec<FileRefusal>,
    /// The submission id.
    pub submission: i64,
}

/// Why an import could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The pipeline failed.
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Format {
    Ndjson,
    Json,
}

struct Planned {
    index: usize,
    path: PathBuf,
    format: Format,
    tier: u8,
    size: u64,
}

/// The order of files and their total size, so a caller can show progress.
pub fn total_bytes(paths: &[PathBuf]) -> Result<u64, ImportError> {
    paths
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).map_err(|source| ImportError::Read { path: p.clone(), source }))
        .sum()
}

/// Import `paths` for `institution`; `progress` is called with bytes consumed so far.
pub async fn import_files(
    ingestor: &Ingestor,
    institution: &InstitutionCode,
    paths: &[PathBuf],
    progress: &(dyn Fn(u64) + Sync),
    refusals_kept: usize,
) -> Result<ImportReport, ImportError> {
    let mut planned = Vec::new();
    for (index, path) in paths.iter().enumerate() {
        let (format, tier) = sniff(path).await?;
        let size = std::fs::metadata(path).map_err(|source| ImportError::Read { path: path.clone(), source })?.len();
        planned.push(Planned { index, path: path.clone(), format, tier, size });
    }
    planned.sort_by_key(|p| (p.tier, p.index));
    let submission = ingestor.begin(institution.clone(), Channel::Import).await?;
    let submission_id = submission.id;
    let mut session = Session::new(ingestor.clone(), submission, refusals_kept);
    let mut done = 0u64;
    for p in &planned {
        match p.format {
            Format::Ndjson => stream_file(&mut session, p, done, progress).await?,
            Format::Json => json_file(&mut session, p).await?,
        }
        done += p.size;
        progress(done);
    }
    let (summary, refusals) = session.finish().await?;
    let refusals = refusals
        .into_iter()
        .map(|(pos, issues)| {
            let (file, location) = match pos {
                Position::Line(n) => (paths[(n >> LINE_BITS) as usize].clone(), format!("line {}", n & ((1 << LINE_BITS) - 1))),
                Position::Entry(n) => {
                    (paths.get(n >> 20).cloned().unwrap_or_default(), format!("Bundle.entry[{}]", n & ((1 << 20) - 1)))
                }
                Position::Single => (PathBuf::new(), String::new()),
            };
            FileRefusal { file, location, issues }
        })
        .collect();
    Ok(ImportReport { summary, refusals, submission: submission_id })
}

/// The format of a file and the dependency tier of its first resource.
async fn sniff(path: &Path) -> Result<(Format, u8), ImportError> {
    let file = tokio::fs::File::open(path).await.map_err(|source| ImportError::Read { path: path.to_path_buf(), source })?;
    let mut reader = BufReader::new(file);
    let mut first = Vec::new();
    loop {
        first.clear();
        let n = reader
            .read_until(b'\n', &mut first)
            .await
            .map_err(|source| ImportError::Read { path: path.to_path_buf(), source })?;
        if n == 0 || !first.iter().all(u8::is_ascii_whitespace) || first.len() > MAX_LINE_BYTES {
            break;
        }
    }
    let text = String::from_utf8_lossy(&first);
    let is_ndjson_name = path.extension().is_some_and(|e| e == "ndjson" || e == "jsonl");
    // A first line that is a whole resource means one resource per line.
    let line_resource = tongdang_fhir::parse_resource(text.trim()).ok();
    let format = if is_ndjson_name || line_resource.is_some() { Format::Ndjson } else { Format::Json };
    let tier = match line_resource.as_ref().map(|r| classify(r.resource_type())) {
        Some(ResourceKind::Directory) => 0,
        Some(ResourceKind::Patient) => 1,
        Some(ResourceKind::Entry(_)) if line_resource.as_ref().is_some_and(|r| r.resource_type() == "Encounter") => 2,
        Some(ResourceKind::Entry(_)) => 3,
        _ if format == Format::Json => 3,
        _ => 4,
    };
    Ok((format, tier))
}

async fn stream_file(
    session: &mut Session,
    p: &Planned,
    done_before: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), ImportError> {
    let read_err = |source| ImportError::Read { path: p.path.clone(), source };
    let file = tokio::fs::File::open(&p.path).await.map_err(read_err)?;
    let mut lines = LineReader::new(BufReader::with_capacity(1 << 20, file), MAX_LINE_BYTES);
    let mut chunk = Vec::with_capacity(CHUNK_LINES);
    let base = (p.index as u64) << LINE_BITS;
    while let Some((line_no, text)) = lines.next().await.map_err(|source| ImportError::Read { path: p.path.clone(), source })? {
        chunk.push((base | line_no, text));
        if chunk.len() == CHUNK_LINES {
            session.push(std::mem::take(&mut chunk)).await?;
            progress(done_before + lines.consumed());
        }
    }
    session.push(chunk).await?;
    Ok(())
}

async fn json_file(session: &mut Session, p: &Planned) -> Result<(), ImportError> {
    let text = tokio::fs::read(&p.path).await.map_err(|source| ImportError::Read { path: p.path.clone(), source })?;
    let preparation = session.submission().preparation();
    let text = match String::from_utf8(text) {
        Ok(t) => t,
        Err(_) => {
            let item = Item {
                position: Position::Line((p.index as u64) << LINE_BITS),
                full_url: None,
                id_hint: None,
                resource: Err(vec![not_utf8()]),
            };
            session.push_prepared(vec![prepare(item, &preparation, 0)]).await?;
            return Ok(());
        }
    };
    let position = |n: usize| Position::Entry((p.index << 20) | n);
    match parse_bundle_file(&text) {
        Ok(bundle) => {
            let items = bundle
                .entries
                .into_iter()
                .enumerate()
                .map(|(n, e)| {
                    let hint = e.full_url.as_deref().and_then(|u| u.strip_prefix("urn:uuid:")).map(str::to_string);
                    prepare(
                        Item { position: position(n), full_url: e.full_url, id_hint: hint, resource: e.resource },
                        &preparation,
                        0,
                    )
                })
                .collect();
            if bundle.mode == BundleMode::Transaction {
                session.push_transaction(items).await?;
            } else {
                session.push_prepared(items).await?;
            }
        }
        Err(issues) => {
            // Not a Bundle: perhaps one resource.
            let single = tongdang_fhir::parse_resource(&text);
            let resource = if text.contains("\"Bundle\"") { Err(issues) } else { single };
            let item =
                Item { position: Position::Line((p.index as u64) << LINE_BITS | 1), full_url: None, id_hint: None, resource };
            session.push_prepared(vec![prepare(item, &preparation, text.len())]).await?;
        }
    }
    Ok(())
}
