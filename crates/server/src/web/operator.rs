//! The operators' portal (运营端, city and province; auditors read it too): a dashboard with
//! charts drawn by the program (submission volume, acceptance and timeliness by city, work
//! orders by state, roll-out against the milestones), institutions and their roll-out status,
//! work orders, evaluation reports to generate and download, emergency accesses, and the
//! ledger's latest checkpoint. A city operator sees its city.

use super::{Page, error_page, render, short_time, unavailable};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use minijinja::context;
use minijinja::value::Serde;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use tongdang_core::{City, Role, Timestamp};
use tongdang_reports::chart;
use tongdang_reports::model::city_of;
use tongdang_store::{GrantFilter, QualityCounts, WorkOrderFilter};

pub(crate) fn router() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/operator", get(dashboard))
        .route("/operator/institutions", get(institutions))
        .route("/operator/work-orders", get(work_orders))
        .route("/operator/reports", get(reports))
        .route("/operator/emergencies", get(emergencies))
        .route("/operator/ledger", get(ledger))
}

/// `None` for the province and auditors, a city operator's city.
async fn scope(state: &AppState, page: &Page) -> Result<Option<City>, Box<Response>> {
    if !matches!(page.caller.role, Role::ProvincialOperator | Role::CityOperator | Role::Auditor) {
        return Err(Box::new(error_page(page, StatusCode::FORBIDDEN, "这里是运营端，供省、市运营人员和审计人员使用。")));
    }
    crate::api_reports::operator_city(state, &page.caller)
        .await
        .map_err(|_| Box::new(error_page(page, StatusCode::FORBIDDEN, "您的账号没有关联市级平台。")))
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (whole - part) as f64 / whole as f64)
}

async fn dashboard(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let city = match scope(&state, &page).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let now = Timestamp::now();
    let (from, to) = (Timestamp(now.0 - 29 * 86_400_000_000).cst_day(), now.cst_day());
    let (rollups, states, rollout) = match tokio::try_join!(
        async { state.store.quality_rollups(from, to).await.map_err(|e| e.to_string()) },
        async {
            // A city operator counts its city's orders; the province all of them.
            match city {
                None => state.store.work_order_counts().await.map_err(|e| e.to_string()),
                Some(c) => {
                    let filter = WorkOrderFilter { city: Some(c.code().to_string()), limit: 100_000, ..Default::default() };
                    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
                    for o in state.store.work_orders(&filter).await.map_err(|e| e.to_string())? {
                        *counts.entry(o.state).or_default() += 1;
                    }
                    Ok(counts.into_iter().collect())
                }
            }
        },
        async { crate::api_reports::rollout_of(&state, city).await.map_err(|e| format!("{e:?}")) },
    ) {
        Ok(x) => x,
        Err(e) => return unavailable(&page, &e),
    };
    let rollups: Vec<&QualityCounts> = rollups.iter().filter(|r| city.is_none_or(|c| city_of(&r.city) == Some(c))).collect();
    // Volume per day, and quality per city, over the last 30 days.
    let mut by_day: BTreeMap<i32, i64> = BTreeMap::new();
    for back in (0..30).rev() {
        by_day.insert(Timestamp(now.0 - back * 86_400_000_000).cst_day(), 0);
    }
    let mut by_city: BTreeMap<City, QualityCounts> = BTreeMap::new();
    let mut total = QualityCounts::default();
    for r in &rollups {
        *by_day.entry(r.day).or_default() += r.received;
        if let Some(c) = city_of(&r.city) {
            by_city.entry(c).or_default().add(r);
        }
        total.add(r);
    }
    let labels: Vec<String> = by_day.keys().map(|d| format!("{}/{}", d / 100 % 100, d % 100)).collect();
    let volumes: Vec<i64> = by_day.values().copied().collect();
    let cities: Vec<City> = match city {
        Some(c) => vec![c],
        None => City::ALL.to_vec(),
    };
    let acceptance: Vec<(String, Option<f64>)> = cities
        .iter()
        .map(|c| {
            (c.label_zh().to_string(), by_city.get(c).and_then(|q| share(q.received - q.accepted, q.received)).map(|v| v * 100.0))
        })
        .collect();
    let timeliness: Vec<(String, Option<f64>)> = cities
        .iter()
        .map(|c| (c.label_zh().to_string(), by_city.get(c).and_then(|q| share(q.late, q.received)).map(|v| v * 100.0)))
        .collect();
    let state_labels: Vec<(String, i64)> = states
        .into_iter()
        .map(|(s, n)| (tongdang_workorders::State::parse(&s).map_or(s.clone(), |st| st.label_zh().to_string()), n))
        .collect();
    let charts = [
        chart::volume_chart("近30天每日上报量", &labels, &volumes),
        chart::volume_chart(
            "工单（按状态）",
            &state_labels.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>(),
            &state_labels.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        ),
        chart::bar_chart("各地市接收率（%，近30天）", &acceptance),
        chart::bar_chart("各地市及时性（%，近30天）", &timeliness),
    ];
    let svgs: Vec<(String, String)> = charts.iter().map(|c| (c.title.clone(), tongdang_reports::svg::render(c))).collect();
    let figures = [
        ("近30天上报", total.received.to_string()),
        ("接收", total.accepted.to_string()),
        ("退回", total.returned.to_string()),
        ("接收率", share(total.received - total.accepted, total.received).map_or("—".into(), |v| format!("{:.1}%", v * 100.0))),
    ];
    render(
        "operator/dashboard.html",
        context! {
            figures => figures, charts => svgs, states => state_labels, rollout => Serde(&rollout.0),
            milestones => Serde(&tongdang_reports::rollout::MILESTONES.iter().map(|m| m.label).collect::<Vec<_>>()),
            scope => city.map_or("全省".to_string(), |c| c.label_zh().to_string()),
            ..page.frame("全链路监测", "/operator")
        },
    )
}

#[derive(Deserialize, Default)]
pub(crate) struct CityQuery {
    city: Option<String>,
}

async fn institutions(State(state): State<Arc<AppState>>, page: Page, Query(q): Query<CityQuery>) -> Response {
    let home = match scope(&state, &page).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let asked = q.city.as_deref().filter(|c| !c.is_empty()).and_then(|c| c.parse::<City>().ok());
    let city = home.or(asked);
    let list = match crate::api_reports::rollout_of(&state, city).await {
        Ok((_, l)) => l,
        Err(e) => return unavailable(&page, &format!("{e:?}")),
    };
    let cities: Vec<(&str, &str)> = City::ALL.iter().map(|c| (c.code(), c.label_zh())).collect();
    render(
        "operator/institutions.html",
        context! {
            institutions => Serde(&list), cities => cities, city => city.map(|c| c.code()).unwrap_or(""), fixed => home.is_some(),
            ..page.frame("机构接入状态", "/operator/institutions")
        },
    )
}

async fn work_orders(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let city = match scope(&state, &page).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let filter = WorkOrderFilter { city: city.map(|c| c.code().to_string()), limit: 200, ..Default::default() };
    let orders = match state.store.work_orders(&filter).await {
        Ok(o) => o,
        Err(e) => return unavailable(&page, &format!("{e}")),
    };
    let now = Timestamp::now();
    let mut views = Vec::with_capacity(orders.len());
    for o in orders {
        views.push(crate::api_workorders::view(o, None, Vec::new(), now));
    }
    render("operator/work_orders.html", context! { orders => Serde(&views), ..page.frame("工单", "/operator/work-orders") })
}

async fn reports(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let city = match scope(&state, &page).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let scopes: Option<Vec<String>> = city.map(|c| vec![c.area_code().to_string(), tongdang_store::PROVINCE_SCOPE.to_string()]);
    let list = match state.store.reports(None, scopes.as_deref(), 200).await {
        Ok(l) => l,
        Err(e) => return unavailable(&page, &format!("{e}")),
    };
    let rows: Vec<serde_json::Value> = list
        .iter()
        .map(|r| {
            let summary: serde_json::Value = serde_json::from_str(&r.summary).unwrap_or_default();
            serde_json::json!({
                "id": r.id, "period": r.period, "scope": summary["scope_zh"].as_str().unwrap_or(&r.scope),
                "scheduled": r.scheduled, "generated": short_time(&r.generated_at.to_rfc3339_cst()),
                "total": summary["totals"]["total"].as_f64().map(|t| format!("{t:.1}")), "has_pdf": r.has_pdf,
            })
        })
        .collect();
    let last_month = tongdang_reports::Period::containing(Timestamp::now()).previous().to_string();
    render(
        "operator/reports.html",
        context! {
            reports => Serde(&rows), period => last_month, may_generate => page.caller.role != Role::Auditor,
            extra => city.map_or_else(|| "{}".to_string(), |c| serde_json::json!({ "city": c.code() }).to_string()),
            ..page.frame("评估报告", "/operator/reports")
        },
    )
}

async fn emergencies(State(state): State<Arc<AppState>>, page: Page) -> Response {
    match scope(&state, &page).await {
        Ok(None) => {}
        Ok(Some(_)) => {
            return error_page(&page, StatusCode::FORBIDDEN, "紧急调阅由调阅机构复核，全省情况由省级运营和审计人员监督。");
        }
        Err(r) => return *r,
    }
    // Who read whose record in an emergency is itself a disclosure: it is audited.
    let mut event = tongdang_store::AuditEvent::new("read.emergency-list", &page.caller.actor, "allowed");
    event.detail = serde_json::json!({ "role": page.caller.role.code() }).to_string();
    if let Err(e) = state.store.append_events(&[event]).await {
        return unavailable(&page, &e.to_string());
    }
    let filter = GrantFilter { channel: Some("emergency".into()), limit: 200, ..Default::default() };
    let list = match state.store.grants(&filter).await {
        Ok(l) => l,
        Err(e) => return unavailable(&page, &format!("{e}")),
    };
    let mut rows = Vec::new();
    for g in &list {
        let view = crate::api_grants::view_for(&state, g, false).await;
        rows.push(view);
    }
    render(
        "operator/emergencies.html",
        context! { grants => Serde(&rows), ..page.frame("紧急调阅复核", "/operator/emergencies") },
    )
}

async fn ledger(State(state): State<Arc<AppState>>, page: Page) -> Response {
    if let Err(r) = scope(&state, &page).await {
        return *r;
    }
    let checkpoints = match state.store.checkpoints(None, 10).await {
        Ok(c) => c,
        Err(e) => return unavailable(&page, &format!("{e}")),
    };
    let rows: Vec<serde_json::Value> = checkpoints
        .iter()
        .map(|c| {
            serde_json::json!({
                "size": c.size, "root": data_encoding::HEXLOWER.encode(&c.root), "at": short_time(&c.at.to_rfc3339_cst()), "key": c.key_id,
            })
        })
        .collect();
    // Each checkpoint must extend the one before: its consistency is checked against the tree.
    let mut verified = None;
    if let [newest, older, ..] = checkpoints.as_slice() {
        verified = Some(match state.protected.consistency_proof(older.size, newest.size).await {
            Ok(proof) => {
                tongdang_protection::ledger::verify_consistency(older.size, newest.size, &older.root, &newest.root, &proof)
            }
            Err(_) => false,
        });
    }
    render(
        "operator/ledger.html",
        context! { checkpoints => Serde(&rows), verified => verified, ..page.frame("防篡改账本", "/operator/ledger") },
    )
}
