//! The external systems that grants and notifications go through, one adapter trait each: the
//! SMS gateway (`sms`), the mobile app's push (`app`), and the police face verification
//! (`face`). Each has an HTTP adapter for production and a local simulator that behaves like the
//! real thing (codes arrive in an outbox, verification can fail or time out). The booking
//! platform calls us instead (`POST /api/v1/bookings`); its simulator is a client of that API.

pub mod app;
pub mod face;
mod http;
pub mod sms;

use std::sync::Arc;
use std::time::Duration;

pub use app::{AppPush, AppSimulator, HttpAppPush, Pushed};
pub use face::{FaceOutcome, FaceVerifier, HttpFaceVerifier, PoliceSimulator};
pub use sms::{HttpSmsGateway, SentSms, SmsGateway, SmsSimulator};

/// Why an external system did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// No answer in time.
    #[error("the {0} did not answer in time")]
    Timeout(&'static str),
    /// It answered with an error, or could not be reached.
    #[error("the {0} is unavailable: {1}")]
    Unavailable(&'static str, String),
}

/// Where an HTTP adapter sends, and how long it waits.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The URL requests are posted to.
    pub url: String,
    /// Sent as `Authorization: Bearer …`, if set.
    pub token: Option<String>,
    /// How long to wait for an answer.
    pub timeout: Duration,
}

/// The adapters in use, and the simulators among them (for the demo's outbox pages).
#[derive(Clone)]
pub struct Channels {
    /// Sends SMS.
    pub sms: Arc<dyn SmsGateway>,
    /// Pushes to the app.
    pub app: Arc<dyn AppPush>,
    /// Verifies faces.
    pub face: Arc<dyn FaceVerifier>,
    /// The SMS simulator, when it is the gateway.
    pub sms_simulator: Option<Arc<SmsSimulator>>,
    /// The app simulator, when it is the push.
    pub app_simulator: Option<Arc<AppSimulator>>,
    /// The police simulator, when it verifies faces.
    pub police_simulator: Option<Arc<PoliceSimulator>>,
}

/// A channel nobody configured: every call fails, saying how to configure it. A server that
/// was given neither an adapter's URL nor `--simulate-channels` sends nothing anywhere (and
/// shows no simulated outbox).
pub struct Unconfigured;

const UNCONFIGURED: &str = "not configured: give tongdang serve its URL, or --simulate-channels for a demo";

#[async_trait::async_trait]
impl SmsGateway for Unconfigured {
    async fn send(&self, _phone: &str, _text: &str) -> Result<(), ChannelError> {
        Err(ChannelError::Unavailable("SMS gateway", UNCONFIGURED.into()))
    }
}

#[async_trait::async_trait]
impl AppPush for Unconfigured {
    async fn push(&self, _person: tongdang_core::PersonId, _title: &str, _body: &str) -> Result<(), ChannelError> {
        Err(ChannelError::Unavailable("app push service", UNCONFIGURED.into()))
    }
}

#[async_trait::async_trait]
impl FaceVerifier for Unconfigured {
    async fn verify(&self, _id_number: &str, _photo: &[u8]) -> Result<FaceOutcome, ChannelError> {
        Err(ChannelError::Unavailable("police face verification", UNCONFIGURED.into()))
    }
}

impl Channels {
    /// No channel configured (see [`Unconfigured`]).
    pub fn unconfigured() -> Channels {
        let none = Arc::new(Unconfigured);
        Channels {
            sms: none.clone(),
            app: none.clone(),
            face: none,
            sms_simulator: None,
            app_simulator: None,
            police_simulator: None,
        }
    }

    /// Every channel simulated.
    pub fn simulated() -> Channels {
        let sms = Arc::new(SmsSimulator::default());
        let app = Arc::new(AppSimulator::default());
        let police = Arc::new(PoliceSimulator::default());
        Channels {
            sms: sms.clone(),
            app: app.clone(),
            face: police.clone(),
            sms_simulator: Some(sms),
            app_simulator: Some(app),
            police_simulator: Some(police),
        }
    }
}
