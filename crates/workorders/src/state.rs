//! The states of a work order and who may move it.
//!
//! ```text
//! open ─accept→ accepted ─start→ in_progress ─resolve→ resolved ─confirm→ confirmed ─close→ closed
//!   └──────────────resolve──────────────┘          │                 (the raiser)
//!                                                   └─reopen→ reopened ─start/resolve→ …
//! ```
//! The handler (the level the order is assigned to) accepts, starts and resolves; whoever raised
//! it confirms or reopens; an operator may close at any point after resolution, and the system
//! closes confirmed orders.

use serde::{Deserialize, Serialize};

/// Where a work order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Raised, not yet taken up.
    Open,
    /// The handler has taken it.
    Accepted,
    /// Being worked on.
    InProgress,
    /// The handler says it is fixed (a correction linked, or an explanation).
    Resolved,
    /// The raiser agrees.
    Confirmed,
    /// The raiser does not agree: back to the handler.
    Reopened,
    /// Done.
    Closed,
}

impl State {
    /// The stored word.
    pub fn code(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Accepted => "accepted",
            State::InProgress => "in_progress",
            State::Resolved => "resolved",
            State::Confirmed => "confirmed",
            State::Reopened => "reopened",
            State::Closed => "closed",
        }
    }

    /// From the stored word.
    pub fn parse(s: &str) -> Option<State> {
        [State::Open, State::Accepted, State::InProgress, State::Resolved, State::Confirmed, State::Reopened, State::Closed]
            .into_iter()
            .find(|x| x.code() == s)
    }

    /// Chinese label for pages and the resident's progress view.
    pub fn label_zh(self) -> &'static str {
        match self {
            State::Open => "待受理",
            State::Accepted => "已受理",
            State::InProgress => "处理中",
            State::Resolved => "已处理待确认",
            State::Confirmed => "已确认",
            State::Reopened => "已退回重办",
            State::Closed => "已关闭",
        }
    }

    /// Whether the handler still owes work (the deadline runs).
    pub fn awaits_handler(self) -> bool {
        matches!(self, State::Open | State::Accepted | State::InProgress | State::Reopened)
    }
}

/// Who raised a work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A resident, about their own record (报告数据有误).
    Resident,
    /// The quality checks: a class of failures at one source.
    QualityCheck,
    /// An institution.
    Institution,
    /// A city or provincial operator.
    Operator,
}

impl Origin {
    /// The stored word.
    pub fn code(self) -> &'static str {
        match self {
            Origin::Resident => "resident",
            Origin::QualityCheck => "quality_check",
            Origin::Institution => "institution",
            Origin::Operator => "operator",
        }
    }

    /// From the stored word.
    pub fn parse(s: &str) -> Option<Origin> {
        [Origin::Resident, Origin::QualityCheck, Origin::Institution, Origin::Operator].into_iter().find(|o| o.code() == s)
    }
}

/// What someone does to a work order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// The handler takes it.
    Accept,
    /// The handler starts work.
    Start,
    /// The handler resolves it: the corrected entry (`Observation/42/_history/2`), or an
    /// explanation why nothing needed to change; at least one of them.
    Resolve { correction: Option<String>, explanation: Option<String> },
    /// The raiser agrees.
    Confirm,
    /// The raiser does not agree, and says why.
    Reopen { reason: String },
    /// An operator (or the system, after confirmation) closes it.
    Close,
}

impl Action {
    /// The stored word.
    pub fn code(&self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Start => "start",
            Action::Resolve { .. } => "resolve",
            Action::Confirm => "confirm",
            Action::Reopen { .. } => "reopen",
            Action::Close => "close",
        }
    }
}

/// How the actor stands to the work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// It is (a member of) the level the order is assigned to now.
    pub handler: bool,
    /// It raised the order.
    pub raiser: bool,
    /// It operates the platform above the handler (the city over an institution, the province
    /// over everyone).
    pub supervisor: bool,
}

/// A state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Before.
    pub from: State,
    /// After.
    pub to: State,
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkOrderError {
    /// Not allowed in this state (out of order).
    #[error("cannot {action} a work order that is {state}")]
    OutOfOrder { action: &'static str, state: &'static str },
    /// Not this actor's to do.
    #[error("only {who} may {action} this work order")]
    NotYours { action: &'static str, who: &'static str },
    /// Missing or bad content.
    #[error("{0}")]
    Invalid(&'static str),
}

/// The state after `action` by `actor` on an order in `state`.
pub fn apply(state: State, action: &Action, actor: Actor) -> Result<Transition, WorkOrderError> {
    use State::*;
    let code = action.code();
    let out_of_order = || WorkOrderError::OutOfOrder { action: code, state: state.code() };
    let handler = |to: State| {
        if actor.handler || actor.supervisor {
            Ok(to)
        } else {
            Err(WorkOrderError::NotYours { action: code, who: "the handler" })
        }
    };
    let to = match (action, state) {
        (Action::Accept, Open) => handler(Accepted)?,
        (Action::Start, Accepted | Reopened) => handler(InProgress)?,
        (Action::Resolve { correction, explanation }, Open | Accepted | InProgress | Reopened) => {
            let given = |s: &Option<String>| s.as_deref().is_some_and(|t| !t.trim().is_empty());
            if !given(correction) && !given(explanation) {
                return Err(WorkOrderError::Invalid("a resolution links the correction or explains why nothing changed"));
            }
            if explanation.as_deref().is_some_and(|e| e.chars().count() > 2000) {
                return Err(WorkOrderError::Invalid("an explanation has at most 2000 characters"));
            }
            handler(Resolved)?
        }
        (Action::Confirm, Resolved) if actor.raiser => Confirmed,
        (Action::Reopen { reason }, Resolved) if actor.raiser => {
            let n = reason.trim().chars().count();
            if !(2..=2000).contains(&n) {
                return Err(WorkOrderError::Invalid("say why it is reopened (2 to 2000 characters)"));
            }
            Reopened
        }
        (Action::Confirm | Action::Reopen { .. }, Resolved) => {
            return Err(WorkOrderError::NotYours { action: code, who: "whoever raised it" });
        }
        (Action::Close, Resolved | Confirmed) if actor.supervisor || (actor.raiser && state == Confirmed) => Closed,
        (Action::Close, Resolved | Confirmed) => return Err(WorkOrderError::NotYours { action: code, who: "an operator" }),
        _ => return Err(out_of_order()),
    };
    Ok(Transition { from: state, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HANDLER: Actor = Actor { handler: true, raiser: false, supervisor: false };
    const RAISER: Actor = Actor { handler: false, raiser: true, supervisor: false };
    const OPERATOR: Actor = Actor { handler: false, raiser: false, supervisor: true };
    const STRANGER: Actor = Actor { handler: false, raiser: false, supervisor: false };

    fn resolve() -> Action {
        Action::Resolve { correction: Some("Observation/42/_history/2".into()), explanation: None }
    }

    #[test]
    fn the_whole_way_and_back() {
        let mut s = State::Open;
        for (a, who) in [(Action::Accept, HANDLER), (Action::Start, HANDLER), (resolve(), HANDLER)] {
            s = apply(s, &a, who).unwrap().to;
        }
        assert_eq!(s, State::Resolved);
        s = apply(s, &Action::Reopen { reason: "数值仍然不对".into() }, RAISER).unwrap().to;
        assert_eq!(s, State::Reopened);
        s = apply(s, &Action::Start, HANDLER).unwrap().to;
        s = apply(s, &resolve(), HANDLER).unwrap().to;
        s = apply(s, &Action::Confirm, RAISER).unwrap().to;
        assert_eq!(apply(s, &Action::Close, RAISER).unwrap().to, State::Closed);
    }

    #[test]
    fn out_of_order_and_not_yours() {
        assert!(matches!(apply(State::Open, &Action::Confirm, RAISER), Err(WorkOrderError::OutOfOrder { .. })));
        assert!(matches!(apply(State::Closed, &Action::Accept, HANDLER), Err(WorkOrderError::OutOfOrder { .. })));
        assert!(matches!(apply(State::Open, &Action::Accept, STRANGER), Err(WorkOrderError::NotYours { .. })));
        assert!(matches!(apply(State::Open, &Action::Accept, RAISER), Err(WorkOrderError::NotYours { .. })));
        assert!(matches!(apply(State::Resolved, &Action::Confirm, HANDLER), Err(WorkOrderError::NotYours { .. })));
        assert!(matches!(apply(State::Resolved, &Action::Close, HANDLER), Err(WorkOrderError::NotYours { .. })));
        assert_eq!(apply(State::Resolved, &Action::Close, OPERATOR).unwrap().to, State::Closed);
        let empty = Action::Resolve { correction: None, explanation: Some("  ".into()) };
        assert!(matches!(apply(State::InProgress, &empty, HANDLER), Err(WorkOrderError::Invalid(_))));
        assert!(matches!(apply(State::Resolved, &Action::Reopen { reason: "".into() }, RAISER), Err(WorkOrderError::Invalid(_))));
        // A supervisor may act for the handler (an escalated order).
        assert_eq!(apply(State::Open, &Action::Accept, OPERATOR).unwrap().to, State::Accepted);
    }

    #[test]
    fn states_round_trip() {
        for s in
            [State::Open, State::Accepted, State::InProgress, State::Resolved, State::Confirmed, State::Reopened, State::Closed]
        {
            assert_eq!(State::parse(s.code()), Some(s));
            assert!(!s.label_zh().is_empty());
        }
    }
}
