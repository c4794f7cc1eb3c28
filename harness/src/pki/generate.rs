//! `eidconf keys generate`: the TEST-ONLY PKI, generated with rcgen and committed.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256, SanType, date_time_ymd,
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
            name: "ftn-attacker",
            issuer: None,
            purpose: "A key nobody trusts: the attacker's signing and encryption key",
            kind: Signing,
            common_name: "eidconf TEST attacker",
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
        let key =
            KeyPair::generate_for(&PKCS_RSA_SHA256).map_err(|e| format!("{}: {e}", spec.name))?;
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
        let header = format!(
            "# TEST ONLY: {} ({}). Generated by `eidconf keys generate`.\n",
            spec.name, spec.purpose
        );
        write(
            dir,
            &format!("{}.crt.pem", spec.name),
            &format!("{header}{}", cert.pem()),
        )?;
        write(
            dir,
            &format!("{}.key.pem", spec.name),
            &format!("{header}{}", key.serialize_pem()),
        )?;
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
    }
    Ok(p)
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}
