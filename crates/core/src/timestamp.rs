//! Points in time: stored as microseconds since the Unix epoch (UTC), shown in China Standard Time.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// China Standard Time, the zone of every page and report.
pub const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("UTC+8 is a valid offset"),
};

/// Microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Now, from the system clock.
    pub fn now() -> Timestamp {
        Timestamp::from_datetime(OffsetDateTime::now_utc())
    }

    /// From a `time` value.
    pub fn from_datetime(t: OffsetDateTime) -> Timestamp {
        Timestamp((t.unix_timestamp_nanos() / 1000) as i64)
    }

    /// As a `time` value in the given offset; `None` when out of range.
    pub fn to_datetime(self, offset: UtcOffset) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1000).ok().map(|t| t.to_offset(offset))
    }

    /// RFC 3339 in China Standard Time, e.g. `2024-10-03T14:22:00+08:00`.
    pub fn to_rfc3339_cst(self) -> String {
        self.to_datetime(CST).and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_else(|| format!("@{}", self.0))
    }

    /// The calendar day in China Standard Time, as `yyyymmdd` (0 when out of range).
    pub fn cst_day(self) -> i32 {
        self.to_datetime(CST).map_or(0, |t| t.year() * 10_000 + i32::from(u8::from(t.month())) * 100 + i32::from(t.day()))
    }

    /// 00:00 China Standard Time of a `yyyymmdd` day (`None` if it is not a date).
    pub fn cst_day_start(day: i32) -> Option<Timestamp> {
        if !(10_000_101..=99_991_231).contains(&day) {
            return None;
        }
        Timestamp::parse_fhir(&format!("{:04}-{:02}-{:02}", day / 10_000, day / 100 % 100, day % 100))
    }

    /// Parse a FHIR `date`, `dateTime` or `instant` (any precision from a year to fractions of a
    /// second). A value without an offset is read as China Standard Time, the local time of every
    /// submitting institution. Partial dates mean the start of the period they name.
    pub fn parse_fhir(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if part.bytes().all(|c| c.is_ascii_digit()) { part.parse().ok() } else { None }
        };
        let year = num(0..4)? as i32;
        let (month, day) = match b.len() {
            4 => (1, 1),
            7 if b[4] == b'-' => (num(5..7)?, 1),
            n if n >= 10 && b[4] == b'-' && b[7] == b'-' => (num(5..7)?, num(8..10)?),
            _ => return None,
        };
        let date = Date::from_calendar_date(year, Month::try_from(month as u8).ok()?, day as u8).ok()?;
        if b.len() <= 10 {
            let t = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(CST);
            return Some(Timestamp::from_datetime(t));
        }
        if b[10] != b'T' {
            return None;
        }
        if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
            return Some(Timestamp::from_datetime(t));
        }
        // A time without an offset ("2024-10-03T14:22:00"): China Standard Time.
        let (hh, mm) = (num(11..13)?, num(14..16)?);
        let ss = if b.len() >= 19 { num(17..19)? } else { 0 };
        let mut micros = 0u32;
        if b.len() > 19 {
            let frac = s.get(20..)?;
            if b[19] != b'.' || frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let padded = format!("{frac:0<6}");
            micros = padded.get(..6)?.parse().ok()?;
        } else if b.len() != 16 && b.len() != 19 {
            return None;
        }
        let time = Time::from_hms_micro(hh as u8, mm as u8, ss as u8, micros).ok()?;
        Some(Timestamp::from_datetime(PrimitiveDateTime::new(date, time).assume_offset(CST)))
    }
}

impl Timestamp {
    /// The period a FHIR date or dateTime names, as `[start, end)`: `2024` is the whole year,
    /// `2024-10` the month, `2024-10-03` the day, a time with seconds that second.
    pub fn parse_fhir_range(s: &str) -> Option<(Timestamp, Timestamp)> {
        let start = Timestamp::parse_fhir(s)?;
        let start_cst = start.to_datetime(CST)?;
        let end = match s.len() {
            4 => start_cst.replace_year(start_cst.year() + 1).ok()?,
            7 => {
                let (y, m) = if start_cst.month() == Month::December {
                    (start_cst.year() + 1, Month::January)
                } else {
                    (start_cst.year(), start_cst.month().next())
                };
                start_cst.replace_year(y).ok()?.replace_month(m).ok()?
            }
            10 => start_cst + time::Duration::days(1),
            16 => start_cst + time::Duration::minutes(1),
            _ => start_cst + time::Duration::seconds(1),
        };
        Some((start, Timestamp::from_datetime(end)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_cst())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fhir_precisions_parse_to_the_start_of_their_period() {
        let day = Timestamp::parse_fhir("2024-10-03").unwrap();
        assert_eq!(day.to_rfc3339_cst(), "2024-10-03T00:00:00+08:00");
        assert_eq!(Timestamp::parse_fhir("2024").unwrap().to_rfc3339_cst(), "2024-01-01T00:00:00+08:00");
        assert_eq!(Timestamp::parse_fhir("2024-10").unwrap().to_rfc3339_cst(), "2024-10-01T00:00:00+08:00");
        let t = Timestamp::parse_fhir("1989-10-04T02:25:16-04:00").unwrap();
        assert_eq!(t.to_rfc3339_cst(), "1989-10-04T14:25:16+08:00");
        let z = Timestamp::parse_fhir("2024-10-03T06:22:00.123Z").unwrap();
        assert_eq!(z.0 % 1_000_000, 123_000);
        let local = Timestamp::parse_fhir("2024-10-03T14:22:00").unwrap();
        assert_eq!(local.to_rfc3339_cst(), "2024-10-03T14:22:00+08:00");
    }

    #[test]
    fn ranges_follow_precision() {
        let (a, b) = Timestamp::parse_fhir_range("2024-12").unwrap();
        assert_eq!(
            (a.to_rfc3339_cst().as_str(), b.to_rfc3339_cst().as_str()),
            ("2024-12-01T00:00:00+08:00", "2025-01-01T00:00:00+08:00")
        );
        let (a, b) = Timestamp::parse_fhir_range("2024").unwrap();
        assert_eq!(b.0 - a.0, 366 * 86_400_000_000);
        let (a, b) = Timestamp::parse_fhir_range("2024-10-03T14:22:00+08:00").unwrap();
        assert_eq!(b.0 - a.0, 1_000_000);
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "",
            "20x4",
            "2024-13-01",
            "2024-02-30",
            "2024-10-03 14:22",
            "2024-10-03T25:00:00Z",
            "yesterday",
            "2024-10-03T14:22:00.Z",
        ] {
            assert_eq!(Timestamp::parse_fhir(bad), None, "{bad}");
        }
    }
}
