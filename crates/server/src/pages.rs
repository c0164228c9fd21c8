//! Pages under `/`, in Chinese. For now the front page: what this server is and where its
//! interfaces are, with live figures; the portals come with their issues.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

pub(crate) fn router() -> axum::Router<Arc<AppState>> {
    axum::Router::new().route("/", get(front)).route("/healthz", get(healthz))
}

async fn healthz() -> &'static str {
    "ok"
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn front(State(state): State<Arc<AppState>>) -> Response {
    let counts = match state.store.counts().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "counts failed");
            return (StatusCode::SERVICE_UNAVAILABLE, Html("<p>数据库暂不可用</p>".to_string())).into_response();
        }
    };
    let body = format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>通档 · 广东健康档案互通系统</title>
<style>
body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f7fa;color:#1f2d3d}}
header{{background:#0b6e4f;color:#fff;padding:1.2rem 2rem}} main{{padding:1.5rem 2rem;max-width:960px}}
.figures{{display:flex;gap:1rem;flex-wrap:wrap}} .figure{{background:#fff;border-radius:8px;padding:1rem 1.4rem;box-shadow:0 1px 3px #0002;min-width:160px}}
.figure b{{display:block;font-size:1.8rem}} code{{background:#eef1f5;padding:.1rem .3rem;border-radius:4px}} li{{margin:.3rem 0}}
</style></head>
<body><header><h1>通档 · 广东健康档案互通系统</h1><p>一人一档：汇聚各医疗机构数据，按时间排列，标注数源单位与采集时间。</p></header>
<main>
<section class="figures">
<div class="figure">接入机构<b>{institutions}</b></div>
<div class="figure">居民档案<b>{persons}</b></div>
<div class="figure">档案条目<b>{entries}</b></div>
</section>
<p><a href="/signin"><b>登录门户</b></a>：居民、医生、医疗机构、运营与审计人员。</p>
<h2>接口</h2>
<ul>
<li>FHIR R4：<code>/fhir</code>（能力声明 <a href="/fhir/metadata"><code>/fhir/metadata</code></a>）</li>
<li>批量上传（NDJSON）：<code>POST /api/v1/ingest</code></li>
<li>居民健康档案时间轴：<code>GET /api/v1/persons/{{id}}/timeline</code></li>
<li>接口说明（OpenAPI）：<a href="/api/v1/openapi.json"><code>/api/v1/openapi.json</code></a></li>
</ul>
<p>所有接口需使用机构 API 密钥：<code>Authorization: Bearer &lt;密钥&gt;</code>。数据库：{dialect}。</p>
</main></body></html>"#,
        institutions = counts.institutions,
        persons = counts.persons,
        entries = counts.entries,
        dialect = escape(state.store.dialect()),
    );
    Html(body).into_response()
}
