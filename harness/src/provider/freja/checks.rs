//! Request-side checks on what the RP sent to the Freja services host, held against the
//! provider's own client library (github.com/Freja-eID/frejaeidclient: `HttpService`,
//! `UserInfoUtil`, `RequestValidationService`, `InitiateSignRequestBuilders`, `FrejaEidErrorCode`)
//! and RFC 4648 §4.
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

/// Attributes the provider releases only for users registered at EXTENDED or PLUS: "If the
/// requested attribute is BASIC_USER_INFO, DATE_OF_BIRTH or SSN the minRegistrationLevel must be
/// set to EXTENDED or PLUS" (the Relying Party Developers' Documentation, as quoted in
/// github.com/modfin/twofer `eid/freja/frejam/auth.go`).
pub const NEED_EXTENDED: &[&str] = &["BASIC_USER_INFO", "DATE_OF_BIRTH", "SSN"];

/// The attributes of an init request's `attributesToReturn` that need EXTENDED or PLUS.
pub(crate) fn restricted_attributes(json: &serde_json::Map<String, Value>) -> Vec<&str> {
    json.get("attributesToReturn")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("attribute").and_then(Value::as_str))
        .filter(|a| NEED_EXTENDED.contains(a))
        .collect()
}

/// What the environment told the RP.
#[derive(Debug, Clone, Default)]
pub struct Told {
    /// The `relyingPartyId` of an integrator RP.
    pub relying_party_id: Option<String>,
    pub poll_interval_ms: u64,
}

/// Every `freja.request.*` check over the requests the mock saw, in order.
pub fn request_checks(requests: &[ObservedRequest], told: &Told) -> Vec<Check> {
    let relying_party_id = told.relying_party_id.as_deref();
    let mut t = Tally::default();
    if let Some(verdict) = poll_interval(requests, told.poll_interval_ms) {
        t.add(CheckId::FrejaRequestPollInterval, None, verdict);
    }
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
        if ep.call() == FrejaCall::ManageUser {
            t.add(
                CheckId::FrejaRequestCustomIdentifier,
                None,
                custom_identifier(ep, json),
            );
            if ep == FrejaEndpoint::SetCustomIdentifier {
                t.add(
                    CheckId::FrejaRequestUserInfo,
                    None,
                    user_info(ep, json, true),
                );
            }
            continue;
        }
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
        if matches!(ep, FrejaEndpoint::SignInit | FrejaEndpoint::OrgSignInit) {
            t.add(
                CheckId::FrejaRequestSignature,
                None,
                signature(ep, json, r.received_ms),
            );
        }
    }
    t.into_checks()
}

/// The average gap between result requests (`getOneResult`, `getResults`) is at least half the
/// poll interval. An average over the whole run of polls, so that one request held up on a busy
/// machine cannot make a patient RP look hasty. Needs three result requests (two gaps).
fn poll_interval(requests: &[ObservedRequest], interval_ms: u64) -> Option<(bool, String)> {
    let polls: Vec<u64> = requests
        .iter()
        .filter(|r| {
            r.endpoint.is_some_and(|e| {
                matches!(e.call(), FrejaCall::GetOneResult | FrejaCall::GetResults)
            })
        })
        .map(|r| r.received_ms)
        .collect();
    let (first, last) = (*polls.first()?, *polls.last()?);
    if polls.len() < 3 {
        return None;
    }
    let gaps = polls.len() as u64 - 1;
    let average = last.saturating_sub(first) / gaps;
    let floor = interval_ms / 2;
    Some((
        average >= floor,
        format!(
            "{} result requests, {average} ms apart on average; the RP was told to poll every \
             {interval_ms} ms",
            polls.len()
        ),
    ))
}

/// `InitiateSignRequestBuilders` (github.com/Freja-eID/frejaeidclient): "SIMPLE signature type can
/// only be used with SIMPLE_UTF8_TEXT data type, EXTENDED signature type can only be used with
/// EXTENDED_UTF8_TEXT data type, while the XML_MINAMEDDELANDEN signature type can be used with
/// both"; text not empty; title at most 128 characters and not empty if set; expiry in epoch
/// milliseconds, "Min value is current time +2 minutes, max value is current time +30 days".
fn signature(
    ep: FrejaEndpoint,
    json: &serde_json::Map<String, Value>,
    received_ms: u64,
) -> (bool, String) {
    let path = ep.path();
    let fail = |m: String| (false, format!("`{path}`: {m}"));
    let data_type = json.get("dataToSignType").and_then(Value::as_str);
    let sig_type = json.get("signatureType").and_then(Value::as_str);
    match (data_type, sig_type) {
        (Some("SIMPLE_UTF8_TEXT"), Some("SIMPLE" | "XML_MINAMEDDELANDEN"))
        | (Some("EXTENDED_UTF8_TEXT"), Some("EXTENDED" | "XML_MINAMEDDELANDEN")) => {}
        (d, t) => {
            return fail(format!(
                "`signatureType` {} does not go with `dataToSignType` {}",
                shown(t),
                shown(d)
            ));
        }
    }
    let text = json
        .get("dataToSign")
        .and_then(|d| d.get("text"))
        .and_then(Value::as_str);
    let Some(text) = text else {
        return fail("`dataToSign` is not an object with a `text` string".into());
    };
    match STANDARD.decode(text).map(String::from_utf8) {
        Ok(Ok(t)) if !t.is_empty() => {}
        Ok(Ok(_)) => return fail("`dataToSign.text` is empty".into()),
        _ => return fail("`dataToSign.text` is not standard Base64 of UTF-8 text".into()),
    }
    if let Some(binary) = json.get("dataToSign").and_then(|d| d.get("binaryData")) {
        if data_type != Some("EXTENDED_UTF8_TEXT") {
            return fail(
                "`dataToSign.binaryData` needs `dataToSignType` EXTENDED_UTF8_TEXT".into(),
            );
        }
        if binary.as_str().is_none_or(|b| STANDARD.decode(b).is_err()) {
            return fail("`dataToSign.binaryData` is not standard Base64".into());
        }
    }
    match json.get("title") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if (1..=128).contains(&t.chars().count()) => {}
        Some(t) => return fail(format!("`title` {t} is not 1 to 128 characters")),
    }
    const MINUTE_MS: u64 = 60_000;
    match json.get("expiry") {
        None | Some(Value::Null) => {}
        Some(e) => {
            // A minute's grace below the floor: the RP computed it before the request travelled.
            let (low, high) = (
                received_ms + MINUTE_MS,
                received_ms + 30 * 24 * 60 * MINUTE_MS + MINUTE_MS,
            );
            match e.as_u64() {
                Some(ms) if (low..=high).contains(&ms) => {}
                Some(s) if (low..=high).contains(&s.saturating_mul(1000)) => {
                    return fail(format!(
                        "`expiry` {s} is in seconds; the provider reads epoch milliseconds"
                    ));
                }
                _ => {
                    return fail(format!(
                        "`expiry` {e} is not epoch milliseconds from now + 2 minutes to now + 30 days"
                    ));
                }
            }
        }
    }
    (
        true,
        format!(
            "`{path}`: {} text with {} signature",
            shown(data_type),
            shown(sig_type)
        ),
    )
}

fn shown(v: Option<&str>) -> String {
    v.map_or_else(|| "absent".to_owned(), str::to_owned)
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
/// context, `orgIdIssuer` absent, empty or ANY.
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
    // "OrgIdIssuer must be null/empty or <ANY>" (RequestValidationService).
    match json.get("orgIdIssuer") {
        None | Some(Value::Null) => {}
        Some(Value::String(i)) if i.is_empty() || i.eq_ignore_ascii_case("ANY") => {}
        Some(other) => {
            return (
                false,
                format!("`{path}`: `orgIdIssuer` is {other}; it must be absent, empty or ANY"),
            );
        }
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

/// `customIdentifier` "cannot be null or empty" and has a "Maximum length is 128 characters"
/// (`RequestValidationService.validateIdentifier`, `SetCustomIdentifierRequestBuilder`).
fn custom_identifier(ep: FrejaEndpoint, json: &serde_json::Map<String, Value>) -> (bool, String) {
    let path = ep.path();
    match json.get("customIdentifier") {
        Some(Value::String(id)) if id.trim().is_empty() => {
            (false, format!("`{path}`: `customIdentifier` is blank"))
        }
        Some(Value::String(id)) if id.chars().count() > 128 => (
            false,
            format!(
                "`{path}`: `customIdentifier` has {} characters; at most 128 are allowed",
                id.chars().count()
            ),
        ),
        Some(Value::String(id)) => (
            true,
            format!(
                "`{path}`: `customIdentifier` of {} characters",
                id.chars().count()
            ),
        ),
        Some(other) => (
            false,
            format!("`{path}`: `customIdentifier` is {other}, not a string"),
        ),
        None => (false, format!("`{path}`: `customIdentifier` is missing")),
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
            let asked = restricted_attributes(json);
            if asked.is_empty() || matches!(l.as_str(), "EXTENDED" | "PLUS") {
                (true, format!("`{path}`: `minRegistrationLevel` {l}"))
            } else {
                (
                    false,
                    format!(
                        "`{path}`: `minRegistrationLevel` {l} with {} requested; they need \
                         EXTENDED or PLUS",
                        asked.join(", ")
                    ),
                )
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000_000;
    const MINUTE: u64 = 60_000;

    fn sign(members: Value) -> (bool, String) {
        let mut base = json!({
            "userInfoType": "EMAIL", "userInfo": "a@example.com", "minRegistrationLevel": "BASIC",
            "dataToSignType": "SIMPLE_UTF8_TEXT", "signatureType": "SIMPLE",
            "dataToSign": {"text": STANDARD.encode("Jag godkänner")},
        });
        for (k, v) in members.as_object().unwrap() {
            base[k] = v.clone();
        }
        signature(FrejaEndpoint::SignInit, base.as_object().unwrap(), NOW)
    }

    #[test]
    fn a_simple_signature_request_passes() {
        assert!(sign(json!({})).0);
        assert!(sign(json!({"title": "t".repeat(128), "expiry": NOW + 2 * MINUTE})).0);
        assert!(sign(json!({"expiry": NOW + 30 * 24 * 60 * MINUTE})).0);
        let extended = json!({"dataToSignType": "EXTENDED_UTF8_TEXT", "signatureType": "EXTENDED",
            "dataToSign": {"text": STANDARD.encode("x"), "binaryData": STANDARD.encode([0u8, 1])}});
        assert!(sign(extended).0);
    }

    #[test]
    fn each_rule_fails_with_its_own_message() {
        for (members, says) in [
            (
                json!({"dataToSignType": "EXTENDED_UTF8_TEXT"}),
                "does not go with",
            ),
            (json!({"signatureType": "EXTENDED"}), "does not go with"),
            (json!({"signatureType": null}), "absent"),
            (json!({"dataToSign": {"text": ""}}), "empty"),
            (
                json!({"dataToSign": {"text": "SmFn-_"}}),
                "not standard Base64",
            ),
            (json!({"dataToSign": "Jag"}), "not an object"),
            (
                json!({"dataToSign": {"text": "eA==", "binaryData": "AA=="}}),
                "binaryData",
            ),
            (json!({"title": ""}), "1 to 128"),
            (json!({"title": "t".repeat(129)}), "1 to 128"),
            (json!({"expiry": (NOW + 10 * MINUTE) / 1000}), "in seconds"),
            (json!({"expiry": NOW - MINUTE}), "now + 2 minutes"),
            (json!({"expiry": NOW + 31 * 24 * 60 * MINUTE}), "30 days"),
            (json!({"expiry": "soon"}), "epoch milliseconds"),
        ] {
            let (ok, detail) = sign(members.clone());
            assert!(!ok && detail.contains(says), "{members}: {detail}");
        }
    }

    #[test]
    fn restricted_attributes_need_extended() {
        let at = |level: &str, attrs: Value| {
            let json = json!({"userInfoType": "EMAIL", "userInfo": "a@example.com",
                "minRegistrationLevel": level, "attributesToReturn": attrs});
            registration_level(FrejaEndpoint::AuthInit, json.as_object().unwrap(), true)
        };
        for a in NEED_EXTENDED {
            let (ok, detail) = at("BASIC", json!([{"attribute": a}]));
            assert!(!ok && detail.contains(a), "{detail}");
            assert!(at("EXTENDED", json!([{"attribute": a}])).0);
            assert!(at("PLUS", json!([{"attribute": a}])).0);
        }
        assert!(at("BASIC", json!([{"attribute": "EMAIL_ADDRESS"}])).0);
    }

    fn poll_at(ms: &[u64]) -> Vec<ObservedRequest> {
        ms.iter()
            .map(|&received_ms| ObservedRequest {
                endpoint: Some(FrejaEndpoint::AuthGetOneResult),
                method: "POST".into(),
                path: FrejaEndpoint::AuthGetOneResult.path().into(),
                param: None,
                encoding: BodyEncoding::RawBase64,
                request_json: None,
                relying_party_id: None,
                client_certificate: None,
                response_status: 200,
                received_ms,
            })
            .collect()
    }

    #[test]
    fn the_poll_interval_is_judged_on_the_average_gap() {
        assert_eq!(
            poll_interval(&poll_at(&[0, 100]), 150),
            None,
            "one gap says too little"
        );
        assert!(poll_interval(&poll_at(&[0, 150, 300, 450]), 150).unwrap().0);
        // One request held up (the first arrived late) does not make a patient RP hasty.
        assert!(
            poll_interval(&poll_at(&[120, 150, 300, 450]), 150)
                .unwrap()
                .0
        );
        let (ok, detail) = poll_interval(&poll_at(&[0, 2, 3, 5]), 150).unwrap();
        assert!(
            !ok && detail.contains("told to poll every 150 ms"),
            "{detail}"
        );
    }
}
