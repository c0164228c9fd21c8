//! Read a report's inputs from the store, compute it, render it, keep it.

use crate::font::Font;
use crate::model::{self, Report, ReportInput, Scope};
use crate::period::Period;
use crate::{html, pdf};
use serde::Serialize;
use std::collections::HashMap;
use tongdang_core::Timestamp;
use tongdang_store::{QualityQuery, ReportRecord, Store};

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] tongdang_store::StoreError),
    /// The PDF could not be written.
    #[error(transparent)]
    Pdf(#[from] pdf::PdfError),
}

/// Read everything the report of `period` and `scope` needs.
pub async fn input(store: &dyn Store, period: Period, scope: Scope, now: Timestamp) -> Result<ReportInput, ReportError> {
    let city = match scope {
        Scope::Province => None,
        Scope::City(c) => Some(c.area_code().to_string()),
    };
    let (from, to) = (period.start(), period.end());
    let quality = store
        .quality_by_institution(&QualityQuery { institution: None, city, from: period.first_day(), to: period.last_day() })
        .await?;
    let first = period.trailing(model::TREND_MONTHS)[0];
    let rollups = store.quality_rollups(first.first_day(), period.last_day()).await?;
    let work_orders = store.work_order_stats(from, to).await?;
    let problems = store.return_problems(from, to).await?;
    let institutions = store.institutions().await?;
    Ok(ReportInput {
        period,
        scope,
        generated_at: now,
        institutions,
        quality,
        work_orders,
        rollups,
        problems,
        rule_names: rule_names(store).await?,
    })
}

/// Descriptions of every rule the platform has used: the built-in set, then stored sets (newer
/// wording wins).
async fn rule_names(store: &dyn Store) -> Result<HashMap<String, String>, ReportError> {
    let mut names: HashMap<String, String> =
        tongdang_govern::RuleSet::builtin().rules.into_iter().map(|r| (r.id, r.description)).collect();
    let mut sets = store.rule_sets().await?;
    sets.sort_by_key(|s| s.created_at);
    for set in sets {
        if let Ok(parsed) = tongdang_govern::RuleSet::from_json(&set.body) {
            names.extend(parsed.rules.into_iter().map(|r| (r.id, r.description)));
        }
    }
    Ok(names)
}

/// A report's headline, stored beside it for lists.
#[derive(Serialize)]
struct Summary<'a> {
    period: &'a str,
    scope: &'a str,
    scope_zh: &'a str,
    empty: bool,
    totals: &'a model::Totals,
    best_city: Option<&'a str>,
}

/// A computed report with its renderings; the PDF is left out when no font is given.
pub struct Rendered {
    /// The report.
    pub report: Report,
    /// The HTML page.
    pub html: String,
    /// The PDF.
    pub pdf: Option<Vec<u8>>,
}

impl Rendered {
    /// As a record to keep.
    pub fn record(&self, generated_by: &str, scheduled: bool, at: Timestamp) -> ReportRecord {
        let r = &self.report;
        let summary = Summary {
            period: &r.period,
            scope: &r.scope,
            scope_zh: &r.scope_zh,
            empty: r.is_empty(),
            totals: &r.totals,
            best_city: r.cities.first().filter(|c| c.rank.is_some() && r.cities.len() > 1).map(|c| c.name.as_str()),
        };
        ReportRecord {
            id: 0,
            period: r.period.clone(),
            scope: r.scope.clone(),
            scheduled,
            generated_at: at,
            generated_by: generated_by.to_string(),
            summary: serde_json::to_string(&summary).expect("a summary serializes"),
            html: self.html.clone(),
            pdf: self.pdf.clone(),
            has_pdf: self.pdf.is_some(),
        }
    }
}

/// Compute and render a report (CPU only: call it off the async threads for big provinces).
pub fn render(input: &ReportInput, font: Option<&Font>) -> Result<Rendered, ReportError> {
    let report = model::build(input);
    let html = html::render(&report);
    let pdf = font.map(|f| pdf::render(&report, f)).transpose()?;
    Ok(Rendered { report, html, pdf })
}

/// As [`render`], but a PDF that cannot be drawn leaves the report as HTML only (the server
/// keeps reports whatever the font does).
pub fn render_lenient(input: &ReportInput, font: Option<&Font>) -> Rendered {
    let report = model::build(input);
    let html = html::render(&report);
    let pdf = font.and_then(|f| match pdf::render(&report, f) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(error = %e, "report kept without PDF");
            None
        }
    });
    Rendered { report, html, pdf }
}
