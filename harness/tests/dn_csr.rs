//! `eidconf csr lint` and `eidconf cert lint` on real inputs: the committed OpenSSL fixtures, the
//! provider's documented openssl commands run now (when openssl is installed), certificates
//! issued with rcgen, and arbitrary bytes (never a panic).

use std::path::{Path, PathBuf};
use std::process::Command;

use eidconf::pki::csr::{self, LintReport};
use proptest::prelude::*;
use rcgen::{
    CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use x509_parser::prelude::FromDer;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/csr")
        .join(name)
}

/// Run the binary; (exit code, stdout, stderr).
fn eidconf(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_eidconf"))
        .args(args)
        .output()
        .expect("run eidconf");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn lint(path: &Path) -> (i32, String) {
    let (code, out, err) = eidconf(&["csr", "lint", path.to_str().unwrap()]);
    (code, out + &err)
}

fn fields(r: &LintReport) -> Vec<(&str, &str)> {
    r.findings
        .iter()
        .map(|f| (f.field.as_str(), f.rule.as_str()))
        .collect()
}

#[test]
fn clean_fixtures_exit_0() {
    for f in ["clean.csr", "clean.der"] {
        let (code, out) = lint(&fixture(f));
        assert_eq!(code, 0, "{f}: {out}");
        assert!(
            out.contains("OI=556091-2148") && out.contains("RSA 2048"),
            "{out}"
        );
    }
}

#[test]
fn each_bad_fixture_exits_1_naming_the_field() {
    for (file, field, rule, text) in [
        (
            "forbidden-character.csr",
            "subject.O",
            "forbidden-character",
            "character 7 `&`",
        ),
        ("rsa-1024.csr", "publicKey", "key-size", "1024 bits"),
        (
            "sha1.csr",
            "signatureAlgorithm",
            "weak-hash",
            "sha1WithRSAEncryption",
        ),
        ("tampered.csr", "signature", "invalid", "does not verify"),
    ] {
        let (code, out) = lint(&fixture(file));
        assert_eq!(code, 1, "{file}: {out}");
        assert!(
            out.contains(&format!("{field} [{rule}]")) && out.contains(text),
            "{file}: {out}"
        );
        let r = csr::lint_csr(file, &std::fs::read(fixture(file)).unwrap()).unwrap();
        assert_eq!(fields(&r), [(field, rule)], "{file}: exactly one finding");
    }
    // The caret sits under the `&`.
    let (_, out) = lint(&fixture("forbidden-character.csr"));
    assert!(out.contains("    Sales & Co AB\n          ^\n"), "{out}");
}

#[test]
fn json_format_and_unreadable_input() {
    let (code, out, _) = eidconf(&[
        "csr",
        "lint",
        fixture("forbidden-character.csr").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["findings"][0]["field"], "subject.O");
    assert_eq!(v["findings"][0]["position"], 7);
    assert_eq!(v["findings"][0]["character"], "&");

    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.csr");
    std::fs::write(&junk, b"\x30\x03\x01\x01\xff garbage").unwrap();
    let (code, _, err) = eidconf(&["csr", "lint", junk.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("junk.csr") && err.contains("unreadable"),
        "{err}"
    );
    let (code, _, err) = eidconf(&["csr", "lint", "/nonexistent/x.csr"]);
    assert_eq!((code, err.contains("cannot read")), (2, true));
    // A public key alone is not a request.
    let only_key = dir.path().join("key.pem");
    std::fs::write(&only_key, PUBKEY_ONLY).unwrap();
    let (code, _, err) = eidconf(&["csr", "lint", only_key.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("found: PUBLIC KEY"), "{err}");
}

const PUBKEY_ONLY: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";

fn openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("openssl runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const SUBJ: &str =
    "/C=SE/O=ACME AB/organizationIdentifier=556091-2148/OU=Production/CN=Document signing service";

#[test]
fn the_documented_openssl_commands_produce_clean_requests() {
    if !openssl() {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    // RP docs step 1 and 2: genrsa -F4 -aes256 …, then req -new -subj … -key ….
    run(Command::new("openssl")
        .args([
            "genrsa",
            "-F4",
            "-aes256",
            "-passout",
            "pass:test-only",
            "-out",
        ])
        .arg(p("rp.key"))
        .arg("2048"));
    run(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-passin",
            "pass:test-only",
            "-subj",
            SUBJ,
            "-key",
        ])
        .arg(p("rp.key"))
        .arg("-out")
        .arg(p("rp.csr")));
    let (code, out) = lint(&p("rp.csr"));
    assert_eq!(code, 0, "{out}");

    // The one-step form with -pubkey writes the public key ahead of the request in the same file.
    run(Command::new("openssl")
        .args([
            "req", "-new", "-newkey", "rsa:2048", "-nodes", "-pubkey", "-subj", SUBJ, "-keyout",
        ])
        .arg(p("k2.pem"))
        .arg("-out")
        .arg(p("pubkey.csr")));
    let text = std::fs::read_to_string(p("pubkey.csr")).unwrap();
    assert!(text.starts_with("-----BEGIN PUBLIC KEY-----"), "{text}");
    let (code, out) = lint(&p("pubkey.csr"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("skipped a `PUBLIC KEY` PEM block"), "{out}");

    // The documented -subj string itself: OpenSSL 3 refuses it (C longer than 2).
    let out = Command::new("openssl")
        .args(["req", "-new", "-subj", SEED_SUBJ, "-key"])
        .arg(fixture("key-2048.pem"))
        .arg("-out")
        .arg(p("seed.csr"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("string too long"));
}

const SEED_SUBJ: &str = "/C=SE,,OU=Production,O=ACME AB,CN=Document signing service";

/// What a tool without OpenSSL's length check makes of the documented -subj: one attribute C
/// holding the whole string. The lint explains that.
#[test]
fn the_documented_malformed_subject_is_explained() {
    let key = KeyPair::from_pem(&std::fs::read_to_string(fixture("key-2048.pem")).unwrap())
        .expect("the fixture key");
    let mut params = CertificateParams::default();
    let c = SEED_SUBJ.trim_start_matches("/C=");
    params.distinguished_name.push(
        DnType::CountryName,
        DnValue::PrintableString(c.try_into().unwrap()),
    );
    let req = params.serialize_request(&key).unwrap();
    let r = csr::lint_csr("seed.csr", req.der()).unwrap();
    assert_eq!(
        fields(&r),
        [
            ("subject.C", "run-together"),
            ("subject.C", "country-format"),
            ("subject.O", "missing"),
            ("subject.OI", "missing"),
        ]
    );
    let text = csr::render_text(&r);
    assert!(
        text.contains("(OU, O, CN)") && text.contains("separates attributes with `/`"),
        "{text}"
    );
}

/// A bare RSA public key (PKCS#1 bytes) for rcgen to certify.
struct RsaPublic(Vec<u8>);

impl rcgen::PublicKeyData for RsaPublic {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

fn issue(
    leaf_key: &impl rcgen::PublicKeyData,
    edit: impl FnOnce(&mut CertificateParams),
) -> (String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "Test Issuing CA");
    ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let mut p = CertificateParams::default();
    // X.520 countryName is a PrintableString; rcgen would write a &str as UTF8String.
    p.distinguished_name.push(
        DnType::CountryName,
        DnValue::PrintableString("SE".try_into().unwrap()),
    );
    for (t, v) in [
        (DnType::OrganizationName, "ACME AB"),
        (DnType::CustomDnType(vec![2, 5, 4, 97]), "556091-2148"),
        (DnType::CommonName, "Document signing service"),
    ] {
        p.distinguished_name.push(t, v);
    }
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    edit(&mut p);
    (p.signed_by(leaf_key, &issuer).unwrap().pem(), ca_cert.pem())
}

fn cert_findings(cert: &str, ca: Option<&str>) -> Vec<(String, String)> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    csr::lint_cert("c.pem", cert.as_bytes(), ca.map(str::as_bytes), now)
        .unwrap()
        .findings
        .into_iter()
        .map(|f| (f.field, f.rule))
        .collect()
}

#[test]
fn cert_lint() {
    let key =
        KeyPair::from_pem(&std::fs::read_to_string(fixture("key-2048.pem")).unwrap()).unwrap();
    let (cert, ca) = issue(&key, |_| {});
    assert_eq!(cert_findings(&cert, Some(&ca)), []);

    let (_, other_ca) = issue(&key, |_| {});
    let f = |r: &str| {
        vec![(
            r.split(' ').next().unwrap().to_owned(),
            r.split(' ').nth(1).unwrap().to_owned(),
        )]
    };
    assert_eq!(
        cert_findings(&cert, Some(&other_ca)),
        f("issuer invalid"),
        "same name, other key"
    );

    let (c, ca) = issue(&key, |p| {
        p.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        p.not_before = p.not_after - time::Duration::days(30);
    });
    assert_eq!(cert_findings(&c, Some(&ca)), f("validity expired"));
    let (c, _) = issue(&key, |p| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth]
    });
    assert_eq!(
        cert_findings(&c, None),
        f("extendedKeyUsage no-client-auth")
    );
    let (c, _) = issue(&key, |p| p.extended_key_usages.clear());
    assert_eq!(cert_findings(&c, None), f("extendedKeyUsage missing"));
    let (c, _) = issue(&key, |p| {
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
        ]
    });
    assert_eq!(cert_findings(&c, None), f("keyUsage ca-usage"));
    let (c, _) = issue(&key, |p| {
        p.key_usages = vec![KeyUsagePurpose::KeyEncipherment]
    });
    assert_eq!(cert_findings(&c, None), f("keyUsage no-digital-signature"));
    // aws-lc will not sign with a 1024-bit key, but a CA can certify one: take it from the CSR.
    let small_csr = std::fs::read(fixture("rsa-1024.csr")).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&small_csr).unwrap();
    let (_, req) =
        x509_parser::certification_request::X509CertificationRequest::from_der(&pem.contents)
            .unwrap();
    let small = RsaPublic(
        req.certification_request_info
            .subject_pki
            .subject_public_key
            .data
            .to_vec(),
    );
    let (c, _) = issue(&small, |_| {});
    assert_eq!(cert_findings(&c, None), f("publicKey key-size"));
    let (c, _) = issue(&key, |p| {
        p.distinguished_name.remove(DnType::CountryName);
        p.distinguished_name.push(DnType::CountryName, "SE");
    });
    assert_eq!(cert_findings(&c, None), f("subject.C encoding"));

    // Through the CLI, with --ca.
    let dir = tempfile::tempdir().unwrap();
    let (cert, ca) = issue(&key, |_| {});
    std::fs::write(dir.path().join("c.pem"), &cert).unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca).unwrap();
    let c = dir.path().join("c.pem");
    let a = dir.path().join("ca.pem");
    let (code, out, err) = eidconf(&[
        "cert",
        "lint",
        c.to_str().unwrap(),
        "--ca",
        a.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    std::fs::write(dir.path().join("ca.pem"), &other_ca).unwrap();
    let (code, out, _) = eidconf(&[
        "cert",
        "lint",
        c.to_str().unwrap(),
        "--ca",
        a.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("issuer [invalid]"), "{out}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = csr::lint_csr("x", &bytes);
        let _ = csr::lint_cert("x", &bytes, Some(&bytes), 0);
    }

    #[test]
    fn mutated_requests_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut der = std::fs::read(fixture("clean.der")).unwrap();
        for (i, b) in edits {
            let i = i.index(der.len());
            der[i] = b;
        }
        let _ = csr::lint_csr("x", &der);
        der.truncate(cut.index(der.len() + 1));
        let _ = csr::lint_csr("x", &der);
    }

    #[test]
    fn pem_wrapped_junk_never_panics(body in "[A-Za-z0-9+/=\n-]{0,300}", label in "(CERTIFICATE REQUEST|PUBLIC KEY|X)") {
        let text = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
        let _ = csr::lint_csr("x", text.as_bytes());
        let _ = csr::lint_cert("x", text.as_bytes(), Some(text.as_bytes()), 0);
    }
}
