//! The content digest of a resource: SHA-256 over a canonical JSON form, so that a resubmission
//! that differs only in key order, whitespace or the submitter's `meta.versionId` /
//! `meta.lastUpdated` is recognised as identical. Canonical form: object keys sorted by their
//! UTF-8 bytes, no whitespace, strings escaped minimally as JSON requires, numbers exactly as
//! written (FHIR decimals keep their precision: `1.50` and `1.5` differ).

use fhirkit::json::Json;
use sha2::{Digest, Sha256};

/// The digest of a resource tree, ignoring top-level `meta.versionId` and `meta.lastUpdated`.
pub fn canonical_digest(json: &Json) -> [u8; 32] {
    let mut h = Sha256::new();
    write(&mut h, json, 0, false);
    h.finalize().into()
}

fn write(h: &mut Sha256, v: &Json, depth: usize, in_meta: bool) {
    match v {
        Json::Null => h.update(b"null"),
        Json::Bool(true) => h.update(b"true"),
        Json::Bool(false) => h.update(b"false"),
        Json::Number(n) => h.update(n.as_bytes()),
        Json::String(s) => write_str(h, s),
        Json::Array(items) => {
            h.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    h.update(b",");
                }
                write(h, item, depth + 1, false);
            }
            h.update(b"]");
        }
        Json::Object(members) => {
            let mut keys: Vec<&(String, Json)> =
                members.iter().filter(|(k, _)| !(in_meta && (k == "versionId" || k == "lastUpdated"))).collect();
            keys.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            h.update(b"{");
            for (i, (k, val)) in keys.into_iter().enumerate() {
                if i > 0 {
                    h.update(b",");
                }
                write_str(h, k);
                h.update(b":");
                write(h, val, depth + 1, depth == 0 && k == "meta");
            }
            h.update(b"}");
        }
    }
}

fn write_str(h: &mut Sha256, s: &str) {
    h.update(b"\"");
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        h.update(&bytes[start..i]);
        match esc {
            Some(e) => h.update(e),
            None => h.update(format!("\\u{b:04x}").as_bytes()),
        }
        start = i + 1;
    }
    h.update(&bytes[start..]);
    h.update(b"\"");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> [u8; 32] {
        canonical_digest(&Json::parse(s).unwrap())
    }

    #[test]
    fn order_whitespace_and_submitter_meta_do_not_matter() {
        let a = d(r#"{"resourceType":"Patient","id":"1","gender":"male"}"#);
        assert_eq!(a, d(r#"{ "gender" : "male", "id":"1", "resourceType":"Patient" }"#));
        let with_meta = d(r#"{"resourceType":"Patient","id":"1","gender":"male","meta":{"versionId":"7"}}"#);
        assert_eq!(
            with_meta,
            d(
                r#"{"resourceType":"Patient","id":"1","gender":"male","meta":{"versionId":"8","lastUpdated":"2024-01-01T00:00:00Z"}}"#
            )
        );
    }

    #[test]
    fn content_changes_do_matter() {
        assert_ne!(d(r#"{"v":1.5}"#), d(r#"{"v":1.50}"#));
        assert_ne!(d(r#"{"a":"x\"y"}"#), d(r#"{"a":"x'y"}"#));
        assert_ne!(d(r#"{"a":[1,2]}"#), d(r#"{"a":[2,1]}"#));
        // versionId deeper than the top-level meta is content.
        assert_ne!(d(r#"{"x":{"meta":{"versionId":"1"}}}"#), d(r#"{"x":{"meta":{"versionId":"2"}}}"#));
    }
}
