//! The 5,306 official HL7 R4 examples (npm package hl7.fhir.r4.examples@4.0.1) through the
//! parser, validator and preparation: none may panic, and every refusal names the element.
//! `scripts/test` fetches the package into target/fixtures/ and sets TONGDANG_HL7_EXAMPLES.

use tongdang_core::InstitutionCode;
use tongdang_ingest::{Item, Preparation, prepare};

#[test]
fn official_examples_never_panic_and_refusals_name_the_element() {
    let dir = std::env::var("TONGDANG_HL7_EXAMPLES").unwrap_or_else(|_| {
        panic!("TONGDANG_HL7_EXAMPLES is not set: run scripts/test, which fetches hl7.fhir.r4.examples@4.0.1 with npm (Node.js and npm needed)")
    });
    let institution = InstitutionCode::new("12440100MB1234567X").unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("package.json") && !p.ends_with(".index.json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5306, "expected the 5,306 examples, found {}", files.len());
    let (mut accepted, mut refused, mut invalid_r4) = (0, 0, 0);
    let mut types = std::collections::BTreeSet::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let outcome =
            std::panic::catch_unwind(|| prepare(Item::from_line(1, &text), &Preparation::new(institution.clone()), text.len()));
        let prepared = outcome.unwrap_or_else(|_| panic!("preparing {} panicked", path.display()));
        types.insert(prepared.resource_type.clone());
        match prepared.body {
            Ok(_) => accepted += 1,
            Err(issues) => {
                refused += 1;
                assert!(!issues.is_empty(), "{}: refused without a reason", path.display());
                for i in &issues {
                    assert!(!i.path.is_empty(), "{}: a refusal without an element: {i}", path.display());
                }
                if issues
                    .iter()
                    .any(|i| i.code != tongdang_fhir::IssueCode::NotSupported && i.code != tongdang_fhir::IssueCode::Required)
                {
                    invalid_r4 += 1;
                }
            }
        }
    }
    // Every R4 type the pipeline takes is declared in the CapabilityStatement (and readable by
    // URL), and nothing declared is refused.
    for rt in types.iter().filter(|t| !t.is_empty()) {
        let taken = tongdang_fhir::classify(rt) != tongdang_fhir::ResourceKind::NotAccepted;
        let declared = tongdang_fhir::capability::ACCEPTED_TYPES.contains(&rt.as_str());
        assert_eq!(taken, declared, "{rt}: accepted by the pipeline = {taken}, declared in /fhir/metadata = {declared}");
    }
    eprintln!("{} examples: {accepted} accepted, {refused} refused ({invalid_r4} with structural or value errors)", files.len());
    // Most examples are types an exchange does not take, or entries without a patient; but
    // clinical examples must get through.
    assert!(accepted > 300, "only {accepted} accepted");
}
