//! The HTTP server end to end: the whole application served on a free port over a fresh store,
//! driven with a real HTTP client. Every test runs on SQLite and on PostgreSQL
//! (`tongdang_testkit::backend_tests!`, one invocation per module).

mod common;

mod auth;
mod browser;
mod bundle;
mod fhir_write;
mod governance;
mod grants;
mod identity;
mod ingest;
mod monitoring;
mod protection;
mod read;
mod reports;
mod review;
mod tls;
mod workorders;
