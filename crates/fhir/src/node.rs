//! A read-only view of a JSON tree that is either a parsed submission (`fhirkit`'s tree, kept
//! in document order) or a `serde_json::Value` (a stored resource, a test). Quality rules walk
//! this view, so checking a submission costs no conversion of its tree.

use fhirkit::json::Json;
use serde_json::Value;

/// One node of a JSON tree.
#[derive(Debug, Clone, Copy)]
pub enum Node<'a> {
    /// A node of a parsed submission.
    Parsed(&'a Json),
    /// A node of a `serde_json` value.
    Value(&'a Value),
}

impl<'a> Node<'a> {
    /// The member `key` of an object.
    pub fn get(self, key: &str) -> Option<Node<'a>> {
        match self {
            Node::Parsed(j) => j.get(key).map(Node::Parsed),
            Node::Value(v) => v.get(key).map(Node::Value),
        }
    }

    /// The elements of an array (`None` for anything else).
    pub fn items(self) -> Option<Vec<Node<'a>>> {
        match self {
            Node::Parsed(Json::Array(a)) => Some(a.iter().map(Node::Parsed).collect()),
            Node::Value(Value::Array(a)) => Some(a.iter().map(Node::Value).collect()),
            _ => None,
        }
    }

    /// Whether it is an array.
    pub fn is_array(self) -> bool {
        matches!(self, Node::Parsed(Json::Array(_)) | Node::Value(Value::Array(_)))
    }

    /// Whether it is an object.
    pub fn is_object(self) -> bool {
        matches!(self, Node::Parsed(Json::Object(_)) | Node::Value(Value::Object(_)))
    }

    /// The string, if it is one.
    pub fn as_str(self) -> Option<&'a str> {
        match self {
            Node::Parsed(Json::String(s)) => Some(s),
            Node::Value(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The number, if it is one.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            Node::Parsed(Json::Number(n)) => n.parse().ok(),
            Node::Value(v) => v.as_f64(),
            _ => None,
        }
    }

    /// FHIR has no empty values: `""` (or blanks), `[]`, `{}` and `null` count as absent.
    pub fn is_empty(self) -> bool {
        match self {
            Node::Parsed(Json::Null) | Node::Value(Value::Null) => true,
            Node::Parsed(Json::String(s)) => s.trim().is_empty(),
            Node::Value(Value::String(s)) => s.trim().is_empty(),
            Node::Parsed(Json::Array(a)) => a.is_empty(),
            Node::Value(Value::Array(a)) => a.is_empty(),
            Node::Parsed(Json::Object(o)) => o.is_empty(),
            Node::Value(Value::Object(o)) => o.is_empty(),
            _ => false,
        }
    }
}

impl<'a> From<&'a Value> for Node<'a> {
    fn from(v: &'a Value) -> Node<'a> {
        Node::Value(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_trees_read_alike() {
        let text = r#"{"a":[{"b":"x"},{"b":""}],"n":1.5,"o":{},"s":"  "}"#;
        let parsed = Json::parse(text).unwrap();
        let value: Value = serde_json::from_str(text).unwrap();
        for n in [Node::Parsed(&parsed), Node::Value(&value)] {
            let a = n.get("a").unwrap();
            assert!(a.is_array());
            let items = a.items().unwrap();
            assert_eq!(items[0].get("b").and_then(Node::as_str), Some("x"));
            assert!(items[1].get("b").unwrap().is_empty());
            assert_eq!(n.get("n").and_then(Node::as_f64), Some(1.5));
            assert!(n.get("o").unwrap().is_empty() && n.get("o").unwrap().is_object());
            assert!(n.get("s").unwrap().is_empty());
            assert!(n.get("missing").is_none());
        }
    }
}
