//! Request-side checks on what the RP sent to the Freja services host, held against the
//! provider's own client library (github.com/Freja-eID/frejaeidclient: `HttpService`,
//! `UserInfoUtil`, `RequestValidationService`, `FrejaEidErrorCode`) and RFC 4648 §4.
//!
//! Every check is made whenever its input exists and lands in the evidence; a vector asserts the
//! ones it is about with `expect.checks`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::provider::checks::{Check, CheckId, Tally};
use crate::provider::{BodyEncoding, ObservedRequest};
use crate::vector::model::{FrejaCall, FrejaEndpoint};

/// The registration levels of the client library's `MinRegistrationLevel`.
const LEVELS: &[&str] = &["BASIC", "EXTENDED", "PLUS", "INFERRED"];

/// Every `freja.request.*` check over the requests the mock saw, in order. `relying_party_id`:
/// the one the environment gave an integrator RP.
pub fn request_checks(requests: &[ObservedRequest], relying_party_id: Option<&str>) -> Vec<Check> {
    let mut t = Tally::default();
    for r in requests {
        let Some(ep) = r.endpoint else { continue };
        t.add(CheckId::FrejaRequestForm, None, form(ep, r));
        if relying_party_id.is_some() || r.relying_party_id.is_some() {
            t.add(
                CheckId::FrejaRequestRelyingPartyId,
                None,
                integrator(ep, r, relying_party_id),
            );
        }
        let Some(Value::Object(json)) = &r.request_json else {
            continue;
        };
        if ep.call() != FrejaCall::Init {
            continue;
        }
        let personal = !ep.is_organisation();
        t.add(
            CheckId::FrejaRequestUserInfo,
            None,
            user_info(ep, json, personal),
        );
        t.add(
            CheckId::FrejaRequestRegistrationLevel,
            None,
            registration_level(ep, json, personal),
        );
        t.add(CheckId::FrejaRequestAttributes, None, attributes(ep, json));
    }
    t.into_checks()
}

/// `<param>=<standard Base64 of a UTF-8 JSON object>`, the parameter named for the endpoint.
fn form(ep: FrejaEndpoint, r: &ObservedRequest) -> (bool, String) {
    let path = ep.path();
    let want = ep.param();
    match (r.param.as_deref(), r.encoding) {
        (_, BodyEncoding::None) => (false, format!("`{path}`: no body, expected `{want}=`")),
        (Some(p), _) if p != want => (
            false,
            format!("`{path}`: the form parameter is `{p}`, expected `{want}`"),
        ),
        (_, BodyEncoding::Base64Url) => (
            false,
            format!(
                "`{path}`: `{want}` is base64url (RFC 4648 §5), not standard Base64 (RFC 4648 §4)"
            ),
        ),
        (_, BodyEncoding::Undecodable) => (
            false,
            format!("`{path}`: `{want}` is not standard Base64 of a UTF-8 JSON object"),
        ),
        (_, BodyEncoding::RawBase64 | BodyEncoding::PercentEncoded) => (
            true,
            format!("`{path}`: `{want}` is standard Base64 of a JSON object"),
        ),
    }
}

/// An integrator's `relyingPartyId` is a form parameter of its own, outside the JSON, on every
/// request; an RP that was given none sends none.
fn integrator(ep: FrejaEndpoint, r: &ObservedRequest, expected: Option<&str>) -> (bool, String) {
    let path = ep.path();
    let in_json = r
        .request_json
        .as_ref()
        .is_some_and(|j| j.get("relyingPartyId").is_some());
    match (expected, r.relying_party_id.as_deref()) {
        _ if in_json => (
            false,
            format!(
                "`{path}`: `relyingPartyId` is inside the JSON, not a form parameter of its own"
            ),
        ),
        (Some(want), Some(got)) if want == got => (
            true,
            format!("`{path}`: `relyingPartyId={got}` beside the request"),
        ),
        (Some(want), Some(got)) => (
            false,
            format!("`{path}`: `relyingPartyId` is `{got}`, expected `{want}`"),
        ),
        (Some(want), None) => (
            false,
            format!("`{path}`: no `relyingPartyId` form parameter, expected `{want}`"),
        ),
        (None, Some(got)) => (
            false,
            format!("`{path}`: `relyingPartyId={got}` sent, but the RP was given none"),
        ),
        (None, None) => (true, format!("`{path}`: no `relyingPartyId`")),
    }
}

/// `userInfo` is not blank, SSN is Base64 of `{"country", "ssn"}`, ORG_ID only in organisation
/// context.
fn user_info(
    ep: FrejaEndpoint,
    json: &serde_json::Map<String, Value>,
    personal: bool,
) -> (bool, String) {
    let path = ep.path();
    let kind = json.get("userInfoType").and_then(Value::as_str);
    let info = json.get("userInfo").and_then(Value::as_str);
    let (Some(kind), Some(info)) = (kind, info) else {
        return (
            false,
            format!("`{path}`: `userInfoType` and `userInfo` must both be strings"),
        );
    };
    if info.trim().is_empty() {
        return (false, format!("`{path}`: `userInfo` is blank"));
    }
    match kind {
        "ORG_ID" if personal => (
            false,
            format!("`{path}`: `userInfoType` ORG_ID outside the organisation endpoints"),
        ),
        "SSN" => ssn(path, info),
        _ => (true, format!("`{path}`: {kind} `userInfo` given")),
    }
}

fn ssn(path: &str, info: &str) -> (bool, String) {
    let Ok(bytes) = STANDARD.decode(info) else {
        return (
            false,
            format!(
                "`{path}`: SSN `userInfo` is not standard Base64 (of `{{\"country\", \"ssn\"}}`)"
            ),
        );
    };
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&bytes) else {
        return (
            false,
            format!("`{path}`: SSN `userInfo` is not Base64 of a JSON object"),
        );
    };
    let country = m.get("country").and_then(Value::as_str);
    let number = m.get("ssn").and_then(Value::as_str);
    match (country, number) {
        (Some(c), Some(n))
            if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) && !n.is_empty() =>
        {
            (true, format!("`{path}`: SSN `userInfo` names country {c}"))
        }
        (None, _) => (false, format!("`{path}`: SSN `userInfo` has no `country`")),
        _ => (
            false,
            format!(
                "`{path}`: SSN `userInfo` needs a two-letter `country` and an `ssn`, got {}",
                Value::Object(m)
            ),
        ),
    }
}

/// `minRegistrationLevel` is given in personal context, and is one the provider knows.
fn registration_level(
    ep: FrejaEndpoint,
    json: &serde_json::Map<String, Value>,
    personal: bool,
) -> (bool, String) {
    let path = ep.path();
    match json.get("minRegistrationLevel") {
        None | Some(Value::Null) if personal => (
            false,
            format!("`{path}`: no `minRegistrationLevel` in personal context"),
        ),
        None | Some(Value::Null) => (true, format!("`{path}`: no `minRegistrationLevel`")),
        Some(Value::String(l)) if LEVELS.contains(&l.as_str()) => {
            (true, format!("`{path}`: `minRegistrationLevel` {l}"))
        }
        Some(other) => (
            false,
            format!(
                "`{path}`: `minRegistrationLevel` is {other}, not one of {}",
                LEVELS.join(", ")
            ),
        ),
    }
}

/// `attributesToReturn`, when present, is a non-empty array of `{"attribute": <name>}`.
fn attributes(ep: FrejaEndpoint, json: &serde_json::Map<String, Value>) -> (bool, String) {
    let path = ep.path();
    match json.get("attributesToReturn") {
        None | Some(Value::Null) => (true, format!("`{path}`: no `attributesToReturn`")),
        Some(Value::Array(a)) if a.is_empty() => (
            false,
            format!("`{path}`: `attributesToReturn` is an empty array; leave it out instead"),
        ),
        Some(Value::Array(a)) => {
            let bad: Vec<String> = a
                .iter()
                .filter(|x| !x.get("attribute").is_some_and(Value::is_string))
                .map(Value::to_string)
                .collect();
            if bad.is_empty() {
                (
                    true,
                    format!("`{path}`: {} attribute(s) requested", a.len()),
                )
            } else {
                (
                    false,
                    format!(
                        "`{path}`: `attributesToReturn` entries must be {{\"attribute\": <name>}}, got {}",
                        bad.join(", ")
                    ),
                )
            }
        }
        Some(other) => (
            false,
            format!("`{path}`: `attributesToReturn` is {other}, not an array"),
        ),
    }
}
