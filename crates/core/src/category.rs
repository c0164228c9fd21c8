//! Categories of record entries: the five the provincial plan names, plus the rest of a record.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What kind of clinical item an entry is. `docs/categories.md` maps FHIR types and codes onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 诊疗记录: encounters and diagnoses.
    Encounter,
    /// 体检结果: physical-examination results and vital signs.
    PhysicalExam,
    /// 检查检验: laboratory and imaging results.
    Lab,
    /// 献血用血: blood donation and transfusion.
    Blood,
    /// 疫苗接种: vaccinations.
    Vaccination,
    /// 用药记录: prescriptions, dispensing, administration.
    Medication,
    /// 手术操作: procedures and implanted devices.
    Procedure,
    /// 过敏: allergies and intolerances.
    Allergy,
    /// 医疗文书: clinical documents.
    Document,
    /// 其他: care plans, goals, family history and other patient-linked items.
    Other,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 10] = [
        Category::Encounter,
        Category::PhysicalExam,
        Category::Lab,
        Category::Blood,
        Category::Vaccination,
        Category::Medication,
        Category::Procedure,
        Category::Allergy,
        Category::Document,
        Category::Other,
    ];

    /// The code used in APIs and storage.
    pub fn code(self) -> &'static str {
        match self {
            Category::Encounter => "encounter",
            Category::PhysicalExam => "physical_exam",
            Category::Lab => "lab",
            Category::Blood => "blood",
            Category::Vaccination => "vaccination",
            Category::Medication => "medication",
            Category::Procedure => "procedure",
            Category::Allergy => "allergy",
            Category::Document => "document",
            Category::Other => "other",
        }
    }

    /// The Chinese label shown to people.
    pub fn label_zh(self) -> &'static str {
        match self {
            Category::Encounter => "诊疗记录",
            Category::PhysicalExam => "体检结果",
            Category::Lab => "检查检验",
            Category::Blood => "献血用血",
            Category::Vaccination => "疫苗接种",
            Category::Medication => "用药记录",
            Category::Procedure => "手术操作",
            Category::Allergy => "过敏",
            Category::Document => "医疗文书",
            Category::Other => "其他",
        }
    }

    /// A small stable number for storage.
    pub fn as_i16(self) -> i16 {
        Category::ALL.iter().position(|c| *c == self).unwrap_or(9) as i16
    }

    /// The inverse of [`Category::as_i16`].
    pub fn from_i16(n: i16) -> Option<Category> {
        usize::try_from(n).ok().and_then(|i| Category::ALL.get(i).copied())
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A category code that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown category (expected one of encounter, physical_exam, lab, blood, vaccination, medication, procedure, allergy, document, other)"
)]
pub struct UnknownCategory;

impl FromStr for Category {
    type Err = UnknownCategory;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL.into_iter().find(|c| c.code() == s).ok_or(UnknownCategory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_numbers_round_trip() {
        for c in Category::ALL {
            assert_eq!(c.code().parse::<Category>(), Ok(c));
            assert_eq!(Category::from_i16(c.as_i16()), Some(c));
        }
        assert!("labs".parse::<Category>().is_err());
        assert_eq!(Category::from_i16(10), None);
    }
}
