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

fn lint_fixture(name: &str) -> LintReport {
    csr::lint_csr(name, &std::fs::read(fixture(name)).unwrap()).unwrap()
}

/// openssl's `req -verify` verdict on a fixture, or None without openssl.
fn openssl_verifies(name: &str) -> Option<bool> {
    if !openssl() {
        eprintln!("openssl not installed: second opinion on {name} skipped");
        return None;
    }
    let form = if name.ends_with(".der") { "DER" } else { "PEM" };
    let out = Command::new("openssl")
        .args(["req", "-noout", "-verify", "-inform", form, "-in"])
        .arg(fixture(name))
        .output()
        .unwrap();
    Some(out.status.success())
}

/// SHA-224, SHA3 and RSASSA-PSS signatures (with an RSA or an RSA-PSS key) verify; none is a
/// finding, as the provider names no signature algorithm.
#[test]
fn sha224_sha3_and_pss_signatures_verify() {
    for (file, alg) in [
        ("test-sha224.csr", "sha224WithRSAEncryption"),
        ("test-sha3-256.csr", "RSA-SHA3-256"),
        ("test-sha3-384.csr", "RSA-SHA3-384"),
        ("test-sha3-512.csr", "RSA-SHA3-512"),
        (
            "test-pss.csr",
            "RSASSA-PSS (SHA-256, MGF1 with SHA-256, salt 32 bytes)",
        ),
        (
            "test-pss-sha384-mgf1-sha256.csr",
            "RSASSA-PSS (SHA-384, MGF1 with SHA-256, salt 20 bytes)",
        ),
        ("test-pss-key.csr", "RSASSA-PSS (SHA-256"),
    ] {
        let r = lint_fixture(file);
        assert_eq!(fields(&r), [], "{file}: {r:?}");
        assert!(r.notes.is_empty(), "{file}: {:?}", r.notes);
        assert!(r.signature_algorithm.starts_with(alg), "{file}: {r:?}");
        assert!(openssl_verifies(file).unwrap_or(true), "{file}");
    }
    assert_eq!(
        lint_fixture("test-pss-key.csr").key.as_deref(),
        Some("RSA-PSS 2048 bits")
    );
    // One changed letter in the signed part breaks each of them.
    for file in [
        "test-sha224.csr",
        "test-sha3-512.csr",
        "test-pss.csr",
        "test-pss-key.csr",
    ] {
        let der = tampered(file);
        let r = csr::lint_csr(file, &der).unwrap();
        assert_eq!(fields(&r), [("signature", "invalid")], "{file}");
    }
}

/// The DER of a PEM fixture with "Document" in the CN changed to "document".
fn tampered(file: &str) -> Vec<u8> {
    let pem = std::fs::read(fixture(file)).unwrap();
    let (_, p) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let mut der = p.contents;
    let i = der
        .windows(8)
        .position(|w| w == b"Document")
        .expect("CN in the fixture");
    der[i] ^= 0x20;
    der
}

/// A UTF-8 BOM and indented base64 lines are read, as openssl reads them; UTF-16 (PowerShell's
/// `>`) and an indented BEGIN line are read too but reported, as openssl cannot read them.
#[test]
fn pem_as_other_tools_write_it() {
    for (file, expect, openssl_reads) in [
        ("test-bom.csr", vec![], true),
        ("test-indented-body.csr", vec![], true),
        ("test-utf16le.csr", vec![("encoding", "utf-16")], false),
        (
            "test-indented-begin.csr",
            vec![("encoding", "pem-indented")],
            false,
        ),
    ] {
        let r = lint_fixture(file);
        assert_eq!(fields(&r), expect, "{file}");
        assert_eq!(r.subject.len(), 5, "{file}");
        if let Some(v) = openssl_verifies(file) {
            assert_eq!(v, openssl_reads, "{file}: openssl's verdict");
        }
    }
    let (code, out) = lint(&fixture("test-bom.csr"));
    assert_eq!(code, 0, "{out}");
}

/// Bytes left inside a SEQUENCE or SET, which x509-parser skips, make openssl refuse the request:
/// eidconf refuses it too (exit 2). Version 1 is read by both, with a warning from eidconf.
#[test]
fn structures_openssl_refuses_are_unreadable() {
    for (file, text) in [
        (
            "test-malformed-trailing-in-spki.der",
            "inside the subjectPKInfo",
        ),
        (
            "test-malformed-trailing-in-key-algorithm.der",
            "inside the subjectPKInfo algorithm",
        ),
        (
            "test-malformed-trailing-in-attribute.der",
            "inside the subject attribute",
        ),
        ("test-malformed-trailing-in-rdn.der", "wrong tag"),
    ] {
        let e = csr::lint_csr(file, &std::fs::read(fixture(file)).unwrap()).unwrap_err();
        assert!(e.contains(text), "{file}: {e}");
        let (code, out) = lint(&fixture(file));
        assert_eq!(code, 2, "{file}: {out}");
        assert!(!openssl_verifies(file).unwrap_or(false), "{file}");
    }
    let r = lint_fixture("test-version-1.der");
    assert_eq!(fields(&r), [("version", "version")]);
    assert!(r.findings[0].warning && !r.refused());
    assert!(openssl_verifies("test-version-1.der").unwrap_or(true));
}

/// A chain file is linted on its client certificate, whichever order it is in, and says so.
#[test]
fn chain_files_lint_the_end_entity() {
    let ca = std::fs::read(fixture("test-ca.pem")).unwrap();
    // 2030-01-01: inside the fixtures' validity.
    let now = 1_893_456_000;
    for file in ["test-chain-ca-first.pem", "test-chain-client-first.pem"] {
        let r =
            csr::lint_cert(file, &std::fs::read(fixture(file)).unwrap(), Some(&ca), now).unwrap();
        assert_eq!(fields(&r), [], "{file}: {r:?}");
        assert!(
            r.subject
                .iter()
                .any(|a| a.value == "Document signing service"),
            "{file}"
        );
        let which = if file.contains("ca-first") { 2 } else { 1 };
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains(&format!("linted certificate {which} "))
                    && n.contains("end entity")),
            "{file}: {:?}",
            r.notes
        );
    }
}

/// String types are named (not `Tag(20)`) and TeletexString, BMPString and UniversalString are
/// read as text.
#[test]
fn string_types_are_named_and_decoded() {
    let key =
        KeyPair::from_pem(&std::fs::read_to_string(fixture("key-2048.pem")).unwrap()).unwrap();
    let (c, _) = issue(&key, |p| {
        p.distinguished_name.remove(DnType::CountryName);
        p.distinguished_name.push(
            DnType::CountryName,
            DnValue::TeletexString("SE".try_into().unwrap()),
        );
        p.distinguished_name.push(
            DnType::OrganizationalUnitName,
            DnValue::BmpString("TEST ONLY".try_into().unwrap()),
        );
        p.distinguished_name.push(
            DnType::LocalityName,
            DnValue::UniversalString("Göteborg".try_into().unwrap()),
        );
    });
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let r = csr::lint_cert("c.pem", c.as_bytes(), None, now).unwrap();
    assert_eq!(
        fields(&r),
        [("subject.C", "encoding"), ("subject.L", "unlisted")],
        "{r:?}"
    );
    assert!(
        r.findings[0].message.contains("C is a TeletexString"),
        "{r:?}"
    );
    let value = |k: &str| {
        r.subject
            .iter()
            .find(|a| a.kind == k)
            .map(|a| a.value.as_str())
    };
    assert_eq!(
        (value("C"), value("OU"), value("L")),
        (Some("SE"), Some("TEST ONLY"), Some("Göteborg"))
    );
    assert!(!format!("{r:?}").contains("Tag("), "{r:?}");
}
