//! The mock FTN broker: discovery, authorization (played by the harness as the user agent),
//! token, JWKS and userinfo endpoints on loopback HTTPS, minting what the vector's
//! `provider.broker` asks for and recording what the RP sent.
//!
//! Like the Freja mock, a TLS front (no client certificate) serves a responder (`responder.rs`)
//! that plays the broker. Every instance lives under a random path prefix,
//! so its URLs never repeat across vectors even when ports are reused (RPs cache JWKS by URL).

mod mint;
pub(crate) mod player;
pub mod profile;
mod registration;
mod responder;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::checks::{self, Check, LoginTrace, Registration};
use super::{Observations, ProviderError, ensure_loopback, lock, tls};
use crate::adapter::{BrokerEnvironment, OidcEnvironment, Outcome};
use crate::forge::id_token::{self, BROKER_KEY, KeyName};
use crate::forge::jwe;
use crate::pki::{self, Pki};
use crate::vector::model::{BodySpec, BrokerEndpoint, EnvironmentSpec, LoginSpec, ProviderSpec};
pub use profile::Profile;
pub use registration::{registration, stand_up, stand_up_broker, stand_up_rp_keys};

/// The registered redirect URI. Nothing listens there: the harness plays the user agent.
pub const REDIRECT_URI: &str = "https://rp.eidconf.test/callback";
/// The `acr_values` an RP requests unless the vector says otherwise (FTN substantial).
pub const DEFAULT_ACR_VALUES: &[&str] = &[id_token::DEFAULT_ACR];
/// Length of an authorization code unless the callback says otherwise.
pub const DEFAULT_CODE_LENGTH: usize = 64;

/// What the broker saw and minted in one vector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BrokerEvidence {
    /// Every request, in order (`broker_authorize` ones were carried by the harness).
    pub requests: Vec<BrokerRequest>,
    /// One entry per login the harness played.
    pub logins: Vec<LoginEvidence>,
}

impl BrokerEvidence {
    pub fn count(&self, ep: BrokerEndpoint) -> u32 {
        self.requests.iter().filter(|r| r.endpoint == ep).count() as u32
    }
}

/// One request to the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerRequest {
    pub endpoint: BrokerEndpoint,
    pub method: String,
    pub path: String,
    /// The login it belongs to (1-based), when the broker could tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<usize>,
    /// What the broker answered (0 if it reset the connection).
    pub response_status: u16,
}

/// What the RP sent, and the broker minted, in one login. Decoded JWTs are shown as header and
/// claims, whether or not their signature verified (the checks say that).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoginEvidence {
    /// The RP's session the harness used.
    pub session: String,
    /// The authorization URL the RP returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_url: Option<String>,
    /// Its query parameters (`request` included verbatim).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorization_parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object_header: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object: Option<Map<String, Value>>,
    /// The callback URL the harness brought back to the RP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Form parameters of the token request(s) of this login, `client_assertion` excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_request: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_assertion_header: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_assertion: Option<Map<String, Value>>,
    /// The claims the broker signed into this login's ID token: what the RP may trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_claims: Option<Map<String, Value>>,
    /// The claims the broker answered at userinfo, signed or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_claims: Option<Map<String, Value>>,
    /// The RP's outcome for this login (earlier logins of a vector are evidence only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Value>,
}

/// What the broker is set up with besides the vector's script.
#[derive(Debug, Clone)]
pub struct BrokerContext {
    pub pki: Pki,
    pub client_id: String,
    pub redirect_uri: String,
    /// The `acr` of minted ID tokens is the first one.
    pub acr_values: Vec<String>,
    /// Discovery's `id_token_signing_alg_values_supported`.
    pub signing_alg_values: Vec<String>,
    /// Per key name, members merged over the key's JWK in every published JWKS (`null` removes).
    pub broker_jwk: std::collections::BTreeMap<String, Map<String, Value>>,
}

/// One login as the broker keeps it: the evidence shown in reports and the raw trace the checks
/// read.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoginRecord {
    pub(crate) evidence: LoginEvidence,
    pub(crate) trace: LoginTrace,
}

/// Mutable state, behind one lock shared by the responder and the harness.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// 0-based index of the login being played (JWKS keys, attribution of requests).
    pub(crate) current: usize,
    pub(crate) requests: Vec<BrokerRequest>,
    pub(crate) logins: Vec<LoginRecord>,
    /// Authorization code → index of the login it was issued in. Never consumed: the broker is
    /// lax, the RP's state check must stop a replay.
    pub(crate) codes: HashMap<String, usize>,
    /// Access token → index of the login whose code it was issued for.
    pub(crate) access_tokens: HashMap<String, usize>,
    /// Claims of the ID token minted for a login (by the code's login), for userinfo.
    pub(crate) id_claims: HashMap<usize, Map<String, Value>>,
}

impl State {
    pub(crate) fn record(
        &mut self,
        endpoint: BrokerEndpoint,
        method: &str,
        path: &str,
        status: u16,
    ) {
        let login = (!self.logins.is_empty()).then_some(self.current + 1);
        self.requests.push(BrokerRequest {
            endpoint,
            method: method.to_owned(),
            path: path.to_owned(),
            login,
            response_status: status,
        });
    }

    /// The record of the login being played (created if the harness never started one).
    pub(crate) fn login(&mut self) -> &mut LoginRecord {
        while self.logins.len() <= self.current {
            self.logins.push(LoginRecord::default());
        }
        &mut self.logins[self.current]
    }
}

/// The per-vector facts the responder and the harness share.
pub(crate) struct Core {
    pub(crate) issuer: String,
    pub(crate) profile: Profile,
    pub(crate) ctx: BrokerContext,
    /// The vector's logins (at least one).
    pub(crate) logins: Vec<LoginSpec>,
    /// The JWKS document published during each login, built once.
    pub(crate) jwks: Vec<Value>,
    pub(crate) state: Mutex<State>,
}

impl Core {
    pub(crate) fn url(&self, ep: BrokerEndpoint) -> String {
        format!("{}{}", self.issuer, ep.path())
    }

    pub(crate) fn spec(&self, login: usize) -> &LoginSpec {
        &self.logins[login.min(self.logins.len() - 1)]
    }
}

/// A running mock FTN broker for one vector.
pub struct BrokerMock {
    core: Arc<Core>,
    obs: Arc<Mutex<Observations>>,
    front: tls::Front,
}

impl BrokerMock {
    /// Start the broker of `spec.broker` (default: Telia, one happy login). Binds 127.0.0.1 only.
    pub async fn start(
        spec: &ProviderSpec,
        ctx: BrokerContext,
    ) -> Result<BrokerMock, ProviderError> {
        let broker = spec
            .broker
            .clone()
            .unwrap_or(crate::vector::model::BrokerSpec {
                profile: Default::default(),
                logins: Vec::new(),
            });
        let mut logins = broker.logins;
        if logins.is_empty() {
            logins.push(LoginSpec::default());
        }
        validate_logins(&logins, &ctx.pki)?;
        for name in ctx.broker_jwk.keys() {
            let published = logins.iter().any(|l| match &l.jwks {
                Some(keys) => keys.iter().any(|k| &k.0 == name),
                None => name == BROKER_KEY,
            });
            if !published {
                return Err(ProviderError::Spec(format!(
                    "environment.oidc.broker_jwk names `{name}`, which no login's jwks publishes"
                )));
            }
        }
        let jwks = logins
            .iter()
            .map(|l| {
                let names = l
                    .jwks
                    .clone()
                    .unwrap_or_else(|| vec![KeyName::new(BROKER_KEY)]);
                let keys = names
                    .iter()
                    .map(|k| {
                        let cred = ctx.pki.get(&k.0)?;
                        let mut jwk = id_token::public_jwk(cred, "sig")
                            .map_err(|e| ProviderError::Spec(e.0))?;
                        if let (Some(over), Some(m)) =
                            (ctx.broker_jwk.get(&k.0), jwk.as_object_mut())
                        {
                            crate::forge::merge_members(m, over);
                        }
                        Ok(jwk)
                    })
                    .collect::<Result<Vec<_>, ProviderError>>()?;
                Ok(json!({ "keys": keys }))
            })
            .collect::<Result<Vec<_>, ProviderError>>()?;

        let server_cert = spec
            .tls
            .server_certificate
            .as_deref()
            .unwrap_or(pki::SERVER_DEFAULT);
        let config = super::tls::server_config(&ctx.pki, server_cert, false)?;
        let obs = Arc::new(Mutex::new(Observations::default()));
        // The issuer is only known once the port is: the responder reads the core through a
        // cell filled in before the URL is handed to anyone.
        let prefix = hex::encode(jwe::random(8));
        let pending = Arc::new(std::sync::OnceLock::<Arc<Core>>::new());
        let responder = responder::Responder::new(pending.clone());
        let front = tls::Front::start(config, responder, obs.clone(), false).await?;
        let issuer = format!("https://127.0.0.1:{}/{prefix}", front.addr.port());
        let core = Arc::new(Core {
            issuer,
            profile: Profile(broker.profile),
            ctx,
            logins,
            jwks,
            state: Mutex::default(),
        });
        let _ = pending.set(core.clone());
        Ok(BrokerMock { core, obs, front })
    }

    /// `https://127.0.0.1:PORT/<random>`.
    pub fn issuer(&self) -> &str {
        &self.core.issuer
    }

    pub fn profile(&self) -> Profile {
        self.core.profile
    }

    /// How many logins the vector plays.
    pub fn logins(&self) -> &[LoginSpec] {
        &self.core.logins
    }

    /// The environment of a flow operation: the RP's registration at this broker.
    pub fn environment(&self, spec: &EnvironmentSpec) -> Result<OidcEnvironment, ProviderError> {
        ensure_loopback(&self.core.issuer)?;
        let p = self.core.profile;
        let o = spec.oidc.clone().unwrap_or_default();
        let mut env = registration(
            &o,
            &self.core.ctx.pki,
            &self.core.issuer,
            &[p.alg().name()],
            &[p.enc().name()],
        )
        .map_err(ProviderError::Spec)?;
        env.client_id = self.core.ctx.client_id.clone();
        env.broker_jwks = json!({ "keys": [] });
        let mut scope = vec!["openid".to_owned()];
        scope.extend(p.extra_scopes().iter().map(|s| s.to_string()));
        let userinfo = p.userinfo();
        let mut b = BrokerEnvironment::default();
        b.discovery_url = self.core.url(BrokerEndpoint::BrokerDiscovery);
        b.authorization_endpoint = self.core.url(BrokerEndpoint::BrokerAuthorize);
        b.token_endpoint = self.core.url(BrokerEndpoint::BrokerToken);
        b.jwks_uri = self.core.url(BrokerEndpoint::BrokerJwks);
        b.userinfo_endpoint = userinfo.map(|_| self.core.url(BrokerEndpoint::BrokerUserinfo));
        b.userinfo_response = userinfo.map(str::to_owned);
        b.trust_anchors_pem = vec![self.core.ctx.pki.trust_anchor()?.cert_pem.clone()];
        b.redirect_uri = self.core.ctx.redirect_uri.clone();
        b.acr_values = self.core.ctx.acr_values.clone();
        b.scope = scope;
        b.front_channel_parameters = p
            .front_channel_parameters()
            .iter()
            .map(|s| s.to_string())
            .collect();
        b.http_timeout_ms = spec
            .http_timeout
            .map_or(super::DEFAULT_HTTP_TIMEOUT_MS, |d| d.as_millis());
        env.broker = Some(b);
        Ok(env)
    }

    /// Start login `login` (1-based) on `session`: its JWKS is published from now on, and what
    /// the RP sends is recorded against it. `replay_of`: the login whose callback is brought back
    /// again instead of a new authorization.
    pub fn start_login(&self, login: usize, session: &str, replay_of: Option<usize>) {
        let mut st = lock(&self.core.state);
        st.current = login.saturating_sub(1);
        let previous = replay_of.and_then(|r| st.logins.get(r.saturating_sub(1)).cloned());
        let rec = st.login();
        rec.evidence.session = session.to_owned();
        if let Some(prev) = previous {
            rec.trace.replay = true;
            rec.trace.code = prev.trace.code;
            rec.evidence.callback_url = prev.evidence.callback_url;
        }
    }

    /// Play the user agent at the authorization endpoint for login `login` (1-based): record the
    /// request and the request object, and return the callback URL the broker redirects to.
    /// The broker is lax: whatever the RP sent, the user comes back (the checks say what was
    /// wrong), unless the URL is not loopback, which the harness does not carry.
    pub fn authorize(
        &self,
        authorization_url: &str,
        login: usize,
    ) -> Result<String, ProviderError> {
        let idx = login.saturating_sub(1);
        let spec = self.core.spec(idx).callback.clone();
        let params = checks::query_parameters(authorization_url);
        let decoded = params.get("request").and_then(|r| checks::decode_jwt(r));
        let path = reqwest::Url::parse(authorization_url)
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        let loopback = ensure_loopback(authorization_url);

        let claims = decoded.as_ref().map(|(_, c)| c);
        let redirect_uri = claims
            .and_then(|c| c.get("redirect_uri"))
            .and_then(Value::as_str)
            .filter(|u| reqwest::Url::parse(u).is_ok())
            .unwrap_or(&self.core.ctx.redirect_uri)
            .to_owned();
        let rp_state = claims
            .and_then(|c| c.get("state"))
            .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_owned))
            .or_else(|| params.get("state").cloned());
        let state = if spec.omit_state {
            None
        } else {
            spec.state.clone().or(rp_state)
        };
        let mut url = reqwest::Url::parse(&redirect_uri)
            .map_err(|e| ProviderError::Spec(format!("redirect_uri: {e}")))?;
        let mut code = None;
        {
            let mut q = url.query_pairs_mut();
            match &spec.error {
                Some(e) => {
                    q.append_pair("error", e);
                }
                None => {
                    let c = random_code(spec.code_length.unwrap_or(DEFAULT_CODE_LENGTH));
                    q.append_pair("code", &c);
                    code = Some(c);
                }
            }
            if let Some(s) = &state {
                q.append_pair("state", s);
            }
        }
        let callback = url.to_string();

        let mut st = lock(&self.core.state);
        st.current = idx;
        let status = if loopback.is_ok() { 302 } else { 0 };
        st.record(BrokerEndpoint::BrokerAuthorize, "GET", &path, status);
        if let Some(c) = &code
            && loopback.is_ok()
        {
            st.codes.insert(c.clone(), idx);
        }
        let rec = st.login();
        rec.evidence.authorization_url = Some(authorization_url.to_owned());
        rec.evidence.authorization_parameters = params;
        rec.evidence.request_object_header = decoded.as_ref().map(|(h, _)| h.clone());
        rec.evidence.request_object = decoded.map(|(_, c)| c);
        rec.trace.authorization_url = Some(authorization_url.to_owned());
        rec.trace.authorized_at = now();
        loopback?;
        rec.trace.code = code;
        rec.evidence.callback_url = Some(callback.clone());
        Ok(callback)
    }

    /// Keep the RP's outcome of login `login` (1-based) as evidence.
    pub fn record_outcome(&self, login: usize, outcome: &Outcome) {
        let mut st = lock(&self.core.state);
        st.current = login.saturating_sub(1);
        st.login().evidence.outcome = serde_json::to_value(outcome).ok();
    }

    /// What the broker saw and minted.
    pub fn evidence(&self) -> BrokerEvidence {
        let st = lock(&self.core.state);
        BrokerEvidence {
            requests: st.requests.clone(),
            logins: st.logins.iter().map(|l| l.evidence.clone()).collect(),
        }
    }

    /// The request-side checks over every login, against the registration in `env`.
    pub fn checks(&self, env: &OidcEnvironment) -> Vec<Check> {
        let reg = Registration::from_environment(env);
        let traces: Vec<LoginTrace> = lock(&self.core.state)
            .logins
            .iter()
            .map(|l| l.trace.clone())
            .collect();
        checks::login_checks(&reg, &traces)
    }

    /// Everything for the judge: the broker's evidence, the checks, and TLS failures.
    pub async fn observations(&self, env: Option<&OidcEnvironment>) -> Observations {
        super::settle(std::iter::once(&self.front)).await;
        let mut obs = lock(&self.obs).clone();
        obs.broker = Some(self.evidence());
        if let Some(env) = env {
            obs.checks = self.checks(env);
        }
        obs
    }
}

impl Drop for BrokerMock {
    fn drop(&mut self) {
        self.front.stop();
    }
}

/// Reject scripts the broker cannot play, at start rather than mid-vector.
fn validate_logins(logins: &[LoginSpec], pki: &Pki) -> Result<(), ProviderError> {
    for (i, l) in logins.iter().enumerate() {
        let n = i + 1;
        let err = |m: String| ProviderError::Spec(format!("broker login #{n}: {m}"));
        if l.callback.replay && i == 0 {
            return Err(err("`replay` needs a previous login".into()));
        }
        if l.callback
            .code_length
            .is_some_and(|c| c == 0 || c > 64 << 10)
        {
            return Err(err("`code_length` must be 1 to 65536".into()));
        }
        for k in l.jwks.iter().flatten() {
            pki.get(&k.0)?;
        }
        let responses = l.token.iter().map(|r| ("token", r)).chain(
            l.userinfo
                .iter()
                .flat_map(|u| &u.response)
                .map(|r| ("userinfo", r)),
        );
        for (what, r) in responses {
            super::freja::validate(r).map_err(|m| err(format!("{what}: {m}")))?;
            if r.redirect_to_canary {
                return Err(err(format!("{what}: the broker has no canary")));
            }
            match &r.body {
                None
                | Some(BodySpec::Json(_))
                | Some(BodySpec::Text(_))
                | Some(BodySpec::Empty)
                | Some(BodySpec::Repeat { .. }) => {}
                Some(other) => {
                    return Err(err(format!(
                        "{what}: body {} is a Freja answer; use `json`, `text`, `empty` or `repeat`",
                        serde_json::to_value(other)
                            .ok()
                            .and_then(|v| v.as_object().and_then(|o| o.keys().next().cloned()))
                            .unwrap_or_default()
                    )));
                }
            }
        }
        let recipes = l
            .id_token
            .iter()
            .chain(l.userinfo.iter().flat_map(|u| &u.token));
        for r in recipes {
            pki.get(&r.key.0)?;
            pki.get(&r.encryption.key.0)?;
        }
    }
    Ok(())
}

/// `n` random characters of the base64url alphabet.
pub(crate) fn random_code(n: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    jwe::random(n)
        .into_iter()
        .map(|b| ALPHABET[usize::from(b) % 64] as char)
        .collect()
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
