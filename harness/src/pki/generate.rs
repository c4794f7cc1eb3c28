//! `eidconf keys generate`: the TEST-ONLY PKI, generated with rcgen and committed.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, SanType,
    date_time_ymd,
};

use super::{MANIFEST, Manifest, ManifestEntry};

/// What to generate for one certificate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: &'static str,
    pub issuer: Option<&'static str>,
    pub purpose: &'static str,
    pub kind: Kind,
    pub common_name: &'static str,
    /// (not before, not after) as years.
    pub validity: (i32, i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ca,
    Server(&'static [&'static str]),
    Client,
    Signing,
    /// A plain RSA key pair for JWE key encryption, carried by a self-signed certificate.
    Encryption,
    /// An EC P-256 key pair (ES256 signing, ECDH-ES), carried by a self-signed certificate.
    EcP256,
    /// A 1024-bit RSA key pair, too short for any use. aws-lc-rs neither generates nor signs with
    /// such keys, so it is generated here and its certificate comes from its issuer.
    WeakRsa1024,
}

const LOOPBACK: &[&str] = &["localhost", "127.0.0.1", "::1"];
const VALID: (i32, i32) = (2025, 2045);

/// The whole test PKI, parents before children.
pub fn specs() -> Vec<Spec> {
    use Kind::*;
    vec![
        Spec {
            name: "test-root-ca",
            issuer: None,
            purpose: "Root the RP trusts for the mock services host and the mock trusts for RP client certificates",
            kind: Ca,
            common_name: "eidconf TEST Root CA",
            validity: VALID,
        },
        Spec {
            name: "test-issuing-ca",
            issuer: Some("test-root-ca"),
            purpose: "Issuing CA under the test root",
            kind: Ca,
            common_name: "eidconf TEST Issuing CA",
            validity: VALID,
        },
        Spec {
            name: "untrusted-ca",
            issuer: None,
            purpose: "A CA nobody trusts: issues the untrusted server and client certificates",
            kind: Ca,
            common_name: "eidconf UNTRUSTED CA",
            validity: VALID,
        },
        Spec {
            name: "other-env-root-ca",
            issuer: None,
            purpose: "Root of the other environment (stands for PRODUCTION when the RP is configured for TEST)",
            kind: Ca,
            common_name: "eidconf OTHER ENVIRONMENT Root CA",
            validity: VALID,
        },
        Spec {
            name: "server-localhost",
            issuer: Some("test-issuing-ca"),
            purpose: "The mock services host: localhost, 127.0.0.1, ::1",
            kind: Server(LOOPBACK),
            common_name: "localhost",
            validity: VALID,
        },
        Spec {
            name: "server-expired",
            issuer: Some("test-issuing-ca"),
            purpose: "Loopback server certificate that expired in 2020",
            kind: Server(LOOPBACK),
            common_name: "localhost",
            validity: (2018, 2020),
        },
        Spec {
            name: "server-wrong-host",
            issuer: Some("test-issuing-ca"),
            purpose: "Trusted server certificate for another host name only",
            kind: Server(&["services.wrong-host.invalid"]),
            common_name: "services.wrong-host.invalid",
            validity: VALID,
        },
        Spec {
            name: "server-untrusted",
            issuer: Some("untrusted-ca"),
            purpose: "Loopback server certificate from a CA the RP does not trust",
            kind: Server(LOOPBACK),
            common_name: "localhost",
            validity: VALID,
        },
        Spec {
            name: "rp-client",
            issuer: Some("test-issuing-ca"),
            purpose: "The RP's TLS client certificate",
            kind: Client,
            common_name: "eidconf test RP",
            validity: VALID,
        },
        Spec {
            name: "rp-client-untrusted",
            issuer: Some("untrusted-ca"),
            purpose: "A client certificate from a second, untrusted CA",
            kind: Client,
            common_name: "eidconf untrusted RP",
            validity: VALID,
        },
        Spec {
            name: "freja-jws-current",
            issuer: Some("test-issuing-ca"),
            purpose: "The provider's current JWS signing certificate (the RP pins it)",
            kind: Signing,
            common_name: "eidconf TEST JWS Signing current",
            validity: VALID,
        },
        Spec {
            name: "freja-jws-retired",
            issuer: Some("test-issuing-ca"),
            purpose: "The provider's previous JWS signing certificate, expired and no longer pinned",
            kind: Signing,
            common_name: "eidconf TEST JWS Signing retired",
            validity: (2017, 2020),
        },
        Spec {
            name: "freja-jws-other-env",
            issuer: Some("other-env-root-ca"),
            purpose: "The JWS signing certificate of the other environment",
            kind: Signing,
            common_name: "eidconf OTHER ENVIRONMENT JWS Signing",
            validity: VALID,
        },
        // FTN OIDC: plain RSA keys, each a self-signed certificate; a key's name is its kid.
        Spec {
            name: "ftn-rp-enc-1",
            issuer: None,
            purpose: "The RP's current ID token decryption key (use: enc)",
            kind: Encryption,
            common_name: "eidconf TEST FTN RP encryption 1",
            validity: VALID,
        },
        Spec {
            name: "ftn-rp-enc-2",
            issuer: None,
            purpose: "The RP's second decryption key (use: enc): the previous one during a rotation",
            kind: Encryption,
            common_name: "eidconf TEST FTN RP encryption 2",
            validity: VALID,
        },
        Spec {
            name: "ftn-rp-sig",
            issuer: None,
            purpose: "The RP's signing key (use: sig): request objects and client assertions, never decryption",
            kind: Signing,
            common_name: "eidconf TEST FTN RP signing",
            validity: VALID,
        },
        Spec {
            name: "ftn-broker-sig-1",
            issuer: None,
            purpose: "The FTN broker's current ID token signing key",
            kind: Signing,
            common_name: "eidconf TEST FTN broker signing 1",
            validity: VALID,
        },
        Spec {
            name: "ftn-broker-sig-2",
            issuer: None,
            purpose: "The FTN broker's next ID token signing key, published ahead of use",
            kind: Signing,
            common_name: "eidconf TEST FTN broker signing 2",
            validity: VALID,
        },
        Spec {
            name: "ftn-rp-weak-1024",
            issuer: Some("untrusted-ca"),
            purpose: "A 1024-bit RSA key an RP must refuse to publish or use (FTN requires at least 2048 bits)",
            kind: WeakRsa1024,
            common_name: "eidconf TEST FTN RP weak 1024-bit key",
            validity: VALID,
        },
        Spec {
            name: "ftn-attacker",
            issuer: None,
            purpose: "A key nobody trusts: the attacker's signing and encryption key",
            kind: Signing,
            common_name: "eidconf TEST attacker",
            validity: VALID,
        },
        Spec {
            name: "ftn-broker-sig-3",
            issuer: None,
            purpose: "A third FTN broker RSA signing key, published for one algorithm (RS512) by brokers that publish several",
            kind: Signing,
            common_name: "eidconf TEST FTN broker signing 3",
            validity: VALID,
        },
        // EC P-256: brokers that publish ES256 beside RS256, and ECDH-ES.
        Spec {
            name: "ftn-broker-ec-1",
            issuer: None,
            purpose: "The FTN broker's ES256 (EC P-256) ID token signing key, for brokers that publish several algorithms",
            kind: EcP256,
            common_name: "eidconf TEST FTN broker EC signing 1",
            validity: VALID,
        },
        Spec {
            name: "ftn-rp-enc-ec",
            issuer: None,
            purpose: "An EC P-256 decryption key of the RP (use: enc), held but never registered for ECDH-ES: only a faulty RP decrypts with it",
            kind: EcP256,
            common_name: "eidconf TEST FTN RP EC encryption",
            validity: VALID,
        },
        Spec {
            name: "ftn-jwe-epk",
            issuer: None,
            purpose: "The sender's ECDH-ES ephemeral key (fixed, so that a run generates no key): the epk of forged ECDH-ES tokens",
            kind: EcP256,
            common_name: "eidconf TEST FTN JWE ephemeral key",
            validity: VALID,
        },
    ]
}

const WARNING: &str = "TEST ONLY. These keys are published and worthless; never trust them outside eidconf's own tests.";

/// Generate the certificates of `specs()` that `dir` does not hold yet, keeping the others (vectors
/// depend on them); with `force`, replace all. Returns the names written.
pub fn generate(dir: &Path, force: bool) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut issued: Vec<(&'static str, CertificateParams, KeyPair)> = Vec::new();
    let mut written = Vec::new();
    let mut manifest = Manifest {
        warning: WARNING.into(),
        certificates: Vec::new(),
    };
    for spec in specs() {
        let crt_path = dir.join(format!("{}.crt.pem", spec.name));
        let key_path = dir.join(format!("{}.key.pem", spec.name));
        if spec.kind == Kind::WeakRsa1024 {
            // Never an issuer, so it needs no KeyPair (which aws-lc-rs could not load anyway).
            if force || !crt_path.exists() || !key_path.exists() {
                let (key_der, public) = weak::generate_1024()?;
                let issuer = spec.issuer.ok_or("a weak key needs an issuer")?;
                let (_, ip, ik) = issued
                    .iter()
                    .find(|(n, _, _)| *n == issuer)
                    .ok_or_else(|| format!("{}: issuer {issuer} must come first", spec.name))?;
                let cert = params(&spec)?
                    .signed_by(&public, &Issuer::from_params(ip, ik))
                    .map_err(|e| format!("{}: {e}", spec.name))?;
                write(dir, &format!("{}.crt.pem", spec.name), &cert.pem())?;
                write(
                    dir,
                    &format!("{}.key.pem", spec.name),
                    &weak::pem("PRIVATE KEY", &key_der),
                )?;
                written.push(spec.name.to_owned());
            }
            manifest.certificates.push(ManifestEntry {
                name: spec.name.into(),
                issuer: spec.issuer.map(Into::into),
                purpose: spec.purpose.into(),
            });
            continue;
        }
        if !force && crt_path.exists() && key_path.exists() {
            // Keep it; its key (and a DN rebuilt from the spec) can still issue children.
            let pem = std::fs::read_to_string(&key_path)
                .map_err(|e| format!("{}: {e}", key_path.display()))?;
            let key = KeyPair::from_pem(&pem).map_err(|e| format!("{}: {e}", spec.name))?;
            manifest.certificates.push(ManifestEntry {
                name: spec.name.into(),
                issuer: spec.issuer.map(Into::into),
                purpose: spec.purpose.into(),
            });
            issued.push((spec.name, params(&spec)?, key));
            continue;
        }
        let alg = if spec.kind == Kind::EcP256 {
            &PKCS_ECDSA_P256_SHA256
        } else {
            &PKCS_RSA_SHA256
        };
        let key = KeyPair::generate_for(alg).map_err(|e| format!("{}: {e}", spec.name))?;
        let params = params(&spec)?;
        let cert = match spec.issuer {
            None => params.self_signed(&key),
            Some(issuer) => {
                let (_, ip, ik) = issued
                    .iter()
                    .find(|(n, _, _)| *n == issuer)
                    .ok_or_else(|| format!("{}: issuer {issuer} must come first", spec.name))?;
                params.signed_by(&key, &Issuer::from_params(ip, ik))
            }
        }
        .map_err(|e| format!("{}: {e}", spec.name))?;
        write(dir, &format!("{}.crt.pem", spec.name), &cert.pem())?;
        write(dir, &format!("{}.key.pem", spec.name), &key.serialize_pem())?;
        written.push(spec.name.to_owned());
        manifest.certificates.push(ManifestEntry {
            name: spec.name.into(),
            issuer: spec.issuer.map(Into::into),
            purpose: spec.purpose.into(),
        });
        issued.push((spec.name, params, key));
    }
    let yaml = serde_saphyr::to_string(&manifest).map_err(|e| e.to_string())?;
    write(
        dir,
        MANIFEST,
        &format!(
            "# TEST ONLY key material for eidconf. Generated by `eidconf keys generate`.\n{yaml}"
        ),
    )?;
    Ok(written)
}

fn params(spec: &Spec) -> Result<CertificateParams, String> {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "SE");
    dn.push(DnType::OrganizationName, "eidconf TEST ONLY");
    dn.push(DnType::CommonName, spec.common_name);
    p.distinguished_name = dn;
    p.not_before = date_time_ymd(spec.validity.0, 1, 1);
    p.not_after = date_time_ymd(spec.validity.1, 1, 1);
    match spec.kind {
        Kind::Ca => {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        Kind::Server(names) => {
            for n in names {
                p.subject_alt_names.push(match n.parse() {
                    Ok(ip) => SanType::IpAddress(ip),
                    Err(_) => SanType::DnsName((*n).try_into().map_err(|e| format!("{n}: {e}"))?),
                });
            }
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        Kind::Client => {
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        Kind::Signing => {
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
            ];
        }
        Kind::Encryption => {
            p.key_usages = vec![KeyUsagePurpose::KeyEncipherment];
        }
        Kind::EcP256 => {
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyAgreement,
            ];
        }
        Kind::WeakRsa1024 => {
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
        }
    }
    Ok(p)
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// RSA key generation for the one key size aws-lc-rs refuses to generate (1024 bits).
mod weak {
    use num_bigint::BigUint;
    use rcgen::{PKCS_RSA_SHA256, PublicKeyData, SignatureAlgorithm};

    pub struct RsaPublic(Vec<u8>);

    impl PublicKeyData for RsaPublic {
        fn der_bytes(&self) -> &[u8] {
            &self.0
        }
        fn algorithm(&self) -> &'static SignatureAlgorithm {
            &PKCS_RSA_SHA256
        }
    }

    fn random(bytes: usize) -> Result<BigUint, String> {
        let mut b = vec![0u8; bytes];
        aws_lc_rs::rand::fill(&mut b).map_err(|_| "no randomness")?;
        Ok(BigUint::from_bytes_be(&b))
    }

    fn probably_prime(n: &BigUint) -> Result<bool, String> {
        let one = BigUint::from(1u8);
        let two = BigUint::from(2u8);
        for p in [3u32, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
            if (n % p) == BigUint::from(0u8) {
                return Ok(false);
            }
        }
        let m = n - &one;
        let s = m.trailing_zeros().unwrap_or(0);
        let d = &m >> s;
        'rounds: for _ in 0..40 {
            let a = random(64)? % (n - 3u8) + &two;
            let mut x = a.modpow(&d, n);
            if x == one || x == m {
                continue;
            }
            for _ in 1..s {
                x = x.modpow(&two, n);
                if x == m {
                    continue 'rounds;
                }
            }
            return Ok(false);
        }
        Ok(true)
    }

    fn prime(bits: u64, e: &BigUint) -> Result<BigUint, String> {
        loop {
            let mut c = random((bits / 8) as usize)?;
            // Top two bits set (so p*q has the full length), odd.
            c.set_bit(bits - 1, true);
            c.set_bit(bits - 2, true);
            c.set_bit(0, true);
            let one = BigUint::from(1u8);
            if (&c - &one) % e != BigUint::from(0u8) && probably_prime(&c)? {
                return Ok(c);
            }
        }
    }

    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let n = body.len();
        match n {
            0..=127 => out.push(n as u8),
            128..=255 => out.extend([0x81, n as u8]),
            _ => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(body);
        out
    }

    fn int(v: &BigUint) -> Vec<u8> {
        let mut b = v.to_bytes_be();
        if b[0] & 0x80 != 0 {
            b.insert(0, 0);
        }
        tlv(0x02, &b)
    }

    /// A fresh 1024-bit key: (PKCS#8 DER, its public key for the certificate).
    pub fn generate_1024() -> Result<(Vec<u8>, RsaPublic), String> {
        let e = BigUint::from(65_537u32);
        let one = BigUint::from(1u8);
        let (p, q) = loop {
            let p = prime(512, &e)?;
            let q = prime(512, &e)?;
            if p != q {
                break if p > q { (p, q) } else { (q, p) };
            }
        };
        let n = &p * &q;
        let phi = (&p - &one) * (&q - &one);
        let d = e.modinv(&phi).ok_or("e is not invertible")?;
        let qi = q.modinv(&p).ok_or("q is not invertible")?;
        let fields = [
            int(&BigUint::from(0u8)),
            int(&n),
            int(&e),
            int(&d),
            int(&p),
            int(&q),
            int(&(&d % (&p - &one))),
            int(&(&d % (&q - &one))),
            int(&qi),
        ];
        let rsa = tlv(0x30, &fields.concat());
        let alg = [
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
            0x00,
        ];
        let pkcs8 = tlv(
            0x30,
            &[int(&BigUint::from(0u8)), alg.to_vec(), tlv(0x04, &rsa)].concat(),
        );
        let public = tlv(0x30, &[int(&n), int(&e)].concat());
        Ok((pkcs8, RsaPublic(public)))
    }

    pub fn pem(label: &str, der: &[u8]) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut out = format!("-----BEGIN {label}-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
        out
    }
}
