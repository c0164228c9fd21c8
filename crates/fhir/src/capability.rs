//! The CapabilityStatement served at `/fhir/metadata`: what this server really does.

use crate::kind::{ResourceKind, classify};
use serde_json::{Value, json};

/// Every resource type the server accepts, in the order listed.
pub const ACCEPTED_TYPES: &[&str] = &[
    "Patient",
    "Encounter",
    "Condition",
    "EpisodeOfCare",
    "ClinicalImpression",
    "Observation",
    "DiagnosticReport",
    "ImagingStudy",
    "Specimen",
    "Immunization",
    "ImmunizationEvaluation",
    "ImmunizationRecommendation",
    "MedicationRequest",
    "MedicationStatement",
    "MedicationAdministration",
    "MedicationDispense",
    "Procedure",
    "Device",
    "DeviceUseStatement",
    "AllergyIntolerance",
    "DocumentReference",
    "Composition",
    "CarePlan",
    "CareTeam",
    "Goal",
    "FamilyMemberHistory",
    "ServiceRequest",
    "RiskAssessment",
    "NutritionOrder",
    "Flag",
    "DetectedIssue",
    "QuestionnaireResponse",
    "Organization",
    "Location",
    "Practitioner",
    "PractitionerRole",
    "Medication",
    "HealthcareService",
    "Endpoint",
    "Substance",
    "Provenance",
];

/// The CapabilityStatement for a server whose FHIR base is `base` (e.g. `http://127.0.0.1:8080/fhir`).
pub fn capability_statement(base: &str, software_version: &str) -> Value {
    let resources: Vec<Value> = ACCEPTED_TYPES
        .iter()
        .map(|rt| {
            let mut interactions = vec![json!({"code": "update"}), json!({"code": "create"}), json!({"code": "read"})];
            let mut params = Vec::new();
            let mut operations = Vec::new();
            match classify(rt) {
                ResourceKind::Entry(_) => {
                    interactions.push(json!({"code": "search-type", "documentation": "patient (or subject) is required: every record read is about one person"}));
                    params = vec![
                        json!({"name": "patient", "type": "reference", "documentation": "the person's platform Patient id"}),
                        json!({"name": "subject", "type": "reference"}),
                        json!({"name": "date", "type": "date", "documentation": "the entry's clinical time; prefixes eq, ne, lt, le, gt, ge"}),
                        json!({"name": "category", "type": "token", "documentation": "a category coding of the resource (system|code or code), or a Tongdang record category as urn:tongdang:category|lab (encounter, physical_exam, lab, blood, vaccination, medication, procedure, allergy, document, other); repeated parameters must all match, comma-separated values are alternatives"}),
                        json!({"name": "code", "type": "token", "documentation": "system|code, code, or system|; repeated parameters must all match, comma-separated values are alternatives"}),
                        json!({"name": "_lastUpdated", "type": "date", "documentation": "when the platform received the current version"}),
                        json!({"name": "_count", "type": "number"}),
                    ];
                }
                ResourceKind::Patient => {
                    interactions.push(json!({"code": "search-type"}));
                    params = vec![
                        json!({"name": "identifier", "type": "token", "documentation": "system|value as submitted by any institution"}),
                        json!({"name": "_id", "type": "token"}),
                        json!({"name": "_count", "type": "number"}),
                    ];
                    operations.push(json!({"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}));
                }
                _ => {}
            }
            let mut r = json!({
                "type": rt,
                "interaction": interactions,
                "versioning": "versioned-update",
                "readHistory": false,
                "updateCreate": true,
                "conditionalCreate": false,
                "conditionalUpdate": false,
                "conditionalDelete": "not-supported",
                "referencePolicy": ["literal", "logical", "local"],
            });
            if !params.is_empty() {
                r["searchParam"] = Value::Array(params);
            }
            if !operations.is_empty() {
                r["operation"] = Value::Array(operations);
            }
            r
        })
        .collect();
    let mut resources = resources;
    resources.extend(platform_views());
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-26",
        "publisher": "Tongdang",
        "kind": "instance",
        "software": {"name": "Tongdang 通档", "version": software_version},
        "implementation": {"description": "广东健康档案互通系统 — provincial health-record exchange", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Submissions: PUT/POST of single resources, batch and transaction Bundles at the base, and bulk NDJSON at /api/v1/ingest. The submitting institution is the holder of the API key. References resolve within the institution's own namespace.",
            "security": {
                "cors": false,
                "description": "Authorization: Bearer <institution API key or account token>. Keys carry scopes: submit, read, mpi, booking. Clinical content is read only under a resident's grant (Consent) or an emergency access; every decision is an AuditEvent."
            },
            "resource": resources,
            "interaction": [{"code": "batch"}, {"code": "transaction"}],
        }]
    })
}

/// The platform's own records, read-only: residents' grants as Consent and the audit trail as
/// AuditEvent (IHE BALP style). Not submitted by institutions.
fn platform_views() -> Vec<Value> {
    let paging = |doc: &str| {
        vec![
            json!({"name": "patient", "type": "reference", "documentation": doc}),
            json!({"name": "_count", "type": "number", "documentation": "at most 200"}),
            json!({"name": "_before", "type": "token", "documentation": "an id: the page after it (newest first); the next link carries it"}),
        ]
    };
    let mut audit_params = paging("the person whose record (also entity, subject)");
    audit_params
        .push(json!({"name": "date", "type": "date", "documentation": "when recorded; prefixes eq, lt, le, gt, ge; repeatable"}));
    audit_params.push(json!({"name": "outcome", "type": "token", "documentation": "0 (success), 4 (refused or failed), 8 (other); comma-separated alternatives"}));
    vec![
        json!({
            "type": "Consent",
            "documentation": "Residents' grants (SMS code, app, booking, emergency). Residents read theirs, institutions those given to them, auditors all.",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": paging("the person whose grants"),
        }),
        json!({
            "type": "AuditEvent",
            "documentation": "Every access decision and grant step, in the IHE Basic Audit Log Patterns style. Auditors and the provincial operator read all; residents their own record's.",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": audit_params,
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_type_is_accepted_and_every_accepted_type_is_listed() {
        for rt in ACCEPTED_TYPES {
            assert_ne!(classify(rt), ResourceKind::NotAccepted, "{rt}");
        }
        let cs = capability_statement("http://x/fhir", "0.1.0");
        assert_eq!(cs["fhirVersion"], "4.0.1");
        let listed = cs["rest"][0]["resource"].as_array().unwrap().len();
        assert_eq!(listed, ACCEPTED_TYPES.len() + 2, "the accepted types and the Consent and AuditEvent views");
    }
}
