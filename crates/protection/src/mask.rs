//! Masking (脱敏): a policy of field × role → rule, applied to Patient resources at the
//! response boundary. Defaults (documented in `docs/protection.md`): a resident sees their own
//! data in full; an institution's system (API key) too, since it matches identifiers against
//! its own records (PIXm); a clinician at a screen sees what care needs; institution
//! administrators, operators and auditors see masked demographics; a statistics export is
//! de-identified. A masked Patient keeps only the elements listed in [`MASKED_KEEP`]: whatever
//! else a source sends (extensions, narrative, photos, contained resources) is dropped.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use tongdang_core::Role;

/// A demographic field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    /// Names (`Patient.name`, contacts' names).
    Name,
    /// Identifier values: ID numbers, health cards, passports, local record numbers.
    IdNumber,
    /// Telephone numbers and other contact points.
    Phone,
    /// Addresses.
    Address,
    /// The birth date.
    BirthDate,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 5] = [Field::Name, Field::IdNumber, Field::Phone, Field::Address, Field::BirthDate];
}

/// What is shown of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Everything.
    Full,
    /// Name 张*三; ID number first 6 and last 4; phone 138****1234; birth date the year;
    /// address to the district.
    Partial,
    /// Address to the city; birth date the year; others as `partial`.
    Coarse,
    /// Nothing.
    Hidden,
}

/// The rules of every role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskPolicy {
    rules: HashMap<Role, HashMap<Field, Rule>>,
}

/// Rules for one audience.
pub type Rules = HashMap<Field, Rule>;

fn rules(name: Rule, id: Rule, phone: Rule, address: Rule, birth: Rule) -> Rules {
    HashMap::from([
        (Field::Name, name),
        (Field::IdNumber, id),
        (Field::Phone, phone),
        (Field::Address, address),
        (Field::BirthDate, birth),
    ])
}

impl Default for MaskPolicy {
    fn default() -> Self {
        use Rule::*;
        // A clinician sees the full birth date, from which and the first six and last four
        // digits the whole ID number follows; masking it would be for show.
        let care = rules(Full, Full, Full, Full, Full);
        let masked = rules(Partial, Partial, Partial, Partial, Partial);
        MaskPolicy {
            rules: HashMap::from([
                (Role::Resident, rules(Full, Full, Full, Full, Full)),
                (Role::Clinician, care),
                (Role::InstitutionSystem, rules(Full, Full, Full, Full, Full)),
                (Role::InstitutionAdmin, masked.clone()),
                (Role::CityOperator, masked.clone()),
                (Role::ProvincialOperator, masked.clone()),
                (Role::Auditor, masked),
            ]),
        }
    }
}

impl MaskPolicy {
    /// The defaults overridden by a JSON document `{ "clinician": { "id-number": "full" } }`.
    pub fn with_overrides(json: &str) -> Result<MaskPolicy, String> {
        let over: HashMap<Role, HashMap<Field, Rule>> = serde_json::from_str(json).map_err(|e| format!("masking policy: {e}"))?;
        let mut p = MaskPolicy::default();
        for (role, fields) in over {
            p.rules.entry(role).or_default().extend(fields);
        }
        Ok(p)
    }

    /// The rules for a role (unknown combinations hide).
    pub fn for_role(&self, role: Role) -> Rules {
        let r = self.rules.get(&role);
        Field::ALL.iter().map(|f| (*f, r.and_then(|r| r.get(f)).copied().unwrap_or(Rule::Hidden))).collect()
    }

    /// The rules of a de-identified statistics export: no name, identifier or phone; the city;
    /// the birth year.
    pub fn deidentified() -> Rules {
        rules(Rule::Hidden, Rule::Hidden, Rule::Hidden, Rule::Coarse, Rule::Partial)
    }
}

/// Whether the rules change nothing (the stored bytes can be served as they are).
pub fn is_full(rules: &Rules) -> bool {
    rules.values().all(|r| *r == Rule::Full)
}

/// 张三丰 → 张*丰, 张三 → 张*, 欧阳娜娜 → 欧**娜; Latin names keep their first letter.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// First 6 and last 4 kept (440104********1234); short values keep their last 2.
pub fn mask_id(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if n >= 12 {
        format!("{}{}{}", chars[..6].iter().collect::<String>(), "*".repeat(n - 10), chars[n - 4..].iter().collect::<String>())
    } else if n > 2 {
        format!("{}{}", "*".repeat(n - 2), chars[n - 2..].iter().collect::<String>())
    } else {
        "*".repeat(n)
    }
}

/// 13812341234 → 138****1234 (a +86 prefix kept); other contact points keep only their domain.
pub fn mask_phone(value: &str) -> String {
    if let Some((_, domain)) = value.split_once('@') {
        return format!("***@{domain}");
    }
    let digits: Vec<char> = value.chars().collect();
    let n = digits.len();
    if n >= 11 {
        let head: String = digits[..n - 8].iter().collect();
        let tail: String = digits[n - 4..].iter().collect();
        format!("{head}****{tail}")
    } else if n > 4 {
        format!("{}{}", "*".repeat(n - 4), digits[n - 4..].iter().collect::<String>())
    } else {
        "*".repeat(n)
    }
}

fn human_name_text(n: &Value) -> String {
    if let Some(t) = n.get("text").and_then(Value::as_str) {
        return t.to_string();
    }
    let family = n.get("family").and_then(Value::as_str).unwrap_or("");
    let given: Vec<&str> =
        n.get("given").and_then(Value::as_array).map(|g| g.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let cjk = family.chars().chain(given.iter().flat_map(|g| g.chars())).any(|c| c as u32 >= 0x2E80);
    if cjk { format!("{family}{}", given.concat()) } else { format!("{} {family}", given.join(" ")).trim().to_string() }
}

fn mask_names(obj: &mut serde_json::Map<String, Value>, key: &str, rule: Rule) {
    match rule {
        Rule::Full => {}
        Rule::Hidden => {
            obj.remove(key);
        }
        Rule::Partial | Rule::Coarse => {
            let mask_one = |n: &Value| {
                let mut out = serde_json::Map::new();
                if let Some(u) = n.get("use") {
                    out.insert("use".into(), u.clone());
                }
                out.insert("text".into(), Value::String(mask_name(&human_name_text(n))));
                Value::Object(out)
            };
            match obj.get_mut(key) {
                Some(Value::Array(names)) => names.iter_mut().for_each(|n| *n = mask_one(n)),
                Some(n @ Value::Object(_)) => *n = mask_one(n),
                _ => {}
            }
        }
    }
}

fn mask_values(obj: &mut serde_json::Map<String, Value>, key: &str, rule: Rule, f: fn(&str) -> String) {
    match rule {
        Rule::Full => {}
        Rule::Hidden => {
            obj.remove(key);
        }
        Rule::Partial | Rule::Coarse => {
            if let Some(Value::Array(items)) = obj.get_mut(key) {
                for it in items {
                    if let Some(Value::String(v)) = it.get_mut("value") {
                        *v = f(v);
                    }
                    if let Some(o) = it.as_object_mut() {
                        o.remove("assigner");
                    }
                }
            }
        }
    }
}

fn mask_addresses(obj: &mut serde_json::Map<String, Value>, key: &str, rule: Rule) {
    let keep: &[&str] = match rule {
        Rule::Full => return,
        Rule::Hidden => {
            obj.remove(key);
            return;
        }
        Rule::Partial => &["use", "type", "state", "city", "district", "country"],
        Rule::Coarse => &["use", "type", "state", "city", "country"],
    };
    let mask_one = |a: &mut Value| {
        if let Some(o) = a.as_object_mut() {
            o.retain(|k, _| keep.contains(&k.as_str()));
            let text: String = ["state", "city", "district"].iter().filter_map(|k| o.get(*k).and_then(Value::as_str)).collect();
            if !text.is_empty() {
                o.insert("text".into(), Value::String(text));
            }
        }
    };
    match obj.get_mut(key) {
        Some(Value::Array(items)) => items.iter_mut().for_each(mask_one),
        Some(a @ Value::Object(_)) => mask_one(a),
        _ => {}
    }
}

/// The elements a masked Patient keeps (then masked field by field); everything else — the
/// narrative, extensions (birth place, mother's maiden name), `_birthDate` (birth time),
/// photos, contained resources — repeats or adds demographics in forms that cannot be masked.
pub const MASKED_KEEP: [&str; 13] = [
    "resourceType",
    "id",
    "meta",
    "active",
    "identifier",
    "name",
    "telecom",
    "gender",
    "birthDate",
    "address",
    "contact",
    "managingOrganization",
    "link",
];

/// Mask a Patient (or RelatedPerson/Person) resource in place.
pub fn mask_patient(resource: &mut Value, rules: &Rules) {
    if is_full(rules) {
        return;
    }
    let rule = |f: Field| rules.get(&f).copied().unwrap_or(Rule::Hidden);
    let Some(obj) = resource.as_object_mut() else { return };
    obj.retain(|k, _| MASKED_KEEP.contains(&k.as_str()));
    mask_names(obj, "name", rule(Field::Name));
    mask_values(obj, "identifier", rule(Field::IdNumber), mask_id);
    mask_values(obj, "telecom", rule(Field::Phone), mask_phone);
    mask_addresses(obj, "address", rule(Field::Address));
    match rule(Field::BirthDate) {
        Rule::Full => {}
        Rule::Hidden => {
            obj.remove("birthDate");
        }
        Rule::Partial | Rule::Coarse => {
            if let Some(Value::String(d)) = obj.get_mut("birthDate") {
                d.truncate(4);
            }
        }
    }
    if let Some(Value::Array(contacts)) = obj.get_mut("contact") {
        for c in contacts.iter_mut().filter_map(Value::as_object_mut) {
            c.retain(|k, _| ["relationship", "name", "telecom", "address", "gender"].contains(&k.as_str()));
            mask_names(c, "name", rule(Field::Name));
            mask_values(c, "telecom", rule(Field::Phone), mask_phone);
            mask_addresses(c, "address", rule(Field::Address));
        }
    }
}

/// Mask a serialized Patient; the bytes are returned untouched when nothing is masked.
pub fn mask_patient_bytes(resource: &[u8], rules: &Rules) -> Vec<u8> {
    if is_full(rules) {
        return resource.to_vec();
    }
    match serde_json::from_slice::<Value>(resource) {
        Ok(mut v) => {
            mask_patient(&mut v, rules);
            serde_json::to_vec(&v).expect("a JSON value serializes")
        }
        // Stored resources are valid JSON; if one is not, show nothing of it.
        Err(_) => br#"{"resourceType":"Patient"}"#.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patient() -> Value {
        json!({
            "resourceType": "Patient", "id": "1",
            "text": {"status": "generated", "div": "<div>王小明 440104199003071234</div>"},
            "identifier": [{"system": "urn:oid:2.16.156.10011.1.1", "value": "440104199003071234"}],
            "name": [{"use": "official", "family": "王", "given": ["小明"]}],
            "telecom": [{"system": "phone", "value": "13812341234"}],
            "gender": "male",
            "birthDate": "1990-03-07",
            "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1990-03-07T08:30:00+08:00"}]},
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueAddress": {"city": "汕头市"}}],
            "address": [{"line": ["中山大道西123号"], "city": "广州市", "district": "天河区", "state": "广东省", "postalCode": "510000"}],
            "contact": [{"name": {"text": "李秀英"}, "telecom": [{"system": "phone", "value": "13900001111"}]}]
        })
    }

    const SECRETS: [&str; 7] = ["小明", "440104199003071234", "13812341234", "中山大道西", "03-07", "李秀英", "13900001111"];

    /// Every role × field of the default policy.
    #[test]
    fn default_policy_every_role_and_field() {
        let p = MaskPolicy::default();
        for role in Role::ALL {
            let r = p.for_role(*role);
            let mut v = patient();
            mask_patient(&mut v, &r);
            let s = v.to_string();
            let shows = |x: &str| s.contains(x);
            match role {
                Role::Resident | Role::InstitutionSystem => {
                    assert!(SECRETS.iter().all(|x| shows(x)), "{role:?} sees everything: {s}");
                }
                Role::Clinician => {
                    assert!(SECRETS.iter().all(|x| shows(x)), "{role:?} sees what care needs: {s}");
                }
                _ => {
                    assert!(SECRETS.iter().all(|x| !shows(x)), "{role:?} sees none of it: {s}");
                    assert!(shows("王*明") && shows("440104********1234") && shows("138****1234"), "{s}");
                    assert!(shows("广东省广州市天河区") && shows("\"1990\""), "{s}");
                    assert!(shows("李*英") && shows("139****1111"), "{s}");
                }
            }
            if !matches!(role, Role::Resident | Role::InstitutionSystem | Role::Clinician) {
                assert!(!shows("<div>"), "the narrative goes for {role:?}");
                assert!(!shows("birthPlace") && !shows("T08:30"), "extensions and the birth time go for {role:?}: {s}");
            }
        }
    }

    #[test]
    fn deidentified_export_keeps_only_city_and_year() {
        let mut v = patient();
        mask_patient(&mut v, &MaskPolicy::deidentified());
        let s = v.to_string();
        assert!(!s.contains("王") && !s.contains("4401") && !s.contains("138") && !s.contains("天河区"), "{s}");
        assert!(s.contains("广州市") && s.contains("\"1990\"") && s.contains("male"), "{s}");
    }

    #[test]
    fn configuration_overrides_defaults() {
        let p = MaskPolicy::with_overrides(r#"{"clinician": {"id-number": "full"}, "auditor": {"name": "hidden"}}"#).unwrap();
        assert_eq!(p.for_role(Role::Clinician)[&Field::IdNumber], Rule::Full);
        assert_eq!(p.for_role(Role::Auditor)[&Field::Name], Rule::Hidden);
        assert_eq!(p.for_role(Role::Auditor)[&Field::Phone], Rule::Partial);
        assert!(MaskPolicy::with_overrides(r#"{"clinician": {"name": "sometimes"}}"#).is_err());
        assert!(MaskPolicy::with_overrides(r#"{"janitor": {}}"#).is_err());
    }

    #[test]
    fn string_rules() {
        assert_eq!(mask_name("张三丰"), "张*丰");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_id("440104199003071234"), "440104********1234");
        assert_eq!(mask_id("E1234"), "***34");
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("+8613812341234"), "+86138****1234");
        assert_eq!(mask_phone("a.b@example.cn"), "***@example.cn");
        assert_eq!(mask_patient_bytes(b"{\"a\":1}", &MaskPolicy::default().for_role(Role::Resident)), b"{\"a\":1}");
    }
}
