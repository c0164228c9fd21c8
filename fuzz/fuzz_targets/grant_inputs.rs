//! What outside callers give the grant flows (category lists, codes, appointment times) and what
//! the history and AuditEvent views render from stored event details. Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tongdang_access::authorize::{end_of_day_cst, parse_categories};
use tongdang_access::fhir_views::audit_event;
use tongdang_access::history::describe;
use tongdang_core::Timestamp;
use tongdang_store::AuditEvent;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
        let _ = parse_categories(Some(&list));
    }
    if let Some(t) = Timestamp::parse_fhir(text) {
        let _ = end_of_day_cst(t);
    }
    if data.len() >= 8 {
        let _ = end_of_day_cst(Timestamp(i64::from_le_bytes(data[..8].try_into().unwrap())));
    }
    let (kind, detail) = text.split_once('\n').unwrap_or(("read.timeline", text));
    for outcome in ["allowed", "refused", "ok", "wrong-code"] {
        let mut e = AuditEvent::new(kind, "account:1", outcome);
        e.detail = detail.to_string();
        e.grant = Some(1);
        let _ = describe(&e, "account:2", "医院");
        let _ = audit_event(&e);
    }
});
