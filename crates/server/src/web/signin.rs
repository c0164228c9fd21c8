//! `/signin`: residents with their phone and an SMS code, staff with their name and password.

use super::render;
use axum::extract::Query;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct Next {
    next: Option<String>,
}

/// Only a path of this site: never send someone elsewhere after signing in.
fn local(next: Option<String>) -> String {
    // Browsers drop tabs and newlines from URLs ("/\t/evil" becomes "//evil"): refuse any
    // whitespace or control character, backslashes and scheme-relative starts.
    next.filter(|n| {
        n.starts_with('/') && !n.starts_with("//") && !n.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    })
    .unwrap_or_default()
}

pub(crate) async fn page(Query(q): Query<Next>) -> Response {
    render("signin.html", context! { title => "登录", next => local(q.next) })
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(super::local(Some("/me?x=1".into())), "/me?x=1");
        for bad in ["//evil.example/", "https://evil.example/", "/\\evil", "me", "/\t/evil.example", "/\n/evil"] {
            assert_eq!(super::local(Some(bad.into())), "", "{bad}");
        }
    }
}
