//! A record entry in plain Chinese for the portals: what it is, its main value, and the details
//! a resident or clinician reads (lab values with units, reference ranges and out-of-range marks;
//! vaccinations with dose numbers; blood donations and transfusions). Reads the stored FHIR JSON;
//! anything it does not recognise is shown by its type and text, never dropped.

use serde::Serialize;
use serde_json::Value;

/// An entry as a page shows it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct EntryView {
    /// `Observation/42`.
    pub reference: String,
    /// What kind of thing it is, in Chinese (检验结果, 诊断, 疫苗接种…).
    pub kind: String,
    /// Its name (the code's text or display).
    pub title: String,
    /// The main value, e.g. `6.8 mmol/L`.
    pub value: Option<String>,
    /// `high`, `low` or `abnormal` when out of range.
    pub flag: Option<&'static str>,
    /// `偏高`, `偏低`, `异常`.
    pub flag_zh: Option<&'static str>,
    /// Label and text pairs for the detail page.
    pub details: Vec<(String, String)>,
}

fn text_of_concept(c: &Value) -> Option<String> {
    if let Some(t) = c.get("text").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        return Some(t.to_string());
    }
    let codings = c.get("coding")?.as_array()?;
    codings
        .iter()
        .find_map(|x| x.get("display").and_then(Value::as_str).map(str::to_string))
        .or_else(|| codings.iter().find_map(|x| x.get("code").and_then(Value::as_str).map(str::to_string)))
}

fn concept(r: &Value, key: &str) -> Option<String> {
    match r.get(key)? {
        Value::Array(items) => items.iter().find_map(text_of_concept),
        c => text_of_concept(c),
    }
}

fn quantity(q: &Value) -> Option<String> {
    let v = q.get("value")?;
    let n = match v {
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let unit = q.get("unit").or_else(|| q.get("code")).and_then(Value::as_str).unwrap_or("");
    let comparator = q.get("comparator").and_then(Value::as_str).unwrap_or("");
    Some(format!("{comparator}{n} {unit}").trim().to_string())
}

fn number(q: &Value) -> Option<f64> {
    q.get("value")?.as_f64()
}

fn value_of(r: &Value) -> Option<String> {
    if let Some(q) = r.get("valueQuantity") {
        return quantity(q);
    }
    if let Some(c) = r.get("valueCodeableConcept") {
        return text_of_concept(c);
    }
    for key in ["valueString", "valueDateTime", "valueTime"] {
        if let Some(s) = r.get(key).and_then(Value::as_str) {
            return Some(s.to_string());
        }
    }
    if let Some(b) = r.get("valueBoolean").and_then(Value::as_bool) {
        return Some(if b { "是" } else { "否" }.into());
    }
    if let Some(i) = r.get("valueInteger") {
        return Some(i.to_string());
    }
    None
}

fn range_text(range: &Value) -> Option<String> {
    if let Some(t) = range.get("text").and_then(Value::as_str) {
        return Some(t.to_string());
    }
    let low = range.get("low").and_then(quantity);
    let high = range.get("high").and_then(quantity);
    match (low, high) {
        (Some(l), Some(h)) => Some(format!("{l} – {h}")),
        (Some(l), None) => Some(format!("≥ {l}")),
        (None, Some(h)) => Some(format!("≤ {h}")),
        (None, None) => None,
    }
}

/// Out of range: the interpretation the source gave, else the value against the first range.
fn flag_of(r: &Value) -> Option<&'static str> {
    let interpretation = r.get("interpretation").and_then(Value::as_array).into_iter().flatten().flat_map(|c| {
        c.get("coding").and_then(Value::as_array).into_iter().flatten().filter_map(|x| x.get("code").and_then(Value::as_str))
    });
    for code in interpretation {
        match code {
            "H" | "HH" | "HU" | ">" => return Some("high"),
            "L" | "LL" | "LU" | "<" => return Some("low"),
            "A" | "AA" | "POS" | "DET" => return Some("abnormal"),
            _ => {}
        }
    }
    let v = r.get("valueQuantity").and_then(number)?;
    let range = r.get("referenceRange").and_then(Value::as_array)?.first()?;
    if range.get("high").and_then(number).is_some_and(|h| v > h) {
        return Some("high");
    }
    if range.get("low").and_then(number).is_some_and(|l| v < l) {
        return Some("low");
    }
    None
}

fn flag_zh(flag: &str) -> &'static str {
    match flag {
        "high" => "偏高",
        "low" => "偏低",
        _ => "异常",
    }
}

fn kind_zh(resource_type: &str, r: &Value) -> &'static str {
    let category_codes: Vec<&str> = r
        .get("category")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|c| c.get("coding").and_then(Value::as_array).into_iter().flatten())
        .filter_map(|x| x.get("code").and_then(Value::as_str))
        .collect();
    match resource_type {
        "Observation" if category_codes.contains(&"laboratory") => "检验结果",
        "Observation" if category_codes.contains(&"vital-signs") => "生命体征",
        "Observation" => "检查观察",
        "DiagnosticReport" => "检验检查报告",
        "Condition" => "诊断",
        "Encounter" => "就诊",
        "Immunization" => "疫苗接种",
        "MedicationRequest" | "MedicationStatement" | "MedicationAdministration" | "MedicationDispense" => "用药",
        "Procedure" if category_codes.iter().any(|c| c.contains("transfusion")) => "输血",
        "Procedure" => "手术操作",
        "AllergyIntolerance" => "过敏",
        "ImagingStudy" => "影像检查",
        "CarePlan" => "诊疗计划",
        "Claim" | "ExplanationOfBenefit" => "费用结算",
        "DocumentReference" => "病历文书",
        _ => "其他记录",
    }
}

/// Describe a stored resource of a record category.
pub fn describe(resource_type: &str, id: &str, category: tongdang_core::Category, json: &[u8]) -> EntryView {
    let r: Value = serde_json::from_slice(json).unwrap_or(Value::Null);
    let kind = match (category, resource_type) {
        // Blood: a donation is recorded by the blood centre, a transfusion by the hospital.
        (tongdang_core::Category::Blood, "Procedure" | "MedicationAdministration") => "输血",
        (tongdang_core::Category::Blood, _) => "献血",
        _ => kind_zh(resource_type, &r),
    };
    let mut v = EntryView { reference: format!("{resource_type}/{id}"), kind: kind.to_string(), ..Default::default() };
    v.title = concept(&r, "code")
        .or_else(|| concept(&r, "vaccineCode"))
        .or_else(|| concept(&r, "medicationCodeableConcept"))
        .or_else(|| concept(&r, "type"))
        .or_else(|| concept(&r, "class"))
        .or_else(|| {
            r.get("class").and_then(|c| c.get("display").or_else(|| c.get("code"))).and_then(Value::as_str).map(str::to_string)
        })
        .unwrap_or_else(|| v.kind.clone());
    // The clinical time is shown by the page beside the source and collection time.
    let mut details: Vec<(String, String)> = Vec::new();
    match resource_type {
        "Observation" => {
            v.value = value_of(&r);
            v.flag = flag_of(&r);
            if let Some(val) = &v.value {
                details.push(("结果".into(), val.clone()));
            }
            if let Some(range) = r.get("referenceRange").and_then(Value::as_array).and_then(|a| a.first()).and_then(range_text) {
                details.push(("参考范围".into(), range));
            }
            for c in r.get("component").and_then(Value::as_array).into_iter().flatten() {
                if let (Some(name), Some(val)) = (concept(c, "code"), value_of(c)) {
                    details.push((name, val));
                }
            }
        }
        "Immunization" => {
            for p in r.get("protocolApplied").and_then(Value::as_array).into_iter().flatten() {
                let dose = p
                    .get("doseNumberPositiveInt")
                    .map(Value::to_string)
                    .or_else(|| p.get("doseNumberString").and_then(Value::as_str).map(str::to_string));
                if let Some(d) = dose {
                    let series = p.get("seriesDosesPositiveInt").map(|s| format!("（共{s}剂）")).unwrap_or_default();
                    details.push(("剂次".into(), format!("第{d}剂{series}")));
                    v.value = Some(format!("第{d}剂"));
                }
            }
            if let Some(lot) = r.get("lotNumber").and_then(Value::as_str) {
                details.push(("批号".into(), lot.to_string()));
            }
            if let Some(site) = concept(&r, "site") {
                details.push(("接种部位".into(), site));
            }
        }
        "Condition" => {
            if let Some(s) = concept(&r, "clinicalStatus") {
                details.push(("状态".into(), s));
            }
        }
        "Procedure" => {
            if let Some(q) = r
                .get("extension")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find_map(|e| e.get("valueQuantity"))
                .and_then(quantity)
            {
                details.push(("量".into(), q.clone()));
                v.value = Some(q);
            }
        }
        "MedicationRequest" => {
            if let Some(d) = r
                .get("dosageInstruction")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|d| d.get("text"))
                .and_then(Value::as_str)
            {
                details.push(("用法用量".into(), d.to_string()));
            }
        }
        "AllergyIntolerance" => {
            if let Some(c) = r.get("criticality").and_then(Value::as_str) {
                details.push((
                    "严重程度".into(),
                    match c {
                        "high" => "高",
                        "low" => "低",
                        _ => "不确定",
                    }
                    .into(),
                ));
            }
        }
        _ => {}
    }
    if let Some(f) = v.flag {
        v.flag_zh = Some(flag_zh(f));
    }
    if let Some(note) =
        r.get("note").and_then(Value::as_array).and_then(|a| a.first()).and_then(|n| n.get("text")).and_then(Value::as_str)
    {
        details.push(("备注".into(), note.to_string()));
    }
    v.details = details;
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_values_carry_units_ranges_and_marks() {
        let obs = r#"{"resourceType":"Observation","category":[{"coding":[{"code":"laboratory"}]}],"code":{"text":"空腹血糖"},
            "effectiveDateTime":"2024-10-01T08:00:00+08:00","valueQuantity":{"value":7.8,"unit":"mmol/L"},
            "referenceRange":[{"low":{"value":3.9,"unit":"mmol/L"},"high":{"value":6.1,"unit":"mmol/L"}}]}"#
            .as_bytes();
        let v = describe("Observation", "42", tongdang_core::Category::Lab, obs);
        assert_eq!(
            (v.kind.as_str(), v.title.as_str(), v.value.as_deref(), v.flag_zh),
            ("检验结果", "空腹血糖", Some("7.8 mmol/L"), Some("偏高"))
        );
        assert!(v.details.contains(&("参考范围".into(), "3.9 mmol/L – 6.1 mmol/L".into())));
        let imm = r#"{"resourceType":"Immunization","vaccineCode":{"coding":[{"display":"乙肝疫苗"}]},"occurrenceDateTime":"2020-01-01","protocolApplied":[{"doseNumberPositiveInt":2,"seriesDosesPositiveInt":3}]}"#.as_bytes();
        let v = describe("Immunization", "7", tongdang_core::Category::Vaccination, imm);
        assert_eq!((v.kind.as_str(), v.title.as_str(), v.value.as_deref()), ("疫苗接种", "乙肝疫苗", Some("第2剂")));
        assert!(v.details.contains(&("剂次".into(), "第2剂（共3剂）".into())));
        let junk = describe("Basic", "1", tongdang_core::Category::Other, b"not json");
        assert_eq!(describe("Procedure", "2", tongdang_core::Category::Blood, b"{}").kind, "输血");
        assert_eq!(junk.kind, "其他记录");
    }
}
