//! Rule sets from operators and resources from institutions, through the quality checks. Must
//! never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tongdang_core::Timestamp;
use tongdang_govern::{Context, RuleSet, Sex};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = RuleSet::from_json(text);
    if let Ok(parsed) = tongdang_fhir::parse_resource(text) {
        let _ = RuleSet::builtin().check(parsed.node(), &Context::at(Timestamp(0)));
    }
    if let Ok(resource) = serde_json::from_str::<serde_json::Value>(text) {
        let ctx = Context { received: Timestamp(i64::MAX), birth: Some(Timestamp(i64::MIN)), death: Some(Timestamp(0)), sex: Some(Sex::Female) };
        let _ = RuleSet::builtin().check((&resource).into(), &ctx);
        let _ = RuleSet::builtin().check((&resource).into(), &Context::at(Timestamp(0)));
    }
});
