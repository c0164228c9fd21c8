//! Face verification against the police identity system (公安人脸识别核验): an ID number and a
//! live photo in, match or no match out. Production posts to the police service; the simulator
//! keeps a registry of enrolled test faces and answers match, no match, or (for identities
//! enrolled to do so) nothing at all until the caller's timeout.

use super::http::{client, post_json};
use super::{ChannelError, Endpoint};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

/// The answer of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceOutcome {
    /// The photo is of the person holding this ID number.
    Match,
    /// It is not (or the ID number is unknown).
    NoMatch,
}

/// Verifies a live photo against an ID number.
#[async_trait::async_trait]
pub trait FaceVerifier: Send + Sync + 'static {
    /// Verify `photo` (JPEG or PNG bytes) against `id_number`.
    async fn verify(&self, id_number: &str, photo: &[u8]) -> Result<FaceOutcome, ChannelError>;
}

/// The production verifier: `POST {url}` with `{"id_number", "photo"}` (photo in base64),
/// answered by `{"result": "match" | "no_match"}`.
pub struct HttpFaceVerifier {
    endpoint: Endpoint,
    client: reqwest::Client,
}

impl HttpFaceVerifier {
    /// A verifier at `endpoint`.
    pub fn new(endpoint: Endpoint) -> HttpFaceVerifier {
        HttpFaceVerifier { client: client(&endpoint), endpoint }
    }
}

#[derive(serde::Deserialize)]
struct Answer {
    result: String,
}

#[async_trait::async_trait]
impl FaceVerifier for HttpFaceVerifier {
    async fn verify(&self, id_number: &str, photo: &[u8]) -> Result<FaceOutcome, ChannelError> {
        let body = serde_json::json!({ "id_number": id_number, "photo": data_encoding::BASE64.encode(photo) });
        let a: Answer = post_json(&self.client, &self.endpoint, "police face verification", &body).await?;
        match a.result.as_str() {
            "match" => Ok(FaceOutcome::Match),
            "no_match" => Ok(FaceOutcome::NoMatch),
            _ => Err(ChannelError::Unavailable("police face verification", "unknown result".into())),
        }
    }
}

/// How an enrolled test identity answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrolment {
    /// Matches a photo with this SHA-256.
    Face([u8; 32]),
    /// Never answers (the service hangs): the caller's timeout fires.
    Hangs,
}

/// The simulated police service: a registry of test identities, keyed by the SHA-256 of the
/// ID number (so a registry file holds no ID number in plaintext).
#[derive(Debug)]
pub struct PoliceSimulator {
    registry: RwLock<HashMap<String, Enrolment>>,
    timeout: Duration,
}

impl Default for PoliceSimulator {
    fn default() -> Self {
        PoliceSimulator { registry: RwLock::new(HashMap::new()), timeout: Duration::from_secs(3) }
    }
}

impl PoliceSimulator {
    /// The registry key of an ID number: SHA-256 of it in upper case, hex.
    pub fn id_key(id_number: &str) -> String {
        data_encoding::HEXLOWER.encode(&Sha256::digest(id_number.to_ascii_uppercase().as_bytes()))
    }

    /// Enrol `photo` as the face of `id_number`.
    pub fn enrol(&self, id_number: &str, photo: &[u8]) {
        self.enrol_digest(&Self::id_key(id_number), Sha256::digest(photo).into());
    }

    /// Enrol, by registry key (see [`PoliceSimulator::id_key`]), the face whose photo has this
    /// SHA-256: a registry file holds digests, not ID numbers or photos.
    pub fn enrol_digest(&self, id_key: &str, photo_digest: [u8; 32]) {
        self.registry.write().expect("registry lock").insert(id_key.to_ascii_lowercase(), Enrolment::Face(photo_digest));
    }

    /// Make an identity (by registry key) hang like a service that does not answer.
    pub fn enrol_hanging(&self, id_key: &str) {
        self.registry.write().expect("registry lock").insert(id_key.to_ascii_lowercase(), Enrolment::Hangs);
    }

    /// The same simulator giving up after `timeout` (what the HTTP adapter's timeout does).
    pub fn with_timeout(mut self, timeout: Duration) -> PoliceSimulator {
        self.timeout = timeout;
        self
    }
}

#[async_trait::async_trait]
impl FaceVerifier for PoliceSimulator {
    async fn verify(&self, id_number: &str, photo: &[u8]) -> Result<FaceOutcome, ChannelError> {
        let enrolled = self.registry.read().expect("registry lock").get(&Self::id_key(id_number)).cloned();
        match enrolled {
            Some(Enrolment::Face(d)) if d == <[u8; 32]>::from(Sha256::digest(photo)) => Ok(FaceOutcome::Match),
            Some(Enrolment::Hangs) => {
                tokio::time::sleep(self.timeout).await;
                Err(ChannelError::Timeout("police face verification"))
            }
            _ => Ok(FaceOutcome::NoMatch),
        }
    }
}
