//! FTN ID token validation of the reference RP: decrypt (allow-listed JWE, key by `kid` among
//! `use: enc` keys), verify the inner RS256 JWS (broker key by the inner `kid`), then the claims
//! per OIDC Core §3.1.3.7 and the national identifiers.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::io::Read;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
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
        let token = token.trim();
        if token.len() > MAX_TOKEN {
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
        let key_alg = KeyAlg::from_name(alg)
            .filter(|_| any_alg || allowed(&self.env.id_token_encryption_alg_values, alg))
            .filter(|a| any_alg || matches!(a, KeyAlg::RsaOaep | KeyAlg::RsaOaep256));
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

    /// Verify the inner JWS and return its claims.
    fn verify(&self, jws: &[u8]) -> Result<Map<String, Value>, Rejection> {
        let not_signed = || reject(Reason::SignatureInvalid, "the ID token is not a signed JWT");
        let text = std::str::from_utf8(jws).map_err(|_| not_signed())?;
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
        let key = match self.header_key(&header) {
            Some(k) => k,
            None => self.broker_key(&header)?,
        };
        let input = &text.as_bytes()[..h.len() + 1 + p.len()];
        if alg == "HS256" && self.has(Fault::IdTokenHmacWithPublicKey) {
            // The deliberate fault: the PEM of the broker's public key as an HMAC secret.
            let pem = spki_pem(&key.0, &key.1);
            let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, pem.as_bytes());
            return match aws_lc_rs::hmac::verify(&k, input, &signature) {
                Ok(()) => claims(),
                Err(_) => Err(reject(Reason::SignatureInvalid, "HS256 does not verify")),
            };
        }
        if !self
            .env
            .id_token_signing_alg_values
            .iter()
            .any(|a| a == alg)
            || alg != "RS256"
        {
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
        RsaPublicKeyComponents {
            n: &key.0,
            e: &key.1,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, input, &signature)
        .map_err(|_| {
            reject(
                Reason::SignatureInvalid,
                "the RS256 signature does not verify",
            )
        })?;
        claims()
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

    /// The broker key (n, e) named by the inner `kid`; `jku`, `jwk`, `x5u`, `x5c` are never used.
    fn broker_key(&self, header: &Map<String, Value>) -> Result<(Vec<u8>, Vec<u8>), Rejection> {
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
            .find(|k| {
                k.get("kid").and_then(Value::as_str) == Some(kid)
                    && k.get("kty").and_then(Value::as_str) == Some("RSA")
                    && k.get("use")
                        .and_then(Value::as_str)
                        .is_none_or(|u| u == "sig")
            })
            .ok_or_else(|| {
                self.inner_kid_unknown.set(true);
                unknown()
            })?;
        let part = |n: &str| jwk.get(n).and_then(Value::as_str).and_then(b64);
        match (part("n"), part("e")) {
            (Some(n), Some(e)) => Ok((n, e)),
            _ => Err(unknown()),
        }
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
    // DER of SubjectPublicKeyInfo{rsaEncryption, RSAPublicKey{n, e}}.
    fn len(n: usize) -> Vec<u8> {
        match n {
            0..=127 => vec![n as u8],
            128..=255 => vec![0x81, n as u8],
            _ => vec![0x82, (n >> 8) as u8, n as u8],
        }
    }
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        [vec![tag], len(body.len()), body.to_vec()].concat()
    }
    let int = |b: &[u8]| {
        let mut v = b.to_vec();
        if v.first().is_some_and(|x| *x & 0x80 != 0) {
            v.insert(0, 0);
        }
        tlv(0x02, &v)
    };
    let rsa = tlv(0x30, &[int(n), int(e)].concat());
    let alg = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let bits = tlv(0x03, &[vec![0], rsa].concat());
    let spki = tlv(0x30, &[alg.to_vec(), bits].concat());
    let b64 = base64::engine::general_purpose::STANDARD.encode(spki);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

/// `at_hash` for an RS256 ID token: the left half of SHA-256 of the access token's ASCII octets,
/// base64url-encoded (Core §3.2.2.9).
fn at_hash_of(access_token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}
