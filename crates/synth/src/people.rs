//! Residents: who they are (name, ID number, health code, address) and what their health is like
//! (chronic conditions, allergy, blood group, donation and vaccination habits).

use rand::RngExt;
use tongdang_identity::gb11643;

use crate::Resident;
use crate::codes::{self, CHRONIC};
use crate::data::{self, CITIES};
use crate::util::{self, SynthRng, date_compact, date_of, pick, pick_weighted};

/// What the generator knows about a resident beyond the public [`Resident`] fields.
#[derive(Debug)]
pub(crate) struct Profile {
    pub city: usize,
    /// Index into the city's districts.
    pub district: usize,
    pub family: String,
    pub given: String,
    pub birth: i32,
    /// Chronic conditions as (index into [`CHRONIC`], Julian day of diagnosis).
    pub chronic: Vec<(usize, i32)>,
    /// Index into [`codes::ALLERGENS`].
    pub allergy: Option<usize>,
    /// Index into [`codes::BLOOD_GROUPS`].
    pub blood_group: usize,
    pub donor: bool,
    /// Takes the seasonal influenza vaccine (offered free to the elderly in several cities).
    pub flu: bool,
    /// Doses of COVID-19 vaccine received in 2021–2022.
    pub covid_doses: u32,
    /// Picks the drug of each chronic condition, so a patient stays on the same drug.
    pub drug_choice: u32,
}

impl Profile {
    /// The drug a patient takes for chronic condition `c`.
    pub fn chronic_drug(&self, c: usize) -> &'static codes::Drug {
        let drugs = CHRONIC[c].drugs;
        &drugs[(self.drug_choice.rotate_left(5 * c as u32) as usize) % drugs.len()]
    }

    /// Whether `c` is diagnosed by `day`.
    pub fn has_chronic(&self, c: usize, day: i32) -> bool {
        self.chronic.iter().any(|&(x, onset)| x == c && onset <= day)
    }
}

fn age_band(age: i32) -> usize {
    match age {
        ..30 => 0,
        30..45 => 1,
        45..60 => 2,
        60..75 => 3,
        _ => 4,
    }
}

/// Age in whole years for the Guangdong population (2020 census shape, rounded).
pub(crate) fn sample_age(rng: &mut SynthRng) -> i32 {
    const BANDS: &[((i32, i32), u32)] =
        &[((1, 15), 180), ((15, 30), 200), ((30, 45), 270), ((45, 60), 200), ((60, 75), 100), ((75, 96), 45)];
    let (lo, hi) = *pick_weighted(rng, BANDS);
    rng.random_range(lo..hi)
}

/// The given names in fashion in the birth year, because names follow fashions.
pub(crate) fn given_pool(male: bool, birth_year: i32) -> &'static [&'static str] {
    match (male, birth_year) {
        (true, ..1965) => data::MALE_OLD,
        (true, 1965..1990) => data::MALE_MID,
        (true, _) => data::MALE_YOUNG,
        (false, ..1965) => data::FEMALE_OLD,
        (false, 1965..1990) => data::FEMALE_MID,
        (false, _) => data::FEMALE_YOUNG,
    }
}

fn given_name(rng: &mut SynthRng, male: bool, birth_year: i32) -> &'static str {
    pick::<&str>(rng, given_pool(male, birth_year))
}

const PHONE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156", "157", "158",
    "159", "170", "173", "176", "177", "178", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "191", "193",
    "195", "198", "199",
];

/// Generates a resident of `city` (index into [`CITIES`]), living on `today` (a Julian day).
pub(crate) fn generate(rng: &mut SynthRng, city: usize, today: i32) -> (Resident, Profile) {
    let cd = &CITIES[city];
    let male = rng.random_bool(0.51);
    // About 4% infants, three quarters of whom are not yet registered for an ID number (~3%).
    let infant = rng.random_bool(0.04);
    let birth = if infant {
        today - rng.random_range(0..365)
    } else {
        let age = sample_age(rng);
        util::add_months(today, -12 * age) - rng.random_range(0..365)
    };
    let birth_date = date_of(birth);

    let (family, given, name) = if rng.random_bool(0.003) {
        let pool = if male { data::MINORITY_MALE } else { data::MINORITY_FEMALE };
        let (g, f) = *pick(rng, pool);
        // ID cards write these names given name first, then the father's name, joined by "·".
        (f.to_owned(), g.to_owned(), format!("{g}·{f}"))
    } else {
        let family = *pick_weighted(rng, data::SURNAMES);
        let given = given_name(rng, male, birth_date.year());
        (family.to_owned(), given.to_owned(), format!("{family}{given}"))
    };

    let district = rng.random_range(0..cd.districts.len());
    let dist = &cd.districts[district];
    let national_id = if infant && rng.random_bool(0.75) {
        None
    } else {
        // Sequence numbers: odd for men, even for women (GB 11643).
        let seq = rng.random_range(0..100) * 10 + if male { 2 * rng.random_range(0..5) + 1 } else { 2 * rng.random_range(0..5) };
        let first17 = format!("{}{}{:03}", dist.code, date_compact(birth_date), seq);
        gb11643::check_char(&first17).map(|c| format!("{first17}{c}"))
    };

    let mut health = String::with_capacity(64);
    for _ in 0..4 {
        health.push_str(&format!("{:016x}", rng.random::<u64>()));
    }
    let phone = format!("{}{:08}", pick(rng, PHONE_PREFIXES), rng.random_range(0..100_000_000u32));
    let road = if !cd.roads.is_empty() && rng.random_bool(0.5) { *pick(rng, cd.roads) } else { *pick(rng, data::COMMON_ROADS) };
    let number = if rng.random_bool(0.8) { rng.random_range(1..400) } else { rng.random_range(400..1200) };
    let address = format!("广东省{}{}{}{}号", cd.city.label_zh(), dist.name, road, number);

    let age = util::age_on(birth, today);
    let mut chronic = Vec::new();
    for (i, c) in CHRONIC.iter().enumerate() {
        if age >= c.min_onset && c.sex.admits(male) && rng.random_bool(c.prevalence[age_band(age)]) {
            let onset_age = rng.random_range(c.min_onset..=age);
            let onset = (util::add_months(birth, 12 * onset_age) + rng.random_range(0..365)).min(today);
            chronic.push((i, onset));
        }
    }
    let allergy = rng.random_bool(0.09).then(|| {
        let weights: Vec<f64> = codes::ALLERGENS.iter().map(|(_, w)| f64::from(*w)).collect();
        util::pick_index(rng, &weights).unwrap_or(0)
    });
    let blood_group = {
        let weights: Vec<f64> = codes::BLOOD_GROUPS.iter().map(|(_, w)| f64::from(*w)).collect();
        util::pick_index(rng, &weights).unwrap_or(0)
    };
    let donor = (19..=58).contains(&age) && rng.random_bool(0.07);
    let flu = age >= 60 && rng.random_bool(0.35);
    let covid_doses = if rng.random_bool(0.85) { rng.random_range(2..=3) } else { rng.random_range(0..=1) };

    let resident = Resident {
        name,
        male,
        birth_date,
        national_id,
        health_code: health,
        phone,
        city: cd.city,
        district: dist.name.to_owned(),
        address,
    };
    let profile = Profile {
        city,
        district,
        family,
        given,
        birth,
        chronic,
        allergy,
        blood_group,
        donor,
        flu,
        covid_doses,
        drug_choice: rng.random(),
    };
    (resident, profile)
}

/// A city index weighted by population.
pub(crate) fn sample_city(rng: &mut SynthRng) -> usize {
    let weights: Vec<f64> = CITIES.iter().map(|c| f64::from(c.population)).collect();
    util::pick_index(rng, &weights).unwrap_or(0)
}
