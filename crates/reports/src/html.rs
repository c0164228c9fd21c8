//! The report as one self-contained HTML page in Chinese: styles and charts inline, nothing
//! fetched from elsewhere, every name escaped.

use crate::charts;
use crate::model::{Report, ScoreRow};
use crate::score::{FORMULA, grade};
use crate::svg;
use std::fmt::Write;

/// Escape text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `98.5%` or `—`.
pub fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{:.1}%", v * 100.0))
}

/// `87.3` or `—`.
pub fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{v:.1}"))
}

const STYLE: &str = "body{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei','Microsoft YaHei',sans-serif;color:#1e1e1e;max-width:1100px;margin:24px auto;padding:0 16px;line-height:1.5}\
h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;border-bottom:2px solid #1f5ea8;padding-bottom:4px;margin-top:32px}\
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #ccc;padding:4px 6px;text-align:right}\
th{background:#eef3fa}td.t,th.t{text-align:left}.meta{color:#555}.cards{display:flex;flex-wrap:wrap;gap:12px}\
.card{border:1px solid #ccc;border-radius:6px;padding:8px 14px;min-width:140px}.card b{display:block;font-size:22px}\
figure{margin:12px 0}figcaption{font-weight:bold;margin-bottom:4px}ol.formula li{margin-bottom:6px}.empty{color:#8a4b00}";

fn score_table(s: &mut String, rows: &[ScoreRow], with_city: bool) {
    s.push_str("<table><thead><tr><th>排名</th><th class=\"t\">名称</th>");
    if with_city {
        s.push_str("<th class=\"t\">城市</th>");
    }
    s.push_str("<th>上报</th><th>接收率</th><th>完整性</th><th>规范性</th><th>一致性</th><th>及时性</th><th>质量得分</th><th>新增工单</th><th>平均处置(时)</th><th>超期率</th><th>重开率</th><th>效率得分</th><th>综合得分</th><th>等级</th></tr></thead><tbody>");
    for r in rows {
        let q = r.quality.as_ref();
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"t\">{}</td>",
            r.rank.map_or_else(|| "—".to_string(), |n| n.to_string()),
            escape(&r.name)
        );
        if with_city {
            let _ = write!(s, "<td class=\"t\">{}</td>", escape(&r.city));
        }
        let _ = write!(
            s,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>",
            r.received,
            pct(q.map(|q| q.acceptance)),
            pct(q.map(|q| q.completeness)),
            pct(q.map(|q| q.validity)),
            pct(q.map(|q| q.consistency)),
            pct(q.map(|q| q.timeliness)),
            num(q.map(|q| q.score)),
            r.orders_opened,
            num(r.handling.mean_hours),
            pct(r.handling.overdue_share),
            pct(r.handling.reopen_rate),
            r.handling.score,
            num(r.total),
            r.total.map_or("本期无上报", grade),
        );
    }
    s.push_str("</tbody></table>");
}

/// The whole page.
pub fn render(r: &Report) -> String {
    let mut s = String::with_capacity(64 * 1024 + r.institutions.len() * 400);
    let title = format!("{}健康档案数据质量与问题处置评估报告（{}）", r.scope_zh, r.period_zh);
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body><main>",
        escape(&title)
    );
    let _ = write!(
        s,
        "<h1>{}</h1><p class=\"meta\">统计周期：{}（按接收日，北京时间） · 生成时间：{} · 通档 省级全民健康信息平台</p>",
        escape(&title),
        escape(&r.period_zh),
        escape(&r.generated_at)
    );
    if r.is_empty() {
        s.push_str("<p class=\"empty\">本期没有上报数据，也没有工单。以下各表为空，这是一份有效的空报告。</p>");
    }
    let t = &r.totals;
    let _ = write!(
        s,
        "<h2>一、总体情况</h2><div class=\"cards\"><div class=\"card\">综合得分<b>{}</b></div><div class=\"card\">上传质量得分<b>{}</b></div><div class=\"card\">处置效率得分<b>{:.1}</b></div><div class=\"card\">上报条数<b>{}</b></div><div class=\"card\">接收条数<b>{}</b></div><div class=\"card\">退回条数<b>{}</b></div><div class=\"card\">有上报的机构<b>{} / {}</b></div><div class=\"card\">新增工单<b>{}</b></div><div class=\"card\">办结工单<b>{}</b></div></div>",
        num(t.total),
        num(t.quality),
        t.handling,
        t.received,
        t.accepted,
        t.returned,
        t.reporting_institutions,
        t.institutions,
        t.orders_opened,
        t.orders_resolved
    );
    s.push_str("<h2>二、趋势与分布</h2>");
    for chart in charts::of(r) {
        let _ = write!(s, "<figure><figcaption>{}</figcaption>{}</figure>", escape(&chart.title), svg::render(&chart));
    }
    if r.cities.len() > 1 {
        s.push_str("<h2>三、地市排名</h2>");
        score_table(&mut s, &r.cities, false);
    }
    s.push_str("<h2>四、机构排名</h2>");
    score_table(&mut s, &r.institutions, r.cities.len() > 1);
    s.push_str("<h2>五、主要问题（按数据来源）</h2>");
    if r.problems.is_empty() {
        s.push_str("<p>本期没有被退回的数据。</p>");
    } else {
        s.push_str("<table><thead><tr><th class=\"t\">数据来源</th><th>退回条数</th><th class=\"t\">最常见的问题（规则：说明 × 条数）</th></tr></thead><tbody>");
        for p in &r.problems {
            let rules: Vec<String> = p
                .rules
                .iter()
                .map(|(id, d, n)| format!("{}：{} × {}", escape(id), escape(if d.is_empty() { "（规则已停用）" } else { d }), n))
                .collect();
            let _ = write!(
                s,
                "<tr><td class=\"t\">{}</td><td>{}</td><td class=\"t\">{}</td></tr>",
                escape(&p.name),
                p.returns,
                rules.join("<br>")
            );
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("<h2>六、评分方法</h2><ol class=\"formula\">");
    for line in FORMULA {
        let _ = write!(s, "<li>{}</li>", escape(line));
    }
    s.push_str("</ol></main></body></html>");
    s
}
