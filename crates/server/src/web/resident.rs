//! The resident's portal (居民端), phone first: their record as a timeline with filters, an
//! entry in plain language, requests to answer, grants to revoke, who read what, and reporting
//! wrong data with its progress. Nothing but the face verification step shows before the
//! resident has passed it.

use super::describe::{EntryView, describe};
use super::{Page, denied, error_page, render, short_time, unavailable};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tongdang_access::TimelineFilter;
use tongdang_access::grant::Status;
use tongdang_core::{Category, EntryId, Role, Timestamp};
use tongdang_store::WorkOrderFilter;

pub(crate) fn router() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/me", get(timeline))
        .route("/me/entries/{kind}/{id}", get(entry))
        .route("/me/verify", get(verify))
        .route("/me/requests", get(requests))
        .route("/me/grants", get(grants))
        .route("/me/history", get(history))
        .route("/me/reports", get(reports))
}

/// The resident's checks before a page: a resident, face-verified (else the verification page).
fn gate(page: &Page, here: &str) -> Result<tongdang_core::PersonId, Box<Response>> {
    if page.caller.role != Role::Resident {
        return Err(Box::new(error_page(page, StatusCode::FORBIDDEN, "这里是居民端，请使用您的工作门户。")));
    }
    let Some(person) = page.caller.person else {
        return Err(Box::new(error_page(page, StatusCode::FORBIDDEN, "您的账号尚未关联健康档案。")));
    };
    if page.caller.face_verified_at.is_none() {
        return Err(Box::new(Redirect::to(&format!("/me/verify?next={here}")).into_response()));
    }
    Ok(person)
}

#[derive(Deserialize, Default)]
pub(crate) struct TimelineQuery {
    category: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

/// One line of the timeline.
#[derive(Serialize)]
struct Line {
    entry: EntryView,
    href: String,
    category: &'static str,
    when: String,
    source: String,
    collected: String,
}

async fn timeline(State(state): State<Arc<AppState>>, page: Page, Query(q): Query<TimelineQuery>) -> Response {
    let person = match gate(&page, "/me") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut filter = TimelineFilter { limit: 50, cursor: q.cursor.clone().filter(|c| !c.is_empty()), ..Default::default() };
    let category = q.category.clone().filter(|c| !c.is_empty());
    if let Some(c) = &category {
        match c.parse::<Category>() {
            Ok(c) => filter.categories.push(c),
            Err(_) => return error_page(&page, StatusCode::BAD_REQUEST, "没有这个类别。"),
        }
    }
    let day = |s: &Option<String>| s.as_deref().filter(|d| !d.is_empty()).map(Timestamp::parse_fhir_range);
    match (day(&q.from), day(&q.to)) {
        (Some(None), _) | (_, Some(None)) => return error_page(&page, StatusCode::BAD_REQUEST, "日期格式应为 年-月-日。"),
        (from, to) => {
            filter.from = from.flatten().map(|r| r.0);
            filter.to = to.flatten().map(|r| r.1);
        }
    }
    let result = state.reader.timeline(&page.caller.requester(), person, &filter).await;
    let page_of = match result {
        Ok(p) => p,
        Err(e) => return denied(&page, &e),
    };
    let mut lines = Vec::with_capacity(page_of.entries.len());
    for e in &page_of.entries {
        let source = state.reader.institution_name(&e.institution).await;
        let view = describe(&e.resource_type, &e.id.to_string(), e.category, &e.resource);
        lines.push(Line {
            href: format!("/me/entries/{}/{}", e.resource_type, e.id),
            category: e.category.label_zh(),
            when: e.clinical_time.as_deref().map(short_time).unwrap_or_else(|| "时间不详".into()),
            source: if source.is_empty() { e.institution.clone() } else { source },
            collected: short_time(&e.collected_at.to_rfc3339_cst()),
            entry: view,
        });
    }
    let categories: Vec<(&str, &str)> = Category::ALL.iter().map(|c| (c.code(), c.label_zh())).collect();
    let more = page_of.next_cursor.map(|c| {
        let mut href = format!("/me?cursor={}", super::urlencode(&c));
        for (k, v) in [("category", &q.category), ("from", &q.from), ("to", &q.to)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                href.push_str(&format!("&{k}={}", super::urlencode(v)));
            }
        }
        href
    });
    render(
        "resident/timeline.html",
        context! {
            lines => Serde(&lines), categories => categories, category => category.unwrap_or_default(),
            from => q.from.unwrap_or_default(), to => q.to.unwrap_or_default(), more => more, paged => q.cursor.is_some(),
            ..page.frame("我的健康档案", "/me")
        },
    )
}

async fn entry(State(state): State<Arc<AppState>>, page: Page, Path((kind, id)): Path<(String, String)>) -> Response {
    if let Err(r) = gate(&page, "/me") {
        return *r;
    }
    let Ok(entry_id) = id.parse::<EntryId>() else { return error_page(&page, StatusCode::NOT_FOUND, "没有这条记录。") };
    let e = match state.reader.entry(&page.caller.requester(), &kind, entry_id).await {
        Ok(e) => e,
        Err(_) => return error_page(&page, StatusCode::NOT_FOUND, "没有这条记录。"),
    };
    let source = state.reader.institution_name(&e.institution).await;
    let view = describe(&e.resource_type, &e.id.to_string(), e.category, &e.resource);
    render(
        "resident/entry.html",
        context! {
            entry => Serde(&view), category => e.category.label_zh(),
            when => e.clinical_time.as_deref().map(short_time).unwrap_or_else(|| "时间不详".into()),
            source => if source.is_empty() { e.institution.clone() } else { source },
            collected => short_time(&e.collected_at.to_rfc3339_cst()),
            ..page.frame("记录详情", "/me")
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct Next {
    next: Option<String>,
}

async fn verify(page: Page, Query(q): Query<Next>) -> Response {
    if page.caller.role != Role::Resident {
        return error_page(&page, StatusCode::FORBIDDEN, "这里是居民端，请使用您的工作门户。");
    }
    let next = q.next.filter(|n| n.starts_with("/me")).unwrap_or_else(|| "/me".into());
    render(
        "resident/verify.html",
        context! { next => next, verified => page.caller.face_verified_at.is_some(), ..page.frame("人脸核验", "") },
    )
}

async fn grant_views(
    state: &AppState,
    page: &Page,
    status: Option<Status>,
) -> Result<Vec<crate::api_grants::GrantView>, Box<Response>> {
    let list = state
        .authorizations
        .of_resident(&page.caller.requester(), status, None, 100)
        .await
        .map_err(|e| Box::new(error_page(page, StatusCode::FORBIDDEN, &e.to_string())))?;
    let mut out = Vec::with_capacity(list.len());
    for (g, _) in &list {
        out.push(crate::api_grants::view_for(state, g, true).await);
    }
    Ok(out)
}

async fn requests(State(state): State<Arc<AppState>>, page: Page) -> Response {
    if let Err(r) = gate(&page, "/me/requests") {
        return *r;
    }
    match grant_views(&state, &page, Some(Status::Requested)).await {
        Ok(list) => render(
            "resident/requests.html",
            context! { requests => Serde(&list), labels => category_labels(), ..page.frame("待处理的授权请求", "/me/requests") },
        ),
        Err(r) => *r,
    }
}

/// Category codes as residents read them (`all` for a whole record).
fn category_labels() -> std::collections::BTreeMap<&'static str, &'static str> {
    Category::ALL.iter().map(|c| (c.code(), c.label_zh())).chain([("all", "全部档案")]).collect()
}

async fn grants(State(state): State<Arc<AppState>>, page: Page) -> Response {
    if let Err(r) = gate(&page, "/me/grants") {
        return *r;
    }
    match grant_views(&state, &page, None).await {
        Ok(list) => render(
            "resident/grants.html",
            context! { grants => Serde(&list), labels => category_labels(), ..page.frame("我的授权", "/me/grants") },
        ),
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
pub(crate) struct Before {
    before: Option<i64>,
}

/// Events per page of the access history.
const HISTORY_PAGE: u32 = 100;

async fn history(State(state): State<Arc<AppState>>, page: Page, Query(q): Query<Before>) -> Response {
    let person = match gate(&page, "/me/history") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let events = match state.store.audit_events(Some(person), q.before, HISTORY_PAGE).await {
        Ok(e) => e,
        Err(e) => return unavailable(&page, &format!("{e}")),
    };
    let mut lines = Vec::new();
    for e in &events {
        let name = match &e.institution {
            Some(i) => state.reader.institution_name(i).await,
            None => String::new(),
        };
        let name = if name.is_empty() { e.institution.clone().unwrap_or_default() } else { name };
        if let Some(mut l) = tongdang_access::history::describe(e, &page.caller.actor, &name) {
            l.at = short_time(&l.at);
            lines.push(l);
        }
    }
    let more =
        (events.len() == HISTORY_PAGE as usize).then(|| events.last().map(|e| format!("/me/history?before={}", e.id))).flatten();
    render(
        "resident/history.html",
        context! { lines => Serde(&lines), more => more, newest => q.before.is_some(), ..page.frame("谁看过我的档案", "/me/history") },
    )
}

async fn reports(State(state): State<Arc<AppState>>, page: Page) -> Response {
    if let Err(r) = gate(&page, "/me/reports") {
        return *r;
    }
    let filter = WorkOrderFilter { raiser_account: Some(page.caller.account.unwrap_or(-1)), limit: 100, ..Default::default() };
    let orders = match state.store.work_orders(&filter).await {
        Ok(o) => o,
        Err(e) => return unavailable(&page, &format!("{e}")),
    };
    let now = Timestamp::now();
    let mut views = Vec::with_capacity(orders.len());
    for o in orders {
        let steps = crate::api_workorders::steps_of(&state, o.id).await.unwrap_or_default();
        let rt = crate::api_workorders::entry_type(&state, o.entry).await;
        views.push(crate::api_workorders::view(o, rt, steps, now));
    }
    render("resident/reports.html", context! { orders => Serde(&views), ..page.frame("我报告的数据问题", "/me/reports") })
}
