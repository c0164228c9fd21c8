//! Rows of work orders (工单) and their steps. Free text — title, description, explanations,
//! notes — is sealed by the protected store: a resident describing what is wrong with their record
//! may name themselves or others.

use tongdang_core::{PersonId, Timestamp};

/// A work order as stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkOrderRecord {
    /// Platform id (0 before it is written).
    pub id: i64,
    /// `resident`, `quality_check`, `institution` or `operator`.
    pub origin: String,
    /// The actor who raised it (`account:ID`, `institution:CODE key:PREFIX`, `system`).
    pub raised_by: String,
    /// The raiser's account, when a person raised it.
    pub raiser_account: Option<i64>,
    /// The raiser's institution, when an institution or its staff raised it.
    pub raiser_institution: Option<String>,
    /// The person whose record it is about, if any.
    pub person: Option<PersonId>,
    /// The data source that must fix it.
    pub source: String,
    /// The source's city code.
    pub city: String,
    /// The entry it is about, if one.
    pub entry: Option<i64>,
    /// Or the period it is about.
    pub period_from: Option<Timestamp>,
    /// End of that period.
    pub period_to: Option<Timestamp>,
    /// The quality rule, for quality-check orders.
    pub rule: Option<String>,
    /// Record category code, if known.
    pub category: Option<i16>,
    /// `institution`, `city` or `province`.
    pub level: String,
    /// Who at that level (an institution code, a city code, `province`).
    pub assignee: String,
    /// State word.
    pub state: String,
    /// Title (opened; sealed below the protected store).
    pub title: String,
    /// Description (opened).
    pub description: String,
    /// The handler's explanation, when resolved (opened).
    pub explanation: String,
    /// The sealed text, as stored (empty above the protected store).
    pub sealed: Vec<u8>,
    /// The linked correction, e.g. `Observation/42/_history/2`.
    pub correction: Option<String>,
    /// When the current handler's time runs out.
    pub due_at: Timestamp,
    /// Raised.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// Last resolved.
    pub resolved_at: Option<Timestamp>,
    /// Closed.
    pub closed_at: Option<Timestamp>,
    /// Times reopened.
    pub reopen_count: i32,
    /// Times escalated.
    pub escalations: i32,
}

/// One step in a work order's life.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkOrderStep {
    /// Platform id.
    pub id: i64,
    /// The order.
    pub order: i64,
    /// When.
    pub at: Timestamp,
    /// Who (`system` for escalations and automatic closing).
    pub actor: String,
    /// `raise`, `accept`, `start`, `resolve`, `confirm`, `reopen`, `close`, `escalate`.
    pub action: String,
    /// State before (none when raised).
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Level after.
    pub level: String,
    /// Assignee after.
    pub assignee: String,
    /// A note (a reason, an explanation); opened above the protected store.
    pub note: String,
    /// The sealed note, as stored.
    pub sealed: Option<Vec<u8>>,
}

/// A change to a work order, applied only if it is still in `expected_state` (so two people
/// acting at once cannot both move it).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkOrderChange {
    /// The order.
    pub id: i64,
    /// Its state as the actor saw it.
    pub expected_state: String,
    /// The order after the change (state, level, assignee, due, correction, text, times, counts).
    pub after: WorkOrderRecord,
    /// The step recorded with it.
    pub step: WorkOrderStep,
}

/// Which work orders to list; the conditions add up.
#[derive(Debug, Clone, Default)]
pub struct WorkOrderFilter {
    /// Raised by this account.
    pub raiser_account: Option<i64>,
    /// About this institution's data, or raised by it.
    pub institution: Option<String>,
    /// Of sources in this city.
    pub city: Option<String>,
    /// Assigned to this level and assignee.
    pub assigned: Option<(String, String)>,
    /// In this state.
    pub state: Option<String>,
    /// About this person.
    pub person: Option<PersonId>,
    /// Page: ids below this.
    pub before: Option<i64>,
    /// Page size.
    pub limit: u32,
}
