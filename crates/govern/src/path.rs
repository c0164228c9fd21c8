//! Element paths over FHIR JSON, as rules name them: `code.coding.code` (arrays are walked
//! through), alternatives joined by `|` (`effectiveDateTime|effectivePeriod.start`). A small
//! subset of FHIRPath: enough to say where a rule looks, and to report it back.

use serde_json::Value;

/// Every value a path reaches, with the concrete path of each (array indexes filled in).
pub fn select<'a>(resource: &'a Value, path: &str) -> Vec<(String, &'a Value)> {
    let mut out = Vec::new();
    for alternative in path.split('|') {
        let segments: Vec<&str> = alternative.split('.').filter(|s| !s.is_empty()).collect();
        walk(resource, &segments, String::new(), &mut out);
        if !out.is_empty() {
            break;
        }
    }
    out
}

fn walk<'a>(v: &'a Value, segments: &[&str], at: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, segments, format!("{at}[{i}]"), out);
            }
        }
        _ => match segments.split_first() {
            None => {
                if !is_empty(v) {
                    out.push((at, v));
                }
            }
            Some((first, rest)) => {
                if let Some(child) = v.get(*first) {
                    let next = if at.is_empty() { (*first).to_string() } else { format!("{at}.{first}") };
                    walk(child, rest, next, out);
                }
            }
        },
    }
}

/// FHIR has no empty values: `""`, `[]`, `{}` and `null` count as absent.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The first string a path reaches.
pub fn first_str<'a>(resource: &'a Value, path: &str) -> Option<(String, &'a str)> {
    select(resource, path).into_iter().find_map(|(p, v)| v.as_str().map(|s| (p, s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_are_walked_and_alternatives_tried_in_order() {
        let r = json!({"code": {"coding": [{"system": "a", "code": ""}, {"system": "b", "code": "x"}]}, "effectivePeriod": {"start": "2024"}});
        let found: Vec<String> = select(&r, "code.coding.code").into_iter().map(|(p, _)| p).collect();
        assert_eq!(found, ["code.coding[1].code"], "empty strings are absent");
        assert_eq!(first_str(&r, "effectiveDateTime|effectivePeriod.start"), Some(("effectivePeriod.start".into(), "2024")));
        assert!(select(&r, "status").is_empty());
        assert!(select(&json!([1, 2]), "x").is_empty());
    }
}
