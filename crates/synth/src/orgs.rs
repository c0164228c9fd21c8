//! Institutions: hospitals of every grade, community health centres, and each city's
//! physical-exam centre, public-health institution and blood centre.

use std::collections::HashSet;

use rand::RngExt;
use tongdang_core::institution::uscc_check_char;
use tongdang_core::{ConnectionMode, Institution, InstitutionCode, InstitutionKind, Level, Ownership};

use crate::data::{self, CITIES, CityData, District};
use crate::util::{SynthRng, pick};

/// What an institution does in the simulation; finer than [`Level`] and [`InstitutionKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    TertiaryA,
    Tertiary,
    Secondary,
    Primary,
    Exam,
    PublicHealth,
    Blood,
}

impl Tier {
    pub fn is_hospital(self) -> bool {
        matches!(self, Tier::TertiaryA | Tier::Tertiary | Tier::Secondary)
    }
}

/// Generator-side facts about an institution, parallel to `Province::institutions`.
#[derive(Debug)]
pub(crate) struct Site {
    pub city: usize,
    /// Index into the city's districts, for institutions that serve one.
    pub district: Option<usize>,
    pub tier: Tier,
    /// Prefix of the institution's own patient numbers.
    pub local_prefix: &'static str,
    pub local_base: u32,
    /// Some systems export only `name.text`, not family and given names.
    pub name_text_only: bool,
    /// Some systems do not capture the health code.
    pub omit_health_code: bool,
}

/// The name stem of a district, used in hospital names: 台山市 stays, 南海区 becomes 佛山市南海区,
/// and 东莞's 虎门镇 becomes 东莞市虎门.
fn district_prefix(cd: &CityData, d: &District) -> String {
    if d.subs.is_empty() {
        let stem = d.name.trim_end_matches("街道").trim_end_matches('镇');
        format!("{}{}", cd.city.label_zh(), stem)
    } else if d.name.ends_with('市') || d.name.ends_with('县') {
        d.name.to_owned()
    } else {
        format!("{}{}", cd.city.label_zh(), d.name)
    }
}

fn primary_name(cd: &CityData, d: &District, sub: Option<&str>) -> String {
    let prefix = if d.name.ends_with('市') || d.name.ends_with('县') {
        d.name.to_owned()
    } else {
        format!("{}{}", cd.city.label_zh(), d.name)
    };
    match sub {
        None => format!("{prefix}社区卫生服务中心"),
        Some(s) if s.ends_with('镇') => format!("{prefix}{s}卫生院"),
        Some(s) => format!("{prefix}{s}社区卫生服务中心"),
    }
}

/// Names considered the same institution: 中医院 and 中医医院 are two spellings of one.
fn name_key(name: &str) -> String {
    name.replace("中医医院", "中医院")
}

const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// An organization code (GB 11714): 8 characters and a check character.
fn organization_code(rng: &mut SynthRng) -> String {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let mut code = String::with_capacity(9);
    // Public institutions' codes mostly begin with 4 in Guangdong.
    code.push(if rng.random_bool(0.7) { '4' } else { char::from(b'0' + rng.random_range(0..10u8)) });
    for _ in 0..7 {
        code.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    let sum: u32 = code.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    code.push(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from(b'0' + n as u8),
    });
    code
}

/// A unified social credit code: registration authority and type (12 public institution, 52
/// private non-enterprise unit), area code, organization code, GB 32100 check character.
fn uscc(rng: &mut SynthRng, public: bool, area: u32, taken: &mut HashSet<String>) -> InstitutionCode {
    loop {
        let first17 = format!("{}{:06}{}", if public { "12" } else { "52" }, area, organization_code(rng));
        debug_assert!(first17.bytes().all(|b| USCC_CHARS.contains(&b)));
        let Some(check) = uscc_check_char(&first17) else {
            continue;
        };
        let code = format!("{first17}{check}");
        if taken.insert(code.clone())
            && let Ok(code) = InstitutionCode::new(&code)
        {
            return code;
        }
    }
}

struct Builder<'r> {
    rng: &'r mut SynthRng,
    names: HashSet<String>,
    codes: HashSet<String>,
    institutions: Vec<Institution>,
    sites: Vec<Site>,
}

impl Builder<'_> {
    /// Adds an institution unless its name is taken; returns whether it was added.
    fn add(&mut self, city: usize, district: Option<usize>, tier: Tier, name: String, public: bool) -> bool {
        if !self.names.insert(name_key(&name)) {
            return false;
        }
        let cd = &CITIES[city];
        let area = match district {
            Some(d) if matches!(tier, Tier::Secondary | Tier::Primary) => cd.districts[d].code,
            _ if name.starts_with("广东省") => 440000,
            _ => cd.city.area_code(),
        };
        let code = uscc(self.rng, public, area, &mut self.codes);
        let (level, kind) = match tier {
            Tier::TertiaryA => (Level::TertiaryA, InstitutionKind::Hospital),
            Tier::Tertiary => (Level::Tertiary, InstitutionKind::Hospital),
            Tier::Secondary => (Level::Secondary, InstitutionKind::Hospital),
            Tier::Primary => (Level::Primary, InstitutionKind::Hospital),
            Tier::Exam => (Level::Primary, InstitutionKind::ExamCentre),
            Tier::PublicHealth if name.ends_with("妇幼保健院") => (Level::Tertiary, InstitutionKind::PublicHealth),
            Tier::PublicHealth => (Level::Secondary, InstitutionKind::PublicHealth),
            Tier::Blood => (Level::Secondary, InstitutionKind::BloodCentre),
        };
        // Small institutions tend to reach the province through their city's platform.
        let via_city = match tier {
            Tier::TertiaryA => 0.1,
            Tier::Tertiary => 0.15,
            Tier::Secondary => 0.3,
            Tier::Primary => 0.6,
            _ => 0.2,
        };
        let connection = if self.rng.random_bool(via_city) { ConnectionMode::ViaCityPlatform } else { ConnectionMode::Direct };
        let local_prefix = match tier {
            Tier::TertiaryA | Tier::Tertiary | Tier::Secondary => "MRN",
            Tier::Primary => "JM",
            Tier::Exam => "TJ",
            Tier::PublicHealth => "YM",
            Tier::Blood => "XY",
        };
        self.institutions.push(Institution {
            code,
            name,
            city: cd.city,
            level,
            ownership: if public { Ownership::Public } else { Ownership::Private },
            kind,
            connection,
        });
        self.sites.push(Site {
            city,
            district,
            tier,
            local_prefix,
            local_base: self.rng.random_range(10_000_000..60_000_000),
            name_text_only: self.rng.random_bool(0.25),
            omit_health_code: self.rng.random_bool(0.2),
        });
        true
    }

    fn city(&mut self, ci: usize) {
        let cd = &CITIES[ci];
        let city = cd.city.label_zh();
        let templates_a =
            [format!("{city}人民医院"), format!("{city}第一人民医院"), format!("{city}中医院"), format!("{city}中心医院")];
        let n = self.rng.random_range(2..=4);
        let mut added = 0;
        for name in cd.top_hospitals.iter().map(|s| (*s).to_owned()).chain(templates_a) {
            if added == n {
                break;
            }
            if self.add(ci, None, Tier::TertiaryA, name, true) {
                added += 1;
            }
        }

        let templates_3 = [
            format!("{city}第二人民医院"),
            format!("{city}第三人民医院"),
            format!("{city}中西医结合医院"),
            format!("{city}第四人民医院"),
            format!("{city}骨伤科医院"),
        ];
        let mut added = 0;
        for name in templates_3 {
            if added == 2 {
                break;
            }
            if self.add(ci, None, Tier::Tertiary, name, true) {
                added += 1;
            }
        }

        let n = self.rng.random_range(3..=5);
        let mut added = 0;
        let mut attempts = 0;
        while added < n && attempts < 50 {
            attempts += 1;
            let di = self.rng.random_range(0..cd.districts.len());
            let (name, public) = if self.rng.random_bool(0.3) {
                (format!("{city}{}医院", pick(self.rng, data::PRIVATE_BRANDS)), false)
            } else {
                let prefix = district_prefix(cd, &cd.districts[di]);
                let suffix = *pick(self.rng, &["人民医院", "人民医院", "中医院", "第二人民医院"]);
                (format!("{prefix}{suffix}"), true)
            };
            if self.add(ci, Some(di), Tier::Secondary, name, public) {
                added += 1;
            }
        }

        let n = self.rng.random_range(4..=6);
        let mut added = 0;
        let mut attempts = 0;
        while added < n && attempts < 50 {
            attempts += 1;
            let di = self.rng.random_range(0..cd.districts.len());
            let d = &cd.districts[di];
            let sub = (!d.subs.is_empty()).then(|| *pick(self.rng, d.subs));
            if self.add(ci, Some(di), Tier::Primary, primary_name(cd, d, sub), true) {
                added += 1;
            }
        }

        let exam = if self.rng.random_bool(0.4) {
            (format!("{city}{}健康体检中心", pick(self.rng, data::PRIVATE_BRANDS)), false)
        } else {
            (format!("{city}健康体检中心"), true)
        };
        self.add(ci, None, Tier::Exam, exam.0, exam.1);
        let ph =
            if self.rng.random_bool(0.7) { format!("{city}疾病预防控制中心") } else { format!("{city}妇幼保健院") };
        self.add(ci, None, Tier::PublicHealth, ph, true);
        let blood = cd.blood_centre.map_or_else(|| format!("{city}中心血站"), str::to_owned);
        self.add(ci, None, Tier::Blood, blood, true);
    }
}

/// Every institution of the province, with its generator-side facts.
pub(crate) fn generate(rng: &mut SynthRng) -> (Vec<Institution>, Vec<Site>) {
    let mut b = Builder { rng, names: HashSet::new(), codes: HashSet::new(), institutions: Vec::new(), sites: Vec::new() };
    for ci in 0..CITIES.len() {
        b.city(ci);
    }
    (b.institutions, b.sites)
}
