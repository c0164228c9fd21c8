//! A Bundle body from outside. Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tongdang_fhir::bundle::parse_bundle(text);
        let _ = tongdang_fhir::bundle::parse_bundle_file(text);
    }
});
