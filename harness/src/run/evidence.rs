//! A vector's evidence: what the mock served (each response, and every token in it decoded),
//! what the RP was given and sent, and the environment it was handed, with the material many
//! vectors share (key sets, certificates, algorithm lists) moved to the report's
//! `environments` map so that a report carries it once.

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
/// The longest raw token a report keeps, in bytes (its header and payload are decoded in full).
pub const TOKEN_LIMIT: usize = 128;
/// The member of a vector's `environment` naming its entry in the report's `environments`.
pub const SHARED_KEY: &str = "shared_environment";

/// What the mock saw and served and what the RP was given, private keys redacted, certificates
/// named rather than pasted, bodies and raw tokens truncated.
pub fn build(exec: Option<&Execution>, pki: &Pki) -> Value {
    let Some(exec) = exec else {
        return Value::Null;
    };
    let mut provider = serde_json::to_value(&exec.observations).unwrap_or_default();
    let served = provider
        .as_object_mut()
        .and_then(|o| o.remove("served"))
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
        last.remove("outcome");
    }
    let mut v = json!({ "environment": exec.environment });
    if let Some(op) = &exec.operation {
        let mut given = Vec::new();
        tokens_in(op, "", &mut given);
        // A token the forge broke beyond decoding is still what the RP was given.
        for key in ["id_token", "details"] {
            let at = format!("/{key}");
            if let Some(Value::String(raw)) = op.get(key)
                && !given.iter().any(|t| t["at"] == at.as_str())
            {
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
                r.remove("path");
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
    p.remove("signed_payloads");
    if let Some(Value::Array(logins)) = p.get_mut("broker").and_then(|b| b.get_mut("logins")) {
        for l in logins.iter_mut().filter_map(Value::as_object_mut) {
            if l.contains_key("authorization_parameters") {
                l.remove("authorization_url");
            }
        }
    }
    if let Some(Value::Array(checks)) = p.remove("checks") {
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
                o.remove(*k);
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
                o.remove("body_bytes");
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
                if let Some(b) = r.remove("body") {
                    shared.entry(key.clone()).or_insert(b);
                }
                r.insert("body_shared".into(), Value::String(key));
            }
        }
    }
    shared.extend(share_environments(evidence));
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
            local.remove("vector_id");
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
