//! One NDJSON line from outside: parse, validate, classify, render. Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tongdang_core::InstitutionCode;
use tongdang_ingest::{Item, Preparation, prepare};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let institution = InstitutionCode::new("12440100MB1234567X").expect("valid code");
    if let Ok(body) = prepare(Item::from_line(1, text), &Preparation::new(institution), data.len()).body {
        let out = body.template.render("1", 1, "2024-01-01T00:00:00+08:00", |_| Some("Patient/1"));
        assert!(!out.is_empty());
    }
});
