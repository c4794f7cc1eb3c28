//! The broker's HTTP endpoints behind the TLS front: discovery, token, JWKS and userinfo.
//! `Respond` is synchronous and called one request at a time: in-memory work only (an RSA
//! signature and a CEK wrap at most).

use std::sync::{Arc, OnceLock};

use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use super::{Core, State, now, random_code};
use crate::forge::mutation::canary_document;
use crate::provider::checks::{TokenTrace, decode_jwt, form_parameters};
use crate::provider::exchange::{Reply, Request, Respond};
use crate::provider::freja::with_headers_delay_and_fault;
use crate::provider::lock;
use crate::vector::model::{BodySpec, BrokerEndpoint, ResponseSpec};

const SERVED: &[BrokerEndpoint] = &[
    BrokerEndpoint::BrokerDiscovery,
    BrokerEndpoint::BrokerToken,
    BrokerEndpoint::BrokerJwks,
    BrokerEndpoint::BrokerUserinfo,
];

pub(crate) struct Responder {
    /// Set once the port (and so the issuer) is known, before any URL is handed out.
    core: Arc<OnceLock<Arc<Core>>>,
}

/// A body and its content type.
type Body = (&'static str, Vec<u8>);

impl Responder {
    pub(crate) fn new(core: Arc<OnceLock<Arc<Core>>>) -> Responder {
        Responder { core }
    }
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> Reply {
        let Some(core) = self.core.get() else {
            return Reply::new(StatusCode::SERVICE_UNAVAILABLE);
        };
        let path = req.url.path();
        if let Some(doc) = canary_path(core, path) {
            // The attacker's key documents: served so a fetching RP gets usable keys, counted.
            let mut st = lock(&core.state);
            let found = (req.method == hyper::Method::GET)
                .then(|| canary_document(&core.ctx.pki, doc))
                .flatten();
            let (reply, status) = match found {
                Some((ctype, body)) => (Reply::body(StatusCode::OK, ctype, body), 200),
                None => (Reply::new(StatusCode::NOT_FOUND), 404),
            };
            st.record(
                BrokerEndpoint::BrokerCanary,
                req.method.as_str(),
                path,
                status,
            );
            return reply;
        }
        let Some(ep) = SERVED
            .iter()
            .copied()
            .find(|ep| reqwest::Url::parse(&core.url(*ep)).is_ok_and(|u| u.path() == path))
        else {
            return Reply::new(StatusCode::NOT_FOUND);
        };
        let mut st = lock(&core.state);
        let (reply, status) = match ep {
            BrokerEndpoint::BrokerToken => token(core, &mut st, req),
            BrokerEndpoint::BrokerUserinfo => userinfo(core, &mut st, req),
            BrokerEndpoint::BrokerJwks if req.method == hyper::Method::GET => {
                let doc = &core.jwks[st.current.min(core.jwks.len() - 1)];
                json_reply(StatusCode::OK, doc)
            }
            BrokerEndpoint::BrokerDiscovery if req.method == hyper::Method::GET => {
                json_reply(StatusCode::OK, &discovery(core))
            }
            _ => (Reply::new(StatusCode::METHOD_NOT_ALLOWED), 405),
        };
        st.record(ep, req.method.as_str(), path, status);
        reply
    }
}

/// The document path under the canary (`/jwks/<key>.json`, `/x5u/<key>.pem`), if `path` is one.
fn canary_path<'p>(core: &Core, path: &'p str) -> Option<&'p str> {
    let base = reqwest::Url::parse(&core.url(BrokerEndpoint::BrokerCanary)).ok()?;
    path.strip_prefix(base.path())
        .filter(|rest| rest.starts_with('/'))
}

fn discovery(core: &Core) -> Value {
    let mut d = json!({
        "issuer": core.issuer,
        "authorization_endpoint": core.url(BrokerEndpoint::BrokerAuthorize),
        "token_endpoint": core.url(BrokerEndpoint::BrokerToken),
        "jwks_uri": core.url(BrokerEndpoint::BrokerJwks),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "scopes_supported": ["openid"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": ["RS256"],
        "id_token_signing_alg_values_supported": core.ctx.signing_alg_values,
        "id_token_encryption_alg_values_supported": [core.profile.alg().name()],
        "id_token_encryption_enc_values_supported": [core.profile.enc().name()],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": core.ctx.acr_values,
    });
    if core.profile.userinfo().is_some() {
        d["userinfo_endpoint"] = json!(core.url(BrokerEndpoint::BrokerUserinfo));
    }
    d
}

/// The token endpoint: record the form, find the login by code, answer the script or mint.
fn token(core: &Core, st: &mut State, req: &Request) -> (Reply, u16) {
    if req.method != hyper::Method::POST {
        return (Reply::new(StatusCode::METHOD_NOT_ALLOWED), 405);
    }
    let form = form_parameters(&req.body);
    let assertion = form.get("client_assertion").and_then(|a| decode_jwt(a));
    {
        let rec = st.login();
        rec.trace.token_requests.push(TokenTrace {
            form: form.clone(),
            at: now(),
        });
        let mut shown = form.clone();
        shown.remove("client_assertion");
        rec.evidence.token_request = Some(shown);
        rec.evidence.client_assertion_header = assertion.as_ref().map(|(h, _)| h.clone());
        rec.evidence.client_assertion = assertion.map(|(_, c)| c);
    }
    let Some(login) = form.get("code").and_then(|c| st.codes.get(c)).copied() else {
        return json_reply(StatusCode::BAD_REQUEST, &json!({"error": "invalid_grant"}));
    };
    let mut happy = || -> Result<Body, String> {
        let nonce = st.logins[login]
            .evidence
            .request_object
            .as_ref()
            .and_then(|ro| ro.get("nonce"))
            .cloned();
        let forged = core.id_token(login, nonce.as_ref())?;
        let access_token = random_code(43);
        st.access_tokens.insert(access_token.clone(), login);
        st.id_claims.insert(login, forged.claims.clone());
        let rec = st.login();
        rec.evidence.id_token_claims = Some(forged.claims);
        rec.trace.access_token = Some(access_token.clone());
        let body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 600,
            "scope": "openid",
            "id_token": forged.token,
        });
        Ok(("application/json", body.to_string().into_bytes()))
    };
    let result = match &core.spec(login).token {
        Some(r) => scripted(r, happy),
        None => happy().map(|(ct, b)| (Reply::body(StatusCode::OK, ct, b), 200)),
    };
    result.unwrap_or_else(|e| internal(&e))
}

/// The userinfo endpoint: the Bearer token names the login; answer the script or mint.
fn userinfo(core: &Core, st: &mut State, req: &Request) -> (Reply, u16) {
    if core.profile.userinfo().is_none() {
        return (Reply::new(StatusCode::NOT_FOUND), 404);
    }
    let auth = req
        .headers
        .get(AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    st.login().trace.userinfo_authorizations.push(auth.clone());
    let token = auth
        .as_deref()
        .and_then(|a| a.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let Some(login) = token.and_then(|t| st.access_tokens.get(t)).copied() else {
        let t = Reply::new(StatusCode::UNAUTHORIZED).insert_header(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return (t, 401);
    };
    let mut happy = || -> Result<Body, String> {
        let u = core.userinfo(login, st.id_claims.get(&login))?;
        st.login().evidence.userinfo_claims = Some(u.claims);
        Ok((u.content_type, u.body))
    };
    let scripted_response = core
        .spec(login)
        .userinfo
        .as_ref()
        .and_then(|u| u.response.as_ref());
    let result = match scripted_response {
        Some(r) => scripted(r, happy),
        None => happy().map(|(ct, b)| (Reply::body(StatusCode::OK, ct, b), 200)),
    };
    result.unwrap_or_else(|e| internal(&e))
}

/// A scripted answer; `happy` gives the body of a 2xx answer that names none.
fn scripted(
    r: &ResponseSpec,
    happy: impl FnOnce() -> Result<Body, String>,
) -> Result<(Reply, u16), String> {
    let status = StatusCode::from_u16(r.status).map_err(|e| e.to_string())?;
    let body: Option<Body> = match &r.body {
        None if (200..300).contains(&r.status) && r.status != 204 => Some(happy()?),
        None | Some(BodySpec::Empty) => None,
        Some(BodySpec::Json(v)) => Some(("application/json", v.to_string().into_bytes())),
        Some(BodySpec::Text(t)) => Some(("text/plain; charset=utf-8", t.clone().into_bytes())),
        Some(BodySpec::Repeat { text, times }) => Some((
            "text/plain; charset=utf-8",
            text.repeat(*times as usize).into_bytes(),
        )),
        // Refused when the broker starts.
        Some(_) => return Err("a Freja body in a broker script".into()),
    };
    let t = match body {
        Some((ct, b)) => Reply::body(status, ct, b),
        None => Reply::new(status),
    };
    with_headers_delay_and_fault(t, r)
}

fn json_reply(status: StatusCode, v: &Value) -> (Reply, u16) {
    (Reply::json(status, v), status.as_u16())
}

/// A harness-side failure (a recipe that does not build): say so instead of panicking.
fn internal(message: &str) -> (Reply, u16) {
    (Reply::mock_error(message), 500)
}
