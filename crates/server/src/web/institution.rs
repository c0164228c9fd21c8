//! The institution's portal (机构端), for its administrators: its quality figures, the returns
//! to fix (the corrected resource goes through the same pipeline as any submission), its
//! reconciliation results, the work orders on its desk, and its API keys.

use super::{Page, error_page, render, short_time, unavailable};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;
use std::sync::Arc;
use tongdang_core::{Role, Timestamp};
use tongdang_store::{QualityCounts, QualityQuery, ReturnFilter, WorkOrderFilter};

pub(crate) fn router() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/institution", get(overview))
        .route("/institution/returns", get(returns))
        .route("/institution/reconciliation", get(reconciliation))
        .route("/institution/work-orders", get(work_orders))
        .route("/institution/keys", get(keys))
}

/// The administrator's institution.
fn own(page: &Page) -> Result<String, Box<Response>> {
    match (page.caller.role, &page.caller.institution) {
        (Role::InstitutionAdmin, Some(code)) => Ok(code.as_str().to_string()),
        _ => Err(Box::new(error_page(page, StatusCode::FORBIDDEN, "这里是机构端，供机构管理员使用。"))),
    }
}

fn pct(part: i64, whole: i64) -> String {
    if whole <= 0 { "—".into() } else { format!("{:.1}%", (whole - part) as f64 * 100.0 / whole as f64) }
}

async fn overview(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let code = match own(&page) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let now = Timestamp::now();
    let today = now.cst_day();
    let from = Timestamp(now.0 - 29 * 86_400_000_000).cst_day();
    let q = QualityQuery { institution: Some(code.clone()), city: None, from, to: today };
    let mine = [code.clone()];
    let (rows, open) = match tokio::try_join!(state.store.quality(&q), state.store.open_returns_summary(Some(&mine), now)) {
        Ok(x) => x,
        Err(e) => return unavailable(&page, &format!("{e}")),
    };
    let mut t = QualityCounts::default();
    rows.iter().for_each(|r| t.add(r));
    let name = state.reader.institution_name(&code).await;
    let figures = [
        ("上报", t.received.to_string()),
        ("接收", t.accepted.to_string()),
        ("退回", t.returned.to_string()),
        ("接收率", pct(t.received - t.accepted, t.received)),
        ("完整性", pct(t.incomplete, t.received)),
        ("规范性", pct(t.invalid, t.received)),
        ("一致性", pct(t.inconsistent, t.received)),
        ("及时性", pct(t.late, t.received)),
        ("待处理退回", open.count.to_string()),
    ];
    render(
        "institution/overview.html",
        context! { name => name, code => code, figures => figures, ..page.frame("数据质量（近30天）", "/institution") },
    )
}

/// A return as the page lists it.
#[derive(Serialize)]
struct ReturnLine {
    id: i64,
    reference: String,
    rules: String,
    findings: Vec<serde_json::Value>,
    opened: String,
    attempts: i32,
}

async fn returns(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let code = match own(&page) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let filter = ReturnFilter { institution: Some(code), status: Some("open".into()), limit: 200, ..Default::default() };
    let list = match state.store.returns(&filter).await {
        Ok(l) => l,
        Err(e) => return unavailable(&page, &format!("{e}")),
    };
    let lines: Vec<ReturnLine> = list
        .into_iter()
        .map(|r| ReturnLine {
            id: r.id,
            reference: format!("{}/{}", r.resource_type, r.source_id),
            rules: r.rules.clone(),
            findings: serde_json::from_str(&r.findings).unwrap_or_default(),
            opened: short_time(&r.opened_at.to_rfc3339_cst()),
            attempts: r.attempts,
        })
        .collect();
    render(
        "institution/returns.html",
        context! { returns => Serde(&lines), ..page.frame("待修正的退回数据", "/institution/returns") },
    )
}

async fn reconciliation(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let code = match own(&page) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let list = match state.store.reconciliations(Some(&[code]), None, 100).await {
        Ok(l) => l,
        Err(e) => return unavailable(&page, &format!("{e}")),
    };
    let rows: Vec<serde_json::Value> = list
        .iter()
        .map(|r| {
            serde_json::json!({
                "day": format!("{:04}-{:02}-{:02}", r.day / 10_000, r.day / 100 % 100, r.day % 100),
                "submitted": short_time(&r.submitted_at.to_rfc3339_cst()),
                "listed": r.listed, "held": r.held, "matched": r.matched,
                "missing": r.missing, "extra": r.extra, "differing": r.differing,
                "agrees": r.missing == 0 && r.extra == 0 && r.differing == 0,
            })
        })
        .collect();
    render(
        "institution/reconciliation.html",
        context! { rows => Serde(&rows), ..page.frame("对账结果", "/institution/reconciliation") },
    )
}

async fn work_orders(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let code = match own(&page) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let filter = WorkOrderFilter { institution: Some(code), limit: 100, ..Default::default() };
    let orders = match state.store.work_orders(&filter).await {
        Ok(o) => o,
        Err(e) => return unavailable(&page, &format!("{e}")),
    };
    let now = Timestamp::now();
    let mut views = Vec::with_capacity(orders.len());
    for o in orders {
        let rt = crate::api_workorders::entry_type(&state, o.entry).await;
        views.push(crate::api_workorders::view(o, rt, Vec::new(), now));
    }
    render("institution/work_orders.html", context! { orders => Serde(&views), ..page.frame("工单", "/institution/work-orders") })
}

async fn keys(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let code = match own(&page) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let list = match state.store.api_keys_of(&code).await {
        Ok(l) => l,
        Err(e) => return unavailable(&page, &format!("{e}")),
    };
    let rows: Vec<serde_json::Value> = list
        .iter()
        .map(|k| {
            serde_json::json!({
                "prefix": k.prefix,
                "scopes": k.scopes.iter().map(|s| s.label_zh()).collect::<Vec<_>>().join("、"),
                "created": short_time(&k.created_at.to_rfc3339_cst()),
                "revoked": k.revoked_at.map(|t| short_time(&t.to_rfc3339_cst())),
            })
        })
        .collect();
    render(
        "institution/keys.html",
        context! { keys => Serde(&rows), code => code, ..page.frame("接口密钥", "/institution/keys") },
    )
}
