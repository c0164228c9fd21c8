//! Probabilistic record linkage (Fellegi–Sunter) on normalized demographics: blocking keys
//! that keep candidate sets small, a comparison vector per pair, weights from m/u
//! probabilities (hand-set defaults, re-estimated from the data by EM), and the decision
//! between link, possible match (review) and new person, with the rules no score may override.

pub mod blocking;
pub mod compare;
pub mod decide;
pub mod em;
pub mod model;

pub use blocking::{BlockKey, KeyKind, index_keys, pair_keys_by_kind, query_keys, search_key};
pub use compare::{Comparison, FIELDS, Field, MISSING, compare, conflict};
pub use decide::{Candidate, Decision, MatchOutcome, ScoredPerson, decide};
pub use em::{TrainingSet, estimate, u_from_random};
pub use model::Parameters;
