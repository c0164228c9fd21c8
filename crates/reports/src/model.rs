//! What a report says, computed from its inputs with no I/O: scores per city and institution,
//! ranked; the trend of the last months; the worst problems per source.

use crate::period::Period;
use crate::score::{self, HandlingScore, QualityScore};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use tongdang_core::{City, Institution, InstitutionKind, Timestamp};
use tongdang_store::{QualityCounts, WorkOrderStats};

/// How many months the trend shows, the period included.
pub const TREND_MONTHS: usize = 6;
/// How many sources the problem list shows.
pub const PROBLEM_SOURCES: usize = 30;
/// How many rules per source it shows.
pub const PROBLEMS_PER_SOURCE: usize = 3;

/// What a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole province: every city.
    Province,
    /// One city and its institutions.
    City(City),
}

impl Scope {
    /// `province` or the city's area code, as reports are stored.
    pub fn key(self) -> String {
        match self {
            Scope::Province => tongdang_store::PROVINCE_SCOPE.to_string(),
            Scope::City(c) => c.area_code().to_string(),
        }
    }

    /// From its stored key.
    pub fn from_key(key: &str) -> Option<Scope> {
        if key == tongdang_store::PROVINCE_SCOPE {
            return Some(Scope::Province);
        }
        City::ALL.iter().find(|c| c.area_code().to_string() == key).map(|c| Scope::City(*c))
    }

    /// `广东省` or the city's name.
    pub fn label_zh(self) -> &'static str {
        match self {
            Scope::Province => "广东省",
            Scope::City(c) => c.label_zh(),
        }
    }

    /// Whether a city is in it.
    pub fn covers(self, city: City) -> bool {
        match self {
            Scope::Province => true,
            Scope::City(c) => c == city,
        }
    }
}

/// Everything a report is computed from.
#[derive(Debug, Clone)]
pub struct ReportInput {
    /// The month.
    pub period: Period,
    /// Province or city.
    pub scope: Scope,
    /// When it is generated.
    pub generated_at: Timestamp,
    /// The institutions registered.
    pub institutions: Vec<Institution>,
    /// Quality counters per institution summed over the period.
    pub quality: Vec<QualityCounts>,
    /// Work-order figures per source over the period.
    pub work_orders: Vec<WorkOrderStats>,
    /// Cities' quality rollups per day over the trend's months.
    pub rollups: Vec<QualityCounts>,
    /// `(institution, rules, count)` of returns opened in the period.
    pub problems: Vec<(String, String, i64)>,
    /// Rule id → its Chinese description.
    pub rule_names: HashMap<String, String>,
}

/// One ranked line: a city or an institution.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreRow {
    /// 1 for the best; `None` when it sent nothing in the period.
    pub rank: Option<u32>,
    /// Institution code or city area code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its city's name.
    pub city: String,
    /// Items received.
    pub received: i64,
    /// Items accepted.
    pub accepted: i64,
    /// Upload quality, when it sent anything.
    pub quality: Option<QualityScore>,
    /// Problem handling.
    pub handling: HandlingScore,
    /// Work orders opened in the period.
    pub orders_opened: i64,
    /// Work orders resolved in the period.
    pub orders_resolved: i64,
    /// The total, when ranked.
    pub total: Option<f64>,
}

/// One month of the trend.
#[derive(Debug, Clone, Serialize)]
pub struct TrendPoint {
    /// The month, `YYYY-MM`.
    pub period: String,
    /// Items received.
    pub received: i64,
    /// Accepted ÷ received.
    pub acceptance: Option<f64>,
    /// Share received in time.
    pub timeliness: Option<f64>,
    /// Upload-quality score.
    pub quality: Option<f64>,
}

/// The worst rules of one source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceProblems {
    /// Institution code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Returns opened in the period.
    pub returns: i64,
    /// `(rule id, description, returns failing it)`, most first.
    pub rules: Vec<(String, String, i64)>,
}

/// Headline figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Items received.
    pub received: i64,
    /// Items accepted.
    pub accepted: i64,
    /// Items returned.
    pub returned: i64,
    /// Institutions that sent data.
    pub reporting_institutions: usize,
    /// Data sources registered in scope.
    pub institutions: usize,
    /// Work orders opened.
    pub orders_opened: i64,
    /// Work orders resolved.
    pub orders_resolved: i64,
    /// Upload quality of the whole scope.
    pub quality: Option<f64>,
    /// Handling efficiency of the whole scope.
    pub handling: f64,
    /// Total of the whole scope.
    pub total: Option<f64>,
}

/// A computed report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `YYYY-MM`.
    pub period: String,
    /// `2024年10月`.
    pub period_zh: String,
    /// `province` or the city's area code.
    pub scope: String,
    /// `广东省` or the city.
    pub scope_zh: String,
    /// When it was generated, RFC 3339 in CST.
    pub generated_at: String,
    /// Headline figures.
    pub totals: Totals,
    /// Cities, ranked (one line in a city report).
    pub cities: Vec<ScoreRow>,
    /// Institutions, ranked, then those that sent nothing.
    pub institutions: Vec<ScoreRow>,
    /// The last months, oldest first.
    pub trend: Vec<TrendPoint>,
    /// The sources with the most returns and their worst rules.
    pub problems: Vec<SourceProblems>,
}

impl Report {
    /// Whether the period holds no data at all.
    pub fn is_empty(&self) -> bool {
        self.totals.received == 0 && self.totals.orders_opened == 0 && self.totals.orders_resolved == 0
    }
}

/// The city of an area code or a city code.
pub fn city_of(key: &str) -> Option<City> {
    key.parse::<City>().ok().or_else(|| City::ALL.iter().find(|c| c.area_code().to_string() == key).copied())
}

fn is_source(i: &Institution) -> bool {
    matches!(
        i.kind,
        InstitutionKind::Hospital | InstitutionKind::PublicHealth | InstitutionKind::BloodCentre | InstitutionKind::ExamCentre
    )
}

fn row(code: String, name: String, city: String, q: &QualityCounts, w: &WorkOrderStats) -> ScoreRow {
    let quality = QualityScore::of(q);
    let handling = HandlingScore::of(w);
    ScoreRow {
        rank: None,
        code,
        name,
        city,
        received: q.received,
        accepted: q.accepted,
        total: quality.as_ref().map(|qs| score::total(qs, &handling)),
        quality,
        handling,
        orders_opened: w.opened,
        orders_resolved: w.resolved,
    }
}

/// Best total first; ties by code so the order is stable. Unranked lines go last.
fn rank(rows: &mut [ScoreRow]) {
    rows.sort_by(|a, b| match (a.total, b.total) {
        (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| a.code.cmp(&b.code)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.city.cmp(&b.city).then_with(|| a.code.cmp(&b.code)),
    });
    // Equal scores as shown (one decimal) share a rank: 1, 1, 3.
    let shown = |t: f64| (t * 10.0).round() as i64;
    let mut previous: Option<(i64, u32)> = None;
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = r.total.map(|t| match previous {
            Some((p, rank)) if p == shown(t) => rank,
            _ => i as u32 + 1,
        });
        if let (Some(t), Some(rank)) = (r.total, r.rank) {
            previous = Some((shown(t), rank));
        }
    }
}

/// Compute the report.
pub fn build(input: &ReportInput) -> Report {
    let scope = input.scope;
    let directory: HashMap<&str, &Institution> = input.institutions.iter().map(|i| (i.code.as_str(), i)).collect();
    let in_scope = |code: &str, city_key: &str| -> Option<City> {
        let city = directory.get(code).map(|i| i.city).or_else(|| city_of(city_key))?;
        scope.covers(city).then_some(city)
    };

    // Per institution: every registered source in scope, plus any that sent data unregistered.
    let mut quality: BTreeMap<String, (City, QualityCounts)> = BTreeMap::new();
    for i in input.institutions.iter().filter(|i| is_source(i) && scope.covers(i.city)) {
        quality.insert(i.code.as_str().to_string(), (i.city, QualityCounts::default()));
    }
    for q in &input.quality {
        if let Some(city) = in_scope(&q.institution, &q.city) {
            quality.entry(q.institution.clone()).or_insert_with(|| (city, QualityCounts::default())).1.add(q);
        }
    }
    let mut orders: HashMap<String, WorkOrderStats> = HashMap::new();
    for w in &input.work_orders {
        if let Some(city) = in_scope(&w.source, &w.city) {
            quality.entry(w.source.clone()).or_insert_with(|| (city, QualityCounts::default()));
            orders.entry(w.source.clone()).or_default().add(w);
        }
    }

    let mut institutions = Vec::with_capacity(quality.len());
    let mut by_city: BTreeMap<City, (QualityCounts, WorkOrderStats)> = BTreeMap::new();
    if let Scope::City(c) = scope {
        by_city.insert(c, Default::default());
    } else {
        for c in City::ALL {
            by_city.insert(*c, Default::default());
        }
    }
    let none = WorkOrderStats::default();
    for (code, (city, q)) in &quality {
        let w = orders.get(code).unwrap_or(&none);
        let name = directory.get(code.as_str()).map_or_else(|| code.clone(), |i| i.name.clone());
        institutions.push(row(code.clone(), name, city.label_zh().to_string(), q, w));
        let c = by_city.entry(*city).or_default();
        c.0.add(q);
        c.1.add(w);
    }
    rank(&mut institutions);

    let mut totals = Totals { institutions: quality.len(), ..Default::default() };
    let (mut all_q, mut all_w) = (QualityCounts::default(), WorkOrderStats::default());
    let mut cities = Vec::with_capacity(by_city.len());
    for (city, (q, w)) in &by_city {
        cities.push(row(city.area_code().to_string(), city.label_zh().to_string(), city.label_zh().to_string(), q, w));
        all_q.add(q);
        all_w.add(w);
    }
    rank(&mut cities);
    let overall = row(String::new(), String::new(), String::new(), &all_q, &all_w);
    totals.received = all_q.received;
    totals.accepted = all_q.accepted;
    totals.returned = all_q.returned;
    totals.reporting_institutions = institutions.iter().filter(|r| r.received > 0).count();
    totals.orders_opened = all_w.opened;
    totals.orders_resolved = all_w.resolved;
    totals.quality = overall.quality.map(|q| q.score);
    totals.handling = overall.handling.score;
    totals.total = overall.total;

    Report {
        period: input.period.to_string(),
        period_zh: input.period.label_zh(),
        scope: scope.key(),
        scope_zh: scope.label_zh().to_string(),
        generated_at: input.generated_at.to_rfc3339_cst(),
        totals,
        cities,
        institutions,
        trend: trend(input),
        problems: problems(input, &directory, &in_scope),
    }
}

fn trend(input: &ReportInput) -> Vec<TrendPoint> {
    let months = input.period.trailing(TREND_MONTHS);
    let mut sums: BTreeMap<Period, QualityCounts> = months.iter().map(|m| (*m, QualityCounts::default())).collect();
    for r in &input.rollups {
        let Some(city) = city_of(&r.city) else { continue };
        if !input.scope.covers(city) {
            continue;
        }
        let month = Period { year: r.day / 10_000, month: (r.day / 100 % 100) as u8 };
        if let Some(s) = sums.get_mut(&month) {
            s.add(r);
        }
    }
    sums.into_iter()
        .map(|(p, q)| {
            let s = QualityScore::of(&q);
            TrendPoint {
                period: p.to_string(),
                received: q.received,
                acceptance: s.map(|s| s.acceptance),
                timeliness: s.map(|s| s.timeliness),
                quality: s.map(|s| s.score),
            }
        })
        .collect()
}

fn problems(
    input: &ReportInput,
    directory: &HashMap<&str, &Institution>,
    in_scope: &dyn Fn(&str, &str) -> Option<City>,
) -> Vec<SourceProblems> {
    // A return fails one or more rules (space separated): each rule it fails counts it once.
    let mut per_source: HashMap<&str, (i64, HashMap<&str, i64>)> = HashMap::new();
    for (institution, rules, count) in &input.problems {
        if in_scope(institution, "").is_none() {
            continue;
        }
        let e = per_source.entry(institution.as_str()).or_default();
        e.0 += count;
        for rule in rules.split_whitespace() {
            *e.1.entry(rule).or_default() += count;
        }
    }
    let mut out: Vec<SourceProblems> = per_source
        .into_iter()
        .map(|(code, (returns, rules))| {
            let mut rules: Vec<(String, String, i64)> = rules
                .into_iter()
                .map(|(r, n)| (r.to_string(), input.rule_names.get(r).cloned().unwrap_or_default(), n))
                .collect();
            rules.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
            rules.truncate(PROBLEMS_PER_SOURCE);
            let name = directory.get(code).map_or_else(|| code.to_string(), |i| i.name.clone());
            SourceProblems { code: code.to_string(), name, returns, rules }
        })
        .collect();
    out.sort_by(|a, b| b.returns.cmp(&a.returns).then_with(|| a.code.cmp(&b.code)));
    out.truncate(PROBLEM_SOURCES);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongdang_core::{ConnectionMode, InstitutionCode, Level, Ownership};

    fn hospital(code: &str, name: &str, city: City) -> Institution {
        Institution {
            code: InstitutionCode::new(code).unwrap(),
            name: name.into(),
            city,
            level: Level::TertiaryA,
            ownership: Ownership::Public,
            kind: InstitutionKind::Hospital,
            connection: ConnectionMode::Direct,
        }
    }

    fn input() -> ReportInput {
        ReportInput {
            period: "2024-10".parse().unwrap(),
            scope: Scope::Province,
            generated_at: Timestamp(1_730_000_000_000_000),
            institutions: vec![
                hospital("HOSP-1", "甲医院", City::Guangzhou),
                hospital("HOSP-2", "乙医院", City::Shenzhen),
                hospital("HOSP-3", "丙医院", City::Shenzhen),
            ],
            quality: vec![
                QualityCounts {
                    institution: "HOSP-1".into(),
                    city: "440100".into(),
                    received: 100,
                    accepted: 100,
                    ..Default::default()
                },
                QualityCounts {
                    institution: "HOSP-2".into(),
                    city: "440300".into(),
                    received: 100,
                    accepted: 80,
                    late: 50,
                    ..Default::default()
                },
            ],
            work_orders: vec![WorkOrderStats {
                source: "HOSP-1".into(),
                city: "guangzhou".into(),
                opened: 2,
                due: 2,
                overdue: 2,
                ..Default::default()
            }],
            rollups: vec![
                QualityCounts {
                    institution: "city:440100".into(),
                    city: "440100".into(),
                    day: 20241003,
                    received: 100,
                    accepted: 100,
                    ..Default::default()
                },
                QualityCounts {
                    institution: "city:440300".into(),
                    city: "440300".into(),
                    day: 20240901,
                    received: 10,
                    accepted: 5,
                    ..Default::default()
                },
            ],
            problems: vec![
                ("HOSP-2".into(), "QC-LAB-003 QC-OBS-001".into(), 7),
                ("HOSP-2".into(), "QC-LAB-003".into(), 3),
                ("HOSP-1".into(), "QC-X".into(), 1),
            ],
            rule_names: [("QC-LAB-003".to_string(), "定量结果须使用UCUM计量单位".to_string())].into(),
        }
    }

    #[test]
    fn ranks_institutions_and_cities_and_leaves_silent_sources_unranked() {
        let r = build(&input());
        let ranked: Vec<_> = r.institutions.iter().map(|i| (i.code.as_str(), i.rank)).collect();
        // H1: quality 100, handling 20 (two overdue, none resolved) → 76; H2: quality 86.5 → 90.55.
        assert_eq!(ranked, [("HOSP-2", Some(1)), ("HOSP-1", Some(2)), ("HOSP-3", None)]);
        assert!((r.institutions[1].total.unwrap() - 76.0).abs() < 1e-9);
        assert_eq!(r.cities.len(), 21);
        assert_eq!((r.cities[0].name.as_str(), r.cities[0].rank), ("深圳市", Some(1)));
        assert_eq!(r.cities.iter().filter(|c| c.rank.is_some()).count(), 2);
        assert_eq!((r.totals.received, r.totals.reporting_institutions, r.totals.institutions), (200, 2, 3));
        assert_eq!(r.trend.len(), TREND_MONTHS);
        assert_eq!((r.trend[4].period.as_str(), r.trend[4].acceptance), ("2024-09", Some(0.5)));
        assert_eq!(r.trend[5].received, 100);
        assert_eq!(r.problems[0].code, "HOSP-2");
        assert_eq!(r.problems[0].returns, 10);
        assert_eq!(r.problems[0].rules[0], ("QC-LAB-003".into(), "定量结果须使用UCUM计量单位".into(), 10));
        assert!(!r.is_empty());
    }

    #[test]
    fn a_city_report_keeps_to_its_city_and_an_empty_period_is_a_valid_report() {
        let mut i = input();
        i.scope = Scope::City(City::Shenzhen);
        let r = build(&i);
        assert_eq!(r.institutions.len(), 2);
        assert_eq!(r.cities.len(), 1);
        assert!(r.problems.iter().all(|p| p.code == "HOSP-2"));
        assert_eq!(r.trend[5].received, 0);

        let empty = ReportInput { quality: vec![], work_orders: vec![], rollups: vec![], problems: vec![], ..input() };
        let r = build(&empty);
        assert!(r.is_empty());
        assert!(r.institutions.iter().all(|i| i.rank.is_none()));
        assert_eq!(r.totals.quality, None);
    }
}
