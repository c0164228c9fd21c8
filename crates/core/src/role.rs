//! Who a signed-in person or a calling system is, for the access policy and for masking.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

vocabulary!(
    /// The role of an account or API caller.
    Role {
        /// A resident (居民): reads their own record.
        Resident = ("resident", "居民"),
        /// A clinician (医生) of an institution and department.
        Clinician = ("clinician", "医生"),
        /// An institution's administrator (机构管理员): keys, returns, quality; no clinical content.
        InstitutionAdmin = ("institution-admin", "机构管理员"),
        /// A city platform's operator (市级运营).
        CityOperator = ("city-operator", "市级运营"),
        /// The provincial platform's operator (省级运营).
        ProvincialOperator = ("provincial-operator", "省级运营"),
        /// An auditor (审计员): reads the ledger and audit trail.
        Auditor = ("auditor", "审计员"),
        /// An institution's system calling with an API key (机构系统).
        InstitutionSystem = ("institution-system", "机构系统"),
    }
);

impl Role {
    /// Whether the role may ever see clinical content (subject to grants).
    pub fn sees_clinical_content(self) -> bool {
        matches!(self, Role::Resident | Role::Clinician | Role::InstitutionSystem)
    }

    /// Whether the role operates the platform (city or province) or audits it.
    pub fn is_operator(self) -> bool {
        matches!(self, Role::CityOperator | Role::ProvincialOperator | Role::Auditor)
    }
}
