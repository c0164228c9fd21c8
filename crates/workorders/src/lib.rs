//! Work orders (工单处理): a problem raised by a resident, a quality check, an institution or an
//! operator, routed to the data source that must fix it (or to its city's platform when that
//! source connects through a fused city platform), moved through its states by the people allowed
//! to, and escalated to the city and then the province when a deadline passes. `state` and
//! `routing` are pure; `service` keeps them in the store (through the `Store` trait).

mod routing;
mod service;
mod state;

pub use routing::{Deadlines, Level, Route, escalate, route};
pub use service::{NewOrder, Party, ServiceError, WorkOrders};
pub use state::{Action, Actor, Origin, State, Transition, WorkOrderError, apply};
