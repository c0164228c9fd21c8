//! The stored form of a resource, rendered once at preparation (in parallel) with holes for what
//! only the commit knows: the platform id, version and time, and each resolved reference. The
//! commit then splices strings into bytes instead of walking and re-serializing a JSON tree.

use crate::parse::ParsedResource;
use crate::reference::ReferenceSite;
use fhirkit::json::Json;

/// What goes into a hole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    /// The platform id (a JSON string's content).
    Id,
    /// `meta.versionId`.
    Version,
    /// `meta.lastUpdated`.
    LastUpdated,
    /// The n-th reference (in [`Template::references`] order).
    Reference(usize),
}

/// Compact JSON of a resource with holes; see the module documentation.
#[derive(Debug, Clone)]
pub struct Template {
    bytes: Vec<u8>,
    holes: Vec<(usize, Hole)>,
    references: Vec<ReferenceSite>,
}

impl Template {
    /// Every reference of the resource, in document order (contained resources excluded).
    pub fn references(&self) -> &[ReferenceSite] {
        &self.references
    }

    /// The stored bytes: `reference(i)` gives the replacement of reference `i`, or `None` to keep it.
    pub fn render<'a>(
        &'a self,
        id: &str,
        version: i64,
        last_updated: &str,
        reference: impl Fn(usize) -> Option<&'a str>,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() + 64);
        let mut at = 0;
        let version = version.to_string();
        for (offset, hole) in &self.holes {
            out.extend_from_slice(&self.bytes[at..*offset]);
            at = *offset;
            match hole {
                Hole::Id => escape_content(&mut out, id),
                Hole::Version => out.extend_from_slice(version.as_bytes()),
                Hole::LastUpdated => escape_content(&mut out, last_updated),
                Hole::Reference(i) => {
                    let text = reference(*i).unwrap_or(self.references[*i].raw.as_str());
                    escape_content(&mut out, text);
                }
            }
        }
        out.extend_from_slice(&self.bytes[at..]);
        out
    }
}

impl ParsedResource {
    /// Render the stored form with holes, writing `source` as `meta.source`. Consumes the tree.
    pub fn into_template(self, source: &str) -> Template {
        let mut t = Template { bytes: Vec::with_capacity(1024), holes: Vec::new(), references: Vec::new() };
        let root = self.json();
        let Json::Object(members) = root else {
            write_value(&mut t, root, &mut String::new(), false);
            return t;
        };
        let rt = self.resource_type().to_string();
        t.bytes.push(b'{');
        let mut first = true;
        let mut comma = |t: &mut Template| {
            if !std::mem::take(&mut first) {
                t.bytes.push(b',');
            }
        };
        let original_meta = members.iter().find(|(k, _)| k == "meta").map(|(_, v)| v);
        // resourceType, id and meta lead, in that order; the rest follows as submitted.
        comma(&mut t);
        t.bytes.extend_from_slice(b"\"resourceType\":");
        escape_into(&mut t.bytes, &rt);
        comma(&mut t);
        t.bytes.extend_from_slice(b"\"id\":\"");
        t.holes.push((t.bytes.len(), Hole::Id));
        t.bytes.push(b'"');
        comma(&mut t);
        t.bytes.extend_from_slice(b"\"meta\":{\"versionId\":\"");
        t.holes.push((t.bytes.len(), Hole::Version));
        t.bytes.extend_from_slice(b"\",\"lastUpdated\":\"");
        t.holes.push((t.bytes.len(), Hole::LastUpdated));
        t.bytes.extend_from_slice(b"\",\"source\":");
        escape_into(&mut t.bytes, source);
        if let Some(Json::Object(meta)) = original_meta {
            let mut path = format!("{rt}.meta");
            for (k, v) in meta.iter().filter(|(k, _)| !matches!(k.as_str(), "versionId" | "lastUpdated" | "source")) {
                t.bytes.push(b',');
                write_member(&mut t, k, v, &mut path, false);
            }
        }
        t.bytes.push(b'}');
        let mut path = rt.clone();
        for (k, v) in members.iter().filter(|(k, _)| !matches!(k.as_str(), "resourceType" | "id" | "meta")) {
            comma(&mut t);
            // Contained resources keep their references as given.
            write_member(&mut t, k, v, &mut path, k == "contained");
        }
        t.bytes.push(b'}');
        t
    }
}

fn write_member(t: &mut Template, key: &str, v: &Json, path: &mut String, opaque: bool) {
    escape_into(&mut t.bytes, key);
    t.bytes.push(b':');
    let len = path.len();
    path.push('.');
    path.push_str(key);
    write_value(t, v, path, opaque);
    path.truncate(len);
}

fn write_value(t: &mut Template, v: &Json, path: &mut String, opaque: bool) {
    match v {
        Json::Null => t.bytes.extend_from_slice(b"null"),
        Json::Bool(b) => t.bytes.extend_from_slice(if *b { b"true" } else { b"false" }),
        Json::Number(n) => t.bytes.extend_from_slice(n.as_bytes()),
        Json::String(s) => escape_into(&mut t.bytes, s),
        Json::Array(items) => {
            t.bytes.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    t.bytes.push(b',');
                }
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                write_value(t, item, path, opaque);
                path.truncate(len);
            }
            t.bytes.push(b']');
        }
        Json::Object(members) => {
            let is_reference = !opaque && members.iter().any(|(k, v)| k == "reference" && matches!(v, Json::String(_)));
            t.bytes.push(b'{');
            for (i, (k, child)) in members.iter().enumerate() {
                if i > 0 {
                    t.bytes.push(b',');
                }
                match child {
                    Json::String(raw) if is_reference && k == "reference" => {
                        escape_into(&mut t.bytes, k);
                        t.bytes.extend_from_slice(b":\"");
                        t.holes.push((t.bytes.len(), Hole::Reference(t.references.len())));
                        t.references.push(ReferenceSite { path: path.clone(), raw: raw.clone() });
                        t.bytes.push(b'"');
                    }
                    _ => write_member(t, k, child, path, opaque),
                }
            }
            t.bytes.push(b'}');
        }
    }
}

/// A JSON string: `s` in quotes, escaped as JSON requires.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escape_content(out, s);
    out.push(b'"');
}

/// The inside of a JSON string (a hole sits between quotes already in the template).
fn escape_content(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use crate::parse::parse_resource;

    #[test]
    fn rendering_fills_the_holes_and_keeps_the_rest() {
        let r = parse_resource(
            r#"{"resourceType":"Encounter","id":"e1","meta":{"versionId":"9","profile":["p"]},"status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p1","display":"张\"伟"},"contained":[{"resourceType":"Patient","id":"c","link":[{"other":{"reference":"Patient/zz"},"type":"seealso"}]}]}"#,
        )
        .unwrap();
        let t = r.into_template("urn:tongdang:institution:X");
        assert_eq!(t.references().len(), 1);
        assert_eq!(t.references()[0].path, "Encounter.subject");
        let out = t.render("42", 3, "2024-10-03T14:22:00+08:00", |i| (i == 0).then_some("Patient/7"));
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            r#"{"resourceType":"Encounter","id":"42","meta":{"versionId":"3","lastUpdated":"2024-10-03T14:22:00+08:00","source":"urn:tongdang:institution:X","profile":["p"]},"status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/7","display":"张\"伟"},"contained":[{"resourceType":"Patient","id":"c","link":[{"other":{"reference":"Patient/zz"},"type":"seealso"}]}]}"#
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["subject"]["display"], "张\"伟");
    }
}
