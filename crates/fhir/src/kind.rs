//! What Tongdang does with each resource type: a person's demographics (Patient), directory data
//! (kept and referenced, not entries), a record entry of some category, or not accepted.
//! `docs/categories.md` is the human-readable form of this table; keep them together.

use crate::parse::ParsedResource;
use tongdang_core::Category;

/// How an accepted clinical type becomes an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntrySpec {
    /// The element naming the patient: `subject` or `patient`.
    pub subject: &'static str,
    /// Where the clinical time is, in order of preference.
    pub times: &'static [&'static [&'static str]],
    /// The CodeableConcept element(s) searched by `code`.
    pub codes: &'static [&'static str],
    /// The category unless the content says otherwise (Observation, Procedure).
    pub category: Category,
}

/// The role of a resource type on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// Demographics of a resident as one institution knows them.
    Patient,
    /// Organizations, locations, practitioners, medications: referenced by entries.
    Directory,
    /// A clinical item of a person's record.
    Entry(EntrySpec),
    /// Valid R4, but not something a health-record exchange takes (financial, workflow, ...).
    NotAccepted,
}

macro_rules! entry {
    ($subject:literal, [$($time:expr),*], [$($code:literal),*], $cat:ident) => {
        ResourceKind::Entry(EntrySpec { subject: $subject, times: &[$($time),*], codes: &[$($code),*], category: Category::$cat })
    };
}

/// Classify a resource type.
pub fn classify(resource_type: &str) -> ResourceKind {
    match resource_type {
        "Patient" => ResourceKind::Patient,
        "Organization" | "Location" | "Practitioner" | "PractitionerRole" | "Medication" | "HealthcareService" | "Endpoint"
        | "Substance" | "Provenance" => ResourceKind::Directory,
        "Encounter" => entry!("subject", [&["period", "start"]], ["type", "reasonCode"], Encounter),
        "Condition" => {
            entry!("subject", [&["onsetDateTime"], &["onsetPeriod", "start"], &["recordedDate"]], ["code", "category"], Encounter)
        }
        "EpisodeOfCare" => entry!("patient", [&["period", "start"]], ["type"], Encounter),
        "ClinicalImpression" => {
            entry!("subject", [&["effectiveDateTime"], &["effectivePeriod", "start"], &["date"]], ["code"], Encounter)
        }
        "Observation" => entry!(
            "subject",
            [&["effectiveDateTime"], &["effectivePeriod", "start"], &["effectiveInstant"], &["issued"]],
            ["code", "category"],
            Lab
        ),
        "DiagnosticReport" => {
            entry!("subject", [&["effectiveDateTime"], &["effectivePeriod", "start"], &["issued"]], ["code", "category"], Lab)
        }
        "ImagingStudy" => entry!("subject", [&["started"]], ["procedureCode"], Lab),
        "Specimen" => entry!(
            "subject",
            [&["collection", "collectedDateTime"], &["collection", "collectedPeriod", "start"], &["receivedTime"]],
            ["type"],
            Lab
        ),
        "Immunization" => entry!("patient", [&["occurrenceDateTime"], &["recorded"]], ["vaccineCode"], Vaccination),
        "ImmunizationEvaluation" => entry!("patient", [&["date"]], ["targetDisease"], Vaccination),
        "ImmunizationRecommendation" => entry!("patient", [&["date"]], [], Vaccination),
        "MedicationRequest" => entry!("subject", [&["authoredOn"]], ["medicationCodeableConcept"], Medication),
        "MedicationStatement" => {
            entry!(
                "subject",
                [&["effectiveDateTime"], &["effectivePeriod", "start"], &["dateAsserted"]],
                ["medicationCodeableConcept"],
                Medication
            )
        }
        "MedicationAdministration" => {
            entry!("subject", [&["effectiveDateTime"], &["effectivePeriod", "start"]], ["medicationCodeableConcept"], Medication)
        }
        "MedicationDispense" => {
            entry!("subject", [&["whenHandedOver"], &["whenPrepared"]], ["medicationCodeableConcept"], Medication)
        }
        "Procedure" => {
            entry!("subject", [&["performedDateTime"], &["performedPeriod", "start"]], ["code", "category"], Procedure)
        }
        "Device" => entry!("patient", [], ["type"], Procedure),
        "DeviceUseStatement" => {
            entry!("subject", [&["timingDateTime"], &["timingPeriod", "start"], &["recordedOn"]], [], Procedure)
        }
        "AllergyIntolerance" => {
            entry!("patient", [&["onsetDateTime"], &["onsetPeriod", "start"], &["recordedDate"]], ["code"], Allergy)
        }
        "DocumentReference" => entry!("subject", [&["context", "period", "start"], &["date"]], ["type", "category"], Document),
        "Composition" => entry!("subject", [&["date"]], ["type", "category"], Document),
        "CarePlan" => entry!("subject", [&["period", "start"], &["created"]], ["category"], Other),
        "CareTeam" => entry!("subject", [&["period", "start"]], ["category"], Other),
        "Goal" => entry!("subject", [&["startDate"], &["statusDate"]], ["description"], Other),
        "FamilyMemberHistory" => entry!("patient", [&["date"]], ["relationship"], Other),
        "ServiceRequest" => entry!(
            "subject",
            [&["occurrenceDateTime"], &["occurrencePeriod", "start"], &["authoredOn"]],
            ["code", "category"],
            Other
        ),
        "RiskAssessment" => entry!("subject", [&["occurrenceDateTime"], &["occurrencePeriod", "start"]], ["code"], Other),
        "NutritionOrder" => entry!("patient", [&["dateTime"]], [], Other),
        "Flag" => entry!("subject", [&["period", "start"]], ["code", "category"], Other),
        "DetectedIssue" => entry!("patient", [&["identifiedDateTime"], &["identifiedPeriod", "start"]], ["code"], Other),
        "QuestionnaireResponse" => entry!("subject", [&["authored"]], [], Other),
        _ => ResourceKind::NotAccepted,
    }
}

/// The code system of the platform's own blood-service codes (donation, transfusion).
pub const BLOOD_SYSTEM: &str = "urn:tongdang:cs:blood";
const SNOMED: &str = "http://snomed.info/sct";
/// SNOMED CT concepts that mark a Procedure as blood donation or transfusion.
const BLOOD_SNOMED: &[&str] = &["116859006", "5447007", "67889009", "180207008", "14152002"];
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

impl ParsedResource {
    /// The record category of this entry, refining the type's default from its content:
    /// vital signs and exams are physical-exam results; blood donation and transfusion
    /// procedures are blood services.
    pub fn category(&self, spec: &EntrySpec) -> Category {
        match self.resource_type() {
            "Observation" => {
                let cats = self.codings("category");
                let has = |code: &str| cats.iter().any(|(s, c)| (*s == OBSERVATION_CATEGORY || s.is_empty()) && *c == code);
                if has("vital-signs") || has("exam") {
                    Category::PhysicalExam
                } else if has("social-history") || has("survey") || has("therapy") || has("activity") {
                    Category::Other
                } else {
                    Category::Lab
                }
            }
            "Procedure" => {
                let blood = self
                    .codings("code")
                    .into_iter()
                    .chain(self.codings("category"))
                    .any(|(s, c)| s == BLOOD_SYSTEM || (s == SNOMED && BLOOD_SNOMED.contains(&c)));
                if blood { Category::Blood } else { Category::Procedure }
            }
            _ => spec.category,
        }
    }

    /// Search tokens of this entry's codes: `system|code` of every coding in the spec's code
    /// elements (its `category` aside), newline-delimited with a newline at both ends so that
    /// `\nsystem|code\n` finds an exact token.
    pub fn code_tokens(&self, spec: &EntrySpec) -> String {
        tokens(spec.codes.iter().filter(|k| **k != "category").flat_map(|k| self.codings(k)))
    }

    /// Search tokens of the resource's own `category` codings, in the same form.
    pub fn category_tokens(&self) -> String {
        tokens(self.codings("category").into_iter())
    }
}

fn tokens<'a>(codings: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::from("\n");
    for (system, code) in codings {
        if system.contains('\n') || code.contains('\n') {
            continue;
        }
        out.push_str(system);
        out.push('|');
        out.push_str(code);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_resource;

    fn spec(rt: &str) -> EntrySpec {
        match classify(rt) {
            ResourceKind::Entry(s) => s,
            other => panic!("{rt}: {other:?}"),
        }
    }

    #[test]
    fn the_five_plan_categories_are_reached() {
        let vitals = parse_resource(r#"{"resourceType":"Observation","status":"final","code":{"text":"BP"},"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}]}"#).unwrap();
        assert_eq!(vitals.category(&spec("Observation")), Category::PhysicalExam);
        let lab = parse_resource(r#"{"resourceType":"Observation","status":"final","code":{"text":"Hb"}}"#).unwrap();
        assert_eq!(lab.category(&spec("Observation")), Category::Lab);
        let donation = parse_resource(r#"{"resourceType":"Procedure","status":"completed","subject":{"reference":"Patient/1"},"code":{"coding":[{"system":"urn:tongdang:cs:blood","code":"donation"}]}}"#).unwrap();
        assert_eq!(donation.category(&spec("Procedure")), Category::Blood);
        assert_eq!(spec("Immunization").category, Category::Vaccination);
        assert_eq!(spec("Encounter").category, Category::Encounter);
        assert_eq!(spec("Condition").category, Category::Encounter);
        assert_eq!(classify("Organization"), ResourceKind::Directory);
        assert_eq!(classify("Claim"), ResourceKind::NotAccepted);
        assert_eq!(classify("Patient"), ResourceKind::Patient);
    }

    #[test]
    fn code_tokens_are_delimited() {
        let c = parse_resource(r#"{"resourceType":"Condition","subject":{"reference":"Patient/1"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"I10"},{"code":"x y"}]}}"#).unwrap();
        assert_eq!(c.code_tokens(&spec("Condition")), "\nhttp://hl7.org/fhir/sid/icd-10|I10\n|x y\n");
        assert_eq!(c.category_tokens(), "\n");
    }
}
