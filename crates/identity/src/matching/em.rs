//! Estimating the parameters from unlabeled data. u (how often a level occurs among pairs of
//! different persons) is counted on random record pairs, which are almost all non-matches;
//! m (how often among pairs of one person) is estimated by expectation–maximization over the
//! candidate pairs blocking finds, with u held fixed, each field learned from pairs that were
//! not blocked on it. Holding u anchors the non-match class: free EM on blocked pairs — mostly
//! true matches that differ by typos — splits them by typos instead (measured on FEBRL 3:
//! recall fell from 0.83 to 0.05). Identical comparison vectors are counted once, so millions
//! of pairs cost a few hundred patterns.

use super::compare::{Comparison, FIELDS, MISSING};
use super::model::Parameters;
use std::collections::HashMap;

const FLOOR: f64 = 1e-6;

fn patterns(pairs: &[Comparison]) -> Vec<(Comparison, f64)> {
    let mut counts: HashMap<Comparison, f64> = HashMap::new();
    for c in pairs {
        *counts.entry(*c).or_default() += 1.0;
    }
    counts.into_iter().collect()
}

fn normalized(mut v: Vec<f64>, fallback: &[f64]) -> Vec<f64> {
    let s: f64 = v.iter().sum();
    if s <= 0.0 {
        return fallback.to_vec();
    }
    for x in v.iter_mut() {
        *x = (*x / s).max(FLOOR);
    }
    let s: f64 = v.iter().sum();
    v.iter().map(|x| x / s).collect()
}

/// u from random pairs: the share of each level among pairs where the field is known. A level
/// never seen counts as half an observation (rather than zero, which would make it infinitely
/// telling).
pub fn u_from_random(random: &[Comparison], start: &Parameters) -> Vec<Vec<f64>> {
    FIELDS
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut counts = vec![0.0; f.levels()];
            for c in random.iter().filter(|c| c[i] != MISSING) {
                counts[c[i] as usize] += 1.0;
            }
            if counts.iter().sum::<f64>() < 100.0 {
                return start.u[i].clone();
            }
            normalized(counts.into_iter().map(|n: f64| n.max(0.5)).collect(), &start.u[i])
        })
        .collect()
}

/// Candidate pairs found by some blocking keys, and the fields they can teach: blocking forces
/// agreement on the fields in the key, so those fields say nothing there and are left out of
/// that set's likelihood (pairs found by phone teach names and birth dates, and the other way
/// round).
#[derive(Debug, Clone)]
pub struct TrainingSet {
    /// Compared pairs.
    pub pairs: Vec<Comparison>,
    /// Per field of [`FIELDS`]: whether this set estimates its m.
    pub learn: [bool; 8],
}

/// Estimate from training sets of candidate pairs and from random pairs (`random`), starting
/// from `start` (whose thresholds are kept). Each field's m comes from the largest set that
/// learns it.
pub fn estimate(sets: &[TrainingSet], random: &[Comparison], start: &Parameters, iterations: usize) -> Parameters {
    let mut p = start.clone();
    p.u = u_from_random(random, start);
    let mut best_size = [0usize; 8];
    let mut learned = p.m.clone();
    let (mut matches, mut total) = (0.0, 0.0);
    for set in sets {
        let (m, share) = em_m(&patterns(&set.pairs), &set.learn, &p, iterations);
        for i in 0..FIELDS.len() {
            if set.learn[i] && set.pairs.len() > best_size[i] {
                best_size[i] = set.pairs.len();
                learned[i].clone_from(&m[i]);
            }
        }
        matches += share * set.pairs.len() as f64;
        total += set.pairs.len() as f64;
    }
    p.m = learned;
    if total > 0.0 {
        p.prior = (matches / total).clamp(1e-4, 1.0 - 1e-4);
    }
    p.source = "em".into();
    p.pairs = total as u64;
    p
}

/// EM over one set with u fixed: m of the `learn` fields, and the share of matches.
fn em_m(patterns: &[(Comparison, f64)], learn: &[bool; 8], start: &Parameters, iterations: usize) -> (Vec<Vec<f64>>, f64) {
    let mut m = start.m.clone();
    let mut prior = 0.5;
    if patterns.is_empty() {
        return (m, prior);
    }
    for _ in 0..iterations {
        let mut m_num: Vec<Vec<f64>> = FIELDS.iter().map(|f| vec![0.0; f.levels()]).collect();
        let (mut matches, mut total) = (0.0, 0.0);
        for (c, n) in patterns {
            let (mut lm, mut lu) = (f64::ln(prior), f64::ln(1.0 - prior));
            for (i, &l) in c.iter().enumerate() {
                if l != MISSING && learn[i] {
                    lm += m[i][l as usize].ln();
                    lu += start.u[i][l as usize].ln();
                }
            }
            let g = 1.0 / (1.0 + (lu - lm).exp());
            matches += g * n;
            total += n;
            for (i, &l) in c.iter().enumerate() {
                if l != MISSING && learn[i] {
                    m_num[i][l as usize] += g * n;
                }
            }
        }
        for (i, v) in m_num.into_iter().enumerate() {
            if learn[i] {
                m[i] = normalized(v, &m[i]);
            }
        }
        prior = (matches / total).clamp(1e-4, 1.0 - 1e-4);
    }
    (m, prior)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs drawn from known m and u: u comes back from the random pairs, m and the share of
    /// matches from EM over the blocked ones.
    #[test]
    fn recovers_known_parameters() {
        // A plain model, so every level is drawn often enough to be measured.
        let truth = Parameters {
            u: FIELDS
                .iter()
                .map(|f| (0..f.levels()).map(|l| if l + 1 == f.levels() { 0.7 } else { 0.3 / (f.levels() - 1) as f64 }).collect())
                .collect(),
            m: FIELDS
                .iter()
                .map(|f| (0..f.levels()).map(|l| if l == 0 { 0.8 } else { 0.2 / (f.levels() - 1) as f64 }).collect())
                .collect(),
            ..Parameters::default()
        };
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut draw = |probs: &Vec<f64>| {
            let r = next();
            let mut acc = 0.0;
            for (l, p) in probs.iter().enumerate() {
                acc += p;
                if r < acc {
                    return l as u8;
                }
            }
            (probs.len() - 1) as u8
        };
        let mut blocked = Vec::new();
        let mut random = Vec::new();
        for k in 0..40_000 {
            let is_match = k % 5 == 0;
            let mut c = [0u8; 8];
            let mut r = [0u8; 8];
            for i in 0..8 {
                c[i] = draw(if is_match { &truth.m[i] } else { &truth.u[i] });
                r[i] = draw(&truth.u[i]);
            }
            blocked.push(c);
            random.push(r);
        }
        let got = estimate(&[TrainingSet { pairs: blocked, learn: [true; 8] }], &random, &Parameters::default(), 100);
        assert!((got.prior - 0.2).abs() < 0.02, "prior {}", got.prior);
        for i in 0..8 {
            assert!((got.m[i][0] - 0.8).abs() < 0.05, "m[{i}] {:?}", got.m[i]);
            assert!((got.u[i][0] - truth.u[i][0]).abs() < 0.02, "u[{i}] {:?}", got.u[i]);
        }
    }
}
