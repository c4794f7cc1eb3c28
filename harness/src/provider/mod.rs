//! The mock providers the RP talks to, all bound to loopback.
//!
//! A [`FrejaMock`] (`freja/`) is a TLS front (mutual TLS, see `tls.rs`) whose responder plays the
//! Freja eID services host (`exchange.rs` is what a responder sees and answers). An optional
//! canary (another front on `https://localhost:<port>`) records requests the RP should never have
//! sent, e.g. after following a redirect. The FTN broker (`ftn/`) runs on the same kind of front,
//! without client certificates.

pub mod checks;
mod exchange;
pub mod freja;
pub mod ftn;
mod judge;
mod stand_up;
mod tls;

pub use judge::judge;
pub use stand_up::{Stage, reachable_endpoints, stand_up};

pub use freja::{
    DEFAULT_FLOW_TIMEOUT_MS, DEFAULT_HTTP_TIMEOUT_MS, DEFAULT_POLL_INTERVAL_MS, DecodedRequest,
    FrejaMock, FrejaUser, MockContext, decode_request_body, documented_message, reference_for,
};

use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::pki::PkiError;
use crate::vector::model::{Endpoint, FrejaEndpoint};

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(
        "`{0}` is not a loopback URL: eidconf only ever talks to 127.0.0.0/8, ::1 or localhost"
    )]
    NotLoopback(String),
    #[error("invalid provider script: {0}")]
    Spec(String),
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("could not start the mock: {0}")]
    Io(#[from] std::io::Error),
}

/// How the RP encoded the Base64 value of its form parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    /// `param=<Base64>` with literal `+ / =`.
    RawBase64,
    /// `param=<percent-encoded Base64>`.
    PercentEncoded,
    /// base64url (RFC 4648 §5) of a JSON object, which the provider does not decode.
    Base64Url,
    /// Something that is not Base64 JSON under the expected parameter.
    Undecodable,
    /// No body.
    None,
}

/// Everything a mock saw.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Observations {
    pub requests: Vec<ObservedRequest>,
    /// Requests that reached the canary (the RP followed a redirect or was sent elsewhere).
    pub canary_requests: Vec<ObservedRequest>,
    /// TLS handshakes that failed, in words.
    pub tls_failures: Vec<String>,
    /// The payload of every `details` JWS the mock minted, in order: what the RP may trust.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed_payloads: Vec<serde_json::Value>,
    /// What the mock FTN broker saw and minted, login by login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<ftn::BrokerEvidence>,
    /// Request-side checks made on what the RP sent or published (see `provider::checks`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<checks::Check>,
    /// Every response the TLS fronts sent, in order: what the RP was served.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub served: Vec<ServedResponse>,
}

/// One response as a TLS front sent it (or would have, for a reset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedResponse {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// Response headers as sent, `date` left out (noise); values that are not text are dropped.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The whole body as text (UTF-8, invalid bytes replaced); the report truncates it after
    /// redaction.
    pub body: String,
    /// The body's full length in bytes.
    pub body_bytes: usize,
    /// `reset` or `truncate` when the front broke the response on purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// Served by the canary (somewhere the RP must not have gone).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary: bool,
}

impl Observations {
    /// Requests the mock saw on this endpoint (the canary does not count).
    pub fn count(&self, ep: impl Into<Endpoint>) -> u32 {
        match ep.into() {
            Endpoint::Freja(ep) => self
                .requests
                .iter()
                .filter(|r| r.endpoint == Some(ep))
                .count() as u32,
            Endpoint::Broker(ep) => self.broker.as_ref().map_or(0, |b| b.count(ep)),
        }
    }
}

/// One request as the mock saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedRequest {
    pub endpoint: Option<FrejaEndpoint>,
    pub method: String,
    pub path: String,
    /// The form parameter name seen (the first one in the body).
    pub param: Option<String>,
    pub encoding: BodyEncoding,
    /// The decoded JSON request.
    pub request_json: Option<serde_json::Value>,
    /// The `relyingPartyId` form parameter (integrator RPs), if sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relying_party_id: Option<String>,
    /// PKI name of the presented client leaf certificate if known, else `sha256:<hex>`.
    pub client_certificate: Option<String>,
    /// What the mock answered (0 if it reset the connection).
    pub response_status: u16,
    /// When it arrived, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub received_ms: u64,
}

/// Now, in milliseconds since the Unix epoch (0 on a clock set before 1970).
pub(crate) fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Wait for handshakes under way on these fronts to be recorded.
async fn settle<'a>(fronts: impl Iterator<Item = &'a tls::Front>) {
    let handshakes: Vec<_> = fronts.map(|f| f.handshakes.clone()).collect();
    let wait = async {
        while handshakes
            .iter()
            .any(|h| h.load(std::sync::atomic::Ordering::SeqCst) > 0)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    // A client that opened a connection and never spoke must not stall the judge for long; a
    // handshake that is only slow (a busy machine) must still be recorded.
    let _ = tokio::time::timeout(SETTLE_TIMEOUT, wait).await;
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the evidence down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Refuse anything that is not loopback (127.0.0.0/8, ::1, localhost). Used by the env builder AND
/// by the reference RP before it sends anything.
pub fn ensure_loopback(url: &str) -> Result<(), ProviderError> {
    let refuse = || ProviderError::NotLoopback(url.to_owned());
    let parsed = reqwest::Url::parse(url).map_err(|_| refuse())?;
    let host = parsed.host_str().ok_or_else(refuse)?;
    let ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    } else if let Ok(ip) = host.parse::<IpAddr>() {
        ip.is_loopback()
    } else {
        host.eq_ignore_ascii_case("localhost")
    };
    if ok { Ok(()) } else { Err(refuse()) }
}

/// How long the judge waits for handshakes under way to be recorded.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// The handshake deadline of the fronts: an idle TCP connection must not pin a task forever.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
