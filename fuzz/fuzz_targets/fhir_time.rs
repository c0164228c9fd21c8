//! FHIR dates and search parameters from outside. Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tongdang_core::Timestamp;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Timestamp::parse_fhir(text);
        let _ = Timestamp::parse_fhir_range(text);
        let _ = tongdang_fhir::Reference::parse(text);
    }
});
