//! The portals under `/`, in Chinese: pages rendered on the server from minijinja templates
//! (every value escaped by the template engine), styles and a little JavaScript served by the
//! binary itself (`/assets/…`, nothing from elsewhere). Pages read through the same services as
//! `/api/v1` (so through the policy decision point); actions are `fetch` calls to `/api/v1` with
//! the session's CSRF token. A page needs a web session: without one it sends you to sign in.

mod assets;
mod clinician;
pub(crate) mod describe;
mod institution;
mod operator;
mod resident;
mod signin;

use crate::AppState;
use crate::auth::{Caller, Credential, SESSION_COOKIE};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use std::sync::{Arc, OnceLock};
use tongdang_core::Role;

/// The pages' routes.
pub(crate) fn router() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/signin", get(signin::page))
        .route("/home", get(home))
        .route("/assets/{name}", get(assets::serve))
        .merge(resident::router())
        .merge(clinician::router())
        .merge(institution::router())
        .merge(operator::router())
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source).expect("templates parse (checked by the tests)");
        }
        env
    })
}

/// Every template, compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("signin.html", include_str!("templates/signin.html")),
    ("error.html", include_str!("templates/error.html")),
    ("resident/timeline.html", include_str!("templates/resident/timeline.html")),
    ("resident/entry.html", include_str!("templates/resident/entry.html")),
    ("resident/verify.html", include_str!("templates/resident/verify.html")),
    ("resident/requests.html", include_str!("templates/resident/requests.html")),
    ("resident/grants.html", include_str!("templates/resident/grants.html")),
    ("resident/history.html", include_str!("templates/resident/history.html")),
    ("resident/reports.html", include_str!("templates/resident/reports.html")),
    ("clinic/patient.html", include_str!("templates/clinic/patient.html")),
    ("clinic/search.html", include_str!("templates/clinic/search.html")),
    ("clinic/authorize.html", include_str!("templates/clinic/authorize.html")),
    ("clinic/record.html", include_str!("templates/clinic/record.html")),
    ("institution/overview.html", include_str!("templates/institution/overview.html")),
    ("institution/returns.html", include_str!("templates/institution/returns.html")),
    ("institution/reconciliation.html", include_str!("templates/institution/reconciliation.html")),
    ("institution/work_orders.html", include_str!("templates/institution/work_orders.html")),
    ("institution/keys.html", include_str!("templates/institution/keys.html")),
    ("operator/dashboard.html", include_str!("templates/operator/dashboard.html")),
    ("operator/institutions.html", include_str!("templates/operator/institutions.html")),
    ("operator/work_orders.html", include_str!("templates/operator/work_orders.html")),
    ("operator/reports.html", include_str!("templates/operator/reports.html")),
    ("operator/emergencies.html", include_str!("templates/operator/emergencies.html")),
    ("operator/ledger.html", include_str!("templates/operator/ledger.html")),
];

/// Render a template; a template error is logged and answered 500 (the tests render every page).
pub(crate) fn render(name: &str, ctx: Value) -> Response {
    match environment().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page not rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<p>页面出错，请稍后再试。</p>".to_string())).into_response()
        }
    }
}

/// A navigation link.
#[derive(serde::Serialize)]
pub(crate) struct NavItem {
    href: &'static str,
    label: &'static str,
    current: bool,
}

/// The links of a role's portal.
fn nav(role: Role, here: &str) -> Vec<NavItem> {
    let items: &[(&'static str, &'static str)] = match role {
        Role::Resident => &[
            ("/me", "我的档案"),
            ("/me/requests", "授权请求"),
            ("/me/grants", "我的授权"),
            ("/me/history", "调阅记录"),
            ("/me/reports", "数据纠错"),
        ],
        Role::Clinician => &[("/clinic", "查找患者")],
        Role::InstitutionAdmin => &[
            ("/institution", "数据质量"),
            ("/institution/returns", "退回数据"),
            ("/institution/reconciliation", "对账"),
            ("/institution/work-orders", "工单"),
            ("/institution/keys", "接口密钥"),
        ],
        Role::CityOperator => &[
            ("/operator", "监测"),
            ("/operator/institutions", "机构"),
            ("/operator/work-orders", "工单"),
            ("/operator/reports", "评估报告"),
            ("/operator/ledger", "账本"),
        ],
        Role::ProvincialOperator | Role::Auditor => &[
            ("/operator", "监测"),
            ("/operator/institutions", "机构"),
            ("/operator/work-orders", "工单"),
            ("/operator/reports", "评估报告"),
            ("/operator/emergencies", "紧急调阅"),
            ("/operator/ledger", "账本"),
        ],
        _ => &[],
    };
    items.iter().map(|(href, label)| NavItem { href, label, current: *href == here }).collect()
}

/// A signed-in person viewing a page, with what every page's frame needs.
pub(crate) struct Page {
    /// Who.
    pub caller: Caller,
    /// The session's CSRF token, for the page's actions.
    pub csrf: String,
}

impl Page {
    /// The frame's context: title, navigation, who is signed in, CSRF token.
    pub fn frame(&self, title: &str, here: &str) -> Value {
        context! {
            title => title,
            csrf => self.csrf.clone(),
            nav => Serde(nav(self.caller.role, here)),
            me => context! { name => self.caller.display_name.clone(), role => self.caller.role.label_zh() },
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Page, Response> {
        let next = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let to_sign_in = || Redirect::to(&format!("/signin?next={}", urlencode(&next))).into_response();
        let Some(token) = crate::auth::cookie(parts, SESSION_COOKIE) else { return Err(to_sign_in()) };
        let caller = match crate::auth::session_caller(token, state, true).await {
            Ok(c) => c,
            // The store did not answer: say so, rather than look like a sign-out.
            Err(crate::auth::AuthFailure::Internal(e)) => {
                tracing::warn!(error = %e, "session not read");
                return Err((StatusCode::SERVICE_UNAVAILABLE, Html("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>通档</title><p>系统暂时不可用，请稍后再试。</p></html>".to_string())).into_response());
            }
            Err(_) => return Err(to_sign_in()),
        };
        let Credential::Cookie { csrf, .. } = &caller.credential else { return Err(to_sign_in()) };
        let csrf = csrf.clone();
        Ok(Page { caller, csrf })
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where a role's portal starts.
pub(crate) fn home_of(role: Role) -> &'static str {
    match role {
        Role::Resident => "/me",
        Role::Clinician => "/clinic",
        Role::InstitutionAdmin => "/institution",
        Role::ProvincialOperator | Role::CityOperator | Role::Auditor => "/operator",
        Role::InstitutionSystem => "/",
    }
}

async fn home(page: Page) -> Response {
    Redirect::to(home_of(page.caller.role)).into_response()
}

/// An error page in the frame.
pub(crate) fn error_page(page: &Page, status: StatusCode, message: &str) -> Response {
    let mut r = render("error.html", context! { message => message, ..page.frame("出错了", "") });
    *r.status_mut() = status;
    r
}

/// The store or a service failed: a plain message on the page, the details in the log only.
pub(crate) fn unavailable(page: &Page, detail: &str) -> Response {
    tracing::warn!(error = detail, "page not served");
    error_page(page, StatusCode::INTERNAL_SERVER_ERROR, "暂时无法读取，请稍后再试。")
}

/// A read the policy refused, or that failed, in the reader's words.
pub(crate) fn denied(page: &Page, e: &tongdang_access::AccessError) -> Response {
    use tongdang_access::AccessError;
    match e {
        AccessError::Denied(_) => error_page(page, StatusCode::FORBIDDEN, "您没有调阅这份档案的权限。"),
        AccessError::NotFound(_) | AccessError::Moved(_) => error_page(page, StatusCode::NOT_FOUND, "没有找到这份档案。"),
        AccessError::BadCursor => error_page(page, StatusCode::BAD_REQUEST, "翻页链接已失效，请从第一页开始。"),
        AccessError::Store(e) => unavailable(page, &e.to_string()),
    }
}

/// Days and times as pages show them: `2024-10-01 08:00` in CST.
pub(crate) fn short_time(rfc3339: &str) -> String {
    match tongdang_core::Timestamp::parse_fhir(rfc3339) {
        Some(t) if rfc3339.len() > 10 => t.to_rfc3339_cst().chars().take(16).collect::<String>().replace('T', " "),
        _ => rfc3339.chars().take(10).collect(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        let env = super::environment();
        for (name, _) in super::TEMPLATES {
            env.get_template(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert_eq!(super::urlencode("/me?x=1&y=张"), "/me%3Fx%3D1%26y%3D%E5%BC%A0");
    }
}
