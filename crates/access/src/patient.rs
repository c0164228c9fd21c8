//! The platform's Patient for a person: the most recent institution's Patient resource, with
//! the person's id and every identifier any institution submitted.

use serde_json::{Value, json};
use tongdang_core::PersonId;
use tongdang_store::{PatientRecord, PersonIdentifier};

/// Compose the person's Patient resource. `records` are newest first.
pub fn person_resource(person: PersonId, records: &[PatientRecord], identifiers: &[PersonIdentifier]) -> Value {
    let mut patient: Value = records
        .first()
        .and_then(|r| serde_json::from_slice(&r.resource).ok())
        .unwrap_or_else(|| json!({"resourceType": "Patient"}));
    patient["id"] = json!(person.to_string());
    let mut ids: Vec<Value> = identifiers.iter().map(|i| json!({"system": i.system, "value": i.value})).collect();
    ids.dedup();
    patient["identifier"] = Value::Array(ids);
    if let Some(meta) = patient.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("source");
    }
    patient
}
