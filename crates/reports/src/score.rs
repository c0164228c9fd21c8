//! The scoring formula. It is printed in every report (`FORMULA`), so the numbers here and the
//! words there must change together.

use serde::Serialize;
use tongdang_store::{QualityCounts, WorkOrderStats};

/// Weight of upload quality in the total score.
pub const QUALITY_WEIGHT: f64 = 0.7;
/// Weight of problem-handling efficiency in the total score.
pub const HANDLING_WEIGHT: f64 = 0.3;
/// Mean handling time that still earns full marks, hours.
pub const FULL_MARKS_HOURS: f64 = 24.0;
/// Mean handling time that earns nothing, hours (the province's last deadline).
pub const ZERO_MARKS_HOURS: f64 = 168.0;

/// The formula as the report prints it.
pub const FORMULA: &[&str] = &[
    "综合得分 = 0.7 × 上传质量得分 + 0.3 × 问题处置效率得分（满分100分）。",
    "上传质量得分 = 100 × (0.30 × 接收率 + 0.20 × 完整性 + 0.20 × 规范性 + 0.15 × 一致性 + 0.15 × 及时性)。其中接收率 = 接收条数 ÷ 上报条数；完整性、规范性、一致性、及时性分别为上报条数中没有该维度问题的比例（来自数据质控统计）。",
    "问题处置效率得分 = 100 × (0.4 × 时效分 + 0.4 × (1 − 超期率) + 0.2 × (1 − 重开率))。时效分：本期办结工单的平均处置时长 ≤ 24小时得1，≥ 168小时得0，其间线性递减；本期无办结而有到期工单得0。超期率 = 超期工单 ÷ 本期到期工单（本期办结的，以及期末仍未办结且已过时限或已升级的）；办结晚于时限或曾被升级的，以及期末仍未办结且已过时限或已升级的工单为超期。重开率 = 本期办结工单中曾被重开的比例。",
    "本期没有到期工单的机构，处置效率得分记100分；本期没有上报数据的机构不参与排名。等级：90分及以上为优，80分及以上为良，60分及以上为中，60分以下为差。",
];

/// Share of `whole` that is not `part`.
fn clean_share(part: i64, whole: i64) -> f64 {
    if whole <= 0 { 1.0 } else { ((whole - part) as f64 / whole as f64).clamp(0.0, 1.0) }
}

/// Upload quality of one source or city.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QualityScore {
    /// Accepted ÷ received.
    pub acceptance: f64,
    /// Share without a completeness finding.
    pub completeness: f64,
    /// Share without a validity finding.
    pub validity: f64,
    /// Share without a consistency finding.
    pub consistency: f64,
    /// Share received in time.
    pub timeliness: f64,
    /// 0–100.
    pub score: f64,
}

impl QualityScore {
    /// The score of summed counters; `None` when nothing was received.
    pub fn of(c: &QualityCounts) -> Option<QualityScore> {
        if c.received <= 0 {
            return None;
        }
        let acceptance = (c.accepted as f64 / c.received as f64).clamp(0.0, 1.0);
        let completeness = clean_share(c.incomplete, c.received);
        let validity = clean_share(c.invalid, c.received);
        let consistency = clean_share(c.inconsistent, c.received);
        let timeliness = clean_share(c.late, c.received);
        let score = 100.0 * (0.30 * acceptance + 0.20 * completeness + 0.20 * validity + 0.15 * consistency + 0.15 * timeliness);
        Some(QualityScore { acceptance, completeness, validity, consistency, timeliness, score })
    }
}

/// Problem-handling efficiency of one source or city.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HandlingScore {
    /// Mean hours from opening to resolution of the orders resolved in the period.
    pub mean_hours: Option<f64>,
    /// Overdue ÷ due.
    pub overdue_share: Option<f64>,
    /// Reopened ÷ resolved.
    pub reopen_rate: Option<f64>,
    /// 0–100.
    pub score: f64,
}

impl HandlingScore {
    /// The score of summed work-order figures.
    pub fn of(w: &WorkOrderStats) -> HandlingScore {
        let mean_hours = (w.resolved > 0).then(|| w.handling_seconds as f64 / w.resolved as f64 / 3600.0);
        let overdue_share = (w.due > 0).then(|| (w.overdue as f64 / w.due as f64).clamp(0.0, 1.0));
        let reopen_rate = (w.resolved > 0).then(|| (w.reopened as f64 / w.resolved as f64).clamp(0.0, 1.0));
        if w.due <= 0 && w.resolved <= 0 {
            return HandlingScore { mean_hours, overdue_share, reopen_rate, score: 100.0 };
        }
        let timing = match mean_hours {
            None => 0.0,
            Some(h) => ((ZERO_MARKS_HOURS - h) / (ZERO_MARKS_HOURS - FULL_MARKS_HOURS)).clamp(0.0, 1.0),
        };
        let score =
            100.0 * (0.4 * timing + 0.4 * (1.0 - overdue_share.unwrap_or(0.0)) + 0.2 * (1.0 - reopen_rate.unwrap_or(0.0)));
        HandlingScore { mean_hours, overdue_share, reopen_rate, score }
    }
}

/// The total of the two parts.
pub fn total(quality: &QualityScore, handling: &HandlingScore) -> f64 {
    QUALITY_WEIGHT * quality.score + HANDLING_WEIGHT * handling.score
}

/// 优, 良, 中 or 差.
pub fn grade(score: f64) -> &'static str {
    match score {
        s if s >= 90.0 => "优",
        s if s >= 80.0 => "良",
        s if s >= 60.0 => "中",
        _ => "差",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_weights_the_dimensions() {
        assert_eq!(QualityScore::of(&QualityCounts::default()), None);
        let perfect = QualityCounts { received: 100, accepted: 100, ..Default::default() };
        assert!((QualityScore::of(&perfect).unwrap().score - 100.0).abs() < 1e-9);
        // Half refused and every item late: 0.3×0.5 + 0.2 + 0.2 + 0.15 + 0 = 0.70.
        let poor = QualityCounts { received: 100, accepted: 50, late: 100, ..Default::default() };
        assert!((QualityScore::of(&poor).unwrap().score - 70.0).abs() < 1e-9);
    }

    #[test]
    fn handling_rewards_speed_and_punishes_overdue_and_reopened_orders() {
        assert_eq!(HandlingScore::of(&WorkOrderStats::default()).score, 100.0);
        let fast = WorkOrderStats { resolved: 10, handling_seconds: 10 * 12 * 3600, due: 10, ..Default::default() };
        assert!((HandlingScore::of(&fast).score - 100.0).abs() < 1e-9);
        // 96 h mean: timing 0.5; 2 of 4 overdue; 1 of 2 reopened: 0.4×0.5 + 0.4×0.5 + 0.2×0.5 = 0.5.
        let slow = WorkOrderStats {
            resolved: 2,
            handling_seconds: 2 * 96 * 3600,
            reopened: 1,
            due: 4,
            overdue: 2,
            ..Default::default()
        };
        let h = HandlingScore::of(&slow);
        assert!((h.score - 50.0).abs() < 1e-9, "{h:?}");
        assert_eq!(h.mean_hours, Some(96.0));
        // Due but nothing resolved: no timing marks.
        let stuck = WorkOrderStats { due: 3, overdue: 3, ..Default::default() };
        assert!((HandlingScore::of(&stuck).score - 20.0).abs() < 1e-9);
        assert_eq!((grade(95.0), grade(85.0), grade(60.0), grade(59.9)), ("优", "良", "中", "差"));
    }
}
