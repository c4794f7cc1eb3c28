//! Test key material: loading the committed TEST-ONLY PKI under `vectors/keys/`, and generating it.
//!
//! Keys are generated once by `eidconf keys generate` and committed; a run only loads them.

pub mod csr;
mod der;
pub mod dn;
mod generate;
pub mod ident;
pub mod orgnr;
pub mod parsed;
mod rsa;

pub use generate::{Spec, generate, specs};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

/// The name of the manifest that lists every certificate, its issuer and its purpose.
pub const MANIFEST: &str = "manifest.yaml";

/// One entry of `vectors/keys/manifest.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    pub name: String,
    /// The certificate that signed this one; absent for self-signed roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    pub purpose: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub warning: String,
    pub certificates: Vec<ManifestEntry>,
}

/// A certificate of the test PKI with its private key.
#[derive(Debug)]
pub struct Credential {
    pub name: String,
    pub issuer: Option<String>,
    pub purpose: String,
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    /// PKCS#8 PEM.
    pub key_pem: String,
    /// PKCS#8 DER.
    pub key_der: Vec<u8>,
}

impl Credential {
    /// `x5t`: base64url of the SHA-1 of the DER certificate (RFC 7515 §4.1.7).
    pub fn x5t(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha1::digest(&self.cert_der))
    }
}

/// The loaded test PKI. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Pki {
    dir: PathBuf,
    creds: Arc<BTreeMap<String, Credential>>,
}

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("no certificate named `{0}` in the test PKI (see vectors/keys/manifest.yaml)")]
    Unknown(String),
}

impl Pki {
    /// Load every certificate listed in `dir/manifest.yaml`.
    pub fn load(dir: &Path) -> Result<Pki, PkiError> {
        let manifest_path = dir.join(MANIFEST);
        let text = read(&manifest_path)?;
        let manifest: Manifest = serde_saphyr::from_str(&text).map_err(|e| PkiError::File {
            path: manifest_path.clone(),
            message: e.to_string(),
        })?;
        let mut creds = BTreeMap::new();
        for entry in manifest.certificates {
            let cert_path = dir.join(format!("{}.crt.pem", entry.name));
            let key_path = dir.join(format!("{}.key.pem", entry.name));
            let cert_pem = read(&cert_path)?;
            let key_pem = read(&key_path)?;
            let cert_der = pem_der(&cert_pem, "CERTIFICATE").ok_or_else(|| PkiError::File {
                path: cert_path,
                message: "no CERTIFICATE block".into(),
            })?;
            let key_der = pem_der(&key_pem, "PRIVATE KEY").ok_or_else(|| PkiError::File {
                path: key_path,
                message: "no PRIVATE KEY block".into(),
            })?;
            creds.insert(
                entry.name.clone(),
                Credential {
                    name: entry.name,
                    issuer: entry.issuer,
                    purpose: entry.purpose,
                    cert_pem,
                    cert_der,
                    key_pem,
                    key_der,
                },
            );
        }
        Ok(Pki {
            dir: dir.to_owned(),
            creds: Arc::new(creds),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn get(&self, name: &str) -> Result<&Credential, PkiError> {
        self.creds
            .get(name)
            .ok_or_else(|| PkiError::Unknown(name.to_owned()))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.creds.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.creds.keys().map(String::as_str)
    }

    /// The certificate followed by its issuers up to (not including) the self-signed root, PEM.
    pub fn chain_pem(&self, name: &str) -> Result<String, PkiError> {
        let mut out = String::new();
        let mut cur = self.get(name)?;
        out.push_str(&cur.cert_pem);
        while let Some(issuer) = &cur.issuer {
            cur = self.get(issuer)?;
            if cur.issuer.is_none() {
                break;
            }
            out.push_str(&cur.cert_pem);
        }
        Ok(out)
    }

    /// The chain as DER certificates, leaf first (see `chain_pem`).
    pub fn chain_der(&self, name: &str) -> Result<Vec<Vec<u8>>, PkiError> {
        let mut out = Vec::new();
        let mut cur = self.get(name)?;
        out.push(cur.cert_der.clone());
        while let Some(issuer) = &cur.issuer {
            cur = self.get(issuer)?;
            if cur.issuer.is_none() {
                break;
            }
            out.push(cur.cert_der.clone());
        }
        Ok(out)
    }

    /// The root the RP trusts for the Freja services host and that the mock trusts for clients.
    pub fn trust_anchor(&self) -> Result<&Credential, PkiError> {
        self.get(TRUST_ANCHOR)
    }
}

/// Well-known names in the test PKI.
pub const TRUST_ANCHOR: &str = "test-root-ca";
pub const SERVER_DEFAULT: &str = "server-localhost";
pub const CLIENT_DEFAULT: &str = "rp-client";
pub const JWS_DEFAULT: &str = "freja-jws-current";

fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|e| PkiError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// The DER of the first PEM block with this label.
pub fn pem_der(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let b64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// Every PEM block with this label, as DER.
pub fn pem_all_der(pem: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(i) = rest.find(&begin) {
        let block = &rest[i..];
        match pem_der(block, label) {
            Some(der) => out.push(der),
            None => break,
        }
        rest = &block[begin.len()..];
    }
    out
}

/// The integers of a PKCS#8 RSA private key (RFC 5208, RFC 8017 A.1.2), for the forge's raw RSA
/// operations on hand-built encoded messages.
pub(crate) fn rsa_private_components(pkcs8: &[u8]) -> Result<RsaPrivateComponents, String> {
    use der::{INTEGER, Reader, SEQUENCE};
    let mut k = Reader::new(pkcs1_private_key(pkcs8)?, 0);
    let key = k.expect(SEQUENCE, "RSAPrivateKey")?;
    let mut f = Reader::of(&key);
    f.expect(INTEGER, "version")?;
    let mut int =
        |name: &str| -> Result<Vec<u8>, String> { Ok(f.expect(INTEGER, name)?.content.to_vec()) };
    let n = int("modulus")?;
    int("publicExponent")?;
    Ok(RsaPrivateComponents {
        n,
        d: int("privateExponent")?,
        p: int("prime1")?,
        q: int("prime2")?,
        dp: int("exponent1")?,
        dq: int("exponent2")?,
        qinv: int("coefficient")?,
    })
}

/// The RSAPrivateKey (RFC 8017 A.1.2) a PKCS#8 PrivateKeyInfo (RFC 5208 §5) holds.
pub(crate) fn pkcs1_private_key(pkcs8: &[u8]) -> Result<&[u8], String> {
    use der::{INTEGER, OCTET_STRING, Reader, SEQUENCE};
    let mut top = Reader::new(pkcs8, 0);
    let info = top.expect(SEQUENCE, "PrivateKeyInfo")?;
    let mut r = Reader::of(&info);
    r.expect(INTEGER, "version")?;
    r.expect(SEQUENCE, "privateKeyAlgorithm")?;
    Ok(r.expect(OCTET_STRING, "privateKey")?.content)
}

/// An RSAPrivateKey's integers, big-endian (RFC 8017 A.1.2).
pub(crate) struct RsaPrivateComponents {
    pub n: Vec<u8>,
    /// The CRT members below are what the forge uses; the tests check them against `d`.
    #[cfg_attr(not(test), allow(dead_code))]
    pub d: Vec<u8>,
    pub p: Vec<u8>,
    pub q: Vec<u8>,
    pub dp: Vec<u8>,
    pub dq: Vec<u8>,
    pub qinv: Vec<u8>,
}

/// The modulus and public exponent of an RSAPublicKey DER (RFC 8017 A.1.1).
pub(crate) fn rsa_public_components(der_: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    use der::{INTEGER, Reader, SEQUENCE};
    let mut top = Reader::new(der_, 0);
    let key = top.expect(SEQUENCE, "RSAPublicKey")?;
    let mut f = Reader::of(&key);
    let n = f.expect(INTEGER, "modulus")?.content.to_vec();
    let e = f.expect(INTEGER, "publicExponent")?.content.to_vec();
    Ok((n, e))
}
