//! The generated province: identities, institutions, and the FHIR it submits.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use tongdang_core::{City, InstitutionCode, Level, Ownership};
use tongdang_identity::gb11643::NationalId;
use tongdang_synth::{Province, SynthConfig, bench_stream};

fn small() -> SynthConfig {
    SynthConfig { residents: 300, ..SynthConfig::default() }
}

fn all_lines(p: &Province) -> Vec<(InstitutionCode, Vec<String>)> {
    p.submissions().map(|s| (s.institution, s.lines)).collect()
}

#[test]
fn same_seed_same_province_and_different_seed_different() {
    let a = Province::generate(&small());
    let b = Province::generate(&small());
    assert_eq!(a.institutions, b.institutions);
    assert_eq!(a.residents, b.residents);
    assert_eq!(all_lines(&a), all_lines(&b));

    let c = Province::generate(&SynthConfig { seed: 7, ..small() });
    assert_ne!(a.residents, c.residents);
    assert_ne!(all_lines(&a), all_lines(&c));
}

#[test]
fn residents_have_valid_identities() {
    let config = SynthConfig::default();
    let p = Province::generate(&config);
    assert_eq!(p.residents.len(), 2000);
    let mut without_id = 0;
    let mut compound = 0;
    for r in &p.residents {
        assert!(r.birth_date <= config.today);
        let age_days = (config.today - r.birth_date).whole_days();
        assert!(age_days < 96 * 366, "{} is too old", r.name);
        match &r.national_id {
            Some(id) => {
                let parsed = NationalId::parse(id).unwrap_or_else(|e| panic!("{id}: {e}"));
                assert_eq!(parsed.is_male(), r.male, "{id}");
                assert_eq!(parsed.birth_date(), r.birth_date.to_string(), "{id}");
                assert!(id.starts_with("44"), "{id}");
            }
            None => {
                without_id += 1;
                assert!(age_days < 366, "only infants lack an ID number: {r:?}");
            }
        }
        assert_eq!(r.health_code.len(), 64);
        assert!(r.health_code.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(r.phone.len(), 11);
        assert!(r.phone.bytes().all(|b| b.is_ascii_digit()));
        assert!(["13", "15", "17", "18", "19"].contains(&&r.phone[..2]), "{}", r.phone);
        let expected = format!("广东省{}{}", r.city.label_zh(), r.district);
        assert!(r.address.starts_with(&expected) && r.address.ends_with('号'), "{}", r.address);
        let n = r.name.chars().count();
        assert!((2..=4).contains(&n) || r.name.contains('·'), "{}", r.name);
        if ["欧阳", "司徒", "上官"].iter().any(|s| r.name.starts_with(s)) {
            compound += 1;
        }
    }
    let share = f64::from(without_id) / 2000.0;
    assert!((0.01..0.06).contains(&share), "{without_id} residents without an ID number");
    assert!(compound > 0, "compound surnames appear");
    let chen = p.residents.iter().filter(|r| r.name.starts_with('陈')).count();
    let wang = p.residents.iter().filter(|r| r.name.starts_with('王')).count();
    assert!(chen > wang, "陈 is the most common surname in Guangdong");
    let cities: HashSet<City> = p.residents.iter().map(|r| r.city).collect();
    assert_eq!(cities.len(), 21);
}

#[test]
fn institutions_are_unique_valid_and_cover_every_city() {
    let p = Province::generate(&small());
    let n = p.institutions.len();
    assert!((250..=400).contains(&n), "{n} institutions");
    let codes: HashSet<&str> = p.institutions.iter().map(|i| i.code.as_str()).collect();
    let names: HashSet<&str> = p.institutions.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(codes.len(), n);
    assert_eq!(names.len(), n);
    for i in &p.institutions {
        let code = InstitutionCode::new(i.code.as_str()).unwrap();
        assert!(code.is_valid_uscc(), "{} {}", i.code, i.name);
    }
    for city in City::ALL {
        let in_city: Vec<_> = p.institutions.iter().filter(|i| i.city == *city).collect();
        assert!(
            in_city.iter().any(|i| i.level == Level::TertiaryA && i.ownership == Ownership::Public),
            "{city} has a public 三甲 hospital"
        );
        for kind in ["exam_centre", "public_health", "blood_centre"] {
            assert_eq!(in_city.iter().filter(|i| i.kind.code() == kind).count(), 1, "{city} {kind}");
        }
    }
    assert!(p.institutions.iter().any(|i| i.ownership == Ownership::Private));
    assert!(p.institutions.iter().any(|i| i.connection.code() == "via_city_platform"));
    assert!(names.contains("广州市第一人民医院") || names.contains("中山大学附属第一医院"));
}

/// Whether a string looks like a FHIR dateTime with a time part.
fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[..4].iter().all(u8::is_ascii_digit)
}

fn datetimes<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) if is_datetime(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| datetimes(x, out)),
        Value::Object(o) => o.values().for_each(|x| datetimes(x, out)),
        _ => {}
    }
}

fn references<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("reference") {
                out.push(r);
            }
            o.values().for_each(|x| references(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

fn has(v: &Value, path: &[&str]) -> bool {
    let mut cur = v;
    for key in path {
        match cur.get(key) {
            Some(next) if !next.is_null() => cur = next,
            _ => return false,
        }
    }
    true
}

/// The elements FHIR R4 requires (cardinality 1..1 or 1..*), per resource type.
fn check_required(v: &Value) {
    let rt = v["resourceType"].as_str().unwrap_or_default();
    let required: &[&[&str]] = match rt {
        "Patient" => &[&["identifier"], &["name"], &["gender"], &["birthDate"]],
        "Encounter" => &[&["status"], &["class", "code"], &["subject"], &["period", "start"]],
        "Condition" => &[&["subject"], &["code"], &["clinicalStatus"], &["verificationStatus"]],
        "Observation" => &[&["status"], &["code"], &["subject"], &["effectiveDateTime"]],
        "DiagnosticReport" => &[&["status"], &["code"], &["subject"], &["result"]],
        "Immunization" => &[&["status"], &["vaccineCode"], &["patient"], &["occurrenceDateTime"], &["lotNumber"]],
        "MedicationRequest" => &[&["status"], &["intent"], &["medicationCodeableConcept"], &["subject"], &["authoredOn"]],
        "Procedure" => &[&["status"], &["subject"], &["code"]],
        "AllergyIntolerance" => &[&["patient"], &["code"], &["clinicalStatus"], &["verificationStatus"]],
        "DocumentReference" => &[&["status"], &["content"], &["subject"], &["type"]],
        other => panic!("unexpected resource type {other}"),
    };
    for path in required {
        assert!(has(v, path), "{rt} lacks {path:?}: {v}");
    }
    if rt == "Observation" {
        assert!(has(v, &["valueQuantity"]) || has(v, &["valueCodeableConcept"]), "{v}");
    }
    if let Some(q) = v.get("valueQuantity") {
        assert!(q["value"].is_number() && q["system"] == "http://unitsofmeasure.org" && q["code"].is_string(), "{v}");
    }
    if rt == "Procedure" {
        assert!(has(v, &["performedDateTime"]) || has(v, &["performedPeriod", "start"]), "{v}");
    }
    if rt == "DocumentReference" {
        let a = &v["content"][0]["attachment"];
        assert_eq!(a["contentType"], "text/plain");
        assert!(a["data"].as_str().is_some_and(|d| d.len() % 4 == 0 && !d.is_empty()));
    }
}

/// Checks every line of a province and returns the categories seen.
fn validate(config: &SynthConfig) -> HashSet<String> {
    let today = config.today.to_string();
    let p = Province::generate(config);
    let mut total = 0;
    let mut seen: HashSet<String> = HashSet::new();
    for s in p.submissions() {
        assert!(!s.lines.is_empty());
        let mut ids: HashSet<String> = HashSet::new();
        let mut births: HashMap<String, (String, String)> = HashMap::new();
        for line in &s.lines {
            total += 1;
            assert!(!line.contains('\n'));
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(line.starts_with("{\"resourceType\":"), "{line}");
            let rt = v["resourceType"].as_str().expect("resourceType").to_owned();
            let id = v["id"].as_str().expect("id").to_owned();
            assert!(!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
            check_required(&v);
            let mut refs = Vec::new();
            references(&v, &mut refs);
            for r in &refs {
                assert!(ids.contains(*r), "{rt}/{id} refers to {r}, not emitted before it in {}", s.institution);
            }
            let mut times = Vec::new();
            datetimes(&v, &mut times);
            if rt == "Patient" {
                let system = format!("urn:tongdang:institution:{}:patient", s.institution);
                assert_eq!(v["identifier"][0]["system"], system.as_str());
                assert_eq!(v["identifier"][0]["value"], id.as_str());
                births.insert(
                    format!("Patient/{id}"),
                    (v["birthDate"].as_str().unwrap().to_owned(), v["gender"].as_str().unwrap().to_owned()),
                );
            } else {
                let patient = v.get("subject").or_else(|| v.get("patient")).expect("subject or patient");
                let reference = patient["reference"].as_str().expect("patient reference");
                assert!(reference.starts_with("Patient/"));
                let (birth, gender) = &births[reference];
                for t in &times {
                    assert!(t.ends_with("+08:00"), "{t}");
                    assert!(&t[..10] <= today.as_str(), "{rt}/{id}: {t} is after today");
                    assert!(&t[..10] >= birth.as_str(), "{rt}/{id}: {t} is before birth {birth}");
                }
                if let Some(code) = v["code"]["coding"][0]["code"].as_str() {
                    let age = |t: &str| t[..4].parse::<i32>().unwrap() - birth[..4].parse::<i32>().unwrap();
                    let at = v["recordedDate"].as_str().or(v["performedPeriod"]["start"].as_str()).unwrap_or(&today);
                    match code {
                        "O80" | "O82" | "74.1" | "73.59" => {
                            assert_eq!(gender, "female");
                            assert!((18..=46).contains(&age(at)), "{line}");
                        }
                        "N40" => assert_eq!(gender, "male"),
                        _ => {}
                    }
                }
            }
            assert!(ids.insert(format!("{rt}/{id}")), "duplicate {rt}/{id} in {}", s.institution);
            seen.insert(category_of(&v));
        }
    }
    assert_eq!(p.resource_count(), total);
    seen
}

#[test]
fn submissions_are_valid_fhir_ndjson() {
    let seen = validate(&small());
    for category in [
        "encounter",
        "diagnosis",
        "lab",
        "report",
        "vital-signs",
        "blood-group",
        "donation",
        "transfusion",
        "vaccination",
        "medication",
        "surgery",
        "allergy",
        "document",
    ] {
        assert!(seen.contains(category), "no {category} in the output; saw {seen:?}");
    }
}

#[test]
fn short_and_long_histories_stay_valid() {
    let leap_day = time::macros::date!(2024 - 02 - 29);
    validate(&SynthConfig { residents: 120, seed: 5, years: 0, today: leap_day });
    validate(&SynthConfig { residents: 120, seed: 6, years: 1, today: leap_day });
    let long = validate(&SynthConfig { residents: 120, seed: 7, years: 30, ..SynthConfig::default() });
    assert!(long.contains("vaccination") && long.contains("encounter"));
}

fn category_of(v: &Value) -> String {
    match v["resourceType"].as_str().unwrap_or_default() {
        "Encounter" => "encounter".into(),
        "Condition" => "diagnosis".into(),
        "DiagnosticReport" => "report".into(),
        "Observation" if v["code"]["coding"][0]["code"] == "882-1" => "blood-group".into(),
        "Observation" => {
            let c = v["category"][0]["coding"][0]["code"].as_str().unwrap_or_default();
            if c == "laboratory" { "lab".into() } else { c.into() }
        }
        "Procedure" => {
            let codings = v["code"]["coding"].as_array().cloned().unwrap_or_default();
            codings
                .iter()
                .find_map(|c| match c["system"].as_str() {
                    Some("urn:tongdang:cs:blood") => c["code"].as_str().map(str::to_owned),
                    Some("urn:tongdang:cs:icd-9-cm-3") => Some("surgery".into()),
                    _ => None,
                })
                .unwrap_or_default()
        }
        "Immunization" => "vaccination".into(),
        "MedicationRequest" => "medication".into(),
        "AllergyIntolerance" => "allergy".into(),
        "DocumentReference" => "document".into(),
        other => other.to_lowercase(),
    }
}

#[test]
fn bench_stream_is_exact_and_self_contained() {
    let code = InstitutionCode::new("12440100455858116F").unwrap();
    for (persons, entries) in [(0, 5), (3, 0), (25, 40), (4, 300)] {
        let lines: Vec<String> = bench_stream(42, &code, persons, entries).collect();
        assert_eq!(lines.len(), persons * (1 + entries), "{persons} × {entries}");
        let mut ids = HashSet::new();
        let mut types = HashSet::new();
        for (k, line) in lines.iter().enumerate() {
            let v: Value = serde_json::from_str(line).unwrap();
            let rt = v["resourceType"].as_str().unwrap().to_owned();
            assert_eq!(rt == "Patient", k % (1 + entries) == 0, "line {k}");
            check_required(&v);
            let mut refs = Vec::new();
            references(&v, &mut refs);
            for r in refs {
                assert!(ids.contains(r), "{r} is not emitted before line {k}");
            }
            assert!(ids.insert(format!("{rt}/{}", v["id"].as_str().unwrap())));
            types.insert(rt);
        }
        if persons * entries >= 1000 {
            assert!(types.len() >= 8, "mixed categories: {types:?}");
        }
    }
    let a: Vec<String> = bench_stream(1, &code, 5, 20).collect();
    let b: Vec<String> = bench_stream(1, &code, 5, 20).collect();
    assert_eq!(a, b);
}
