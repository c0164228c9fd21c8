//! Estimating m and u from unlabeled candidate pairs by expectation–maximization over the
//! two-class mixture (one person / different persons), fields independent given the class.
//! Identical comparison vectors are counted once, so millions of pairs cost a few patterns.

use super::compare::{Comparison, FIELDS, MISSING};
use super::model::Parameters;
use std::collections::HashMap;

const FLOOR: f64 = 1e-4;

/// Estimate the parameters from candidate pairs, starting from `start` (whose thresholds are kept).
pub fn estimate(pairs: &[Comparison], start: &Parameters, iterations: usize) -> Parameters {
    let mut patterns: HashMap<Comparison, f64> = HashMap::new();
    for c in pairs {
        *patterns.entry(*c).or_default() += 1.0;
    }
    let patterns: Vec<(Comparison, f64)> = patterns.into_iter().collect();
    let mut p = start.clone();
    if patterns.is_empty() {
        return p;
    }
    for _ in 0..iterations {
        let mut m_num: Vec<Vec<f64>> = FIELDS.iter().map(|f| vec![0.0; f.levels()]).collect();
        let mut u_num = m_num.clone();
        let (mut matches, mut total) = (0.0, 0.0);
        for (c, n) in &patterns {
            let (mut lm, mut lu) = (p.prior.ln(), (1.0 - p.prior).ln());
            for (i, &l) in c.iter().enumerate() {
                if l != MISSING {
                    lm += p.m[i][l as usize].ln();
                    lu += p.u[i][l as usize].ln();
                }
            }
            let g = 1.0 / (1.0 + (lu - lm).exp());
            matches += g * n;
            total += n;
            for (i, &l) in c.iter().enumerate() {
                if l != MISSING {
                    m_num[i][l as usize] += g * n;
                    u_num[i][l as usize] += (1.0 - g) * n;
                }
            }
        }
        let normalize = |v: &mut Vec<f64>, fallback: &Vec<f64>| {
            let s: f64 = v.iter().sum();
            if s <= 0.0 {
                v.clone_from(fallback);
                return;
            }
            for x in v.iter_mut() {
                *x = (*x / s).max(FLOOR);
            }
            let s: f64 = v.iter().sum();
            for x in v.iter_mut() {
                *x /= s;
            }
        };
        for i in 0..FIELDS.len() {
            normalize(&mut m_num[i], &p.m[i]);
            normalize(&mut u_num[i], &p.u[i]);
        }
        p.m = m_num;
        p.u = u_num;
        p.prior = (matches / total).clamp(FLOOR, 1.0 - FLOOR);
    }
    // Agreement must not count against a match: keep each field's best level at least as
    // likely among matches as among non-matches (EM can swap the classes on a weak field).
    for i in 0..FIELDS.len() {
        if p.m[i][0] < p.u[i][0] {
            p.m[i].clone_from(&start.m[i]);
            p.u[i].clone_from(&start.u[i]);
        }
    }
    p.source = "em".into();
    p.pairs = pairs.len() as u64;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs drawn from known m and u: EM recovers them closely.
    #[test]
    fn recovers_known_parameters() {
        let truth = Parameters::default();
        let mut pairs = Vec::new();
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let draw = |probs: &Vec<f64>, r: f64| {
            let mut acc = 0.0;
            for (l, p) in probs.iter().enumerate() {
                acc += p;
                if r < acc {
                    return l as u8;
                }
            }
            (probs.len() - 1) as u8
        };
        for k in 0..40_000 {
            let is_match = k % 5 == 0;
            let mut c = [0u8; 8];
            for (i, slot) in c.iter_mut().enumerate() {
                let probs = if is_match { &truth.m[i] } else { &truth.u[i] };
                *slot = draw(probs, next());
            }
            pairs.push(c);
        }
        let mut start = Parameters::default();
        for i in 0..FIELDS.len() {
            let n = start.m[i].len() as f64;
            start.m[i] = (0..start.m[i].len()).map(|l| if l == 0 { 0.7 } else { 0.3 / (n - 1.0) }).collect();
            start.u[i] = vec![1.0 / n; start.u[i].len()];
        }
        start.prior = 0.5;
        let got = estimate(&pairs, &start, 200);
        assert!((got.prior - 0.2).abs() < 0.02, "prior {}", got.prior);
        for i in [0, 1, 2, 4] {
            assert!((got.m[i][0] - truth.m[i][0]).abs() < 0.05, "m[{i}] {:?}", got.m[i]);
            assert!((got.u[i][0] - truth.u[i][0]).abs() < 0.03, "u[{i}] {:?}", got.u[i]);
        }
    }
}
