//! Limits every response and request is held to: token-bucket quotas (per institution, and per
//! client address for sign-in attempts) answered with 429 and `Retry-After`, and the security
//! headers set on every response.

use axum::http::{HeaderName, HeaderValue, header};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// A refused request: when to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaExceeded {
    /// Seconds until a request would be admitted.
    pub retry_after_secs: u64,
}

/// Token buckets by key: `per_minute` requests a minute, bursts up to `burst`.
pub struct Quotas {
    per_minute: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Buckets kept before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

impl Quotas {
    /// Buckets of `per_minute` a minute with bursts of `burst`; 0 means unlimited.
    pub fn new(per_minute: u32, burst: u32) -> Quotas {
        Quotas { per_minute: f64::from(per_minute), burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Take one request from `key`'s bucket.
    pub fn take(&self, key: &str) -> Result<(), QuotaExceeded> {
        if self.per_minute == 0.0 {
            return Ok(());
        }
        let rate = self.per_minute / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("quota lock");
        if buckets.len() > MAX_BUCKETS {
            let burst = self.burst;
            buckets.retain(|_, (tokens, at)| *tokens + at.elapsed().as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(QuotaExceeded { retry_after_secs: ((1.0 - *tokens) / rate).ceil().max(1.0) as u64 })
        }
    }
}

/// Headers every response carries (unless the handler set its own).
pub fn security_headers(tls: bool) -> Vec<(HeaderName, HeaderValue)> {
    let mut h = vec![
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        ),
        (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
        (HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("same-origin")),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    if tls {
        h.push((header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains")));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_and_refuse_with_a_retry_time() {
        let q = Quotas::new(60, 3);
        for _ in 0..3 {
            q.take("a").unwrap();
        }
        let refused = q.take("a").unwrap_err();
        assert!(refused.retry_after_secs >= 1 && refused.retry_after_secs <= 2, "{refused:?}");
        q.take("b").expect("another key has its own bucket");
        assert!(Quotas::new(0, 0).take("x").is_ok(), "0 is unlimited");
    }
}
