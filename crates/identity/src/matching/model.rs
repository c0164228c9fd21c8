//! Fellegi–Sunter parameters: for every field and level, m (the probability of that level
//! among pairs of one person) and u (among pairs of different persons found by blocking); a
//! pair's weight is the sum of log2(m/u) over its known fields.

use super::compare::{Comparison, FIELDS, MISSING};
use serde::{Deserialize, Serialize};

/// The model used to score pairs, with the thresholds of the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    /// m probabilities per field and level.
    pub m: Vec<Vec<f64>>,
    /// u probabilities per field and level.
    pub u: Vec<Vec<f64>>,
    /// Share of candidate pairs that are one person (EM's estimate; for `$match` scores).
    pub prior: f64,
    /// A weight at or above this links.
    pub link_threshold: f64,
    /// A weight at or above this (and below the link threshold) goes to review.
    pub review_threshold: f64,
    /// Where the figures come from: `default` or `em`.
    pub source: String,
    /// Candidate pairs the estimate used (0 for the defaults).
    pub pairs: u64,
    /// Identifier systems whose numbers each belong to one person (a deployment's social
    /// security card, say), which may settle the name rules as passports and birth certificates
    /// do. Other unknown systems only add weight: a household or insurance number may be shared.
    #[serde(default)]
    pub personal_systems: Vec<String>,
}

impl Default for Parameters {
    /// Hand-set starting values for a Chinese population, used until an estimate from the data
    /// replaces them. u is among random pairs of residents (a shared birth date is about 1 in
    /// 27,000; a shared full given name about 1 in 500), m allows for typos and change.
    fn default() -> Parameters {
        let m = vec![
            vec![0.9, 0.04, 0.04, 0.02],
            vec![0.85, 0.06, 0.05, 0.04],
            vec![0.92, 0.02, 0.04, 0.02],
            vec![0.98, 0.02],
            vec![0.75, 0.25],
            vec![0.5, 0.25, 0.15, 0.1],
            vec![0.88, 0.04, 0.08],
            vec![0.95, 0.05],
        ];
        let u = vec![
            vec![0.02, 0.005, 0.02, 0.955],
            vec![0.002, 0.001, 0.01, 0.987],
            vec![0.00005, 0.00005, 0.002, 0.9979],
            vec![0.5, 0.5],
            vec![0.0001, 0.9999],
            vec![0.0005, 0.01, 0.05, 0.9395],
            vec![0.00001, 0.0001, 0.99989],
            vec![0.001, 0.999],
        ];
        Parameters {
            m,
            u,
            prior: 0.5,
            link_threshold: 26.0,
            review_threshold: 12.0,
            source: "default".into(),
            pairs: 0,
            personal_systems: Vec::new(),
        }
    }
}

impl Parameters {
    /// The weight (log2 likelihood ratio) of a comparison.
    pub fn weight(&self, c: &Comparison) -> f64 {
        FIELDS
            .iter()
            .enumerate()
            .filter(|(i, _)| c[*i] != MISSING)
            .map(|(i, _)| {
                let l = c[i] as usize;
                (self.m[i][l] / self.u[i][l]).log2()
            })
            .sum()
    }

    /// Whether the shape matches the fields and levels of this build.
    pub fn is_valid(&self) -> bool {
        self.m.len() == FIELDS.len()
            && self.u.len() == FIELDS.len()
            && FIELDS.iter().enumerate().all(|(i, f)| {
                self.m[i].len() == f.levels()
                    && self.u[i].len() == f.levels()
                    && self.m[i].iter().chain(&self.u[i]).all(|p| p.is_finite() && *p > 0.0 && *p <= 1.0)
            })
            && self.review_threshold.is_finite()
            && self.link_threshold.is_finite()
            && self.review_threshold <= self.link_threshold
            && self.prior > 0.0
            && self.prior < 1.0
    }
}
