//! Small helpers: seeded sub-generators, sampling, calendar arithmetic on Julian days, base64.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::{Date, Month};

/// The only generator the crate uses, so output depends on the seed alone.
pub(crate) type SynthRng = ChaCha8Rng;

/// SplitMix64's finalizer: spreads related inputs (seed, index) over unrelated seeds.
pub(crate) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An independent generator for one part of the output, so that parts can be produced lazily
/// and in any order yet always come out the same.
pub(crate) fn sub_rng(seed: u64, stream: u64, a: u64, b: u64) -> SynthRng {
    SynthRng::seed_from_u64(mix(mix(mix(seed ^ stream.rotate_left(40)) ^ a) ^ b.rotate_left(23)))
}

/// A uniformly chosen element; tables passed here are static and never empty.
pub(crate) fn pick<'a, T>(rng: &mut SynthRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// An element chosen with probability proportional to its weight.
pub(crate) fn pick_weighted<'a, T>(rng: &mut SynthRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut r = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if r < *w {
            return item;
        }
        r -= w;
    }
    &items[items.len() - 1].0
}

/// An index chosen with probability proportional to `weights`; `None` when all are zero.
pub(crate) fn pick_index(rng: &mut SynthRng, weights: &[f64]) -> Option<usize> {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let mut r = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if r < *w {
            return Some(i);
        }
        r -= w;
    }
    weights.iter().rposition(|w| *w > 0.0)
}

/// Poisson-distributed count (Knuth); the means used here are small.
pub(crate) fn poisson(rng: &mut SynthRng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let limit = (-mean.min(60.0)).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.random::<f64>();
        if p < limit || k >= 200 {
            return k;
        }
        k += 1;
    }
}

/// A normally distributed value (Box–Muller).
pub(crate) fn normal(rng: &mut SynthRng, mean: f64, sd: f64) -> f64 {
    let u1 = rng.random::<f64>().max(1e-12);
    let u2 = rng.random::<f64>();
    mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Rounds to `decimals` places so JSON shows clinical precision, not float noise.
pub(crate) fn round_to(x: f64, decimals: u8) -> f64 {
    let f = 10f64.powi(i32::from(decimals));
    (x * f).round() / f
}

/// A date as a Julian day number; all date arithmetic here is on these.
pub(crate) fn jd(date: Date) -> i32 {
    date.to_julian_day()
}

/// The date of a Julian day; days here always come from real dates, the fallback is unreachable.
pub(crate) fn date_of(day: i32) -> Date {
    Date::from_julian_day(day).unwrap_or(Date::MIN)
}

/// `YYYY-MM-DD`.
pub(crate) fn date_str(day: i32) -> String {
    let d = date_of(day);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `YYYYMMDD`, as in ID numbers.
pub(crate) fn date_compact(date: Date) -> String {
    format!("{:04}{:02}{:02}", date.year(), u8::from(date.month()), date.day())
}

/// The same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb).
pub(crate) fn add_months(day: i32, months: i32) -> i32 {
    let d = date_of(day);
    let total = d.year() * 12 + i32::from(u8::from(d.month())) - 1 + months;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let month = Month::try_from(month0 as u8 + 1).unwrap_or(Month::January);
    let last = month.length(year);
    Date::from_calendar_date(year, month, d.day().min(last)).map(jd).unwrap_or(day)
}

/// Whole years from `birth` to `on`.
pub(crate) fn age_on(birth: i32, on: i32) -> i32 {
    let (b, o) = (date_of(birth), date_of(on));
    let mut age = o.year() - b.year();
    if (u8::from(o.month()), o.day()) < (u8::from(b.month()), b.day()) {
        age -= 1;
    }
    age.max(0)
}

/// A local date and minute of the day in China Standard Time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Dt {
    pub day: i32,
    pub minute: u32,
}

impl Dt {
    /// `day` at `hour`:`minute`.
    pub fn at(day: i32, hour: u32, minute: u32) -> Dt {
        Dt { day, minute: hour * 60 + minute }
    }

    /// Later by `minutes`, rolling over midnight.
    pub fn plus(self, minutes: u32) -> Dt {
        let m = self.minute + minutes;
        Dt { day: self.day + (m / 1440) as i32, minute: m % 1440 }
    }

    /// A FHIR dateTime / instant with the +08:00 offset.
    pub fn fhir(self) -> String {
        format!("{}T{:02}:{:02}:00+08:00", date_str(self.day), self.minute / 60, self.minute % 60)
    }
}

/// A random minute of working hours on `day`, when outpatient clinics and labs run.
pub(crate) fn office_time(rng: &mut SynthRng, day: i32) -> Dt {
    let hour = if rng.random_bool(0.7) { rng.random_range(8..12) } else { rng.random_range(14..17) };
    Dt::at(day, hour, rng.random_range(0..60))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard padded base64, for `Attachment.data`.
pub(crate) fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn months_clamp_to_month_end_and_ages_count_birthdays() {
        let jan31 = jd(time::macros::date!(2024 - 01 - 31));
        assert_eq!(date_str(add_months(jan31, 1)), "2024-02-29");
        assert_eq!(date_str(add_months(jan31, -13)), "2022-12-31");
        let birth = jd(time::macros::date!(2000 - 06 - 15));
        assert_eq!(age_on(birth, jd(time::macros::date!(2020 - 06 - 14))), 19);
        assert_eq!(age_on(birth, jd(time::macros::date!(2020 - 06 - 15))), 20);
    }

    #[test]
    fn times_roll_over_midnight() {
        let t = Dt::at(jd(time::macros::date!(2024 - 12 - 31)), 23, 30).plus(45);
        assert_eq!(t.fhir(), "2025-01-01T00:15:00+08:00");
    }
}
