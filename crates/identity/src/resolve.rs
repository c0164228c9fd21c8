//! First-cut person resolution. A Patient from an institution belongs to the person already
//! linked to its local id; else to the person holding the same verified strong identifier
//! (health code first, then national ID number); else to a new person. Probabilistic matching
//! on demographics comes with the master patient index.

use crate::documents::{DocumentKind, normalize};
use tongdang_core::PersonId;

/// A verified identity document strong enough to link two submissions to one person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StrongIdentifier {
    kind: DocumentKind,
    system: String,
    value: String,
}

impl StrongIdentifier {
    /// The identifier system.
    pub fn system(&self) -> &str {
        &self.system
    }

    /// The normalized value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The kind of document.
    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// Which identifier links first: the health code, then the ID number, then the others.
    fn rank(&self) -> u8 {
        match self.kind {
            DocumentKind::HealthCode => 0,
            DocumentKind::NationalId => 1,
            _ => 2,
        }
    }
}

/// A problem with an identifier a Patient carried; reported, never used to link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierFinding {
    /// Index of the identifier in `Patient.identifier`.
    pub index: usize,
    /// What is wrong.
    pub message: String,
}

/// The identifiers of one Patient resource, sorted into strong ones and problems.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentifierFacts {
    /// Verified strong identifiers, health code first, then ID number.
    pub strong: Vec<StrongIdentifier>,
    /// `(index, normalized value)` of every identifier of a known kind that passed its check.
    pub normalized: Vec<(usize, String)>,
    /// Identifiers that claim a known system but fail its check.
    pub findings: Vec<IdentifierFinding>,
}

impl IdentifierFacts {
    /// Sort `(system, value)` pairs from `Patient.identifier`.
    pub fn from_identifiers<'a>(ids: impl IntoIterator<Item = (&'a str, &'a str)>) -> IdentifierFacts {
        let mut facts = IdentifierFacts::default();
        for (index, (system, value)) in ids.into_iter().enumerate() {
            let Some(kind) = DocumentKind::from_system(system) else { continue };
            match normalize(kind, value) {
                Ok(v) => {
                    if kind.is_strong() {
                        facts.strong.push(StrongIdentifier { kind, system: system.to_string(), value: v.clone() });
                    }
                    facts.normalized.push((index, v));
                }
                Err(e) => facts.findings.push(IdentifierFinding { index, message: e.0 }),
            }
        }
        facts.strong.sort_by_key(StrongIdentifier::rank);
        facts.strong.dedup();
        facts
    }
}

/// Where a Patient submission belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// To this existing person.
    Existing(PersonId),
    /// To a person created for it.
    New,
}

/// Decide the person for a Patient not yet linked to any: `holders` gives, for each of its
/// `strong` identifiers in order, the person holding it. The first holder wins (health code
/// before ID number); no holder means a new person.
pub fn resolve_person(strong: &[StrongIdentifier], holders: &[Option<PersonId>]) -> Resolution {
    debug_assert_eq!(strong.len(), holders.len());
    match holders.iter().flatten().next() {
        Some(p) => Resolution::Existing(*p),
        None => Resolution::New,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::systems;

    const ID: &str = "11010519491231002X";

    #[test]
    fn invalid_national_ids_are_findings_not_links() {
        let facts =
            IdentifierFacts::from_identifiers([(systems::NATIONAL_ID, "110105194912310021"), ("http://hospital/mrn", "42")]);
        assert!(facts.strong.is_empty());
        assert_eq!(facts.findings.len(), 1);
        assert_eq!(facts.findings[0].index, 0);
    }

    #[test]
    fn health_code_comes_first() {
        let hc = "ab".repeat(32);
        let facts = IdentifierFacts::from_identifiers([(systems::NATIONAL_ID, ID), (systems::HEALTH_CODE, hc.as_str())]);
        assert_eq!(facts.strong[0].kind(), DocumentKind::HealthCode);
        let p = |n| Some(PersonId(n));
        assert_eq!(resolve_person(&facts.strong, &[p(1), p(2)]), Resolution::Existing(PersonId(1)));
        assert_eq!(resolve_person(&facts.strong, &[None, p(2)]), Resolution::Existing(PersonId(2)));
        assert_eq!(resolve_person(&facts.strong, &[None, None]), Resolution::New);
    }
}
