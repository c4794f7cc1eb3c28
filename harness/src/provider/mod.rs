//! The mock providers the RP talks to, all bound to loopback.
//!
//! A [`FrejaMock`] is a TLS front (mutual TLS, HTTP-aware, see `tls.rs`) forwarding every request
//! to a plain wiremock server whose responder plays the Freja eID services host (`freja.rs`).
//! An optional canary (another front + wiremock on `https://localhost:<port>`) records requests the
//! RP should never have sent, e.g. after following a redirect. The FTN broker (`ftn/`) runs on the
//! same kind of instance, without client certificates.

pub mod checks;
mod freja;
pub mod ftn;
mod tls;

pub use freja::{DecodedRequest, decode_request_body, documented_message, reference_for};

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wiremock::{Mock, MockServer};

use crate::adapter::{FrejaEnvironment, Operation, UserInfoType};
use crate::pki::{self, Pki, PkiError};
use crate::vector::model::{Endpoint, EnvironmentSpec, FrejaEndpoint, ProviderSpec};

/// Defaults of the environment handed to the RP (see `EnvironmentSpec`).
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 5;
pub const DEFAULT_HTTP_TIMEOUT_MS: u64 = 5_000;
pub const DEFAULT_FLOW_TIMEOUT_MS: u64 = 10_000;

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

/// What a mock needs besides the vector's provider script.
#[derive(Debug, Clone)]
pub struct MockContext {
    pub pki: Pki,
    pub vector_id: String,
    /// The end user the mock pretends approved the transaction.
    pub user: FrejaUser,
}

/// The end user as the mock reports it in signed results.
#[derive(Debug, Clone, PartialEq)]
pub struct FrejaUser {
    pub user_info_type: UserInfoType,
    pub user_info: String,
    pub country: Option<String>,
}

impl FrejaUser {
    /// The user the operation addresses; `None` for non-Freja operations.
    pub fn from_operation(op: &Operation) -> Option<FrejaUser> {
        match op {
            Operation::FrejaAuthenticate(r) => Some(FrejaUser {
                user_info_type: r.user_info_type,
                user_info: r.user_info.clone(),
                country: r.country.clone(),
            }),
            Operation::FrejaSign(r) => Some(FrejaUser {
                user_info_type: r.user_info_type,
                user_info: r.user_info.clone(),
                country: r.country.clone(),
            }),
            // The token is minted by the mock for a fixed user (see `FrejaVerifyDetails`).
            Operation::FrejaVerifyDetails(_) => Some(FrejaUser {
                user_info_type: UserInfoType::Email,
                user_info: "asa.oberg@example.se".into(),
                country: None,
            }),
            _ => None,
        }
    }

    /// `userInfo` as Freja puts it in the signed payload: the SSN JSON as a string, `N/A` for
    /// INFERRED, otherwise verbatim.
    pub fn signed_user_info(&self) -> String {
        match self.user_info_type {
            UserInfoType::Ssn => serde_json::json!({
                "country": self.country.as_deref().unwrap_or("SE"),
                "ssn": self.user_info,
            })
            .to_string(),
            UserInfoType::Inferred => "N/A".to_owned(),
            _ => self.user_info.clone(),
        }
    }
}

/// How the RP encoded the Base64 value of its form parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    /// `param=<Base64>` with literal `+ / =`.
    RawBase64,
    /// `param=<percent-encoded Base64>`.
    PercentEncoded,
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
    /// PKI name of the presented client leaf certificate if known, else `sha256:<hex>`.
    pub client_certificate: Option<String>,
    /// What the mock answered (0 if it reset the connection).
    pub response_status: u16,
}

/// A running mock Freja eID services host for one vector.
pub struct FrejaMock {
    base_url: String,
    pki: Pki,
    obs: Arc<Mutex<Observations>>,
    main: Instance,
    canary: Option<Instance>,
    core: Arc<freja::Core>,
}

/// One TLS front and the wiremock server behind it.
struct Instance {
    front: tls::Front,
    // Unpooled: its thread and port go away on drop.
    server: Option<MockServer>,
}

impl FrejaMock {
    /// Start a mock for one vector. Binds 127.0.0.1 only.
    pub async fn start(spec: &ProviderSpec, ctx: MockContext) -> Result<FrejaMock, ProviderError> {
        let server_cert = spec
            .tls
            .server_certificate
            .as_deref()
            .unwrap_or(pki::SERVER_DEFAULT);
        let obs = Arc::new(Mutex::new(Observations::default()));
        let known = Arc::new(known_certificates(&ctx.pki));
        let core = Arc::new(freja::Core::new(spec, &ctx)?);

        let wants_canary = spec.freja.values().flatten().any(|r| r.redirect_to_canary)
            || spec
                .details_specs()
                .flat_map(|d| &d.mutations)
                .any(|m| m.needs_canary());
        let canary = if wants_canary {
            let config = tls::server_config(&ctx.pki, pki::SERVER_DEFAULT, false)?;
            let responder = freja::Responder::canary(core.clone(), obs.clone(), known.clone());
            Some(Instance::start(config, responder, obs.clone(), true).await?)
        } else {
            None
        };
        let canary_url = canary
            .as_ref()
            .map(|c| format!("https://localhost:{}", c.front.addr.port()));
        if let Some(url) = &canary_url {
            let _ = core.canary_url.set(url.clone());
        }

        let config = tls::server_config(&ctx.pki, server_cert, true)?;
        let responder = freja::Responder::services(core.clone(), obs.clone(), known, canary_url);
        let main = Instance::start(config, responder, obs.clone(), false).await?;
        let base_url = format!("https://127.0.0.1:{}", main.front.addr.port());
        Ok(FrejaMock {
            base_url,
            pki: ctx.pki,
            obs,
            main,
            canary,
            core,
        })
    }

    /// The `details` token of a token-level operation (`freja.verify_details`), built from the
    /// vector's `provider.details` recipe, and the reference it was minted for.
    pub fn details_token(&self, sign: bool) -> Result<(String, String), ProviderError> {
        self.core.token(sign).map_err(ProviderError::Spec)
    }

    /// `https://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The canary's base URL (`https://localhost:PORT`), if this vector uses one.
    pub fn canary_url(&self) -> Option<String> {
        self.canary
            .as_ref()
            .map(|c| format!("https://localhost:{}", c.front.addr.port()))
    }

    /// The FrejaEnvironment to hand the RP, from the vector's EnvironmentSpec overrides.
    pub fn environment(&self, spec: &EnvironmentSpec) -> Result<FrejaEnvironment, ProviderError> {
        ensure_loopback(&self.base_url)?;
        let client = spec
            .client_certificate
            .as_deref()
            .unwrap_or(pki::CLIENT_DEFAULT);
        let jws_names: Vec<String> = spec
            .jws_certificates
            .clone()
            .unwrap_or_else(|| vec![pki::JWS_DEFAULT.to_owned()]);
        let jws_certificates_pem = jws_names
            .iter()
            .map(|n| self.pki.get(n).map(|c| c.cert_pem.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FrejaEnvironment {
            base_url: self.base_url.clone(),
            trust_anchors_pem: vec![self.pki.trust_anchor()?.cert_pem.clone()],
            client_certificate_pem: self.pki.chain_pem(client)?,
            client_key_pem: self.pki.get(client)?.key_pem.clone(),
            jws_certificates_pem,
            poll_interval_ms: spec
                .poll_interval
                .map_or(DEFAULT_POLL_INTERVAL_MS, |d| d.as_millis()),
            http_timeout_ms: spec
                .http_timeout
                .map_or(DEFAULT_HTTP_TIMEOUT_MS, |d| d.as_millis()),
            flow_timeout_ms: spec
                .flow_timeout
                .map_or(DEFAULT_FLOW_TIMEOUT_MS, |d| d.as_millis()),
            relying_party_id: spec.relying_party_id.clone(),
        })
    }

    /// Everything the mock saw, for judging and evidence.
    pub async fn observations(&self) -> Observations {
        settle(std::iter::once(&self.main).chain(&self.canary)).await;
        let mut obs = lock(&self.obs).clone();
        obs.signed_payloads = lock(&self.core.signed).clone();
        obs
    }

    /// Stop accepting, close connections, and shut the wiremock servers down.
    pub async fn shutdown(mut self) {
        self.main.front.stop();
        if let Some(c) = &self.canary {
            c.front.stop();
        }
        let servers = std::iter::once(self.main.server.take())
            .chain(self.canary.take().map(|mut c| c.server.take()))
            .flatten()
            .collect();
        drop_servers(servers).await;
    }
}

impl Drop for FrejaMock {
    fn drop(&mut self) {
        self.main.front.stop();
        if let Some(c) = &self.canary {
            c.front.stop();
        }
    }
}

/// Wait for handshakes under way on these instances to be recorded.
async fn settle(instances: impl Iterator<Item = &Instance>) {
    let handshakes: Vec<_> = instances.map(|i| i.front.handshakes.clone()).collect();
    let wait = async {
        while handshakes
            .iter()
            .any(|h| h.load(std::sync::atomic::Ordering::SeqCst) > 0)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    // A client that opened a connection and never spoke must not stall the judge.
    let _ = tokio::time::timeout(Duration::from_millis(500), wait).await;
}

/// Drop wiremock servers after their fronts were stopped.
async fn drop_servers(servers: Vec<MockServer>) {
    // Let aborted tasks unwind before the servers' blocking drop.
    tokio::task::yield_now().await;
    // wiremock's drop blocks on its state lock: off the runtime thread, or it can spin
    // forever behind a writer queued after a reader that only this thread can resume.
    let _ = tokio::task::spawn_blocking(move || drop(servers)).await;
}

impl Instance {
    /// A wiremock server answering every request with `responder`, behind a TLS front that
    /// records handshake failures in `obs`.
    async fn start(
        config: Arc<rustls::ServerConfig>,
        responder: impl wiremock::Respond + 'static,
        obs: Arc<Mutex<Observations>>,
        canary: bool,
    ) -> Result<Instance, ProviderError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let server = MockServer::builder()
            .listener(listener)
            // The responder records what matters; wiremock's own copy would only cost memory.
            .disable_request_recording()
            .start()
            .await;
        Mock::given(wiremock::matchers::any())
            .respond_with(responder)
            .mount(&server)
            .await;
        let front = tls::Front::start(config, *server.address(), obs, canary).await?;
        Ok(Instance {
            front,
            server: Some(server),
        })
    }
}

/// SHA-256 (hex) of every certificate in the test PKI → its name.
fn known_certificates(pki: &Pki) -> HashMap<String, String> {
    pki.names()
        .filter_map(|n| pki.get(n).ok())
        .map(|c| (hex::encode(Sha256::digest(&c.cert_der)), c.name.clone()))
        .collect()
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

/// The handshake deadline of the fronts: an idle TCP connection must not pin a task forever.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
