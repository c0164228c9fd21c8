//! Reconciliation (对账): an institution's manifest of what it sent for a day against what the
//! platform holds for it. Pure: the caller reads the held entries from the store.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The most ids one manifest may list: a big hospital's busiest day, with room to spare.
pub const MAX_MANIFEST_ITEMS: usize = 200_000;

/// One resource as an institution lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedItem {
    /// Resource type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The institution's id.
    pub id: String,
    /// The platform version it expects, if it tracks them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// The canonical content digest (hex SHA-256, see docs/reconciliation.md), if it computes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// One entry as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldItem {
    /// Resource type.
    pub resource_type: String,
    /// The institution's id.
    pub id: String,
    /// Current version.
    pub version: i64,
    /// Canonical content digest.
    pub digest: Vec<u8>,
}

/// A resource the two sides disagree on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// `Type/id`.
    pub reference: String,
    /// The version the institution listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed_version: Option<i64>,
    /// The version the platform holds.
    pub held_version: i64,
    /// Whether the content digests differ (only when the institution gave one).
    pub content_differs: bool,
}

/// The outcome of one manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciled {
    /// Listed and identical (as far as the listing says).
    pub matched: usize,
    /// Listed, not held: sent but never accepted (look for a return), or never sent.
    pub missing: Vec<String>,
    /// Held, not listed.
    pub extra: Vec<String>,
    /// Held in another version or with other content.
    pub differing: Vec<Difference>,
}

/// Why a manifest cannot be reconciled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Too many ids.
    #[error("a manifest lists at most {MAX_MANIFEST_ITEMS} resources; split the day by category")]
    TooMany,
    /// The same resource twice.
    #[error("{0} is listed more than once")]
    Repeated(String),
    /// A digest that is not 64 hex characters.
    #[error("the digest of {0} is not 64 hexadecimal characters")]
    BadDigest(String),
    /// An empty type or id.
    #[error("item {0} has an empty type or id")]
    Empty(usize),
}

/// Compare a manifest with what is held. Lists come back sorted.
pub fn reconcile(listed: &[ListedItem], held: &[HeldItem]) -> Result<Reconciled, ManifestError> {
    if listed.len() > MAX_MANIFEST_ITEMS {
        return Err(ManifestError::TooMany);
    }
    let mut by_key: HashMap<(&str, &str), &HeldItem> = HashMap::with_capacity(held.len());
    for h in held {
        by_key.insert((h.resource_type.as_str(), h.id.as_str()), h);
    }
    let mut seen: std::collections::HashSet<(&str, &str)> = std::collections::HashSet::with_capacity(listed.len());
    let mut out = Reconciled::default();
    for (n, item) in listed.iter().enumerate() {
        if item.resource_type.trim().is_empty() || item.id.trim().is_empty() {
            return Err(ManifestError::Empty(n));
        }
        let key = (item.resource_type.as_str(), item.id.as_str());
        let reference = || format!("{}/{}", item.resource_type, item.id);
        if !seen.insert(key) {
            return Err(ManifestError::Repeated(reference()));
        }
        let listed_digest = match &item.digest {
            Some(d) => Some(
                data_encoding::HEXLOWER_PERMISSIVE
                    .decode(d.as_bytes())
                    .ok()
                    .filter(|b| b.len() == 32)
                    .ok_or_else(|| ManifestError::BadDigest(reference()))?,
            ),
            None => None,
        };
        match by_key.get(&key) {
            None => out.missing.push(reference()),
            Some(h) => {
                let version_differs = item.version.is_some_and(|v| v != h.version);
                let content_differs = listed_digest.as_ref().is_some_and(|d| *d != h.digest);
                if version_differs || content_differs {
                    out.differing.push(Difference {
                        reference: reference(),
                        listed_version: item.version,
                        held_version: h.version,
                        content_differs,
                    });
                } else {
                    out.matched += 1;
                }
            }
        }
    }
    out.extra = held
        .iter()
        .filter(|h| !seen.contains(&(h.resource_type.as_str(), h.id.as_str())))
        .map(|h| format!("{}/{}", h.resource_type, h.id))
        .collect();
    out.missing.sort();
    out.extra.sort();
    out.differing.sort_by(|a, b| a.reference.cmp(&b.reference));
    Ok(out)
}

/// The platform's receipt of a day: how many entries, and one digest over all of them that an
/// institution can compute from its own side (SHA-256 over the sorted lines
/// `Type/id version digest-hex\n`), so a day that agrees is settled with one comparison.
pub fn receipt_summary(held: &[HeldItem]) -> String {
    let mut lines: Vec<String> = held
        .iter()
        .map(|h| format!("{}/{} {} {}\n", h.resource_type, h.id, h.version, data_encoding::HEXLOWER.encode(&h.digest)))
        .collect();
    lines.sort_unstable();
    let mut hash = Sha256::new();
    for l in &lines {
        hash.update(l.as_bytes());
    }
    data_encoding::HEXLOWER.encode(&hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(rt: &str, id: &str, version: i64, d: u8) -> HeldItem {
        HeldItem { resource_type: rt.into(), id: id.into(), version, digest: vec![d; 32] }
    }

    fn listed(rt: &str, id: &str, version: Option<i64>, d: Option<u8>) -> ListedItem {
        ListedItem {
            resource_type: rt.into(),
            id: id.into(),
            version,
            digest: d.map(|d| data_encoding::HEXLOWER.encode(&[d; 32])),
        }
    }

    #[test]
    fn missing_extra_and_differing_are_told_apart() {
        let h = [
            held("Observation", "a", 1, 1),
            held("Observation", "b", 2, 2),
            held("Observation", "c", 1, 3),
            held("Condition", "d", 1, 4),
        ];
        let l = [
            listed("Observation", "a", Some(1), Some(1)),
            listed("Observation", "b", Some(1), None),
            listed("Observation", "c", None, Some(9)),
            listed("Observation", "z", None, None),
        ];
        let r = reconcile(&l, &h).unwrap();
        assert_eq!(r.matched, 1);
        assert_eq!(r.missing, ["Observation/z"]);
        assert_eq!(r.extra, ["Condition/d"]);
        assert_eq!(r.differing.len(), 2);
        assert!(!r.differing[0].content_differs && r.differing[0].held_version == 2);
        assert!(r.differing[1].content_differs);
    }

    #[test]
    fn bad_manifests_are_refused() {
        let twice = [listed("Observation", "a", None, None), listed("Observation", "a", None, None)];
        assert_eq!(reconcile(&twice, &[]), Err(ManifestError::Repeated("Observation/a".into())));
        let bad = [ListedItem { resource_type: "Observation".into(), id: "a".into(), version: None, digest: Some("xyz".into()) }];
        assert!(matches!(reconcile(&bad, &[]), Err(ManifestError::BadDigest(_))));
        let many: Vec<ListedItem> = (0..=MAX_MANIFEST_ITEMS).map(|i| listed("Observation", &i.to_string(), None, None)).collect();
        assert_eq!(reconcile(&many, &[]), Err(ManifestError::TooMany));
    }

    #[test]
    fn the_receipt_does_not_depend_on_order() {
        let a = [held("Observation", "a", 1, 1), held("Observation", "b", 2, 2)];
        let b = [held("Observation", "b", 2, 2), held("Observation", "a", 1, 1)];
        assert_eq!(receipt_summary(&a), receipt_summary(&b));
        assert_ne!(receipt_summary(&a), receipt_summary(&a[..1]));
    }
}
