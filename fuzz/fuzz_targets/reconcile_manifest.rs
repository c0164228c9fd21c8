//! Institutions' reconciliation manifests, reconciled against a fixed held day. Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tongdang_govern::reconcile::{HeldItem, ListedItem, receipt_summary, reconcile};

fuzz_target!(|data: &[u8]| {
    let Ok(items) = serde_json::from_slice::<Vec<ListedItem>>(data) else { return };
    let held: Vec<HeldItem> = (0..8)
        .map(|i| HeldItem { resource_type: "Observation".into(), id: i.to_string(), version: i, digest: vec![i as u8; 32] })
        .collect();
    if let Ok(r) = reconcile(&items, &held) {
        assert!(r.matched + r.missing.len() + r.differing.len() == items.len());
    }
    let _ = receipt_summary(&held);
});
