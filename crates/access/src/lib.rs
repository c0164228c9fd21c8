//! The read path. Every read of a record — FHIR read and search, `$everything`, the timeline —
//! is a method of [`RecordReader`], and each method asks the one [`policy`] decision point
//! first. Handlers never read entries from the store themselves.

pub mod audit;
pub mod credential;
pub mod cursor;
mod index;
pub mod patient;
pub mod policy;
mod reader;
pub mod signin;

pub use index::{DemographicQuery, MatchResult, ReviewSide, ReviewView, UnselectiveQuery};
pub use policy::{Categories, Decision, DenyReason, Disclosure, Policy, Requester};
pub use reader::{AccessError, Everything, RecordReader, TimelineFilter, TimelinePage};
