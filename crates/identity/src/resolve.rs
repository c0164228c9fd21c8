//! First-cut person resolution. A Patient from an institution belongs to the person already
//! linked to its local id; else to the person holding the same verified strong identifier
//! (health code first, then national ID number); else to a new person. Probabilistic matching
//! on demographics comes with the master patient index.

use crate::gb11643::NationalId;
use crate::health_code::HealthCode;
use crate::systems;
use tongdang_core::PersonId;

/// A verified identifier strong enough to link two submissions to one person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StrongIdentifier {
    /// The electronic health code.
    HealthCode(HealthCode),
    /// A GB 11643 ID number with a correct check character.
    NationalId(NationalId),
}

impl StrongIdentifier {
    /// The identifier system.
    pub fn system(&self) -> &'static str {
        match self {
            StrongIdentifier::HealthCode(_) => systems::HEALTH_CODE,
            StrongIdentifier::NationalId(_) => systems::NATIONAL_ID,
        }
    }

    /// The normalized value.
    pub fn value(&self) -> &str {
        match self {
            StrongIdentifier::HealthCode(h) => h.as_str(),
            StrongIdentifier::NationalId(n) => n.as_str(),
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
    /// Verified strong identifiers, health code first.
    pub strong: Vec<StrongIdentifier>,
    /// Identifiers that claim a known system but fail its check.
    pub findings: Vec<IdentifierFinding>,
}

impl IdentifierFacts {
    /// Sort `(system, value)` pairs from `Patient.identifier`.
    pub fn from_identifiers<'a>(ids: impl IntoIterator<Item = (&'a str, &'a str)>) -> IdentifierFacts {
        let mut facts = IdentifierFacts::default();
        for (index, (system, value)) in ids.into_iter().enumerate() {
            match system {
                systems::HEALTH_CODE => match HealthCode::parse(value) {
                    Ok(h) => facts.strong.push(StrongIdentifier::HealthCode(h)),
                    Err(e) => facts.findings.push(IdentifierFinding { index, message: e.to_string() }),
                },
                systems::NATIONAL_ID => match NationalId::parse(value) {
                    Ok(n) => facts.strong.push(StrongIdentifier::NationalId(n)),
                    Err(e) => facts.findings.push(IdentifierFinding { index, message: format!("invalid ID number: {e}") }),
                },
                _ => {}
            }
        }
        facts.strong.sort_by_key(|s| matches!(s, StrongIdentifier::NationalId(_)));
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

/// Decide the person for a Patient not yet linked to any: `holders` gives, for each of
/// `facts.strong` in order, the person holding it. The first holder wins (health code before ID
/// number); no holder means a new person.
pub fn resolve_person(facts: &IdentifierFacts, holders: &[Option<PersonId>]) -> Resolution {
    debug_assert_eq!(facts.strong.len(), holders.len());
    match holders.iter().flatten().next() {
        Some(p) => Resolution::Existing(*p),
        None => Resolution::New,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(matches!(facts.strong[0], StrongIdentifier::HealthCode(_)));
        let p = |n| Some(PersonId(n));
        assert_eq!(resolve_person(&facts, &[p(1), p(2)]), Resolution::Existing(PersonId(1)));
        assert_eq!(resolve_person(&facts, &[None, p(2)]), Resolution::Existing(PersonId(2)));
        assert_eq!(resolve_person(&facts, &[None, None]), Resolution::New);
    }
}
