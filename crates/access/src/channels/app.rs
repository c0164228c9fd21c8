//! The mobile app's push (粤健通): tells a resident of a request, a grant or a read. Production
//! posts to the app's push service; the simulator keeps an inbox per person.

use super::http::{client, post_json};
use super::{ChannelError, Endpoint};
use std::collections::VecDeque;
use std::sync::Mutex;
use tongdang_core::{PersonId, Timestamp};

/// Pushes notifications to a resident's app.
#[async_trait::async_trait]
pub trait AppPush: Send + Sync + 'static {
    /// Push `title` and `body` to the person's app.
    async fn push(&self, person: PersonId, title: &str, body: &str) -> Result<(), ChannelError>;
}

/// The production push service: `POST {url}` with `{"person", "title", "body"}` (the person
/// is the platform's Patient id, which the app knows), answered by `{"delivered": bool}`.
pub struct HttpAppPush {
    endpoint: Endpoint,
    client: reqwest::Client,
}

impl HttpAppPush {
    /// A push service at `endpoint`.
    pub fn new(endpoint: Endpoint) -> HttpAppPush {
        HttpAppPush { client: client(&endpoint), endpoint }
    }
}

#[derive(serde::Deserialize)]
struct Delivered {
    #[allow(dead_code)]
    delivered: bool,
}

#[async_trait::async_trait]
impl AppPush for HttpAppPush {
    async fn push(&self, person: PersonId, title: &str, body: &str) -> Result<(), ChannelError> {
        // `delivered: false` means the resident has no app installed: not an error, the
        // request still waits in their portal.
        let _: Delivered = post_json(
            &self.client,
            &self.endpoint,
            "app push service",
            &serde_json::json!({ "person": person.to_string(), "title": title, "body": body }),
        )
        .await?;
        Ok(())
    }
}

/// A notification the simulator delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// When.
    pub at: Timestamp,
    /// To whom.
    pub person: PersonId,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
}

/// The simulated push: the newest 1,000 notifications.
#[derive(Debug, Default)]
pub struct AppSimulator {
    inbox: Mutex<VecDeque<Pushed>>,
}

impl AppSimulator {
    /// What was pushed to a person, newest first.
    pub fn inbox(&self, person: PersonId) -> Vec<Pushed> {
        self.inbox.lock().expect("inbox lock").iter().rev().filter(|p| p.person == person).cloned().collect()
    }
}

#[async_trait::async_trait]
impl AppPush for AppSimulator {
    async fn push(&self, person: PersonId, title: &str, body: &str) -> Result<(), ChannelError> {
        let mut inbox = self.inbox.lock().expect("inbox lock");
        if inbox.len() == 1000 {
            inbox.pop_front();
        }
        inbox.push_back(Pushed { at: Timestamp::now(), person, title: title.into(), body: body.into() });
        Ok(())
    }
}
