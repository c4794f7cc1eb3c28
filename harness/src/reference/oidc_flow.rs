//! The FTN OpenID Connect flow of the reference RP (Traficom Recommendation 213/2023 S as the
//! brokers restate it; RFC 9101, RFC 7523, RFC 7636, Core §3.1.3.7): a signed request object in the
//! front channel, `private_key_jwt` and PKCE S256 at the token endpoint, the nested ID token
//! validated by `oidc::Validator` with the broker JWKS fetched and cached, then userinfo.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::fault::Fault;
use super::freja::{map_error, redirect_policy, trust_anchors};
use super::oidc::{Validator, claim, reject, unique_object, unix_now};
use super::rp_keys;
use crate::adapter::{
    BeginLogin, BrokerEnvironment, FinishLogin, IdTokenRequest, OidcEnvironment, Outcome, Reason,
    Rejection,
};
use crate::provider::{ensure_loopback, lock};

/// At most one JWKS refresh per `jwks_uri` in this window (the initial fetch is not a refresh).
/// Far longer than any vector runs, so no verdict depends on how fast the machine is: at 10 s a
/// slow, loaded machine let a second refresh into `ftn.flow.broker-keys.refresh-rate-limited`.
const REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// A login not finished within this time is forgotten.
const PENDING_TTL: Duration = Duration::from_secs(3600);
/// Request objects live 10 minutes (OP ISB: +600 s; Telia suggests 10 minutes).
const REQUEST_OBJECT_TTL: i64 = 600;
/// Client assertions live one minute: they are used at once.
const ASSERTION_TTL: i64 = 60;
/// Larger bodies from the broker are refused unread.
const MAX_BODY: usize = 256 * 1024;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// What `static-nonce` sends every time (long enough to look random).
const STATIC_NONCE: &str = "rp-nonce-7f3a9c1e5b2d8f4a6c0e9b7d5a3f1c8e";
/// What `reused-jti` sends every time.
const STATIC_JTI: &str = "client-assertion-1";
/// What `params-in-front-channel` leaks: a (test) HETU as login hint.
const LOGIN_HINT: &str = "131052-308T";

/// What the RP keeps between `oidc.begin_login` and `oidc.finish_login`, shared by every vector
/// the instance serves.
#[derive(Default)]
pub(crate) struct FlowState {
    pending: Mutex<HashMap<String, Pending>>,
    /// Per (vector, jwks_uri): a vector is one deployment, and a port (so a `jwks_uri`) may be
    /// reused by a later vector's broker.
    jwks: Mutex<HashMap<(String, String), SharedCache>>,
}

impl std::fmt::Debug for FlowState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowState")
            .field("pending", &lock(&self.pending).len())
            .finish_non_exhaustive()
    }
}

type SharedCache = Arc<tokio::sync::Mutex<JwksCache>>;

struct Pending {
    state: String,
    nonce: String,
    code_verifier: String,
    created: Instant,
}

#[derive(Default)]
struct JwksCache {
    keys: Option<Value>,
    last_refresh: Option<Instant>,
}

fn random_b64(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(crate::forge::jwe::random(bytes))
}

fn settings(
    env: &crate::adapter::Environment,
) -> Result<(&OidcEnvironment, &BrokerEnvironment), Rejection> {
    let oidc = env
        .oidc
        .as_ref()
        .ok_or_else(|| reject(Reason::InvalidInput, "the environment has no OIDC settings"))?;
    let broker = oidc
        .broker
        .as_ref()
        .ok_or_else(|| reject(Reason::InvalidInput, "the OIDC settings have no broker"))?;
    Ok((oidc, broker))
}

pub(crate) fn begin_login(
    faults: &BTreeSet<Fault>,
    flow: &FlowState,
    env: &crate::adapter::Environment,
    req: &BeginLogin,
) -> Outcome {
    match begin(faults, flow, env, req) {
        Ok(url) => Outcome::Accepted {
            identity: BTreeMap::new(),
            authorization_url: Some(url),
            jwks: None,
            public_keys: None,
        },
        Err(r) => r.into(),
    }
}

fn begin(
    faults: &BTreeSet<Fault>,
    flow: &FlowState,
    env: &crate::adapter::Environment,
    req: &BeginLogin,
) -> Result<String, Rejection> {
    let has = |f| faults.contains(&f);
    let (oidc, broker) = settings(env)?;
    if req.session.is_empty() {
        return Err(reject(Reason::InvalidInput, "no session"));
    }
    rp_keys::check(faults, &oidc.rp_keys)?;
    let key = rp_keys::signing_key(faults, &oidc.rp_keys)
        .ok_or_else(|| reject(Reason::InvalidInput, "no signing key is configured"))?;
    let mut url = reqwest::Url::parse(&broker.authorization_endpoint)
        .ok()
        .filter(|_| ensure_loopback(&broker.authorization_endpoint).is_ok())
        .ok_or_else(|| {
            reject(
                Reason::InvalidInput,
                "the authorization endpoint is not a loopback URL",
            )
        })?;

    let state = random_b64(32);
    let nonce = if has(Fault::StaticNonce) {
        STATIC_NONCE.to_owned()
    } else if has(Fault::WeakNonce) {
        hex::encode(crate::forge::jwe::random(8))
    } else {
        random_b64(32)
    };
    let code_verifier = random_b64(32);
    let (challenge, method) = if has(Fault::PkcePlain) {
        (code_verifier.clone(), "plain")
    } else {
        (
            URL_SAFE_NO_PAD.encode(Sha256::digest(code_verifier.as_bytes())),
            "S256",
        )
    };
    let now = unix_now();
    let ttl = if has(Fault::LongLivedRequestObject) {
        24 * 3600
    } else {
        REQUEST_OBJECT_TTL
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(oidc.client_id));
    claims.insert("aud".into(), json!(oidc.issuer));
    claims.insert("client_id".into(), json!(oidc.client_id));
    claims.insert("response_type".into(), json!("code"));
    let scope = if broker.scope.is_empty() {
        "openid".to_owned()
    } else {
        broker.scope.join(" ")
    };
    claims.insert("scope".into(), json!(scope));
    claims.insert("redirect_uri".into(), json!(broker.redirect_uri));
    claims.insert("state".into(), json!(state));
    claims.insert("nonce".into(), json!(nonce));
    if !broker.acr_values.is_empty() {
        claims.insert("acr_values".into(), json!(broker.acr_values.join(" ")));
    }
    claims.insert("code_challenge".into(), json!(challenge));
    claims.insert("code_challenge_method".into(), json!(method));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + ttl));
    claims.insert("jti".into(), json!(random_b64(24)));
    let request = rp_keys::sign(key, None, &claims)?;

    {
        let mut q = url.query_pairs_mut();
        q.append_pair("request", &request);
        // Only what the broker asks for in the clear, and only values the request object holds.
        for p in &broker.front_channel_parameters {
            if p != "request"
                && let Some(v) = claims.get(p).and_then(Value::as_str)
            {
                q.append_pair(p, v);
            }
        }
        if has(Fault::ParamsInFrontChannel) {
            for p in ["scope", "state", "nonce", "redirect_uri"] {
                if !broker.front_channel_parameters.iter().any(|x| x == p)
                    && let Some(v) = claims.get(p).and_then(Value::as_str)
                {
                    q.append_pair(p, v);
                }
            }
            q.append_pair("login_hint", LOGIN_HINT);
        }
    }

    let mut pending = lock(&flow.pending);
    pending.retain(|_, p| p.created.elapsed() < PENDING_TTL);
    pending.insert(
        req.session.clone(),
        Pending {
            state,
            nonce,
            code_verifier,
            created: Instant::now(),
        },
    );
    Ok(url.into())
}

pub(crate) async fn finish_login(
    faults: &BTreeSet<Fault>,
    flow: &FlowState,
    env: &crate::adapter::Environment,
    req: &FinishLogin,
) -> Outcome {
    match finish(faults, flow, env, req).await {
        Ok(identity) => Outcome::accepted(identity),
        Err(r) => r.into(),
    }
}

/// The single value of a callback parameter; a repeated one is `Err`.
fn single<'p>(params: &'p [(String, String)], name: &str) -> Result<Option<&'p str>, ()> {
    let mut values = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    match (values.next(), values.next()) {
        (v, None) => Ok(v.map(String::as_str)),
        _ => Err(()),
    }
}

async fn finish(
    faults: &BTreeSet<Fault>,
    flow: &FlowState,
    env: &crate::adapter::Environment,
    req: &FinishLogin,
) -> Result<BTreeMap<String, Value>, Rejection> {
    let has = |f| faults.contains(&f);
    let (oidc, broker) = settings(env)?;
    // Consumed whatever happens next: a callback is good for one try.
    let pending = lock(&flow.pending)
        .remove(&req.session)
        .ok_or_else(|| claim("state", "no login is pending for this session"))?;
    let callback = reqwest::Url::parse(&req.callback_url)
        .map_err(|_| reject(Reason::MalformedResponse, "the callback URL does not parse"))?;
    let params: Vec<(String, String)> = callback.query_pairs().into_owned().collect();
    let repeated = |name: &str| {
        reject(
            Reason::MalformedResponse,
            format!("the callback repeats `{name}`"),
        )
    };

    let error = single(&params, "error").map_err(|_| repeated("error"))?;
    if let Some(error) = error
        && !has(Fault::TokenRequestOnCancel)
    {
        return Err(Rejection::new(Reason::StatusNotApproved)
            .status(error)
            .detail(format!("the broker answered the login with error {error}")));
    }
    if !has(Fault::NoStateCheck) {
        match single(&params, "state") {
            Ok(Some(s)) if s == pending.state => {}
            Ok(None) => return Err(claim("state", "the callback has no state")),
            _ => return Err(claim("state", "the callback's state is not the one sent")),
        }
    }
    // RFC 9207: when the broker names itself, it must be this broker (mix-up defence).
    if let Some(iss) = single(&params, "iss").map_err(|_| repeated("iss"))?
        && iss != oidc.issuer
    {
        return Err(claim(
            "iss",
            "the callback's iss is not the broker's issuer",
        ));
    }
    let code = match single(&params, "code").map_err(|_| repeated("code"))? {
        Some(c) if !c.is_empty() => c.to_owned(),
        // token-request-on-cancel: whatever `code` there is, or none.
        _ if error.is_some() => String::new(),
        _ => {
            return Err(reject(
                Reason::MalformedResponse,
                "the callback has neither code nor error",
            ));
        }
    };
    let code = if has(Fault::TruncateCode) {
        code.chars().take(256).collect()
    } else {
        code
    };

    let http = Http::new(faults, broker)?;
    let token = token_request(faults, oidc, broker, &http, &code, &pending).await?;

    let cache = {
        let key = (env.vector_id.clone(), broker.jwks_uri.clone());
        lock(&flow.jwks).entry(key).or_default().clone()
    };
    let mut cache = cache.lock().await;
    if cache.keys.is_none() || has(Fault::JwksRefreshEveryLogin) {
        cache.keys = Some(http.jwks(&broker.jwks_uri).await?);
    }
    let mut id_req = IdTokenRequest::default();
    id_req.id_token = token.id_token;
    id_req.nonce = Some(pending.nonce.clone());
    id_req.acr_values = broker.acr_values.clone();
    id_req.access_token = token.access_token.clone();
    let fetched = fetch_header_key(faults, oidc, &http, &id_req.id_token).await;
    let mut claims = with_refresh(faults, &http, broker, &mut cache, |jwks| {
        let v = Validator::new(faults, oidc, jwks).with_fetched_key(fetched.clone());
        (v.id_token(&id_req), v.inner_kid_unknown())
    })
    .await?;

    if let Some(endpoint) = &broker.userinfo_endpoint {
        let access_token = token.access_token.ok_or_else(|| {
            reject(
                Reason::MalformedResponse,
                "the token response has no access_token for userinfo",
            )
        })?;
        let body = http.userinfo(endpoint, &access_token).await?;
        let info = userinfo(faults, oidc, broker, &http, &mut cache, &body).await?;
        if !has(Fault::UserinfoSubUnchecked) && info.get("sub") != claims.get("sub") {
            return Err(claim("sub", "userinfo sub is not the ID token's sub"));
        }
        for (k, v) in info {
            claims.entry(k).or_insert(v);
        }
    }
    Ok(claims.into_iter().collect())
}

/// The deliberate faults `id-token-fetch-jku` and `id-token-fetch-x5u`: fetch what the inner
/// header's `jku` or `x5u` names and take its key.
async fn fetch_header_key(
    faults: &BTreeSet<Fault>,
    oidc: &OidcEnvironment,
    http: &Http,
    token: &str,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let (jku, x5u) = (
        faults.contains(&Fault::IdTokenFetchJku),
        faults.contains(&Fault::IdTokenFetchX5u),
    );
    if !jku && !x5u {
        return None;
    }
    let empty = json!({ "keys": [] });
    let header = Validator::new(faults, oidc, &empty).inner_header(token)?;
    let url = |m: &str| header.get(m).and_then(Value::as_str);
    if jku && let Some(u) = url("jku") {
        let jwks = http.jwks(u).await.ok()?;
        let keys = jwks.get("keys").and_then(Value::as_array)?;
        let kid = header.get("kid");
        let jwk = keys
            .iter()
            .find(|k| kid.is_some() && k.get("kid") == kid)
            .or(keys.first())?;
        let part = |n: &str| {
            jwk.get(n)
                .and_then(Value::as_str)
                .and_then(super::oidc::b64)
        };
        return Some((part("n")?, part("e")?));
    }
    if x5u && let Some(u) = url("x5u") {
        let (_, body) = http.get(u).await.ok()?;
        let der = crate::pki::pem_der(&String::from_utf8_lossy(&body), "CERTIFICATE")?;
        return super::oidc::rsa_of_certificate(&der);
    }
    None
}

/// Run `check` with the cached keys; when it failed on an unknown inner `kid`, refresh the JWKS
/// once (rate-limited) and run it again.
async fn with_refresh<T>(
    faults: &BTreeSet<Fault>,
    http: &Http,
    broker: &BrokerEnvironment,
    cache: &mut JwksCache,
    check: impl Fn(&Value) -> (Result<T, Rejection>, bool),
) -> Result<T, Rejection> {
    let empty = json!({ "keys": [] });
    let (result, kid_unknown) = check(cache.keys.as_ref().unwrap_or(&empty));
    let may_refresh = !faults.contains(&Fault::NoJwksRefresh)
        && cache
            .last_refresh
            .is_none_or(|t| t.elapsed() >= REFRESH_INTERVAL);
    if result.is_ok() || !kid_unknown || !may_refresh {
        return result;
    }
    cache.last_refresh = Some(Instant::now());
    match http.jwks(&broker.jwks_uri).await {
        Ok(keys) => cache.keys = Some(keys),
        Err(e) => {
            return Err(reject(
                Reason::KeyUnknown,
                format!(
                    "the inner kid is unknown and the JWKS refresh failed: {}",
                    e.detail.unwrap_or_default()
                ),
            ));
        }
    }
    check(cache.keys.as_ref().unwrap_or(&empty)).0
}

struct TokenResponse {
    id_token: String,
    access_token: Option<String>,
}

async fn token_request(
    faults: &BTreeSet<Fault>,
    oidc: &OidcEnvironment,
    broker: &BrokerEnvironment,
    http: &Http,
    code: &str,
    pending: &Pending,
) -> Result<TokenResponse, Rejection> {
    let has = |f| faults.contains(&f);
    let key = rp_keys::signing_key(faults, &oidc.rp_keys)
        .ok_or_else(|| reject(Reason::InvalidInput, "no signing key is configured"))?;
    let now = unix_now();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(oidc.client_id));
    claims.insert("sub".into(), json!(oidc.client_id));
    let aud = if has(Fault::AssertionAudIssuer) {
        &oidc.issuer
    } else {
        &broker.token_endpoint
    };
    claims.insert("aud".into(), json!(aud));
    let jti = if has(Fault::ReusedJti) {
        STATIC_JTI.to_owned()
    } else {
        random_b64(24)
    };
    claims.insert("jti".into(), json!(jti));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + ASSERTION_TTL));
    let assertion = rp_keys::sign(key, Some("JWT"), &claims)?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &broker.redirect_uri),
        ("client_id", &oidc.client_id),
        ("code_verifier", &pending.code_verifier),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", &assertion),
    ];
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut sent = 0;
    let (status, bytes) = loop {
        sent += 1;
        let answer = http.post_form(&broker.token_endpoint, body.clone()).await?;
        // The fault re-sends a single-use code, as it does any Freja request.
        if !(has(Fault::RetryOn500) && answer.0 == 500 && sent < 3) {
            break answer;
        }
    };
    let m = success_object("the token endpoint", status, &bytes)?;
    let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    let id_token = text("id_token").ok_or_else(|| {
        reject(
            Reason::MalformedResponse,
            "the token response has no id_token string",
        )
    })?;
    if !text("token_type").is_some_and(|t| t.eq_ignore_ascii_case("Bearer")) {
        return Err(reject(
            Reason::MalformedResponse,
            "the token response's token_type is not Bearer",
        ));
    }
    Ok(TokenResponse {
        id_token,
        access_token: text("access_token"),
    })
}

/// A 2xx body as a JSON object; anything else mapped to its rejection.
fn success_object(what: &str, status: u16, bytes: &[u8]) -> Result<Map<String, Value>, Rejection> {
    if !(200..300).contains(&status) {
        return Err(error_status(what, status, bytes));
    }
    unique_object(bytes).map_err(|_| {
        reject(
            Reason::MalformedResponse,
            format!("{what} answered {status} with a body that is not a JSON object"),
        )
    })
}

fn error_status(what: &str, status: u16, bytes: &[u8]) -> Rejection {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) if m.get("error").is_some_and(Value::is_string) => {
            let error = m.get("error").and_then(Value::as_str).unwrap_or_default();
            Rejection::new(Reason::ProviderError).detail(error)
        }
        _ => Rejection::new(Reason::HttpStatus)
            .status(status.to_string())
            .detail(format!("{what} answered HTTP {status}")),
    }
}

/// The userinfo claims as registered (`json`, `signed`, `encrypted`); a weaker form is refused.
async fn userinfo(
    faults: &BTreeSet<Fault>,
    oidc: &OidcEnvironment,
    broker: &BrokerEnvironment,
    http: &Http,
    cache: &mut JwksCache,
    body: &[u8],
) -> Result<Map<String, Value>, Rejection> {
    let registered = broker.userinfo_response.as_deref().unwrap_or("json");
    if !matches!(registered, "json" | "signed" | "encrypted") {
        return Err(reject(
            Reason::InvalidInput,
            format!("unknown userinfo_response {registered:?}"),
        ));
    }
    let plain_ok = registered == "json" || faults.contains(&Fault::AcceptPlainUserinfo);
    let text = std::str::from_utf8(body).map(str::trim).unwrap_or_default();
    if body.trim_ascii_start().starts_with(b"{") {
        if !plain_ok {
            let reason = if registered == "encrypted" {
                Reason::EncryptionRequired
            } else {
                Reason::SignatureInvalid
            };
            return Err(reject(
                reason,
                format!("userinfo is plain JSON but {registered} is registered"),
            ));
        }
        return match unique_object(body) {
            Ok(m) => Ok(m),
            Err(Some(dup)) => Err(claim(&dup, format!("userinfo claim `{dup}` appears twice"))),
            Err(None) => Err(reject(
                Reason::MalformedResponse,
                "userinfo is not a JSON object",
            )),
        };
    }
    let parts = text.split('.').count();
    if parts == 3 && registered == "encrypted" && !plain_ok {
        return Err(reject(
            Reason::EncryptionRequired,
            "userinfo is a plain JWS but encryption is registered",
        ));
    }
    if parts != 3 && parts != 5 {
        return Err(reject(
            Reason::MalformedResponse,
            "userinfo is neither JSON nor a compact JWS or JWE",
        ));
    }
    let claims = with_refresh(faults, http, broker, cache, |jwks| {
        let v = Validator::new(faults, oidc, jwks);
        (v.open(text, false), v.inner_kid_unknown())
    })
    .await
    .map_err(|mut r| {
        r.detail = Some(format!("userinfo: {}", r.detail.unwrap_or_default()));
        r
    })?;
    if claims.get("iss").and_then(Value::as_str) != Some(&oidc.issuer) {
        return Err(claim(
            "iss",
            "signed userinfo: iss is not the broker's issuer",
        ));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => *a == oidc.client_id,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(&oidc.client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err(claim(
            "aud",
            "signed userinfo: aud does not name this client",
        ));
    }
    Ok(claims)
}

/// HTTPS to the broker: its trust anchors only, no redirects, no retries, a timeout per exchange,
/// loopback only.
struct Http {
    client: reqwest::Client,
}

impl Http {
    fn new(faults: &BTreeSet<Fault>, broker: &BrokerEnvironment) -> Result<Http, Rejection> {
        let invalid = |m: String| reject(Reason::InvalidInput, m);
        let anchors = trust_anchors(&broker.trust_anchors_pem).map_err(invalid)?;
        let client = reqwest::Client::builder()
            .https_only(true)
            .no_proxy()
            .tls_certs_only(anchors)
            .redirect(redirect_policy(faults))
            .retry(reqwest::retry::never())
            .timeout(Duration::from_millis(broker.http_timeout_ms))
            .build()
            .map_err(|e| invalid(format!("HTTP client: {e}")))?;
        Ok(Http { client })
    }

    fn url(url: &str) -> Result<&str, Rejection> {
        ensure_loopback(url)
            .map(|_| url)
            .map_err(|e| reject(Reason::InvalidInput, e.to_string()))
    }

    async fn post_form(&self, url: &str, body: String) -> Result<(u16, Vec<u8>), Rejection> {
        let req = self
            .client
            .post(Self::url(url)?)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        Self::send(req).await
    }

    async fn jwks(&self, url: &str) -> Result<Value, Rejection> {
        let req = self
            .client
            .get(Self::url(url)?)
            .header(reqwest::header::ACCEPT, "application/json");
        let (status, bytes) = Self::send(req).await?;
        let m = success_object("the JWKS endpoint", status, &bytes)?;
        if !m.get("keys").is_some_and(Value::is_array) {
            return Err(reject(
                Reason::MalformedResponse,
                "the broker JWKS has no keys array",
            ));
        }
        Ok(Value::Object(m))
    }

    async fn get(&self, url: &str) -> Result<(u16, Vec<u8>), Rejection> {
        Self::send(self.client.get(Self::url(url)?)).await
    }

    async fn userinfo(&self, url: &str, access_token: &str) -> Result<Vec<u8>, Rejection> {
        let req = self
            .client
            .get(Self::url(url)?)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/jwt, application/json");
        let (status, bytes) = Self::send(req).await?;
        if !(200..300).contains(&status) {
            return Err(error_status("the userinfo endpoint", status, &bytes));
        }
        Ok(bytes)
    }

    async fn send(req: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), Rejection> {
        let mut resp = req.send().await.map_err(|e| map_error(&e))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| map_error(&e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(reject(
                    Reason::MalformedResponse,
                    format!("the broker's answer is longer than {MAX_BODY} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }
}
