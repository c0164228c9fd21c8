//! Which charts a report has.

use crate::chart::{self, Chart, Series};
use crate::model::Report;

/// The trend of acceptance and timeliness, and bars of the cities' (or institutions') scores.
pub fn of(r: &Report) -> Vec<Chart> {
    let labels: Vec<String> = r.trend.iter().map(|p| p.period.clone()).collect();
    let acceptance: Vec<Option<f64>> = r.trend.iter().map(|p| p.acceptance).collect();
    let timeliness: Vec<Option<f64>> = r.trend.iter().map(|p| p.timeliness).collect();
    let lowest = acceptance.iter().chain(&timeliness).flatten().fold(1.0_f64, |a, b| a.min(*b));
    // Zoom in when everything is high, so a few tenths of a percent show.
    let floor = if lowest >= 0.9 {
        0.9
    } else if lowest >= 0.5 {
        0.5
    } else {
        0.0
    };
    let mut charts = vec![chart::line_chart(
        "近六个月接收率与及时性趋势",
        &labels,
        &[Series { name: "接收率", values: acceptance }, Series { name: "及时性", values: timeliness }],
        floor,
    )];
    if r.cities.len() > 1 {
        let mut bars: Vec<(String, Option<f64>)> = r.cities.iter().map(|c| (c.name.clone(), c.total)).collect();
        bars.sort_by(|a, b| b.1.unwrap_or(-1.0).total_cmp(&a.1.unwrap_or(-1.0)));
        charts.push(chart::bar_chart("各地市综合得分", &bars));
    } else {
        let bars: Vec<(String, Option<f64>)> =
            r.institutions.iter().filter(|i| i.total.is_some()).take(20).map(|i| (short(&i.name), i.total)).collect();
        charts.push(chart::bar_chart("机构综合得分（前20名）", &bars));
    }
    charts
}

/// Bar labels have room for about six characters.
fn short(name: &str) -> String {
    if name.chars().count() <= 7 { name.to_string() } else { name.chars().take(6).chain(['…']).collect() }
}
