//! FTN ID token validation of the reference RP: decrypt (allow-listed JWE, key by `kid` among
//! `use: enc` keys), verify the inner JWS (an alg the broker publishes and the registration
//! names; the broker key by the inner `kid`, its JWK `use`, `key_ops` and `alg` enforced), then
//! the claims per OIDC Core §3.1.3.7 and the national identifiers.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::io::Read;

use aws_lc_rs::signature::{self as sig, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::fault::Fault;
use crate::adapter::{IdTokenRequest, OidcEnvironment, Outcome, Reason, Rejection, RpKey};
use crate::forge::jwe::{self, ContentEnc, KeyAlg};
use crate::pki::{ident, pem_der};

/// Larger tokens are refused before any decoding (eidconf's choice: real ID tokens are a few
/// kilobytes, and an oversized token must not cost a full decode).
const MAX_TOKEN: usize = 64 * 1024;
/// `iat` older than this is refused (Core §3.1.3.7 step 10; eidconf's choice of window): brokers
/// issue tokens valid for about 10 minutes.
const MAX_AGE_SECONDS: i64 = 3600;
/// Claims that carry a Finnish HETU at the FTN brokers (per their integration guides).
const HETU_CLAIMS: &[&str] = &[
    "urn:oid:1.2.246.21",
    "personal_identity_code",
    "hetu",
    "ftn_hetu",
    "fi_ssn",
];
/// The inner JWS algorithms this RP can verify; a registration narrows them.
const VERIFIABLE: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
];
/// One message for every decryption failure, whatever its cause (RFC 7516 §11.5).
const DECRYPTION_FAILED: &str = "the ID token could not be decrypted";

pub(crate) fn reject(reason: Reason, detail: impl Into<String>) -> Rejection {
    Rejection::new(reason).detail(detail)
}

pub(crate) fn claim(name: &str, detail: impl Into<String>) -> Rejection {
    let mut r = reject(Reason::ClaimsInvalid, detail);
    r.claim = Some(name.to_owned());
    r
}

pub(crate) fn validate(
    faults: &BTreeSet<Fault>,
    env: &OidcEnvironment,
    req: &IdTokenRequest,
) -> Outcome {
    match Validator::new(faults, env, &env.broker_jwks).id_token(req) {
        Ok(identity) => Outcome::accepted(identity.into_iter().collect()),
        Err(r) => r.into(),
    }
}

/// Whether the token's first segment is a JSON header with `zip`.
fn zip_header(token: &str) -> bool {
    let first = token.split('.').next().unwrap_or_default();
    b64(first)
        .and_then(|h| serde_json::from_slice::<Map<String, Value>>(&h).ok())
        .is_some_and(|h| h.contains_key("zip"))
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Validates ID tokens (and, in the flow, protected userinfo responses) against one broker JWKS.
pub(crate) struct Validator<'a> {
    faults: &'a BTreeSet<Fault>,
    env: &'a OidcEnvironment,
    /// The broker's signing keys: the environment's in `oidc.validate_id_token`, the fetched ones
    /// in the flow.
    jwks: &'a Value,
    now: i64,
    /// Set when a signature could not be checked because the inner `kid` is not in `jwks`: the
    /// flow then refreshes the JWKS (once, rate-limited) and tries again.
    inner_kid_unknown: Cell<bool>,
    /// The key (n, e) the flow fetched from the inner header's `jku`/`x5u`: only under the
    /// faults that fetch them.
    fetched_key: Option<(Vec<u8>, Vec<u8>)>,
}

pub(crate) fn b64(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// A JSON object whose members are unique (RFC 8725 §2.6: no lexically-last games).
pub(crate) fn unique_object(bytes: &[u8]) -> Result<Map<String, Value>, Option<String>> {
    struct Dup(Option<String>);
    impl<'de> serde::Deserialize<'de> for Dup {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Dup;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> Result<Dup, A::Error> {
                    let mut seen = BTreeSet::new();
                    let mut dup = None;
                    while let Some(k) = m.next_key::<String>()? {
                        m.next_value::<serde::de::IgnoredAny>()?;
                        if !seen.insert(k.clone()) && dup.is_none() {
                            dup = Some(k);
                        }
                    }
                    Ok(Dup(dup))
                }
            }
            d.deserialize_map(V)
        }
    }
    match serde_json::from_slice::<Dup>(bytes) {
        Ok(Dup(Some(name))) => Err(Some(name)),
        Ok(Dup(None)) => match serde_json::from_slice(bytes) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(None),
        },
        Err(_) => Err(None),
    }
}

impl<'a> Validator<'a> {
    pub(crate) fn new(
        faults: &'a BTreeSet<Fault>,
        env: &'a OidcEnvironment,
        jwks: &'a Value,
    ) -> Validator<'a> {
        Validator {
            faults,
            env,
            jwks,
            now: unix_now(),
            inner_kid_unknown: Cell::new(false),
            fetched_key: None,
        }
    }

    /// The key a faulty flow fetched from the inner header's `jku` or `x5u`.
    pub(crate) fn with_fetched_key(mut self, key: Option<(Vec<u8>, Vec<u8>)>) -> Validator<'a> {
        self.fetched_key = key;
        self
    }

    /// The inner JWS header of a token (decrypted first if it is a JWE), for the faults that
    /// fetch what it names.
    pub(crate) fn inner_header(&self, token: &str) -> Option<Map<String, Value>> {
        let token = token.trim();
        let parts: Vec<&str> = token.split('.').collect();
        let jws = match parts.len() {
            5 => self.decrypt(&parts).ok()?,
            3 => token.as_bytes().to_vec(),
            _ => return None,
        };
        let text = String::from_utf8(jws).ok()?;
        b64(text.split('.').next()?).and_then(|b| unique_object(&b).ok())
    }

    fn has(&self, f: Fault) -> bool {
        self.faults.contains(&f)
    }

    /// Whether the last failure was an inner `kid` missing from the JWKS.
    pub(crate) fn inner_kid_unknown(&self) -> bool {
        self.inner_kid_unknown.get()
    }

    /// Open and validate an ID token; its verified claims.
    pub(crate) fn id_token(&self, req: &IdTokenRequest) -> Result<Map<String, Value>, Rejection> {
        let claims = self.open(&req.id_token, self.env.encryption_required)?;
        self.check_claims(&claims, req)?;
        Ok(claims)
    }

    /// Decrypt (a 5-part JWE, allow-listed) and verify (the inner RS256 JWS) a compact token, or
    /// verify a 3-part JWS when encryption is not required; the verified claims, unchecked.
    pub(crate) fn open(
        &self,
        token: &str,
        encryption_required: bool,
    ) -> Result<Map<String, Value>, Rejection> {
        self.inner_kid_unknown.set(false);
        let token = self.compact(token.trim());
        let token = token.as_ref();
        // The fault reads a compressed token of any size (and only those: other faults stay apart).
        let unbounded = self.has(Fault::InflateWithoutCap) && zip_header(token);
        if token.len() > MAX_TOKEN && !unbounded {
            return Err(reject(
                Reason::MalformedResponse,
                format!("the ID token is longer than {MAX_TOKEN} bytes"),
            ));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let jws = match parts.len() {
            5 if self.has(Fault::RecurseIntoNestedJwe) => {
                let mut plaintext = self.decrypt(&parts)?;
                for depth in 1..=8 {
                    let text = String::from_utf8_lossy(&plaintext).into_owned();
                    let inner: Vec<&str> = text.trim().split('.').collect();
                    if inner.len() != 5 {
                        // Bare claims after a nested JWE: taken as an unsecured JWT.
                        if depth > 1
                            && let Ok(claims) = unique_object(&plaintext)
                        {
                            return Ok(claims);
                        }
                        break;
                    }
                    plaintext = self.decrypt(&inner)?;
                }
                plaintext
            }
            5 => self.decrypt(&parts)?,
            3 if !encryption_required || self.has(Fault::AcceptUnencryptedIdToken) => {
                token.as_bytes().to_vec()
            }
            3 => {
                return Err(reject(
                    Reason::EncryptionRequired,
                    "encryption is registered but the ID token is a plain JWS",
                ));
            }
            n => {
                return Err(reject(
                    Reason::MalformedResponse,
                    format!("the ID token has {n} parts, not a compact JWE"),
                ));
            }
        };
        self.verify(&jws)
    }

    /// Decrypt a compact JWE; the plaintext must be the inner JWS.
    fn decrypt(&self, parts: &[&str]) -> Result<Vec<u8>, Rejection> {
        let header = b64(parts[0])
            .and_then(|b| unique_object(&b).ok())
            .ok_or_else(|| {
                reject(
                    Reason::MalformedResponse,
                    "the JWE protected header is not a JSON object",
                )
            })?;
        let text = |k: &str| header.get(k).and_then(Value::as_str);
        let any_alg = self.has(Fault::HeaderChoosesJweAlg);
        let alg = text("alg").unwrap_or_default();
        let enc = text("enc").unwrap_or_default();
        let allowed = |list: &[String], v: &str| list.iter().any(|a| a == v);
        // The fault's library: ECDH-ES as well, whatever the registration says.
        let library_alg = self.has(Fault::DecryptAnyAlg) && alg == "ECDH-ES";
        let key_alg = KeyAlg::from_name(alg)
            .filter(|_| {
                any_alg || library_alg || allowed(&self.env.id_token_encryption_alg_values, alg)
            })
            .filter(|a| {
                any_alg || library_alg || matches!(a, KeyAlg::RsaOaep | KeyAlg::RsaOaep256)
            });
        let Some(key_alg) = key_alg else {
            return Err(reject(
                Reason::AlgorithmRejected,
                format!("JWE alg {:?} is not registered", header.get("alg")),
            ));
        };
        let content = ContentEnc::from_name(enc)
            .filter(|_| any_alg || allowed(&self.env.id_token_encryption_enc_values, enc));
        let Some(content) = content else {
            return Err(reject(
                Reason::AlgorithmRejected,
                format!("JWE enc {:?} is not registered", header.get("enc")),
            ));
        };
        if header.contains_key("crit") {
            return Err(reject(
                Reason::AlgorithmRejected,
                "the JWE header has `crit`; no extension is understood",
            ));
        }
        let inflate = match header.get("zip") {
            None => false,
            Some(Value::String(z)) if z == "DEF" && self.has(Fault::InflateZip) => true,
            Some(_) if self.has(Fault::InflateWithoutCap) => true,
            Some(z) => {
                return Err(reject(
                    Reason::AlgorithmRejected,
                    format!("JWE zip {z} is refused (RFC 8725 §3.6)"),
                ));
            }
        };
        if let Some(cty) = header.get("cty")
            && !cty.as_str().is_some_and(|c| c.eq_ignore_ascii_case("JWT"))
        {
            return Err(reject(
                Reason::MalformedResponse,
                format!("JWE cty {cty} is not JWT"),
            ));
        }
        // The decryption key: by `kid` among `use: enc` keys only; without `kid`, each enc key.
        let enc_keys: Vec<&RpKey> = self
            .env
            .rp_keys
            .iter()
            .filter(|k| k.use_ == "enc")
            .collect();
        let candidates: Vec<&RpKey> = match header.get("kid") {
            _ if self.has(Fault::DecryptWithAnyKey) => self.env.rp_keys.iter().collect(),
            None => enc_keys,
            Some(kid) => {
                let found: Vec<&RpKey> = enc_keys
                    .into_iter()
                    .filter(|k| kid.as_str() == Some(k.kid.as_str()))
                    .collect();
                if found.is_empty() {
                    return Err(reject(
                        Reason::KeyUnknown,
                        "the JWE kid names none of the RP's encryption keys",
                    ));
                }
                found
            }
        };
        let (Some(ek), Some(iv), Some(ct), Some(tag)) =
            (b64(parts[1]), b64(parts[2]), b64(parts[3]), b64(parts[4]))
        else {
            return Err(reject(Reason::DecryptionFailed, DECRYPTION_FAILED));
        };
        let aad = parts[0].as_bytes();
        let mut plaintext = None;
        for key in candidates {
            let Some(der) = pem_der(&key.private_key_pem, "PRIVATE KEY") else {
                continue;
            };
            let unwrapped = match key_alg {
                KeyAlg::Rsa15 => jwe::unwrap_rsa1_5(&der, &ek),
                KeyAlg::EcdhEs => ecdh_es_cek(&header, content, &der, &ek),
                a => jwe::unwrap_rsa_oaep(a, &der, &ek),
            };
            // A failed unwrap continues with a random CEK, so it fails exactly like a bad tag.
            let unwrapped = unwrapped.ok().filter(|c| c.len() == content.cek_len());
            let genuine_cek = unwrapped.is_some();
            let cek = unwrapped.unwrap_or_else(|| jwe::random(content.cek_len()));
            // The fault skips the tag of what it unwrapped; a random CEK would make its outcome
            // (and the kill matrix) depend on chance, so that path stays tag-checked.
            let decrypted = if self.has(Fault::SkipCbcTagCheck) && genuine_cek {
                jwe::decrypt_cbc_unauthenticated(content, &cek, &iv, &ct)
                    .or_else(|_| jwe::decrypt_content(content, &cek, &iv, aad, &ct, &tag))
            } else {
                jwe::decrypt_content(content, &cek, &iv, aad, &ct, &tag)
            };
            if let Ok(p) = decrypted {
                plaintext = Some(p);
                break;
            }
        }
        let plaintext =
            plaintext.ok_or_else(|| reject(Reason::DecryptionFailed, DECRYPTION_FAILED))?;
        if inflate && self.has(Fault::InflateWithoutCap) {
            // The deliberate fault: inflate whatever the framing, with no bound, then refuse.
            let mut out = Vec::new();
            let inflated = match plaintext.first() {
                Some(0x1f) => flate2::read::GzDecoder::new(&plaintext[..]).read_to_end(&mut out),
                Some(0x78) => flate2::read::ZlibDecoder::new(&plaintext[..]).read_to_end(&mut out),
                _ => flate2::read::DeflateDecoder::new(&plaintext[..]).read_to_end(&mut out),
            };
            return Err(reject(
                Reason::AlgorithmRejected,
                format!(
                    "JWE zip is refused (RFC 8725 §3.6), after inflating {} bytes{}",
                    out.len(),
                    if inflated.is_err() {
                        " (then an error)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if inflate {
            // The deliberate fault: inflate with no bound at all.
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(&plaintext[..])
                .read_to_end(&mut out)
                .map_err(|_| reject(Reason::DecryptionFailed, DECRYPTION_FAILED))?;
            return Ok(out);
        }
        Ok(plaintext)
    }

    /// `token` as the rest reads it: under `accept-json-serialization` a JSON serialization is
    /// first made compact; otherwise as given.
    fn compact<'t>(&self, token: &'t str) -> std::borrow::Cow<'t, str> {
        match self
            .has(Fault::AcceptJsonSerialization)
            .then(|| super::jws::compact_from_json(token))
            .flatten()
        {
            Some(c) => std::borrow::Cow::Owned(c),
            None => std::borrow::Cow::Borrowed(token),
        }
    }

    /// Verify the inner JWS and return its claims.
    fn verify(&self, jws: &[u8]) -> Result<Map<String, Value>, Rejection> {
        let not_signed = || reject(Reason::SignatureInvalid, "the ID token is not a signed JWT");
        let text = std::str::from_utf8(jws).map_err(|_| not_signed())?;
        let text = self.compact(text);
        let text = text.as_ref();
        let parts: Vec<&str> = text.split('.').collect();
        let [h, p, s] = parts[..] else {
            return Err(not_signed());
        };
        let payload = b64(p).ok_or_else(not_signed)?;
        let claims = || match unique_object(&payload) {
            Ok(m) => Ok(m),
            Err(Some(dup)) => Err(claim(&dup, format!("claim `{dup}` appears twice"))),
            Err(None) => Err(not_signed()),
        };
        if self.has(Fault::SkipIdTokenSignature) {
            return claims();
        }
        let header = b64(h)
            .and_then(|b| unique_object(&b).ok())
            .ok_or_else(not_signed)?;
        let signature = b64(s).ok_or_else(not_signed)?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if alg == "none" && self.has(Fault::AcceptInnerAlgNone) {
            return claims();
        }
        if alg == "none"
            && signature.is_empty()
            && self.has(Fault::NoKeyAllowsAlgNone)
            && self.broker_key(&header).is_err()
        {
            return claims();
        }
        // The deliberate faults take a key from the header instead of the broker's JWKS.
        let embedded = self.header_key(&header);
        let jwk: &Value = match embedded {
            Some(_) => &Value::Null,
            None => self.broker_key(&header)?,
        };
        let input = &text.as_bytes()[..h.len() + 1 + p.len()];
        if alg == "HS256" && self.has(Fault::IdTokenHmacWithPublicKey) {
            // The deliberate fault: the PEM of the broker's public key as an HMAC secret.
            let (n, e) = embedded
                .clone()
                .or_else(|| rsa_components(jwk))
                .ok_or_else(not_signed)?;
            let pem = spki_pem(&n, &e);
            let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, pem.as_bytes());
            return match aws_lc_rs::hmac::verify(&k, input, &signature) {
                Ok(()) => claims(),
                Err(_) => Err(reject(Reason::SignatureInvalid, "HS256 does not verify")),
            };
        }
        // The allow-list is what the broker publishes and the registration names, within what
        // this RP can verify (RFC 8725 §3.1; Core §3.1.3.7 step 7).
        let listed = self.has(Fault::AcceptUnlistedAlg)
            || self
                .env
                .id_token_signing_alg_values
                .iter()
                .any(|a| a == alg);
        let verifiable = if self.has(Fault::Rs256Only) {
            alg == "RS256"
        } else {
            VERIFIABLE.contains(&alg)
        };
        if !listed || !verifiable {
            return Err(reject(
                Reason::AlgorithmRejected,
                format!("inner JWS alg {:?} is not registered", header.get("alg")),
            ));
        }
        if header.contains_key("crit") {
            return Err(reject(
                Reason::AlgorithmRejected,
                "the inner JWS header has `crit`; no extension is understood",
            ));
        }
        if embedded.is_none() {
            self.usable_for(jwk, alg)?;
        }
        let verified = match alg {
            "ES256" => {
                let point = ec_point(jwk).ok_or_else(|| {
                    reject(Reason::AlgorithmRejected, "ES256 needs an EC P-256 key")
                })?;
                let fixed = UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, &point)
                    .verify(input, &signature);
                if fixed.is_err() && self.has(Fault::EcdsaDerSignature) {
                    UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_ASN1, &point)
                        .verify(input, &signature)
                } else {
                    fixed
                }
            }
            _ => {
                let (n, e) = embedded
                    .clone()
                    .or_else(|| rsa_components(jwk))
                    .ok_or_else(|| {
                        reject(Reason::AlgorithmRejected, format!("{alg} needs an RSA key"))
                    })?;
                let params: &sig::RsaParameters = match alg {
                    "RS256" => &sig::RSA_PKCS1_2048_8192_SHA256,
                    "RS384" => &sig::RSA_PKCS1_2048_8192_SHA384,
                    "RS512" => &sig::RSA_PKCS1_2048_8192_SHA512,
                    "PS256" => &sig::RSA_PSS_2048_8192_SHA256,
                    "PS384" => &sig::RSA_PSS_2048_8192_SHA384,
                    _ => &sig::RSA_PSS_2048_8192_SHA512,
                };
                RsaPublicKeyComponents { n: &n, e: &e }.verify(params, input, &signature)
            }
        };
        verified.map_err(|_| {
            reject(
                Reason::SignatureInvalid,
                format!("the {alg} signature does not verify"),
            )
        })?;
        claims()
    }

    /// Whether the broker's JWK may verify an `alg` signature: `use` (if present) is `sig`,
    /// `key_ops` (if present) has `verify` (RFC 7517 §4.2, §4.3), and its `alg` (if present)
    /// is the header's (RFC 7517 §4.4).
    fn usable_for(&self, jwk: &Value, alg: &str) -> Result<(), Rejection> {
        let member = |n: &str| jwk.get(n);
        if !self.has(Fault::IgnoreKeyUse) {
            if let Some(u) = member("use")
                && u.as_str() != Some("sig")
            {
                return Err(reject(
                    Reason::KeyUnknown,
                    format!("the broker key is published for use {u}, not sig"),
                ));
            }
            if let Some(ops) = member("key_ops")
                && !ops
                    .as_array()
                    .is_some_and(|o| o.iter().any(|x| x.as_str() == Some("verify")))
            {
                return Err(reject(
                    Reason::KeyUnknown,
                    format!("the broker key's key_ops {ops} do not include verify"),
                ));
            }
        }
        if !self.has(Fault::IgnoreJwkAlg)
            && let Some(a) = member("alg")
            && a.as_str() != Some(alg)
        {
            return Err(reject(
                Reason::AlgorithmRejected,
                format!("the broker key is for alg {a}, the header says {alg}"),
            ));
        }
        Ok(())
    }

    /// The deliberate faults: a key the header offers (`jwk`, `x5c`) or names (`jku`, `x5u`,
    /// fetched by the flow), used instead of the broker's.
    fn header_key(&self, header: &Map<String, Value>) -> Option<(Vec<u8>, Vec<u8>)> {
        if self.has(Fault::IdTokenTrustJwk)
            && let Some(jwk) = header.get("jwk")
        {
            let part = |n: &str| jwk.get(n).and_then(Value::as_str).and_then(b64);
            if let (Some(n), Some(e)) = (part("n"), part("e")) {
                return Some((n, e));
            }
        }
        if self.has(Fault::IdTokenTrustX5c)
            && let Some(leaf) = header
                .get("x5c")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
            && let Some(key) = base64::engine::general_purpose::STANDARD
                .decode(leaf)
                .ok()
                .and_then(|der| rsa_of_certificate(&der))
        {
            return Some(key);
        }
        self.fetched_key.clone()
    }

    /// The broker's JWK named by the inner `kid`; `jku`, `jwk`, `x5u`, `x5c` are never used.
    fn broker_key(&self, header: &Map<String, Value>) -> Result<&'a Value, Rejection> {
        let unknown = || {
            reject(
                Reason::KeyUnknown,
                "the inner kid names none of the broker's signing keys",
            )
        };
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(unknown)?;
        let keys = self.jwks.get("keys").and_then(Value::as_array);
        let jwk = keys
            .into_iter()
            .flatten()
            .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
            .ok_or_else(|| {
                self.inner_kid_unknown.set(true);
                unknown()
            })?;
        Ok(jwk)
    }

    fn check_claims(&self, c: &Map<String, Value>, req: &IdTokenRequest) -> Result<(), Rejection> {
        let env = self.env;
        if !self.has(Fault::IgnoreIss) && c.get("iss").and_then(Value::as_str) != Some(&env.issuer)
        {
            return Err(claim("iss", "iss is not the broker's issuer"));
        }
        if self.has(Fault::VerifySignatureOnly) {
            return Ok(());
        }
        if !self.has(Fault::IgnoreAud) {
            let aud_ok = match c.get("aud") {
                Some(Value::String(a)) => *a == env.client_id,
                // Every audience must be this client: no untrusted extra audience.
                Some(Value::Array(a)) => {
                    !a.is_empty() && a.iter().all(|x| x.as_str() == Some(&env.client_id))
                }
                _ => false,
            };
            if !aud_ok {
                return Err(claim("aud", "aud is not exactly this client"));
            }
        }
        if let Some(azp) = c.get("azp")
            && azp.as_str() != Some(&env.client_id)
        {
            return Err(claim("azp", "azp is not this client"));
        }
        // A NumericDate is any JSON number of seconds, fractions and exponents included
        // (RFC 7519 §2): `1.7e9` and `1700000000.5` are as valid as `1700000000`.
        let skew = env.clock_skew_seconds as f64;
        let now = self.now as f64;
        let time = |name: &str| -> Result<Option<f64>, Rejection> {
            match c.get(name) {
                None => Ok(None),
                Some(v) => v
                    .as_f64()
                    .filter(|t| t.is_finite())
                    .filter(|_| v.is_i64() || !self.has(Fault::IntegerNumericDates))
                    .map(Some)
                    .ok_or_else(|| claim(name, format!("{name} is not a NumericDate"))),
            }
        };
        let exp = time("exp")?;
        if !self.has(Fault::IgnoreExp) {
            match exp {
                None => return Err(claim("exp", "exp is missing")),
                Some(exp) if now >= exp + skew => {
                    return Err(claim("exp", "the ID token has expired"));
                }
                _ => {}
            }
        }
        match time("iat")? {
            None => return Err(claim("iat", "iat is missing")),
            Some(iat) if iat > now + skew => {
                return Err(claim("iat", "iat is in the future"));
            }
            Some(iat) if iat < now - MAX_AGE_SECONDS as f64 => {
                return Err(claim("iat", "the ID token was issued too long ago"));
            }
            _ => {}
        }
        if let Some(nbf) = time("nbf")?
            && nbf > now + skew
        {
            return Err(claim("nbf", "the ID token is not valid yet"));
        }
        time("auth_time")?;
        if let Some(nonce) = &req.nonce
            && !self.has(Fault::IgnoreNonce)
            && c.get("nonce").and_then(Value::as_str) != Some(nonce)
        {
            return Err(claim("nonce", "nonce is not the one sent"));
        }
        if !req.acr_values.is_empty() {
            let acr = c.get("acr").and_then(Value::as_str);
            if !acr.is_some_and(|a| req.acr_values.iter().any(|r| r == a)) {
                return Err(claim("acr", "acr is not one of the requested values"));
            }
        }
        // Core §3.1.3.8: an at_hash, when present, binds the access token of the same response.
        if let (Some(token), Some(at_hash)) = (&req.access_token, c.get("at_hash"))
            && !self.has(Fault::SkipAtHash)
            && at_hash.as_str() != Some(&at_hash_of(token))
        {
            return Err(claim(
                "at_hash",
                "at_hash is not the hash of the access token of this response",
            ));
        }
        if c.get("sub")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(claim("sub", "sub is missing or empty"));
        }
        self.check_identifiers(c)
    }

    fn check_identifiers(&self, c: &Map<String, Value>) -> Result<(), Rejection> {
        let pre_2023 = self.has(Fault::Pre2023HetuSigns);
        for name in HETU_CLAIMS {
            if let Some(v) = c.get(*name) {
                let s = v
                    .as_str()
                    .ok_or_else(|| claim(name, format!("{name} is not a string")))?;
                ident::hetu(s, pre_2023).map_err(|e| claim(name, format!("{name}: {e}")))?;
            }
        }
        if let Some(v) = c.get("nin") {
            let s = v
                .as_str()
                .ok_or_else(|| claim("nin", "nin is not a string"))?;
            let country = c.get("nin_issuing_country").and_then(Value::as_str);
            let checked = match country {
                Some("FI") => ident::hetu(s, pre_2023),
                Some("SE") => {
                    ident::personnummer_checked(s, !self.has(Fault::PersonnummerWithoutLuhn))
                }
                Some("NO") => ident::fodselsnummer(s),
                Some("DK") => ident::cpr(s),
                _ => Err("nin_issuing_country is missing or unknown".into()),
            };
            checked.map_err(|e| claim("nin", format!("nin: {e}")))?;
        }
        Ok(())
    }
}

/// (n, e) of an RSA JWK.
fn rsa_components(jwk: &Value) -> Option<(Vec<u8>, Vec<u8>)> {
    let part = |n: &str| jwk.get(n).and_then(Value::as_str).and_then(b64);
    (jwk.get("kty")? == "RSA").then_some(())?;
    Some((part("n")?, part("e")?))
}

/// The uncompressed point of an EC P-256 JWK.
fn ec_point(jwk: &Value) -> Option<Vec<u8>> {
    let part = |n: &str| jwk.get(n).and_then(Value::as_str).and_then(b64);
    (jwk.get("kty")? == "EC" && jwk.get("crv")? == "P-256").then_some(())?;
    let (x, y) = (part("x")?, part("y")?);
    (x.len() == 32 && y.len() == 32).then(|| [vec![4], x, y].concat())
}

/// The fault's ECDH-ES: the CEK agreed with the header's `epk` (an empty encrypted key).
fn ecdh_es_cek(
    header: &Map<String, Value>,
    enc: ContentEnc,
    pkcs8: &[u8],
    encrypted_key: &[u8],
) -> Result<Vec<u8>, jwe::DecryptError> {
    let peer = header
        .get("epk")
        .and_then(ec_point)
        .ok_or(jwe::DecryptError)?;
    if !encrypted_key.is_empty() {
        return Err(jwe::DecryptError);
    }
    jwe::ecdh_es_cek(enc, pkcs8, &peer)
}

/// The RSA key (n, e) of a DER certificate, its signature unchecked.
pub(crate) fn rsa_of_certificate(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let Ok(x509_parser::public_key::PublicKey::RSA(rsa)) = cert.public_key().parsed() else {
        return None;
    };
    let strip = |b: &[u8]| b[b.iter().position(|x| *x != 0).unwrap_or(b.len())..].to_vec();
    Some((strip(rsa.modulus), strip(rsa.exponent)))
}

fn spki_pem(n: &[u8], e: &[u8]) -> String {
    crate::forge::jws::pem("PUBLIC KEY", &super::rp_keys::spki_der(n, e))
}

/// `at_hash` for an RS256 ID token: the left half of SHA-256 of the access token's ASCII octets,
/// base64url-encoded (Core §3.2.2.9).
fn at_hash_of(access_token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}
