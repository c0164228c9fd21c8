//! Parsing and structural validation of one resource, and read access to its tree.

use crate::digest::canonical_digest;
use crate::outcome::{Issue, IssueCode};
use fhirkit::json::Json;
use fhirkit::r4::Resource;
use tongdang_core::Timestamp;

/// A resource that parsed and validated as R4. Owns its JSON tree; its stored form is rendered
/// from the tree by [`ParsedResource::into_template`].
#[derive(Debug, Clone)]
pub struct ParsedResource {
    json: Json,
    resource_type: String,
    /// Warnings found while validating (unknown-to-us but legal content, for example).
    pub warnings: Vec<Issue>,
}

/// Parse JSON text as one R4 resource and validate it. Every problem comes back with its path.
pub fn parse_resource(text: &str) -> Result<ParsedResource, Vec<Issue>> {
    let json = Json::parse(text).map_err(|e| vec![Issue::error(IssueCode::Structure, "", format!("not JSON: {e}"))])?;
    ParsedResource::from_json(json)
}

impl ParsedResource {
    /// Validate an already parsed tree (a line, or an entry taken out of a validated Bundle).
    pub(crate) fn from_json(json: Json) -> Result<ParsedResource, Vec<Issue>> {
        let resource_type = match json.get("resourceType").and_then(Json::as_str) {
            Some(rt) => rt.to_string(),
            None => {
                let msg = if json.as_object().is_some() {
                    "a FHIR resource needs a resourceType"
                } else {
                    "a FHIR resource is a JSON object"
                };
                return Err(vec![Issue::error(IssueCode::Structure, "", msg)]);
            }
        };
        let (decoded, found) = fhirkit::decode_json::<Resource>(&json);
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        for i in found {
            let issue = convert(&i);
            if issue.is_error() { errors.push(issue) } else { warnings.push(issue) }
        }
        control_characters(&json, &mut resource_type.clone(), &mut errors);
        if decoded.is_none() && errors.is_empty() {
            errors.push(Issue::error(
                IssueCode::NotSupported,
                "resourceType",
                format!("{resource_type} is not an R4 resource type"),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ParsedResource { json, resource_type, warnings })
    }

    /// Wrap a tree that was validated as part of a larger document.
    pub(crate) fn prevalidated(json: Json) -> Option<ParsedResource> {
        let resource_type = json.get("resourceType")?.as_str()?.to_string();
        Some(ParsedResource { json, resource_type, warnings: Vec::new() })
    }

    /// The resource type, e.g. `Observation`.
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    /// The submitter's id of the resource, if it has one.
    pub fn id(&self) -> Option<&str> {
        self.json.get("id").and_then(Json::as_str)
    }

    /// The value at a path of object keys; arrays on the way contribute their first element.
    pub(crate) fn at(&self, path: &[&str]) -> Option<&Json> {
        let mut cur = &self.json;
        for key in path {
            cur = first(cur)?.get(key)?;
        }
        Some(cur)
    }

    /// A string at a path.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).and_then(first).and_then(Json::as_str)
    }

    /// The first parsable time among alternative paths, with its text as written.
    pub fn time_at(&self, alternatives: &[&[&str]]) -> Option<(String, Timestamp)> {
        alternatives.iter().find_map(|p| {
            let s = self.str_at(p)?;
            Timestamp::parse_fhir(s).map(|t| (s.to_string(), t))
        })
    }

    /// Every `(system, code)` of the CodeableConcept(s) at `key` (a single one or a list).
    pub fn codings(&self, key: &str) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        if let Some(v) = self.json.get(key) {
            for cc in each(v) {
                if let Some(codings) = cc.get("coding") {
                    for c in each(codings) {
                        if let Some(code) = c.get("code").and_then(Json::as_str) {
                            out.push((c.get("system").and_then(Json::as_str).unwrap_or(""), code));
                        }
                    }
                }
            }
        }
        out
    }

    /// `Patient.identifier` (or any resource's top-level identifiers) as `(system, value)`.
    pub fn identifiers(&self) -> Vec<(Option<&str>, &str)> {
        let mut out = Vec::new();
        if let Some(v) = self.json.get("identifier") {
            for id in each(v) {
                if let Some(value) = id.get("value").and_then(Json::as_str) {
                    out.push((id.get("system").and_then(Json::as_str), value));
                }
            }
        }
        out
    }

    /// Whether the resource withdraws itself: `status` or `verificationStatus` is entered-in-error.
    pub fn is_entered_in_error(&self) -> bool {
        self.str_at(&["status"]) == Some("entered-in-error")
            || self.codings("verificationStatus").iter().any(|(_, c)| *c == "entered-in-error")
    }

    /// SHA-256 of the canonical form of the content (see [`crate::digest`]).
    pub fn digest(&self) -> [u8; 32] {
        canonical_digest(&self.json)
    }

    /// The tree, as quality rules read it.
    pub fn node(&self) -> crate::Node<'_> {
        crate::Node::Parsed(&self.json)
    }

    pub(crate) fn json(&self) -> &Json {
        &self.json
    }
}

/// The value itself, or each element of an array.
pub(crate) fn each(v: &Json) -> impl Iterator<Item = &Json> {
    let slice: &[Json] = match v {
        Json::Array(a) => a,
        other => std::slice::from_ref(other),
    };
    slice.iter()
}

fn first(v: &Json) -> Option<&Json> {
    match v {
        Json::Array(a) => a.first(),
        other => Some(other),
    }
}

/// One fhirkit issue in our terms. Quoted values are cut out of the message: it goes back to the
/// submitter and into summaries and logs, and must not carry what was submitted.
pub(crate) fn convert(i: &fhirkit::Issue) -> Issue {
    let code = if i.message.contains("required element missing") || i.message.starts_with("at least") {
        IssueCode::Required
    } else if i.message.contains("unknown element") || i.message.starts_with("expected") || i.message.contains("more than once") {
        IssueCode::Structure
    } else if i.message.contains("not an R4") || i.message.contains("unknown resource") {
        IssueCode::NotSupported
    } else {
        IssueCode::Value
    };
    let message = redact_quoted(&i.message);
    match i.severity {
        fhirkit::Severity::Error => Issue::error(code, i.path.clone(), message),
        fhirkit::Severity::Warning => Issue::warning(code, i.path.clone(), message),
    }
}

/// `"1949-02-30" is not a valid date` → `the value is not a valid date`.
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (n, part) in parts.enumerate() {
        if n % 2 == 0 {
            out.push_str("the value");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// FHIR strings allow no control characters but tab, carriage return and line feed (and
/// PostgreSQL text none at all): each one found is an error at its element. The common case —
/// none — is one scan without building paths.
pub(crate) fn control_characters(v: &Json, path: &mut String, out: &mut Vec<Issue>) {
    if has_control_characters(v) {
        locate_control_characters(v, path, out);
    }
}

fn is_control(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
}

fn has_control_characters(v: &Json) -> bool {
    match v {
        Json::String(s) => is_control(s),
        Json::Array(items) => items.iter().any(has_control_characters),
        Json::Object(members) => members.iter().any(|(k, child)| is_control(k) || has_control_characters(child)),
        _ => false,
    }
}

fn locate_control_characters(v: &Json, path: &mut String, out: &mut Vec<Issue>) {
    let bad = |s: &str| s.bytes().any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'));
    match v {
        Json::String(s) if bad(s) => out.push(Issue::error(
            IssueCode::Value,
            path.clone(),
            "contains a control character, which FHIR strings do not allow",
        )),
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                locate_control_characters(item, path, out);
                path.truncate(len);
            }
        }
        Json::Object(members) => {
            for (k, child) in members {
                let len = path.len();
                path.push('.');
                if bad(k) {
                    out.push(Issue::error(IssueCode::Structure, path.clone(), "an element name contains a control character"));
                    path.truncate(len);
                    continue;
                }
                path.push_str(k);
                locate_control_characters(child, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_named_with_its_path() {
        let errs = parse_resource(r#"{"resourceType":"Observation","valueString":"x","valueBoolean":true,"foo":1}"#).unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|i| i.path.as_str()).collect();
        assert!(paths.contains(&"Observation.status"), "{paths:?}");
        assert!(paths.contains(&"Observation.code"), "{paths:?}");
        assert!(paths.contains(&"Observation.foo"), "{paths:?}");
        assert!(errs.iter().any(|i| i.code == IssueCode::Required));
    }

    #[test]
    fn messages_carry_no_submitted_values_and_control_characters_are_refused() {
        let errs = parse_resource(r#"{"resourceType":"Patient","birthDate":"19490230"}"#).unwrap_err();
        assert_eq!(errs[0].path, "Patient.birthDate");
        assert!(!errs[0].message.contains("1949"), "{}", errs[0].message);
        assert!(errs[0].message.contains("the value"), "{}", errs[0].message);
        let nul =
            parse_resource("{\"resourceType\":\"Patient\",\"id\":\"a\",\"gender\":\"male\",\"name\":[{\"text\":\"x\\u0000y\"}]}")
                .unwrap_err();
        assert_eq!(nul[0].path, "Patient.name[0].text");
        assert!(parse_resource("{\"resourceType\":\"Patient\",\"name\":[{\"text\":\"line\\nbreak\"}]}").is_ok());
    }

    #[test]
    fn non_resources_are_refused_plainly() {
        assert_eq!(parse_resource("{").unwrap_err()[0].code, IssueCode::Structure);
        assert!(parse_resource("[1]").unwrap_err()[0].message.contains("JSON object"));
        assert!(parse_resource(r#"{"exportId":"x"}"#).unwrap_err()[0].message.contains("resourceType"));
        let unknown = parse_resource(r#"{"resourceType":"Pateint","id":"1"}"#).unwrap_err();
        assert!(!unknown.is_empty());
        let wrong_type = parse_resource(r#"{"resourceType":"Patient","birthDate":19900101}"#).unwrap_err();
        assert_eq!(wrong_type[0].path, "Patient.birthDate");
    }

    #[test]
    fn times_and_codings_are_found() {
        let r = parse_resource(
            r#"{"resourceType":"Condition","subject":{"reference":"Patient/1"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"I10"}]},"onsetPeriod":{"start":"2020-05-01"}}"#,
        )
        .unwrap();
        let (text, _) = r.time_at(&[&["onsetDateTime"], &["onsetPeriod", "start"]]).unwrap();
        assert_eq!(text, "2020-05-01");
        assert_eq!(r.codings("code"), vec![("http://hl7.org/fhir/sid/icd-10", "I10")]);
    }
}
