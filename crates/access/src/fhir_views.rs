//! Grants as FHIR Consent and audit events as FHIR AuditEvent (IHE BALP style), built as JSON:
//! these are views of the platform's own records, never parsed back.

use crate::grant::{Channel, Grant, categories_from_text};
use crate::policy::Categories;
use serde_json::{Value, json};
use tongdang_core::Timestamp;
use tongdang_store::{AuditEvent, GrantRecord};

/// The code system of the record categories.
pub const CATEGORY_SYSTEM: &str = "urn:tongdang:category";
/// The code system of grant channels.
pub const CHANNEL_SYSTEM: &str = "urn:tongdang:grant-channel";

/// A grant as a Consent (scope `patient-privacy`, provision `permit` to the institution).
pub fn consent(g: &GrantRecord, now: Timestamp) -> Value {
    let status = Grant::from_record(g).map(|d| d.status_at(now)).map_or("entered-in-error", |s| match s {
        crate::grant::Status::Requested => "proposed",
        crate::grant::Status::Active => "active",
        crate::grant::Status::Refused => "rejected",
        crate::grant::Status::Revoked | crate::grant::Status::Expired | crate::grant::Status::Locked => "inactive",
    });
    let mut actors = vec![json!({
        "role": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient" }] },
        "reference": { "identifier": { "system": "urn:oid:2.16.156.10011.1.5", "value": g.institution } }
    })];
    if let Some(c) = g.clinician {
        actors.push(json!({
            "role": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP", "display": "primary information recipient" }] },
            "reference": { "identifier": { "system": "urn:tongdang:account", "value": c.to_string() } }
        }));
    }
    let mut provision = json!({
        "type": "permit",
        "period": { "start": g.valid_from.to_rfc3339_cst(), "end": g.valid_until.to_rfc3339_cst() },
        "actor": actors,
        "action": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access" }] }]
    });
    if let Categories::Only(list) = categories_from_text(&g.categories) {
        provision["class"] = Value::Array(
            list.iter().map(|c| json!({ "system": CATEGORY_SYSTEM, "code": c.code(), "display": c.label_zh() })).collect(),
        );
    }
    let channel = Channel::parse(&g.channel);
    let mut c = json!({
        "resourceType": "Consent",
        "id": g.id.to_string(),
        "status": status,
        "scope": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy" }] },
        "category": [
            { "coding": [{ "system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent" }] },
            { "coding": [{ "system": CHANNEL_SYSTEM, "code": g.channel, "display": channel.map_or("", Channel::label_zh) }] }
        ],
        "patient": { "reference": format!("Patient/{}", g.person) },
        "dateTime": g.created_at.to_rfc3339_cst(),
        "organization": [{ "identifier": { "system": "urn:oid:2.16.156.10011.1.5", "value": g.institution } }],
        "policyRule": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": if channel == Some(Channel::Emergency) { "EMRGONLY" } else { "OPTIN" } }] },
        "provision": provision
    });
    if let Some(d) = &g.department {
        c["extension"] = json!([{ "url": "urn:tongdang:department", "valueString": d }]);
    }
    c
}

/// An audit event as an AuditEvent in the IHE Basic Audit Log Patterns style: type `rest`,
/// subtype the action, the agent (who, which institution), the patient and the grant as entities.
pub fn audit_event(e: &AuditEvent) -> Value {
    let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
    let outcome = match e.outcome.as_str() {
        "allowed" | "ok" | "disclosed" | "justified" | "unjustified" => "0",
        "refused" | "wrong-code" | "no-match" | "id-mismatch" | "expired" => "4",
        _ => "8",
    };
    let (action, subtype) = match e.kind.as_str() {
        "read.search" | "read.find-persons" | "read.list-persons" => ("E", "search-type"),
        k if k.starts_with("read.") => ("R", "read"),
        k if k.starts_with("grant.") => ("C", "create"),
        _ => ("E", "operation"),
    };
    let mut agent = json!({
        "type": { "coding": [{ "system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153", "display": "Source Role ID" }] },
        "who": { "identifier": { "system": "urn:tongdang:actor", "value": e.actor } },
        "requestor": true
    });
    if let Some(role) = detail.get("role").and_then(Value::as_str) {
        agent["role"] = json!([{ "coding": [{ "system": "urn:tongdang:role", "code": role }] }]);
    }
    if let Some(i) = &e.institution {
        agent["location"] = json!({ "identifier": { "system": "urn:oid:2.16.156.10011.1.5", "value": i } });
    }
    if let Some(d) = detail.get("department").and_then(Value::as_str) {
        agent["name"] = json!(d);
    }
    let mut entities = Vec::new();
    if let Some(p) = e.person {
        entities.push(json!({
            "what": { "reference": format!("Patient/{p}") },
            "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person" },
            "role": { "system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient" }
        }));
    }
    if let Some(g) = e.grant {
        entities.push(json!({
            "what": { "reference": format!("Consent/{g}") },
            "type": { "system": "http://hl7.org/fhir/resource-types", "code": "Consent" },
            "detail": [{ "type": "basis", "valueString": detail.get("basis").and_then(Value::as_str).unwrap_or("grant") }]
        }));
    }
    entities.push(json!({ "what": { "identifier": { "system": "urn:tongdang:audit-detail", "value": e.kind } }, "detail": [{ "type": "detail", "valueString": e.detail }] }));
    json!({
        "resourceType": "AuditEvent",
        "id": e.id.to_string(),
        "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "Restful Operation" },
        "subtype": [{ "system": "urn:tongdang:audit-kind", "code": e.kind }, { "system": "http://hl7.org/fhir/restful-interaction", "code": subtype }],
        "action": action,
        "recorded": e.at.to_rfc3339_cst(),
        "outcome": outcome,
        "outcomeDesc": e.outcome,
        "agent": [agent],
        "source": { "observer": { "display": "tongdang" }, "type": [{ "system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server" }] },
        "entity": entities
    })
}
