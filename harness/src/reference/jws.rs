//! Verification of the `details` compact JWS against the pinned Freja signing certificates.
//!
//! The correct path: size cap, exactly three segments of strict base64url, strict JSON (no
//! duplicate members), no `crit` or `b64`, `alg` exactly RS256, the key chosen only by `x5t` among
//! the pinned certificates. The faults each open one door a real verifier has left open.

use std::collections::BTreeSet;
use std::fmt;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use super::fault::Fault;
use crate::adapter::{Reason, Rejection};
use crate::pki::{pem_all_der, pem_der};

/// Real details are a few kilobytes; anything this large is refused before any decoding.
pub(crate) const MAX_DETAILS_BYTES: usize = 64 * 1024;

/// A pinned signing certificate: its x5t, its RSAPublicKey DER and its PEM as configured.
pub(crate) struct Pin {
    x5t: String,
    public_key: Vec<u8>,
    pem: String,
}

/// Parse the pinned certificates; a PEM may hold several.
pub(crate) fn pins(pems: &[String]) -> Result<Vec<Pin>, String> {
    let mut out = Vec::new();
    for pem in pems {
        let ders = pem_all_der(pem, "CERTIFICATE");
        if ders.is_empty() {
            return Err("a pinned JWS certificate is not a PEM certificate".into());
        }
        for der in ders {
            let public_key = rsa_public_key(&der)
                .map_err(|e| format!("a pinned JWS certificate does not parse: {e}"))?;
            out.push(Pin {
                x5t: URL_SAFE_NO_PAD.encode(Sha1::digest(&der)),
                public_key,
                pem: pem.clone(),
            });
        }
    }
    Ok(out)
}

fn rsa_public_key(cert_der: &[u8]) -> Result<Vec<u8>, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der).map_err(|e| e.to_string())?;
    Ok(cert.public_key().subject_public_key.data.to_vec())
}

/// A verification key that did not come from the pins (faulty variants only).
pub(crate) enum ForeignKey {
    /// RSAPublicKey DER (from a certificate).
    Pkcs1(Vec<u8>),
    /// Modulus and exponent (from a JWK).
    Components { n: Vec<u8>, e: Vec<u8> },
}

impl ForeignKey {
    fn verifies(&self, input: &[u8], sig: &[u8]) -> bool {
        match self {
            ForeignKey::Pkcs1(der) => UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
                .verify(input, sig)
                .is_ok(),
            ForeignKey::Components { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, input, sig)
                .is_ok(),
        }
    }

    /// The first key of a JWKS (the one named `kid` if there is one), or a bare JWK.
    pub(crate) fn from_jwks(doc: &[u8], kid: Option<&str>) -> Option<ForeignKey> {
        let v: Value = serde_json::from_slice(doc).ok()?;
        let keys = match v.get("keys") {
            Some(Value::Array(k)) => k.clone(),
            _ => vec![v],
        };
        let jwk = keys
            .iter()
            .find(|k| kid.is_some() && k.get("kid").and_then(Value::as_str) == kid)
            .or(keys.first())?;
        Self::from_jwk(jwk)
    }

    fn from_jwk(jwk: &Value) -> Option<ForeignKey> {
        let field = |k: &str| {
            jwk.get(k)
                .and_then(Value::as_str)
                .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
        };
        Some(ForeignKey::Components {
            n: field("n")?,
            e: field("e")?,
        })
    }

    /// The first certificate of a PEM chain.
    pub(crate) fn from_pem(pem: &[u8]) -> Option<ForeignKey> {
        let der = pem_der(std::str::from_utf8(pem).ok()?, "CERTIFICATE")?;
        rsa_public_key(&der).ok().map(ForeignKey::Pkcs1)
    }
}

fn reject(reason: Reason, detail: impl Into<String>) -> Rejection {
    Rejection::new(reason).detail(detail)
}

fn segment(s: &str, what: &str) -> Result<Vec<u8>, Rejection> {
    // Strict: no padding, no `+`/`/`, no whitespace, zero trailing bits.
    URL_SAFE_NO_PAD.decode(s).map_err(|_| {
        reject(
            Reason::SignatureInvalid,
            format!("details: the {what} is not canonical base64url"),
        )
    })
}

fn object(bytes: &[u8], what: &str, first_wins: bool) -> Result<Map<String, Value>, Rejection> {
    let parsed = if first_wins {
        serde_json::from_slice::<Json<true>>(bytes).map(|s| s.0)
    } else {
        serde_json::from_slice::<Json<false>>(bytes).map(|s| s.0)
    };
    let parsed = parsed.map_err(|e| e.to_string());
    match parsed {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(reject(
            Reason::SignatureInvalid,
            format!("details: the {what} is not a JSON object"),
        )),
        Err(e) => Err(reject(
            Reason::SignatureInvalid,
            format!("details: the {what} is not strict JSON: {e}"),
        )),
    }
}

/// The decoded header, if it decodes: what a faulty verifier looks at for `jku`/`x5u`.
pub(crate) fn peek_header(jws: &str) -> Option<Map<String, Value>> {
    let h = jws.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(h).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Verify `jws` and return its payload. `foreign` is a key a faulty variant fetched from the
/// header's `jku`/`x5u`.
pub(crate) fn verify(
    jws: &str,
    pins: &[Pin],
    faults: &BTreeSet<Fault>,
    foreign: Option<ForeignKey>,
) -> Result<Map<String, Value>, Rejection> {
    let has = |f| faults.contains(&f);
    let lenient = has(Fault::DuplicateMembersFirstWins);
    if jws.len() > MAX_DETAILS_BYTES {
        return Err(reject(
            Reason::MalformedResponse,
            format!(
                "details: {} bytes, more than {MAX_DETAILS_BYTES}",
                jws.len()
            ),
        ));
    }
    let converted;
    let jws = match has(Fault::AcceptJsonSerialization)
        .then(|| compact_from_json(jws))
        .flatten()
    {
        Some(c) => {
            converted = c;
            converted.as_str()
        }
        _ => jws,
    };
    let parts: Vec<&str> = jws.split('.').collect();
    let [h, p, s] = parts[..] else {
        return Err(reject(
            Reason::SignatureInvalid,
            "details is not a compact JWS of 3 segments",
        ));
    };
    let payload = segment(p, "payload")?;
    if has(Fault::SkipSignatureCheck) {
        return object(&payload, "payload", lenient);
    }
    let header = object(&segment(h, "header")?, "header", lenient)?;
    let signature = segment(s, "signature")?;
    let alg = header.get("alg").and_then(Value::as_str);
    if has(Fault::AcceptAlgNone) && alg.is_some_and(|a| a.trim().eq_ignore_ascii_case("none")) {
        return object(&payload, "payload", lenient);
    }
    if header.contains_key("crit") && !has(Fault::IgnoreCrit) {
        return Err(reject(
            Reason::SignatureInvalid,
            format!(
                "details: crit {} names extensions this RP does not understand",
                header["crit"]
            ),
        ));
    }
    if header.contains_key("b64") {
        return Err(reject(
            Reason::SignatureInvalid,
            "details: b64 (RFC 7797) is not for JWTs",
        ));
    }
    let signing_input = &jws.as_bytes()[..h.len() + 1 + p.len()];
    let x5t = header.get("x5t").and_then(Value::as_str);
    let pinned = x5t.and_then(|x| pins.iter().find(|p| p.x5t == x));
    if has(Fault::NoKeyAllowsAlgNone)
        && pinned.is_none()
        && alg == Some("none")
        && signature.is_empty()
    {
        return object(&payload, "payload", lenient);
    }
    if has(Fault::HmacWithPublicKey)
        && let Some(a) = alg.filter(|a| a.starts_with("HS"))
    {
        let algorithm = match a {
            "HS384" => hmac::HMAC_SHA384,
            "HS512" => hmac::HMAC_SHA512,
            _ => hmac::HMAC_SHA256,
        };
        // The certificate as configured is "the key" such a verifier hands the library.
        let pin = pinned.or(pins.first()).ok_or_else(no_pin(x5t))?;
        let key = hmac::Key::new(algorithm, pin.pem.as_bytes());
        hmac::verify(&key, signing_input, &signature).map_err(|_| bad_signature())?;
        return object(&payload, "payload", lenient);
    }
    if alg != Some("RS256") {
        return Err(reject(
            Reason::AlgorithmRejected,
            format!(
                "details: alg {} is not RS256",
                header.get("alg").unwrap_or(&Value::Null)
            ),
        ));
    }
    let embedded = if has(Fault::TrustJwk)
        && let Some(k) = header.get("jwk").and_then(ForeignKey::from_jwk)
    {
        Some(k)
    } else if has(Fault::TrustX5c)
        && let Some(Value::Array(chain)) = header.get("x5c")
    {
        chain
            .first()
            .and_then(Value::as_str)
            .and_then(|b| STANDARD.decode(b).ok())
            .and_then(|der| rsa_public_key(&der).ok())
            .map(ForeignKey::Pkcs1)
    } else {
        foreign
    };
    if let Some(k) = embedded {
        if !k.verifies(signing_input, &signature) {
            return Err(bad_signature());
        }
        return object(&payload, "payload", lenient);
    }
    let verifies = |pin: &Pin| {
        if has(Fault::LenientPkcs1Padding) {
            return lenient_pkcs1(&pin.public_key, signing_input, &signature);
        }
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &pin.public_key)
            .verify(signing_input, &signature)
            .is_ok()
    };
    if has(Fault::TryEveryCertificate) {
        if !pins.iter().any(verifies) {
            return Err(bad_signature());
        }
        return object(&payload, "payload", lenient);
    }
    let pin = pinned.ok_or_else(no_pin(x5t))?;
    if !verifies(pin) {
        return Err(bad_signature());
    }
    object(&payload, "payload", lenient)
}

/// The compact form of a JWS or JWE JSON serialization (RFC 7515 §7.2, RFC 7516 §7.2): the
/// flattened members, or the first signature or recipient of the general form. Only the fault
/// `accept-json-serialization` reads it; a compact-only RP refuses JSON.
pub(crate) fn compact_from_json(text: &str) -> Option<String> {
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(text.trim()) else {
        return None;
    };
    let first = |list: &str| m.get(list)?.as_array()?.first()?.as_object();
    let member = |k: &str| -> Option<&str> {
        m.get(k)
            .or_else(|| first("signatures")?.get(k))
            .or_else(|| first("recipients")?.get(k))?
            .as_str()
    };
    let parts: Option<Vec<&str>> = if m.contains_key("ciphertext") {
        ["protected", "encrypted_key", "iv", "ciphertext", "tag"]
            .iter()
            .map(|k| member(k))
            .collect()
    } else {
        ["protected", "payload", "signature"]
            .iter()
            .map(|k| member(k))
            .collect()
    };
    parts.map(|p| p.join("."))
}

/// The deliberate fault `lenient-pkcs1-padding`: s^e mod n must start 00 01 and end with the
/// digest; nothing in between is parsed.
fn lenient_pkcs1(public_key: &[u8], input: &[u8], sig: &[u8]) -> bool {
    use num_bigint::BigUint;
    use sha2::Digest as _;
    let Ok((n, e)) = crate::pki::rsa_public_components(public_key) else {
        return false;
    };
    let n = BigUint::from_bytes_be(&n);
    let s = BigUint::from_bytes_be(sig);
    if s >= n {
        return false;
    }
    let k = n.bits().div_ceil(8) as usize;
    let mut em = s.modpow(&BigUint::from_bytes_be(&e), &n).to_bytes_be();
    while em.len() < k {
        em.insert(0, 0);
    }
    em.starts_with(&[0, 1]) && em.ends_with(&sha2::Sha256::digest(input))
}

fn bad_signature() -> Rejection {
    reject(
        Reason::SignatureInvalid,
        "details: the signature does not verify",
    )
}

fn no_pin(x5t: Option<&str>) -> impl FnOnce() -> Rejection + '_ {
    move || {
        reject(
            Reason::KeyUnknown,
            format!("details: x5t {x5t:?} matches no pinned certificate"),
        )
    }
}

/// A JSON value whose duplicate member names are refused anywhere (RFC 7515 §4 and RFC 7519 §4
/// allow refusing or keeping the lexically last; refusing is the safer of the two). With
/// `FIRST_WINS` it keeps the first instead, as some parsers do: the fault that diverges from
/// every conformant reading.
struct Json<const FIRST_WINS: bool>(Value);

impl<'de, const FIRST_WINS: bool> Deserialize<'de> for Json<FIRST_WINS> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor::<FIRST_WINS>).map(Json)
    }
}

struct JsonVisitor<const FIRST_WINS: bool>;

impl<'de, const FIRST_WINS: bool> Visitor<'de> for JsonVisitor<FIRST_WINS> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Json::<FIRST_WINS>(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let Json::<FIRST_WINS>(v) = map.next_value()?;
            if out.contains_key(&k) {
                if FIRST_WINS {
                    continue;
                }
                return Err(de::Error::custom(format!("duplicate member `{k}`")));
            }
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::forge::jws::x5t;
    use crate::forge::{Context, Draft, forge};
    use crate::pki::Pki;

    fn setup() -> (Pki, Vec<Pin>) {
        let pki =
            Pki::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/keys"))
                .expect("test PKI");
        let pins = pins(&[pki.get("freja-jws-current").unwrap().cert_pem.clone()]).unwrap();
        (pki, pins)
    }

    fn token(pki: &Pki) -> String {
        let mut h = Map::new();
        h.insert("x5t".into(), json!(x5t(pki, "freja-jws-current").unwrap()));
        h.insert("alg".into(), json!("RS256"));
        let p = json!({"authRef": "r", "status": "APPROVED", "userInfo": "Åsa"});
        let d = Draft::new(&h, p.as_object().unwrap(), "freja-jws-current");
        let ctx = Context {
            pki,
            canary_url: None,
        };
        forge(d, &[], &ctx).unwrap()
    }

    /// The EM transplant of the imported Wycheproof vectors: the correct PKCS #1 v1.5 encoding,
    /// signed raw around the token's digest, verifies; one changed byte of padding does not. So
    /// the imported padding vectors fail for their padding, not for the key.
    #[test]
    fn a_raw_signed_encoded_message_verifies_only_when_correct() {
        let (pki, pins) = setup();
        let with = |prefix: String| {
            let yaml =
                format!("rsa_encoded_message: {{key: freja-jws-current, prefix: \"{prefix}\"}}");
            let m: crate::forge::Mutation = serde_saphyr::from_str(&yaml).unwrap();
            let mut h = Map::new();
            h.insert("x5t".into(), json!(x5t(&pki, "freja-jws-current").unwrap()));
            h.insert("alg".into(), json!("RS256"));
            let p = json!({"authRef": "r", "status": "APPROVED"});
            let d = Draft::new(&h, p.as_object().unwrap(), "freja-jws-current");
            let ctx = Context {
                pki: &pki,
                canary_url: None,
            };
            forge(d, &[m], &ctx).unwrap()
        };
        let info = "3031300d060960864801650304020105000420";
        let correct = format!("0001{}00{info}", "ff".repeat(256 - 3 - 19 - 32));
        assert!(verify(&with(correct.clone()), &pins, &BTreeSet::new(), None).is_ok());
        let bad = correct.replacen("0001ff", "0001fe", 1);
        assert!(verify(&with(bad), &pins, &BTreeSet::new(), None).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// A random single-byte change anywhere in a valid token is always rejected.
        #[test]
        fn any_single_byte_change_is_rejected(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let (pki, pins) = setup();
            let good = token(&pki);
            prop_assert!(verify(&good, &pins, &BTreeSet::new(), None).is_ok());
            let mut bytes = good.clone().into_bytes();
            let i = at.index(bytes.len());
            prop_assume!(bytes[i] != byte);
            bytes[i] = byte;
            // A token that is not UTF-8 cannot even reach the RP inside a JSON string.
            let Ok(bad) = String::from_utf8(bytes) else { return Ok(()) };
            prop_assert!(verify(&bad, &pins, &BTreeSet::new(), None).is_err(), "accepted {bad}");
        }
    }
}
