//! Data governance (质控): quality rules kept as data — each with an id, a category, a severity
//! and a Chinese description — and the checks that run them on a submitted resource. No I/O:
//! the ingest pipeline calls [`RuleSet::check`] and decides what becomes a return.

mod check;
pub mod path;
mod rule;
pub mod valuesets;

pub use check::{Context, Finding, Sex};
pub use rule::{Rule, RuleKind, RuleSet, RuleSetError, Severity, Trial};
