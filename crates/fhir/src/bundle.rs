//! Bundles submitted to `POST /fhir`: `batch` (each entry stands alone) and `transaction`
//! (all or nothing). The whole Bundle is validated once; problems are assigned to their entry.

use crate::outcome::{Issue, IssueCode};
use crate::parse::ParsedResource;
use fhirkit::json::Json;

/// How a Bundle's entries are processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleMode {
    /// Each entry succeeds or fails on its own.
    Batch,
    /// All entries succeed, or nothing is stored.
    Transaction,
}

/// One entry of a submitted Bundle.
#[derive(Debug)]
pub struct BundleEntry {
    /// `Bundle.entry.fullUrl`, by which other entries may reference this one.
    pub full_url: Option<String>,
    /// `request.method`.
    pub method: String,
    /// `request.url`.
    pub url: String,
    /// The resource, or the problems that refuse this entry.
    pub resource: Result<ParsedResource, Vec<Issue>>,
}

/// A validated Bundle, split into entries.
#[derive(Debug)]
pub struct SubmittedBundle {
    /// Batch or transaction.
    pub mode: BundleMode,
    /// The entries in order.
    pub entries: Vec<BundleEntry>,
}

/// Read a Bundle. Problems with the Bundle itself refuse it whole; problems inside one entry's
/// resource refuse that entry.
pub fn parse_bundle(text: &str) -> Result<SubmittedBundle, Vec<Issue>> {
    parse_bundle_as(text, false)
}

/// Read a Bundle file given to `tongdang import`: any Bundle type is taken; entries without a
/// request are stored as a PUT would store them, and only a `transaction` is all or nothing.
pub fn parse_bundle_file(text: &str) -> Result<SubmittedBundle, Vec<Issue>> {
    parse_bundle_as(text, true)
}

fn parse_bundle_as(text: &str, any_type: bool) -> Result<SubmittedBundle, Vec<Issue>> {
    let json = Json::parse(text).map_err(|e| vec![Issue::error(IssueCode::Structure, "", format!("not JSON: {e}"))])?;
    if json.get("resourceType").and_then(Json::as_str) != Some("Bundle") {
        return Err(vec![Issue::error(
            IssueCode::Structure,
            "resourceType",
            "POST /fhir takes a Bundle of type batch or transaction",
        )]);
    }
    let mode = match json.get("type").and_then(Json::as_str) {
        Some("batch") => BundleMode::Batch,
        Some("transaction") => BundleMode::Transaction,
        Some(_) if any_type => BundleMode::Batch,
        Some(_) => {
            return Err(vec![Issue::error(
                IssueCode::NotSupported,
                "Bundle.type",
                "this Bundle type cannot be submitted; use batch or transaction".to_string(),
            )]);
        }
        None => {
            return Err(vec![Issue::error(IssueCode::Required, "Bundle.type", "required element missing")]);
        }
    };
    let (_, found) = fhirkit::decode_json::<fhirkit::r4::Resource>(&json);
    let mut bundle_errors = Vec::new();
    let mut entry_errors: Vec<(usize, Issue)> = Vec::new();
    for i in found.iter().filter(|i| i.severity == fhirkit::Severity::Error) {
        let issue = crate::parse::convert(i);
        match entry_index(&i.path) {
            Some(n) => entry_errors.push((n, issue)),
            None => bundle_errors.push(issue),
        }
    }
    if !bundle_errors.is_empty() {
        return Err(bundle_errors);
    }
    let members = match json {
        Json::Object(m) => m,
        _ => {
            return Err(vec![Issue::error(IssueCode::Structure, "", "a Bundle is a JSON object")]);
        }
    };
    let raw_entries = members.into_iter().find(|(k, _)| k == "entry").map(|(_, v)| v);
    let raw_entries = match raw_entries {
        Some(Json::Array(a)) => a,
        _ => Vec::new(),
    };
    let mut entries = Vec::with_capacity(raw_entries.len());
    for (n, e) in raw_entries.into_iter().enumerate() {
        let prefix = format!("Bundle.entry[{n}]");
        let full_url = e.get("fullUrl").and_then(Json::as_str).map(str::to_string);
        let method = e
            .get("request")
            .and_then(|r| r.get("method"))
            .and_then(Json::as_str)
            .unwrap_or(if any_type { "PUT" } else { "" })
            .to_string();
        let url = e.get("request").and_then(|r| r.get("url")).and_then(Json::as_str).unwrap_or("").to_string();
        let mine: Vec<Issue> = entry_errors.iter().filter(|(i, _)| *i == n).map(|(_, e)| e.clone()).collect();
        let resource = if !mine.is_empty() {
            Err(mine)
        } else if method.is_empty() {
            Err(vec![Issue::error(
                IssueCode::Required,
                format!("{prefix}.request"),
                "each entry of a batch or transaction needs request.method and request.url",
            )])
        } else if method != "PUT" && method != "POST" {
            Err(vec![Issue::error(
                IssueCode::NotSupported,
                format!("{prefix}.request.method"),
                format!(
                    "{method} is not accepted: submit with PUT or POST; nothing clinical is deleted (submit status entered-in-error to withdraw an entry)"
                ),
            )])
        } else {
            let resource = match e {
                Json::Object(m) => m.into_iter().find(|(k, _)| k == "resource").map(|(_, v)| v),
                _ => None,
            };
            let mut bad = Vec::new();
            if let Some(r) = &resource {
                crate::parse::control_characters(r, &mut format!("{prefix}.resource"), &mut bad);
            }
            match resource.and_then(ParsedResource::prevalidated) {
                Some(_) if !bad.is_empty() => Err(bad),
                Some(r) => Ok(r),
                None => Err(vec![Issue::error(
                    IssueCode::Required,
                    format!("{prefix}.resource"),
                    "a PUT or POST entry needs a resource",
                )]),
            }
        };
        entries.push(BundleEntry { full_url, method, url, resource });
    }
    Ok(SubmittedBundle { mode, entries })
}

/// `Bundle.entry[12].resource.status` → 12.
fn entry_index(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("Bundle.entry[")?;
    rest[..rest.find(']')?].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_problems_stay_with_their_entry() {
        let b = parse_bundle(
            r#"{"resourceType":"Bundle","type":"batch","entry":[
              {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a"}},
              {"resource":{"resourceType":"Observation","id":"o"},"request":{"method":"POST","url":"Observation"}},
              {"request":{"method":"DELETE","url":"Patient/a"}}
            ]}"#,
        )
        .unwrap();
        assert_eq!(b.mode, BundleMode::Batch);
        assert!(b.entries[0].resource.is_ok());
        let errs = b.entries[1].resource.as_ref().unwrap_err();
        assert!(errs.iter().any(|i| i.path.starts_with("Bundle.entry[1].resource.status")), "{errs:?}");
        assert!(b.entries[2].resource.as_ref().unwrap_err()[0].message.contains("entered-in-error"));
    }

    #[test]
    fn the_bundle_itself_must_be_right() {
        assert!(parse_bundle(r#"{"resourceType":"Bundle","type":"collection"}"#).is_err());
        assert!(parse_bundle(r#"{"resourceType":"Patient"}"#).is_err());
        assert!(parse_bundle(r#"{"resourceType":"Bundle","type":"batch","foo":1}"#).unwrap_err()[0].path.contains("foo"));
    }
}
