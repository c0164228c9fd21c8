//! The read path. Every read of a record — FHIR read and search, `$everything`, the timeline —
//! is a method of [`RecordReader`], and each method asks the one [`policy`] decision point
//! first. Handlers never read entries from the store themselves.

pub mod audit;
pub mod authorize;
pub mod channels;
pub mod clock;
pub mod credential;
pub mod cursor;
pub mod fhir_views;
pub mod grant;
pub mod history;
mod index;
pub mod notify;
pub mod patient;
pub mod policy;
mod reader;
pub mod signin;

pub use index::{DemographicQuery, MatchResult, ReviewSide, ReviewView, UnselectiveQuery};
pub use policy::{Basis, Categories, Decision, DenyReason, Disclosure, Policy, Requester};
pub use reader::{AccessError, Everything, RecordReader, TimelineFilter, TimelinePage};
