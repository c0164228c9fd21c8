//! From scored candidates to one of three outcomes. A false merge is worse than a miss: the rules
//! here only ever lower an outcome (link → review → new), never raise it.

use super::compare::{Comparison, Field, MISSING, compare, conflict};
use super::model::Parameters;
use crate::demographics::Demographics;
use crate::documents::DocumentKind;
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

/// The decision for one pair, and whether a rule (not the score) lowered it: such a person stays
/// at review whatever its other records score.
pub fn decide_pair(params: &Parameters, a: &Demographics, b: &Demographics) -> (f64, Comparison, Decision, bool) {
    let c = compare(a, b);
    let w = params.weight(&c);
    if conflict(a, b) {
        return (w, c, Decision::Distinct, true);
    }
    let by_score = if w >= params.link_threshold {
        Decision::Link
    } else if w >= params.review_threshold {
        Decision::Review
    } else {
        Decision::Distinct
    };
    if by_score == Decision::Link && held_back(&c, a, b, params) {
        return (w, c, Decision::Review, true);
    }
    (w, c, by_score, false)
}

/// The rules that keep a linkable score from linking. A document that twins never share (a
/// passport or birth certificate, not any identifier: a borrowed insurance card is no proof)
/// settles the ones about names.
fn held_back(c: &Comparison, a: &Demographics, b: &Demographics, params: &Parameters) -> bool {
    let level = |f: Field| c[f as usize];
    let given = level(Field::Given);
    let named = !a.placeholder_name && !b.placeholder_name;
    let document = document_agrees(a, b, params);
    // Twins: a different given name; newborns without names: the mother must agree.
    let twins = (named && given == 3) || (!named && level(Field::Mother) != 0);
    // In Chinese given names one character apart (子涵/子轩) is as often a sibling as a typo.
    let sibling = a.chinese && b.chinese && given == 2;
    // Unnamed newborns of one mother are told apart by their birth dates alone.
    let newborn = !named && !matches!(level(Field::BirthDate), 0 | 1);
    // A name and a birth date both different is another person.
    let stranger = level(Field::BirthDate) == 3 && (given == 3 || given == MISSING);
    // Namesakes born on one day are common in a province of 127 million: name, birth date and
    // sex alone never link; something that is the person's own must agree too.
    // (A district is no such thing: 花都区 alone has 1.6 million residents.)
    let own = level(Field::Phone) == 0
        || level(Field::Address) == 0
        || level(Field::Mother) == 0
        || level(Field::WeakId) == 0
        || document;
    !document && (twins || sibling || newborn || stranger) || !own
}

/// Whether the two share a passport, birth-certificate or other personal document number.
fn document_agrees(a: &Demographics, b: &Demographics, params: &Parameters) -> bool {
    a.weak.iter().any(|x| {
        let system = x.split('|').next().unwrap_or("");
        let personal = matches!(DocumentKind::from_system(system), Some(DocumentKind::Passport | DocumentKind::BirthCertificate))
            || params.personal_systems.iter().any(|s| s == system);
        personal && b.weak.contains(x)
    })
}

/// Score every candidate, keep each person's best record, and decide.
pub fn decide(params: &Parameters, record: &Demographics, candidates: &[Candidate]) -> MatchOutcome {
    let mut scored: Vec<ScoredPerson> = Vec::new();
    // Persons one of whose records a rule held back or ruled out: never linked on another record.
    let mut capped: Vec<(PersonId, Decision)> = Vec::new();
    for cand in candidates {
        let (weight, comparison, decision, by_rule) = decide_pair(params, record, &cand.demographics);
        if by_rule {
            match capped.iter_mut().find(|(p, _)| *p == cand.person) {
                Some((_, d)) if decision == Decision::Distinct => *d = Decision::Distinct,
                Some(_) => {}
                None => capped.push((cand.person, decision)),
            }
        }
        match scored.iter_mut().find(|s| s.person == cand.person) {
            Some(s) if weight > s.weight => {
                *s = ScoredPerson { person: cand.person, record: cand.record, weight, comparison, decision }
            }
            Some(_) => {}
            None => scored.push(ScoredPerson { person: cand.person, record: cand.record, weight, comparison, decision }),
        }
    }
    for s in scored.iter_mut() {
        if let Some((_, cap)) = capped.iter().find(|(p, _)| *p == s.person) {
            // A conflict rules the person out; a rule holds it at review.
            s.decision = if *cap == Decision::Distinct { Decision::Distinct } else { s.decision.min_with(Decision::Review) };
        }
    }
    scored.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.person.cmp(&b.person)));
    let links: Vec<&ScoredPerson> = scored.iter().filter(|s| s.decision == Decision::Link).collect();
    // Several persons good enough to link: the index holds a split person. The record joins
    // the best, and the others go to review to be merged — unless they hold different
    // documents (two real people), or the best is not clearly best and their given names
    // differ; then a person decides.
    let record_of = |p: PersonId| candidates.iter().filter(move |c| c.person == p).map(|c| &c.demographics);
    let link = match links.as_slice() {
        [one] => Some(one.person),
        [best, rest @ ..] => {
            let distinct_people =
                rest.iter().any(|o| record_of(best.person).any(|x| record_of(o.person).any(|y| conflict(x, y))));
            let clear = best.weight - rest[0].weight >= AMBIGUITY_MARGIN;
            let alike = links.iter().all(|s| s.comparison[Field::Given as usize] <= 1);
            (!distinct_people && (clear || alike)).then_some(best.person)
        }
        [] => None,
    };
    let review = scored
        .iter()
        .filter(|s| Some(s.person) != link && matches!(s.decision, Decision::Link | Decision::Review))
        .filter(|s| link.is_none() || s.decision == Decision::Link)
        .cloned()
        .collect();
    MatchOutcome { link, review, scored }
}

impl Decision {
    /// The lower of two outcomes (distinct < review < link).
    fn min_with(self, other: Decision) -> Decision {
        let rank = |d: Decision| match d {
            Decision::Distinct => 0,
            Decision::Review => 1,
            Decision::Link => 2,
        };
        if rank(self) <= rank(other) { self } else { other }
    }
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
    fn namesakes_in_one_city_with_another_phone_do_not_link() {
        let p = Parameters::default();
        let out = decide(
            &p,
            &person("王芳", "1985-01-02", "female", "13900000001"),
            &[cand(1, person("王芳", "1985-01-02", "female", "13700000002"))],
        );
        assert_eq!(out.link, None);
    }

    #[test]
    fn a_rule_on_one_record_holds_the_whole_person() {
        let p = Parameters::default();
        // Twin A is known by a placeholder (name missing) and by her own name; twin B's name
        // differs from A's, so the placeholder's high score must not link her.
        let mut placeholder = person("李丽之女", "2020-01-01", "female", "13800000001");
        placeholder.mother = "lili".into();
        let mut named_a = person("王明", "2020-01-01", "female", "13800000001");
        named_a.mother = "lili".into();
        let mut b = person("王亮", "2020-01-01", "female", "13800000001");
        b.mother = "lili".into();
        let out = decide(&p, &b, &[cand(1, placeholder), Candidate { person: PersonId(1), record: 2, demographics: named_a }]);
        assert_eq!(out.link, None);
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
