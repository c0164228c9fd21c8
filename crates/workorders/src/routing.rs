//! Where a work order goes: straight to the data source, or — when the source connects through
//! a fused city platform — to that platform, which coordinates. When the handler's deadline
//! passes it moves up: institution → city → province.

use serde::{Deserialize, Serialize};
use tongdang_core::{ConnectionMode, Institution};

/// The level a work order is assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The data source institution.
    Institution,
    /// The city's platform.
    City,
    /// The provincial platform.
    Province,
}

impl Level {
    /// The stored word.
    pub fn code(self) -> &'static str {
        match self {
            Level::Institution => "institution",
            Level::City => "city",
            Level::Province => "province",
        }
    }

    /// From the stored word.
    pub fn parse(s: &str) -> Option<Level> {
        [Level::Institution, Level::City, Level::Province].into_iter().find(|l| l.code() == s)
    }
}

/// An assignment: the level, and at that level who (an institution code, a city code, or the
/// province).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The level.
    pub level: Level,
    /// An institution code, a city code, or `province`.
    pub assignee: String,
}

/// The first assignee of a work order about `source`'s data.
pub fn route(source: &Institution) -> Route {
    match source.connection {
        ConnectionMode::Direct => Route { level: Level::Institution, assignee: source.code.as_str().to_string() },
        ConnectionMode::ViaCityPlatform => Route { level: Level::City, assignee: source.city.code().to_string() },
    }
}

/// How long each level has before an order it has not resolved moves up (hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// An institution's time.
    pub institution_hours: i64,
    /// A city platform's time.
    pub city_hours: i64,
    /// The province's time (it does not escalate further; overdue is counted).
    pub province_hours: i64,
}

impl Default for Deadlines {
    fn default() -> Deadlines {
        Deadlines { institution_hours: 72, city_hours: 120, province_hours: 168 }
    }
}

impl Deadlines {
    /// Hours a level has.
    pub fn hours(&self, level: Level) -> i64 {
        match level {
            Level::Institution => self.institution_hours,
            Level::City => self.city_hours,
            Level::Province => self.province_hours,
        }
    }
}

/// The next assignee of an overdue order at `route` about `source`'s data (`None`: it is at the
/// province already).
pub fn escalate(route: &Route, source: Option<&Institution>) -> Option<Route> {
    match route.level {
        Level::Institution => source.map(|s| Route { level: Level::City, assignee: s.city.code().to_string() }),
        Level::City => Some(Route { level: Level::Province, assignee: "province".into() }),
        Level::Province => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongdang_core::{City, InstitutionCode, InstitutionKind, Level as Grade, Ownership};

    fn hospital(connection: ConnectionMode) -> Institution {
        Institution {
            code: InstitutionCode::new("12440100MB1234567X").unwrap(),
            name: "广州市测试医院".into(),
            city: City::Guangzhou,
            level: Grade::TertiaryA,
            ownership: Ownership::Public,
            kind: InstitutionKind::Hospital,
            connection,
        }
    }

    #[test]
    fn direct_sources_get_their_orders_fused_cities_coordinate() {
        let direct = hospital(ConnectionMode::Direct);
        assert_eq!(route(&direct), Route { level: Level::Institution, assignee: "12440100MB1234567X".into() });
        let fused = hospital(ConnectionMode::ViaCityPlatform);
        assert_eq!(route(&fused), Route { level: Level::City, assignee: City::Guangzhou.code().into() });
    }

    #[test]
    fn escalation_climbs_to_the_province_and_stops() {
        let source = hospital(ConnectionMode::Direct);
        let city = escalate(&route(&source), Some(&source)).unwrap();
        assert_eq!(city.level, Level::City);
        let province = escalate(&city, Some(&source)).unwrap();
        assert_eq!(province, Route { level: Level::Province, assignee: "province".into() });
        assert_eq!(escalate(&province, Some(&source)), None);
        assert_eq!(Deadlines::default().hours(Level::Institution), 72);
    }
}
