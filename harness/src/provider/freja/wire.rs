//! The Freja eID services host behind the TLS front: request decoding, scripted answers, result
//! objects and their signed `details`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use hyper::StatusCode;
use hyper::header::{HeaderName, HeaderValue, LOCATION};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{FrejaUser, MockContext};
use crate::forge::{self, Draft, mutation};
use crate::pki::{self, Pki};
use crate::provider::exchange::{Reply, Request, Respond};
use crate::provider::{BodyEncoding, Observations, ObservedRequest, ProviderError, lock};
use crate::vector::model::{
    BodySpec, DetailsSpec, FrejaCall, FrejaEndpoint, ProviderSpec, ResponseSpec, ResultSpec,
    WireFault,
};

/// Header by which the front tells the responder which client certificate was presented.
pub(crate) const CLIENT_CERT_HEADER: &str = "x-eidconf-client-cert";
/// Header by which the responder asks the front to misbehave on the wire.
pub(crate) const FAULT_HEADER: &str = "x-eidconf-fault";

/// Standard Base64; padding optional, as Java's basic decoder (the real service) takes it.
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The transaction reference a mock issues for a vector: base64url of SHA-256 of the vector id.
pub fn reference_for(vector_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(vector_id.as_bytes()))
}

/// The documented message of a Freja error code (`FrejaEidErrorCode` of the official Java client,
/// github.com/Freja-eID/frejaeidclient; 1014, 3008-3009 and 4006-4009 from DSorlov/jsFreja and
/// Kungsbacka/FrejaOrgId); `None` for unknown codes.
pub fn documented_message(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "Internal error.",
        1000 => "Invalid parameters.",
        1001 => "Invalid or missing userInfoType.",
        1002 => "Invalid or missing userInfo.",
        1003 => "Invalid restrict.",
        1004 => "You are not allowed to call this method.",
        1005 => "User has disabled your service.",
        1006 => "Invalid confidential.",
        1007 => "Invalid minimum registration level.",
        1008 => "Unknown Relying party.",
        1009 => "You are not allowed to request integratorSpecificUserId parameter.",
        1010 => "JSON request cannot be parsed.",
        1011 => "Invalid relyingPartyId.",
        1012 => "User with the specified userInfo does not exist in Freja eID database.",
        1013 => "You are not allowed to request user custodianship information.",
        1014 => "Invalid user CRN, CRN missing or user country code is not SE.",
        1100 => "Invalid reference (for example, nonexistent or expired).",
        1200 => "Invalid or missing includePrevious parameter.",
        2000 => {
            "Authentication request failed. Previous authentication request was rejected due to security reasons."
        }
        2002 | 3005 => "Invalid attributesToReturn parameter.",
        2003 | 3006 => "Custom identifier has to exist when it is requested.",
        3000 => "Invalid or missing dataToSignType.",
        3001 => "Invalid or missing dataToSign.",
        3002 => "Invalid or missing signatureType.",
        3003 => "Invalid expiry (time).",
        3004 => "Invalid push notification.",
        3007 => "Invalid title.",
        3008 => {
            "Invalid SSN for advanced signing. Advanced signing cannot be performed by users from your country."
        }
        3009 => {
            "Invalid advanced signing request. Missing SSN and basicUserInfo in its attributesToReturn parameter."
        }
        4000 => "Invalid or missing organisation id identifier.",
        4001 => "There is no user for given organisation id identifier.",
        4002 => "This organisation id identifier is already used.",
        4003 => "Invalid expiry.",
        4004 => "Invalid or missing organisation id title.",
        4005 => "Invalid or missing organisation id identifier name.",
        4006 => "Invalid or missing Organisation ID.",
        4007 => "Invalid organisation id issuer.",
        4008 => "Invalid display type.",
        4009 => "Invalid additional attributes.",
        5000 => "Invalid or missing customIdentifier.",
        5001 => "There is no user for given custom identifier.",
        5002 => "You have already used this custom identifier.",
        _ => return None,
    })
}

/// What a request body decoded to.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedRequest {
    /// The first form parameter name in the body.
    pub param: Option<String>,
    pub encoding: BodyEncoding,
    /// The JSON object under the expected parameter, if it decoded.
    pub json: Option<Value>,
    pub relying_party_id: Option<String>,
}

/// Decode `<param>=<Base64 JSON>[&relyingPartyId=…]`, the value raw (literal `+ / =`, never
/// form-decoded `+` → space) or percent-encoded.
pub fn decode_request_body(body: &[u8], param: &str) -> DecodedRequest {
    let mut out = DecodedRequest {
        param: None,
        encoding: BodyEncoding::Undecodable,
        json: None,
        relying_party_id: None,
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return out;
    };
    let text = text.trim();
    if text.is_empty() {
        out.encoding = BodyEncoding::None;
        return out;
    }
    let pairs: Vec<(String, &str)> = text
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode_lossy(k), v)
        })
        .collect();
    out.param = pairs.first().map(|(k, _)| k.clone());
    out.relying_party_id = pairs
        .iter()
        .find(|(k, _)| k == "relyingPartyId")
        .map(|(_, v)| percent_decode_lossy(v));
    let Some((_, value)) = pairs.iter().find(|(k, _)| k == param) else {
        return out;
    };
    let (b64, encoding) = if value.contains('%') {
        match percent_encoding::percent_decode_str(value).decode_utf8() {
            Ok(v) => (v.into_owned(), BodyEncoding::PercentEncoded),
            Err(_) => return out,
        }
    } else {
        ((*value).to_owned(), BodyEncoding::RawBase64)
    };
    let Ok(bytes) = STANDARD_LENIENT.decode(b64.as_bytes()) else {
        // Evidence only: the request stays undecodable, as at the provider.
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64.trim_end_matches('=').as_bytes())
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        if matches!(url_safe, Some(Value::Object(_))) {
            out.encoding = BodyEncoding::Base64Url;
        }
        return out;
    };
    if let Ok(v @ Value::Object(_)) = serde_json::from_slice::<Value>(&bytes) {
        out.encoding = encoding;
        out.json = Some(v);
    }
    out
}

fn percent_decode_lossy(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn endpoint_for_path(path: &str) -> Option<FrejaEndpoint> {
    FrejaEndpoint::ALL
        .iter()
        .copied()
        .find(|ep| ep.path() == path)
}

/// The per-vector facts both responders share: the script, the reference, the user, the keys.
pub(crate) struct Core {
    script: BTreeMap<FrejaEndpoint, Vec<ResponseSpec>>,
    /// The token a token-level operation is handed (`ProviderSpec::details`).
    token_spec: Option<DetailsSpec>,
    reference: String,
    user: FrejaUser,
    pki: Pki,
    /// The canary's base URL once it runs: `jku`/`x5u` recipes point at it.
    pub(crate) canary_url: OnceLock<String>,
    /// The payload of every `details` token minted, in order (for the identity round trip).
    pub(crate) signed: Mutex<Vec<Value>>,
    /// The `minRegistrationLevel` of the last initiation: Freja signs the level the RP asked for.
    requested_level: Mutex<Option<String>>,
    /// What the last signature initiation presented to the user (`title`, `dataToSignType`,
    /// `dataToSign`, `signatureType`): the signed payload carries it.
    presented: Mutex<Map<String, Value>>,
}

impl Core {
    pub(crate) fn new(spec: &ProviderSpec, ctx: &MockContext) -> Result<Core, ProviderError> {
        for (ep, responses) in &spec.freja {
            if responses.is_empty() {
                return Err(ProviderError::Spec(format!(
                    "`{}` has an empty list of responses",
                    ep.name()
                )));
            }
            for (i, r) in responses.iter().enumerate() {
                validate(r).map_err(|m| {
                    ProviderError::Spec(format!("`{}` response #{}: {m}", ep.name(), i + 1))
                })?;
            }
        }
        // Fail at start, not mid-vector: every named key exists and every signer is RSA.
        for d in spec.details_specs() {
            for name in d.key_names() {
                ctx.pki.get(name)?;
            }
            let name = d.key.as_deref().unwrap_or(pki::JWS_DEFAULT);
            crate::pki::parsed::rsa_key_pair(&ctx.pki.get(name)?.key_der).map_err(|e| {
                ProviderError::Spec(format!("`{name}` is not an RSA signing key: {e}"))
            })?;
            mutation::check(&d.mutations).map_err(ProviderError::Spec)?;
        }
        Ok(Core {
            script: spec.freja.clone(),
            token_spec: spec.details.clone(),
            reference: reference_for(&ctx.vector_id),
            user: ctx.user.clone(),
            pki: ctx.pki.clone(),
            canary_url: OnceLock::new(),
            signed: Mutex::default(),
            requested_level: Mutex::default(),
            presented: Mutex::default(),
        })
    }

    /// The `details` token of a token-level operation, and the reference it should carry.
    pub(crate) fn token(&self, sign: bool) -> Result<(String, String), String> {
        let ref_field = if sign { "signRef" } else { "authRef" };
        let spec = self.token_spec.clone().unwrap_or_default();
        let token = self.details(ref_field, "APPROVED", &spec, &mut Value::Null)?;
        Ok((token, self.reference.clone()))
    }

    /// What the canary serves at `path` (`jku`/`x5u` documents).
    pub(crate) fn canary_document(&self, path: &str) -> Option<(&'static str, Vec<u8>)> {
        mutation::canary_document(&self.pki, path)
    }

    /// The happy-path body of an endpoint.
    fn happy_body(&self, ep: FrejaEndpoint) -> Result<Value, String> {
        Ok(match ep.call() {
            FrejaCall::Init => json!({ ep.reference_field(): self.reference }),
            FrejaCall::GetOneResult => self.result(ep, &approved())?,
            FrejaCall::GetResults => {
                let list = if ep.reference_field() == "signRef" {
                    "signatureResults"
                } else {
                    "authenticationResults"
                };
                json!({ list: [self.result(ep, &approved())?] })
            }
            FrejaCall::Cancel | FrejaCall::ManageUser => json!({}),
        })
    }

    /// A getOneResult answer `r` as the getResults endpoint `ep` gives it: a success body that is
    /// a JSON object goes into the endpoint's list; anything else (errors, text, resets) as is.
    fn listed(
        &self,
        ep: FrejaEndpoint,
        one: FrejaEndpoint,
        r: &ResponseSpec,
    ) -> Result<ResponseSpec, String> {
        let mut listed = r.clone();
        if !(200..300).contains(&r.status) || r.status == 204 {
            return Ok(listed);
        }
        let body = match &r.body {
            None => self.happy_body(one)?,
            Some(BodySpec::Result(spec)) => self.result(one, spec)?,
            Some(BodySpec::Json(v)) if v.is_object() => v.clone(),
            Some(_) => return Ok(listed),
        };
        let list = if ep.reference_field() == "signRef" {
            "signatureResults"
        } else {
            "authenticationResults"
        };
        listed.body = Some(BodySpec::Json(json!({ list: [body] })));
        Ok(listed)
    }

    /// A result object: `{ref, status, details?, requestedAttributes, ...extra}`.
    fn result(&self, ep: FrejaEndpoint, spec: &ResultSpec) -> Result<Value, String> {
        let ref_field = ep.reference_field();
        let mut signed_attributes = default_attributes();
        let details = match &spec.details {
            Some(d) if d.omit => None,
            Some(d) => Some(self.details(ref_field, &spec.status, d, &mut signed_attributes)?),
            None if spec.status == "APPROVED" => Some(self.details(
                ref_field,
                &spec.status,
                &DetailsSpec::default(),
                &mut signed_attributes,
            )?),
            None => None,
        };
        let mut obj = Map::new();
        obj.insert(ref_field.into(), Value::String(self.reference.clone()));
        obj.insert("status".into(), Value::String(spec.status.clone()));
        if let Some(d) = details {
            obj.insert("details".into(), Value::String(d));
        }
        obj.insert(
            "requestedAttributes".into(),
            spec.requested_attributes
                .clone()
                .unwrap_or(signed_attributes),
        );
        for (k, v) in &spec.extra {
            obj.insert(k.clone(), v.clone());
        }
        Ok(Value::Object(obj))
    }

    /// The compact JWS from the forge; `signed_attributes` receives the signed
    /// `requestedAttributes`.
    fn details(
        &self,
        ref_field: &str,
        status: &str,
        spec: &DetailsSpec,
        signed_attributes: &mut Value,
    ) -> Result<String, String> {
        let name = spec.key.as_deref().unwrap_or(pki::JWS_DEFAULT);
        let cert = |n: &str| self.pki.get(n).map(|c| c.x5t()).map_err(|e| e.to_string());
        let mut header = Map::new();
        header.insert(
            "x5t".into(),
            Value::String(cert(spec.x5t_of.as_deref().unwrap_or(name))?),
        );
        header.insert("alg".into(), Value::String("RS256".into()));
        crate::forge::merge_members(&mut header, &spec.header);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut payload = Map::new();
        payload.insert(ref_field.into(), Value::String(self.reference.clone()));
        payload.insert("status".into(), Value::String(status.into()));
        payload.insert(
            "userInfoType".into(),
            Value::String(self.user.user_info_type.as_str().into()),
        );
        payload.insert(
            "userInfo".into(),
            Value::String(self.user.signed_user_info()),
        );
        // What the RP requested (BASIC when it said nothing, the service's default); a vector
        // that signs another level says so in `payload`.
        let level = lock(&self.requested_level).clone();
        payload.insert(
            "minRegistrationLevel".into(),
            Value::String(level.unwrap_or_else(|| "BASIC".into())),
        );
        payload.insert("requestedAttributes".into(), default_attributes());
        payload.insert("timestamp".into(), Value::from(now_ms));
        // A signature result carries what was presented, `dataToSign` as a JSON string (the
        // example payload of the Freja eID Relying Party Developers' Documentation, "JWS
        // certificate").
        if ref_field == "signRef" {
            for (k, v) in lock(&self.presented).iter() {
                let v = match (k.as_str(), v) {
                    ("dataToSign", Value::Object(_)) => Value::String(v.to_string()),
                    _ => v.clone(),
                };
                payload.insert(k.clone(), v);
            }
        }
        crate::forge::merge_members(&mut payload, &spec.payload);
        if let Some(a) = payload.get("requestedAttributes") {
            *signed_attributes = a.clone();
        }
        let ctx = mutation::Context {
            pki: &self.pki,
            canary_url: self.canary_url.get().map(String::as_str),
        };
        let draft = Draft::new(&header, &payload, name);
        let token = forge::forge(draft, &spec.mutations, &ctx).map_err(|e| e.to_string())?;
        // What a recipient that keeps the lexically last duplicate (RFC 7515 §5.2, RFC 7519 §4)
        // reads from the signed bytes; the recipe's payload when they are not a JSON object.
        let signed = signed_payload(&token).unwrap_or(Value::Object(payload));
        lock(&self.signed).push(signed);
        Ok(token)
    }

    fn error_body(code: i64, message: Option<&str>) -> Value {
        let message = message.or(documented_message(code)).unwrap_or("Error.");
        json!({ "code": code, "message": message })
    }

    /// The body bytes of a scripted answer; `None` for no body.
    fn body(&self, ep: FrejaEndpoint, r: &ResponseSpec) -> Result<Option<Vec<u8>>, String> {
        let json = |v: Value| Ok(Some(v.to_string().into_bytes()));
        match &r.body {
            // 204 carries no body by definition.
            None if (200..300).contains(&r.status) && r.status != 204 => json(self.happy_body(ep)?),
            None | Some(BodySpec::Empty) => Ok(None),
            Some(BodySpec::Json(v)) => json(v.clone()),
            Some(BodySpec::Text(t)) => Ok(Some(t.clone().into_bytes())),
            Some(BodySpec::Error { code, message }) => {
                json(Self::error_body(*code, message.as_deref()))
            }
            Some(BodySpec::Reference) => json(json!({ ep.reference_field(): self.reference })),
            Some(BodySpec::ReferenceWithExtra(extra)) => {
                let mut obj = Map::new();
                obj.insert(
                    ep.reference_field().into(),
                    Value::String(self.reference.clone()),
                );
                crate::forge::merge_members(&mut obj, extra);
                json(Value::Object(obj))
            }
            Some(BodySpec::Result(spec)) => json(self.result(ep, spec)?),
            Some(BodySpec::Repeat { text, times }) => {
                Ok(Some(text.repeat(*times as usize).into_bytes()))
            }
        }
    }
}

/// The payload segment of a compact JWS as a JSON object (serde_json keeps the last duplicate).
fn signed_payload(token: &str) -> Option<Value> {
    let segment = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

fn approved() -> ResultSpec {
    ResultSpec {
        status: "APPROVED".into(),
        details: None,
        requested_attributes: None,
        extra: Map::new(),
    }
}

/// The canned user's attributes; non-ASCII on purpose.
fn default_attributes() -> Value {
    json!({
        "basicUserInfo": { "name": "Åsa", "surname": "Öberg-Ängström" },
        "emailAddress": "asa.oberg@example.se",
    })
}

/// Reject what would make the responder panic or misbehave, at start rather than mid-vector.
pub(crate) fn validate(r: &ResponseSpec) -> Result<(), String> {
    if !(200..=599).contains(&r.status) {
        return Err(format!(
            "status {} is not a final HTTP status (200-599)",
            r.status
        ));
    }
    for (k, v) in &r.headers {
        HeaderName::try_from(k.as_str())
            .map_err(|_| format!("`{k}` is not a valid header name"))?;
        HeaderValue::try_from(v.as_str())
            .map_err(|_| format!("the value of header `{k}` is not valid"))?;
    }
    if let Some(BodySpec::Repeat { text, times }) = &r.body
        && text.len().saturating_mul(*times as usize) > 64 << 20
    {
        return Err("a repeated body larger than 64 MiB".into());
    }
    Ok(())
}

/// The services host's (or the canary's) responder. `Respond` is synchronous and called one
/// request at a time: everything here is in-memory work (one RSA signature at most).
pub(crate) struct Responder {
    core: Arc<Core>,
    obs: Arc<Mutex<Observations>>,
    known_certs: Arc<HashMap<String, String>>,
    /// `Some` for the services host (the canary's base URL, if any); `None` for the canary itself.
    mode: Mode,
    counters: Mutex<BTreeMap<FrejaEndpoint, usize>>,
}

enum Mode {
    Services { canary_url: Option<String> },
    Canary,
}

impl Responder {
    pub(crate) fn services(
        core: Arc<Core>,
        obs: Arc<Mutex<Observations>>,
        known_certs: Arc<HashMap<String, String>>,
        canary_url: Option<String>,
    ) -> Responder {
        Responder {
            core,
            obs,
            known_certs,
            mode: Mode::Services { canary_url },
            counters: Mutex::default(),
        }
    }

    pub(crate) fn canary(
        core: Arc<Core>,
        obs: Arc<Mutex<Observations>>,
        known_certs: Arc<HashMap<String, String>>,
    ) -> Responder {
        Responder {
            core,
            obs,
            known_certs,
            mode: Mode::Canary,
            counters: Mutex::default(),
        }
    }

    fn client_certificate(&self, req: &Request) -> Option<String> {
        let sha = req.headers.get(CLIENT_CERT_HEADER)?.to_str().ok()?;
        Some(
            self.known_certs
                .get(sha)
                .cloned()
                .unwrap_or_else(|| format!("sha256:{sha}")),
        )
    }

    /// Decide the answer; returns the reply and the status to record (0 for a reset).
    fn answer(
        &self,
        req: &Request,
        endpoint: Option<FrejaEndpoint>,
        decoded: &DecodedRequest,
    ) -> (Reply, u16) {
        if let (Mode::Canary, Some((ct, body))) =
            (&self.mode, self.core.canary_document(req.url.path()))
        {
            return (Reply::body(StatusCode::OK, ct, body), 200);
        }
        let Some(ep) = endpoint else {
            return (Reply::new(StatusCode::NOT_FOUND), 404);
        };
        match &self.mode {
            Mode::Canary => match self.core.happy_body(ep) {
                Ok(v) => (Reply::json(StatusCode::OK, &v), 200),
                Err(e) => internal(&e),
            },
            Mode::Services { canary_url } => {
                if req.method != hyper::Method::POST {
                    return (Reply::new(StatusCode::METHOD_NOT_ALLOWED), 405);
                }
                let Some(json) = &decoded.json else {
                    let body = Core::error_body(1010, None);
                    return (Reply::json(StatusCode::BAD_REQUEST, &body), 400);
                };
                if ep.call() == FrejaCall::Init {
                    *lock(&self.core.requested_level) = json
                        .get("minRegistrationLevel")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    if ep.reference_field() == "signRef" {
                        *lock(&self.core.presented) =
                            ["title", "dataToSignType", "dataToSign", "signatureType"]
                                .iter()
                                .filter_map(|k| Some((k.to_string(), json.get(*k)?.clone())))
                                .collect();
                    }
                }
                if matches!(ep.call(), FrejaCall::GetOneResult | FrejaCall::Cancel)
                    && json.get(ep.reference_field()).and_then(Value::as_str)
                        != Some(self.core.reference.as_str())
                {
                    let body = Core::error_body(1100, None);
                    return (Reply::json(StatusCode::UNPROCESSABLE_ENTITY, &body), 422);
                }
                // An RP may poll with getResults instead of getOneResult: unless the vector
                // scripts getResults itself, it gets the getOneResult answers, in a list.
                let polled = if self.core.script.contains_key(&ep) {
                    ep
                } else {
                    ep.one_result()
                };
                let n = {
                    let mut counters = lock(&self.counters);
                    let c = counters.entry(polled).or_default();
                    *c += 1;
                    *c - 1
                };
                match self
                    .core
                    .script
                    .get(&polled)
                    .and_then(|s| s.get(n).or(s.last()))
                {
                    Some(r) if polled != ep => match self.core.listed(ep, polled, r) {
                        Ok(listed) => match self.scripted(ep, &listed, canary_url.as_deref()) {
                            Ok(t) => t,
                            Err(e) => internal(&e),
                        },
                        Err(e) => internal(&e),
                    },
                    Some(r) => match self.scripted(ep, r, canary_url.as_deref()) {
                        Ok(t) => t,
                        Err(e) => internal(&e),
                    },
                    // User management answers 204 with no body (the client library's
                    // `HttpService` reads no body for NO_CONTENT).
                    None if ep.call() == FrejaCall::ManageUser => {
                        (Reply::new(StatusCode::NO_CONTENT), 204)
                    }
                    None => match self.core.happy_body(ep) {
                        Ok(v) => (Reply::json(StatusCode::OK, &v), 200),
                        Err(e) => internal(&e),
                    },
                }
            }
        }
    }

    fn scripted(
        &self,
        ep: FrejaEndpoint,
        r: &ResponseSpec,
        canary_url: Option<&str>,
    ) -> Result<(Reply, u16), String> {
        let status = StatusCode::from_u16(r.status).map_err(|e| e.to_string())?;
        let mut t = match self.core.body(ep, r)? {
            Some(body) => Reply::body(status, "application/json", body),
            None => Reply::new(status),
        };
        if r.redirect_to_canary {
            let url = canary_url.ok_or("redirect_to_canary without a canary")?;
            let loc =
                HeaderValue::try_from(format!("{url}{}", ep.path())).map_err(|e| e.to_string())?;
            t = t.insert_header(LOCATION, loc);
        }
        with_headers_delay_and_fault(t, r)
    }
}

/// The parts of a scripted answer every mock treats alike: extra headers, the delay, and a wire
/// fault for the TLS front to act on. Returns the status to record (0 for a reset).
pub(crate) fn with_headers_delay_and_fault(
    mut t: Reply,
    r: &ResponseSpec,
) -> Result<(Reply, u16), String> {
    for (k, v) in &r.headers {
        let name = HeaderName::try_from(k.as_str()).map_err(|e| e.to_string())?;
        let value = HeaderValue::try_from(v.as_str()).map_err(|e| e.to_string())?;
        t = t.insert_header(name, value);
    }
    if let Some(d) = r.delay {
        t = t.set_delay(d.0);
    }
    let recorded = match r.fault {
        Some(WireFault::Reset) => {
            t = t.insert_header(FAULT_HEADER, HeaderValue::from_static("reset"));
            0
        }
        Some(WireFault::Truncate) => {
            t = t.insert_header(FAULT_HEADER, HeaderValue::from_static("truncate"));
            r.status
        }
        None => r.status,
    };
    Ok((t, recorded))
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> Reply {
        let path = req.url.path().to_owned();
        let endpoint = endpoint_for_path(&path);
        let decoded = match endpoint {
            Some(ep) => decode_request_body(&req.body, ep.param()),
            None => decode_request_body(&req.body, ""),
        };
        let received_ms = crate::provider::epoch_ms();
        let (reply, status) = self.answer(req, endpoint, &decoded);
        let seen = ObservedRequest {
            endpoint,
            method: req.method.to_string(),
            path,
            param: decoded.param,
            encoding: decoded.encoding,
            request_json: decoded.json,
            relying_party_id: decoded.relying_party_id,
            client_certificate: self.client_certificate(req),
            response_status: status,
            received_ms,
        };
        let mut obs = lock(&self.obs);
        match self.mode {
            Mode::Services { .. } => obs.requests.push(seen),
            Mode::Canary => obs.canary_requests.push(seen),
        }
        reply
    }
}

/// A harness-side failure: say so plainly instead of failing the connection.
fn internal(message: &str) -> (Reply, u16) {
    (Reply::mock_error(message), 500)
}
