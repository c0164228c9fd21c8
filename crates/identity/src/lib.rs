//! Who a submission is about: identifier systems, validation of Chinese identity documents, and
//! the first-cut person resolution (strong identifiers, else the institution's local id).

pub mod demographics;
pub mod documents;
pub mod gb11643;
pub mod health_code;
pub mod matching;
pub mod names;
pub mod resolve;
pub mod systems;

pub use resolve::{IdentifierFacts, Resolution, StrongIdentifier, resolve_person};
