//! `tongdang verify`: recompute the ledger from its leaves, check every stored node and signed
//! checkpoint, recompute every entry version's leaf from the stored row (opening its sealed
//! resource) and every event's leaf, and name the first mismatch. Also proves that a
//! checkpoint held by an outside witness is a prefix of today's log.

use crate::{LeafKind, ProtectedStore, Result, Store};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;
use tongdang_protection::checkpoint::SignedCheckpoint;
use tongdang_protection::ledger::{Frontier, Hash, NodeId, verify_consistency};

/// Problems reported before verification stops collecting.
const MAX_PROBLEMS: usize = 20;

/// What verification found.
#[derive(Debug, Default, Clone)]
pub struct VerifyReport {
    /// Leaves in the log.
    pub leaves: u64,
    /// Stored nodes checked.
    pub nodes: u64,
    /// Checkpoints whose root and signature were checked.
    pub checkpoints: u64,
    /// Entry versions recomputed.
    pub entry_versions: u64,
    /// Events recomputed.
    pub events: u64,
    /// Leaves still queued (not yet in the tree).
    pub pending: u64,
    /// Seconds spent on the log (nodes and checkpoints).
    pub log_seconds: f64,
    /// Seconds spent on entries and events.
    pub content_seconds: f64,
    /// Mismatches, first first.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// Whether nothing was wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, p: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        }
    }
}

fn hex(h: &Hash) -> String {
    data_encoding::HEXLOWER.encode(&h[..8])
}

/// Nodes read per page of the log pass.
const NODE_PAGE: u32 = 50_000;

/// Verify the whole log and every entry version and event. `progress(done)` counts leaves.
pub async fn verify(store: &Arc<ProtectedStore>, mut progress: impl FnMut(&str, u64)) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let (size, pending) = store.ledger_counts().await?;
    report.pending = pending;
    let keys = store.keyring().public_keys().clone();
    let mut checkpoints = store.checkpoints(None, u32::MAX).await?;
    checkpoints.sort_by_key(|c| c.size);
    let mut next_checkpoint = checkpoints.iter().peekable();

    // The log: stored nodes in storage order are exactly the order a frontier emits them.
    let started = Instant::now();
    let mut frontier = Frontier::default();
    let mut expected: VecDeque<(NodeId, Hash)> = VecDeque::new();
    // The next page is read (on another thread) while this one is hashed.
    let fetch = |after: Option<NodeId>| {
        let s = store.clone();
        tokio::spawn(async move { s.ledger_node_page(after, NODE_PAGE).await })
    };
    let mut next = fetch(None);
    'nodes: loop {
        let page = next.await.map_err(|_| crate::StoreError::Corrupt("verification reader".into()))??;
        let Some(last) = page.last() else { break };
        next = fetch(Some(last.0));
        for (id, hash) in page {
            // A server may append while this runs: the log is checked as it was at the start.
            if id.pos() >= size {
                break 'nodes;
            }
            report.nodes += 1;
            if id.level == 0 {
                if let Some((missing, _)) = expected.front() {
                    report.problem(format!("ledger node {missing:?} is missing"));
                    break 'nodes;
                }
                if id.index != frontier.size() {
                    report.problem(format!("ledger leaf {} is missing (found leaf {} next)", frontier.size(), id.index));
                    break 'nodes;
                }
                frontier.append(hash, |nid, h| expected.push_back((nid, h)));
                expected.pop_front();
                while let Some(cp) = next_checkpoint.next_if(|c| c.size <= frontier.size()) {
                    check_checkpoint(cp, &frontier, store.origin(), &keys, &mut report);
                }
                if frontier.size() % 100_000 == 0 {
                    progress("log", frontier.size());
                }
            } else {
                match expected.pop_front() {
                    Some((want, h)) if want == id && h == hash => {}
                    Some((want, h)) if want == id => {
                        report.problem(format!(
                            "ledger node {id:?} is {} but its children give {} (changed or reordered)",
                            hex(&hash),
                            hex(&h)
                        ));
                        break 'nodes;
                    }
                    _ => {
                        report.problem(format!("ledger node {id:?} should not exist yet"));
                        break 'nodes;
                    }
                }
            }
        }
    }
    report.leaves = frontier.size();
    if report.ok()
        && let Some((missing, _)) = expected.front()
    {
        report.problem(format!("ledger node {missing:?} is missing"));
    }
    if report.ok() {
        if frontier.size() != size {
            report.problem(format!("the log holds {} leaves but records its size as {size}", frontier.size()));
        }
        for cp in next_checkpoint {
            report.problem(format!(
                "checkpoint of {} leaves is ahead of the log's {} (leaves deleted)",
                cp.size,
                frontier.size()
            ));
        }
    }
    report.log_seconds = started.elapsed().as_secs_f64();

    // The content: every leaf's source recomputed.
    let started = Instant::now();
    let mut entry_leaves: HashMap<(i64, i64), (u64, Hash)> = HashMap::new();
    let mut seen_events = std::collections::HashSet::new();
    let mut after = None;
    let mut next_index = 0u64;
    loop {
        let page = store.ledger_leaves_page(after, 20_000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.index);
        let mut events = Vec::new();
        for leaf in page.into_iter().filter(|l| l.index < size) {
            if leaf.index != next_index {
                report.problem(format!("ledger leaf {next_index} has no record of what it stands for"));
            }
            next_index = leaf.index + 1;
            match leaf.kind {
                LeafKind::EntryVersion => {
                    if let Some((first, _)) = entry_leaves.insert((leaf.ref_id, leaf.ref_version), (leaf.index, leaf.hash)) {
                        report.problem(format!(
                            "entry {} version {} has two ledger leaves, {first} and {} (a version appended twice)",
                            leaf.ref_id, leaf.ref_version, leaf.index
                        ));
                    }
                }
                LeafKind::Event => {
                    if !seen_events.insert(leaf.ref_id) {
                        report.problem(format!("event {} has two ledger leaves (appended twice)", leaf.ref_id));
                    }
                    events.push(leaf)
                }
            }
        }
        let ids: Vec<i64> = events.iter().map(|l| l.ref_id).collect();
        let found: HashMap<i64, crate::AuditEvent> = store.events_by_id(&ids).await?.into_iter().map(|e| (e.id, e)).collect();
        for leaf in events {
            report.events += 1;
            match found.get(&leaf.ref_id) {
                None => report.problem(format!("event {} (ledger leaf {}) is missing (deleted)", leaf.ref_id, leaf.index)),
                Some(e) if e.leaf().hash != leaf.hash => {
                    report.problem(format!("event {} differs from its ledger leaf {} (changed)", leaf.ref_id, leaf.index))
                }
                Some(_) => {}
            }
        }
    }
    if next_index != size {
        report.problem(format!(
            "ledger leaves {next_index} to {} have no record of what they stand for (deleted)",
            size.saturating_sub(1)
        ));
    }
    let mut after = (i64::MIN, i64::MIN);
    loop {
        let page = store.entry_versions_page(after, 5_000).await?;
        let Some(last) = page.last() else { break };
        after = (last.id, last.version);
        for v in page {
            report.entry_versions += 1;
            let content = match store.open_entry_version(&v) {
                Ok(c) => c,
                Err(_) => {
                    report.problem(format!(
                        "entry {} version {}: the sealed resource does not open (changed, moved or truncated)",
                        v.id, v.version
                    ));
                    continue;
                }
            };
            let leaf = crate::EntryVersionFacts {
                id: v.id,
                version: v.version,
                institution: &v.institution,
                source_id: &v.source_id,
                status: v.status,
                submission: v.submission,
                collected_at: v.collected_at,
                digest: &v.digest,
                content: &content,
            }
            .leaf();
            match entry_leaves.remove(&(v.id, v.version)) {
                Some((_, h)) if h == leaf.hash => {}
                Some((i, _)) => report.problem(format!(
                    "entry {} version {} differs from its ledger leaf {i} (digest, status or content changed)",
                    v.id, v.version
                )),
                None if pending > 0 => {}
                None => report.problem(format!("entry {} version {} has no ledger leaf", v.id, v.version)),
            }
        }
        progress("entries", report.entry_versions);
    }
    let mut gone: Vec<(u64, (i64, i64))> = entry_leaves.into_iter().map(|(k, (i, _))| (i, k)).collect();
    gone.sort_unstable();
    for (i, (id, version)) in gone {
        report.problem(format!("ledger leaf {i} names entry {id} version {version}, which is missing (deleted)"));
    }
    report.content_seconds = started.elapsed().as_secs_f64();
    report.checkpoints = checkpoints.len() as u64;
    Ok(report)
}

fn check_checkpoint(
    cp: &crate::CheckpointRecord,
    frontier: &Frontier,
    origin: &str,
    keys: &HashMap<u32, (tongdang_protection::Suite, Vec<u8>)>,
    report: &mut VerifyReport,
) {
    if frontier.size() != cp.size {
        return;
    }
    match SignedCheckpoint::parse(&cp.note) {
        Err(e) => report.problem(format!("checkpoint of {} leaves: {e}", cp.size)),
        Ok(signed) => {
            if let Err(e) = signed.verify(origin, keys) {
                report.problem(format!("checkpoint of {} leaves: {e}", cp.size));
            } else if signed.checkpoint.size != cp.size || signed.checkpoint.root != cp.root {
                report.problem(format!("checkpoint of {} leaves: the stored size or root differs from the signed note", cp.size));
            }
        }
    }
    if frontier.root() != cp.root {
        report.problem(format!(
            "the log's first {} leaves hash to {}, not the checkpoint's {} (a leaf changed, was removed or reordered)",
            cp.size,
            hex(&frontier.root()),
            hex(&cp.root)
        ));
    }
}

/// What proving an outside checkpoint found.
#[derive(Debug, Clone)]
pub struct WitnessProof {
    /// The witness's tree size.
    pub old_size: u64,
    /// Today's.
    pub new_size: u64,
    /// The consistency proof (hex).
    pub proof: Vec<String>,
}

/// Prove that a checkpoint an outside witness holds is a prefix of today's log: its signature
/// is ours, and a consistency proof from it to today's tree verifies.
pub async fn verify_witness_checkpoint(store: &ProtectedStore, note: &str) -> std::result::Result<WitnessProof, String> {
    let signed = SignedCheckpoint::parse(note).map_err(|e| e.to_string())?;
    signed.verify(store.origin(), store.keyring().public_keys()).map_err(|e| e.to_string())?;
    let (size, _) = store.ledger_counts().await.map_err(|e| e.to_string())?;
    let old = signed.checkpoint.size;
    if old > size {
        return Err(format!(
            "the checkpoint claims {old} leaves but the log has {size}: it is not from this log, or leaves were removed"
        ));
    }
    let new_root = store.root_at(size).await.map_err(|e| e.to_string())?;
    let proof = store.consistency_proof(old, size).await.map_err(|e| e.to_string())?;
    if !verify_consistency(old, size, &signed.checkpoint.root, &new_root, &proof) {
        return Err(format!("the log's first {old} leaves are not the ones the checkpoint signed: history was changed"));
    }
    Ok(WitnessProof { old_size: old, new_size: size, proof: proof.iter().map(|h| data_encoding::HEXLOWER.encode(h)).collect() })
}
