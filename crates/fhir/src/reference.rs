//! What a reference string means. The references of a resource are found (with their element
//! paths) while its stored form is rendered (`template`), and resolved by the ingest commit.

/// What a `Reference.reference` string means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `Type/id` (a version suffix `/_history/n` is ignored).
    Literal { resource_type: String, id: String },
    /// `Type?identifier=system|value`: the resource of that type with that identifier.
    Conditional { resource_type: String, system: Option<String>, value: String },
    /// `urn:uuid:…` or `urn:oid:…`: a `fullUrl` in the same Bundle.
    Urn(String),
    /// `#id`: a contained resource.
    Contained,
    /// An absolute URL to another server: kept as given.
    External,
    /// A form Tongdang cannot resolve, with the reason.
    Unsupported(String),
}

impl Reference {
    /// Understand a reference string.
    pub fn parse(s: &str) -> Reference {
        if s.starts_with('#') {
            return Reference::Contained;
        }
        if s.starts_with("urn:uuid:") || s.starts_with("urn:oid:") {
            return Reference::Urn(s.to_string());
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            return Reference::External;
        }
        if let Some((rt, query)) = s.split_once('?') {
            if !is_type_name(rt) {
                return Reference::Unsupported("the part before '?' is not a resource type".into());
            }
            let Some(param) = query.strip_prefix("identifier=") else {
                return Reference::Unsupported(
                    "conditional references are supported by identifier only (Type?identifier=system|value)".into(),
                );
            };
            if param.contains('&') {
                return Reference::Unsupported("a conditional reference may name one identifier only".into());
            }
            let param = percent_decode(param);
            let (system, value) = match param.split_once('|') {
                Some((s, v)) => (Some(s.to_string()).filter(|s| !s.is_empty()), v.to_string()),
                None => (None, param.clone()),
            };
            if value.is_empty() {
                return Reference::Unsupported("the identifier value is empty".into());
            }
            return Reference::Conditional { resource_type: rt.to_string(), system, value };
        }
        let mut parts = s.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(rt), Some(id), None, ..) | (Some(rt), Some(id), Some("_history"), Some(_), None)
                if is_type_name(rt) && is_id(id) =>
            {
                Reference::Literal { resource_type: rt.to_string(), id: id.to_string() }
            }
            _ => Reference::Unsupported(
                "expected Type/id, Type?identifier=system|value, urn:uuid:…, #id or an absolute URL".into(),
            ),
        }
    }
}

/// One reference inside a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceSite {
    /// Element path of the Reference, e.g. `Encounter.participant[0].individual`.
    pub path: String,
    /// The reference string as submitted.
    pub raw: String,
}

fn is_type_name(s: &str) -> bool {
    s.len() > 1 && s.as_bytes()[0].is_ascii_uppercase() && s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            // Bytes, not a str slice: a '%' before a multi-byte character must not split it.
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_forms_are_understood() {
        assert_eq!(Reference::parse("Patient/p-1"), Reference::Literal { resource_type: "Patient".into(), id: "p-1".into() });
        assert_eq!(
            Reference::parse("Patient/p-1/_history/2"),
            Reference::Literal { resource_type: "Patient".into(), id: "p-1".into() }
        );
        assert_eq!(
            Reference::parse("Location?identifier=https://github.com/synthetichealth/synthea|3b23"),
            Reference::Conditional {
                resource_type: "Location".into(),
                system: Some("https://github.com/synthetichealth/synthea".into()),
                value: "3b23".into()
            }
        );
        assert_eq!(
            Reference::parse("Practitioner?identifier=urn%3Aoid%3A1.2%7C99"),
            Reference::Conditional {
                resource_type: "Practitioner".into(),
                system: Some("urn:oid:1.2".into()),
                value: "99".into()
            }
        );
        assert_eq!(Reference::parse("urn:uuid:abc"), Reference::Urn("urn:uuid:abc".into()));
        assert_eq!(Reference::parse("#c1"), Reference::Contained);
        assert_eq!(Reference::parse("https://other.example/fhir/Patient/1"), Reference::External);
        assert!(matches!(Reference::parse("Patient"), Reference::Unsupported(_)));
        assert!(matches!(Reference::parse("patient/1"), Reference::Unsupported(_)));
        assert!(matches!(Reference::parse("Patient?name=x"), Reference::Unsupported(_)));
        assert!(matches!(Reference::parse("Patient/%"), Reference::Unsupported(_)));
    }
}
