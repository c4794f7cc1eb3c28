//! `eidconf csr lint` and `eidconf cert lint`: what the provider would refuse in a certificate
//! signing request (PKCS#10) before it is e-mailed, and what is wrong with an issued client
//! certificate. Input is PEM or DER; any bytes give a report or an "unreadable" error, never a
//! panic.
//!
//! CSR checks: the self-signature verifies; the key is RSA of at least 2048 bits (RP docs: "The
//! private key is based on the RSA algorithm", "minimum value of 2048 bits"); the signature
//! algorithm is not MD2/MD4/MD5/SHA-1; the subject passes [`super::dn`].

use serde::Serialize;
use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::{FromDer, X509Name};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

use super::dn::{self, Policy};
use super::{der, rsa};

/// Smallest RSA modulus the provider takes.
pub const MIN_RSA_BITS: usize = 2048;

/// The outcome of linting one file.
#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    pub file: String,
    /// `certificate request` or `certificate`.
    pub kind: &'static str,
    /// The subject as read, attribute by attribute.
    pub subject: Vec<SubjectAttribute>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub signature_algorithm: String,
    /// Notes that are not findings (e.g. other PEM blocks in the file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub findings: Vec<LintFinding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubjectAttribute {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// One problem: `field` is `subject.O`, `signature`, `signatureAlgorithm`, `publicKey`,
/// `validity`, `extendedKeyUsage`, `keyUsage`, `basicConstraints` or `issuer`.
#[derive(Debug, Clone, Serialize)]
pub struct LintFinding {
    pub field: String,
    /// A rule the provider does not state (e.g. the organisation number's check digit): reported,
    /// but the provider would not refuse the request for it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub character: Option<char>,
    /// The value the position points into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub message: String,
}

impl LintFinding {
    fn new(field: &str, rule: &str, message: impl Into<String>) -> LintFinding {
        LintFinding {
            field: field.to_owned(),
            warning: false,
            rule: rule.to_owned(),
            position: None,
            character: None,
            value: None,
            message: message.into(),
        }
    }
}

impl LintReport {
    /// Whether the provider would refuse it: any finding that is not a warning.
    pub fn refused(&self) -> bool {
        self.findings.iter().any(|f| !f.warning)
    }
}

/// Lint a certificate signing request. `Err` is unreadable input (exit 2).
pub fn lint_csr(file: &str, bytes: &[u8]) -> Result<LintReport, String> {
    let input = read_input(bytes, &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"])?;
    let mut notes = input.notes;
    if input.ders.len() > 1 {
        notes.push(format!(
            "the file holds {} requests; linted the first",
            input.ders.len()
        ));
    }
    let der_bytes = &input.ders[0];
    // x509-parser skips bytes left inside a SEQUENCE; OpenSSL refuses them.
    let version =
        der::check_csr(der_bytes).map_err(|e| format!("not a PKCS#10 certificate request: {e}"))?;
    let (rest, csr) = X509CertificationRequest::from_der(der_bytes)
        .map_err(|e| format!("not a PKCS#10 certificate request: {e}"))?;
    let info = &csr.certification_request_info;
    let mut r = LintReport {
        file: file.to_owned(),
        kind: "certificate request",
        subject: Vec::new(),
        key: None,
        signature_algorithm: alg_name(&csr.signature_algorithm),
        notes,
        findings: input.findings,
    };
    trailing(&mut r, rest);
    if version != 0 {
        let mut f = LintFinding::new(
            "version",
            "version",
            format!(
                "the request's version is {version}; RFC 2986 defines only 0 (v1). OpenSSL reads it, other tools may not"
            ),
        );
        f.warning = true;
        r.findings.push(f);
    }
    subject(&mut r, &info.subject);
    key(&mut r, &info.subject_pki);
    signature_algorithm(&mut r, &csr.signature_algorithm);
    verify(
        &mut r,
        &info.subject_pki,
        &csr.signature_algorithm,
        &csr.signature_value.data,
        info.raw,
        "the request's own key",
        "signature",
    );
    Ok(r)
}

/// Lint an issued client certificate, optionally against the CA that should have issued it
/// (`ca`: PEM with one or more certificates, or DER). `now` is Unix seconds.
pub fn lint_cert(
    file: &str,
    bytes: &[u8],
    ca: Option<&[u8]>,
    now: i64,
) -> Result<LintReport, String> {
    let input = read_input(bytes, &["CERTIFICATE"])?;
    let mut certs = Vec::new();
    for d in &input.ders {
        certs.push(
            X509Certificate::from_der(d).map_err(|e| format!("not an X.509 certificate: {e}"))?,
        );
    }
    let mut notes = input.notes;
    let pick = end_entity(&certs.iter().map(|(_, c)| c).collect::<Vec<_>>());
    if certs.len() > 1 {
        notes.push(format!(
            "the file holds {} certificates; linted certificate {} (`{}`), {}",
            certs.len(),
            pick.0 + 1,
            certs[pick.0].1.subject(),
            pick.1
        ));
    }
    let (rest, cert) = &certs[pick.0];
    let mut r = LintReport {
        file: file.to_owned(),
        kind: "certificate",
        subject: Vec::new(),
        key: None,
        signature_algorithm: alg_name(&cert.signature_algorithm),
        notes,
        findings: input.findings,
    };
    trailing(&mut r, rest);
    subject(&mut r, cert.subject());
    key(&mut r, cert.public_key());
    signature_algorithm(&mut r, &cert.signature_algorithm);
    let v = cert.validity();
    let (nb, na) = (v.not_before.timestamp(), v.not_after.timestamp());
    if now < nb {
        r.findings.push(LintFinding::new(
            "validity",
            "not-yet-valid",
            format!("not valid before {}", v.not_before),
        ));
    } else if now > na {
        r.findings.push(LintFinding::new(
            "validity",
            "expired",
            format!("expired on {}", v.not_after),
        ));
    }
    match cert.extended_key_usage() {
        Ok(Some(eku)) if eku.value.client_auth => {}
        Ok(Some(_)) => r.findings.push(LintFinding::new(
            "extendedKeyUsage",
            "no-client-auth",
            "extended key usage does not include clientAuth (1.3.6.1.5.5.7.3.2): the provider's TLS server refuses it as a client certificate",
        )),
        Ok(None) => r.findings.push(LintFinding::new(
            "extendedKeyUsage",
            "missing",
            "no extended key usage extension; a Freja client certificate carries clientAuth",
        )),
        Err(e) => r.findings.push(LintFinding::new(
            "extendedKeyUsage",
            "malformed",
            format!("extended key usage cannot be read: {e}"),
        )),
    }
    match cert.key_usage() {
        Ok(Some(ku)) => {
            if !ku.value.digital_signature() {
                r.findings.push(LintFinding::new(
                    "keyUsage",
                    "no-digital-signature",
                    "key usage lacks digitalSignature, which a TLS client signature needs",
                ));
            }
            if ku.value.key_cert_sign() || ku.value.crl_sign() {
                r.findings.push(LintFinding::new(
                    "keyUsage",
                    "ca-usage",
                    "key usage allows certificate or CRL signing; a client certificate must not",
                ));
            }
        }
        Ok(None) => {}
        Err(e) => r.findings.push(LintFinding::new(
            "keyUsage",
            "malformed",
            format!("key usage cannot be read: {e}"),
        )),
    }
    if cert.is_ca() {
        r.findings.push(LintFinding::new(
            "basicConstraints",
            "ca",
            "basic constraints say cA=true; a client certificate is an end entity",
        ));
    }
    if let Some(ca) = ca {
        chain(&mut r, cert, ca)?;
    }
    Ok(r)
}

/// Which certificate of a chain file is the client's: one that issues none of the others and is
/// not a CA, whatever the order. (index, why).
fn end_entity(certs: &[&X509Certificate<'_>]) -> (usize, &'static str) {
    let issues_none = |i: usize| {
        !certs
            .iter()
            .enumerate()
            .any(|(j, c)| j != i && c.issuer().as_raw() == certs[i].subject().as_raw())
    };
    let leaves: Vec<usize> = (0..certs.len()).filter(|i| issues_none(*i)).collect();
    let non_ca: Vec<usize> = leaves
        .iter()
        .copied()
        .filter(|i| !certs[*i].is_ca())
        .collect();
    match (non_ca.as_slice(), leaves.as_slice()) {
        ([i], _) => (
            *i,
            "the end entity: it issues none of the others and is not a CA",
        ),
        ([i, ..], _) => (
            *i,
            "the first of several that issue none of the others and are not CAs",
        ),
        ([], [i, ..]) => (*i, "the first that issues none of the others (all are CAs)"),
        ([], []) => (0, "the first: every certificate issues another"),
    }
}

fn chain(r: &mut LintReport, cert: &X509Certificate<'_>, ca: &[u8]) -> Result<(), String> {
    let ders = read_input(ca, &["CERTIFICATE"])
        .map_err(|e| format!("--ca: {e}"))?
        .ders;
    let mut cas = Vec::new();
    for d in &ders {
        match X509Certificate::from_der(d) {
            Ok((_, c)) => cas.push(c),
            Err(e) => return Err(format!("--ca: not an X.509 certificate: {e}")),
        }
    }
    let Some(issuer) = cas
        .iter()
        .find(|c| c.subject().as_raw() == cert.issuer().as_raw())
    else {
        let names: Vec<String> = cas.iter().map(|c| c.subject().to_string()).collect();
        r.findings.push(LintFinding::new(
            "issuer",
            "unknown-issuer",
            format!(
                "issued by `{}`, which is none of the given CA certificates ({})",
                cert.issuer(),
                names.join("; ")
            ),
        ));
        return Ok(());
    };
    verify(
        r,
        issuer.public_key(),
        &cert.signature_algorithm,
        &cert.signature_value.data,
        cert.tbs_certificate.as_ref(),
        "the CA's key",
        "issuer",
    );
    Ok(())
}

/// What a file holds: the DER of each block with a wanted label (or the file itself when it is
/// not PEM), notes, and findings about the text itself.
struct Input {
    ders: Vec<Vec<u8>>,
    notes: Vec<String>,
    findings: Vec<LintFinding>,
}

/// Read PEM as OpenSSL does: a UTF-8 byte order mark, CRLF, and indented or space-padded base64
/// lines are fine. UTF-16 (PowerShell's `>`) and an indented BEGIN line are read too, but OpenSSL
/// cannot read them, so they are findings.
fn read_input(bytes: &[u8], labels: &[&str]) -> Result<Input, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    let mut input = Input {
        ders: Vec::new(),
        notes: Vec::new(),
        findings: Vec::new(),
    };
    let Some((text, utf16)) = text_of(bytes) else {
        input.ders.push(bytes.to_vec());
        return Ok(input);
    };
    if let Some(which) = utf16 {
        input.findings.push(LintFinding::new(
            "encoding",
            "utf-16",
            format!("the file is {which} text (PowerShell's `>` writes it); openssl cannot read it: save it as ASCII (`Get-Content in.csr | Set-Content -Encoding ascii out.csr`)"),
        ));
    }
    let mut seen = Vec::new();
    let mut indented = false;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let t = line.trim();
        let Some(label) = t
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        indented |= line.len() != line.trim_start().len();
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for line in lines.by_ref() {
            let t = line.trim();
            if t == end {
                closed = true;
                break;
            }
            if t.starts_with("-----") {
                break;
            }
            if t.contains(':') {
                return Err(format!(
                    "the `{label}` PEM block has headers (`{t}`): encrypted or not plain PEM"
                ));
            }
            body.extend(t.chars().filter(|c| !c.is_whitespace()));
        }
        if !closed {
            return Err(format!("broken PEM: no `{end}` line"));
        }
        if labels.contains(&label) {
            use base64::Engine;
            let der = base64::engine::general_purpose::STANDARD
                .decode(body.as_bytes())
                .map_err(|e| format!("broken PEM: the `{label}` block is not base64: {e}"))?;
            input.ders.push(der);
        } else {
            // `openssl req -pubkey` writes the public key before the request, in the same file.
            input.notes.push(format!("skipped a `{label}` PEM block"));
            seen.push(label.to_owned());
        }
    }
    if indented {
        input.findings.push(LintFinding::new(
            "encoding",
            "pem-indented",
            "a `-----BEGIN` line is indented; openssl cannot read the file: remove the spaces before it",
        ));
    }
    if input.ders.is_empty() {
        return Err(if seen.is_empty() {
            format!("no `-----BEGIN {}-----` block", labels[0])
        } else {
            format!("no `{}` PEM block (found: {})", labels[0], seen.join(", "))
        });
    }
    Ok(input)
}

/// The file as text if it looks like PEM, with the UTF-16 variant if it is one.
fn text_of(bytes: &[u8]) -> Option<(String, Option<&'static str>)> {
    let utf16 = |be: bool, b: &[u8]| -> String {
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| {
                if be {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    let (text, which) = if let Some(b) = bytes.strip_prefix(b"\xff\xfe") {
        (utf16(false, b), Some("UTF-16LE"))
    } else if let Some(b) = bytes.strip_prefix(b"\xfe\xff") {
        (utf16(true, b), Some("UTF-16BE"))
    } else if bytes.windows(4).any(|w| w == b"-\0-\0") {
        (utf16(false, bytes), Some("UTF-16LE"))
    } else {
        let b = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        (String::from_utf8_lossy(b).into_owned(), None)
    };
    text.contains("-----BEGIN ").then_some((text, which))
}

fn trailing(r: &mut LintReport, rest: &[u8]) {
    if !rest.is_empty() {
        r.findings.push(LintFinding::new(
            "encoding",
            "trailing-data",
            format!("{} bytes after the DER structure", rest.len()),
        ));
    }
}

fn subject(r: &mut LintReport, name: &X509Name<'_>) {
    let mut attrs = Vec::new();
    for (i, a) in name.iter_attributes().enumerate() {
        let oid = a.attr_type().to_id_string();
        let kind = attr_name(&oid);
        let value = match decode(a.attr_value().tag(), a.attr_value().data) {
            Some(v) => v,
            None => {
                r.findings.push(LintFinding::new(
                    &format!("subject.{kind}"),
                    "encoding",
                    format!(
                        "attribute {} ({kind}) is a {}, which eidconf cannot read as text",
                        i + 1,
                        tag_name(a.attr_value().tag())
                    ),
                ));
                String::from_utf8_lossy(a.attr_value().data).into_owned()
            }
        };
        if kind == "C"
            && a.attr_value().tag() != x509_parser::der_parser::asn1_rs::Tag::PrintableString
        {
            r.findings.push(LintFinding::new(
                "subject.C",
                "encoding",
                format!(
                    "C is a {}; X.520 defines countryName as a PrintableString",
                    tag_name(a.attr_value().tag())
                ),
            ));
        }
        attrs.push(SubjectAttribute { kind, value });
    }
    let findings = dn::validate(
        attrs.iter().map(|a| (a.kind.as_str(), a.value.as_str())),
        &Policy::FREJA,
    );
    for f in findings {
        let value = f
            .attribute
            .and_then(|i| attrs.get(i))
            .map(|a| a.value.clone());
        r.findings.push(LintFinding {
            field: format!("subject.{}", f.field),
            warning: f.rule.is_warning(),
            rule: f.rule.as_str().to_owned(),
            position: f.position,
            character: f.character,
            value,
            message: f.message,
        });
    }
    r.subject = attrs;
}

fn decode(tag: x509_parser::der_parser::asn1_rs::Tag, data: &[u8]) -> Option<String> {
    use x509_parser::der_parser::asn1_rs::Tag;
    match tag {
        Tag::PrintableString | Tag::Utf8String | Tag::Ia5String | Tag::NumericString => {
            std::str::from_utf8(data).ok().map(str::to_owned)
        }
        Tag::VisibleString if data.is_ascii() => std::str::from_utf8(data).ok().map(str::to_owned),
        // OpenSSL and most tools read a TeletexString as Latin-1.
        Tag::TeletexString => Some(data.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString if data.len().is_multiple_of(2) => {
            let units: Vec<u16> = data
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        Tag::UniversalString if data.len().is_multiple_of(4) => data
            .chunks(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => None,
    }
}

/// The ASN.1 name of a string type, e.g. `TeletexString` for tag 20.
fn tag_name(tag: x509_parser::der_parser::asn1_rs::Tag) -> String {
    let name = match tag.0 {
        4 => "OCTET STRING",
        12 => "UTF8String",
        18 => "NumericString",
        19 => "PrintableString",
        20 => "TeletexString",
        21 => "VideotexString",
        22 => "IA5String",
        25 => "GraphicString",
        26 => "VisibleString",
        27 => "GeneralString",
        28 => "UniversalString",
        30 => "BMPString",
        n => return format!("value with ASN.1 tag {n}"),
    };
    name.to_owned()
}

/// Short names for the attribute types a CSR subject commonly holds; others by OID.
fn attr_name(oid: &str) -> String {
    if let Some(f) = dn::Field::from_name(oid) {
        return f.as_str().to_owned();
    }
    match oid {
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.5" => "serialNumber",
        "2.5.4.12" => "title",
        "2.5.4.4" => "SN",
        "2.5.4.42" => "GN",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return oid.to_owned(),
    }
    .to_owned()
}

const RSA_PSS: &str = "1.2.840.113549.1.1.10";

fn key_size(r: &mut LintReport, what: &str, modulus: &[u8]) {
    let bits = rsa_bits(modulus);
    r.key = Some(format!("{what} {bits} bits"));
    if bits < MIN_RSA_BITS {
        r.findings.push(LintFinding::new(
            "publicKey",
            "key-size",
            format!(
                "the RSA key has {bits} bits; the provider requires at least {MIN_RSA_BITS} (`openssl genrsa … 2048`)"
            ),
        ));
    }
}

fn key(r: &mut LintReport, spki: &SubjectPublicKeyInfo<'_>) {
    // An RSASSA-PSS key is an RSA key restricted to PSS signatures; x509-parser does not parse it.
    if spki.algorithm.algorithm.to_id_string() == RSA_PSS {
        match der::rsa_public_key(&spki.subject_public_key.data) {
            Ok((n, _)) => key_size(r, "RSA-PSS", n),
            Err(e) => r.findings.push(LintFinding::new(
                "publicKey",
                "malformed",
                format!("the RSA-PSS public key cannot be read: {e}"),
            )),
        }
        return;
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => key_size(r, "RSA", rsa.modulus),
        Ok(other) => {
            let what = match other {
                PublicKey::EC(_) => "an EC",
                PublicKey::DSA(_) => "a DSA",
                _ => "a non-RSA",
            };
            r.key = Some(format!(
                "{} ({})",
                &what[what.find(' ').map_or(0, |i| i + 1)..],
                spki.algorithm.algorithm.to_id_string()
            ));
            r.findings.push(LintFinding::new(
                "publicKey",
                "key-type",
                format!(
                    "{what} key; the provider's client certificates are for RSA keys (RP docs: \"The private key is based on the RSA algorithm\")"
                ),
            ));
        }
        Err(e) => r.findings.push(LintFinding::new(
            "publicKey",
            "malformed",
            format!("the public key cannot be read: {e}"),
        )),
    }
}

/// Bits of a big-endian modulus, leading zero bytes and bits not counted.
fn rsa_bits(modulus: &[u8]) -> usize {
    let m: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(i) => &modulus[i..],
        None => return 0,
    };
    m.len() * 8 - m[0].leading_zeros() as usize
}

const WEAK: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.2", "md2WithRSAEncryption"),
    ("1.2.840.113549.1.1.3", "md4WithRSAEncryption"),
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.3.14.3.2.29", "sha1WithRSAEncryption (OIW)"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10040.4.3", "dsa-with-SHA1"),
];

/// Names of the other signature algorithms. The provider's documentation names no signature
/// algorithm, so none of these is a finding.
const GOOD: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
    ("1.2.840.113549.1.1.14", "sha224WithRSAEncryption"),
    ("1.2.840.113549.1.1.15", "sha512-224WithRSAEncryption"),
    ("1.2.840.113549.1.1.16", "sha512-256WithRSAEncryption"),
    ("2.16.840.1.101.3.4.3.13", "RSA-SHA3-224"),
    ("2.16.840.1.101.3.4.3.14", "RSA-SHA3-256"),
    ("2.16.840.1.101.3.4.3.15", "RSA-SHA3-384"),
    ("2.16.840.1.101.3.4.3.16", "RSA-SHA3-512"),
    (RSA_PSS, "RSASSA-PSS"),
    ("1.2.840.10045.4.3.1", "ecdsa-with-SHA224"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
    ("2.16.840.1.101.3.4.3.9", "ecdsa-with-SHA3-224"),
    ("2.16.840.1.101.3.4.3.10", "ecdsa-with-SHA3-256"),
    ("2.16.840.1.101.3.4.3.11", "ecdsa-with-SHA3-384"),
    ("2.16.840.1.101.3.4.3.12", "ecdsa-with-SHA3-512"),
    ("1.3.101.112", "Ed25519"),
];

/// The parameters of an RSASSA-PSS AlgorithmIdentifier.
fn pss_of(alg: &AlgorithmIdentifier<'_>) -> Result<rsa::PssParams, String> {
    let seq = alg
        .parameters
        .as_ref()
        .filter(|p| p.tag() == x509_parser::der_parser::asn1_rs::Tag::Sequence)
        .map(|p| p.data);
    rsa::pss_params(seq)
}

fn alg_name(alg: &AlgorithmIdentifier<'_>) -> String {
    let oid = alg.algorithm.to_id_string();
    if oid == RSA_PSS
        && let Ok(p) = pss_of(alg)
    {
        return p.describe();
    }
    WEAK.iter()
        .chain(GOOD)
        .find(|(o, _)| *o == oid)
        .map(|(_, n)| (*n).to_owned())
        .unwrap_or(oid)
}

fn signature_algorithm(r: &mut LintReport, alg: &AlgorithmIdentifier<'_>) {
    let oid = alg.algorithm.to_id_string();
    let weak = WEAK
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, n)| (*n).to_owned())
        .or_else(|| {
            pss_of(alg)
                .ok()
                .filter(|p| oid == RSA_PSS && p.hash == rsa::Hash::Sha1)
                .map(|p| p.describe())
        });
    if let Some(name) = weak {
        r.findings.push(LintFinding::new(
            "signatureAlgorithm",
            "weak-hash",
            format!("signed with {name}; MD5 and SHA-1 are refused: sign with SHA-256 (openssl's default, or `-sha256`)"),
        ));
    }
}

/// Verify `sig` over `data` with `spki`, adding a finding (under `field`) if it does not verify
/// and a note if eidconf cannot check the algorithm: that is eidconf's limit, not the file's.
fn verify(
    r: &mut LintReport,
    spki: &SubjectPublicKeyInfo<'_>,
    alg: &AlgorithmIdentifier<'_>,
    sig: &[u8],
    data: &[u8],
    whose: &str,
    field: &str,
) {
    let oid = alg.algorithm.to_id_string();
    let invalid = |field: &str| {
        LintFinding::new(
            field,
            "invalid",
            format!(
                "the signature does not verify under {whose}: the file was altered after signing, or signed with another key"
            ),
        )
    };
    let scheme = if oid == RSA_PSS {
        match pss_of(alg) {
            Ok(p) => Some(rsa::Scheme::Pss(p)),
            Err(e) => {
                r.findings.push(LintFinding::new(
                    field,
                    "pss-parameters",
                    format!("the RSASSA-PSS parameters cannot be used: {e}"),
                ));
                return;
            }
        }
    } else {
        rsa::Hash::of_pkcs1(&oid).map(rsa::Scheme::Pkcs1)
    };
    if let Some(scheme) = scheme {
        let key_oid = spki.algorithm.algorithm.to_id_string();
        // A PSS key signs only with PSS (RFC 4055 1.2).
        let fits = key_oid == "1.2.840.113549.1.1.1"
            || key_oid == RSA_PSS && matches!(scheme, rsa::Scheme::Pss(_));
        let key = der::rsa_public_key(&spki.subject_public_key.data);
        match key {
            Ok((n, e)) if fits => match rsa::verify(n, e, scheme, sig, data) {
                Ok(true) => {}
                Ok(false) => r.findings.push(invalid(field)),
                Err(e) => r.notes.push(format!("the signature was not checked: {e}")),
            },
            _ => r.findings.push(invalid(field)),
        }
        return;
    }
    match x509_parser::verify::verify_signature(
        spki,
        alg,
        &x509_parser::der_parser::asn1_rs::BitString::new(0, sig),
        data,
    ) {
        Ok(()) => {}
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => r.notes.push(format!(
            "the signature ({}) was not checked: eidconf cannot verify that algorithm",
            alg_name(alg)
        )),
        Err(_) => r.findings.push(invalid(field)),
    }
}

/// Human-readable output: one block per finding, with a caret under the character.
pub fn render_text(r: &LintReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let subject: Vec<String> = r
        .subject
        .iter()
        .map(|a| format!("{}={}", a.kind, a.value.escape_debug()))
        .collect();
    let _ = writeln!(out, "{}: {}", r.file, r.kind);
    let _ = writeln!(out, "  subject: {}", subject.join(", "));
    if let Some(k) = &r.key {
        let _ = writeln!(out, "  key: {k}");
    }
    let _ = writeln!(out, "  signature algorithm: {}", r.signature_algorithm);
    for n in &r.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    if r.findings.is_empty() {
        let _ = writeln!(out, "  ok: no findings");
        return out;
    }
    for f in &r.findings {
        let kind = if f.warning { "warning: " } else { "" };
        let _ = writeln!(
            out,
            "{}: {kind}{} [{}]: {}",
            r.file, f.field, f.rule, f.message
        );
        if let (Some(v), Some(p)) = (&f.value, f.position) {
            let shown: String = v
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            let _ = writeln!(out, "    {shown}");
            let _ = writeln!(out, "    {}^", " ".repeat(p.saturating_sub(1)));
        }
    }
    let warnings = r.findings.iter().filter(|f| f.warning).count();
    let _ = writeln!(
        out,
        "{}: {} finding(s), {warnings} of them warning(s)",
        r.file,
        r.findings.len()
    );
    out
}
