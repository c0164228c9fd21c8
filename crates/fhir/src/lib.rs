//! FHIR R4 as Tongdang uses it. A submitted resource is parsed once into a JSON tree, validated
//! structurally against R4 (every problem reported with its element path), classified into a
//! record category, and its few indexed fields extracted. The stored form is the same tree with
//! the platform's ids and references written in. `fhirkit` stays behind this crate.

pub mod bundle;
pub mod capability;
pub mod digest;
pub mod kind;
pub mod node;
pub mod outcome;
pub mod parse;
pub mod patient;
pub mod reference;
pub mod template;

pub use kind::{ResourceKind, classify};
pub use node::Node;
pub use outcome::{Issue, IssueCode, Severity};
pub use parse::{ParsedResource, parse_resource};
pub use reference::{Reference, ReferenceSite};
pub use template::Template;
