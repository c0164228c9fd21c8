//! Data governance (质控): quality rules kept as data — each with an id, a category, a severity
//! and a Chinese description — and the checks that run them on a submitted resource. No I/O:
//! the ingest pipeline calls [`RuleSet::check_alone`] while preparing an item and
//! [`RuleSet::judge`] once its person is known, and decides what becomes a return.

mod check;
pub mod path;
pub mod reconcile;
mod rule;
pub mod valuesets;

pub use check::{Context, Finding, Probe, Sex};
pub use rule::{Dimension, Rule, RuleKind, RuleSet, RuleSetError, Severity, Trial};
