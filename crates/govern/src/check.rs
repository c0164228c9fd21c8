//! Running one rule on one resource. Each finding names the rule, its severity, a message in
//! Chinese for the institution, and the element path where the problem is.

use crate::path::{present, select};
use crate::rule::{Rule, RuleKind, Severity};
use serde::{Deserialize, Serialize};
use tongdang_core::Timestamp;
use tongdang_fhir::Node;

const DAY: i64 = 86_400_000_000;
const HOUR: i64 = 3_600_000_000;
const MINUTE: i64 = 60_000_000;

/// A person's sex, as sex-specific rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Male.
    Male,
    /// Female.
    Female,
}

/// What a check knows beyond the resource: when it arrived, and about its person.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// When the platform received it.
    pub received: Timestamp,
    /// The person's birth date, if known.
    pub birth: Option<Timestamp>,
    /// The person's death, if known.
    pub death: Option<Timestamp>,
    /// The person's sex, if known.
    pub sex: Option<Sex>,
}

impl Context {
    /// Received at `received`, nothing known of the person.
    pub fn at(received: Timestamp) -> Context {
        Context { received, birth: None, death: None, sex: None }
    }
}

/// One rule failed. Messages name the rule, the element and the limits, never the submitted
/// value: returns are kept unsealed and shown to operators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's id.
    pub rule: String,
    /// Its severity.
    pub severity: Severity,
    /// What is wrong, in Chinese.
    pub message: String,
    /// Where, as an element path (`Observation.valueQuantity.code`).
    pub path: String,
}

fn finding(rule: &Rule, rt: &str, path: &str, detail: String) -> Finding {
    Finding {
        rule: rule.id.clone(),
        severity: rule.severity,
        message: if detail.is_empty() { rule.description.clone() } else { format!("{}：{detail}", rule.description) },
        path: if path.is_empty() { rt.to_string() } else { format!("{rt}.{path}") },
    }
}

/// What a rule about the person needs from a resource, taken before the person is known: the
/// time or the code it would compare, and where it is (`Observation.effectiveDateTime`).
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The rule's index in its set.
    pub(crate) rule: usize,
    /// Full element path.
    pub(crate) path: String,
    /// The time or code found there.
    pub(crate) value: Probed,
}

/// A probed value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Probed {
    Time(Timestamp),
    Code(String),
}

/// What `rule` (one that needs the person) would compare in `resource`.
pub(crate) fn probe(rule: &Rule, resource: Node<'_>) -> Vec<Probe> {
    let rt = resource.get("resourceType").and_then(Node::as_str).unwrap_or("Resource");
    let full = |at: String| format!("{rt}.{at}");
    let time = |path: &str| first_time(resource, path).map(|(at, t)| Probe { rule: 0, path: full(at), value: Probed::Time(t) });
    match &rule.kind {
        RuleKind::NotBeforeBirth { path } | RuleKind::NotAfterDeath { path, .. } => time(path).into_iter().collect(),
        RuleKind::AgeAt { code_path, codes, path, .. } if has_code(resource, code_path, codes) => {
            time(path).into_iter().collect()
        }
        RuleKind::SexSpecific { code_path, prefixes, .. } => select(resource, code_path)
            .into_iter()
            .filter_map(|(at, v)| {
                let code = v.get("code").and_then(Node::as_str).or(v.as_str())?;
                prefixes.iter().any(|p| code.starts_with(p.as_str())).then(|| Probe {
                    rule: 0,
                    path: full(at),
                    value: Probed::Code(code.to_string()),
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Judge a probe once the person is known (`None`: it passes, or the person's facts are unknown).
pub(crate) fn judge(rule: &Rule, probe: &Probe, ctx: &Context) -> Option<Finding> {
    let (rt, at) = probe.path.split_once('.').unwrap_or((probe.path.as_str(), ""));
    let fail = |detail: String| Some(finding(rule, rt, at, detail));
    match (&rule.kind, &probe.value) {
        // A date-only birth covers its whole day: compare with its start.
        (RuleKind::NotBeforeBirth { .. }, Probed::Time(t)) if ctx.birth.is_some_and(|b| t.0 < b.0) => {
            fail("时间早于出生日期".into())
        }
        (RuleKind::NotAfterDeath { grace_days, .. }, Probed::Time(t))
            if ctx.death.is_some_and(|d| t.0 > d.0.saturating_add(DAY.saturating_mul(grace_days.saturating_add(1)))) =>
        {
            fail("时间晚于死亡日期".into())
        }
        (RuleKind::AgeAt { min_days, max_days, .. }, Probed::Time(t)) => {
            let days = (t.0 - ctx.birth?.0).div_euclid(DAY);
            (days < *min_days || days > *max_days)
                .then(|| finding(rule, rt, at, format!("接种时年龄不在适用范围（{min_days}–{max_days}天）内")))
        }
        (RuleKind::SexSpecific { sex, .. }, Probed::Code(code)) if ctx.sex.is_some_and(|s| s != *sex) => {
            fail("诊断与患者性别不符".into())
        }
        _ => None,
    }
}

fn time(v: Node<'_>) -> Option<Timestamp> {
    v.as_str().and_then(Timestamp::parse_fhir)
}

/// The findings of `rule` on `resource` (empty: it passes).
pub(crate) fn run(rule: &Rule, resource: Node<'_>, ctx: &Context) -> Vec<Finding> {
    let rt = resource.get("resourceType").and_then(Node::as_str).unwrap_or("Resource");
    let finding = |path: &str, detail: String| finding(rule, rt, path, detail);
    let mut out = Vec::new();
    match &rule.kind {
        RuleKind::Required { path } => {
            if !present(resource, path) {
                out.push(finding(path.split('|').next().unwrap_or(path), "缺少该元素".into()));
            }
        }
        RuleKind::ValueSet { path, set } => {
            let (systems, codes) = crate::valuesets::lookup(set).unwrap_or((&[], &[]));
            for (at, v) in select(resource, path) {
                let (system, code) = match v.as_str() {
                    Some(s) => ("", s),
                    None if v.is_object() => {
                        (v.get("system").and_then(Node::as_str).unwrap_or(""), v.get("code").and_then(Node::as_str).unwrap_or(""))
                    }
                    None => continue,
                };
                // Codings of other systems are not this set's to judge.
                if !systems.contains(&system) {
                    continue;
                }
                if !codes.contains(&code) {
                    out.push(finding(&at, "代码不在值域中".into()));
                }
            }
        }
        RuleKind::Icd10 { path } => {
            for (at, v) in select(resource, path) {
                let system = v.get("system").and_then(Node::as_str).unwrap_or("");
                if !system.contains("icd-10") && !system.contains("icd10") && system != "urn:oid:2.16.156.10011.2.3.3.11" {
                    continue;
                }
                let code = v.get("code").and_then(Node::as_str).unwrap_or("");
                if !crate::valuesets::is_icd10(code) {
                    out.push(finding(&format!("{at}.code"), "不是ICD-10编码格式（如E11.9）".into()));
                }
            }
        }
        RuleKind::UcumUnit { path } => {
            for (at, q) in select(resource, path) {
                if q.get("value").is_none() {
                    continue;
                }
                let system = q.get("system").and_then(Node::as_str);
                let code = q.get("code").and_then(Node::as_str).unwrap_or("");
                if system != Some("http://unitsofmeasure.org") || !crate::valuesets::is_ucum_form(code) {
                    out.push(finding(&format!("{at}.code"), "计量单位应使用UCUM编码".into()));
                }
            }
        }
        RuleKind::NotInFuture { path, skew_minutes } => {
            if let Some((at, t)) = first_time(resource, path)
                && t.0 > ctx.received.0.saturating_add(skew_minutes.saturating_mul(MINUTE))
            {
                out.push(finding(&at, "时间晚于接收时间".into()));
            }
        }
        RuleKind::NotBeforeBirth { .. }
        | RuleKind::NotAfterDeath { .. }
        | RuleKind::AgeAt { .. }
        | RuleKind::SexSpecific { .. } => {
            for p in probe(rule, resource) {
                out.extend(judge(rule, &p, ctx));
            }
        }
        RuleKind::NotBefore { path, other } => {
            if let (Some((at, t)), Some((_, o))) = (first_time(resource, path), first_time(resource, other))
                && t.0 < o.0
            {
                out.push(finding(&at, format!("早于{}", other.split('|').next().unwrap_or(other))));
            }
        }
        RuleKind::Range { code_path, code, path, min, max } => {
            if has_code(resource, code_path, std::slice::from_ref(code)) {
                for (at, q) in select(resource, path) {
                    if let Some(v) = q.get("value").and_then(Node::as_f64)
                        && !(*min..=*max).contains(&v)
                    {
                        out.push(finding(&format!("{at}.value"), format!("数值超出合理范围[{min}, {max}]")));
                    }
                }
            }
        }
        RuleKind::CheckDigit { system } => {
            for (at, id) in select(resource, "identifier") {
                if id.get("system").and_then(Node::as_str) != Some(system.as_str()) {
                    continue;
                }
                let value = id.get("value").and_then(Node::as_str).unwrap_or("");
                if tongdang_identity::gb11643::NationalId::parse(value).is_err() {
                    // The value itself is personal: the message does not repeat it.
                    out.push(finding(&format!("{at}.value"), "身份证号校验位错误或格式不符".into()));
                }
            }
        }
        // Needs the store: the ingest commit runs it.
        RuleKind::Duplicate => {}
        RuleKind::Timeliness { path, max_lag_hours } => {
            if let Some((at, t)) = first_time(resource, path) {
                let lag = ctx.received.0.saturating_sub(t.0);
                if lag > max_lag_hours.saturating_mul(HOUR) {
                    out.push(finding(&at, format!("上报延迟{}小时，超过{max_lag_hours}小时", lag / HOUR)));
                }
            }
        }
    }
    out
}

fn first_time(resource: Node<'_>, path: &str) -> Option<(String, Timestamp)> {
    select(resource, path).into_iter().find_map(|(at, v)| time(v).map(|t| (at, t)))
}

fn has_code(resource: Node<'_>, code_path: &str, codes: &[String]) -> bool {
    select(resource, code_path).into_iter().any(|(_, v)| {
        let code = v.get("code").and_then(Node::as_str).or(v.as_str()).unwrap_or("");
        codes.iter().any(|c| c == code)
    })
}
