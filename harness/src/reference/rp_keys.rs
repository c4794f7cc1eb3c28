//! The RP's own keys: checking the configuration (separate `sig` and `enc` RSA keys of at least
//! 2048 bits, as the Telia and Idura FTN guides require), publishing the public JWKS (public
//! members only, RFC 7518 §6.3.1) and signing with the `sig` key.

use std::collections::{BTreeMap, BTreeSet};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Map, Value, json};

use super::fault::Fault;
use super::oidc::reject;
use crate::adapter::{OidcEnvironment, Outcome, Reason, Rejection, RpKey};
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

/// `rp.keys`: the public JWKS, or the refusal of the configuration.
pub(crate) fn publish(faults: &BTreeSet<Fault>, env: &OidcEnvironment) -> Outcome {
    match jwks(faults, &env.rp_keys) {
        Ok(jwks) => Outcome::Accepted {
            identity: BTreeMap::new(),
            authorization_url: None,
            jwks: Some(jwks),
        },
        Err(r) => r.into(),
    }
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
    let pair = RsaKeyPair::from_pkcs8(&der).map_err(|_| unusable())?;
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
            let public = crate::forge::id_token::rsa_public(cred).unwrap();
            assert_eq!((&parts.n, &parts.e), (&public.n, &public.e), "{name}");
        }
        let weak = rsa_parts(&pki.get("ftn-rp-weak-1024").unwrap().key_pem).unwrap();
        assert_eq!(weak.bits(), 1024);
        assert!(
            rsa_parts("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----").is_none()
        );
    }
}
