//! Domain types shared by every Tongdang crate. Nothing here performs I/O.

#[macro_use]
mod vocabulary;

pub mod category;
pub mod id;
pub mod institution;
pub mod role;
pub mod timestamp;

pub use category::Category;
pub use id::{EntryId, PersonId};
pub use institution::{City, ConnectionMode, Institution, InstitutionCode, InstitutionKind, Level, Ownership, Scope};
pub use role::Role;
pub use timestamp::Timestamp;
