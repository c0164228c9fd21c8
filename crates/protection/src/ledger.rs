//! The Merkle tree of the ledger, as RFC 9162 (Certificate Transparency 2.0) defines it:
//! leaf and node hashes with domain separation, audit paths (inclusion proofs), consistency
//! proofs, and their verification.
//!
//! The tree is stored as its perfect subtrees: node `(level, index)` covers leaves
//! `[index·2^level, (index+1)·2^level)` and is written once, when its last leaf arrives (its
//! `pos`). Every RFC 9162 subtree hash is a right fold of at most 64 such nodes, so the root,
//! an inclusion proof and a consistency proof of a tree of any size need O(log n) stored nodes,
//! fetched in one look-up (the idea of C2SP tlog-tiles, one hash per row).

use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new().chain_update([0u8]).chain_update(data).finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new().chain_update([1u8]).chain_update(left).chain_update(right).finalize().into()
}

/// The root of the empty tree: `SHA-256()`.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// A stored node: the perfect subtree at `level` with this `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// 0 for leaves.
    pub level: u8,
    /// Its index among the nodes of its level.
    pub index: u64,
}

impl NodeId {
    /// The last leaf it covers: the moment it is written, and its storage key with `level`.
    pub fn pos(self) -> u64 {
        ((self.index + 1) << self.level) - 1
    }

    /// From a storage key.
    pub fn from_pos(pos: u64, level: u8) -> NodeId {
        NodeId { level, index: ((pos + 1) >> level) - 1 }
    }

    /// From a storage key as read back, `None` when no node can have it (a changed row).
    pub fn checked_from_pos(pos: i64, level: i64) -> Option<NodeId> {
        let (pos, level) = (u64::try_from(pos).ok()?, u32::try_from(level).ok()?);
        if level >= 63 || pos == u64::MAX || (pos + 1) % (1u64 << level) != 0 {
            return None;
        }
        Some(NodeId::from_pos(pos, level as u8))
    }
}

fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

/// The stored nodes whose right fold is the RFC 9162 hash of leaves `[start, end)`, for ranges
/// that arise from splitting a tree `[0, n)` (their start is aligned to their first split).
pub fn decompose(start: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut s = start;
    while s < end {
        let n = end - s;
        let k = if n.is_power_of_two() { n } else { largest_power_of_two_below(n) };
        let level = k.trailing_zeros() as u8;
        out.push(NodeId { level, index: s >> level });
        s += k;
    }
    out
}

/// The hash of a range from its decomposition's stored nodes.
pub fn fold(nodes: &[NodeId], hashes: &HashMap<NodeId, Hash>) -> Option<Hash> {
    let (last, rest) = nodes.split_last()?;
    let mut h = *hashes.get(last)?;
    for n in rest.iter().rev() {
        h = node_hash(hashes.get(n)?, &h);
    }
    Some(h)
}

/// A proof or root to be assembled from stored nodes: a list of leaf ranges, each standing
/// for one hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    ranges: Vec<(u64, u64)>,
}

impl Plan {
    /// The root of the tree of `size` leaves (empty plan for size 0).
    pub fn root(size: u64) -> Plan {
        Plan { ranges: if size == 0 { vec![] } else { vec![(0, size)] } }
    }

    /// The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).
    pub fn inclusion(index: u64, size: u64) -> Plan {
        fn path(m: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
            if hi - lo <= 1 {
                return;
            }
            let k = largest_power_of_two_below(hi - lo);
            if m < lo + k {
                path(m, lo, lo + k, out);
                out.push((lo + k, hi));
            } else {
                path(m, lo + k, hi, out);
                out.push((lo, lo + k));
            }
        }
        let mut ranges = Vec::new();
        if index < size {
            path(index, 0, size, &mut ranges);
        }
        Plan { ranges }
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new` (§2.1.4.1).
    pub fn consistency(old: u64, new: u64) -> Plan {
        fn sub(m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<(u64, u64)>) {
            let n = hi - lo;
            if m == n {
                if !complete {
                    out.push((lo, hi));
                }
                return;
            }
            let k = largest_power_of_two_below(n);
            if m <= k {
                sub(m, lo, lo + k, complete, out);
                out.push((lo + k, hi));
            } else {
                sub(m - k, lo + k, hi, false, out);
                out.push((lo, lo + k));
            }
        }
        let mut ranges = Vec::new();
        if 0 < old && old < new {
            sub(old, 0, new, true, &mut ranges);
        }
        Plan { ranges }
    }

    /// Every stored node the plan needs.
    pub fn needed(&self) -> Vec<NodeId> {
        let mut v: Vec<NodeId> = self.ranges.iter().flat_map(|&(s, e)| decompose(s, e)).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The hashes, in proof order; `None` when a needed node is missing.
    pub fn assemble(&self, hashes: &HashMap<NodeId, Hash>) -> Option<Vec<Hash>> {
        self.ranges.iter().map(|&(s, e)| fold(&decompose(s, e), hashes)).collect()
    }
}

/// Check an audit path (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// Check a consistency proof between two trees (RFC 9162 §2.1.4.2).
pub fn verify_consistency(old: u64, new: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> bool {
    if old > new {
        return false;
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    if old == 0 {
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else { return false };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    fr == *old_root && sr == *new_root && s == 0
}

/// The right edge of the tree: the roots of its perfect subtrees, largest first. Appending a
/// leaf needs nothing else, and yields every node to store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    roots: Vec<Hash>,
}

impl Frontier {
    /// The nodes a frontier of `size` leaves consists of.
    pub fn nodes_for(size: u64) -> Vec<NodeId> {
        decompose(0, size)
    }

    /// From the hashes of [`Frontier::nodes_for`]`(size)`, in that order.
    pub fn from_roots(size: u64, roots: Vec<Hash>) -> Option<Frontier> {
        (roots.len() == size.count_ones() as usize).then_some(Frontier { size, roots })
    }

    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append a leaf hash; `emit` gets the leaf node and each perfect subtree it completes, in
    /// storage order (level ascending).
    pub fn append(&mut self, leaf: Hash, mut emit: impl FnMut(NodeId, Hash)) {
        let idx = self.size;
        emit(NodeId { level: 0, index: idx }, leaf);
        let mut h = leaf;
        let mut level = 0u8;
        while (idx >> level) & 1 == 1 {
            let left = self.roots.pop().expect("a set bit has a subtree");
            h = node_hash(&left, &h);
            level += 1;
            emit(NodeId { level, index: idx >> level }, h);
        }
        self.roots.push(h);
        self.size += 1;
    }

    /// The tree's root.
    pub fn root(&self) -> Hash {
        let Some((last, rest)) = self.roots.split_last() else { return empty_root() };
        rest.iter().rev().fold(*last, |acc, l| node_hash(l, &acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use data_encoding::HEXLOWER;

    /// RFC 9162 MTH straight from its definition.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = largest_power_of_two_below(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn build(n: u64) -> (Vec<Hash>, HashMap<NodeId, Hash>, Frontier) {
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut store = HashMap::new();
        let mut f = Frontier::default();
        for l in &leaves {
            f.append(*l, |id, h| {
                assert!(store.insert(id, h).is_none(), "every node is written once");
            });
        }
        (leaves, store, f)
    }

    /// The certificate-transparency reference vectors (RFC 6962 test leaves).
    #[test]
    fn reference_roots() {
        let data: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let mut f = Frontier::default();
        let mut roots = Vec::new();
        for d in data {
            f.append(leaf_hash(d), |_, _| {});
            roots.push(HEXLOWER.encode(&f.root()));
        }
        assert_eq!(roots[0], "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
        assert_eq!(roots[7], "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
        assert_eq!(HEXLOWER.encode(&empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn stored_nodes_give_the_rfc_root_proofs_and_positions() {
        for n in 1..=70u64 {
            let (leaves, store, f) = build(n);
            let root = mth(&leaves);
            assert_eq!(f.root(), root, "size {n}");
            assert_eq!(Plan::root(n).assemble(&store).unwrap()[0], root);
            for id in store.keys() {
                assert_eq!(NodeId::from_pos(id.pos(), id.level), *id);
            }
            let fr = Frontier::from_roots(n, Frontier::nodes_for(n).iter().map(|id| store[id]).collect()).unwrap();
            assert_eq!(fr, f);
            for m in 0..n {
                let proof = Plan::inclusion(m, n).assemble(&store).unwrap();
                assert!(verify_inclusion(m, n, &leaves[m as usize], &proof, &root), "leaf {m} of {n}");
                assert!(!verify_inclusion(m, n, &leaf_hash(b"other"), &proof, &root));
                if n > 1 {
                    assert!(!verify_inclusion((m + 1) % n, n, &leaves[m as usize], &proof, &root));
                }
            }
            for old in 1..=n {
                let old_root = mth(&leaves[..old as usize]);
                let proof = Plan::consistency(old, n).assemble(&store).unwrap();
                assert!(verify_consistency(old, n, &old_root, &root, &proof), "{old} → {n}");
                if old < n {
                    assert!(!verify_consistency(old, n, &leaf_hash(b"forged"), &root, &proof));
                    assert!(!verify_consistency(old, n, &old_root, &leaf_hash(b"forged"), &proof));
                }
            }
        }
    }

    #[test]
    fn impossible_storage_keys_are_refused() {
        assert_eq!(NodeId::checked_from_pos(7, 3), Some(NodeId { level: 3, index: 0 }));
        assert_eq!(NodeId::checked_from_pos(0, 1), None);
        assert_eq!(NodeId::checked_from_pos(-1, 0), None);
        assert_eq!(NodeId::checked_from_pos(5, 200), None);
        assert_eq!(NodeId::checked_from_pos(i64::MAX, 0).map(|n| n.index), Some(i64::MAX as u64));
    }

    #[test]
    fn proofs_need_logarithmically_many_nodes() {
        let n = 10_000_000_000u64;
        assert!(Plan::inclusion(1_234_567_891, n).needed().len() <= 64);
        assert!(Plan::consistency(7_777_777_777, n).needed().len() <= 128);
        assert!(Plan::root(n).needed().len() <= 64);
    }
}
