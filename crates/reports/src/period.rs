//! The month a report covers, in China Standard Time.

use std::fmt;
use std::str::FromStr;
use tongdang_core::Timestamp;

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u8,
}

/// A period that is not `YYYY-MM` between 2000 and 2100.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("period must be YYYY-MM between 2000-01 and 2100-12")]
pub struct BadPeriod;

impl FromStr for Period {
    type Err = BadPeriod;

    fn from_str(s: &str) -> Result<Period, BadPeriod> {
        let (y, m) = s.split_once('-').ok_or(BadPeriod)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(BadPeriod);
        }
        let (year, month) = (y.parse::<i32>().map_err(|_| BadPeriod)?, m.parse::<u8>().map_err(|_| BadPeriod)?);
        if !(2000..=2100).contains(&year) || !(1..=12).contains(&month) {
            return Err(BadPeriod);
        }
        Ok(Period { year, month })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Period {
    /// The month holding `t` in CST.
    pub fn containing(t: Timestamp) -> Period {
        let day = t.cst_day();
        Period { year: day / 10_000, month: (day / 100 % 100) as u8 }
    }

    /// The month before.
    pub fn previous(self) -> Period {
        if self.month == 1 {
            Period { year: self.year - 1, month: 12 }
        } else {
            Period { year: self.year, month: self.month - 1 }
        }
    }

    /// The month after.
    pub fn next(self) -> Period {
        if self.month == 12 {
            Period { year: self.year + 1, month: 1 }
        } else {
            Period { year: self.year, month: self.month + 1 }
        }
    }

    /// The `n` months ending with this one, oldest first.
    pub fn trailing(self, n: usize) -> Vec<Period> {
        let mut out = vec![self];
        while out.len() < n {
            let first = out[0].previous();
            out.insert(0, first);
        }
        out
    }

    /// Its first day, `yyyymmdd`.
    pub fn first_day(self) -> i32 {
        self.year * 10_000 + i32::from(self.month) * 100 + 1
    }

    /// Its last day, `yyyymmdd`.
    pub fn last_day(self) -> i32 {
        let days = match self.month {
            2 if self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        self.year * 10_000 + i32::from(self.month) * 100 + days
    }

    /// Its first instant (CST midnight).
    pub fn start(self) -> Timestamp {
        Timestamp::cst_day_start(self.first_day()).expect("a period's first day is a date")
    }

    /// The first instant after it.
    pub fn end(self) -> Timestamp {
        self.next().start()
    }

    /// `2024年10月`.
    pub fn label_zh(self) -> String {
        format!("{}年{}月", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_walks_months() {
        let p: Period = "2024-10".parse().unwrap();
        assert_eq!((p.first_day(), p.last_day()), (20241001, 20241031));
        assert_eq!(p.to_string(), "2024-10");
        assert_eq!(p.label_zh(), "2024年10月");
        assert_eq!("2024-02".parse::<Period>().unwrap().last_day(), 20240229);
        assert_eq!("2100-02".parse::<Period>().unwrap().last_day(), 21000228);
        assert_eq!("2025-01".parse::<Period>().unwrap().previous().to_string(), "2024-12");
        let t = p.trailing(6);
        assert_eq!((t.len(), t[0].to_string(), t[5]), (6, "2024-05".to_string(), p));
        assert_eq!(p.end(), "2024-11".parse::<Period>().unwrap().start());
        assert_eq!(Period::containing(p.start()), p);
        for bad in ["2024-13", "2024-00", "24-10", "2024/10", "1999-12", "2024-1", "２０２４-10", ""] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }
}
