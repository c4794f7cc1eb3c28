//! JWS compact serialization built by hand from primitives (aws-lc-rs for RSA, ECDSA and HMAC), so that
//! every byte of a token is under the recipe's control, malformed ones included.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, RsaEncoding};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::pki::{Credential, Pki};

pub use super::ForgeError;
pub(crate) use super::err;

/// Signature algorithms the forge signs with: RSA, and ES256 (raw `r || s`, RFC 7518 §3.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SigAlg {
    #[default]
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
}

impl SigAlg {
    /// The RSA encoding; `None` for ES256.
    fn encoding(self) -> Option<&'static dyn RsaEncoding> {
        Some(match self {
            SigAlg::RS256 => &signature::RSA_PKCS1_SHA256,
            SigAlg::RS384 => &signature::RSA_PKCS1_SHA384,
            SigAlg::RS512 => &signature::RSA_PKCS1_SHA512,
            SigAlg::PS256 => &signature::RSA_PSS_SHA256,
            SigAlg::PS384 => &signature::RSA_PSS_SHA384,
            SigAlg::PS512 => &signature::RSA_PSS_SHA512,
            SigAlg::ES256 => return None,
        })
    }

    /// The JWS `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            SigAlg::RS256 => "RS256",
            SigAlg::RS384 => "RS384",
            SigAlg::RS512 => "RS512",
            SigAlg::PS256 => "PS256",
            SigAlg::PS384 => "PS384",
            SigAlg::PS512 => "PS512",
            SigAlg::ES256 => "ES256",
        }
    }
}

/// HMAC algorithms (for algorithm-confusion tokens only: Freja never uses them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum MacAlg {
    #[default]
    HS256,
    HS384,
    HS512,
}

impl MacAlg {
    pub fn name(self) -> &'static str {
        match self {
            MacAlg::HS256 => "HS256",
            MacAlg::HS384 => "HS384",
            MacAlg::HS512 => "HS512",
        }
    }

    fn algorithm(self) -> hmac::Algorithm {
        match self {
            MacAlg::HS256 => hmac::HMAC_SHA256,
            MacAlg::HS384 => hmac::HMAC_SHA384,
            MacAlg::HS512 => hmac::HMAC_SHA512,
        }
    }
}

/// How the signature segment is produced when the token is assembled.
#[derive(Debug, Clone, PartialEq)]
pub enum Signer {
    /// RSA with the named test-PKI key.
    Rsa { key: String, alg: SigAlg },
    /// HMAC keyed by these bytes.
    Hmac { secret: Vec<u8>, alg: MacAlg },
    /// Exactly these bytes (empty: an unsigned token).
    Bytes(Vec<u8>),
}

/// A token before assembly: the exact JSON bytes of header and payload, and how to sign.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
    pub signer: Signer,
    /// RFC 7797 `b64: false`: the payload travels (and is signed) unencoded.
    pub b64: bool,
}

impl Draft {
    /// A draft from JSON objects, signed RS256 by `key`.
    pub fn new(header: &Map<String, Value>, payload: &Map<String, Value>, key: &str) -> Draft {
        Draft {
            header: Value::Object(header.clone()).to_string().into_bytes(),
            payload: Value::Object(payload.clone()).to_string().into_bytes(),
            signer: Signer::Rsa {
                key: key.to_owned(),
                alg: SigAlg::RS256,
            },
            b64: true,
        }
    }

    /// `H.P`, the bytes the signature covers.
    pub fn signing_input(&self) -> String {
        format!("{}.{}", b64u(&self.header), self.payload_segment())
    }

    fn payload_segment(&self) -> String {
        if self.b64 {
            b64u(&self.payload)
        } else {
            String::from_utf8_lossy(&self.payload).into_owned()
        }
    }

    /// The signature bytes the signer gives over the current signing input.
    pub fn signature(&self, pki: &Pki) -> Result<Vec<u8>, ForgeError> {
        let input = self.signing_input();
        match &self.signer {
            Signer::Rsa { key, alg } => sign(pki, key, *alg, input.as_bytes()),
            Signer::Hmac { secret, alg } => Ok(hmac_sign(secret, *alg, input.as_bytes())),
            Signer::Bytes(b) => Ok(b.clone()),
        }
    }

    /// The compact serialization.
    pub fn assemble(&self, pki: &Pki) -> Result<String, ForgeError> {
        let sig = self.signature(pki)?;
        Ok(format!("{}.{}", self.signing_input(), b64u(&sig)))
    }
}

/// base64url without padding.
pub fn b64u(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Sign `input` with the named test-PKI key under `alg` (an RSA key for RS*/PS*, P-256 for ES256).
pub fn sign(pki: &Pki, key: &str, alg: SigAlg, input: &[u8]) -> Result<Vec<u8>, ForgeError> {
    let cred = credential(pki, key)?;
    let Some(encoding) = alg.encoding() else {
        let pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &cred.key_der)
                .map_err(|e| ForgeError(format!("`{key}` is not an EC P-256 signing key: {e}")))?;
        let sig = pair
            .sign(&SystemRandom::new(), input)
            .map_err(|_| ForgeError(format!("signing with `{key}` failed")))?;
        return Ok(sig.as_ref().to_vec());
    };
    let pair = crate::pki::parsed::rsa_key_pair(&cred.key_der)
        .map_err(|e| ForgeError(format!("`{key}` is not an RSA signing key: {e}")))?;
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(encoding, &SystemRandom::new(), input, &mut sig)
        .map_err(|_| ForgeError(format!("signing with `{key}` failed")))?;
    Ok(sig)
}

pub fn hmac_sign(secret: &[u8], alg: MacAlg, input: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(alg.algorithm(), secret), input)
        .as_ref()
        .to_vec()
}

pub(crate) fn credential<'a>(pki: &'a Pki, name: &str) -> Result<&'a Credential, ForgeError> {
    pki.get(name).map_err(|e| ForgeError(e.to_string()))
}

/// The public half of a test-PKI key, in every encoding an RP might have stored it in.
pub struct PublicKey<'a> {
    cred: &'a Credential,
    /// SubjectPublicKeyInfo DER.
    spki: Vec<u8>,
    /// RSAPublicKey (PKCS#1) DER.
    pkcs1: Vec<u8>,
    /// Modulus and exponent, big-endian without leading zeros.
    n: Vec<u8>,
    e: Vec<u8>,
}

impl<'a> PublicKey<'a> {
    pub fn of(pki: &'a Pki, name: &str) -> Result<PublicKey<'a>, ForgeError> {
        Self::of_credential(credential(pki, name)?)
    }

    pub fn of_credential(cred: &'a Credential) -> Result<PublicKey<'a>, ForgeError> {
        let name = &cred.name;
        let (_, cert) = x509_parser::parse_x509_certificate(&cred.cert_der)
            .map_err(|e| ForgeError(format!("`{name}`: certificate does not parse: {e}")))?;
        let spki = cert.public_key();
        let Ok(x509_parser::public_key::PublicKey::RSA(rsa)) = spki.parsed() else {
            return err(format!("`{name}` is not an RSA key"));
        };
        let strip = |b: &[u8]| {
            let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
            b[i..].to_vec()
        };
        Ok(PublicKey {
            cred,
            spki: spki.raw.to_vec(),
            pkcs1: spki.subject_public_key.data.to_vec(),
            n: strip(rsa.modulus),
            e: strip(rsa.exponent),
        })
    }

    /// SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// RSAPublicKey (PKCS#1) DER.
    pub fn pkcs1_der(&self) -> &[u8] {
        &self.pkcs1
    }

    pub fn exponent(&self) -> &[u8] {
        &self.e
    }

    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// The public JWK (RFC 7517), members in the usual order.
    pub fn jwk(&self, kid: Option<&str>) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("kty".into(), json!("RSA"));
        if let Some(k) = kid {
            m.insert("kid".into(), json!(k));
        }
        m.insert("n".into(), json!(b64u(&self.n)));
        m.insert("e".into(), json!(b64u(&self.e)));
        m
    }

    /// The bytes of this key in `enc`, as an RS256→HS256-confused verifier might use them.
    pub fn encode(&self, enc: KeyEncoding) -> Vec<u8> {
        use KeyEncoding::*;
        let spki_pem = || pem("PUBLIC KEY", &self.spki);
        let cert_pem = || self.cred.cert_pem.clone();
        let s = match enc {
            SpkiPem => spki_pem(),
            SpkiPemNoNewline => spki_pem().trim_end().to_owned(),
            SpkiPemCrlf => spki_pem().replace('\n', "\r\n"),
            SpkiPemCr => spki_pem().replace('\n', "\r"),
            SpkiPemSingleLine => spki_pem().replace('\n', ""),
            SpkiPemTabBeforeEnd => spki_pem().replace("\n-----END", "\n\t-----END"),
            SpkiPemLeadingNewline => format!("\n{}", spki_pem()),
            SpkiPemLeadingSpace => format!(" {}", spki_pem()),
            Pkcs1Pem => pem("RSA PUBLIC KEY", &self.pkcs1),
            SpkiDer => return self.spki.clone(),
            Pkcs1Der => return self.pkcs1.clone(),
            Openssh => {
                let mut blob = Vec::new();
                for part in [b"ssh-rsa".as_slice(), &mpint(&self.e), &mpint(&self.n)] {
                    blob.extend((part.len() as u32).to_be_bytes());
                    blob.extend(part);
                }
                format!("ssh-rsa {}", STANDARD.encode(blob))
            }
            JwkCompact => Value::Object(self.jwk(None)).to_string(),
            JwkPretty => {
                serde_json::to_string_pretty(&Value::Object(self.jwk(None))).unwrap_or_default()
            }
            CertPem => cert_pem(),
            CertPemNoNewline => cert_pem().trim_end().to_owned(),
            CertPemCrlf => cert_pem().replace('\n', "\r\n"),
            CertDer => return self.cred.cert_der.clone(),
            X5c => STANDARD.encode(&self.cred.cert_der),
            Modulus => return self.n.clone(),
            X5t => self.cred.x5t(),
        };
        s.into_bytes()
    }
}

/// The encodings of a public key an RP might feed to HMAC by mistake (RS256→HS256 confusion,
/// RFC 8725 §2.1; CVE-2015-9235). The certificate forms come first in likelihood for Freja: that is
/// what a Freja RP stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyEncoding {
    SpkiPem,
    SpkiPemNoNewline,
    SpkiPemCrlf,
    SpkiPemCr,
    SpkiPemSingleLine,
    SpkiPemTabBeforeEnd,
    SpkiPemLeadingNewline,
    SpkiPemLeadingSpace,
    Pkcs1Pem,
    SpkiDer,
    Pkcs1Der,
    Openssh,
    JwkCompact,
    JwkPretty,
    /// The certificate PEM exactly as stored in `vectors/keys/` (final newline included).
    CertPem,
    CertPemNoNewline,
    CertPemCrlf,
    CertDer,
    /// The standard-Base64 DER certificate, as in an `x5c` array.
    X5c,
    /// The raw modulus bytes.
    Modulus,
    /// The `x5t` string.
    X5t,
}

/// PEM with 64-column lines and a final newline.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// An SSH mpint: big-endian, a leading zero when the top bit is set.
fn mpint(b: &[u8]) -> Vec<u8> {
    if b.first().is_some_and(|&x| x & 0x80 != 0) {
        let mut v = vec![0];
        v.extend(b);
        v
    } else {
        b.to_vec()
    }
}

/// `x5t`: base64url SHA-1 of the DER certificate.
pub fn x5t(pki: &Pki, name: &str) -> Result<String, ForgeError> {
    Ok(credential(pki, name)?.x5t())
}

/// `x5t#S256`: base64url SHA-256 of the DER certificate.
pub fn x5t_s256(pki: &Pki, name: &str) -> Result<String, ForgeError> {
    Ok(b64u(&Sha256::digest(&credential(pki, name)?.cert_der)))
}

/// A JWKS holding the public key of `name` under `kid`.
pub fn jwks(pki: &Pki, name: &str, kid: &str) -> Result<Value, ForgeError> {
    let key = PublicKey::of(pki, name)?;
    let mut jwk = key.jwk(Some(kid));
    jwk.insert("use".into(), json!("sig"));
    jwk.insert("alg".into(), json!("RS256"));
    Ok(json!({ "keys": [Value::Object(jwk)] }))
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};

    use super::*;
    use crate::forge::mutation::{Context, Mutation, forge};

    pub(crate) fn pki() -> Pki {
        Pki::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/keys"))
            .expect("test PKI")
    }

    fn draft(pki: &Pki) -> Draft {
        let mut h = Map::new();
        h.insert("x5t".into(), json!(x5t(pki, "freja-jws-current").unwrap()));
        h.insert("alg".into(), json!("RS256"));
        let p = json!({"authRef": "ref", "status": "APPROVED", "userInfo": "Åsa Öberg"});
        Draft::new(&h, p.as_object().unwrap(), "freja-jws-current")
    }

    fn recipe(yaml: &str) -> Vec<Mutation> {
        serde_saphyr::from_str(yaml).expect("recipe")
    }

    /// Every well-formed token the forge mints verifies under an independent implementation.
    #[test]
    fn well_formed_tokens_verify_under_jsonwebtoken() {
        let pki = pki();
        let ctx = Context {
            pki: &pki,
            canary_url: Some("https://localhost:1"),
        };
        let key = |name: &str| {
            let k = PublicKey::of(&pki, name).unwrap();
            DecodingKey::from_rsa_raw_components(&k.n, &k.e)
        };
        let cases: &[(&str, Algorithm, &str)] = &[
            ("[]", Algorithm::RS256, "freja-jws-current"),
            (
                "[{resign_with: {key: freja-jws-retired}}]",
                Algorithm::RS256,
                "freja-jws-retired",
            ),
            (
                "[{set_header: {name: alg, value: PS256}}, {resign_with: {key: freja-jws-current, alg: PS256}}]",
                Algorithm::PS256,
                "freja-jws-current",
            ),
            (
                "[{set_header: {name: alg, value: PS512}}, {resign_with: {key: freja-jws-current, alg: PS512}}]",
                Algorithm::PS512,
                "freja-jws-current",
            ),
            (
                "[{set_header: {name: alg, value: RS384}}, {resign_with: {key: freja-jws-current, alg: RS384}}]",
                Algorithm::RS384,
                "freja-jws-current",
            ),
            (
                "[{set_header: {name: alg, value: RS512}}, {resign_with: {key: freja-jws-current, alg: RS512}}]",
                Algorithm::RS512,
                "freja-jws-current",
            ),
            (
                "[{embed_jwk: {key: untrusted-ca}}]",
                Algorithm::RS256,
                "untrusted-ca",
            ),
            (
                "[{x5c: {key: rp-client-untrusted, chain: true}}]",
                Algorithm::RS256,
                "rp-client-untrusted",
            ),
            (
                "[{jku: {key: untrusted-ca}}]",
                Algorithm::RS256,
                "untrusted-ca",
            ),
            (
                "[{kid: {value: k1}}, {x5t: {of: freja-jws-other-env}}]",
                Algorithm::RS256,
                "freja-jws-current",
            ),
        ];
        for (yaml, alg, signer) in cases {
            let token = forge(draft(&pki), &recipe(yaml), &ctx).unwrap();
            let mut v = Validation::new(*alg);
            v.required_spec_claims.clear();
            v.validate_exp = false;
            let got =
                decode::<Value>(&token, &key(signer), &v).unwrap_or_else(|e| panic!("{yaml}: {e}"));
            assert_eq!(got.claims["userInfo"], json!("Åsa Öberg"), "{yaml}");
        }
        // HMAC with a known secret is well formed too (it is the algorithm that is wrong).
        let token = forge(draft(&pki), &recipe("[{hmac: {secret: aaaa}}]"), &ctx).unwrap();
        let mut v = Validation::new(Algorithm::HS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        decode::<Value>(&token, &DecodingKey::from_secret(b"aaaa"), &v).unwrap();
        // And a malformed one does not verify there either: the oracle can fail.
        let token = forge(draft(&pki), &recipe("[{truncate_signature: {}}]"), &ctx).unwrap();
        let mut v = Validation::new(Algorithm::RS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        assert!(decode::<Value>(&token, &key("freja-jws-current"), &v).is_err());
    }

    #[test]
    fn hand_built_shapes_are_byte_exact() {
        let pki = pki();
        let ctx = Context {
            pki: &pki,
            canary_url: None,
        };
        let d = draft(&pki);
        let si = d.signing_input();
        let t = |yaml: &str| forge(d.clone(), &recipe(yaml), &ctx).unwrap();
        let none = t("[{alg_none: {spelling: nOnE}}]");
        assert!(none.ends_with('.'), "{none}");
        let h = URL_SAFE_NO_PAD
            .decode(none.split('.').next().unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(h).unwrap(),
            format!(
                r#"{{"x5t":"{}","alg":"nOnE"}}"#,
                x5t(&pki, "freja-jws-current").unwrap()
            )
        );
        assert_eq!(t("[drop_signature]"), si);
        assert_eq!(t("[strip_signature]"), format!("{si}."));
        assert_eq!(
            t("[{zero_signature: {}}]"),
            format!("{si}.{}", "A".repeat(342))
        );
        let dup = t("[{duplicate_member: {part: payload, name: userInfo, value: eve}}]");
        let p = URL_SAFE_NO_PAD
            .decode(dup.split('.').nth(1).unwrap())
            .unwrap();
        assert!(
            String::from_utf8(p)
                .unwrap()
                .ends_with(r#""userInfo":"Åsa Öberg","userInfo":"eve"}"#)
        );
        let padded = t("[{pad_base64: {segment: signature}}]");
        assert!(padded.ends_with("=="), "342 chars take two");
        let b64f = t("[b64_false: {}]"
            .replace("b64_false: {}", "{b64_false: {}}")
            .as_str());
        assert!(b64f.contains(".{\"authRef\":\"ref\""), "{b64f}");
    }

    #[test]
    fn recipe_mistakes_are_errors_not_panics() {
        let pki = pki();
        let ctx = Context {
            pki: &pki,
            canary_url: None,
        };
        let bad = |yaml: &str| forge(draft(&pki), &recipe(yaml), &ctx).unwrap_err().0;
        assert!(bad("[strip_signature, {kid: {value: x}}]").contains("must come before"));
        assert!(bad("[{jku: {key: untrusted-ca}}]").contains("no canary"));
        assert!(bad("[{resign_with: {key: nobody}}]").contains("nobody"));
        assert!(bad("[drop_signature, drop_signature]").contains("no signature segment"));
        assert!(bad("[{flip_bit: {segment: signature, byte: 9999}}]").contains("outside"));
        assert!(bad("[{inflate: {part: header, bytes: 4294967295}}]").contains("at most"));
        assert!(
            serde_saphyr::from_str::<Vec<Mutation>>("[{alg_none: {spelling: none, x: 1}}]")
                .is_err()
        );
        assert!(
            serde_saphyr::from_str::<Vec<Mutation>>("[{zero_signature: {bytes: many}}]").is_err()
        );
        assert!(serde_saphyr::from_str::<Vec<Mutation>>("[no_such_mutation]").is_err());
    }
}
