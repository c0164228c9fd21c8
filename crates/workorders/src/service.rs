//! Work orders kept in the store: raising one (routed, with its deadline), acting on one (who
//! may, in which state, recorded as a step), and escalating the overdue ones. Every change is
//! one conditional write, so two people acting at once cannot both move an order.

use crate::routing::{Deadlines, Level, Route, escalate, route};
use crate::state::{Action, Actor, Origin, State, WorkOrderError, apply};
use std::sync::Arc;
use tongdang_core::{City, InstitutionCode, PersonId, Role, Timestamp};
use tongdang_store::{Store, StoreError, WorkOrderChange, WorkOrderRecord, WorkOrderStep};

const HOUR: i64 = 3_600_000_000;

/// Why a work-order operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Refused by the state machine.
    #[error(transparent)]
    Refused(#[from] WorkOrderError),
    /// No such order, or not the caller's to see.
    #[error("no such work order")]
    NotFound,
    /// The data source is not a registered institution.
    #[error("the data source is not a registered institution")]
    UnknownSource,
    /// Someone else moved it first.
    #[error("the work order changed meanwhile; read it again")]
    Conflict,
    /// An open quality-check order of the same source and rule exists.
    #[error("an open work order for this rule at this source exists already")]
    Duplicate,
    /// Bad content.
    #[error("{0}")]
    Invalid(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who is acting, as the work orders see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// Role.
    pub role: Role,
    /// `account:ID`, `institution:CODE key:PREFIX`, or `system`.
    pub actor: String,
    /// The account, for people.
    pub account: Option<i64>,
    /// The institution of the key or account.
    pub institution: Option<String>,
    /// For city operators: their city.
    pub city: Option<City>,
}

/// A new work order.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    /// Who raises it.
    pub origin: Origin,
    /// The data source that must fix it.
    pub source: InstitutionCode,
    /// The person whose record it is about.
    pub person: Option<PersonId>,
    /// The entry it is about.
    pub entry: Option<i64>,
    /// Or the period.
    pub period: Option<(Timestamp, Timestamp)>,
    /// The quality rule (quality-check orders).
    pub rule: Option<String>,
    /// Record category code.
    pub category: Option<i16>,
    /// Short title.
    pub title: String,
    /// What is wrong.
    pub description: String,
}

/// The work orders of the platform.
#[derive(Clone)]
pub struct WorkOrders {
    store: Arc<dyn Store>,
    deadlines: Deadlines,
}

impl WorkOrders {
    /// Over `store`, with these deadlines.
    pub fn new(store: Arc<dyn Store>, deadlines: Deadlines) -> WorkOrders {
        WorkOrders { store, deadlines }
    }

    /// The deadlines in force.
    pub fn deadlines(&self) -> Deadlines {
        self.deadlines
    }

    /// Raise an order: routed to the source, or to its fused city platform.
    pub async fn raise(&self, by: &Party, new: NewOrder, now: Timestamp) -> Result<WorkOrderRecord, ServiceError> {
        let title = new.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(ServiceError::Invalid("a title has 1 to 200 characters"));
        }
        if new.description.chars().count() > 4000 {
            return Err(ServiceError::Invalid("a description has at most 4000 characters"));
        }
        let source = self.store.institution(&new.source).await?.ok_or(ServiceError::UnknownSource)?;
        let Route { level, assignee } = route(&source);
        let state = State::Open;
        let order = WorkOrderRecord {
            origin: new.origin.code().into(),
            raised_by: by.actor.clone(),
            raiser_account: by.account,
            raiser_institution: by
                .institution
                .clone()
                .filter(|_| matches!(by.role, Role::InstitutionAdmin | Role::InstitutionSystem | Role::Clinician)),
            person: new.person,
            source: source.code.as_str().to_string(),
            city: source.city.code().to_string(),
            entry: new.entry,
            period_from: new.period.map(|p| p.0),
            period_to: new.period.map(|p| p.1),
            rule: new.rule,
            category: new.category,
            level: level.code().into(),
            assignee: assignee.clone(),
            state: state.code().into(),
            title: title.to_string(),
            description: new.description.trim().to_string(),
            due_at: Timestamp(now.0 + self.deadlines.hours(level) * HOUR),
            created_at: now,
            updated_at: now,
            ..Default::default()
        };
        let step = WorkOrderStep {
            at: now,
            actor: by.actor.clone(),
            action: "raise".into(),
            to_state: state.code().into(),
            level: level.code().into(),
            assignee,
            ..Default::default()
        };
        let id = self.store.insert_work_order(&order, &step).await?.ok_or(ServiceError::Duplicate)?;
        self.store.work_order(id).await?.ok_or(ServiceError::NotFound)
    }

    /// How `party` stands to `order`.
    pub fn standing(&self, party: &Party, order: &WorkOrderRecord) -> Actor {
        let level = Level::parse(&order.level).unwrap_or(Level::Province);
        let same_city = party.city.is_some_and(|c| c.code() == order.city);
        let handler = match level {
            Level::Institution => {
                matches!(party.role, Role::InstitutionAdmin | Role::InstitutionSystem)
                    && party.institution.as_deref() == Some(order.assignee.as_str())
            }
            Level::City => party.role == Role::CityOperator && same_city,
            Level::Province => party.role == Role::ProvincialOperator,
        };
        let raiser = match (party.account, order.raiser_account) {
            (Some(a), Some(b)) => a == b,
            _ => {
                party.actor == order.raised_by
                    || (party.role == Role::InstitutionSystem
                        && order.raiser_institution == party.institution
                        && order.raiser_account.is_none())
            }
        };
        let supervisor = party.role == Role::ProvincialOperator
            || (party.role == Role::CityOperator && same_city && level == Level::Institution);
        Actor { handler, raiser, supervisor }
    }

    /// Whether `party` may see `order` at all.
    pub fn may_see(&self, party: &Party, order: &WorkOrderRecord) -> bool {
        let a = self.standing(party, order);
        a.handler
            || a.raiser
            || a.supervisor
            || party.role == Role::Auditor
            || (party.role == Role::CityOperator && party.city.is_some_and(|c| c.code() == order.city))
            || (matches!(party.role, Role::InstitutionAdmin | Role::InstitutionSystem)
                && party
                    .institution
                    .as_deref()
                    .is_some_and(|i| i == order.source || order.raiser_institution.as_deref() == Some(i)))
    }

    /// Act on an order.
    pub async fn act(&self, party: &Party, id: i64, action: Action, now: Timestamp) -> Result<WorkOrderRecord, ServiceError> {
        let order = self.store.work_order(id).await?.ok_or(ServiceError::NotFound)?;
        if !self.may_see(party, &order) {
            return Err(ServiceError::NotFound);
        }
        let state = State::parse(&order.state).ok_or(ServiceError::Invalid("the order has an unknown state"))?;
        let transition = apply(state, &action, self.standing(party, &order))?;
        let mut after = order.clone();
        after.state = transition.to.code().into();
        after.updated_at = now;
        let mut note = String::new();
        match &action {
            Action::Resolve { correction, explanation } => {
                after.correction = correction.clone().filter(|c| !c.trim().is_empty());
                after.explanation = explanation.clone().unwrap_or_default();
                after.resolved_at = Some(now);
                note = after.explanation.clone();
            }
            Action::Reopen { reason } => {
                after.reopen_count += 1;
                // Not resolved any more: reports count it as open until it is resolved again.
                after.resolved_at = None;
                // The handler's time starts again.
                let level = Level::parse(&order.level).unwrap_or(Level::Province);
                after.due_at = Timestamp(now.0 + self.deadlines.hours(level) * HOUR);
                note = reason.trim().to_string();
            }
            Action::Close => after.closed_at = Some(now),
            _ => {}
        }
        let step = WorkOrderStep {
            at: now,
            actor: party.actor.clone(),
            action: action.code().into(),
            from_state: Some(order.state.clone()),
            to_state: after.state.clone(),
            level: after.level.clone(),
            assignee: after.assignee.clone(),
            note,
            ..Default::default()
        };
        let change = WorkOrderChange { id, expected_state: order.state.clone(), after, step };
        if !self.store.change_work_order(&change).await? {
            return Err(ServiceError::Conflict);
        }
        // A confirmed order needs nothing more: the system closes it.
        if transition.to == State::Confirmed {
            let confirmed = self.store.work_order(id).await?.ok_or(ServiceError::NotFound)?;
            let mut closed = confirmed.clone();
            closed.state = State::Closed.code().into();
            closed.closed_at = Some(now);
            let step = WorkOrderStep {
                at: now,
                actor: "system".into(),
                action: "close".into(),
                from_state: Some(confirmed.state.clone()),
                to_state: closed.state.clone(),
                level: closed.level.clone(),
                assignee: closed.assignee.clone(),
                ..Default::default()
            };
            self.store.change_work_order(&WorkOrderChange { id, expected_state: confirmed.state, after: closed, step }).await?;
        }
        self.store.work_order(id).await?.ok_or(ServiceError::NotFound)
    }

    /// Raise a quality-check order for each source with at least `min` open returns failing the
    /// same rules (a class of failures, not one order per item); an open order for that source and
    /// rule is left as it is. Returns how many were raised.
    pub async fn raise_from_returns(&self, min: i64, now: Timestamp) -> Result<usize, ServiceError> {
        let system =
            Party { role: Role::ProvincialOperator, actor: "system".into(), account: None, institution: None, city: None };
        let mut raised = 0;
        for (institution, rules, count) in self.store.return_clusters(min).await? {
            let Some(rule) = rules.split_whitespace().next() else { continue };
            let Ok(source) = InstitutionCode::new(&institution) else { continue };
            let new = NewOrder {
                origin: Origin::QualityCheck,
                source,
                person: None,
                entry: None,
                period: None,
                rule: Some(rule.to_string()),
                category: None,
                title: format!("质控规则{rule}未通过：{count}条数据待更正"),
                description: format!(
                    "该机构有{count}条上报数据因质控规则{rules}被退回且尚未更正，请查看退回清单（/api/v1/returns?status=open&rule={rule}）并重新上报。"
                ),
            };
            match self.raise(&system, new, now).await {
                Ok(_) => raised += 1,
                Err(ServiceError::Duplicate | ServiceError::UnknownSource) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(raised)
    }

    /// Move every order whose handler's time ran out at `now` one level up (institution → city →
    /// province); returns how many moved.
    pub async fn escalate_overdue(&self, now: Timestamp) -> Result<usize, ServiceError> {
        let mut moved = 0;
        for order in self.store.overdue_work_orders(now, 500).await? {
            let level = Level::parse(&order.level).unwrap_or(Level::Province);
            let source = match InstitutionCode::new(&order.source) {
                Ok(code) => self.store.institution(&code).await?,
                Err(_) => None,
            };
            let current = Route { level, assignee: order.assignee.clone() };
            let Some(next) = escalate(&current, source.as_ref()) else { continue };
            let mut after = order.clone();
            after.level = next.level.code().into();
            after.assignee = next.assignee.clone();
            after.escalations += 1;
            after.updated_at = now;
            after.due_at = Timestamp(now.0 + self.deadlines.hours(next.level) * HOUR);
            let step = WorkOrderStep {
                at: now,
                actor: "system".into(),
                action: "escalate".into(),
                from_state: Some(order.state.clone()),
                to_state: order.state.clone(),
                level: after.level.clone(),
                assignee: after.assignee.clone(),
                note: format!("{}超时未办结，升级至{}", level_zh(level), level_zh(next.level)),
                ..Default::default()
            };
            if self
                .store
                .change_work_order(&WorkOrderChange { id: order.id, expected_state: order.state.clone(), after, step })
                .await?
            {
                moved += 1;
            }
        }
        Ok(moved)
    }
}

fn level_zh(level: Level) -> &'static str {
    match level {
        Level::Institution => "机构",
        Level::City => "市级平台",
        Level::Province => "省级平台",
    }
}
