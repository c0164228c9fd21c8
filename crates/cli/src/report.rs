//! `tongdang report`: an evaluation report for a month, as HTML or PDF, kept in the store too.

use anyhow::{Context, bail};
use clap::Args;
use std::path::PathBuf;
use tongdang_core::{City, Timestamp};
use tongdang_reports::{Font, Period, Scope};
use tongdang_store::{Location, Store};

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// The month, YYYY-MM (default: last month).
    #[arg(long)]
    period: Option<String>,
    /// One city (广州市 or guangzhou) instead of the whole province.
    #[arg(long)]
    city: Option<String>,
    /// Where to write it: a .html or .pdf file.
    #[arg(long)]
    out: PathBuf,
    /// The CJK font for the PDF (default: TONGDANG_REPORT_FONT, else Debian's WenQuanYi or Noto CJK).
    #[arg(long)]
    font: Option<PathBuf>,
}

pub(crate) async fn run(location: &Location, args: &ReportArgs) -> anyhow::Result<()> {
    let now = Timestamp::now();
    let period = match &args.period {
        Some(p) => p.parse::<Period>().with_context(|| format!("--period {p}"))?,
        None => Period::containing(now).previous(),
    };
    let scope = match &args.city {
        Some(c) => Scope::City(c.parse::<City>().with_context(|| format!("--city {c}"))?),
        None => Scope::Province,
    };
    let pdf = match args.out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("pdf") => true,
        Some("html" | "htm") => false,
        _ => bail!("--out must name a .html or .pdf file"),
    };
    // The PDF needs a font; the HTML report is kept with a PDF too when one is found.
    let font = match Font::find(args.font.as_deref()) {
        Ok(f) => Some(f),
        Err(e) if pdf || args.font.is_some() => return Err(e.into()),
        Err(_) => None,
    };
    let store = crate::open(location).await?;
    let started = std::time::Instant::now();
    let input = tongdang_reports::input(store.as_ref(), period, scope, now).await?;
    let rendered = tongdang_reports::render(&input, font.as_ref())?;
    let bytes: &[u8] = if pdf { rendered.pdf.as_deref().context("no PDF rendered")? } else { rendered.html.as_bytes() };
    std::fs::write(&args.out, bytes).with_context(|| format!("cannot write {}", args.out.display()))?;
    let id = store.insert_report(&rendered.record("cli", false, now)).await?;
    let r = &rendered.report;
    println!(
        "{} {} 评估报告 → {} ({} bytes, {:.2} s)",
        r.scope_zh,
        r.period_zh,
        args.out.display(),
        bytes.len(),
        started.elapsed().as_secs_f64()
    );
    if r.is_empty() {
        println!("本期没有上报数据，也没有工单：报告为空。");
    } else {
        println!(
            "{} 条上报，{} 家机构有上报（共 {} 家），{} 张新工单；综合得分 {}",
            r.totals.received,
            r.totals.reporting_institutions,
            r.totals.institutions,
            r.totals.orders_opened,
            tongdang_reports::html::num(r.totals.total)
        );
    }
    if let Some(id) = id {
        println!("kept as report {id} (GET /api/v1/reports/{id})");
    }
    Ok(())
}
