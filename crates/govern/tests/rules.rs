//! The built-in rule set on crafted resources (each kind of check, its path and severity) and on
//! real third-party data (Synthea); broken rule sets refused on load or on trial.

use serde_json::{Value, json};
use tongdang_core::Timestamp;
use tongdang_govern::{Context, RuleSet, RuleSetError, Severity, Sex};

fn at(s: &str) -> Timestamp {
    Timestamp::parse_fhir(s).unwrap()
}

fn ctx() -> Context {
    Context { received: at("2024-10-05T10:00:00+08:00"), birth: Some(at("1990-03-07")), death: None, sex: Some(Sex::Male) }
}

/// `(rule, severity, path)` of every finding.
fn findings(r: &Value, c: &Context) -> Vec<(String, Severity, String)> {
    RuleSet::builtin().check(r.into(), c).into_iter().map(|f| (f.rule, f.severity, f.path)).collect()
}

fn has(found: &[(String, Severity, String)], rule: &str, path: &str) -> bool {
    found.iter().any(|(r, _, p)| r == rule && p == path)
}

fn observation(loinc: &str, value: f64, unit: &str, effective: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "effectiveDateTime": effective, "issued": effective,
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}})
}

#[test]
fn the_builtin_set_loads_with_unique_ids() {
    let set = RuleSet::builtin();
    assert_eq!(set.version, "2026.1");
    assert!(set.rules.len() >= 40, "{}", set.rules.len());
    assert!(set.rules.iter().all(|r| !r.description.is_empty()));
}

#[test]
fn a_good_observation_passes_and_each_problem_is_found_where_it_is() {
    let good = observation("8310-5", 36.8, "Cel", "2024-10-05T08:00:00+08:00");
    assert!(findings(&good, &ctx()).is_empty(), "{:?}", findings(&good, &ctx()));

    let hot = observation("8310-5", 50.0, "Cel", "2024-10-05T08:00:00+08:00");
    assert!(has(&findings(&hot, &ctx()), "QC-LAB-008", "Observation.valueQuantity.value"));

    let mut no_ucum = good.clone();
    no_ucum["valueQuantity"]["system"] = json!("http://example.org/units");
    assert!(has(&findings(&no_ucum, &ctx()), "QC-LAB-003", "Observation.valueQuantity.code"));

    let future = observation("718-7", 13.0, "g/dL", "2024-10-06T08:00:00+08:00");
    assert!(has(&findings(&future, &ctx()), "QC-LAB-004", "Observation.effectiveDateTime"));
    let ten_minutes_ahead = observation("718-7", 13.0, "g/dL", "2024-10-05T10:09:00+08:00");
    assert!(!findings(&ten_minutes_ahead, &ctx()).iter().any(|f| f.0 == "QC-LAB-004"), "clocks may differ by minutes");

    let before_birth = observation("718-7", 13.0, "g/dL", "1989-01-01");
    assert!(has(&findings(&before_birth, &ctx()), "QC-LAB-005", "Observation.effectiveDateTime"));

    let mut issued_early = good.clone();
    issued_early["issued"] = json!("2024-10-05T07:00:00+08:00");
    let f = findings(&issued_early, &ctx());
    assert!(f.iter().any(|(r, s, p)| r == "QC-LAB-006" && *s == Severity::Warning && p == "Observation.issued"), "{f:?}");

    let late = observation("718-7", 13.0, "g/dL", "2024-10-01T08:00:00+08:00");
    let f = findings(&late, &ctx());
    assert!(f.iter().any(|(r, s, _)| r == "QC-LAB-007" && *s == Severity::Warning), "{f:?}");
    assert!(!f.iter().any(|(_, s, _)| *s == Severity::Error), "late is counted, not returned: {f:?}");

    let mut bad_status = good.clone();
    bad_status["status"] = json!("done");
    assert!(has(&findings(&bad_status, &ctx()), "QC-LAB-002", "Observation.status"));
}

#[test]
fn patients_identity_documents_and_required_elements() {
    let good = json!({"resourceType": "Patient", "name": [{"text": "张伟"}], "gender": "male", "birthDate": "1990-03-07",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "11010519491231002X"}]});
    assert!(findings(&good, &ctx()).is_empty(), "{:?}", findings(&good, &ctx()));
    let mut wrong_digit = good.clone();
    wrong_digit["identifier"][0]["value"] = json!("110105194912310021");
    let all = RuleSet::builtin().check((&wrong_digit).into(), &ctx());
    let f = all.iter().find(|f| f.rule == "QC-PAT-006").expect("the check digit");
    assert_eq!((f.severity, f.path.as_str()), (Severity::Warning, "Patient.identifier[0].value"));
    assert!(!f.message.contains("110105"), "the number is not repeated in the message: {}", f.message);
    let nameless = json!({"resourceType": "Patient", "gender": "x"});
    let f = findings(&nameless, &ctx());
    assert!(has(&f, "QC-PAT-001", "Patient.name") && has(&f, "QC-PAT-003", "Patient.gender"), "{f:?}");
}

#[test]
fn diagnoses_codes_and_sex() {
    let condition = |code: &str| {
        json!({"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]},
            "recordedDate": "2024-10-01"})
    };
    assert!(findings(&condition("I10"), &ctx()).is_empty());
    assert!(has(&findings(&condition("E119"), &ctx()), "QC-DX-002", "Condition.code.coding[0].code"));
    assert!(has(&findings(&condition("O80"), &ctx()), "QC-DX-003", "Condition.code.coding[0]"), "a delivery for a man");
    let woman = Context { sex: Some(Sex::Female), ..ctx() };
    assert!(findings(&condition("O80"), &woman).is_empty());
    assert!(has(&findings(&condition("C61"), &woman), "QC-DX-004", "Condition.code.coding[0]"));
    // SNOMED codes are not judged by the ICD-10 format.
    let snomed =
        json!({"resourceType": "Condition", "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}});
    assert!(findings(&snomed, &ctx()).is_empty());
}

#[test]
fn vaccinations_by_age() {
    let hep_b = |when: &str| {
        json!({"resourceType": "Immunization", "status": "completed", "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "08"}]},
            "occurrenceDateTime": when})
    };
    let c = Context { received: at("2024-10-05T10:00:00+08:00"), ..ctx() };
    assert!(findings(&hep_b("2024-10-05T09:00:00+08:00"), &Context { birth: Some(at("2024-10-04")), ..c.clone() }).is_empty());
    let f = findings(&hep_b("2024-10-05T09:00:00+08:00"), &c);
    assert!(
        f.iter().any(|(r, s, _)| r == "QC-VAC-005" && *s == Severity::Warning),
        "a 34-year-old's first hepatitis B dose: {f:?}"
    );
}

#[test]
fn vaccines_of_the_platform_code_system_are_in_the_programme() {
    let vaccine = |code: &str| {
        json!({"resourceType": "Immunization", "status": "completed",
            "vaccineCode": {"coding": [{"system": "urn:tongdang:cs:vaccine", "code": code}]}, "occurrenceDateTime": "2024-10-05T09:00:00+08:00"})
    };
    let c = Context { received: at("2024-10-05T10:00:00+08:00"), birth: Some(at("2024-10-04")), ..ctx() };
    assert!(findings(&vaccine("HepB"), &c).is_empty(), "{:?}", findings(&vaccine("HepB"), &c));
    let f = findings(&vaccine("HepX"), &c);
    assert!(has(&f, "QC-VAC-007", "Immunization.vaccineCode.coding[0]"), "{f:?}");
    // The platform's own code counts for the age rule too: an adult's first hepatitis B dose.
    let adult = Context { birth: Some(at("1990-03-07")), ..c };
    assert!(findings(&vaccine("HepB"), &adult).iter().any(|(r, _, _)| r == "QC-VAC-005"));
}

#[test]
fn broken_rule_sets_are_refused_on_load() {
    let one = |rule: Value| json!({"version": "x", "rules": [rule]}).to_string();
    let base = json!({"id": "QC-T-001", "category": "lab", "severity": "error", "description": "测试", "applies_to": ["Observation"], "kind": "required", "path": "status"});
    assert!(RuleSet::from_json(&one(base.clone())).is_ok());
    let mut unknown_set = base.clone();
    unknown_set["kind"] = json!("value_set");
    unknown_set["set"] = json!("no-such-set");
    assert!(matches!(RuleSet::from_json(&one(unknown_set)), Err(RuleSetError::BadRule { .. })));
    let mut inverted = base.clone();
    inverted["kind"] = json!("range");
    for (k, v) in [("code_path", json!("code.coding")), ("code", json!("1")), ("min", json!(10)), ("max", json!(1))] {
        inverted[k] = v;
    }
    assert!(matches!(RuleSet::from_json(&one(inverted)), Err(RuleSetError::BadRule { .. })));
    let twice = json!({"version": "x", "rules": [base, base]}).to_string();
    assert!(matches!(RuleSet::from_json(&twice), Err(RuleSetError::BadRule { .. })));
    assert!(matches!(RuleSet::from_json("{\"version\": \"x\"}"), Err(RuleSetError::Malformed(_))));
    let mut unknown_kind =
        json!({"id": "QC-T-002", "category": "lab", "severity": "error", "description": "测试", "applies_to": ["Observation"]});
    unknown_kind["kind"] = json!("telepathy");
    assert!(matches!(RuleSet::from_json(&one(unknown_kind)), Err(RuleSetError::Malformed(_))));
}

/// Real third-party data: the built-in set returns little of it; a set with a misspelt required
/// path would return all of it, and is refused before activation.
#[test]
fn rule_sets_are_tried_on_a_sample_before_activation() {
    let mut sample: Vec<Value> = Vec::new();
    for file in [
        "Condition.000.ndjson",
        "Encounter.000.ndjson",
        "Immunization.000.ndjson",
        "Patient.000.ndjson",
        "Procedure.000.ndjson",
        "MedicationRequest.000.ndjson",
        "AllergyIntolerance.000.ndjson",
        "DocumentReference.000.ndjson",
    ] {
        let text = std::fs::read_to_string(tongdang_testkit::fixture(&format!("synthea-10/{file}"))).unwrap();
        sample.extend(text.lines().take(400).map(|l| serde_json::from_str::<Value>(l).unwrap()));
    }
    // Synthea's history runs to its export date; received "now" makes none of it future.
    let received = Timestamp::now();
    let items = || sample.iter().map(|r| (r.into(), Context::at(received)));
    let trial = RuleSet::builtin().trial(items(), 0.05).expect("the built-in set keeps most of a real export");
    assert_eq!(trial.sampled, sample.len());
    assert!(trial.returned * 20 <= trial.sampled, "{trial:?}");
    assert!(trial.by_rule.iter().any(|(id, _)| id.starts_with("QC-")), "late submissions are counted: {trial:?}");

    let broken = RuleSet::from_json(
        &json!({"version": "bad", "rules": [{"id": "QC-T-003", "category": "lab", "severity": "error", "description": "状态", "applies_to": ["Encounter"], "kind": "required", "path": "statuss"}]})
            .to_string(),
    )
    .unwrap();
    match broken.trial(items(), 0.05) {
        Err(RuleSetError::RejectsTooMuch { returned, sampled, .. }) => {
            assert!(returned > 0 && returned < sampled, "{returned}/{sampled}")
        }
        other => panic!("{other:?}"),
    }
}
