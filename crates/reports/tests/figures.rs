//! The work-order figures a report scores, from real orders moved through their states at chosen
//! times (µs timestamps, as the store keeps them), on SQLite and PostgreSQL: handling time in
//! hours, what falls due in a month, lateness, reopening, and a past month judged as it ended.

use std::sync::Arc;
use tongdang_core::{Institution, InstitutionCode, Role, Timestamp};
use tongdang_reports::Period;
use tongdang_reports::score::HandlingScore;
use tongdang_store::{ProtectedStore, Store};
use tongdang_workorders::{Action, Deadlines, NewOrder, Origin, Party, WorkOrders};

const SOURCE: &str = "12440100MB1234567X";
const HOUR: i64 = 3_600_000_000;

fn at(period: &str, days: i64, hours: i64) -> Timestamp {
    let p: Period = period.parse().unwrap();
    Timestamp(p.start().0 + days * 24 * HOUR + hours * HOUR)
}

async fn figures_follow_the_orders_through_the_month(store: Arc<ProtectedStore>) {
    store
        .upsert_institution(&Institution {
            code: InstitutionCode::new(SOURCE).unwrap(),
            name: "测试医院".into(),
            city: tongdang_core::City::Guangzhou,
            level: tongdang_core::Level::TertiaryA,
            ownership: tongdang_core::Ownership::Public,
            kind: tongdang_core::InstitutionKind::Hospital,
            connection: tongdang_core::ConnectionMode::Direct,
        })
        .await
        .unwrap();
    let orders = WorkOrders::new(store.clone(), Deadlines::default());
    let operator =
        Party { role: Role::ProvincialOperator, actor: "account:1".into(), account: Some(1), institution: None, city: None };
    let hospital = Party {
        role: Role::InstitutionSystem,
        actor: "institution:x".into(),
        account: None,
        institution: Some(SOURCE.into()),
        city: None,
    };
    let raise = |when: Timestamp, n: u32| {
        let orders = &orders;
        let operator = &operator;
        async move {
            let new = NewOrder {
                origin: Origin::Operator,
                source: InstitutionCode::new(SOURCE).unwrap(),
                person: None,
                entry: None,
                period: None,
                rule: None,
                category: None,
                title: format!("工单 {n}"),
                description: String::new(),
            };
            orders.raise(operator, new, when).await.unwrap().id
        }
    };
    let resolve = Action::Resolve { correction: None, explanation: Some("已更正".into()) };
    // 1: resolved in 12 h. 2: resolved after 120 h (its deadline is 72 h): late.
    let o1 = raise(at("2024-10", 0, 1), 1).await;
    orders.act(&hospital, o1, resolve.clone(), at("2024-10", 0, 13)).await.unwrap();
    let o2 = raise(at("2024-10", 9, 0), 2).await;
    orders.act(&hospital, o2, resolve.clone(), at("2024-10", 14, 0)).await.unwrap();
    // 3: raised on the 30th, due in November: not due in October.
    raise(at("2024-10", 29, 0), 3).await;
    // 4: raised on the 5th, never handled: due and overdue.
    raise(at("2024-10", 4, 0), 4).await;
    // 5: resolved, then reopened and left: unresolved at the month's end, overdue.
    let o5 = raise(at("2024-10", 19, 0), 5).await;
    orders.act(&hospital, o5, resolve.clone(), at("2024-10", 20, 0)).await.unwrap();
    orders.act(&operator, o5, Action::Reopen { reason: "仍然有误".into() }, at("2024-10", 21, 0)).await.unwrap();
    // 6: raised in September, overdue through October, resolved in November.
    let o6 = raise(at("2024-09", 24, 0), 6).await;
    orders.act(&hospital, o6, resolve.clone(), at("2024-11", 2, 0)).await.unwrap();

    let october: Period = "2024-10".parse().unwrap();
    let stats = store.work_order_stats(october.start(), october.end()).await.unwrap();
    assert_eq!(stats.len(), 1);
    let s = &stats[0];
    assert_eq!((s.opened, s.resolved, s.reopened), (5, 2, 0), "{s:?}");
    assert_eq!(s.handling_seconds, (12 + 120) * 3600, "handling is summed in seconds");
    assert_eq!((s.due, s.overdue), (5, 4), "3 is not due yet; 2 was late; 4, 5 and 6 are unresolved past their deadline");
    let h = HandlingScore::of(s);
    assert_eq!(h.mean_hours, Some(66.0));
    assert!((h.score - 100.0 * (0.4 * (168.0 - 66.0) / 144.0 + 0.4 * 0.2 + 0.2)).abs() < 1e-9, "{h:?}");

    // November: 6 resolved late; 5 still open and overdue; 3 due on 1 November and never handled.
    let november: Period = "2024-11".parse().unwrap();
    let s = &store.work_order_stats(november.start(), november.end()).await.unwrap()[0];
    assert_eq!((s.opened, s.resolved, s.due, s.overdue), (0, 1, 4, 4), "{s:?}");
    // September as it ended: 6 was open and not yet due.
    let september: Period = "2024-09".parse().unwrap();
    let s = &store.work_order_stats(september.start(), september.end()).await.unwrap()[0];
    assert_eq!((s.opened, s.resolved, s.due, s.overdue), (1, 0, 1, 1), "{s:?}");
}

tongdang_testkit::backend_tests!(figures_follow_the_orders_through_the_month);
