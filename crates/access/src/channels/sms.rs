//! The SMS gateway: sends a text to a phone number. Production posts to the operator's gateway;
//! the simulator keeps what it "sent" in an outbox the demo shows.

use super::http::{client, post_json};
use super::{ChannelError, Endpoint};
use std::collections::VecDeque;
use std::sync::Mutex;
use tongdang_core::Timestamp;

/// Sends SMS.
#[async_trait::async_trait]
pub trait SmsGateway: Send + Sync + 'static {
    /// Send `text` to `phone`.
    async fn send(&self, phone: &str, text: &str) -> Result<(), ChannelError>;
}

/// The production gateway: `POST {url}` with `{"phone", "text"}`, answered by
/// `{"accepted": true, "id": …}`.
pub struct HttpSmsGateway {
    endpoint: Endpoint,
    client: reqwest::Client,
}

impl HttpSmsGateway {
    /// A gateway at `endpoint`.
    pub fn new(endpoint: Endpoint) -> HttpSmsGateway {
        HttpSmsGateway { client: client(&endpoint), endpoint }
    }
}

#[derive(serde::Deserialize)]
struct Accepted {
    accepted: bool,
}

#[async_trait::async_trait]
impl SmsGateway for HttpSmsGateway {
    async fn send(&self, phone: &str, text: &str) -> Result<(), ChannelError> {
        let a: Accepted =
            post_json(&self.client, &self.endpoint, "SMS gateway", &serde_json::json!({ "phone": phone, "text": text })).await?;
        if a.accepted { Ok(()) } else { Err(ChannelError::Unavailable("SMS gateway", "message not accepted".into())) }
    }
}

/// A message the simulator sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// When.
    pub at: Timestamp,
    /// To.
    pub phone: String,
    /// What.
    pub text: String,
}

/// The simulated gateway: every message lands in an outbox (the newest 1,000).
#[derive(Debug, Default)]
pub struct SmsSimulator {
    outbox: Mutex<VecDeque<SentSms>>,
}

impl SmsSimulator {
    /// What was sent, newest first.
    pub fn outbox(&self) -> Vec<SentSms> {
        self.outbox.lock().expect("outbox lock").iter().rev().cloned().collect()
    }
}

#[async_trait::async_trait]
impl SmsGateway for SmsSimulator {
    async fn send(&self, phone: &str, text: &str) -> Result<(), ChannelError> {
        let mut outbox = self.outbox.lock().expect("outbox lock");
        if outbox.len() == 1000 {
            outbox.pop_front();
        }
        outbox.push_back(SentSms { at: Timestamp::now(), phone: phone.into(), text: text.into() });
        // Codes and health news stay out of logs even here: the demo reads them in the outbox.
        tracing::info!(phone = %tongdang_protection::mask::mask_phone(phone), chars = text.chars().count(), "simulated SMS kept in the outbox");
        Ok(())
    }
}
