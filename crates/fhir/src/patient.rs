//! The demographic elements of a Patient, read out of the tree for the patient index.

use crate::parse::{ParsedResource, each};
use fhirkit::json::Json;
use tongdang_identity::demographics::{RawAddress, RawDemographics, RawName};

const MOTHER_CODES: [&str; 3] = ["MTH", "NMTH", "mother"];

fn text(v: Option<&Json>) -> Option<String> {
    v.and_then(Json::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn strings(v: Option<&Json>) -> Vec<String> {
    v.map(|v| each(v).filter_map(Json::as_str).map(str::to_string).collect()).unwrap_or_default()
}

fn name(n: &Json) -> RawName {
    RawName { text: text(n.get("text")), family: text(n.get("family")), given: strings(n.get("given")) }
}

fn phones(v: Option<&Json>) -> Vec<String> {
    let Some(v) = v else { return Vec::new() };
    each(v)
        .filter(|t| matches!(t.get("system").and_then(Json::as_str), Some("phone" | "sms") | None))
        .filter_map(|t| text(t.get("value")))
        .collect()
}

impl ParsedResource {
    /// Names (official first), gender, birth date, phones, addresses, the mother (a `contact`
    /// with relationship MTH) and the birth order of a multiple birth. Identifiers are left for
    /// the caller, which normalizes them first.
    pub fn patient_demographics(&self) -> RawDemographics {
        let json = self.json();
        let mut names: Vec<&Json> = json.get("name").map(|v| each(v).collect()).unwrap_or_default();
        names.sort_by_key(|n| match n.get("use").and_then(Json::as_str) {
            Some("official") => 0,
            Some("usual") | None => 1,
            Some("old") => 3,
            _ => 2,
        });
        let mother = json.get("contact").and_then(|contacts| {
            each(contacts).find(|c| {
                c.get("relationship").is_some_and(|rels| {
                    each(rels).any(|cc| {
                        cc.get("coding").is_some_and(|codings| {
                            each(codings)
                                .any(|c| c.get("code").and_then(Json::as_str).is_some_and(|code| MOTHER_CODES.contains(&code)))
                        })
                    })
                })
            })
        });
        let multiple_birth = match json.get("multipleBirthInteger") {
            Some(Json::Number(n)) => n.parse().ok(),
            _ => None,
        };
        let mut raw = RawDemographics {
            names: names.into_iter().map(name).collect(),
            gender: text(json.get("gender")),
            birth_date: text(json.get("birthDate")),
            phones: phones(json.get("telecom")),
            addresses: json
                .get("address")
                .map(|v| {
                    each(v)
                        .map(|a| RawAddress {
                            text: text(a.get("text")),
                            line: strings(a.get("line")),
                            city: text(a.get("city")),
                            district: text(a.get("district")),
                            postal_code: text(a.get("postalCode")),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            mother: mother.and_then(|m| m.get("name")).map(name),
            multiple_birth,
            identifiers: Vec::new(),
            deceased: text(json.get("deceasedDateTime")),
        };
        if let Some(m) = mother {
            raw.phones.extend(phones(m.get("telecom")));
        }
        raw
    }
}

#[cfg(test)]
mod tests {
    use crate::parse_resource;

    #[test]
    fn reads_the_demographics_of_a_newborn() {
        let p = parse_resource(
            r#"{"resourceType":"Patient","name":[{"use":"old","text":"旧名"},{"use":"official","text":"李丽之子"}],
            "gender":"male","birthDate":"2024-05-01","multipleBirthInteger":2,
            "contact":[{"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-RoleCode","code":"MTH"}]}],
                        "name":{"text":"李丽"},"telecom":[{"system":"phone","value":"13800138000"}]}]}"#,
        )
        .unwrap();
        let d = p.patient_demographics();
        assert_eq!(d.names[0].text.as_deref(), Some("李丽之子"));
        assert_eq!(d.mother.and_then(|m| m.text).as_deref(), Some("李丽"));
        assert_eq!(d.multiple_birth, Some(2));
        assert_eq!(d.phones, vec!["13800138000".to_string()]);
    }
}
