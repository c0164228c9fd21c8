//! Roll-out tracking (接入进度): for every city, the institutions the plan expects against those
//! connected and live, measured against the plan's three milestones, with each institution's
//! integration-test status. Pure: the caller reads the registry, keys and activity.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use tongdang_core::{City, ConnectionMode, Institution, InstitutionKind, Level, Ownership};
use tongdang_store::{IntegrationTest, SourceActivity};

/// Which institutions a milestone counts, and how many of them it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// At least one public 三甲 hospital.
    OneTertiaryA,
    /// Every public 三甲 hospital.
    AllTertiaryA,
    /// Essentially all (≥ 95 %) public hospitals of level two and above.
    SecondaryAndAbove,
}

/// A milestone of the plan.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Milestone {
    /// Stable id.
    pub id: &'static str,
    /// The deadline, `yyyymmdd` (end of that day, CST).
    pub deadline: i32,
    /// What the plan says, in Chinese.
    pub label: &'static str,
    /// What it counts.
    pub target: Target,
}

/// The plan's milestones: end of August, October and November 2024.
pub const MILESTONES: [Milestone; 3] = [
    Milestone {
        id: "m1-2024-08",
        deadline: 20240831,
        label: "2024年8月底前，各地市完成1家三甲公立医疗机构接入试点",
        target: Target::OneTertiaryA,
    },
    Milestone {
        id: "m2-2024-10",
        deadline: 20241031,
        label: "2024年10月底前，完成全省三甲公立医疗机构接入",
        target: Target::AllTertiaryA,
    },
    Milestone {
        id: "m3-2024-11",
        deadline: 20241130,
        label: "2024年11月底前，基本完成二级及以上公立医疗机构接入",
        target: Target::SecondaryAndAbove,
    },
];

/// "Essentially all": this share of the expected institutions.
pub const ESSENTIALLY_ALL: f64 = 0.95;

/// One institution's roll-out status.
#[derive(Debug, Clone, Serialize)]
pub struct InstitutionStatus {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// City code.
    pub city: String,
    /// Level code.
    pub level: String,
    /// Ownership code.
    pub ownership: String,
    /// Kind code.
    pub kind: String,
    /// Connection mode code.
    pub connection: String,
    /// Holds a key, connects through a city platform that holds one, or has had data accepted.
    pub connected: bool,
    /// First day with accepted data (went live), `YYYY-MM-DD`.
    pub live_since: Option<String>,
    /// Last day with accepted data.
    pub last_active: Option<String>,
    /// Integration test: `not_started`, `testing`, `passed`, `failed`.
    pub integration_test: String,
    /// The operator's note on it.
    pub integration_note: String,
}

/// A milestone as one city stands against it.
#[derive(Debug, Clone, Serialize)]
pub struct MilestoneStatus {
    /// Its id.
    pub id: &'static str,
    /// Deadline, `YYYY-MM-DD`.
    pub deadline: String,
    /// Institutions it needs live.
    pub needed: usize,
    /// Institutions it counts.
    pub expected: usize,
    /// Of those, live by the deadline.
    pub live_by_deadline: usize,
    /// Of those, live now.
    pub live_now: usize,
    /// `met`, `met_late`, `missed`, `pending`, or `not_applicable` (none registered to count).
    pub status: &'static str,
    /// The day the need was first met.
    pub achieved_on: Option<String>,
}

/// Institutions by level and ownership: expected (registered), connected, live.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Registered.
    pub expected: usize,
    /// Connected.
    pub connected: usize,
    /// Live.
    pub live: usize,
    /// Integration test passed.
    pub tested: usize,
}

/// One city's roll-out.
#[derive(Debug, Clone, Serialize)]
pub struct CityRollout {
    /// City code.
    pub city: String,
    /// Its name.
    pub name: String,
    /// Every data source of the city.
    pub total: Counts,
    /// By `level/ownership`, e.g. `tertiary_a/public`.
    pub by_level: BTreeMap<String, Counts>,
    /// The milestones.
    pub milestones: Vec<MilestoneStatus>,
}

/// A source as the milestones see it: itself, connected, its go-live day, test passed.
type Standing<'a> = (&'a Institution, bool, Option<i32>, bool);

fn day_text(day: i32) -> String {
    format!("{:04}-{:02}-{:02}", day / 10_000, day / 100 % 100, day % 100)
}

fn counted(target: Target, i: &Institution) -> bool {
    let public_hospital = i.kind == InstitutionKind::Hospital && i.ownership == Ownership::Public;
    match target {
        Target::OneTertiaryA | Target::AllTertiaryA => public_hospital && i.level == Level::TertiaryA,
        Target::SecondaryAndAbove => public_hospital && i.level != Level::Primary,
    }
}

fn needed(target: Target, expected: usize) -> usize {
    match target {
        Target::OneTertiaryA => 1,
        Target::AllTertiaryA => expected.max(1),
        Target::SecondaryAndAbove => ((expected as f64 * ESSENTIALLY_ALL).ceil() as usize).max(1),
    }
}

/// Data sources: what the plan counts (platforms are channels, not sources).
fn is_source(i: &Institution) -> bool {
    matches!(
        i.kind,
        InstitutionKind::Hospital | InstitutionKind::PublicHealth | InstitutionKind::BloodCentre | InstitutionKind::ExamCentre
    )
}

/// The status of every source, and of every city (of `only`, when given) against the plan, on `today` (`yyyymmdd`).
pub fn rollout(
    institutions: &[Institution],
    keyed: &HashSet<String>,
    activity: &[SourceActivity],
    tests: &[IntegrationTest],
    today: i32,
    only: Option<City>,
) -> (Vec<CityRollout>, Vec<InstitutionStatus>) {
    let activity: HashMap<&str, &SourceActivity> = activity.iter().map(|a| (a.institution.as_str(), a)).collect();
    let tests: HashMap<&str, &IntegrationTest> = tests.iter().map(|t| (t.institution.as_str(), t)).collect();
    let keyed_platform: HashSet<City> = institutions
        .iter()
        .filter(|i| i.kind == InstitutionKind::CityPlatform && keyed.contains(i.code.as_str()))
        .map(|i| i.city)
        .collect();

    let mut statuses = Vec::new();
    let mut per_city: BTreeMap<City, Vec<Standing<'_>>> = BTreeMap::new();
    for c in City::ALL.iter().filter(|c| only.is_none_or(|o| o == **c)) {
        per_city.insert(*c, Vec::new());
    }
    for i in institutions.iter().filter(|i| is_source(i) && only.is_none_or(|o| o == i.city)) {
        let code = i.code.as_str();
        let act = activity.get(code);
        // Data accepted means it connected, whatever channel (a file import, say) it came by.
        let connected = keyed.contains(code)
            || (i.connection == ConnectionMode::ViaCityPlatform && keyed_platform.contains(&i.city))
            || act.is_some();
        let test = tests.get(code);
        let passed = test.is_some_and(|t| t.status == "passed");
        per_city.entry(i.city).or_default().push((i, connected, act.map(|a| a.first_day), passed));
        statuses.push(InstitutionStatus {
            code: code.to_string(),
            name: i.name.clone(),
            city: i.city.code().to_string(),
            level: i.level.code().to_string(),
            ownership: i.ownership.code().to_string(),
            kind: i.kind.code().to_string(),
            connection: i.connection.code().to_string(),
            connected,
            live_since: act.map(|a| day_text(a.first_day)),
            last_active: act.map(|a| day_text(a.last_day)),
            integration_test: test.map_or("not_started", |t| t.status.as_str()).to_string(),
            integration_note: test.map(|t| t.note.clone()).unwrap_or_default(),
        });
    }

    let cities = per_city
        .into_iter()
        .map(|(city, members)| {
            let mut total = Counts::default();
            let mut by_level: BTreeMap<String, Counts> = BTreeMap::new();
            for (i, connected, live, passed) in &members {
                for c in [&mut total, by_level.entry(format!("{}/{}", i.level.code(), i.ownership.code())).or_default()] {
                    c.expected += 1;
                    c.connected += usize::from(*connected);
                    c.live += usize::from(live.is_some());
                    c.tested += usize::from(*passed);
                }
            }
            let milestones = MILESTONES
                .iter()
                .map(|m| {
                    let mut days: Vec<i32> =
                        members.iter().filter(|(i, ..)| counted(m.target, i)).filter_map(|(_, _, d, _)| *d).collect();
                    days.sort_unstable();
                    let expected = members.iter().filter(|(i, ..)| counted(m.target, i)).count();
                    let need = needed(m.target, expected);
                    let by_deadline = days.iter().filter(|d| **d <= m.deadline).count();
                    let achieved_on = (expected > 0 && days.len() >= need).then(|| days[need - 1]);
                    let status = match achieved_on {
                        // No such institution is registered in the city: nothing to count.
                        _ if expected == 0 => "not_applicable",
                        Some(d) if d <= m.deadline => "met",
                        Some(_) => "met_late",
                        None if today > m.deadline => "missed",
                        None => "pending",
                    };
                    MilestoneStatus {
                        id: m.id,
                        deadline: day_text(m.deadline),
                        needed: need,
                        expected,
                        live_by_deadline: by_deadline,
                        live_now: days.len(),
                        status,
                        achieved_on: achieved_on.map(day_text),
                    }
                })
                .collect();
            CityRollout { city: city.code().to_string(), name: city.label_zh().to_string(), total, by_level, milestones }
        })
        .collect();
    (cities, statuses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongdang_core::InstitutionCode;

    fn inst(code: &str, level: Level, kind: InstitutionKind, connection: ConnectionMode) -> Institution {
        Institution {
            code: InstitutionCode::new(code).unwrap(),
            name: code.into(),
            city: City::Shantou,
            level,
            ownership: Ownership::Public,
            kind,
            connection,
        }
    }

    #[test]
    fn milestones_count_go_live_days_against_deadlines() {
        use ConnectionMode::*;
        use InstitutionKind::*;
        let institutions = vec![
            inst("TA-0001", Level::TertiaryA, Hospital, Direct),
            inst("TA-0002", Level::TertiaryA, Hospital, ViaCityPlatform),
            inst("SE-0001", Level::Secondary, Hospital, ViaCityPlatform),
            inst("PR-0001", Level::Primary, Hospital, Direct),
            inst("CP-0001", Level::Primary, CityPlatform, Direct),
        ];
        let keyed: HashSet<String> = ["TA-0001", "CP-0001"].iter().map(|s| s.to_string()).collect();
        let act = |c: &str, d: i32| SourceActivity { institution: c.into(), first_day: d, last_day: 20241201 };
        let activity = vec![act("TA-0001", 20240820), act("TA-0002", 20241105)];
        let tests = vec![IntegrationTest { institution: "SE-0001".into(), status: "testing".into(), ..Default::default() }];
        let (cities, statuses) = rollout(&institutions, &keyed, &activity, &tests, 20241201, Some(City::Shantou));
        assert_eq!(cities.len(), 1);
        let c = &cities[0];
        assert_eq!(
            (c.total.expected, c.total.connected, c.total.live),
            (4, 3, 2),
            "the platform is a channel; its members are connected through its key"
        );
        let s: Vec<_> = c.milestones.iter().map(|m| (m.status, m.achieved_on.clone())).collect();
        assert_eq!(s[0], ("met", Some("2024-08-20".into())));
        assert_eq!(s[1], ("met_late", Some("2024-11-05".into())));
        assert_eq!(s[2], ("missed", None), "two of three level-two-and-above is not essentially all");
        assert_eq!(c.milestones[2].needed, 3);
        let se = statuses.iter().find(|s| s.code == "SE-0001").unwrap();
        assert_eq!((se.connected, se.live_since.as_deref(), se.integration_test.as_str()), (true, None, "testing"));
        let before = rollout(&institutions, &keyed, &[], &[], 20240701, Some(City::Shantou)).0;
        assert!(before[0].milestones.iter().all(|m| m.status == "pending"));
    }
}
