//! Element paths over FHIR JSON, as rules name them: `code.coding.code` (arrays are walked
//! through), alternatives joined by `|` (`effectiveDateTime|effectivePeriod.start`). A small
//! subset of FHIRPath: enough to say where a rule looks, and to report it back.

use tongdang_fhir::Node;

/// Every value a path reaches, with the concrete path of each (array indexes filled in).
pub fn select<'a>(resource: Node<'a>, path: &str) -> Vec<(String, Node<'a>)> {
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

/// Whether a path reaches any value (no paths built).
pub fn present(resource: Node<'_>, path: &str) -> bool {
    path.split('|').any(|alternative| {
        let segments: Vec<&str> = alternative.split('.').filter(|s| !s.is_empty()).collect();
        reaches(resource, &segments)
    })
}

fn reaches(v: Node<'_>, segments: &[&str]) -> bool {
    if let Some(items) = v.items() {
        return items.into_iter().any(|item| reaches(item, segments));
    }
    match segments.split_first() {
        None => !v.is_empty(),
        Some((first, rest)) => v.get(first).is_some_and(|child| reaches(child, rest)),
    }
}

fn walk<'a>(v: Node<'a>, segments: &[&str], at: String, out: &mut Vec<(String, Node<'a>)>) {
    if let Some(items) = v.items() {
        for (i, item) in items.into_iter().enumerate() {
            walk(item, segments, format!("{at}[{i}]"), out);
        }
        return;
    }
    match segments.split_first() {
        None => {
            if !v.is_empty() {
                out.push((at, v));
            }
        }
        Some((first, rest)) => {
            if let Some(child) = v.get(first) {
                let next = if at.is_empty() { (*first).to_string() } else { format!("{at}.{first}") };
                walk(child, rest, next, out);
            }
        }
    }
}

/// The first string a path reaches.
pub fn first_str<'a>(resource: Node<'a>, path: &str) -> Option<(String, &'a str)> {
    select(resource, path).into_iter().find_map(|(p, v)| v.as_str().map(|s| (p, s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_are_walked_and_alternatives_tried_in_order() {
        let r = json!({"code": {"coding": [{"system": "a", "code": ""}, {"system": "b", "code": "x"}]}, "effectivePeriod": {"start": "2024"}});
        let found: Vec<String> = select((&r).into(), "code.coding.code").into_iter().map(|(p, _)| p).collect();
        assert_eq!(found, ["code.coding[1].code"], "empty strings are absent");
        assert_eq!(
            first_str((&r).into(), "effectiveDateTime|effectivePeriod.start"),
            Some(("effectivePeriod.start".into(), "2024"))
        );
        assert!(select((&r).into(), "status").is_empty());
        assert!(present((&r).into(), "code.coding.code") && !present((&r).into(), "code.text"));
        assert!(select((&json!([1, 2])).into(), "x").is_empty());
    }
}
