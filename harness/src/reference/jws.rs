//! Verification of the `details` compact JWS against the pinned Freja signing certificates.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use crate::adapter::{Reason, Rejection};
use crate::pki::pem_all_der;

/// A pinned signing certificate: its x5t and its RSAPublicKey DER.
pub(crate) struct Pin {
    x5t: String,
    public_key: Vec<u8>,
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
            let (_, cert) = x509_parser::parse_x509_certificate(&der)
                .map_err(|e| format!("a pinned JWS certificate does not parse: {e}"))?;
            let public_key = cert.public_key().subject_public_key.data.to_vec();
            out.push(Pin {
                x5t: URL_SAFE_NO_PAD.encode(Sha1::digest(&der)),
                public_key,
            });
        }
    }
    Ok(out)
}

fn reject(reason: Reason, detail: impl Into<String>) -> Rejection {
    Rejection::new(reason).detail(detail)
}

fn segment(s: &str, what: &str) -> Result<Vec<u8>, Rejection> {
    URL_SAFE_NO_PAD.decode(s).map_err(|_| {
        reject(
            Reason::SignatureInvalid,
            format!("details: the {what} is not base64url"),
        )
    })
}

fn object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, Rejection> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(reject(
            Reason::SignatureInvalid,
            format!("details: the {what} is not a JSON object"),
        )),
    }
}

/// Verify `jws` and return its payload. With `skip_checks` (a deliberate fault) only decode it.
pub(crate) fn verify(
    jws: &str,
    pins: &[Pin],
    skip_checks: bool,
) -> Result<Map<String, Value>, Rejection> {
    let parts: Vec<&str> = jws.split('.').collect();
    let [h, p, s] = parts[..] else {
        return Err(reject(
            Reason::SignatureInvalid,
            "details is not a compact JWS of 3 segments",
        ));
    };
    let payload = segment(p, "payload")?;
    if skip_checks {
        return object(&payload, "payload");
    }
    let header = object(&segment(h, "header")?, "header")?;
    let signature = segment(s, "signature")?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(reject(
            Reason::AlgorithmRejected,
            format!(
                "details: alg {} is not RS256",
                header.get("alg").unwrap_or(&Value::Null)
            ),
        ));
    }
    let x5t = header.get("x5t").and_then(Value::as_str);
    let Some(pin) = x5t.and_then(|x| pins.iter().find(|p| p.x5t == x)) else {
        return Err(reject(
            Reason::KeyUnknown,
            format!("details: x5t {x5t:?} matches no pinned certificate"),
        ));
    };
    let signing_input = &jws[..h.len() + 1 + p.len()];
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &pin.public_key)
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| {
            reject(
                Reason::SignatureInvalid,
                "details: the RS256 signature does not verify",
            )
        })?;
    object(&payload, "payload")
}
