//! The mock Freja eID services host: a mutual-TLS front, the responder that plays the provider
//! (`wire.rs`), and an optional canary host that records requests the RP should never send.

pub(crate) mod checks;
mod wire;

pub(crate) use wire::{CLIENT_CERT_HEADER, FAULT_HEADER, validate, with_headers_delay_and_fault};
pub use wire::{DecodedRequest, decode_request_body, documented_message, reference_for};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::{Observations, ProviderError, ensure_loopback, lock, settle, tls};
use crate::adapter::{FrejaEnvironment, Operation, UserInfoType};
use crate::pki::{self, Pki};
use crate::vector::model::{EnvironmentSpec, ProviderSpec};

/// Defaults of the environment handed to the RP (see `EnvironmentSpec`).
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 5;
pub const DEFAULT_HTTP_TIMEOUT_MS: u64 = 5_000;
pub const DEFAULT_FLOW_TIMEOUT_MS: u64 = 10_000;

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
            Operation::FrejaCancel(r) => Some(FrejaUser {
                user_info_type: r.user_info_type,
                user_info: r.user_info.clone(),
                country: r.country.clone(),
            }),
            Operation::FrejaSetCustomIdentifier(r) => Some(FrejaUser {
                user_info_type: r.user_info_type,
                user_info: r.user_info.clone(),
                country: r.country.clone(),
            }),
            // The token is minted by the mock for a fixed user (see `FrejaVerifyDetails`); a
            // deletion names no user, but the mock still needs one.
            Operation::FrejaDeleteCustomIdentifier(_) | Operation::FrejaVerifyDetails(_) => {
                Some(FrejaUser {
                    user_info_type: UserInfoType::Email,
                    user_info: "asa.oberg@example.se".into(),
                    country: None,
                })
            }
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

/// A running mock Freja eID services host for one vector.
pub struct FrejaMock {
    base_url: String,
    pki: Pki,
    obs: Arc<Mutex<Observations>>,
    main: tls::Front,
    canary: Option<tls::Front>,
    core: Arc<wire::Core>,
    /// What the environment told the RP, for the request-side checks.
    told: Mutex<checks::Told>,
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
        let core = Arc::new(wire::Core::new(spec, &ctx)?);

        let wants_canary = spec.freja.values().flatten().any(|r| r.redirect_to_canary)
            || spec
                .details_specs()
                .flat_map(|d| &d.mutations)
                .any(|m| m.needs_canary());
        let canary = if wants_canary {
            let config = tls::server_config(&ctx.pki, pki::SERVER_DEFAULT, false)?;
            let responder = wire::Responder::canary(core.clone(), obs.clone(), known.clone());
            Some(tls::Front::start(config, responder, obs.clone(), true).await?)
        } else {
            None
        };
        let canary_url = canary
            .as_ref()
            .map(|c| format!("https://localhost:{}", c.addr.port()));
        if let Some(url) = &canary_url {
            let _ = core.canary_url.set(url.clone());
        }

        let config = tls::server_config(&ctx.pki, server_cert, true)?;
        let responder = wire::Responder::services(core.clone(), obs.clone(), known, canary_url);
        let main = tls::Front::start(config, responder, obs.clone(), false).await?;
        let base_url = format!("https://127.0.0.1:{}", main.addr.port());
        Ok(FrejaMock {
            base_url,
            pki: ctx.pki,
            obs,
            main,
            canary,
            core,
            told: Mutex::default(),
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
            .map(|c| format!("https://localhost:{}", c.addr.port()))
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
        let mut env = FrejaEnvironment::default();
        env.base_url = self.base_url.clone();
        env.trust_anchors_pem = vec![self.pki.trust_anchor()?.cert_pem.clone()];
        env.client_certificate_pem = self.pki.chain_pem(client)?;
        env.client_key_pem = self.pki.get(client)?.key_pem.clone();
        env.jws_certificates_pem = jws_certificates_pem;
        env.poll_interval_ms = spec
            .poll_interval
            .map_or(DEFAULT_POLL_INTERVAL_MS, |d| d.as_millis());
        env.http_timeout_ms = spec
            .http_timeout
            .map_or(DEFAULT_HTTP_TIMEOUT_MS, |d| d.as_millis());
        env.flow_timeout_ms = spec
            .flow_timeout
            .map_or(DEFAULT_FLOW_TIMEOUT_MS, |d| d.as_millis());
        env.relying_party_id = spec.relying_party_id.clone();
        *lock(&self.told) = checks::Told {
            relying_party_id: env.relying_party_id.clone(),
            poll_interval_ms: env.poll_interval_ms,
        };
        Ok(env)
    }

    /// Everything the mock saw, for judging and evidence.
    pub async fn observations(&self) -> Observations {
        settle(std::iter::once(&self.main).chain(&self.canary)).await;
        let mut obs = lock(&self.obs).clone();
        obs.signed_payloads = lock(&self.core.signed).clone();
        obs.checks = checks::request_checks(&obs.requests, &lock(&self.told));
        obs
    }
}

impl Drop for FrejaMock {
    fn drop(&mut self) {
        self.main.stop();
        if let Some(c) = &self.canary {
            c.stop();
        }
    }
}

/// SHA-256 (hex) of every certificate in the test PKI → its name.
fn known_certificates(pki: &Pki) -> HashMap<String, String> {
    pki.names()
        .filter_map(|n| pki.get(n).ok())
        .map(|c| (hex::encode(Sha256::digest(&c.cert_der)), c.name.clone()))
        .collect()
}

/// Stand up a vector on the Freja wire: the mock services host, the environment pointing at it,
/// and, for `freja.verify_details`, the token and reference the mock minted (filled into `op`
/// unless the vector gave them). `None`: the operation needs no Freja provider.
pub async fn stand_up(
    vector: &crate::vector::Vector,
    pki: &Pki,
    op: &mut Operation,
) -> Result<Option<(FrejaMock, FrejaEnvironment)>, String> {
    let Some(user) = FrejaUser::from_operation(op) else {
        return Ok(None);
    };
    let ctx = MockContext {
        pki: pki.clone(),
        vector_id: vector.id().to_owned(),
        user,
    };
    let m = FrejaMock::start(&vector.spec.provider, ctx)
        .await
        .map_err(|e| format!("could not start the mock provider: {e}"))?;
    // A token-level operation gets the token the mock built and the mock's reference.
    if let Operation::FrejaVerifyDetails(v) = op {
        match m.details_token(v.sign) {
            Ok((token, reference)) => {
                if v.details.is_empty() {
                    v.details = token;
                }
                if v.reference.is_empty() {
                    v.reference = reference;
                }
            }
            // Dropping the mock stops it.
            Err(e) => return Err(format!("could not build the details token: {e}")),
        }
    }
    match m.environment(&vector.spec.environment) {
        Ok(f) => Ok(Some((m, f))),
        Err(e) => Err(format!("could not build the environment: {e}")),
    }
}
