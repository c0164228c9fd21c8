//! A resident's grant as the policy sees it: to whom (institution, optionally a department or a
//! clinician), what (all categories or some), when (a window, end exclusive), how (channel) and
//! its status. Expiry is not a stored status: a grant past its window is expired when read.

use crate::policy::{Categories, Requester};
use tongdang_core::{Category, PersonId, Role, Timestamp};
use tongdang_store::GrantRecord;

/// How a grant was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// A code sent by SMS to the phone on file, entered by the clinician (短信验证码).
    Sms,
    /// Approved by the resident in the app or portal (粤健通移动端授权).
    App,
    /// With an appointment on the booking platform (预约挂号平台审核).
    Booking,
    /// Emergency access without consent (紧急调阅), reviewed afterwards.
    Emergency,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 4] = [Channel::Sms, Channel::App, Channel::Booking, Channel::Emergency];

    /// The code in storage and APIs.
    pub fn code(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::App => "app",
            Channel::Booking => "booking",
            Channel::Emergency => "emergency",
        }
    }

    /// The Chinese words shown to residents.
    pub fn label_zh(self) -> &'static str {
        match self {
            Channel::Sms => "短信验证码授权",
            Channel::App => "移动端授权",
            Channel::Booking => "预约挂号授权",
            Channel::Emergency => "紧急调阅",
        }
    }

    /// From its code.
    pub fn parse(code: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// Where a grant stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Asked for, waiting for the code or the resident.
    Requested,
    /// In force within its window.
    Active,
    /// The resident said no.
    Refused,
    /// The resident (or the clinician, for their own) ended it.
    Revoked,
    /// Its window ended, or its code expired unused.
    Expired,
    /// Too many wrong codes.
    Locked,
}

impl Status {
    /// The code in storage and APIs.
    pub fn code(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Active => "active",
            Status::Refused => "refused",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
            Status::Locked => "locked",
        }
    }

    /// The Chinese word shown to people.
    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Requested => "待授权",
            Status::Active => "生效中",
            Status::Refused => "已拒绝",
            Status::Revoked => "已撤销",
            Status::Expired => "已过期",
            Status::Locked => "已锁定",
        }
    }

    /// From its code.
    pub fn parse(code: &str) -> Option<Status> {
        [Status::Requested, Status::Active, Status::Refused, Status::Revoked, Status::Expired, Status::Locked]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// Categories as stored: `all`, or codes joined by commas.
pub fn categories_to_text(c: &Categories) -> String {
    match c {
        Categories::All => "all".into(),
        Categories::Only(list) => list.iter().map(|c| c.code()).collect::<Vec<_>>().join(","),
    }
}

/// The inverse of [`categories_to_text`]; unknown codes are dropped (never widened).
pub fn categories_from_text(s: &str) -> Categories {
    if s == "all" { Categories::All } else { Categories::Only(s.split(',').filter_map(|c| c.parse::<Category>().ok()).collect()) }
}

/// A grant, decoded for deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Its id.
    pub id: i64,
    /// Whose record.
    pub person: PersonId,
    /// To which institution.
    pub institution: String,
    /// Narrowed to a department.
    pub department: Option<String>,
    /// Narrowed to a clinician's account.
    pub clinician: Option<i64>,
    /// What it covers.
    pub categories: Categories,
    /// How it was given.
    pub channel: Channel,
    /// Stored status (`active` may still be expired by time).
    pub status: Status,
    /// From.
    pub valid_from: Timestamp,
    /// Until (exclusive).
    pub valid_until: Timestamp,
}

impl Grant {
    /// Decode a stored grant; `None` if it names an unknown channel or status (never trusted).
    pub fn from_record(r: &GrantRecord) -> Option<Grant> {
        Some(Grant {
            id: r.id,
            person: r.person,
            institution: r.institution.clone(),
            department: r.department.clone(),
            clinician: r.clinician,
            categories: categories_from_text(&r.categories),
            channel: Channel::parse(&r.channel)?,
            status: Status::parse(&r.status)?,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
        })
    }

    /// The status at `now`: an active grant past its window is expired, and so is a request
    /// whose window (the code's or the resident's time to answer) has passed.
    pub fn status_at(&self, now: Timestamp) -> Status {
        match self.status {
            Status::Active | Status::Requested if now.0 >= self.valid_until.0 => Status::Expired,
            s => s,
        }
    }

    /// Whether it is in force at `now`: active, and `valid_from <= now < valid_until`.
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.status == Status::Active && self.valid_from.0 <= now.0 && now.0 < self.valid_until.0
    }

    /// Whether it lets `who` read `person`'s record: same person, same institution, and the
    /// department and clinician it is narrowed to, if any. An institution's system (an API
    /// key) is covered only by grants to the whole institution.
    pub fn covers(&self, who: &Requester, person: PersonId) -> bool {
        if self.person != person || who.institution.as_ref().map(|i| i.as_str()) != Some(self.institution.as_str()) {
            return false;
        }
        match who.role {
            Role::Clinician => {
                self.department.as_ref().is_none_or(|d| who.department.as_ref() == Some(d))
                    && self.clinician.is_none_or(|c| who.account == Some(c))
            }
            Role::InstitutionSystem => self.department.is_none() && self.clinician.is_none(),
            _ => false,
        }
    }
}
