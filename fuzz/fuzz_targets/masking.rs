//! Masking policy files and the Patient JSON they are applied to. Must never panic; masked
//! output for operators never contains a submitted 18-character ID number.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tongdang_core::Role;
use tongdang_protection::mask::{MaskPolicy, mask_patient_bytes};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = MaskPolicy::with_overrides(text);
    }
    let rules = MaskPolicy::default().for_role(Role::Auditor);
    let out = mask_patient_bytes(data, &rules);
    let values = |json: &[u8]| -> Vec<String> {
        match serde_json::from_slice::<serde_json::Value>(json) {
            Ok(v) => v["identifier"].as_array().map_or(Vec::new(), |ids| {
                ids.iter().filter_map(|i| i["value"].as_str().map(str::to_string)).collect()
            }),
            Err(_) => Vec::new(),
        }
    };
    let masked = values(&out);
    for v in values(data) {
        if v.len() == 18 && v.is_ascii() && !v.contains('*') {
            assert!(!masked.contains(&v), "an ID number passed through masking");
        }
    }
});
