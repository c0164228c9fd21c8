//! Demographics of one Patient, normalized for matching: names folded and in pinyin, sex as a
//! GB/T 2261.1 code, birth date, phones as digits, the address down to the district, and the
//! identifiers that help matching without being strong enough to link on their own.

use crate::documents::DocumentKind;
use crate::names;
use serde::{Deserialize, Serialize};

/// A name as submitted (`HumanName`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawName {
    /// `text`.
    pub text: Option<String>,
    /// `family`.
    pub family: Option<String>,
    /// `given`.
    pub given: Vec<String>,
}

/// An address as submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawAddress {
    /// `text`.
    pub text: Option<String>,
    /// `line`.
    pub line: Vec<String>,
    /// `city` (地级市).
    pub city: Option<String>,
    /// `district` (区/县).
    pub district: Option<String>,
    /// `postalCode`.
    pub postal_code: Option<String>,
}

/// The demographic elements of a Patient, as submitted (FHIR-shaped, no FHIR types).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawDemographics {
    /// `name`, official first if marked.
    pub names: Vec<RawName>,
    /// `gender`.
    pub gender: Option<String>,
    /// `birthDate`.
    pub birth_date: Option<String>,
    /// `telecom` values of system `phone` (or `sms`).
    pub phones: Vec<String>,
    /// `address`.
    pub addresses: Vec<RawAddress>,
    /// The mother, from `contact` with relationship MTH / mother.
    pub mother: Option<RawName>,
    /// `multipleBirthInteger` (birth order of twins and more).
    pub multiple_birth: Option<i32>,
    /// `(system, value)` of every identifier, identity documents already normalized.
    pub identifiers: Vec<(String, String)>,
    /// `deceasedDateTime`, when given.
    pub deceased: Option<String>,
}

/// Sex as GB/T 2261.1 codes: 0 unknown, 1 male, 2 female, 9 unspecified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", from = "u8")]
pub enum Sex {
    /// 0 未知的性别.
    Unknown,
    /// 1 男性.
    Male,
    /// 2 女性.
    Female,
    /// 9 未说明的性别.
    Unspecified,
}

impl From<Sex> for u8 {
    fn from(s: Sex) -> u8 {
        s.code()
    }
}

impl From<u8> for Sex {
    fn from(n: u8) -> Sex {
        match n {
            1 => Sex::Male,
            2 => Sex::Female,
            9 => Sex::Unspecified,
            _ => Sex::Unknown,
        }
    }
}

impl Sex {
    /// From FHIR `gender`, GB/T 2261.1 codes, or Chinese words.
    pub fn parse(s: &str) -> Sex {
        match s.trim().to_ascii_lowercase().as_str() {
            "male" | "m" | "1" | "男" | "男性" => Sex::Male,
            "female" | "f" | "2" | "女" | "女性" => Sex::Female,
            "other" | "9" | "未说明" | "未说明的性别" => Sex::Unspecified,
            _ => Sex::Unknown,
        }
    }

    /// The GB/T 2261.1 code.
    pub fn code(self) -> u8 {
        match self {
            Sex::Unknown => 0,
            Sex::Male => 1,
            Sex::Female => 2,
            Sex::Unspecified => 9,
        }
    }
}

/// A birth date, possibly partial (month or day 0 when not known).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u32", from = "u32")]
pub struct BirthDate {
    /// Year.
    pub year: i32,
    /// Month 1–12, 0 if unknown.
    pub month: u8,
    /// Day 1–31, 0 if unknown.
    pub day: u8,
}

impl From<BirthDate> for u32 {
    fn from(b: BirthDate) -> u32 {
        b.year.max(0) as u32 * 10_000 + u32::from(b.month) * 100 + u32::from(b.day)
    }
}

impl From<u32> for BirthDate {
    fn from(n: u32) -> BirthDate {
        BirthDate { year: (n / 10_000) as i32, month: (n / 100 % 100) as u8, day: (n % 100) as u8 }
    }
}

impl BirthDate {
    /// From `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (also `YYYYMMDD`).
    pub fn parse(s: &str) -> Option<BirthDate> {
        let s = s.trim();
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        let (y, m, d) = match digits.len() {
            4 => (&digits[..4], "0", "0"),
            6 => (&digits[..4], &digits[4..6], "0"),
            8 => (&digits[..4], &digits[4..6], &digits[6..8]),
            _ => return None,
        };
        let date = BirthDate { year: y.parse().ok()?, month: m.parse().ok()?, day: d.parse().ok()? };
        (date.month <= 12 && date.day <= 31 && (date.month > 0 || date.day == 0)).then_some(date)
    }

    /// Whether month and day are known.
    pub fn is_full(&self) -> bool {
        self.month > 0 && self.day > 0
    }

    /// The same date with day and month exchanged, when that is another valid date.
    pub fn swapped(&self) -> Option<BirthDate> {
        (self.is_full() && self.day <= 12 && self.day != self.month).then_some(BirthDate {
            year: self.year,
            month: self.day,
            day: self.month,
        })
    }

    /// `YYYYMMDD`.
    pub fn compact(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

/// A Patient's demographics in their matching form. Serialized compactly into the index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Demographics {
    /// Folded surname.
    #[serde(rename = "f", default, skip_serializing_if = "String::is_empty")]
    pub family: String,
    /// Folded given name.
    #[serde(rename = "g", default, skip_serializing_if = "String::is_empty")]
    pub given: String,
    /// Pinyin of the surname (read as a surname), or the folded Latin surname.
    #[serde(rename = "fp", default, skip_serializing_if = "String::is_empty")]
    pub family_key: String,
    /// Pinyin of the given name, or the folded Latin given name.
    #[serde(rename = "gp", default, skip_serializing_if = "String::is_empty")]
    pub given_key: String,
    /// Whether the name is Chinese.
    #[serde(rename = "h", default, skip_serializing_if = "is_false")]
    pub chinese: bool,
    /// The name is a newborn placeholder ("李丽之子"), not the child's name.
    #[serde(rename = "nb", default, skip_serializing_if = "is_false")]
    pub placeholder_name: bool,
    /// Sex.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    /// Birth date.
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub birth: Option<BirthDate>,
    /// Date of death (quality checks only: matching ignores it).
    #[serde(rename = "dd", default, skip_serializing_if = "Option::is_none")]
    pub death: Option<BirthDate>,
    /// Phones, digits only, without the +86 prefix.
    #[serde(rename = "p", default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
    /// District (区/县) or suburb, folded.
    #[serde(rename = "d", default, skip_serializing_if = "String::is_empty")]
    pub locality: String,
    /// City, folded.
    #[serde(rename = "c", default, skip_serializing_if = "String::is_empty")]
    pub city: String,
    /// Postal code.
    #[serde(rename = "z", default, skip_serializing_if = "String::is_empty")]
    pub postal_code: String,
    /// Street line, folded.
    #[serde(rename = "l", default, skip_serializing_if = "String::is_empty")]
    pub line: String,
    /// Pinyin of the mother's name (newborns).
    #[serde(rename = "m", default, skip_serializing_if = "String::is_empty")]
    pub mother: String,
    /// Birth order of a multiple birth.
    #[serde(rename = "mb", default, skip_serializing_if = "Option::is_none")]
    pub multiple_birth: Option<i32>,
    /// Verified strong identifiers as `system|value`.
    #[serde(rename = "x", default, skip_serializing_if = "Vec::is_empty")]
    pub strong: Vec<String>,
    /// Other identifiers that support matching (passport, birth certificate, any system not an
    /// institution's own patient id) as `system|value`.
    #[serde(rename = "w", default, skip_serializing_if = "Vec::is_empty")]
    pub weak: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Demographics {
    /// Normalize what a Patient carried.
    pub fn from_raw(raw: &RawDemographics) -> Demographics {
        let mut d = Demographics::default();
        if let Some(name) = raw.names.iter().find(|n| n.text.is_some() || n.family.is_some() || !n.given.is_empty()) {
            d.set_name(name);
        }
        d.sex = raw.gender.as_deref().map(Sex::parse).filter(|s| matches!(s, Sex::Male | Sex::Female));
        d.birth = raw.birth_date.as_deref().and_then(BirthDate::parse);
        d.death = raw.deceased.as_deref().and_then(|t| BirthDate::parse(t.get(..10).unwrap_or(t)));
        d.phones = raw.phones.iter().filter_map(|p| phone(p)).collect();
        d.phones.sort();
        d.phones.dedup();
        if let Some(a) = raw.addresses.first() {
            d.set_address(a);
        }
        if let Some(m) = &raw.mother {
            let folded = names::fold(&full_text(m));
            d.mother = names::fold_latin(&names::pinyin_of(&folded));
        }
        d.multiple_birth = raw.multiple_birth.filter(|n| *n > 0).or(d.multiple_birth);
        for (system, value) in &raw.identifiers {
            if value.is_empty() || system.starts_with("urn:tongdang:institution:") {
                continue;
            }
            let entry = format!("{system}|{value}");
            match DocumentKind::from_system(system) {
                Some(kind) if kind.is_strong() => {
                    if crate::documents::normalize(kind, value).is_ok() {
                        d.strong.push(entry);
                    }
                }
                Some(kind) => {
                    if crate::documents::normalize(kind, value).is_ok() {
                        d.weak.push(entry);
                    }
                }
                None => d.weak.push(entry),
            }
        }
        d.strong.sort();
        d.strong.dedup();
        d.weak.sort();
        d.weak.dedup();
        d
    }

    fn set_name(&mut self, name: &RawName) {
        let family = name.family.as_deref().map(names::fold).unwrap_or_default();
        let given = names::fold(&name.given.join(""));
        let (family, given) = if family.is_empty() && given.is_empty() {
            let text = name.text.as_deref().unwrap_or("");
            let folded = names::fold(text);
            if names::is_chinese(&folded) {
                names::split_chinese(&folded)
            } else {
                // "Given Family" in Latin script.
                let words: Vec<&str> = text.split_whitespace().collect();
                match words.split_last() {
                    Some((last, rest)) if !rest.is_empty() => (names::fold(last), names::fold(&rest.join(""))),
                    _ => (folded, String::new()),
                }
            }
        } else {
            (family, given)
        };
        self.chinese = names::is_chinese(&family) || names::is_chinese(&given);
        let full = format!("{family}{given}");
        self.placeholder_name = names::is_newborn_placeholder(&full);
        if self.placeholder_name {
            self.multiple_birth = self.multiple_birth.or(names::placeholder_order(&full));
            return;
        }
        if self.chinese {
            self.family_key = names::surname_pinyin(&family);
            self.given_key = names::pinyin_of(&given);
        } else {
            self.family_key = names::fold_latin(&family);
            self.given_key = names::fold_latin(&given);
        }
        self.family = family;
        self.given = given;
    }

    fn set_address(&mut self, a: &RawAddress) {
        let fold_place = |s: &str| names::fold(s);
        self.city = a.city.as_deref().map(fold_place).unwrap_or_default();
        self.locality = a.district.as_deref().map(fold_place).unwrap_or_default();
        self.postal_code = a.postal_code.as_deref().map(|s| s.trim().to_string()).unwrap_or_default();
        self.line = names::fold(&a.line.join(""));
        if let Some(text) = a.text.as_deref().map(names::fold) {
            // 广东省广州市天河区… : take the city and district from the text when not given.
            if self.city.is_empty()
                && let Some(i) = text.find('市')
            {
                let start = text.find('省').map_or(0, |p| p + '省'.len_utf8());
                if start < i {
                    self.city = text[start..i + '市'.len_utf8()].to_string();
                }
            }
            if self.locality.is_empty() {
                let after_city = text.find('市').map_or(0, |p| p + '市'.len_utf8());
                let rest = &text[after_city..];
                if let Some(end) = rest.find(['区', '县']) {
                    self.locality = rest[..end + '区'.len_utf8()].to_string();
                }
            }
            if self.line.is_empty() {
                self.line = text;
            }
        }
        // A bare "广州" and "广州市" are one city.
        if names::is_chinese(&self.city) && !self.city.ends_with('市') {
            self.city.push('市');
        }
    }

    /// Whether there is anything to match on beyond identifiers.
    pub fn has_demographics(&self) -> bool {
        !self.family_key.is_empty() || !self.given_key.is_empty() || self.birth.is_some() || !self.phones.is_empty()
    }

    /// Full name key (pinyin or folded Latin), surname first.
    pub fn name_key(&self) -> String {
        format!("{}{}", self.family_key, self.given_key)
    }
}

fn full_text(n: &RawName) -> String {
    match &n.text {
        Some(t) => t.clone(),
        None => format!("{}{}", n.family.clone().unwrap_or_default(), n.given.join("")),
    }
}

/// Digits of a phone number, without the country code; `None` when too short to mean anything.
pub fn phone(s: &str) -> Option<String> {
    let digits: String = s
        .chars()
        .map(|c| if ('０'..='９').contains(&c) { (c as u32 - 0xFEE0) as u8 as char } else { c })
        .filter(char::is_ascii_digit)
        .collect();
    let digits = digits.strip_prefix("0086").or_else(|| digits.strip_prefix("86").filter(|d| d.len() == 11)).unwrap_or(&digits);
    (digits.len() >= 7).then(|| digits.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawDemographics {
        RawDemographics {
            names: vec![RawName { text: Some(text.to_string()), ..Default::default() }],
            gender: Some("male".into()),
            birth_date: Some("1980-03-07".into()),
            phones: vec!["+86 138-0013-8000".into()],
            addresses: vec![RawAddress {
                text: Some("广东省广州市天河区体育西路1号".into()), ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn normalizes_a_chinese_patient() {
        let d = Demographics::from_raw(&raw("張 偉"));
        assert_eq!((d.family.as_str(), d.given.as_str()), ("张", "伟"));
        assert_eq!(d.name_key(), "zhangwei");
        assert_eq!(d.sex, Some(Sex::Male));
        assert_eq!(d.birth, Some(BirthDate { year: 1980, month: 3, day: 7 }));
        assert_eq!(d.phones, vec!["13800138000".to_string()]);
        assert_eq!((d.city.as_str(), d.locality.as_str()), ("广州市", "天河区"));
    }

    #[test]
    fn partial_and_swapped_dates() {
        let b = BirthDate::parse("1980-03-07").unwrap();
        assert_eq!(b.swapped(), Some(BirthDate { year: 1980, month: 7, day: 3 }));
        assert_eq!(BirthDate::parse("1980-12-12").unwrap().swapped(), None);
        assert_eq!(BirthDate::parse("1980").map(|b| b.is_full()), Some(false));
        assert_eq!(BirthDate::parse("1980-13-01"), None);
    }

    #[test]
    fn sex_codes() {
        assert_eq!(Sex::parse("男").code(), 1);
        assert_eq!(Sex::parse("female").code(), 2);
        assert_eq!(Sex::parse("unknown").code(), 0);
    }

    #[test]
    fn newborn_placeholders_carry_no_name() {
        let d = Demographics::from_raw(&raw("李丽之子"));
        assert!(d.placeholder_name);
        assert!(d.name_key().is_empty());
    }

    #[test]
    fn round_trips_compactly() {
        let d = Demographics::from_raw(&raw("王芳"));
        let s = serde_json::to_string(&d).unwrap();
        assert!(s.len() < 200, "{s}");
        assert_eq!(serde_json::from_str::<Demographics>(&s).unwrap(), d);
    }
}
