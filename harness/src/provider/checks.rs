//! Request-side checks: what the RP sent to the broker (request object, client assertion, token
//! request) and what it publishes (its JWKS), held against the FTN profile (Traficom
//! Recommendation 213/2023 S as the brokers' integration guides restate it; RFC 9101, RFC 7523).
//!
//! Every check is made whenever its input exists and lands in the evidence; a vector asserts the
//! ones it is about with `expect.checks`, so one RP bug fails the vectors written for it.

use std::collections::{BTreeMap, HashSet};

use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::adapter::{OidcEnvironment, PublicKeyForm, PublicKeys};

/// The outcome of one check on one login (or on the published JWKS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// An id of [`CATALOGUE`].
    pub id: String,
    /// 1-based login the check was made on; absent for `jwks.*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<usize>,
    pub passed: bool,
    /// What was seen, in words.
    pub detail: String,
}

/// `CheckId` (one variant per check), `CheckId::ALL`, `id`, `requires`, and the `CATALOGUE`
/// `eidconf checks` prints: one entry per check.
macro_rules! checks {
    ($($(#[$doc:meta])* $variant:ident = $id:literal: $requires:literal,)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CheckId {
            $($variant,)+
        }

        impl CheckId {
            pub const ALL: &'static [CheckId] = &[$(CheckId::$variant),+];

            /// The id vectors name in `expect.checks` and the evidence carries.
            pub fn id(self) -> &'static str {
                match self {
                    $(CheckId::$variant => $id,)+
                }
            }

            /// What the check requires, in words.
            pub fn requires(self) -> &'static str {
                match self {
                    $(CheckId::$variant => $requires,)+
                }
            }
        }

        /// Every check id with what it requires. `expect.checks` entries must match at least one.
        pub const CATALOGUE: &[(&str, &str)] = &[$(($id, $requires)),+];
    };
}

checks! {
    // The front channel (RFC 9101 §5; no personal data in the clear).
    AuthorizationEndpoint = "authorization.endpoint":
        "the authorization URL is the broker's authorization endpoint",
    AuthorizationParameters = "authorization.parameters":
        "the front channel carries `request` and only the parameters the broker asks for \
         in the clear (no personal data, no unsigned duplicates)",
    // The request object (RFC 9101 §4; the claims the Telia and OP guides require).
    RequestObjectSigned = "request_object.signed":
        "a JWS with alg RS256 and the kid of an RP `use: sig` key, whose signature verifies",
    RequestObjectIss = "request_object.iss":
        "`iss` is the client_id",
    RequestObjectAud = "request_object.aud":
        "`aud` is the broker's issuer",
    RequestObjectClientId = "request_object.client_id":
        "`client_id` is the client_id",
    RequestObjectResponseType = "request_object.response_type":
        "`response_type` is `code`",
    RequestObjectScope = "request_object.scope":
        "`scope` contains `openid`",
    RequestObjectRedirectUri = "request_object.redirect_uri":
        "`redirect_uri` is the registered one, exactly",
    RequestObjectState = "request_object.state":
        "`state` is present, at least 128 bits, and unique among the vector's logins",
    RequestObjectNonce = "request_object.nonce":
        "`nonce` is present, at least 128 bits (22 base64url characters), and unique among \
         the vector's logins",
    RequestObjectAcrValues = "request_object.acr_values":
        "`acr_values` are the configured ones",
    RequestObjectExp = "request_object.exp":
        "`exp` is in the future and at most 60 minutes ahead",
    RequestObjectJti = "request_object.jti":
        "`jti` is present and unique among the vector's request objects",
    // PKCE (RFC 7636 §4.2; RFC 9700 §2.1.1).
    PkceS256 = "pkce.s256":
        "a `code_challenge`, when sent, uses method S256 (never `plain`), and the token request's \
         `code_verifier` matches it",
    // The token request (RFC 6749 §4.1.3) and its client assertion (RFC 7523 §3; Core §9).
    TokenRequestParameters = "token_request.parameters":
        "`grant_type=authorization_code`, the code verbatim, the same `redirect_uri`, and \
         `client_assertion_type` jwt-bearer",
    ClientAssertionSigned = "client_assertion.signed":
        "a JWS with alg RS256 and the kid of an RP `use: sig` key, whose signature verifies",
    ClientAssertionIssSub = "client_assertion.iss_sub":
        "`iss` and `sub` are both the client_id",
    ClientAssertionAud = "client_assertion.aud":
        "`aud` is the token endpoint URL",
    ClientAssertionExp = "client_assertion.exp":
        "`exp` is in the future and at most 60 minutes ahead",
    ClientAssertionJti = "client_assertion.jti":
        "`jti` is present and unique among the vector's token requests",
    // Userinfo.
    UserinfoBearer = "userinfo.bearer":
        "userinfo is requested with the access token of this login as a Bearer token",
    // The RP's published keys (separate `sig` and `enc` RSA keys; public members only, RFC 7518
    // §6.3.1).
    JwksPublicOnly = "jwks.public_only":
        "no key carries private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`)",
    JwksKeySize = "jwks.key_size":
        "every RSA key has a modulus of at least 2048 bits",
    JwksUseSeparation = "jwks.use_separation":
        "every key has `use` `sig` or `enc`, there is one of each, and no key material \
         serves both",
    JwksKid = "jwks.kid":
        "every key has a `kid`, unique in the set",
    // The forms the Nets E-Ident notice registers a key in: PEM, a JWK, or the URL of a JWKS.
    RpKeysForm = "rp_keys.form":
        "the keys are published in one form, the one asked for, and parse as it: PEM blocks, one \
         JWK object with `kty`, or a JWK Set",
    RpKeysPemSpki = "rp_keys.pem_spki":
        "every PEM block is an RSA SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`, as the Nets \
         example), not PKCS#1 `RSA PUBLIC KEY` or a private key",
    RpKeysJwksUri = "rp_keys.jwks_uri":
        "the JWKS URL is loopback `http`/`https` and answers 200 with a JWK Set (eidconf \
         fetches nothing else)",
    // What the RP sends the Freja services host (the provider's client library: HttpService,
    // UserInfoUtil, RequestValidationService).
    FrejaRequestForm = "freja.request.form":
        "every request is one form parameter named for its endpoint (`initAuthRequest`, \
         `getOneAuthResultRequest`, …) whose value is standard Base64 (not base64url) of a UTF-8 \
         JSON object",
    FrejaRequestUserInfo = "freja.request.user_info":
        "`userInfo` is not blank; SSN is standard Base64 of `{\"country\", \"ssn\"}` with a \
         two-letter country; ORG_ID only at the organisation endpoints; `orgIdIssuer` absent, \
         empty or ANY",
    FrejaRequestRegistrationLevel = "freja.request.registration_level":
        "`minRegistrationLevel` is given at the personal endpoints and is BASIC, EXTENDED, PLUS \
         or INFERRED; EXTENDED or PLUS when `attributesToReturn` asks for BASIC_USER_INFO, \
         DATE_OF_BIRTH or SSN",
    FrejaRequestRelyingPartyId = "freja.request.relying_party_id":
        "an integrator RP sends its `relyingPartyId` as a form parameter of its own beside every \
         request, never inside the JSON",
    FrejaRequestAttributes = "freja.request.attributes":
        "`attributesToReturn`, when present, is a non-empty array of `{\"attribute\": <name>}`",
    FrejaRequestSignature = "freja.request.signature":
        "a signature request's `dataToSign.text` is standard Base64 of non-empty UTF-8; \
         `signatureType` SIMPLE goes with `dataToSignType` SIMPLE_UTF8_TEXT and EXTENDED with \
         EXTENDED_UTF8_TEXT; `title`, if given, is 1 to 128 characters; `expiry`, if given, is \
         epoch milliseconds from now + 2 minutes to now + 30 days",
    FrejaRequestCustomIdentifier = "freja.request.custom_identifier":
        "`customIdentifier` is a string of 1 to 128 characters, not blank (the user a \
         `setCustomIdentifier` names is `freja.request.user_info`'s)",
    FrejaRequestPollInterval = "freja.request.poll_interval":
        "the RP waits between result requests of a transaction: on average at least half the \
         poll interval it was given (eidconf's rule; no source states a minimum)",
}

/// Whether `pattern` (an id, or a glob with `*`) names at least one check.
pub fn known(pattern: &str) -> bool {
    CATALOGUE.iter().any(|(id, _)| matches(pattern, id))
}

/// Glob match of a check id: `*` stands for any run of characters.
pub fn matches(pattern: &str, id: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == id,
        Some((head, tail)) => {
            let Some(rest) = id.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|i| rest.is_char_boundary(*i))
                .any(|i| matches(tail, &rest[i..]))
        }
    }
}

/// What the requests are held against: the RP's registration at the broker.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub client_id: String,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub redirect_uri: String,
    pub acr_values: Vec<String>,
    pub front_channel_parameters: Vec<String>,
    /// The RP's `use: sig` public keys: kid and PKCS#1 `RSAPublicKey` DER.
    pub sig_keys: Vec<(String, Vec<u8>)>,
}

impl Registration {
    /// The registration the RP was given (its `use: sig` keys parsed once, here).
    pub fn from_environment(env: &OidcEnvironment) -> Registration {
        let sig_keys = env
            .rp_keys
            .iter()
            .filter(|k| k.use_ == "sig")
            .filter_map(|k| {
                let der = crate::pki::pem_der(&k.private_key_pem, "PRIVATE KEY")?;
                let pair = crate::pki::parsed::rsa_key_pair(&der).ok()?;
                Some((k.kid.clone(), pair.public_key().as_ref().to_vec()))
            })
            .collect();
        let b = env.broker.as_ref();
        Registration {
            client_id: env.client_id.clone(),
            issuer: env.issuer.clone(),
            authorization_endpoint: b
                .map(|b| b.authorization_endpoint.clone())
                .unwrap_or_default(),
            token_endpoint: b.map(|b| b.token_endpoint.clone()).unwrap_or_default(),
            redirect_uri: b.map(|b| b.redirect_uri.clone()).unwrap_or_default(),
            acr_values: b.map(|b| b.acr_values.clone()).unwrap_or_default(),
            front_channel_parameters: b
                .map(|b| b.front_channel_parameters.clone())
                .unwrap_or_default(),
            sig_keys,
        }
    }
}

/// What the RP sent in one login, raw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoginTrace {
    /// The authorization URL the harness carried to the broker.
    pub authorization_url: Option<String>,
    /// Unix seconds when the authorization request was carried.
    pub authorized_at: i64,
    /// The code the broker issued for this login (a replay: the replayed one).
    pub code: Option<String>,
    /// The access token the broker issued in this login.
    pub access_token: Option<String>,
    pub token_requests: Vec<TokenTrace>,
    /// The `Authorization` header of every userinfo request (`None`: absent).
    pub userinfo_authorizations: Vec<Option<String>>,
    /// A replayed callback: the login has no authorization request of its own.
    pub replay: bool,
}

/// One token request: its form (with `client_assertion`) and when it arrived (Unix seconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenTrace {
    pub form: BTreeMap<String, String>,
    pub at: i64,
}

/// The query parameters of a URL (first occurrence wins); empty if it does not parse.
pub fn query_parameters(url: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(u) = reqwest::Url::parse(url) {
        for (k, v) in u.query_pairs() {
            out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    out
}

/// A form body's parameters (first occurrence wins).
pub fn form_parameters(body: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// Header and claims of a compact JWS, whether or not it verifies.
pub fn decode_jwt(token: &str) -> Option<(Map<String, Value>, Map<String, Value>)> {
    let mut parts = token.split('.');
    let (h, p) = (parts.next()?, parts.next()?);
    let obj = |s: &str| -> Option<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        match serde_json::from_slice(&bytes).ok()? {
            Value::Object(m) => Some(m),
            _ => None,
        }
    };
    Some((obj(h)?, obj(p)?))
}

/// Whether a compact JWS is RS256, names an RP `use: sig` key, and verifies with it.
fn verify_rp_signature(token: &str, reg: &Registration) -> Result<String, String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(format!("not a compact JWS ({} parts)", parts.len()));
    }
    let (header, _) = decode_jwt(token).ok_or("header or payload is not base64url JSON")?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != "RS256" {
        return Err(format!("alg is `{alg}`, not RS256"));
    }
    let Some(kid) = header.get("kid").and_then(Value::as_str) else {
        return Err("no kid in the header".into());
    };
    let Some((_, key)) = reg.sig_keys.iter().find(|(k, _)| k == kid) else {
        return Err(format!("kid `{kid}` names no RP `use: sig` key"));
    };
    let sig = URL_SAFE_NO_PAD
        .decode(parts[2])
        .map_err(|_| "the signature is not base64url")?;
    let input = format!("{}.{}", parts[0], parts[1]);
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
        .verify(input.as_bytes(), &sig)
        .map(|()| format!("RS256 by `{kid}`, verifies"))
        .map_err(|_| format!("the RS256 signature does not verify with `{kid}`"))
}

/// At least 128 bits: 22 characters of the base64url alphabet.
const MIN_RANDOM_CHARS: usize = 22;

fn random_enough(name: &str, v: Option<&Value>, seen: &mut HashSet<String>) -> (bool, String) {
    let Some(v) = v else {
        return (false, format!("no `{name}`"));
    };
    let Some(s) = v.as_str() else {
        return (false, format!("`{name}` is {v}, not a string"));
    };
    let n = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .count();
    if n < MIN_RANDOM_CHARS {
        return (
            false,
            format!(
                "`{name}` has {n} base64url characters, fewer than {MIN_RANDOM_CHARS} (128 bits)"
            ),
        );
    }
    if !seen.insert(s.to_owned()) {
        return (
            false,
            format!("`{name}` `{s}` was already used in this vector"),
        );
    }
    (
        true,
        format!("`{name}` has {n} base64url characters, unique"),
    )
}

fn unique_jti(v: Option<&Value>, seen: &mut HashSet<String>) -> (bool, String) {
    match v {
        Some(Value::String(s)) if !s.is_empty() => {
            if seen.insert(s.clone()) {
                (true, format!("`jti` `{s}` unique"))
            } else {
                (
                    false,
                    format!("`jti` `{s}` was already used in this vector"),
                )
            }
        }
        Some(other) => (false, format!("`jti` is {other}")),
        None => (false, "no `jti`".into()),
    }
}

/// `exp` after `at` and at most 60 minutes ahead of it.
fn exp_window(v: Option<&Value>, at: i64) -> (bool, String) {
    let Some(exp) = v.and_then(Value::as_f64) else {
        return (
            false,
            format!("`exp` is {}", v.map_or("absent".into(), Value::to_string)),
        );
    };
    let ahead = exp - at as f64;
    if ahead <= 0.0 {
        (false, format!("`exp` is {}s in the past", -ahead))
    } else if ahead > 3600.0 {
        (
            false,
            format!("`exp` is {ahead}s ahead, more than 60 minutes"),
        )
    } else {
        (true, format!("`exp` is {ahead}s ahead"))
    }
}

fn equals(name: &str, v: Option<&Value>, want: &str) -> (bool, String) {
    match v {
        Some(Value::String(s)) if s == want => (true, format!("`{name}` is `{want}`")),
        Some(other) => (false, format!("`{name}` is {other}, expected `{want}`")),
        None => (false, format!("no `{name}`, expected `{want}`")),
    }
}

/// A single audience: the string, or an array holding only it.
fn audience(name: &str, v: Option<&Value>, want: &str) -> (bool, String) {
    match v {
        Some(Value::Array(a)) if a.len() == 1 && a[0].as_str() == Some(want) => {
            (true, format!("`{name}` is [`{want}`]"))
        }
        _ => equals(name, v, want),
    }
}

fn param_equals(form: &BTreeMap<String, String>, name: &str, want: &str) -> Result<(), String> {
    match form.get(name) {
        Some(v) if v == want => Ok(()),
        Some(v) => Err(format!("`{name}` is `{v}`, expected `{want}`")),
        None => Err(format!("no `{name}`")),
    }
}

/// Per login, per check id: the first failure wins over passes.
#[derive(Default)]
pub(crate) struct Tally {
    out: Vec<Check>,
}

impl Tally {
    pub(crate) fn into_checks(self) -> Vec<Check> {
        self.out
    }

    pub(crate) fn add(
        &mut self,
        id: CheckId,
        login: Option<usize>,
        (passed, detail): (bool, String),
    ) {
        let id = id.id();
        if let Some(c) = self.out.iter_mut().find(|c| c.id == id && c.login == login) {
            if c.passed && !passed {
                c.passed = false;
                c.detail = detail;
            }
            return;
        }
        self.out.push(Check {
            id: id.into(),
            login,
            passed,
            detail,
        });
    }
}

fn verdict(r: Result<String, String>) -> (bool, String) {
    match r {
        Ok(d) => (true, d),
        Err(d) => (false, d),
    }
}

/// Every request-side check whose input exists, login by login.
pub fn login_checks(reg: &Registration, logins: &[LoginTrace]) -> Vec<Check> {
    let mut t = Tally::default();
    let (mut states, mut nonces) = (HashSet::new(), HashSet::new());
    let (mut ro_jtis, mut ca_jtis) = (HashSet::new(), HashSet::new());
    for (i, l) in logins.iter().enumerate() {
        let n = Some(i + 1);
        let mut request_object: Option<Map<String, Value>> = None;
        let mut params = BTreeMap::new();
        if let (Some(url), false) = (&l.authorization_url, l.replay) {
            params = query_parameters(url);
            let base = url.split(['?', '#']).next().unwrap_or("");
            t.add(
                CheckId::AuthorizationEndpoint,
                n,
                if base == reg.authorization_endpoint {
                    (true, "the broker's authorization endpoint".into())
                } else {
                    (
                        false,
                        format!("`{base}`, not `{}`", reg.authorization_endpoint),
                    )
                },
            );
            let request = params.get("request");
            request_object = request.and_then(|r| decode_jwt(r)).map(|(_, c)| c);
            t.add(
                CheckId::AuthorizationParameters,
                n,
                front_channel(reg, &params, request_object.as_ref()),
            );
            t.add(
                CheckId::RequestObjectSigned,
                n,
                verdict(match request {
                    Some(r) => verify_rp_signature(r, reg),
                    None => Err("no `request` parameter".into()),
                }),
            );
        }
        if let Some(ro) = &request_object {
            let at = l.authorized_at;
            t.add(
                CheckId::RequestObjectIss,
                n,
                equals("iss", ro.get("iss"), &reg.client_id),
            );
            t.add(
                CheckId::RequestObjectAud,
                n,
                audience("aud", ro.get("aud"), &reg.issuer),
            );
            t.add(
                CheckId::RequestObjectClientId,
                n,
                equals("client_id", ro.get("client_id"), &reg.client_id),
            );
            t.add(
                CheckId::RequestObjectResponseType,
                n,
                equals("response_type", ro.get("response_type"), "code"),
            );
            let scope = ro.get("scope").and_then(Value::as_str);
            t.add(
                CheckId::RequestObjectScope,
                n,
                match scope {
                    Some(s) if s.split(' ').any(|x| x == "openid") => {
                        (true, format!("`scope` is `{s}`"))
                    }
                    _ => (
                        false,
                        format!("`scope` {:?} lacks `openid`", ro.get("scope")),
                    ),
                },
            );
            t.add(
                CheckId::RequestObjectRedirectUri,
                n,
                equals("redirect_uri", ro.get("redirect_uri"), &reg.redirect_uri),
            );
            t.add(
                CheckId::RequestObjectState,
                n,
                random_enough("state", ro.get("state"), &mut states),
            );
            t.add(
                CheckId::RequestObjectNonce,
                n,
                random_enough("nonce", ro.get("nonce"), &mut nonces),
            );
            t.add(
                CheckId::RequestObjectAcrValues,
                n,
                acr_values(reg, ro.get("acr_values")),
            );
            t.add(CheckId::RequestObjectExp, n, exp_window(ro.get("exp"), at));
            t.add(
                CheckId::RequestObjectJti,
                n,
                unique_jti(ro.get("jti"), &mut ro_jtis),
            );
            t.add(CheckId::PkceS256, n, pkce(ro, &params, &l.token_requests));
        }
        // The redirect_uri the token request must repeat: the one the login was started with.
        let redirect_uri = request_object
            .as_ref()
            .and_then(|ro| ro.get("redirect_uri"))
            .and_then(Value::as_str)
            .unwrap_or(&reg.redirect_uri);
        for tr in &l.token_requests {
            t.add(
                CheckId::TokenRequestParameters,
                n,
                verdict(token_parameters(reg, tr, l.code.as_deref(), redirect_uri)),
            );
            let Some(assertion) = tr.form.get("client_assertion") else {
                t.add(
                    CheckId::ClientAssertionSigned,
                    n,
                    (false, "no `client_assertion`".into()),
                );
                continue;
            };
            t.add(
                CheckId::ClientAssertionSigned,
                n,
                verdict(verify_rp_signature(assertion, reg)),
            );
            let Some((_, ca)) = decode_jwt(assertion) else {
                continue;
            };
            let iss = equals("iss", ca.get("iss"), &reg.client_id);
            let sub = equals("sub", ca.get("sub"), &reg.client_id);
            t.add(
                CheckId::ClientAssertionIssSub,
                n,
                (iss.0 && sub.0, format!("{}; {}", iss.1, sub.1)),
            );
            t.add(
                CheckId::ClientAssertionAud,
                n,
                audience("aud", ca.get("aud"), &reg.token_endpoint),
            );
            t.add(
                CheckId::ClientAssertionExp,
                n,
                exp_window(ca.get("exp"), tr.at),
            );
            t.add(
                CheckId::ClientAssertionJti,
                n,
                unique_jti(ca.get("jti"), &mut ca_jtis),
            );
        }
        for auth in &l.userinfo_authorizations {
            t.add(
                CheckId::UserinfoBearer,
                n,
                bearer(auth.as_deref(), l.access_token.as_deref()),
            );
        }
    }
    t.out
}

fn front_channel(
    reg: &Registration,
    params: &BTreeMap<String, String>,
    ro: Option<&Map<String, Value>>,
) -> (bool, String) {
    if !params.contains_key("request") {
        return (false, "no `request` parameter".into());
    }
    // OIDC Core §6.1: client_id, response_type and scope MUST also be sent with the OAuth 2.0
    // request syntax, so they are never a finding; what a broker asks for beyond them is listed.
    let allowed = |k: &str| {
        ["request", "client_id", "response_type", "scope"].contains(&k)
            || reg.front_channel_parameters.iter().any(|p| p == k)
    };
    let extra: Vec<&str> = params
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed(k))
        .collect();
    if !extra.is_empty() {
        return (false, format!("sent in the clear: {}", extra.join(", ")));
    }
    for p in &reg.front_channel_parameters {
        let Some(v) = params.get(p) else {
            return (
                false,
                format!("no `{p}`, which the broker expects in the clear"),
            );
        };
        if let Some(signed) = ro.and_then(|ro| ro.get(p.as_str()))
            && signed.as_str() != Some(v.as_str())
        {
            return (
                false,
                format!("`{p}` in the clear is `{v}`, signed {signed}"),
            );
        }
    }
    let names: Vec<&str> = params.keys().map(String::as_str).collect();
    (true, format!("only {}", names.join(", ")))
}

fn acr_values(reg: &Registration, v: Option<&Value>) -> (bool, String) {
    let Some(s) = v.and_then(Value::as_str) else {
        return (
            false,
            format!(
                "`acr_values` is {}",
                v.map_or("absent".into(), Value::to_string)
            ),
        );
    };
    let sent: std::collections::BTreeSet<&str> = s.split(' ').filter(|x| !x.is_empty()).collect();
    let want: std::collections::BTreeSet<&str> =
        reg.acr_values.iter().map(String::as_str).collect();
    if sent == want {
        (true, format!("`acr_values` is `{s}`"))
    } else {
        (
            false,
            format!(
                "`acr_values` is `{s}`, expected `{}`",
                reg.acr_values.join(" ")
            ),
        )
    }
}

fn pkce(
    ro: &Map<String, Value>,
    params: &BTreeMap<String, String>,
    token_requests: &[TokenTrace],
) -> (bool, String) {
    let get = |k: &str| {
        ro.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| params.get(k).cloned())
    };
    let Some(challenge) = get("code_challenge") else {
        return (true, "no `code_challenge` (PKCE not used)".into());
    };
    let method = get("code_challenge_method");
    if method.as_deref() != Some("S256") {
        return (
            false,
            format!(
                "`code_challenge_method` is {}, not S256",
                method.map_or("absent (plain)".into(), |m| format!("`{m}`"))
            ),
        );
    }
    for tr in token_requests {
        let Some(verifier) = tr.form.get("code_verifier") else {
            return (false, "the token request has no `code_verifier`".into());
        };
        if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
            return (
                false,
                "`code_verifier` does not hash to the `code_challenge`".into(),
            );
        }
    }
    (true, "S256, and the verifier matches".into())
}

fn token_parameters(
    reg: &Registration,
    tr: &TokenTrace,
    code: Option<&str>,
    redirect_uri: &str,
) -> Result<String, String> {
    let f = &tr.form;
    param_equals(f, "grant_type", "authorization_code")?;
    match (f.get("code"), code) {
        (None, _) => return Err("no `code`".into()),
        (Some(got), Some(issued)) if got != issued => {
            return Err(format!(
                "`code` is not the issued one verbatim ({} characters sent, {} issued)",
                got.chars().count(),
                issued.chars().count()
            ));
        }
        _ => {}
    }
    param_equals(f, "redirect_uri", redirect_uri)?;
    param_equals(
        f,
        "client_assertion_type",
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    )?;
    if let Some(id) = f.get("client_id")
        && id != &reg.client_id
    {
        return Err(format!("`client_id` is `{id}`"));
    }
    if !f.contains_key("client_assertion") {
        return Err("no `client_assertion`".into());
    }
    Ok("authorization_code, the code verbatim, the same redirect_uri, jwt-bearer".into())
}

fn bearer(auth: Option<&str>, issued: Option<&str>) -> (bool, String) {
    let Some(auth) = auth else {
        return (false, "no `Authorization` header".into());
    };
    let Some((scheme, token)) = auth.split_once(' ') else {
        return (false, "`Authorization` is not `Bearer <token>`".into());
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return (false, format!("`Authorization` scheme is `{scheme}`"));
    }
    match issued {
        Some(t) if t == token.trim() => (true, "Bearer with this login's access token".into()),
        Some(_) => (
            false,
            "a Bearer token other than this login's access token".into(),
        ),
        None => (false, "no access token was issued in this login".into()),
    }
}

/// Members that only private (or symmetric) JWKs have.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The `jwks.*` checks over a published JWKS (`None`: nothing was published).
pub fn jwks_checks(jwks: Option<&Value>) -> Vec<Check> {
    let ids = [
        CheckId::JwksPublicOnly,
        CheckId::JwksKeySize,
        CheckId::JwksUseSeparation,
        CheckId::JwksKid,
    ];
    let keys = jwks.and_then(|j| j.get("keys")).and_then(Value::as_array);
    let Some(keys) = keys.filter(|k| !k.is_empty()) else {
        let detail = match jwks {
            None => "no JWKS was published".to_owned(),
            Some(_) => "not a JWKS with keys".to_owned(),
        };
        return ids
            .iter()
            .map(|id| Check {
                id: id.id().into(),
                login: None,
                passed: false,
                detail: detail.clone(),
            })
            .collect();
    };
    let kid_of = |k: &Value| {
        k.get("kid").map_or("(no kid)".to_owned(), |v| {
            v.as_str().map_or(v.to_string(), str::to_owned)
        })
    };
    let mut out = Vec::new();
    let mut push = |id: CheckId, (passed, detail): (bool, String)| {
        out.push(Check {
            id: id.id().into(),
            login: None,
            passed,
            detail,
        })
    };

    let private: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            let m: Vec<&str> = PRIVATE_MEMBERS
                .iter()
                .copied()
                .filter(|p| k.get(p).is_some())
                .collect();
            (!m.is_empty()).then(|| format!("`{}` has {}", kid_of(k), m.join(", ")))
        })
        .collect();
    push(
        CheckId::JwksPublicOnly,
        if private.is_empty() {
            (true, format!("{} public keys", keys.len()))
        } else {
            (false, private.join("; "))
        },
    );

    let mut small = Vec::new();
    for k in keys
        .iter()
        .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
    {
        let bits = k
            .get("n")
            .and_then(Value::as_str)
            .and_then(|n| URL_SAFE_NO_PAD.decode(n).ok())
            .map_or(0, |n| modulus_bits(&n));
        if bits < 2048 {
            small.push(format!("`{}` has {bits} bits", kid_of(k)));
        }
    }
    push(
        CheckId::JwksKeySize,
        if small.is_empty() {
            (true, "every RSA key has at least 2048 bits".into())
        } else {
            (false, small.join("; "))
        },
    );

    push(CheckId::JwksUseSeparation, use_separation(keys, &kid_of));

    let mut kids = HashSet::new();
    let mut bad = Vec::new();
    for k in keys {
        match k.get("kid").and_then(Value::as_str) {
            Some(s) if !s.is_empty() => {
                if !kids.insert(s) {
                    bad.push(format!("`{s}` is not unique"));
                }
            }
            _ => bad.push(format!(
                "a key has kid {}",
                k.get("kid").map_or("absent".into(), Value::to_string)
            )),
        }
    }
    push(
        CheckId::JwksKid,
        if bad.is_empty() {
            (true, "every key has a unique kid".into())
        } else {
            (false, bad.join("; "))
        },
    );
    out
}

/// The JWKS URL fetch the harness made for `rp.keys`: the document, or why there is none.
pub type FetchedJwks = Result<Value, String>;

/// The checks over what `rp.keys` published. `asked`: the form the vector asked for; `jwks` and
/// `public_keys`: the accepted outcome's members; `fetched`: the JWKS URL's document. A single
/// JWK or PEM registers one key for one purpose, so `jwks.use_separation` and `jwks.kid` apply
/// to JWK Sets only.
pub fn published_keys_checks(
    asked: Option<PublicKeyForm>,
    jwks: Option<&Value>,
    public_keys: Option<&PublicKeys>,
    fetched: Option<&FetchedJwks>,
) -> Vec<Check> {
    let check = |id: CheckId, passed: bool, detail: String| Check {
        id: id.id().into(),
        login: None,
        passed,
        detail,
    };
    // As before the forms existed: a bare `jwks`, no form asked.
    let Some(keys) = public_keys else {
        let mut out = jwks_checks(jwks);
        if asked.is_some_and(|f| f != PublicKeyForm::Jwks) {
            out.push(check(
                CheckId::RpKeysForm,
                false,
                format!(
                    "{} was asked for; the RP published a JWKS",
                    form_name(asked)
                ),
            ));
        }
        return out;
    };
    let mut out = Vec::new();
    let form = keys.form();
    let mut form_problems = Vec::new();
    if jwks.is_some() {
        form_problems.push("both `jwks` and `public_keys` were published".to_owned());
    }
    if let Some(a) = asked
        && a != form
    {
        form_problems.push(format!(
            "{} was asked for; the RP published {}",
            form_name(Some(a)),
            form_name(Some(form))
        ));
    }
    let single_key = |set: Value| {
        jwks_checks(Some(&set))
            .into_iter()
            .filter(|c| c.id == CheckId::JwksPublicOnly.id() || c.id == CheckId::JwksKeySize.id())
            .collect::<Vec<_>>()
    };
    match keys {
        PublicKeys::Pem { pem } => {
            let blocks = pem_blocks(pem);
            if blocks.is_empty() {
                form_problems.push("no PEM block".into());
            }
            let mut not_spki = Vec::new();
            let mut set = Vec::new();
            for (i, (label, der)) in blocks.iter().enumerate() {
                let n = i + 1;
                match (label.as_str(), rsa_public_of(label, der)) {
                    ("PUBLIC KEY", Some(jwk)) => set.push(jwk),
                    (l, Some(jwk)) => {
                        not_spki.push(format!("block {n} is `{l}`"));
                        set.push(jwk);
                    }
                    (l, None) if l.contains("PRIVATE KEY") => {
                        not_spki.push(format!("block {n} is a private key (`{l}`)"));
                        // Its public half, marked private for `jwks.public_only`.
                        let mut jwk = RsaKeyPair::from_pkcs8(der)
                            .ok()
                            .and_then(|k| rsa_public_of("RSA PUBLIC KEY", k.public_key().as_ref()))
                            .unwrap_or_else(|| serde_json::json!({"kty": "RSA"}));
                        jwk["kid"] = format!("PEM block {n}").into();
                        jwk["d"] = "(private)".into();
                        set.push(jwk);
                    }
                    (l, None) => {
                        not_spki.push(format!("block {n} (`{l}`) is not an RSA public key"))
                    }
                }
            }
            out.push(check(
                CheckId::RpKeysPemSpki,
                not_spki.is_empty() && !blocks.is_empty(),
                if not_spki.is_empty() {
                    format!("{} SubjectPublicKeyInfo block(s)", blocks.len())
                } else {
                    not_spki.join("; ")
                },
            ));
            if !set.is_empty() {
                out.extend(single_key(serde_json::json!({ "keys": set })));
            }
        }
        PublicKeys::Jwk { jwk } => {
            if !jwk.is_object() || jwk.get("kty").is_none() || jwk.get("keys").is_some() {
                form_problems.push("`jwk` is not one JWK object with `kty`".into());
            } else {
                out.extend(single_key(serde_json::json!({ "keys": [jwk] })));
            }
        }
        PublicKeys::Jwks { jwks } => out.extend(jwks_checks(Some(jwks))),
        PublicKeys::JwksUri { jwks_uri } => {
            let (passed, detail) = match fetched {
                Some(Ok(doc)) => {
                    out.extend(jwks_checks(Some(doc)));
                    (true, format!("fetched a JWK Set from {jwks_uri}"))
                }
                Some(Err(e)) => (false, e.clone()),
                None => (false, format!("{jwks_uri} was not fetched")),
            };
            out.push(check(CheckId::RpKeysJwksUri, passed, detail));
        }
    }
    out.insert(
        0,
        check(
            CheckId::RpKeysForm,
            form_problems.is_empty(),
            if form_problems.is_empty() {
                format!("published {}", form_name(Some(form)))
            } else {
                form_problems.join("; ")
            },
        ),
    );
    out
}

fn form_name(f: Option<PublicKeyForm>) -> &'static str {
    match f {
        Some(PublicKeyForm::Pem) => "PEM",
        Some(PublicKeyForm::Jwk) => "a JWK",
        Some(PublicKeyForm::Jwks) => "a JWKS",
        Some(PublicKeyForm::JwksUri) => "a JWKS URL",
        None => "any form",
    }
}

/// Every `-----BEGIN X-----` block of `pem`: its label and Base64-decoded contents (blocks that
/// do not decode are left out).
fn pem_blocks(pem: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(end_label) = after.find("-----") else {
            break;
        };
        let label = &after[..end_label];
        let body = &after[end_label + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body.find(&end_marker) else {
            break;
        };
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64) {
            out.push((label.to_owned(), der));
        }
        rest = &body[end + end_marker.len()..];
    }
    out
}

/// The public JWK of an RSA `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1) block.
fn rsa_public_of(label: &str, der: &[u8]) -> Option<Value> {
    use x509_parser::prelude::FromDer;
    let rsa_jwk = |n: &[u8], e: &[u8]| {
        let strip = |b: &[u8]| b[b.iter().position(|x| *x != 0).unwrap_or(b.len())..].to_vec();
        serde_json::json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(strip(n)), "e": URL_SAFE_NO_PAD.encode(strip(e))})
    };
    match label {
        "PUBLIC KEY" => {
            let (rest, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der).ok()?;
            if !rest.is_empty() {
                return None;
            }
            match spki.parsed().ok()? {
                x509_parser::public_key::PublicKey::RSA(r) => Some(rsa_jwk(r.modulus, r.exponent)),
                _ => None,
            }
        }
        "RSA PUBLIC KEY" => {
            let r = x509_parser::public_key::RSAPublicKey::from_der(der).ok()?.1;
            Some(rsa_jwk(r.modulus, r.exponent))
        }
        _ => None,
    }
}

fn use_separation(keys: &[Value], kid_of: &dyn Fn(&Value) -> String) -> (bool, String) {
    let mut uses: BTreeMap<String, HashSet<&str>> = BTreeMap::new();
    let (mut sig, mut enc) = (false, false);
    for k in keys {
        let u = k.get("use").and_then(Value::as_str);
        match u {
            Some("sig") => sig = true,
            Some("enc") => enc = true,
            _ => {
                return (
                    false,
                    format!("`{}` has use {u:?}, not sig or enc", kid_of(k)),
                );
            }
        }
        let material = k
            .get("n")
            .or_else(|| k.get("x"))
            .map_or_else(|| kid_of(k), Value::to_string);
        uses.entry(material).or_default().insert(u.unwrap_or(""));
    }
    if !(sig && enc) {
        return (
            false,
            format!("no `use: {}` key", if sig { "enc" } else { "sig" }),
        );
    }
    if uses.values().any(|u| u.len() > 1) {
        return (
            false,
            "the same key material is published for sig and enc".into(),
        );
    }
    (true, "separate sig and enc keys".into())
}

fn modulus_bits(n: &[u8]) -> usize {
    let i = n.iter().position(|b| *b != 0).unwrap_or(n.len());
    match n.get(i) {
        Some(first) => (n.len() - i) * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_name_checks() {
        assert!(known("request_object.*"));
        assert!(known("jwks.key_size"));
        assert!(!known("request_object.nonse"));
        assert!(matches("*.jti", "client_assertion.jti"));
        assert!(!matches("request_object.*", "client_assertion.jti"));
    }

    mod flows {
        use super::super::*;
        use crate::forge::jws::{SigAlg, b64u, sign};
        use crate::pki::Pki;
        use serde_json::json;

        const CLIENT: &str = "client-1";
        const ISSUER: &str = "https://127.0.0.1:1/abc";
        const AUTHZ: &str = "https://127.0.0.1:1/abc/oauth2/authorize";
        const TOKEN: &str = "https://127.0.0.1:1/abc/oauth2/token";
        const REDIRECT: &str = "https://rp.eidconf.test/callback";
        const ACR: &str = "http://ftn.ficora.fi/2017/loa2";
        const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

        fn pki() -> Pki {
            Pki::load(&crate::default_corpus_root().join("vectors/keys")).expect("keys")
        }

        fn jws(pki: &Pki, key: &str, claims: &Map<String, Value>) -> String {
            let h = b64u(
                json!({"alg": "RS256", "kid": "ftn-rp-sig"})
                    .to_string()
                    .as_bytes(),
            );
            let p = b64u(Value::Object(claims.clone()).to_string().as_bytes());
            let input = format!("{h}.{p}");
            let sig = sign(pki, key, SigAlg::RS256, input.as_bytes()).unwrap();
            format!("{input}.{}", b64u(&sig))
        }

        fn registration(pki: &Pki) -> Registration {
            let der = crate::forge::jws::PublicKey::of(pki, "ftn-rp-sig")
                .unwrap()
                .pkcs1_der()
                .to_vec();
            Registration {
                client_id: CLIENT.into(),
                issuer: ISSUER.into(),
                authorization_endpoint: AUTHZ.into(),
                token_endpoint: TOKEN.into(),
                redirect_uri: REDIRECT.into(),
                acr_values: vec![ACR.into()],
                front_channel_parameters: vec!["client_id".into()],
                sig_keys: vec![("ftn-rp-sig".into(), der)],
            }
        }

        fn obj(v: Value) -> Map<String, Value> {
            match v {
                Value::Object(m) => m,
                _ => Map::new(),
            }
        }

        /// A conformant login, to be spoiled one member at a time.
        struct Case {
            url_base: String,
            extra: Vec<(String, String)>,
            ro: Map<String, Value>,
            ro_key: &'static str,
            form: BTreeMap<String, String>,
            ca: Map<String, Value>,
            ca_key: &'static str,
            userinfo: Option<String>,
        }

        impl Case {
            fn good(n: usize) -> Case {
                let at = 1_000_000;
                let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", "the-code"),
                    ("redirect_uri", REDIRECT),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("code_verifier", VERIFIER),
                ];
                Case {
                    url_base: AUTHZ.into(),
                    extra: vec![("client_id".into(), CLIENT.into())],
                    ro: obj(json!({
                        "iss": CLIENT, "aud": ISSUER, "client_id": CLIENT,
                        "response_type": "code", "scope": "openid profile",
                        "redirect_uri": REDIRECT,
                        "state": format!("state-{n}-abcdefghijklmnopqrstuvwxyz"),
                        "nonce": format!("nonce-{n}-abcdefghijklmnopqrstuvwxyz"),
                        "acr_values": ACR, "exp": at + 600, "jti": format!("ro-{n}"),
                        "code_challenge": challenge, "code_challenge_method": "S256",
                    })),
                    ro_key: "ftn-rp-sig",
                    form: form
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    ca: obj(json!({
                        "iss": CLIENT, "sub": CLIENT, "aud": TOKEN, "exp": at + 300,
                        "jti": format!("ca-{n}"),
                    })),
                    ca_key: "ftn-rp-sig",
                    userinfo: Some("Bearer the-access-token".into()),
                }
            }

            fn trace(&self, pki: &Pki) -> LoginTrace {
                let mut url = reqwest::Url::parse(&self.url_base).unwrap();
                url.query_pairs_mut()
                    .append_pair("request", &jws(pki, self.ro_key, &self.ro));
                for (k, v) in &self.extra {
                    url.query_pairs_mut().append_pair(k, v);
                }
                let mut form = self.form.clone();
                form.insert("client_assertion".into(), jws(pki, self.ca_key, &self.ca));
                LoginTrace {
                    authorization_url: Some(url.to_string()),
                    authorized_at: 1_000_000,
                    code: Some("the-code".into()),
                    access_token: Some("the-access-token".into()),
                    token_requests: vec![TokenTrace {
                        form,
                        at: 1_000_000,
                    }],
                    userinfo_authorizations: vec![self.userinfo.clone()],
                    replay: false,
                }
            }
        }

        fn run(pki: &Pki, cases: &[Case]) -> Vec<Check> {
            let traces: Vec<LoginTrace> = cases.iter().map(|c| c.trace(pki)).collect();
            login_checks(&registration(pki), &traces)
        }

        fn set(m: &mut Map<String, Value>, k: &str, v: Value) {
            if v.is_null() {
                m.remove(k);
            } else {
                m.insert(k.into(), v);
            }
        }

        #[test]
        fn a_conformant_login_passes_every_login_check() {
            let pki = pki();
            let checks = run(&pki, &[Case::good(1), Case::good(2)]);
            let failed: Vec<_> = checks.iter().filter(|c| !c.passed).collect();
            assert!(failed.is_empty(), "{failed:#?}");
            let login_checks = CATALOGUE.iter().filter(|(id, _)| {
                !id.starts_with("jwks.") && !id.starts_with("rp_keys.") && !id.starts_with("freja.")
            });
            for (id, _) in login_checks {
                for login in [1, 2] {
                    assert!(
                        checks.iter().any(|c| c.id == *id && c.login == Some(login)),
                        "{id} not made on login {login}"
                    );
                }
            }
        }

        #[test]
        fn each_login_check_fails_on_its_fault() {
            type Spoil = fn(&mut Case);
            let cases: &[(&str, Spoil)] = &[
                ("authorization.endpoint", |c| {
                    c.url_base = "https://127.0.0.1:1/other".into()
                }),
                ("authorization.parameters", |c| {
                    c.extra.push(("login_hint".into(), "131052-308T".into()))
                }),
                ("authorization.parameters", |c| c.extra.clear()),
                ("authorization.parameters", |c| {
                    c.extra[0].1 = "other".into()
                }),
                ("request_object.signed", |c| c.ro_key = "ftn-rp-enc-1"),
                ("request_object.iss", |c| set(&mut c.ro, "iss", json!("x"))),
                ("request_object.aud", |c| {
                    set(&mut c.ro, "aud", json!("https://x/"))
                }),
                ("request_object.aud", |c| {
                    set(&mut c.ro, "aud", json!([ISSUER, "x"]))
                }),
                ("request_object.client_id", |c| {
                    set(&mut c.ro, "client_id", Value::Null)
                }),
                ("request_object.response_type", |c| {
                    set(&mut c.ro, "response_type", json!("token"))
                }),
                ("request_object.scope", |c| {
                    set(&mut c.ro, "scope", json!("profile"))
                }),
                ("request_object.redirect_uri", |c| {
                    set(&mut c.ro, "redirect_uri", json!("https://rp.eidconf.test/"))
                }),
                ("request_object.state", |c| {
                    set(&mut c.ro, "state", json!("short-state"))
                }),
                ("request_object.state", |c| {
                    set(&mut c.ro, "state", Value::Null)
                }),
                ("request_object.nonce", |c| {
                    set(&mut c.ro, "nonce", Value::Null)
                }),
                ("request_object.nonce", |c| {
                    set(
                        &mut c.ro,
                        "nonce",
                        json!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"),
                    )
                }),
                ("request_object.acr_values", |c| {
                    set(
                        &mut c.ro,
                        "acr_values",
                        json!("http://ftn.ficora.fi/2017/loatest2"),
                    )
                }),
                ("request_object.exp", |c| {
                    set(&mut c.ro, "exp", json!(1_000_000 + 7200))
                }),
                ("request_object.exp", |c| {
                    set(&mut c.ro, "exp", json!(1_000_000 - 1))
                }),
                ("request_object.jti", |c| set(&mut c.ro, "jti", Value::Null)),
                ("pkce.s256", |c| {
                    set(&mut c.ro, "code_challenge_method", json!("plain"))
                }),
                ("pkce.s256", |c| {
                    set(&mut c.ro, "code_challenge_method", Value::Null)
                }),
                ("pkce.s256", |c| {
                    c.form.insert("code_verifier".into(), "wrong".into());
                }),
                ("token_request.parameters", |c| {
                    c.form.insert("grant_type".into(), "password".into());
                }),
                ("token_request.parameters", |c| {
                    c.form.insert("code".into(), "the-cod".into());
                }),
                ("token_request.parameters", |c| {
                    c.form.insert("redirect_uri".into(), "https://x/".into());
                }),
                ("token_request.parameters", |c| {
                    c.form.remove("client_assertion_type");
                }),
                ("client_assertion.signed", |c| c.ca_key = "ftn-broker-sig-1"),
                ("client_assertion.iss_sub", |c| {
                    set(&mut c.ca, "sub", json!("x"))
                }),
                ("client_assertion.aud", |c| {
                    set(&mut c.ca, "aud", json!(ISSUER))
                }),
                ("client_assertion.exp", |c| {
                    set(&mut c.ca, "exp", json!(1_000_000 - 10))
                }),
                ("client_assertion.exp", |c| {
                    set(&mut c.ca, "exp", json!(1_000_000 + 3601))
                }),
                ("client_assertion.jti", |c| set(&mut c.ca, "jti", json!(""))),
                ("userinfo.bearer", |c| {
                    c.userinfo = Some("Bearer other".into())
                }),
                ("userinfo.bearer", |c| c.userinfo = None),
                ("userinfo.bearer", |c| {
                    c.userinfo = Some("Basic the-access-token".into())
                }),
            ];
            let pki = pki();
            for (id, spoil) in cases {
                let mut case = Case::good(1);
                spoil(&mut case);
                let checks = run(&pki, &[case]);
                let c = checks
                    .iter()
                    .find(|c| c.id == *id)
                    .unwrap_or_else(|| panic!("{id} not made"));
                assert!(!c.passed, "{id} passed: {}", c.detail);
                let others: Vec<_> = checks.iter().filter(|o| !o.passed && o.id != *id).collect();
                // Only a check that reads the same member may fail with it: the token request
                // repeats the request object's redirect_uri.
                let related = |o: &str| {
                    *id == "request_object.redirect_uri" && o == "token_request.parameters"
                };
                assert!(others.iter().all(|o| related(&o.id)), "{id}: {others:#?}");
            }
        }

        #[test]
        fn values_must_be_unique_across_the_vectors_logins() {
            let pki = pki();
            let first = Case::good(1);
            let mut second = Case::good(2);
            for k in ["state", "nonce", "jti"] {
                set(&mut second.ro, k, first.ro[k].clone());
            }
            set(&mut second.ca, "jti", first.ca["jti"].clone());
            let checks = run(&pki, &[first, second]);
            for id in [
                "request_object.state",
                "request_object.nonce",
                "request_object.jti",
                "client_assertion.jti",
            ] {
                let on = |n| {
                    checks
                        .iter()
                        .find(|c| c.id == id && c.login == Some(n))
                        .unwrap()
                };
                assert!(on(1).passed, "{id}");
                assert!(
                    !on(2).passed && on(2).detail.contains("already used"),
                    "{id}"
                );
            }
        }

        #[test]
        fn a_replayed_login_is_held_only_to_its_token_requests() {
            let pki = pki();
            let mut replay = Case::good(2).trace(&pki);
            replay.replay = true;
            let checks = login_checks(&registration(&pki), &[Case::good(1).trace(&pki), replay]);
            assert!(
                !checks
                    .iter()
                    .any(|c| c.login == Some(2) && c.id.starts_with("request_object"))
            );
            assert!(
                checks
                    .iter()
                    .any(|c| c.login == Some(2) && c.id == "token_request.parameters")
            );
        }

        #[test]
        fn garbage_is_a_failed_check_not_a_panic() {
            let pki = pki();
            let reg = registration(&pki);
            for url in [
                "",
                "::",
                "https://127.0.0.1:1/abc/oauth2/authorize?request=a.b.c",
                "x?request=%FF%FE",
            ] {
                let t = LoginTrace {
                    authorization_url: Some(url.into()),
                    token_requests: vec![TokenTrace {
                        form: [("client_assertion".to_owned(), "....".to_owned())].into(),
                        at: 0,
                    }],
                    ..LoginTrace::default()
                };
                let checks = login_checks(&reg, &[t]);
                assert!(
                    checks
                        .iter()
                        .any(|c| c.id == "request_object.signed" && !c.passed)
                );
                assert!(
                    checks
                        .iter()
                        .any(|c| c.id == "client_assertion.signed" && !c.passed)
                );
            }
        }

        fn jwk(pki: &Pki, name: &str, use_: &str) -> Value {
            crate::forge::id_token::public_jwk(pki.get(name).unwrap(), use_).unwrap()
        }

        #[test]
        fn each_jwks_check_passes_and_fails() {
            let pki = pki();
            let good =
                json!({"keys": [jwk(&pki, "ftn-rp-sig", "sig"), jwk(&pki, "ftn-rp-enc-1", "enc")]});
            let checks = jwks_checks(Some(&good));
            assert_eq!(checks.len(), 4);
            assert!(checks.iter().all(|c| c.passed), "{checks:#?}");

            type Spoil = fn(&mut Value, &Pki);
            let cases: &[(&str, Spoil)] = &[
                ("jwks.public_only", |j, _| j["keys"][0]["d"] = json!("AQAB")),
                ("jwks.public_only", |j, _| {
                    j["keys"][1]["k"] = json!("c2VjcmV0")
                }),
                ("jwks.key_size", |j, _| {
                    j["keys"][0]["n"] = json!(b64u(&[0xff; 128]))
                }),
                ("jwks.use_separation", |j, _| {
                    j["keys"][1].as_object_mut().unwrap().remove("use");
                }),
                ("jwks.use_separation", |j, _| {
                    j["keys"][1]["use"] = json!("sig")
                }),
                ("jwks.use_separation", |j, p| {
                    j["keys"][1] = jwk(p, "ftn-rp-sig", "enc");
                    j["keys"][1]["kid"] = json!("other");
                }),
                ("jwks.kid", |j, _| j["keys"][1]["kid"] = json!("ftn-rp-sig")),
                ("jwks.kid", |j, _| {
                    j["keys"][0].as_object_mut().unwrap().remove("kid");
                }),
            ];
            for (id, spoil) in cases {
                let mut j = good.clone();
                spoil(&mut j, &pki);
                let checks = jwks_checks(Some(&j));
                let c = checks.iter().find(|c| c.id == *id).unwrap();
                assert!(!c.passed, "{id} passed on {j}");
            }
            for nothing in [None, Some(&json!({})), Some(&json!({"keys": []}))] {
                assert!(jwks_checks(nothing).iter().all(|c| !c.passed));
            }
        }

        /// The example key of the Nets E-Ident notice ("Public Key Format"): no `kid`, no `use`.
        const NETS_EXAMPLE_N: &str = "32frjzf3sUdKfHrwKWw56Kj1YXdQcQ-2BX4L5ZYFx1QztRcrQiz57yOtBBIsNCLmbLC0Gu-2dlKG4_FJVBcRIOgXD-LQW2IUnV0AFR2N8EVlbilQvkKSA0FAAb-0D-v8Y6xcjlu5QJOLtOEY09cAG3CseylRvNwnBJYwoainl7BEPAWjAAZ4FQV1PYrVFG7-YeyE33DH0FXG4VWOCvvCb537PZwbisTkXfDslJZg-v-KTyPCQUt7ZUwKJ3b-WoxdEhKOaI3Dt_A_N3oQhZrX-miH7MclhmOzNhayYCghyUks7CdPgy1fdRvhziFkwJ3chh3jhkJ4KEBnj0uVCrfSXw";

        fn failed(checks: &[Check]) -> Vec<&str> {
            checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.id.as_str())
                .collect()
        }

        #[test]
        fn the_nets_example_jwk_and_pem_of_it_pass_every_check() {
            let example = json!({"kty": "RSA", "n": NETS_EXAMPLE_N, "e": "AQAB"});
            let keys = PublicKeys::Jwk {
                jwk: example.clone(),
            };
            let checks = published_keys_checks(Some(PublicKeyForm::Jwk), None, Some(&keys), None);
            let ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
            assert_eq!(ids, ["rp_keys.form", "jwks.public_only", "jwks.key_size"]);
            assert!(failed(&checks).is_empty(), "{checks:#?}");

            // The same key as SubjectPublicKeyInfo PEM parses back to the same JWK.
            let n = URL_SAFE_NO_PAD.decode(NETS_EXAMPLE_N).unwrap();
            assert_eq!(modulus_bits(&n), 2048);
            let pki = pki();
            let spki = crate::forge::jws::PublicKey::of(&pki, "ftn-rp-enc-1").unwrap();
            let pem = |label: &str, der: &[u8]| {
                let b64 = base64::engine::general_purpose::STANDARD.encode(der);
                format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n")
            };
            let pem_checks = |text: String| {
                published_keys_checks(
                    Some(PublicKeyForm::Pem),
                    None,
                    Some(&PublicKeys::Pem { pem: text }),
                    None,
                )
            };
            let spki_pem = pem("PUBLIC KEY", spki.spki_der());
            assert!(failed(&pem_checks(spki_pem.clone())).is_empty());
            assert_eq!(
                rsa_public_of("PUBLIC KEY", spki.spki_der()).unwrap()["n"],
                json!(b64u(spki.modulus()))
            );
            assert_eq!(
                failed(&pem_checks(pem("RSA PUBLIC KEY", spki.pkcs1_der()))),
                ["rp_keys.pem_spki"]
            );
            let private = pki.get("ftn-rp-enc-1").unwrap().key_pem.clone();
            assert_eq!(
                failed(&pem_checks(private)),
                ["rp_keys.pem_spki", "jwks.public_only"]
            );
            assert_eq!(
                failed(&pem_checks("no PEM here".into())),
                ["rp_keys.form", "rp_keys.pem_spki"]
            );

            // Another form than the one asked for, or two forms at once.
            let asked_pem =
                published_keys_checks(Some(PublicKeyForm::Pem), None, Some(&keys), None);
            assert!(failed(&asked_pem).contains(&"rp_keys.form"));
            let both = published_keys_checks(None, Some(&json!({"keys": []})), Some(&keys), None);
            assert!(failed(&both).contains(&"rp_keys.form"));
            let legacy = published_keys_checks(
                Some(PublicKeyForm::Jwk),
                Some(&json!({"keys": [example]})),
                None,
                None,
            );
            assert!(failed(&legacy).contains(&"rp_keys.form"));
            // A JWKS where one JWK was asked for.
            let set = PublicKeys::Jwk {
                jwk: json!({"keys": []}),
            };
            let c = published_keys_checks(Some(PublicKeyForm::Jwk), None, Some(&set), None);
            assert_eq!(failed(&c), ["rp_keys.form"]);
            // A JWKS URL that was not fetched.
            let uri = PublicKeys::JwksUri {
                jwks_uri: "https://rp.example/jwks".into(),
            };
            let refused: FetchedJwks = Err("not loopback".into());
            let c = published_keys_checks(
                Some(PublicKeyForm::JwksUri),
                None,
                Some(&uri),
                Some(&refused),
            );
            assert_eq!(failed(&c), ["rp_keys.jwks_uri"]);
        }

        #[test]
        fn modulus_bits_ignores_leading_zeros() {
            assert_eq!(modulus_bits(&[0, 0x80, 0]), 16);
            assert_eq!(modulus_bits(&[0x01, 0]), 9);
            assert_eq!(modulus_bits(&[]), 0);
        }
    }

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<_> = CATALOGUE.iter().map(|(id, _)| *id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CATALOGUE.len());
    }
}
