//! From scored candidates to one of three outcomes. A false merge is worse than a miss: the rules
//! here only ever lower an outcome (link → review → new), never raise it.

use super::compare::{Comparison, Field, MISSING, compare, conflict};
use super::model::Parameters;
use crate::demographics::Demographics;
use tongdang_core::PersonId;

/// A record already in the index.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Its person.
    pub person: PersonId,
    /// Its patient record id.
    pub record: i64,
    /// Its demographics.
    pub demographics: Demographics,
}

/// A candidate person with the best-scoring of its records.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredPerson {
    /// The person.
    pub person: PersonId,
    /// The record that scored best.
    pub record: i64,
    /// The weight (log2 likelihood ratio).
    pub weight: f64,
    /// The comparison behind it.
    pub comparison: Comparison,
    /// What the score alone would decide, after the rules.
    pub decision: Decision,
}

/// What to do with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Same person: link.
    Link,
    /// Possibly the same person: a new person, and a review item.
    Review,
    /// Not this person.
    Distinct,
}

/// The decision for a new record, with every candidate person scored, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchOutcome {
    /// Link to this person, if any.
    pub link: Option<PersonId>,
    /// Persons to review against (when not linked).
    pub review: Vec<ScoredPerson>,
    /// Every candidate person, best first.
    pub scored: Vec<ScoredPerson>,
}

/// Bits by which the best of several linkable persons must beat the next to be linked alone.
const AMBIGUITY_MARGIN: f64 = 3.0;

/// The decision for one pair.
pub fn decide_pair(params: &Parameters, a: &Demographics, b: &Demographics) -> (f64, Comparison, Decision) {
    let c = compare(a, b);
    let w = params.weight(&c);
    if conflict(a, b) {
        return (w, c, Decision::Distinct);
    }
    let mut d = if w >= params.link_threshold {
        Decision::Link
    } else if w >= params.review_threshold {
        Decision::Review
    } else {
        Decision::Distinct
    };
    // Twins and namesakes: a different given name (or one side with no name to compare, as for
    // newborns, where the mother's name must agree) never links on the other fields alone; an
    // agreeing document (passport, birth certificate) that twins never share settles it.
    let given = c[Field::Given as usize];
    let named = !a.placeholder_name && !b.placeholder_name;
    let mother_agrees = c[Field::Mother as usize] == 0;
    let document_agrees = c[Field::WeakId as usize] == 0;
    if d == Decision::Link && !document_agrees && ((named && given == 3) || (!named && !mother_agrees)) {
        d = Decision::Review;
    }
    // In Chinese given names one character apart (子涵/子轩) is as often a sibling as a typo:
    // only an agreeing document settles it.
    if d == Decision::Link && a.chinese && b.chinese && given == 2 && !document_agrees {
        d = Decision::Review;
    }
    // Unnamed newborns of one mother are told apart by their birth dates alone: siblings share
    // everything else.
    if d == Decision::Link && !named && !matches!(c[Field::BirthDate as usize], 0 | 1) && !document_agrees {
        d = Decision::Review;
    }
    // A name and a birth date both known and both different is another person, whatever else agrees.
    if d == Decision::Link && !document_agrees && c[Field::BirthDate as usize] == 3 && (given == 3 || given == MISSING) {
        d = Decision::Review;
    }
    (w, c, d)
}

/// Score every candidate, keep each person's best record, and decide.
pub fn decide(params: &Parameters, record: &Demographics, candidates: &[Candidate]) -> MatchOutcome {
    let mut scored: Vec<ScoredPerson> = Vec::new();
    for cand in candidates {
        let (weight, comparison, decision) = decide_pair(params, record, &cand.demographics);
        match scored.iter_mut().find(|s| s.person == cand.person) {
            Some(s) => {
                // A conflict with any record of the person rules the person out.
                if decision == Decision::Distinct && conflict(record, &cand.demographics) {
                    s.decision = Decision::Distinct;
                } else if weight > s.weight && s.decision != Decision::Distinct {
                    *s = ScoredPerson { person: cand.person, record: cand.record, weight, comparison, decision };
                }
            }
            None => scored.push(ScoredPerson { person: cand.person, record: cand.record, weight, comparison, decision }),
        }
    }
    scored.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.person.cmp(&b.person)));
    let links: Vec<&ScoredPerson> = scored.iter().filter(|s| s.decision == Decision::Link).collect();
    // Two persons both good enough to link: the index already holds a duplicate (the record links
    // to the best, and the others go to review as possible duplicates) — unless the two are too
    // close to call, then a person decides.
    let link = match links.as_slice() {
        [one] => Some(one.person),
        [best, second, ..] if best.weight - second.weight >= AMBIGUITY_MARGIN => Some(best.person),
        // Persons close in score that both link: the index holds a duplicate of one person; the
        // record joins the best, and the duplicates go to review to be merged.
        [best, ..] if links.iter().all(|s| s.comparison[Field::Given as usize] <= 1) => Some(best.person),
        _ => None,
    };
    let review = scored
        .iter()
        .filter(|s| Some(s.person) != link && matches!(s.decision, Decision::Link | Decision::Review))
        .filter(|s| link.is_none() || s.decision == Decision::Link)
        .cloned()
        .collect();
    MatchOutcome { link, review, scored }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demographics::{RawDemographics, RawName};

    fn person(name: &str, birth: &str, sex: &str, phone: &str) -> Demographics {
        Demographics::from_raw(&RawDemographics {
            names: vec![RawName { text: Some(name.into()), ..Default::default() }],
            birth_date: Some(birth.into()),
            gender: Some(sex.into()),
            phones: vec![phone.into()],
            ..Default::default()
        })
    }

    fn cand(person: i64, d: Demographics) -> Candidate {
        Candidate { person: PersonId(person), record: person, demographics: d }
    }

    #[test]
    fn homophone_with_same_birth_and_phone_links() {
        let p = Parameters::default();
        let out = decide(
            &p,
            &person("章伟", "1980-03-07", "male", "13800138000"),
            &[cand(1, person("张伟", "1980-03-07", "male", "13800138000"))],
        );
        assert_eq!(out.link, Some(PersonId(1)));
    }

    #[test]
    fn twins_do_not_link() {
        let p = Parameters::default();
        let out = decide(
            &p,
            &person("李子涵", "2015-06-01", "female", "13800138000"),
            &[cand(1, person("李子轩", "2015-06-01", "female", "13800138000"))],
        );
        assert_eq!(out.link, None);
    }

    #[test]
    fn namesakes_do_not_link() {
        let p = Parameters::default();
        let out = decide(
            &p,
            &person("王芳", "1985-01-02", "female", "13900000001"),
            &[cand(1, person("王芳", "1962-09-30", "female", "13700000002"))],
        );
        assert_eq!(out.link, None);
        assert!(out.review.is_empty());
    }

    #[test]
    fn different_id_numbers_never_link() {
        let p = Parameters::default();
        let mut a = person("张伟", "1980-03-07", "male", "13800138000");
        let mut b = a.clone();
        a.strong.push("urn:oid:2.16.156.10011.1.3|110105198003070011".into());
        b.strong.push("urn:oid:2.16.156.10011.1.3|110105198003070038".into());
        let out = decide(&p, &a, &[cand(1, b)]);
        assert_eq!(out.link, None);
        assert!(out.review.is_empty());
    }
}
