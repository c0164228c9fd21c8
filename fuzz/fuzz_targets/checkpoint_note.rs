//! Checkpoint notes from outside witnesses (`tongdang verify --checkpoint FILE`). Must never
//! panic, and a note that parses must print back to the same checkpoint.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use tongdang_protection::SignedCheckpoint;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cp) = SignedCheckpoint::parse(text)
    {
        assert_eq!(SignedCheckpoint::parse(&cp.to_note()).unwrap(), cp);
        assert!(cp.verify(&cp.checkpoint.origin.clone(), &HashMap::new()).is_err());
    }
});
