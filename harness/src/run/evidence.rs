//! A vector's evidence: what the mock served (each response, and every token in it decoded),
//! what the RP was given and sent, and the environment it was handed, with the material many
//! vectors share (key sets, certificates, algorithm lists, bodies, lists of checks) moved to
//! the report's `shared` map so that a report carries it once.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::Digest as _;

use super::Execution;
use super::redact;
use crate::pki::Pki;

/// The longest response body a report keeps, in bytes; the rest is counted, not kept.
pub const BODY_LIMIT: usize = 2048;
/// The longest raw token a report keeps whole, in bytes: a typical ID token or `details` JWS
/// fits, so a developer can replay it; a compression bomb does not (its header and payload are
/// decoded in full either way).
pub const TOKEN_LIMIT: usize = 4096;
/// The member of a vector's `environment` naming its entry in the report's `shared` map.
pub const SHARED_KEY: &str = "shared_environment";

/// How much evidence a report keeps for a vector that passed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Detail {
    /// A passing vector's evidence in brief (see [`summarise`]); every other vector's whole.
    #[default]
    Auto,
    /// Every vector's evidence whole.
    Full,
}

/// A passing vector's evidence in brief: the tokens it was given and served, decoded but without
/// their raw form (an undecodable one cut at [`SUMMARY_TOKEN_LIMIT`]; `header` marks a JWS,
/// `protected_header` a JWE); the served responses that carried a token or a short body; the
/// endpoints the RP called with the statuses it got, one string each under `requests`
/// (`auth_get_one_result 200 ×3`); the ids of the checks its requests passed; and anything that
/// went wrong on the way (failed checks, TLS failures, canary fetches, the driver's stderr), the
/// provider's members one level up. Left out: the environment (the vector's input, not its
/// evidence) and what the RP sent in full (request objects, client assertions, token requests),
/// whose checks all passed. A deviation keeps its whole evidence, and `--evidence full` keeps
/// every vector's.
pub fn summarise(ev: &mut Value) {
    let Some(o) = ev.as_object_mut() else {
        return;
    };
    let mut out = Map::new();
    if let Some(Value::Array(given)) = o.shift_remove("given_tokens") {
        let given = given.into_iter().map(without_raw).collect();
        out.insert("given_tokens".into(), Value::Array(given));
    }
    if let Some(Value::Array(served)) = o.shift_remove("served") {
        let served = served
            .into_iter()
            .filter_map(|r| {
                let Value::Object(mut r) = r else {
                    return None;
                };
                let content = match r.shift_remove("tokens") {
                    Some(Value::Array(t)) => Some((
                        "tokens",
                        Value::Array(t.into_iter().map(without_raw).collect()),
                    )),
                    _ => match r.shift_remove("body") {
                        Some(Value::String(b)) if b.len() <= SUMMARY_BODY_LIMIT => {
                            Some(("body", Value::String(b)))
                        }
                        _ => None,
                    },
                };
                // Without content or a fault, its status is under the requests.
                if content.is_none() && !r.contains_key("fault") {
                    return None;
                }
                let mut brief = Map::new();
                for k in ["path", "status", "times", "fault"] {
                    if let Some(x) = r.shift_remove(k) {
                        brief.insert(k.into(), x);
                    }
                }
                if let Some((k, x)) = content {
                    brief.insert(k.into(), x);
                }
                Some(Value::Object(brief))
            })
            .collect();
        out.insert("served".into(), Value::Array(served));
    }
    if let Some(Value::Object(mut p)) = o.shift_remove("provider") {
        // `endpoint status`, `×n` when polled n times alike.
        let calls = |requests: Option<Value>| -> Vec<Value> {
            let Some(Value::Array(requests)) = requests else {
                return Vec::new();
            };
            requests
                .iter()
                .map(|q| {
                    let s = |k: &str| {
                        q.get(k).filter(|x| !x.is_null()).map(|x| match x {
                            Value::String(s) => s.clone(),
                            x => x.to_string(),
                        })
                    };
                    let mut line = s("endpoint").or_else(|| s("path")).unwrap_or_default();
                    if let Some(status) = s("response_status") {
                        line = format!("{line} {status}");
                    }
                    if let Some(n) = s("times") {
                        line = format!("{line} ×{n}");
                    }
                    Value::String(line)
                })
                .collect()
        };
        let mut requests = calls(p.shift_remove("requests"));
        if let Some(Value::Object(mut b)) = p.shift_remove("broker") {
            requests.extend(calls(b.shift_remove("requests")));
        }
        if !requests.is_empty() {
            out.insert("requests".into(), Value::Array(requests));
        }
        for (k, x) in p {
            let empty = matches!(&x, Value::Array(a) if a.is_empty()) || x.is_null();
            if !empty {
                out.insert(k, x);
            }
        }
    }
    if let Some(stderr) = o.shift_remove("driver_stderr") {
        out.insert("driver_stderr".into(), stderr);
    }
    *ev = Value::Object(out);
}

/// The longest served body a summary keeps (an error payload, a status); longer ones are
/// left to `--evidence full`.
pub const SUMMARY_BODY_LIMIT: usize = 256;

/// Drop the entries of `shared` that no evidence names any more (summaries leave bodies out).
pub fn prune<'a>(shared: &mut BTreeMap<String, Value>, evidence: impl Iterator<Item = &'a Value>) {
    fn names<'a>(v: &'a Value, out: &mut std::collections::BTreeSet<&'a str>) {
        match v {
            Value::String(s) => {
                out.insert(s);
            }
            Value::Array(a) => a.iter().for_each(|x| names(x, out)),
            Value::Object(o) => o.values().for_each(|x| names(x, out)),
            _ => {}
        }
    }
    let mut named = std::collections::BTreeSet::new();
    for ev in evidence {
        names(ev, &mut named);
    }
    shared.retain(|k, _| named.contains(k.as_str()));
}

/// The longest undecodable token a summary keeps.
pub const SUMMARY_TOKEN_LIMIT: usize = 128;

fn without_raw(mut t: Value) -> Value {
    if let Some(o) = t.as_object_mut() {
        if o.get("type").and_then(Value::as_str) == Some("undecodable") {
            if let Some(Value::String(raw)) = o.get_mut("raw") {
                truncate(raw, SUMMARY_TOKEN_LIMIT);
            }
        } else {
            o.shift_remove("raw");
            o.shift_remove("type");
        }
    }
    t
}

/// What the mock saw and served and what the RP was given, private keys redacted, certificates
/// named rather than pasted, bodies and raw tokens truncated.
pub fn build(exec: Option<&Execution>, pki: &Pki) -> Value {
    let Some(exec) = exec else {
        return Value::Null;
    };
    let mut provider = serde_json::to_value(&exec.observations).unwrap_or_default();
    let served = provider
        .as_object_mut()
        .and_then(|o| o.shift_remove("served"))
        .unwrap_or(Value::Null);
    slim(&mut provider);
    // The last login's outcome is the vector's own, shown beside the evidence.
    let outcome = exec
        .outcome
        .as_ref()
        .ok()
        .and_then(|o| serde_json::to_value(o).ok());
    if let Some(Value::Array(logins)) = provider.get_mut("broker").and_then(|b| b.get_mut("logins"))
        && let Some(last) = logins.last_mut().and_then(Value::as_object_mut)
        && outcome.is_some()
        && last.get("outcome") == outcome.as_ref()
    {
        last.shift_remove("outcome");
    }
    let mut v = json!({ "environment": exec.environment });
    if let Some(op) = &exec.operation {
        let mut given = Vec::new();
        tokens_in(op, "", &mut given);
        // A token the forge broke beyond decoding is still what the RP was given; an empty
        // one is left out of the operation on the wire.
        let member = match op.get("op").and_then(Value::as_str) {
            Some("freja.verify_details") => Some("details"),
            Some("oidc.validate_id_token") => Some("id_token"),
            _ => None,
        };
        if let Some(key) = member {
            let at = format!("/{key}");
            let raw = op.get(key).and_then(Value::as_str).unwrap_or_default();
            if !given.iter().any(|t| t["at"] == at.as_str()) {
                given.push(json!({ "type": "undecodable", "raw": raw, "at": at }));
            }
        }
        if !given.is_empty() {
            v["given_tokens"] = Value::Array(given);
        }
    }
    if let Value::Array(served) = served {
        v["served"] = Value::Array(collapse(served, &[]));
    }
    if let Some(Value::Array(requests)) = provider.get_mut("requests") {
        *requests = collapse(std::mem::take(requests), &["received_ms"]);
        // A named endpoint says the path.
        for r in requests.iter_mut().filter_map(Value::as_object_mut) {
            if r.get("endpoint").is_some_and(|e| !e.is_null()) {
                r.shift_remove("path");
            }
        }
    }
    v["provider"] = provider;
    if let Some(stderr) = &exec.driver_stderr {
        v["driver_stderr"] = Value::String(stderr.clone());
    }
    // Redact whole values first: a truncated key may no longer look like one.
    redact::redact_value(&mut v, pki);
    if let Some(Value::Array(served)) = v.get_mut("served") {
        for r in served {
            served_tokens(r);
        }
    }
    if let Some(p) = v.get_mut("provider") {
        shorten_tokens(p);
    }
    for key in ["given_tokens", "served"] {
        if let Some(x) = v.get_mut(key) {
            // Decoded headers and payloads: an embedded JWK may carry private members.
            redact::redact_value(x, pki);
            truncate_in(x);
        }
    }
    v
}

/// Leave out of the provider's observations what the evidence shows elsewhere: the payloads of
/// the `details` JWSs (decoded under `served`), the authorization URL (its parameters are kept),
/// and the words of the checks that passed (their ids are kept).
fn slim(provider: &mut Value) {
    let Some(p) = provider.as_object_mut() else {
        return;
    };
    p.shift_remove("signed_payloads");
    // Nothing to show: no request of this kind, no TLS failure, no canary fetch.
    p.retain(|_, x| !matches!(x, Value::Array(a) if a.is_empty()));
    if let Some(Value::Array(logins)) = p.get_mut("broker").and_then(|b| b.get_mut("logins")) {
        for l in logins.iter_mut().filter_map(Value::as_object_mut) {
            if l.contains_key("authorization_parameters") {
                l.shift_remove("authorization_url");
            }
        }
    }
    if let Some(Value::Array(checks)) = p.shift_remove("checks") {
        let (passed, failed): (Vec<Value>, Vec<Value>) = checks
            .into_iter()
            .partition(|c| c.get("passed") == Some(&Value::Bool(true)));
        let ids: Vec<Value> = passed.iter().filter_map(|c| c.get("id").cloned()).collect();
        if !ids.is_empty() {
            p.insert("checks_passed".into(), Value::Array(ids));
        }
        if !failed.is_empty() {
            p.insert("checks_failed".into(), Value::Array(failed));
        }
    }
}

/// Truncate the raw tokens among the provider's observations (a request object, a
/// `client_assertion`): their headers and payloads are decoded beside them.
fn shorten_tokens(v: &mut Value) {
    match v {
        Value::String(s) if s.len() > TOKEN_LIMIT && decode_token(s).is_some() => {
            truncate(s, TOKEN_LIMIT)
        }
        Value::Array(a) => a.iter_mut().for_each(shorten_tokens),
        Value::Object(o) => o.values_mut().for_each(shorten_tokens),
        _ => {}
    }
}

/// Consecutive entries equal but for the `ignore` members (a status polled until it changes)
/// as one, with `times` counting them; the first one's `ignore` members are kept.
fn collapse(items: Vec<Value>, ignore: &[&str]) -> Vec<Value> {
    let key = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            for k in ignore {
                o.shift_remove(*k);
            }
        }
        v
    };
    let mut out: Vec<(Value, Value, u64)> = Vec::new();
    for item in items {
        let k = key(&item);
        match out.last_mut() {
            Some((last, _, n)) if *last == k => *n += 1,
            _ => out.push((k, item, 1)),
        }
    }
    out.into_iter()
        .map(|(_, mut item, n)| {
            if n > 1
                && let Some(o) = item.as_object_mut()
            {
                o.insert("times".into(), n.into());
            }
            item
        })
        .collect()
}

/// Decode the tokens of a served response's body into its `tokens`; in the body, each token is
/// replaced by `<token: tokens[i]>` (the token keeps its raw form, truncated).
fn served_tokens(r: &mut Value) {
    let Some(body) = r.get("body").and_then(Value::as_str) else {
        return;
    };
    let mut tokens = Vec::new();
    match serde_json::from_str::<Value>(body) {
        Ok(parsed) => tokens_in(&parsed, "", &mut tokens),
        Err(_) => {
            if let Some(t) = decode_token(body.trim()) {
                tokens.push(with_at(t, "body"));
            }
        }
    }
    if tokens.is_empty() {
        return;
    }
    let mut body = body.to_owned();
    for (i, t) in tokens.iter().enumerate() {
        if let Some(raw) = t.get("raw").and_then(Value::as_str) {
            body = body.replace(raw, &format!("<token: tokens[{i}]>"));
        }
    }
    r["body"] = Value::String(body);
    r["tokens"] = Value::Array(tokens);
}

/// Every compact JWS or JWE among the strings of `v`, each with its JSON pointer `at`.
fn tokens_in(v: &Value, at: &str, out: &mut Vec<Value>) {
    match v {
        Value::String(s) => {
            if let Some(t) = decode_token(s) {
                out.push(with_at(t, if at.is_empty() { "/" } else { at }));
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                tokens_in(x, &format!("{at}/{i}"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                let k = k.replace('~', "~0").replace('/', "~1");
                tokens_in(x, &format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

fn with_at(mut t: Map<String, Value>, at: &str) -> Value {
    t.insert("at".into(), Value::String(at.into()));
    Value::Object(t)
}

/// A compact JWS (three parts) or JWE (five) whose protected header is a JSON object: the raw
/// token, its header, and for a JWS the payload (JSON, or text).
fn decode_token(s: &str) -> Option<Map<String, Value>> {
    let parts: Vec<&str> = s.split('.').collect();
    if !(parts.len() == 3 || parts.len() == 5)
        || parts[0].len() < 4
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.=".contains(&b))
    {
        return None;
    }
    let b64 = |p: &str| URL_SAFE_NO_PAD.decode(p.trim_end_matches('='));
    let header: Value = serde_json::from_slice(&b64(parts[0]).ok()?).ok()?;
    if !header.is_object() {
        return None;
    }
    let mut t = Map::new();
    if parts.len() == 3 {
        t.insert("type".into(), "JWS".into());
        t.insert("raw".into(), s.into());
        t.insert("header".into(), header);
        let payload = b64(parts[1]).unwrap_or_default();
        let payload = serde_json::from_slice::<Value>(&payload)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&payload).into_owned()));
        t.insert("payload".into(), payload);
    } else {
        t.insert("type".into(), "JWE".into());
        t.insert("raw".into(), s.into());
        t.insert("protected_header".into(), header);
    }
    Some(t)
}

/// Truncate every `body` and `raw` string below `v` at its limit.
fn truncate_in(v: &mut Value) {
    match v {
        Value::Array(a) => a.iter_mut().for_each(truncate_in),
        Value::Object(o) => {
            // The length is news only when the body shown is not the body served.
            let whole = o.get("body").and_then(Value::as_str).map(str::len);
            if whole.is_some_and(|n| n <= BODY_LIMIT)
                && o.get("body_bytes").and_then(Value::as_u64) == whole.map(|n| n as u64)
            {
                o.shift_remove("body_bytes");
            }
            for (k, x) in o.iter_mut() {
                match (k.as_str(), x) {
                    ("body", Value::String(s)) => truncate(s, BODY_LIMIT),
                    ("raw", Value::String(s)) => truncate(s, TOKEN_LIMIT),
                    (_, x) => truncate_in(x),
                }
            }
        }
        _ => {}
    }
}

/// Keep the first `limit` bytes of `s` (on a character boundary) and say how many were left out.
pub fn truncate(s: &mut String, limit: usize) {
    if s.len() <= limit {
        return;
    }
    let mut at = limit;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    let more = s.len() - at;
    s.truncate(at);
    s.push_str(&format!("… ({more} bytes more)"));
}

/// The shortest served body stored once in the report's `shared` map when several vectors were
/// served it (a JWKS, a discovery document without loopback addresses).
pub const SHARED_BODY_MIN: usize = 512;

/// Store once what several vectors' evidence repeats: environments (see
/// [`share_environments`]) and served bodies of [`SHARED_BODY_MIN`] bytes or more, which leave
/// `body_shared: "body-<digest>"` in place of their `body`.
pub fn share<'a>(
    evidence: impl IntoIterator<Item = (String, &'a mut Value)>,
) -> BTreeMap<String, Value> {
    let evidence: Vec<(String, &'a mut Value)> = evidence.into_iter().collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, ev) in &evidence {
        let mut seen = std::collections::BTreeSet::new();
        for b in bodies(ev) {
            if b.len() >= SHARED_BODY_MIN && seen.insert(b.to_owned()) {
                *counts.entry(b.to_owned()).or_default() += 1;
            }
        }
    }
    let mut shared = BTreeMap::new();
    let mut evidence = evidence;
    for (_, ev) in evidence.iter_mut() {
        let Some(Value::Array(served)) = ev.get_mut("served") else {
            continue;
        };
        for r in served.iter_mut().filter_map(Value::as_object_mut) {
            let Some(Value::String(b)) = r.get("body") else {
                continue;
            };
            if counts.get(b).is_some_and(|n| *n > 1) {
                let digest = sha2::Sha256::digest(b.as_bytes());
                let key = format!("body-{}", &hex::encode(digest)[..12]);
                if let Some(b) = r.shift_remove("body") {
                    shared.entry(key.clone()).or_insert(b);
                }
                r.insert("body_shared".into(), Value::String(key));
            }
        }
    }
    shared.extend(share_checks(evidence.iter_mut().map(|(_, ev)| &mut **ev)));
    shared.extend(share_environments(evidence));
    shared
}

/// The shortest list of passed check ids stored once when several vectors passed it.
pub const SHARED_CHECKS_MIN: usize = 4;

/// Lists of passed check ids that several vectors repeat, once each as `checks-<digest>`, named
/// by `provider.checks_passed_shared` in place of `provider.checks_passed`.
fn share_checks<'a>(evidence: impl Iterator<Item = &'a mut Value>) -> BTreeMap<String, Value> {
    let providers: Vec<&'a mut Map<String, Value>> = evidence
        .filter_map(|ev| ev.get_mut("provider").and_then(Value::as_object_mut))
        .filter(|p| {
            p.get("checks_passed")
                .and_then(Value::as_array)
                .is_some_and(|a| a.len() >= SHARED_CHECKS_MIN)
        })
        .collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for p in &providers {
        *counts.entry(p["checks_passed"].to_string()).or_default() += 1;
    }
    let mut shared = BTreeMap::new();
    for p in providers {
        let text = p["checks_passed"].to_string();
        if counts[&text] < 2 {
            continue;
        }
        let digest = sha2::Sha256::digest(text.as_bytes());
        let key = format!("checks-{}", &hex::encode(digest)[..12]);
        if let Some(list) = p.shift_remove("checks_passed") {
            shared.entry(key.clone()).or_insert(list);
        }
        p.insert("checks_passed_shared".into(), Value::String(key));
    }
    shared
}

fn bodies(ev: &Value) -> impl Iterator<Item = &str> {
    ev.get("served")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("body").and_then(Value::as_str))
}

/// Move the part of each vector's environment that does not name the vector or a loopback
/// address into the returned map, keyed by `env-<digest>`, leaving its key under
/// [`SHARED_KEY`] and the rest in place; `vector_id` (the vector's id) is left out. The
/// vector's environment is the deep merge of both.
pub fn share_environments<'a>(
    evidence: impl IntoIterator<Item = (String, &'a mut Value)>,
) -> BTreeMap<String, Value> {
    let mut shared = BTreeMap::new();
    for (vector_id, ev) in evidence {
        let Some(env) = ev.get_mut("environment") else {
            continue;
        };
        if !env.is_object() {
            continue;
        }
        let (common, local) = split(env.take(), &vector_id);
        let mut local = match local {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        // It is the vector's id.
        if local.get("vector_id").and_then(Value::as_str) == Some(vector_id.as_str()) {
            local.shift_remove("vector_id");
        }
        if let Some(common) = common {
            let digest = sha2::Sha256::digest(common.to_string().as_bytes());
            let key = format!("env-{}", &hex::encode(digest)[..12]);
            local.insert(SHARED_KEY.into(), Value::String(key.clone()));
            shared.entry(key).or_insert(common);
        }
        *env = Value::Object(local);
    }
    shared
}

/// Split `v` into what other vectors can share and what is this vector's own (its id, its mock's
/// loopback addresses).
fn split(v: Value, vector_id: &str) -> (Option<Value>, Option<Value>) {
    match v {
        Value::Object(o) if !o.is_empty() => {
            let (mut common, mut local) = (Map::new(), Map::new());
            for (k, x) in o {
                let (c, l) = split(x, vector_id);
                if let Some(c) = c {
                    common.insert(k.clone(), c);
                }
                if let Some(l) = l {
                    local.insert(k, l);
                }
            }
            (
                (!common.is_empty()).then_some(Value::Object(common)),
                (!local.is_empty()).then_some(Value::Object(local)),
            )
        }
        v if own(&v, vector_id) => (None, Some(v)),
        v => (Some(v), None),
    }
}

fn own(v: &Value, vector_id: &str) -> bool {
    match v {
        Value::String(s) => {
            s == vector_id
                || s.contains("://127.")
                || s.contains("://[::1]")
                || s.contains("://localhost")
        }
        Value::Array(a) => a.iter().any(|x| own(x, vector_id)),
        Value::Object(o) => o.values().any(|x| own(x, vector_id)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_jws_and_a_jwe_header() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
        let p = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
        let jws = decode_token(&format!("{h}.{p}.c2ln")).unwrap();
        assert_eq!(jws["payload"], json!({"sub": "x"}));
        let jwe = decode_token(&format!("{h}..aXY.Y3Q.dGFn")).unwrap();
        assert_eq!(jwe["protected_header"], json!({"alg": "RS256"}));
        assert!(decode_token("a.b.c").is_none());
        assert!(decode_token("not a token").is_none());
    }

    #[test]
    fn a_summary_keeps_the_decoded_tokens_and_the_calls() {
        let mut ev = json!({
            "environment": {"shared_environment": "env-1"},
            "given_tokens": [{"type": "JWS", "raw": "a.b.c", "header": {"alg": "RS256"},
                "payload": {"sub": "x"}, "at": "/details"}],
            "served": [
                {"method": "POST", "path": "/init", "status": 200, "headers": {},
                 "body": "{\"authRef\":\"r\"}"},
                {"method": "GET", "path": "/jwks", "status": 200, "body": "x".repeat(300)},
                {"method": "POST", "path": "/result", "status": 200, "body": "<token: tokens[0]>",
                 "tokens": [{"type": "JWS", "raw": "a.b.c", "header": {"alg": "RS256"},
                     "payload": {"status": "APPROVED"}, "at": "/details"}]}],
            "provider": {"requests": [
                {"endpoint": "auth_init", "method": "POST", "path": "/init", "response_status": 200},
                {"endpoint": "auth_get_one_result", "response_status": 200, "times": 3}],
                "checks_passed_shared": "checks-1", "tls_failures": []},
        });
        summarise(&mut ev);
        assert_eq!(
            ev,
            json!({
                "given_tokens": [{"header": {"alg": "RS256"}, "payload": {"sub": "x"},
                    "at": "/details"}],
                "served": [
                    {"path": "/init", "status": 200, "body": "{\"authRef\":\"r\"}"},
                    {"path": "/result", "status": 200, "tokens": [{"header": {"alg": "RS256"},
                        "payload": {"status": "APPROVED"}, "at": "/details"}]}],
                "requests": ["auth_init 200", "auth_get_one_result 200 ×3"],
                "checks_passed_shared": "checks-1",
            })
        );
    }

    #[test]
    fn checks_lists_and_bodies_repeated_across_vectors_are_stored_once() {
        let checks = json!(["a", "b", "c", "d"]);
        let body = "y".repeat(SHARED_BODY_MIN);
        let one = || json!({"served": [{"body": body}], "provider": {"checks_passed": checks}});
        let (mut a, mut b) = (one(), one());
        let mut shared = share([("a".into(), &mut a), ("b".into(), &mut b)]);
        assert_eq!(a, b);
        let key = a["provider"]["checks_passed_shared"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(shared[&key], checks);
        let body_key = a["served"][0]["body_shared"].as_str().unwrap().to_owned();
        assert_eq!(shared[&body_key], json!(body));
        // A summary drops the body; the entry no evidence names goes.
        summarise(&mut a);
        summarise(&mut b);
        prune(&mut shared, [&a, &b].into_iter());
        assert_eq!(shared.keys().collect::<Vec<_>>(), [&key]);
    }

    #[test]
    fn truncation_states_what_was_left_out() {
        let mut s = "å".repeat(10);
        truncate(&mut s, 5);
        assert_eq!(s, "åå… (16 bytes more)");
    }

    #[test]
    fn shared_environment_keeps_the_vector_s_own_values() {
        let mut a = json!({"environment": {"vector_id": "a", "freja": {
            "base_url": "https://127.0.0.1:1", "poll_interval_ms": 5, "keys": {"k": []}}}});
        let mut b = json!({"environment": {"vector_id": "b", "freja": {
            "base_url": "https://127.0.0.1:2", "poll_interval_ms": 5, "keys": {"k": []}}}});
        let shared = share_environments([("a".into(), &mut a), ("b".into(), &mut b)]);
        assert_eq!(shared.len(), 1);
        let (key, env) = shared.iter().next().unwrap();
        assert_eq!(
            env,
            &json!({"freja": {"poll_interval_ms": 5, "keys": {"k": []}}})
        );
        assert_eq!(
            a["environment"],
            json!({"freja": {"base_url": "https://127.0.0.1:1"}, "shared_environment": key})
        );
    }
}
