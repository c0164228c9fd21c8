//! A deterministic synthetic Guangdong province for the demo and the benchmarks.
//!
//! [`Province::generate`] builds the institutions of all 21 cities and a population of residents
//! with realistic names, ID numbers, health codes and health histories, and decides which
//! institutions know each resident. [`Province::submissions`] then renders, lazily and one
//! institution at a time, what each institution would send to the platform: FHIR R4 resources as
//! NDJSON lines, each institution naming patients by its own local ids. [`bench_stream`] produces
//! an endless-looking stream of the same resources for a single institution with flat memory.
//!
//! Everything depends on the seed alone: every part of the output has its own ChaCha8 generator
//! derived from the seed, so output can be produced lazily and in any order yet never changes.

mod codes;
mod data;
mod emit;
mod mpi_eval;
mod orgs;
mod people;
mod util;

use rand::RngExt;
use time::Date;
use tongdang_core::{City, Institution, InstitutionCode};

use emit::{Ctx, Emitter, Role};
use orgs::{Site, Tier};
use people::Profile;
use util::{SynthRng, age_on, jd, sub_rng};

pub use mpi_eval::{MpiEvalSet, mpi_eval_set};

/// Independent generator streams, so that changing one part leaves the others as they were.
const STREAM_INSTITUTIONS: u64 = 1;
const STREAM_RESIDENT: u64 = 2;
const STREAM_LINKS: u64 = 3;
const STREAM_PAIR: u64 = 4;
const STREAM_BENCH: u64 = 5;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthConfig {
    /// Number of residents.
    pub residents: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Years of history before `today`.
    pub years: u32,
    /// The generator's "now": nothing happens after this day.
    pub today: Date,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig { residents: 2000, seed: 20241001, years: 8, today: time::macros::date!(2026 - 11 - 26) }
    }
}

/// A resident of the province as the population register knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resident {
    /// Full name in Chinese (e.g. 陈志明, 欧阳娜, 买买提·艾力).
    pub name: String,
    /// Sex: `true` for male.
    pub male: bool,
    /// Date of birth.
    pub birth_date: Date,
    /// 居民身份证号; `None` for infants not yet registered.
    pub national_id: Option<String>,
    /// 居民电子健康码: 64 lower-case hex characters.
    pub health_code: String,
    /// Mobile number, 11 digits.
    pub phone: String,
    /// Home city.
    pub city: City,
    /// Home district (or, in 东莞 and 中山, town).
    pub district: String,
    /// Full postal address.
    pub address: String,
}

/// What one institution submits: NDJSON lines, each one FHIR R4 resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The submitting institution.
    pub institution: InstitutionCode,
    /// One compact JSON resource per line, each Patient before the resources that refer to it.
    pub lines: Vec<String>,
}

/// One resident known to one institution, and what the institution does for them.
#[derive(Debug, Clone, Copy)]
struct Link {
    resident: u32,
    local_no: u32,
    role: Role,
}

/// The synthetic province: institutions, residents, and who has seen whom.
pub struct Province {
    /// Every institution, city by city.
    pub institutions: Vec<Institution>,
    /// Every resident.
    pub residents: Vec<Resident>,
    sites: Vec<Site>,
    profiles: Vec<Profile>,
    /// For each institution, its patients in registration order.
    links: Vec<Vec<Link>>,
    config: SynthConfig,
}

impl std::fmt::Debug for Province {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Province")
            .field("institutions", &self.institutions.len())
            .field("residents", &self.residents.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The first day of a person's history: the window start, or birth if later.
fn window_start(birth: i32, today: i32, years: u32) -> i32 {
    (today - (f64::from(years) * 365.25) as i32).max(birth).min(today)
}

/// Institutions of one city grouped by what they do.
#[derive(Default)]
struct CitySites {
    hospitals: Vec<usize>,
    tertiary_a: Vec<usize>,
    primary: Vec<usize>,
    public_health: Option<usize>,
    exam: Option<usize>,
    blood: Option<usize>,
}

impl Province {
    /// Generates the province for `config`; the clinical records are rendered later, lazily.
    pub fn generate(config: &SynthConfig) -> Province {
        let today = jd(config.today);
        let (institutions, sites) = orgs::generate(&mut sub_rng(config.seed, STREAM_INSTITUTIONS, 0, 0));
        let mut residents = Vec::with_capacity(config.residents);
        let mut profiles = Vec::with_capacity(config.residents);
        for i in 0..config.residents {
            let mut rng = sub_rng(config.seed, STREAM_RESIDENT, i as u64, 0);
            let city = people::sample_city(&mut rng);
            let (r, p) = people::generate(&mut rng, city, today);
            residents.push(r);
            profiles.push(p);
        }
        let mut by_city: Vec<CitySites> = (0..data::CITIES.len()).map(|_| CitySites::default()).collect();
        for (i, s) in sites.iter().enumerate() {
            let cs = &mut by_city[s.city];
            match s.tier {
                Tier::TertiaryA => {
                    cs.tertiary_a.push(i);
                    cs.hospitals.push(i);
                }
                Tier::Tertiary | Tier::Secondary => cs.hospitals.push(i),
                Tier::Primary => cs.primary.push(i),
                Tier::Exam => cs.exam = Some(i),
                Tier::PublicHealth => cs.public_health = Some(i),
                Tier::Blood => cs.blood = Some(i),
            }
        }
        let mut links: Vec<Vec<Link>> = vec![Vec::new(); sites.len()];
        for (i, p) in profiles.iter().enumerate() {
            let mut rng = sub_rng(config.seed, STREAM_LINKS, i as u64, 0);
            for (site, role) in assign(&mut rng, p, &by_city, &sites, &institutions, today, config.years) {
                let list = &mut links[site];
                // Patient numbers grow with registration but are not consecutive.
                let local_no = sites[site].local_base + 3 * list.len() as u32 + rng.random_range(0..3);
                list.push(Link { resident: i as u32, local_no, role });
            }
        }
        Province { institutions, residents, sites, profiles, links, config: *config }
    }

    /// Lazily yields every submission: for each institution with patients, a batch of NDJSON lines.
    pub fn submissions(&self) -> impl Iterator<Item = Submission> + '_ {
        (0..self.institutions.len()).filter(|&i| !self.links[i].is_empty()).map(move |i| self.render(i))
    }

    /// Exact number of lines [`Province::submissions`] yields (computed by rendering them).
    pub fn resource_count(&self) -> usize {
        self.submissions().map(|s| s.lines.len()).sum()
    }

    fn render(&self, site: usize) -> Submission {
        let inst = &self.institutions[site];
        let s = &self.sites[site];
        let today = jd(self.config.today);
        let mut em = Emitter::default();
        for link in &self.links[site] {
            let r = link.resident as usize;
            let profile = &self.profiles[r];
            let ctx = Ctx {
                code: inst.code.as_str(),
                name: &inst.name,
                tier: s.tier,
                text_only_name: s.name_text_only,
                omit_health_code: s.omit_health_code,
                resident: &self.residents[r],
                profile,
                local_id: format!("{}{}", s.local_prefix, link.local_no),
                start: window_start(profile.birth, today, self.config.years),
                today,
            };
            let mut rng = sub_rng(self.config.seed, STREAM_PAIR, site as u64, u64::from(link.resident));
            em.pair(&ctx, &mut rng, link.role);
        }
        Submission { institution: inst.code.clone(), lines: em.lines }
    }
}

/// Which institutions know a resident and in what role: a community health centre near home, one
/// to three hospitals of the home city (the first is where they usually go), sometimes a 三甲 in
/// 广州 or 深圳, a physical-exam centre, where they are vaccinated, the blood centre if they donate.
fn assign(
    rng: &mut SynthRng,
    p: &Profile,
    by_city: &[CitySites],
    sites: &[Site],
    institutions: &[Institution],
    today: i32,
    years: u32,
) -> Vec<(usize, Role)> {
    let cs = &by_city[p.city];
    let age = age_on(p.birth, today);
    let chronic = p.chronic.len();
    let mut roles: Vec<(usize, Role)> = Vec::new();

    let near_home = |rng: &mut SynthRng| -> Option<usize> {
        let local: Vec<usize> = cs.primary.iter().copied().filter(|&s| sites[s].district == Some(p.district)).collect();
        let pool = if local.is_empty() { &cs.primary } else { &local };
        (!pool.is_empty()).then(|| pool[rng.random_range(0..pool.len())])
    };
    let primary_p = if chronic > 0 {
        0.8
    } else if age < 7 {
        0.6
    } else {
        0.4
    };
    let primary = if rng.random_bool(primary_p) { near_home(rng) } else { None };

    let n_hospitals = if chronic > 0 || age >= 65 {
        1 + usize::from(rng.random_bool(0.5)) + usize::from(rng.random_bool(0.2))
    } else if rng.random_bool(0.85) {
        1 + usize::from(rng.random_bool(0.35)) + usize::from(rng.random_bool(0.1))
    } else {
        0
    };
    let mut weights: Vec<f64> = cs
        .hospitals
        .iter()
        .map(|&h| {
            let w = match (sites[h].tier, institutions[h].ownership) {
                (Tier::TertiaryA, _) => 45.0,
                (Tier::Tertiary, _) => 20.0,
                (_, tongdang_core::Ownership::Private) => 12.0,
                _ => 30.0,
            };
            if sites[h].district.is_some_and(|d| d == p.district) { w * 2.0 } else { w }
        })
        .collect();
    let mut hospitals = Vec::new();
    for _ in 0..n_hospitals {
        if let Some(k) = util::pick_index(rng, &weights) {
            weights[k] = 0.0;
            hospitals.push(cs.hospitals[k]);
        }
    }
    if hospitals.is_empty() && primary.is_none() {
        // Someone nobody has seen would have no record at all.
        if let Some(k) = util::pick_index(rng, &weights) {
            hospitals.push(cs.hospitals[k]);
        }
    }

    let follow_up = 0.8 + 0.2 * (chronic.saturating_sub(1)) as f32;
    let acute_left = if primary.is_some() { 0.7 } else { 1.0 };
    let exam = age >= 20 && rng.random_bool(0.09);
    let hospital_checkups = !exam && age >= 20 && rng.random_bool(0.05);
    let n = hospitals.len();
    for (k, &h) in hospitals.iter().enumerate() {
        let main = k == 0;
        let acute = if n == 1 {
            acute_left
        } else if main {
            acute_left * 0.7
        } else {
            acute_left * 0.3 / (n - 1) as f32
        };
        let chronic_rate = match (chronic, main, primary.is_some()) {
            (0, _, _) | (_, false, _) => 0.0,
            (_, true, true) => 0.25,
            (_, true, false) => follow_up,
        };
        let stays = if main { 1.0 } else { 0.25 };
        roles.push((h, Role::Hospital { main, acute, chronic: chronic_rate, stays, checkups: main && hospital_checkups }));
    }
    let mut primary_role = primary.map(|s| (s, 0.3f32, if chronic > 0 { follow_up } else { 0.0 }, false));

    // Residents of other cities are sometimes referred to the big hospitals of 广州 and 深圳.
    if !matches!(data::CITIES[p.city].city, City::Guangzhou | City::Shenzhen) && rng.random_bool(0.06) {
        let target = if rng.random_bool(0.65) { City::Guangzhou } else { City::Shenzhen };
        if let Some(tc) = data::CITIES.iter().position(|c| c.city == target) {
            let pool = &by_city[tc].tertiary_a;
            if !pool.is_empty() {
                let h = pool[rng.random_range(0..pool.len())];
                roles.push((h, Role::Hospital { main: false, acute: 0.15, chronic: 0.0, stays: 1.5, checkups: false }));
            }
        }
    }
    if exam && let Some(e) = cs.exam {
        roles.push((e, Role::Exam));
    }
    let start = window_start(p.birth, today, years);
    if emit::expects_vaccinations(p, start, today) {
        let at_public_health = rng.random_bool(if age < 14 { 0.5 } else { 0.3 });
        match (at_public_health, cs.public_health) {
            (true, Some(ph)) => roles.push((ph, Role::Vaccines)),
            _ => match &mut primary_role {
                Some(pr) => pr.3 = true,
                None => primary_role = near_home(rng).map(|s| (s, 0.0, 0.0, true)),
            },
        }
    }
    if let Some((s, acute, chronic, vaccinates)) = primary_role {
        roles.push((s, Role::Primary { acute, chronic, vaccinates }));
    }
    if p.donor
        && let Some(b) = cs.blood
    {
        roles.push((b, Role::Blood));
    }
    roles
}

/// Lazily yields NDJSON lines for one institution: a Patient, then its `entries_per_person`
/// clinical resources of mixed categories, then the next patient, so memory stays flat.
pub fn bench_stream(
    seed: u64,
    institution: &InstitutionCode,
    persons: usize,
    entries_per_person: usize,
) -> impl Iterator<Item = String> + use<> {
    BenchStream {
        seed,
        code: institution.as_str().to_owned(),
        persons,
        entries: entries_per_person,
        next_person: 0,
        emitter: Emitter::default(),
        pending: Vec::new().into_iter(),
        config: SynthConfig::default(),
    }
}

struct BenchStream {
    seed: u64,
    code: String,
    persons: usize,
    entries: usize,
    next_person: usize,
    /// Kept across persons so resource ids stay unique within the institution.
    emitter: Emitter,
    pending: std::vec::IntoIter<String>,
    config: SynthConfig,
}

impl Iterator for BenchStream {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        loop {
            if let Some(line) = self.pending.next() {
                return Some(line);
            }
            if self.next_person >= self.persons {
                return None;
            }
            let i = self.next_person;
            self.next_person += 1;
            let mut rng = sub_rng(self.seed, STREAM_BENCH, i as u64, 0);
            let today = jd(self.config.today);
            let city = people::sample_city(&mut rng);
            let (resident, profile) = people::generate(&mut rng, city, today);
            let ctx = Ctx {
                code: &self.code,
                name: "基准测试医院",
                tier: Tier::TertiaryA,
                text_only_name: false,
                omit_health_code: false,
                resident: &resident,
                profile: &profile,
                local_id: format!("MRN{:09}", i + 1),
                start: window_start(profile.birth, today, self.config.years),
                today,
            };
            self.emitter.bench_person(&ctx, &mut rng, self.entries);
            self.pending = std::mem::take(&mut self.emitter.lines).into_iter();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.persons - self.next_person) * (1 + self.entries) + self.pending.len();
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn city_table_follows_city_all() {
        let table: Vec<City> = data::CITIES.iter().map(|c| c.city).collect();
        assert_eq!(table, City::ALL);
        for c in &data::CITIES {
            assert!(c.districts.len() >= 2, "{}", c.city);
            for d in c.districts {
                assert_eq!(d.code / 100 * 100 / 10000, c.city.area_code() / 10000, "{} {}", c.city, d.name);
            }
        }
    }

    #[test]
    fn windows_never_start_before_birth_or_after_today() {
        let today = jd(SynthConfig::default().today);
        assert_eq!(window_start(today - 10, today, 8), today - 10);
        assert_eq!(window_start(today - 10_000, today, 8), today - 2922);
        assert_eq!(window_start(today, today, 0), today);
    }
}
