//! Telling residents what happens to their record: a new grant, an emergency access, and
//! (configurable) the first read by each institution. Through the app push always, and by SMS to
//! the phone on file for what a resident must not miss (a grant in force, an emergency access).
//! Sent off the request's path: a slow gateway never slows a read, and a failure is logged
//! (without the number or the text) rather than failing the read.

use crate::channels::Channels;
use crate::grant::Channel;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tongdang_core::{InstitutionCode, PersonId, Timestamp};
use tongdang_store::Store;

/// What to tell residents.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Tell of each institution's first read of a record.
    pub first_read: bool,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig { first_read: true }
    }
}

/// Pairs already known to have been read: skips the store on every later read.
const SEEN_LIMIT: usize = 100_000;

/// Sends notifications.
pub struct Notifier {
    store: Arc<dyn Store>,
    channels: Channels,
    config: NotifyConfig,
    seen: Mutex<HashSet<(PersonId, String)>>,
}

impl Notifier {
    /// A notifier through `channels`.
    pub fn new(store: Arc<dyn Store>, channels: Channels, config: NotifyConfig) -> Notifier {
        Notifier { store, channels, config, seen: Mutex::new(HashSet::new()) }
    }

    /// A read under a grant: the first by this institution is told to the resident.
    pub fn first_read(self: &Arc<Self>, person: PersonId, institution: &str, channel: Channel, now: Timestamp) {
        {
            let mut seen = self.seen.lock().expect("seen lock");
            if seen.len() >= SEEN_LIMIT {
                seen.clear();
            }
            if !seen.insert((person, institution.to_string())) {
                return;
            }
        }
        let this = self.clone();
        let institution = institution.to_string();
        tokio::spawn(async move {
            match this.store.mark_first_read(person, &institution, now).await {
                Ok(true) if this.config.first_read => {
                    let name = this.institution_name(&institution).await;
                    let body = format!(
                        "{name}首次调阅了您的健康档案（{}）。如非本人授权，请在“授权管理”中撤销并反馈。",
                        channel.label_zh()
                    );
                    this.push(person, "档案调阅提醒", &body).await;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "first read not recorded"),
            }
        });
    }

    /// A grant came into force.
    pub fn grant_active(self: &Arc<Self>, person: PersonId, institution: &str, channel: Channel, until: Timestamp) {
        let this = self.clone();
        let institution = institution.to_string();
        tokio::spawn(async move {
            let name = this.institution_name(&institution).await;
            let body = format!(
                "您已授权{name}调阅您的健康档案（{}），有效期至{}。可随时在“授权管理”中撤销。",
                channel.label_zh(),
                shown(until)
            );
            this.push(person, "新的授权", &body).await;
            this.sms(person, &format!("【通档】{body}")).await;
        });
    }

    /// A clinician asked for access through the app: the request waits in the portal.
    pub fn request(self: &Arc<Self>, person: PersonId, institution: &str, department: Option<&str>) {
        let this = self.clone();
        let institution = institution.to_string();
        let department = department.map(str::to_string);
        tokio::spawn(async move {
            let name = this.institution_name(&institution).await;
            let body = format!("{name}{}申请调阅您的健康档案，请在“授权管理”中同意或拒绝。", department.unwrap_or_default());
            this.push(person, "调阅申请", &body).await;
        });
    }

    /// An emergency access was declared.
    pub fn emergency(self: &Arc<Self>, person: PersonId, institution: &str, until: Timestamp) {
        let this = self.clone();
        let institution = institution.to_string();
        tokio::spawn(async move {
            let name = this.institution_name(&institution).await;
            let body = format!(
                "{name}因紧急救治需要调阅了您的健康档案（紧急调阅，有效期至{}），该调阅将由机构隐私管理员审查。如有疑问请反馈。",
                shown(until)
            );
            this.push(person, "紧急调阅通知", &body).await;
            this.sms(person, &format!("【通档】{body}")).await;
        });
    }

    /// Send an SMS code to the phone on file; `false` if there is none or the gateway failed.
    pub async fn send_code(&self, phone: &str, institution: &str, code: &str) -> Result<(), crate::channels::ChannelError> {
        let name = self.institution_name(institution).await;
        let text =
            format!("【通档】验证码{code}，{name}申请调阅您的健康档案，5分钟内有效。告知验证码即视为同意授权，请勿告知他人。");
        self.channels.sms.send(phone, &text).await
    }

    async fn push(&self, person: PersonId, title: &str, body: &str) {
        if let Err(e) = self.channels.app.push(person, title, body).await {
            tracing::warn!(error = %e, "app notification not delivered");
        }
    }

    async fn sms(&self, person: PersonId, text: &str) {
        match phone_on_file(self.store.as_ref(), person).await {
            PhoneOnFile::One(phone) => {
                if let Err(e) = self.channels.sms.send(&phone, text).await {
                    tracing::warn!(error = %e, "SMS notification not sent");
                }
            }
            _ => tracing::info!("no trusted phone on file; SMS notification skipped"),
        }
    }

    async fn institution_name(&self, code: &str) -> String {
        let name = match InstitutionCode::new(code) {
            Ok(c) => self.store.institution(&c).await.ok().flatten().map(|i| i.name),
            Err(_) => None,
        };
        name.unwrap_or_else(|| code.to_string())
    }
}

/// Where a code or a notice for a person may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneOnFile {
    /// This number.
    One(String),
    /// No mobile number is known.
    None,
    /// Institutions submitted different mobile numbers, and the resident has registered none:
    /// a code must not go to a number one institution alone asserts.
    Disagree,
}

/// The resident's mobile number: the one they registered their account with; else the mobile
/// number the institutions' Patient records agree on (`telecom` with `system` `phone` and `use`
/// `mobile` or unstated). A number only some records carry, against another on others, is not
/// trusted: any submitting institution could otherwise redirect a resident's codes to itself.
pub async fn phone_on_file(store: &dyn Store, person: PersonId) -> PhoneOnFile {
    if let Ok(Some(a)) = store.resident_account(person).await
        && a.login.len() == 11
        && a.login.starts_with('1')
        && a.login.bytes().all(|b| b.is_ascii_digit())
    {
        return PhoneOnFile::One(a.login);
    }
    let Ok(records) = store.patient_records(person).await else { return PhoneOnFile::None };
    let mut numbers: Vec<String> = Vec::new();
    for r in &records {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&r.resource) else { continue };
        for t in v.get("telecom").and_then(|t| t.as_array()).into_iter().flatten() {
            let system = t.get("system").and_then(|s| s.as_str());
            let usage = t.get("use").and_then(|u| u.as_str()).unwrap_or("mobile");
            if let (Some("phone"), "mobile", Some(n)) = (system, usage, t.get("value").and_then(|n| n.as_str())) {
                let n: String = n.chars().filter(char::is_ascii_digit).collect();
                let n = n.strip_prefix("86").filter(|rest| rest.len() == 11).map(str::to_string).unwrap_or(n);
                if !n.is_empty() && !numbers.contains(&n) {
                    numbers.push(n);
                }
            }
        }
    }
    match numbers.len() {
        0 => PhoneOnFile::None,
        1 => PhoneOnFile::One(numbers.remove(0)),
        _ => PhoneOnFile::Disagree,
    }
}

/// A time as residents read it: China Standard Time, to the minute.
pub fn shown(t: Timestamp) -> String {
    let s = t.to_rfc3339_cst();
    // "2024-10-03T14:22:05+08:00" → "2024-10-03 14:22"
    s.get(..16).map(|m| m.replacen('T', " ", 1)).unwrap_or(s)
}
