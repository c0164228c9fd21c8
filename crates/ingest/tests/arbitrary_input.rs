//! Whatever arrives, preparation answers with a resource or with reasons; it never panics.
//! (The coverage-guided fuzz targets in fuzz/ explore the same entry points further.)

use proptest::prelude::*;
use tongdang_core::InstitutionCode;
use tongdang_ingest::{Item, Preparation, prepare};

fn institution() -> InstitutionCode {
    InstitutionCode::new("12440100MB1234567X").unwrap()
}

/// JSON values biased towards FHIR shapes: known keys, references, nested arrays.
fn fhir_like() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        "[a-zA-Z0-9/?|:#._ -]{0,24}".prop_map(serde_json::Value::String),
        prop_oneof![Just("Patient/p1"), Just("urn:uuid:1"), Just("#c"), Just("Location?identifier=a|b"), Just("Patient?x=1")]
            .prop_map(|s| serde_json::json!({"reference": s})),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("subject".to_string()),
                        Just("patient".to_string()),
                        Just("code".to_string()),
                        Just("status".to_string()),
                        Just("id".to_string()),
                        "[a-z]{1,8}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_are_refused_not_fatal(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let p = prepare(Item::from_line(1, &text), &Preparation::new(institution()), bytes.len());
        if let Err(issues) = p.body { prop_assert!(!issues.is_empty()); }
        let _ = tongdang_fhir::bundle::parse_bundle(&text);
    }

    #[test]
    fn arbitrary_resources_are_prepared_or_refused_with_reasons(
        rt in prop_oneof![Just("Patient"), Just("Observation"), Just("Encounter"), Just("Bundle"), Just("Claim"), Just("Location"), Just("Nope")],
        body in fhir_like(),
    ) {
        let mut v = match body { serde_json::Value::Object(m) => m, other => { let mut m = serde_json::Map::new(); m.insert("x".into(), other); m } };
        v.insert("resourceType".into(), serde_json::json!(rt));
        let text = serde_json::Value::Object(v).to_string();
        let p = prepare(Item::from_line(1, &text), &Preparation::new(institution()), text.len());
        match p.body {
            Ok(body) => {
                // What is accepted renders to valid JSON.
                let out = body.template.render("1", 1, "2024-01-01T00:00:00+08:00", |_| None);
                prop_assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
            }
            Err(issues) => prop_assert!(issues.iter().all(|i| !i.message.is_empty())),
        }
        let bundle = format!(r#"{{"resourceType":"Bundle","type":"batch","entry":[{{"resource":{text},"request":{{"method":"PUT","url":"X/1"}}}}]}}"#);
        let _ = tongdang_fhir::bundle::parse_bundle(&bundle);
    }
}
