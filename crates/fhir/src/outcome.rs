//! Problems found in a submission, and their OperationOutcome form.

use serde_json::{Value, json};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The item is refused.
    Error,
    /// Accepted, but worth knowing.
    Warning,
    /// For information.
    Information,
}

impl Severity {
    fn code(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// The FHIR `IssueType` codes Tongdang uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueCode {
    /// Not JSON, or the wrong JSON shape.
    Structure,
    /// A required element is missing.
    Required,
    /// A value has the wrong format.
    Value,
    /// Content is invalid for another reason.
    Invalid,
    /// Tongdang does not support this.
    NotSupported,
    /// A reference points at nothing.
    NotFound,
    /// Too large.
    TooLong,
    /// A processing failure on our side.
    Exception,
    /// Authentication or authorization.
    Security,
    /// A conflict with what is stored.
    Conflict,
    /// Informational note.
    Informational,
    /// Not processed because something else failed (the rest of a failed transaction).
    Processing,
    /// Refused for now: a quota or rate limit.
    Throttled,
    /// A quality rule failed (the message starts with the rule id).
    BusinessRule,
}

impl IssueCode {
    /// The FHIR code.
    pub fn code(self) -> &'static str {
        match self {
            IssueCode::Structure => "structure",
            IssueCode::Required => "required",
            IssueCode::Value => "value",
            IssueCode::Invalid => "invalid",
            IssueCode::NotSupported => "not-supported",
            IssueCode::NotFound => "not-found",
            IssueCode::TooLong => "too-long",
            IssueCode::Exception => "exception",
            IssueCode::Security => "security",
            IssueCode::Conflict => "conflict",
            IssueCode::Informational => "informational",
            IssueCode::Processing => "processing",
            IssueCode::Throttled => "throttled",
            IssueCode::BusinessRule => "business-rule",
        }
    }
}

/// One problem, located by a FHIRPath-style element path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// How bad.
    pub severity: Severity,
    /// What kind.
    pub code: IssueCode,
    /// Where, e.g. `Observation.component[1].valueQuantity.value`; empty for the whole item.
    pub path: String,
    /// What is wrong, in plain words.
    pub message: String,
}

impl Issue {
    /// An error at `path`.
    pub fn error(code: IssueCode, path: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue { severity: Severity::Error, code, path: path.into(), message: message.into() }
    }

    /// A warning at `path`.
    pub fn warning(code: IssueCode, path: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue { severity: Severity::Warning, code, path: path.into(), message: message.into() }
    }

    /// `true` for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The same issue located inside a larger document: `Bundle.entry[3].resource` + `.status`.
    pub fn under(mut self, prefix: &str) -> Issue {
        self.path = match self.path.split_once('.') {
            Some((_, rest)) => format!("{prefix}.{rest}"),
            None if self.path.is_empty() => prefix.to_string(),
            None => prefix.to_string(),
        };
        self
    }

    /// The OperationOutcome.issue element.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "severity": self.severity.code(),
            "code": self.code.code(),
            "diagnostics": self.message,
        });
        if !self.path.is_empty() {
            v["expression"] = json!([self.path]);
        }
        v
    }
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.severity.code(), self.message)
        } else {
            write!(f, "{} at {}: {}", self.severity.code(), self.path, self.message)
        }
    }
}

/// An OperationOutcome holding `issues` (an empty list becomes one "all ok" information issue).
pub fn operation_outcome(issues: &[Issue]) -> Value {
    let list: Vec<Value> = if issues.is_empty() {
        vec![
            Issue { severity: Severity::Information, code: IssueCode::Informational, path: String::new(), message: "ok".into() }
                .to_json(),
        ]
    } else {
        issues.iter().map(Issue::to_json).collect()
    };
    json!({"resourceType": "OperationOutcome", "issue": list})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_move_under_a_bundle_entry() {
        let i = Issue::error(IssueCode::Required, "Observation.status", "required element missing");
        assert_eq!(i.clone().under("Bundle.entry[2].resource").path, "Bundle.entry[2].resource.status");
        let oo = operation_outcome(&[i]);
        assert_eq!(oo["issue"][0]["expression"][0], "Observation.status");
        assert_eq!(oo["issue"][0]["code"], "required");
    }
}
