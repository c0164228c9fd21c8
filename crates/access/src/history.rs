//! A resident's access history in plain Chinese: each audit event about their record as one
//! sentence, e.g. "2024-10-03 14:22 广州市第一人民医院 心内科 调阅了您的检查检验记录（短信验证码授权）".

use crate::grant::Channel;
use crate::notify::shown;
use serde_json::Value;
use tongdang_core::Category;
use tongdang_store::AuditEvent;

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryLine {
    /// The event's id (for paging).
    pub id: i64,
    /// When, RFC 3339 in China Standard Time.
    pub at: String,
    /// The institution that acted, by name (empty for the resident's own actions).
    pub institution: String,
    /// Its department, if known.
    pub department: String,
    /// What happened, as a sentence.
    pub text: String,
    /// `allowed`, `refused`, …, as in the audit trail.
    pub outcome: String,
    /// The grant it rests on, if any.
    pub grant: Option<i64>,
}

/// The sentence for one event, or `None` for events residents are not shown (their own
/// reads, sign-ins).
pub fn describe(e: &AuditEvent, own_actor: &str, institution_name: &str) -> Option<HistoryLine> {
    let d: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
    let department = d.get("department").and_then(Value::as_str).unwrap_or("").to_string();
    let who = if department.is_empty() { institution_name.to_string() } else { format!("{institution_name} {department}") };
    let how = d
        .get("channel")
        .and_then(Value::as_str)
        .and_then(Channel::parse)
        .map(|c| format!("（{}）", c.label_zh()))
        .unwrap_or_default();
    let what = categories_text(d.get("categories"));
    let mine = e.actor == own_actor;
    let text = match (e.kind.as_str(), e.outcome.as_str()) {
        (k, _) if mine && k.starts_with("read.") => return None,
        ("read.patient" | "read.find-persons" | "read.list-persons" | "read.match" | "read.pix", _) => {
            format!("{who} 查询了您的身份信息")
        }
        ("read.consent", _) => format!("{who} 查看了您的授权记录"),
        (k, "allowed") if k.starts_with("read.") => format!("{who} 调阅了您的{what}{how}"),
        (k, "refused") if k.starts_with("read.") => format!("{who} 试图调阅您的健康档案，未获授权，已拒绝"),
        ("grant.request", _) => match d.get("channel").and_then(Value::as_str) {
            Some("sms") => format!("{who} 申请调阅您的健康档案，已向您的手机发送验证码"),
            _ => format!("{who} 申请调阅您的健康档案，等待您同意"),
        },
        ("grant.active", _) if mine => format!("您同意了调阅申请{how}"),
        ("grant.active", _) => format!("{who} 获得了调阅您健康档案的授权{how}"),
        ("grant.refused", _) => "您拒绝了调阅申请".to_string(),
        ("grant.revoked", _) => "您撤销了一项授权".to_string(),
        ("grant.emergency", _) => format!("{who} 因紧急救治启用了紧急调阅"),
        ("grant.code", "wrong-code") => format!("{who} 输入的验证码错误"),
        ("grant.code", _) => return None,
        ("grant.review", o) => {
            format!("{who} 的隐私管理员审查了一次紧急调阅：{}", if o == "justified" { "合理" } else { "不合理" })
        }
        ("auth.face-verification", "ok") => "您通过了人脸识别核验".to_string(),
        ("auth.face-verification", _) => "人脸识别核验未通过".to_string(),
        _ => return None,
    };
    Some(HistoryLine {
        id: e.id,
        at: e.at.to_rfc3339_cst(),
        institution: if mine { String::new() } else { institution_name.to_string() },
        department,
        text: format!("{} {text}", shown(e.at)),
        outcome: e.outcome.clone(),
        grant: e.grant,
    })
}

fn categories_text(v: Option<&Value>) -> String {
    // Stored as a list of codes, or (grant events) as `all` / codes joined by commas.
    let codes: Vec<&str> = match v {
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) if s != "all" => s.split(',').collect(),
        _ => Vec::new(),
    };
    let labels: Vec<&str> = codes.iter().filter_map(|c| c.parse::<Category>().ok()).map(Category::label_zh).collect();
    if labels.is_empty() { "健康档案".to_string() } else { format!("{}记录", labels.join("、")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongdang_core::{PersonId, Timestamp};

    #[test]
    fn a_read_under_an_sms_grant_reads_like_the_issue_says() {
        let mut e = AuditEvent::new("read.timeline", "account:9", "allowed");
        e.at = Timestamp::parse_fhir("2024-10-03T14:22:00+08:00").unwrap();
        e.person = Some(PersonId(1));
        e.detail =
            r#"{"role":"clinician","categories":["lab"],"basis":"grant","grant":3,"channel":"sms","department":"心内科"}"#.into();
        let line = describe(&e, "account:1", "广州市第一人民医院").unwrap();
        assert_eq!(line.text, "2024-10-03 14:22 广州市第一人民医院 心内科 调阅了您的检查检验记录（短信验证码授权）");
        // The resident's own reads are not listed.
        assert!(describe(&e, "account:9", "").is_none());
    }
}
