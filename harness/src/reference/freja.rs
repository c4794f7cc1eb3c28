//! The Freja eID flow of the reference RP: init, poll `getOneResult`, verify `details`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::fault::Fault;
use super::jws;
use crate::adapter::{
    FrejaCancelRequest, FrejaEnvironment, FrejaRequest, FrejaSignRequest, FrejaVerifyDetails,
    Operation, Outcome, Reason, Rejection, UserInfoType,
};
use crate::provider::freja::checks::{NEED_EXTENDED, restricted_attributes};
use crate::provider::{documented_message, ensure_loopback};
use crate::vector::model::{FrejaCall, FrejaEndpoint};

/// One transaction to run: authentication or signature.
pub(crate) struct Flow {
    init: FrejaEndpoint,
    get_one: FrejaEndpoint,
    init_json: Value,
    user_info_type: UserInfoType,
    user_info: String,
    get_results: bool,
}

impl Flow {
    /// Poll with `getResults` instead of `getOneResult`.
    pub(crate) fn polling_get_results(mut self) -> Flow {
        self.get_results = true;
        self
    }

    /// `org_ignored`: the `personal-endpoints-for-organisation` fault.
    pub(crate) fn auth(r: &FrejaRequest, org_ignored: bool) -> Flow {
        let init_json = base_request(
            r.user_info_type,
            &r.user_info,
            r.country.as_deref(),
            r.min_registration_level.as_deref(),
            &r.attributes_to_return,
        );
        let (init, get_one) = if r.organisation && !org_ignored {
            (
                FrejaEndpoint::OrgAuthInit,
                FrejaEndpoint::OrgAuthGetOneResult,
            )
        } else {
            (FrejaEndpoint::AuthInit, FrejaEndpoint::AuthGetOneResult)
        };
        Flow {
            init,
            get_one,
            init_json: Value::Object(init_json),
            user_info_type: r.user_info_type,
            user_info: r.user_info.clone(),
            get_results: false,
        }
    }

    pub(crate) fn sign(r: &FrejaSignRequest, org_ignored: bool) -> Flow {
        let mut init_json = base_request(
            r.user_info_type,
            &r.user_info,
            r.country.as_deref(),
            r.min_registration_level.as_deref(),
            &r.attributes_to_return,
        );
        if let Some(t) = &r.title {
            init_json.insert("title".into(), Value::String(t.clone()));
        }
        init_json.insert("dataToSignType".into(), json!("SIMPLE_UTF8_TEXT"));
        init_json.insert(
            "dataToSign".into(),
            json!({ "text": STANDARD.encode(r.text.as_bytes()) }),
        );
        init_json.insert("signatureType".into(), json!("SIMPLE"));
        let (init, get_one) = if r.organisation && !org_ignored {
            (
                FrejaEndpoint::OrgSignInit,
                FrejaEndpoint::OrgSignGetOneResult,
            )
        } else {
            (FrejaEndpoint::SignInit, FrejaEndpoint::SignGetOneResult)
        };
        Flow {
            init,
            get_one,
            init_json: Value::Object(init_json),
            user_info_type: r.user_info_type,
            user_info: r.user_info.clone(),
            get_results: false,
        }
    }
}

/// `userInfo` as sent: Freja wants an SSN as Base64 of `{"country","ssn"}`.
fn wire_user_info(user_info_type: UserInfoType, user_info: &str, country: Option<&str>) -> String {
    match user_info_type {
        UserInfoType::Ssn => STANDARD
            .encode(json!({ "country": country.unwrap_or("SE"), "ssn": user_info }).to_string()),
        _ => user_info.to_owned(),
    }
}

fn base_request(
    user_info_type: UserInfoType,
    user_info: &str,
    country: Option<&str>,
    level: Option<&str>,
    attributes: &[String],
) -> Map<String, Value> {
    let user_info = wire_user_info(user_info_type, user_info, country);
    let mut m = Map::new();
    m.insert("userInfoType".into(), json!(user_info_type.as_str()));
    m.insert("userInfo".into(), Value::String(user_info));
    // The service's default is BASIC, but SSN, BASIC_USER_INFO and DATE_OF_BIRTH need more.
    let needs_extended = attributes
        .iter()
        .any(|a| NEED_EXTENDED.contains(&a.as_str()));
    let default = if needs_extended { "EXTENDED" } else { "BASIC" };
    m.insert(
        "minRegistrationLevel".into(),
        json!(level.unwrap_or(default)),
    );
    if !attributes.is_empty() {
        let list: Vec<Value> = attributes
            .iter()
            .map(|a| json!({ "attribute": a }))
            .collect();
        m.insert("attributesToReturn".into(), Value::Array(list));
    }
    m
}

/// Whether the signed registration level meets the requested one: BASIC < EXTENDED < PLUS (the
/// levels of the Freja eID Relying Party Developers' Documentation); any other level (INFERRED,
/// or one added later) meets only itself, and nothing but BASIC is met by an absent level.
fn level_satisfies(signed: Option<&str>, requested: &str) -> bool {
    let rank = |l: &str| ["BASIC", "EXTENDED", "PLUS"].iter().position(|x| *x == l);
    match (signed, rank(requested)) {
        (_, Some(0)) => true,
        (Some(s), Some(r)) => rank(s).is_some_and(|s| s >= r),
        (Some(s), None) => s == requested,
        (None, _) => false,
    }
}

/// What the RP asked for, which a signed result must answer.
struct Asked<'a> {
    /// The `minRegistrationLevel` sent (BASIC when none was).
    level: &'a str,
    /// The Base64 `dataToSign.text` of a signature.
    text: Option<&'a str>,
    /// `userInfoType` and `userInfo` as sent.
    user: Option<(&'a str, &'a str)>,
}

impl Default for Asked<'_> {
    /// A token with no initiation behind it stands for a BASIC request, the service's default.
    fn default() -> Self {
        Asked {
            level: "BASIC",
            text: None,
            user: None,
        }
    }
}

/// Whether the signed `userInfoType`/`userInfo` can name the user asked for: an SSN by its
/// country and number (signed as a JSON string, or an object), an e-mail address in any case,
/// anything else verbatim. Empty or absent members name nobody else (the provider's example
/// payload signs `"userInfo":""`), nor does the `N/A` of INFERRED.
fn same_user(payload: &Map<String, Value>, (kind, sent): (&str, &str)) -> bool {
    let blank = |v: Option<&Value>| v.is_none_or(|v| v.is_null() || v.as_str() == Some(""));
    let signed = payload.get("userInfo");
    let signed_kind = payload.get("userInfoType");
    if !blank(signed_kind) && signed_kind.and_then(Value::as_str) != Some(kind) {
        return false;
    }
    if blank(signed) {
        return true;
    }
    match kind {
        "INFERRED" => true,
        "SSN" => {
            let asked = STANDARD
                .decode(sent)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
            let signed = match signed {
                Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
                other => other.cloned(),
            };
            let key = |v: &Value| (v.get("country").cloned(), v.get("ssn").cloned());
            matches!((asked, signed), (Some(a), Some(s)) if key(&a) == key(&s) && a.get("ssn").is_some())
        }
        "EMAIL" => signed
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case(sent)),
        _ => signed.and_then(Value::as_str) == Some(sent),
    }
}

/// The Base64 `dataToSign.text` a signature flow asked the user to sign.
fn asked_text(flow: &Flow) -> Option<&str> {
    flow.init_json.get("dataToSign")?.get("text")?.as_str()
}

/// The `text` of a signed `dataToSign`: a JSON string holding `{"text"}` (as the provider's
/// example payload has it), or the object itself.
fn signed_text(signed: &Value) -> Option<String> {
    let object = match signed {
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
        other => other.clone(),
    };
    object.get("text")?.as_str().map(str::to_owned)
}

fn reject(reason: Reason, detail: impl Into<String>) -> Rejection {
    Rejection::new(reason).detail(detail)
}

/// Run a whole flow against `env`.
pub(crate) async fn run(faults: &BTreeSet<Fault>, env: &FrejaEnvironment, flow: Flow) -> Outcome {
    let rp = match Rp::new(faults, env) {
        Ok(rp) => rp,
        Err(r) => return r.into(),
    };
    let run = rp.flow(&flow);
    let result = if rp.has(Fault::NoHttpTimeout) {
        run.await
    } else {
        match tokio::time::timeout(Duration::from_millis(env.flow_timeout_ms), run).await {
            Ok(r) => r,
            Err(_) => Err(reject(
                Reason::Timeout,
                format!("the flow did not end within {} ms", env.flow_timeout_ms),
            )),
        }
    };
    match result {
        Ok(identity) => Outcome::accepted(identity),
        Err(r) => r.into(),
    }
}

struct Rp<'a> {
    faults: &'a BTreeSet<Fault>,
    env: &'a FrejaEnvironment,
    /// Built on the first request: a token-level operation sends none, and building imports the
    /// client key.
    builder: std::sync::Mutex<Option<reqwest::ClientBuilder>>,
    client: std::sync::OnceLock<Result<reqwest::Client, Rejection>>,
    pins: Vec<jws::Pin>,
}

/// A success body that passed the status mapping, and whether it came from a 422 (accept-422).
struct Answer {
    body: Map<String, Value>,
    from_422: bool,
}

impl<'a> Rp<'a> {
    fn client(&self) -> Result<&reqwest::Client, Rejection> {
        self.client
            .get_or_init(|| {
                let builder = self
                    .builder
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                // Taken once: a second attempt (after a panic) must not build a default client
                // that trusts the system's roots.
                let builder = builder
                    .ok_or_else(|| reject(Reason::InvalidInput, "HTTP client: not built"))?;
                builder
                    .build()
                    .map_err(|e| reject(Reason::InvalidInput, format!("HTTP client: {e}")))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn new(faults: &'a BTreeSet<Fault>, env: &'a FrejaEnvironment) -> Result<Rp<'a>, Rejection> {
        let invalid = |m: String| reject(Reason::InvalidInput, m);
        ensure_loopback(&env.base_url).map_err(|e| invalid(e.to_string()))?;
        if !env.base_url.starts_with("https://") {
            return Err(invalid(format!("{} is not an https URL", env.base_url)));
        }
        let pins = jws::pins(&env.jws_certificates_pem).map_err(invalid)?;
        let anchors = trust_anchors(&env.trust_anchors_pem).map_err(invalid)?;
        let identity = reqwest::Identity::from_pem(
            format!("{}\n{}", env.client_certificate_pem, env.client_key_pem).as_bytes(),
        )
        .map_err(|e| invalid(format!("client identity: {e}")))?;
        let has = |f| faults.contains(&f);
        let redirect = redirect_policy(faults);
        let mut builder = reqwest::Client::builder()
            .https_only(true)
            .no_proxy()
            .tls_certs_only(anchors)
            .identity(identity)
            .redirect(redirect)
            .retry(reqwest::retry::never());
        if has(Fault::TrustAnyServerCert) {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if !has(Fault::NoHttpTimeout) {
            builder = builder.timeout(Duration::from_millis(env.http_timeout_ms));
        }
        Ok(Rp {
            faults,
            env,
            builder: std::sync::Mutex::new(Some(builder)),
            client: std::sync::OnceLock::new(),
            pins,
        })
    }

    fn has(&self, f: Fault) -> bool {
        self.faults.contains(&f)
    }

    async fn flow(&self, flow: &Flow) -> Result<BTreeMap<String, Value>, Rejection> {
        let ref_field = flow.init.reference_field();
        let init = self.call(flow.init, &self.as_sent(&flow.init_json)).await?;
        let reference = match init.body.get(ref_field) {
            Some(Value::String(r)) if !r.is_empty() => r.clone(),
            None if init.from_422 => String::new(),
            _ => {
                return Err(reject(
                    Reason::MalformedResponse,
                    format!("init answer has no {ref_field}"),
                ));
            }
        };
        let poll = json!({ ref_field: reference });
        let mut polls = 0;
        loop {
            polls += 1;
            if self.has(Fault::GiveUpAfterTenPolls) && polls > 10 {
                return Err(reject(Reason::Timeout, "gave up after ten polls"));
            }
            let answer = if flow.get_results {
                self.poll_all(flow.get_one.all_results(), ref_field, &reference)
                    .await?
            } else {
                self.call(flow.get_one, &poll).await?
            };
            let Some(status) = answer.body.get("status").and_then(Value::as_str) else {
                return Err(reject(
                    Reason::MalformedResponse,
                    "getOneResult answer has no status string",
                ));
            };
            match self.classify(status) {
                Status::Approved => {
                    let sent = |k: &str| flow.init_json.get(k).and_then(Value::as_str);
                    let asked = Asked {
                        level: sent("minRegistrationLevel").unwrap_or("BASIC"),
                        text: asked_text(flow),
                        user: sent("userInfoType").zip(sent("userInfo")),
                    };
                    return self
                        .approved(&answer.body, ref_field, &reference, &asked)
                        .await;
                }
                Status::Pending => {}
                Status::Final => {
                    return Err(Rejection::new(Reason::StatusNotApproved)
                        .status(status)
                        .detail(format!("the transaction ended {status}")));
                }
                Status::Unknown => {
                    if self.has(Fault::PanicOnUnknownStatus) {
                        panic!(
                            "reference RP (fault panic-on-unknown-status): unknown status {status}"
                        );
                    }
                    if self.has(Fault::UnknownStatusApproved) {
                        return Ok(identity(
                            json!(flow.user_info_type.as_str()),
                            Value::String(flow.user_info.clone()),
                            answer.body.get("requestedAttributes"),
                        ));
                    }
                    // An unknown status is never approval: keep polling until the deadline.
                }
            }
            if !self.has(Fault::PollWithoutDelay) {
                tokio::time::sleep(Duration::from_millis(self.env.poll_interval_ms)).await;
            }
        }
    }

    /// One `getResults` poll: this transaction's entry of the list.
    async fn poll_all(
        &self,
        ep: FrejaEndpoint,
        ref_field: &str,
        reference: &str,
    ) -> Result<Answer, Rejection> {
        let answer = self.call(ep, &json!({ "includePrevious": "ALL" })).await?;
        if answer.from_422 {
            return Ok(answer);
        }
        let list = if ref_field == "signRef" {
            "signatureResults"
        } else {
            "authenticationResults"
        };
        let Some(Value::Array(results)) = answer.body.get(list) else {
            return Err(reject(
                Reason::MalformedResponse,
                format!("getResults answer has no {list} array"),
            ));
        };
        let mine = results
            .iter()
            .filter_map(Value::as_object)
            .find(|r| r.get(ref_field).and_then(Value::as_str) == Some(reference));
        match mine {
            Some(body) => Ok(Answer {
                body: body.clone(),
                from_422: false,
            }),
            None => Err(reject(
                Reason::MalformedResponse,
                format!("getResults lists no result for {ref_field} {reference}"),
            )),
        }
    }

    fn classify(&self, status: &str) -> Status {
        match status {
            "APPROVED" => Status::Approved,
            "STARTED" | "DELIVERED_TO_MOBILE" => Status::Pending,
            "CANCELED" | "EXPIRED" | "REJECTED" => Status::Final,
            "RP_CANCELED" if !self.has(Fault::MisspelledRpCanceled) => Status::Final,
            "RP_CANCELLED" if self.has(Fault::MisspelledRpCanceled) => Status::Final,
            _ => Status::Unknown,
        }
    }

    async fn approved(
        &self,
        body: &Map<String, Value>,
        ref_field: &str,
        reference: &str,
        asked: &Asked<'_>,
    ) -> Result<BTreeMap<String, Value>, Rejection> {
        let requested_level = asked.level;
        let Some(details) = body.get("details").and_then(Value::as_str) else {
            return Err(reject(
                Reason::MalformedResponse,
                "APPROVED without a details string",
            ));
        };
        let foreign = self.fetch_key(details).await;
        let payload = jws::verify(details, &self.pins, self.faults, foreign)?;
        let signed_status = payload.get("status");
        if signed_status.and_then(Value::as_str) != Some("APPROVED") {
            let mut r = Rejection::new(Reason::StatusNotApproved)
                .detail("the signed status is not APPROVED");
            if let Some(s) = signed_status {
                r = r.status(s.as_str().map_or_else(|| s.to_string(), str::to_owned));
            }
            return Err(r);
        }
        if !self.has(Fault::IgnoreReference)
            && payload.get(ref_field).and_then(Value::as_str) != Some(reference)
        {
            return Err(reject(
                Reason::ReferenceMismatch,
                format!("the signed {ref_field} is not {reference}"),
            ));
        }
        let signed_level = payload.get("minRegistrationLevel").and_then(Value::as_str);
        if !self.has(Fault::AcceptLowerRegistrationLevel)
            && !level_satisfies(signed_level, requested_level)
        {
            let signed_level = signed_level.unwrap_or("(absent)");
            let mut r = Rejection::new(Reason::ClaimsInvalid).detail(format!(
                "the signed minRegistrationLevel {signed_level} is below the requested {requested_level}"
            ));
            r.claim = Some("minRegistrationLevel".into());
            return Err(r);
        }
        // The result answers this RP's request: it names the user the RP asked for.
        if !self.has(Fault::IgnoreSignedUser)
            && let Some(user) = asked.user
            && !same_user(&payload, user)
        {
            let mut r = Rejection::new(Reason::ClaimsInvalid).detail(format!(
                "the signed userInfoType/userInfo ({}, {}) is not the user this RP asked for",
                payload.get("userInfoType").unwrap_or(&Value::Null),
                payload.get("userInfo").unwrap_or(&Value::Null),
            ));
            r.claim = Some("userInfo".into());
            return Err(r);
        }
        // A signature is consent to what was presented: the signed text must be the one asked.
        if !self.has(Fault::IgnoreSignedText)
            && let Some(asked) = asked.text
            && let Some(signed) = payload.get("dataToSign")
            && signed_text(signed).as_deref() != Some(asked)
        {
            let mut r = Rejection::new(Reason::ClaimsInvalid)
                .detail("the signed dataToSign is not the text this RP asked the user to sign");
            r.claim = Some("dataToSign".into());
            return Err(r);
        }
        let field = |k: &str| payload.get(k).cloned().unwrap_or(Value::Null);
        let attributes = if self.has(Fault::TrustUnsignedAttributes) {
            body.get("requestedAttributes")
        } else {
            payload.get("requestedAttributes")
        };
        Ok(identity(
            field("userInfoType"),
            field("userInfo"),
            attributes,
        ))
    }

    /// Under `fetch-jku`/`fetch-x5u` only: the key the header's URL serves. Never off loopback.
    async fn fetch_key(&self, details: &str) -> Option<jws::ForeignKey> {
        let header = jws::peek_header(details)?;
        let url = |k: &str| header.get(k).and_then(Value::as_str).map(str::to_owned);
        let (url, jwks) = if self.has(Fault::FetchJku) && url("jku").is_some() {
            (url("jku")?, true)
        } else if self.has(Fault::FetchX5u) && url("x5u").is_some() {
            (url("x5u")?, false)
        } else {
            return None;
        };
        ensure_loopback(&url).ok()?;
        let resp = self.client().ok()?.get(&url).send().await.ok()?;
        let bytes = resp.bytes().await.ok()?;
        if jwks {
            jws::ForeignKey::from_jwks(&bytes, header.get("kid").and_then(Value::as_str))
        } else {
            jws::ForeignKey::from_pem(&bytes)
        }
    }

    /// The init request as this RP sends it: the request faults garble a correct one.
    fn as_sent(&self, init: &Value) -> Value {
        let mut sent = init.clone();
        let Value::Object(m) = &mut sent else {
            return sent;
        };
        if self.has(Fault::SsnWithoutCountry)
            && m.get("userInfoType") == Some(&json!("SSN"))
            && let Some(info) = m.get("userInfo").and_then(Value::as_str)
            && let Ok(bytes) = STANDARD.decode(info)
            && let Ok(Value::Object(mut ssn)) = serde_json::from_slice::<Value>(&bytes)
        {
            ssn.remove("country");
            let info = STANDARD.encode(Value::Object(ssn).to_string());
            m.insert("userInfo".into(), Value::String(info));
        }
        if self.has(Fault::EmptyAttributesToReturn) && !m.contains_key("attributesToReturn") {
            m.insert("attributesToReturn".into(), json!([]));
        }
        if self.has(Fault::NoRegistrationLevel) {
            m.remove("minRegistrationLevel");
        }
        if self.has(Fault::BasicLevelForExtendedAttributes) && !restricted_attributes(m).is_empty()
        {
            m.insert("minRegistrationLevel".into(), json!("BASIC"));
        }
        if self.has(Fault::SignatureTypeMismatch) && m.contains_key("dataToSignType") {
            m.insert("dataToSignType".into(), json!("EXTENDED_UTF8_TEXT"));
        }
        sent
    }

    /// One exchange with its status mapping. Never retried (except under `retry-on-500`).
    async fn call(&self, ep: FrejaEndpoint, request: &Value) -> Result<Answer, Rejection> {
        let url = format!("{}{}", self.env.base_url.trim_end_matches('/'), ep.path());
        let mut request = request.clone();
        let in_json = self.has(Fault::RelyingPartyIdInJson);
        if in_json && let (Some(id), Value::Object(m)) = (&self.env.relying_party_id, &mut request)
        {
            m.insert("relyingPartyId".into(), Value::String(id.clone()));
        }
        let encoded = if self.has(Fault::Base64UrlRequests) {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(request.to_string())
        } else {
            STANDARD.encode(request.to_string())
        };
        let mut body = format!("{}={}", ep.param(), encoded);
        if let Some(id) = self.env.relying_party_id.as_ref().filter(|_| !in_json) {
            let id = percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC);
            body.push_str(&format!("&relyingPartyId={id}"));
        }
        let attempts = if self.has(Fault::RetryOn500) { 3 } else { 1 };
        let mut n = 0;
        let (status, bytes) = loop {
            n += 1;
            let (status, bytes) = self.exchange(&url, body.clone()).await?;
            if status != 500 || n >= attempts {
                break (status, bytes);
            }
        };
        self.interpret(ep, status, &bytes)
    }

    async fn exchange(&self, url: &str, body: String) -> Result<(u16, bytes::Bytes), Rejection> {
        let resp = self
            .client()?
            .post(url)
            // What the official Java client sends; the service ignores it.
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| map_error(&e))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| map_error(&e))?;
        Ok((status, bytes))
    }

    fn interpret(&self, ep: FrejaEndpoint, status: u16, bytes: &[u8]) -> Result<Answer, Rejection> {
        let accept_422 = status == 422 && self.has(Fault::Accept422);
        // Cancel confirms with 200 `{}` or with 204 and no body, user management with 204:
        // nothing to read either way.
        if status == 204
            && matches!(ep.call(), FrejaCall::Cancel | FrejaCall::ManageUser)
            && !self.has(Fault::NoContentIsFailure)
        {
            return Ok(Answer {
                body: Map::new(),
                from_422: false,
            });
        }
        if (200..300).contains(&status) || accept_422 {
            return match serde_json::from_slice(bytes) {
                Ok(Value::Object(body)) => Ok(Answer {
                    body,
                    from_422: accept_422,
                }),
                _ => Err(reject(
                    Reason::MalformedResponse,
                    format!(
                        "{} answered {status} with a body that is not a JSON object",
                        ep.name()
                    ),
                )),
            };
        }
        let http_status = || {
            Rejection::new(Reason::HttpStatus)
                .status(status.to_string())
                .detail(format!("{} answered HTTP {status}", ep.name()))
        };
        if (300..400).contains(&status) {
            return Err(http_status());
        }
        let code = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => m.get("code").and_then(Value::as_i64),
            _ => None,
        };
        let Some(code) = code else {
            return Err(http_status());
        };
        if self.has(Fault::PanicOnUnknownCode) && documented_message(code).is_none() {
            panic!("reference RP (fault panic-on-unknown-code): unknown error code {code}");
        }
        if self.has(Fault::DropErrorCode) {
            return Err(http_status());
        }
        Err(Rejection::new(Reason::ProviderError)
            .code(code)
            .detail(format!(
                "{} answered HTTP {status} with error code {code}",
                ep.name()
            )))
    }
}

/// `freja.cancel`: initiate, then cancel with the reference the provider returned; no polling.
pub(crate) async fn cancel(
    faults: &BTreeSet<Fault>,
    env: &FrejaEnvironment,
    r: &FrejaCancelRequest,
) -> Outcome {
    let rp = match Rp::new(faults, env) {
        Ok(rp) => rp,
        Err(r) => return r.into(),
    };
    let org_ignored = rp.has(Fault::PersonalEndpointsForOrganisation);
    let flow = match &r.text {
        Some(text) => {
            let mut s = FrejaSignRequest::new(r.user_info_type, r.user_info.clone(), text.clone());
            s.country = r.country.clone();
            s.min_registration_level = r.min_registration_level.clone();
            s.organisation = r.organisation;
            Flow::sign(&s, org_ignored)
        }
        None => {
            let mut a = FrejaRequest::new(r.user_info_type, r.user_info.clone());
            a.country = r.country.clone();
            a.min_registration_level = r.min_registration_level.clone();
            a.organisation = r.organisation;
            Flow::auth(&a, org_ignored)
        }
    };
    let cancel = flow.init.cancel();
    let ref_field = flow.init.reference_field();
    let run = async {
        let init = rp.call(flow.init, &rp.as_sent(&flow.init_json)).await?;
        let Some(Value::String(reference)) = init.body.get(ref_field) else {
            return Err(reject(
                Reason::MalformedResponse,
                format!("init answer has no {ref_field}"),
            ));
        };
        rp.call(cancel, &json!({ ref_field: reference })).await?;
        Ok(())
    };
    done_within_flow_deadline(env, "the cancellation did not end", run).await
}

/// Verify a given `details` token (`freja.verify_details`) as if an APPROVED result carried it.
pub(crate) async fn verify_details(
    faults: &BTreeSet<Fault>,
    env: &FrejaEnvironment,
    op: &FrejaVerifyDetails,
) -> Outcome {
    let rp = match Rp::new(faults, env) {
        Ok(rp) => rp,
        Err(r) => return r.into(),
    };
    let ref_field = if op.sign { "signRef" } else { "authRef" };
    let mut body = Map::new();
    body.insert("details".into(), Value::String(op.details.clone()));
    match rp
        .approved(&body, ref_field, &op.reference, &Asked::default())
        .await
    {
        Ok(identity) => Outcome::accepted(identity),
        Err(r) => r.into(),
    }
}

enum Status {
    Approved,
    Pending,
    Final,
    Unknown,
}

fn identity(
    user_info_type: Value,
    user_info: Value,
    attributes: Option<&Value>,
) -> BTreeMap<String, Value> {
    BTreeMap::from([
        ("userInfoType".to_owned(), user_info_type),
        ("userInfo".to_owned(), user_info),
        (
            "requestedAttributes".to_owned(),
            attributes.cloned().unwrap_or_else(|| json!({})),
        ),
    ])
}

/// Transport failures: trust failures of the server certificate are `server_untrusted`, an
/// exchange that ran out of time is `timeout`, anything else `transport`.
/// The PEM trust anchors of an environment as reqwest certificates (and nothing else trusted).
pub(crate) fn trust_anchors(pems: &[String]) -> Result<Vec<reqwest::Certificate>, String> {
    let mut anchors = Vec::new();
    for pem in pems {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| format!("trust anchor: {e}"))?;
        anchors.extend(certs);
    }
    Ok(anchors)
}

/// No redirects, unless the `follow-redirects` fault is on; even then never off loopback.
pub(crate) fn redirect_policy(faults: &BTreeSet<Fault>) -> reqwest::redirect::Policy {
    if !faults.contains(&Fault::FollowRedirects) {
        return reqwest::redirect::Policy::none();
    }
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 5 {
            attempt.stop()
        } else if ensure_loopback(attempt.url().as_str()).is_err() {
            attempt.error("eidconf refuses to follow a redirect off loopback")
        } else {
            attempt.follow()
        }
    })
}

pub(crate) fn map_error(e: &reqwest::Error) -> Rejection {
    let detail = error_chain(e);
    if e.is_timeout() {
        return reject(Reason::Timeout, detail);
    }
    if server_cert_rejected(e) {
        return reject(Reason::ServerUntrusted, detail);
    }
    reject(Reason::Transport, detail)
}

fn server_cert_rejected(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(rustls::Error::InvalidCertificate(_)) = err.downcast_ref::<rustls::Error>() {
            return true;
        }
        // io::Error::source() skips the error it wraps; look inside explicitly.
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && server_cert_rejected(inner)
        {
            return true;
        }
        cur = err.source();
    }
    false
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        out.push_str(": ");
        out.push_str(&err.to_string());
        cur = err.source();
    }
    out
}

/// `freja.set_custom_identifier` and `freja.delete_custom_identifier`: one call each, 204 when
/// done.
pub(crate) async fn manage_custom_identifier(
    faults: &BTreeSet<Fault>,
    env: &FrejaEnvironment,
    op: &Operation,
) -> Outcome {
    let rp = match Rp::new(faults, env) {
        Ok(rp) => rp,
        Err(r) => return r.into(),
    };
    let (ep, request) = match op {
        Operation::FrejaSetCustomIdentifier(r) => {
            let mut m = Map::new();
            m.insert("userInfoType".into(), json!(r.user_info_type.as_str()));
            if !rp.has(Fault::CustomIdentifierWithoutUserInfo) {
                let user_info =
                    wire_user_info(r.user_info_type, &r.user_info, r.country.as_deref());
                m.insert("userInfo".into(), Value::String(user_info));
            }
            let id: String = if rp.has(Fault::TruncateCustomIdentifier) {
                r.custom_identifier.chars().take(64).collect()
            } else {
                r.custom_identifier.clone()
            };
            m.insert("customIdentifier".into(), Value::String(id));
            (FrejaEndpoint::SetCustomIdentifier, Value::Object(m))
        }
        Operation::FrejaDeleteCustomIdentifier(r) => (
            FrejaEndpoint::DeleteCustomIdentifier,
            json!({ "customIdentifier": r.custom_identifier }),
        ),
        _ => return Outcome::Unsupported,
    };
    let what = format!("{} did not answer", ep.name());
    done_within_flow_deadline(env, &what, async { rp.call(ep, &request).await.map(drop) }).await
}

/// An operation that returns no identity, bounded by the flow deadline: accepted (empty
/// identity) when `run` succeeds in time.
async fn done_within_flow_deadline(
    env: &FrejaEnvironment,
    what: &str,
    run: impl std::future::Future<Output = Result<(), Rejection>>,
) -> Outcome {
    let limit = Duration::from_millis(env.flow_timeout_ms);
    match tokio::time::timeout(limit, run).await {
        Ok(Ok(())) => Outcome::accepted(BTreeMap::new()),
        Ok(Err(r)) => r.into(),
        Err(_) => reject(
            Reason::Timeout,
            format!("{what} within {} ms", env.flow_timeout_ms),
        )
        .into(),
    }
}
