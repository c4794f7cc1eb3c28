//! The RP's own keys: checking the configuration (separate `sig` and `enc` RSA keys of at least
//! 2048 bits, as the Telia and Idura FTN guides require), publishing the public JWKS (public
//! members only, RFC 7518 §6.3.1) and signing with the `sig` key.

use std::collections::{BTreeMap, BTreeSet};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use serde_json::{Map, Value, json};

use super::fault::Fault;
use super::oidc::reject;
use crate::adapter::{
    OidcEnvironment, Outcome, PublicKeyForm, PublicKeys, Reason, Rejection, RpKey, RpKeysRequest,
};
use crate::forge::jwe::b64u;
use crate::pki::pem_der;

const MIN_BITS: usize = 2048;

/// The components of an RSA private key (RFC 8017 `RSAPrivateKey`), big-endian, no leading zeros.
pub(crate) struct RsaParts {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
    /// `d`, `p`, `q`, `dp`, `dq`, `qi`: never published (except under `jwks-private-members`).
    pub private: [(&'static str, Vec<u8>); 6],
}

impl RsaParts {
    pub fn bits(&self) -> usize {
        match self.n.first() {
            None => 0,
            Some(b) => self.n.len() * 8 - b.leading_zeros() as usize,
        }
    }
}

/// One DER TLV: (tag, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

fn integers(mut body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let (tag, v, rest) = tlv(body)?;
        if tag != 0x02 {
            return None;
        }
        let i = v.iter().position(|x| *x != 0).unwrap_or(v.len());
        out.push(v[i..].to_vec());
        body = rest;
    }
    Some(out)
}

const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Parse a PKCS#8 PEM RSA private key. Hand-rolled because aws-lc-rs refuses keys under 2048 bits,
/// which this RP must be able to see in order to refuse them.
pub(crate) fn rsa_parts(pem: &str) -> Option<RsaParts> {
    let der = pem_der(pem, "PRIVATE KEY")?;
    let (0x30, pkcs8, _) = tlv(&der)? else {
        return None;
    };
    let (0x02, _, rest) = tlv(pkcs8)? else {
        return None;
    };
    let (0x30, alg, rest) = tlv(rest)? else {
        return None;
    };
    let (0x06, oid, _) = tlv(alg)? else {
        return None;
    };
    if oid != RSA_ENCRYPTION {
        return None;
    }
    let (0x04, octets, _) = tlv(rest)? else {
        return None;
    };
    let (0x30, body, _) = tlv(octets)? else {
        return None;
    };
    let mut ints = integers(body)?.into_iter();
    let _version = ints.next()?;
    let mut next = || ints.next().filter(|v| !v.is_empty());
    let (n, e) = (next()?, next()?);
    let private = [
        ("d", next()?),
        ("p", next()?),
        ("q", next()?),
        ("dp", next()?),
        ("dq", next()?),
        ("qi", next()?),
    ];
    Some(RsaParts { n, e, private })
}

fn invalid(detail: String) -> Rejection {
    reject(Reason::InvalidInput, detail)
}

/// Refuse a key configuration that must not be used: a key that is not RSA, an unknown `use`, a
/// duplicate `kid`, a modulus under 2048 bits, one key under two uses, no `sig` or no `enc` key.
pub(crate) fn check(faults: &BTreeSet<Fault>, keys: &[RpKey]) -> Result<(), Rejection> {
    let has = |f| faults.contains(&f);
    let mut kids = BTreeSet::new();
    let mut uses_of: BTreeMap<Vec<u8>, BTreeSet<&str>> = BTreeMap::new();
    for k in keys {
        let parts = rsa_parts(&k.private_key_pem).ok_or_else(|| {
            invalid(format!(
                "key {:?} is not an RSA private key in PKCS#8 PEM",
                k.kid
            ))
        })?;
        if k.use_ != "sig" && k.use_ != "enc" {
            return Err(invalid(format!(
                "key {:?} has use {:?}; only sig and enc are known",
                k.kid, k.use_
            )));
        }
        if k.kid.is_empty() || !kids.insert(k.kid.as_str()) {
            return Err(invalid(format!("kid {:?} is empty or not unique", k.kid)));
        }
        if parts.bits() < MIN_BITS && !has(Fault::AcceptWeakRpKey) {
            return Err(invalid(format!(
                "key {:?} is RSA-{}; FTN requires at least {MIN_BITS} bits",
                k.kid,
                parts.bits()
            )));
        }
        uses_of.entry(parts.n).or_default().insert(k.use_.as_str());
    }
    if has(Fault::OneKeySigEnc) {
        // The fault's whole point: one key for everything.
        return Ok(());
    }
    if uses_of.values().any(|u| u.len() > 1) {
        return Err(invalid(
            "the same key material is configured for both sig and enc".into(),
        ));
    }
    for u in ["sig", "enc"] {
        if !keys.iter().any(|k| k.use_ == u) {
            return Err(invalid(format!("no use: {u} key is configured")));
        }
    }
    Ok(())
}

/// `rp.keys`: the public keys in the form asked for (a JWKS by default), or the refusal of the
/// configuration.
pub(crate) fn publish(
    faults: &BTreeSet<Fault>,
    env: &OidcEnvironment,
    req: &RpKeysRequest,
) -> Outcome {
    let form = req.form;
    if req.key_environments
        && !faults.contains(&Fault::KeyEnvironmentUnchecked)
        && let Some(k) = env.rp_keys.iter().find(|k| {
            k.environment
                .is_some_and(|e| env.environment.is_some_and(|d| d != e))
        })
    {
        return invalid(format!(
            "key {:?} is marked {:?} but the configuration is for {:?}",
            k.kid, k.environment, env.environment
        ))
        .into();
    }
    let set = match jwks(faults, &env.rp_keys) {
        Ok(set) => set,
        Err(r) => return r.into(),
    };
    let public_keys = match form {
        None => None,
        Some(PublicKeyForm::Jwks) => Some(PublicKeys::Jwks { jwks: set.clone() }),
        Some(PublicKeyForm::Pem) => Some(PublicKeys::Pem {
            pem: pem(faults, &env.rp_keys),
        }),
        // One key: the encryption key the broker encrypts ID tokens to.
        Some(PublicKeyForm::Jwk) => {
            let keys = set.get("keys").and_then(Value::as_array);
            let enc = keys.and_then(|k| {
                k.iter()
                    .find(|j| j.get("use").and_then(Value::as_str) == Some("enc"))
                    .or(k.first())
            });
            enc.map(|jwk| PublicKeys::Jwk { jwk: jwk.clone() })
        }
        Some(PublicKeyForm::JwksUri) => match serve_jwks(&set) {
            Ok(url) => Some(PublicKeys::JwksUri { jwks_uri: url }),
            Err(e) => return invalid(format!("cannot serve the JWKS: {e}")).into(),
        },
    };
    Outcome::Accepted {
        identity: BTreeMap::new(),
        authorization_url: None,
        jwks: if form.is_none() { Some(set) } else { None },
        public_keys,
    }
}

/// The published keys as PEM: one SubjectPublicKeyInfo block per key.
fn pem(faults: &BTreeSet<Fault>, keys: &[RpKey]) -> String {
    let mut out = String::new();
    for k in keys {
        if faults.contains(&Fault::PemPrivateKey) {
            // The deliberate fault: the key file as it was loaded.
            out.push_str(&k.private_key_pem);
            continue;
        }
        let Some(parts) = rsa_parts(&k.private_key_pem) else {
            continue;
        };
        let (label, der) = if faults.contains(&Fault::PemPkcs1) {
            ("RSA PUBLIC KEY", pkcs1_der(&parts.n, &parts.e))
        } else {
            ("PUBLIC KEY", spki_der(&parts.n, &parts.e))
        };
        out.push_str(&crate::forge::jws::pem(label, &der));
    }
    out
}

fn der_len(n: usize) -> Vec<u8> {
    match n {
        0..=127 => vec![n as u8],
        128..=255 => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    }
}

fn der_tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    [vec![tag], der_len(body.len()), body.to_vec()].concat()
}

/// `RSAPublicKey` (RFC 8017 §A.1.1).
fn pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    let int = |b: &[u8]| {
        let mut v = b.to_vec();
        if v.first().is_none_or(|x| *x & 0x80 != 0) {
            v.insert(0, 0);
        }
        der_tlv(0x02, &v)
    };
    der_tlv(0x30, &[int(n), int(e)].concat())
}

/// `SubjectPublicKeyInfo` of rsaEncryption (RFC 5280 §4.1.2.7, RFC 3279 §2.3.1).
pub(crate) fn spki_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    let alg = der_tlv(
        0x30,
        &[der_tlv(0x06, RSA_ENCRYPTION), vec![0x05, 0x00]].concat(),
    );
    let bits = der_tlv(0x03, &[vec![0], pkcs1_der(n, e)].concat());
    der_tlv(0x30, &[alg, bits].concat())
}

/// How long the JWKS of one `rp.keys` answer stays served: the harness fetches it right after.
const SERVE_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// Serve `set` over plain HTTP on an ephemeral loopback port, from a thread that answers every
/// request with it and stops after one fetch or [`SERVE_FOR`]; the URL.
fn serve_jwks(set: &Value) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}/jwks.json", listener.local_addr()?);
    let body = set.to_string();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + SERVE_FOR;
        while std::time::Instant::now() < deadline {
            let Ok((mut conn, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(5));
                continue;
            };
            let _ = conn.set_nonblocking(false);
            // Until the window closes: a fetcher slowed by a busy machine still gets its answer.
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let _ = conn.set_read_timeout(Some(left.max(std::time::Duration::from_millis(1))));
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 << 10 {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            if conn.write_all(answer.as_bytes()).is_ok() && request.starts_with(b"GET ") {
                break;
            }
        }
    });
    Ok(url)
}

fn jwks(faults: &BTreeSet<Fault>, keys: &[RpKey]) -> Result<Value, Rejection> {
    check(faults, keys)?;
    let mut out = Vec::new();
    let published: Vec<&RpKey> = if faults.contains(&Fault::OneKeySigEnc) {
        signing_key(faults, keys).into_iter().collect()
    } else {
        keys.iter().collect()
    };
    for k in published {
        let Some(parts) = rsa_parts(&k.private_key_pem) else {
            continue;
        };
        let mut jwk = Map::new();
        jwk.insert("kty".into(), json!("RSA"));
        jwk.insert("n".into(), json!(b64u(&parts.n)));
        jwk.insert("e".into(), json!(b64u(&parts.e)));
        jwk.insert("kid".into(), json!(k.kid));
        if !faults.contains(&Fault::OneKeySigEnc) {
            jwk.insert("use".into(), json!(k.use_));
            let alg = if k.use_ == "sig" { "RS256" } else { "RSA-OAEP" };
            jwk.insert("alg".into(), json!(alg));
        }
        if faults.contains(&Fault::JwksPrivateMembers) {
            // The deliberate fault: the private key serialized as it was loaded.
            for (name, v) in &parts.private {
                jwk.insert((*name).into(), json!(b64u(v)));
            }
        }
        out.push(Value::Object(jwk));
    }
    Ok(json!({ "keys": out }))
}

/// The key request objects and client assertions are signed with: the first `use: sig` key (the
/// first `enc` key under `one-key-sig-enc`).
pub(crate) fn signing_key<'k>(faults: &BTreeSet<Fault>, keys: &'k [RpKey]) -> Option<&'k RpKey> {
    let wanted = if faults.contains(&Fault::OneKeySigEnc) {
        "enc"
    } else {
        "sig"
    };
    keys.iter().find(|k| k.use_ == wanted)
}

/// A compact RS256 JWS over `claims` with the header `alg`, `kid` (and `typ` when given).
pub(crate) fn sign(
    key: &RpKey,
    typ: Option<&str>,
    claims: &Map<String, Value>,
) -> Result<String, Rejection> {
    let mut header = Map::new();
    header.insert("alg".into(), json!("RS256"));
    header.insert("kid".into(), json!(key.kid));
    if let Some(t) = typ {
        header.insert("typ".into(), json!(t));
    }
    let input = format!(
        "{}.{}",
        b64u(Value::Object(header).to_string().as_bytes()),
        b64u(Value::Object(claims.clone()).to_string().as_bytes())
    );
    let unusable = || invalid(format!("key {:?} cannot sign RS256", key.kid));
    let der = pem_der(&key.private_key_pem, "PRIVATE KEY").ok_or_else(unusable)?;
    let pair = crate::pki::parsed::rsa_key_pair(&der).map_err(|_| unusable())?;
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| unusable())?;
    Ok(format!("{input}.{}", b64u(&sig)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_ftn_key_like_its_certificate() {
        let pki = crate::pki::Pki::load(&crate::default_corpus_root().join("vectors/keys"))
            .expect("test PKI");
        for name in ["ftn-rp-enc-1", "ftn-rp-sig", "ftn-rp-weak-1024"] {
            let cred = pki.get(name).unwrap();
            let parts = rsa_parts(&cred.key_pem).expect("parses");
            let public = crate::forge::jws::PublicKey::of_credential(cred).unwrap();
            let got = (parts.n.as_slice(), parts.e.as_slice());
            assert_eq!(got, (public.modulus(), public.exponent()), "{name}");
        }
        let weak = rsa_parts(&pki.get("ftn-rp-weak-1024").unwrap().key_pem).unwrap();
        assert_eq!(weak.bits(), 1024);
        assert!(
            rsa_parts("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----").is_none()
        );
    }
}
