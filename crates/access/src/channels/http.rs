//! The HTTP client the production adapters share: TLS by rustls with the ring provider and the
//! Mozilla roots (reqwest's `rustls-tls-webpki-roots`: no system OpenSSL), one timeout per adapter.

use super::{ChannelError, Endpoint};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A client for one endpoint.
pub(crate) fn client(endpoint: &Endpoint) -> reqwest::Client {
    reqwest::Client::builder().timeout(endpoint.timeout).build().expect("a client with rustls and ring builds")
}

/// POST `body` as JSON and read a JSON answer. Errors name the system, never the body.
pub(crate) async fn post_json<B: Serialize, A: DeserializeOwned>(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    system: &'static str,
    body: &B,
) -> Result<A, ChannelError> {
    let mut request = client.post(&endpoint.url).json(body);
    if let Some(t) = &endpoint.token {
        request = request.bearer_auth(t);
    }
    let answer = request.send().await.map_err(|e| classify(system, &e))?;
    let status = answer.status();
    if !status.is_success() {
        return Err(ChannelError::Unavailable(system, format!("HTTP {status}")));
    }
    answer.json::<A>().await.map_err(|e| classify(system, &e))
}

fn classify(system: &'static str, e: &reqwest::Error) -> ChannelError {
    if e.is_timeout() {
        ChannelError::Timeout(system)
    } else if e.is_decode() {
        ChannelError::Unavailable(system, "unreadable answer".into())
    } else {
        ChannelError::Unavailable(system, "connection failed".into())
    }
}
