//! What a report must never carry: private keys, in any encoding the harness can recognise, from
//! any channel (an RP's outcome, a driver's reply or stderr, a failure message). Only the key is
//! replaced; the text around it stays, so a stderr capture with one key in it is still readable.
//! Certificates are named (their test-PKI name, or their SHA-256) rather than pasted, and no
//! string is kept longer than [`MAX_REPORT_STRING`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::Digest as _;

use crate::pki::Pki;

/// The replacement text of a private key.
pub const REDACTED_KEY: &str = "[redacted private key]";
/// The replacement text of a JWK's private member.
pub const REDACTED_MEMBER: &str = "[redacted private key member]";

/// The private members of a JWK (RFC 7518 §6.2.2, §6.3.2, §6.4.1; `k` of an `oct` key).
const JWK_PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The longest string a report keeps (a driver's `detail`, a recorded body): enough for any
/// token or message, and a 4 MiB reply cannot make every report 4 MiB larger.
pub const MAX_REPORT_STRING: usize = 64 << 10;

/// Redact and cap every string of a JSON value, and the private members of every JWK object in
/// it.
pub fn redact_value(v: &mut serde_json::Value, pki: &Pki) {
    match v {
        serde_json::Value::String(s) => {
            if let Some(r) = redact_text(s, pki) {
                *s = r;
            }
            cap(s);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| redact_value(x, pki)),
        serde_json::Value::Object(o) => {
            // A JWK's private members (an RP that publishes them must not leak them further).
            if o.contains_key("kty") {
                for m in JWK_PRIVATE {
                    if let Some(x) = o.get_mut(*m) {
                        *x = serde_json::Value::String(REDACTED_MEMBER.into());
                    }
                }
            }
            o.values_mut().for_each(|x| redact_value(x, pki))
        }
        _ => {}
    }
}

/// Cut `s` to [`MAX_REPORT_STRING`] bytes (at a character boundary), saying how much was cut.
/// Redact first: the whole key is what redaction recognises.
pub fn cap(s: &mut String) {
    if s.len() <= MAX_REPORT_STRING {
        return;
    }
    let mut at = MAX_REPORT_STRING;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    let cut = s.len() - at;
    s.truncate(at);
    s.push_str(&format!("…[cut: {cut} more bytes]"));
}

/// `text` with its private keys replaced and its certificates named; `None` when nothing
/// changed.
pub fn redact_text(text: &str, pki: &Pki) -> Option<String> {
    let mut out = pem_blocks(text, pki);
    if let Some(s) = bare_der_keys(out.as_deref().unwrap_or(text)) {
        out = Some(s);
    }
    if let Some(s) = jwk_members_in_text(out.as_deref().unwrap_or(text)) {
        out = Some(s);
    }
    out
}

/// Every PEM block: a private key of any label (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE
/// KEY`, `ENCRYPTED PRIVATE KEY`, `OPENSSH PRIVATE KEY`, …) is replaced, up to its END line or,
/// cut off, to the end of its Base64; a certificate is named.
fn pem_blocks(text: &str, pki: &Pki) -> Option<String> {
    const BEGIN: &str = "-----BEGIN ";
    if !text.contains(BEGIN) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(BEGIN) {
        out.push_str(&rest[..i]);
        let block = &rest[i..];
        let label_end = block[BEGIN.len()..].find("-----").map(|j| BEGIN.len() + j);
        let Some(label_end) = label_end else {
            out.push_str(block);
            return Some(out);
        };
        let label = &block[BEGIN.len()..label_end];
        let end_line = format!("-----END {label}-----");
        let body_start = label_end + "-----".len();
        let block_len = match block[body_start..].find(&end_line) {
            Some(j) => body_start + j + end_line.len(),
            // Cut off (a capped capture): the lines of Base64 that follow are the block.
            None => {
                let b64_line = |l: &str| {
                    l.trim()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
                };
                body_start
                    + block[body_start..]
                        .split_inclusive('\n')
                        .take_while(|l| b64_line(l))
                        .map(str::len)
                        .sum::<usize>()
            }
        };
        let whole = &block[..block_len];
        if label.contains("PRIVATE KEY") {
            out.push_str(REDACTED_KEY);
        } else if label == "CERTIFICATE" {
            match crate::pki::pem_all_der(whole, "CERTIFICATE").first() {
                Some(der) => out.push_str(&certificate_name(der, pki)),
                None => out.push_str(whole),
            }
        } else {
            out.push_str(whole);
        }
        rest = &block[block_len..];
    }
    out.push_str(rest);
    Some(out)
}

fn certificate_name(der: &[u8], pki: &Pki) -> String {
    pki.names()
        .find(|n| pki.get(n).is_ok_and(|c| c.cert_der == der))
        .map(|n| format!("certificate {n}"))
        .unwrap_or_else(|| {
            format!(
                "certificate sha256:{}",
                hex::encode(sha2::Sha256::digest(der))
            )
        })
}

/// Base64 runs (one line, or wrapped over several) that decode to a DER private key: PKCS#1
/// `RSAPrivateKey` and PKCS#8 `PrivateKeyInfo` (a SEQUENCE opening with INTEGER 0, RFC 8017
/// A.1.2, RFC 5208 §5), SEC 1 `ECPrivateKey` (INTEGER 1, then an OCTET STRING, RFC 5915 §3).
/// Certificates, requests and public keys open their SEQUENCE with another SEQUENCE, so they
/// never match.
fn bare_der_keys(text: &str) -> Option<String> {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=';
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    let mut changed = false;
    while i < text.len() {
        if !is_b64(bytes[i] as char) || (i > 0 && is_b64(bytes[i - 1] as char)) {
            i += 1;
            continue;
        }
        // A run of Base64, possibly wrapped: a line break continues it only after a line as wide
        // as the first, at most 80 (PEM wraps at 64, MIME at 76), never after a short word.
        let mut end = i;
        let mut width = 0;
        let mut wrap_at: Option<usize> = None;
        while end < text.len() {
            let c = bytes[end];
            let full = width <= 80 && wrap_at.is_none_or(|w| w == width) && width >= 60;
            if is_b64(c as char) {
                width += 1;
            } else if c == b'\r' && full {
                // CRLF: the LF that follows decides.
            } else if c == b'\n' && full && bytes.get(end + 1).is_some_and(|&n| is_b64(n as char)) {
                wrap_at = Some(width);
                width = 0;
            } else {
                break;
            }
            end += 1;
        }
        // The DER header is in the first bytes: decode a prefix, so a run cut short still counts.
        let run: String = text[i..end]
            .chars()
            .filter(|c| is_b64(*c) && *c != '=')
            .take(64)
            .collect();
        if run.len() >= 64
            && STANDARD
                .decode(&run)
                .is_ok_and(|der| is_der_private_key(&der))
        {
            out.push_str(&text[copied..i]);
            out.push_str(REDACTED_KEY);
            copied = end;
            changed = true;
        }
        i = end.max(i + 1);
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

fn is_der_private_key(der: &[u8]) -> bool {
    // SEQUENCE with a definite length, then the version INTEGER.
    let body = match der {
        [0x30, 0x82, _, _, rest @ ..] | [0x30, 0x81, _, rest @ ..] => rest,
        [0x30, n, rest @ ..] if *n < 0x80 => rest,
        _ => return false,
    };
    matches!(
        body,
        [0x02, 0x01, 0x00, 0x02 | 0x30, ..] | [0x02, 0x01, 0x01, 0x04, ..]
    )
}

/// A JWK quoted as text (a log line, a JSON string inside a string): the values of its private
/// members are replaced.
fn jwk_members_in_text(text: &str) -> Option<String> {
    if !text.contains("\"kty\"") && !text.contains("\\\"kty\\\"") {
        return None;
    }
    let mut out = text.to_owned();
    let mut changed = false;
    for m in JWK_PRIVATE {
        for quote in ["\"", "\\\""] {
            let key = format!("{quote}{m}{quote}");
            let mut from = 0;
            while let Some(j) = out[from..].find(&key).map(|j| from + j) {
                let after = j + key.len();
                let colon = out[after..].trim_start();
                let Some(value) = colon.strip_prefix(':').map(str::trim_start) else {
                    from = after;
                    continue;
                };
                let value_at = out.len() - value.len();
                let Some(inner) = value.strip_prefix(quote) else {
                    from = after;
                    continue;
                };
                let Some(close) = inner.find(quote) else {
                    from = after;
                    continue;
                };
                let start = value_at + quote.len();
                let end = start + close;
                if &out[start..end] != REDACTED_MEMBER {
                    out.replace_range(start..end, REDACTED_MEMBER);
                    changed = true;
                }
                from = start + REDACTED_MEMBER.len();
            }
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pki() -> Pki {
        Pki::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/keys"))
            .expect("the test PKI loads")
    }

    #[test]
    fn only_the_key_is_replaced_whatever_its_encoding() {
        let pki = pki();
        let client = pki.get("rp-client").unwrap();
        let pem = client.key_pem.clone();
        let der_b64: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        let wrapped: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("\n");
        let rsa_label = pem.replace("PRIVATE KEY", "RSA PRIVATE KEY");
        let cut = &pem[..pem.len() / 2];
        for (name, key) in [
            ("PEM", pem.as_str()),
            ("PEM of another label", rsa_label.as_str()),
            ("PEM cut off", cut),
            ("bare DER, one line", der_b64.as_str()),
            ("bare DER, wrapped", wrapped.as_str()),
        ] {
            let text = format!("driver: loaded key\n{key}\nthen failed: 42\n");
            let got = redact_text(&text, &pki).unwrap_or_else(|| panic!("{name}: not redacted"));
            assert!(got.starts_with("driver: loaded key\n"), "{name}: {got}");
            assert!(got.contains(REDACTED_KEY), "{name}: {got}");
            assert!(got.contains("then failed: 42"), "{name}: {got}");
            assert!(!got.contains(&der_b64[10..60]), "{name}: {got}");
        }
    }

    #[test]
    fn certificates_are_named_and_public_material_is_kept() {
        let pki = pki();
        let client = pki.get("rp-client").unwrap();
        let text = format!("presented:\n{}done", client.cert_pem);
        let got = redact_text(&text, &pki).unwrap();
        assert_eq!(got, "presented:\ncertificate rp-client\ndone");
        // A certificate's DER in Base64 without armour is not a key.
        let b64 = STANDARD.encode(&client.cert_der);
        assert_eq!(redact_text(&b64, &pki), None);
        assert_eq!(redact_text("plain text, no keys", &pki), None);
    }

    #[test]
    fn a_huge_string_is_cut_and_says_so() {
        let mut s = "é".repeat(MAX_REPORT_STRING); // two bytes each: the cut falls mid-character
        cap(&mut s);
        assert!(s.len() < MAX_REPORT_STRING + 40, "{}", s.len());
        assert!(s.ends_with(&format!("…[cut: {} more bytes]", MAX_REPORT_STRING)));
        let mut short = "short".to_owned();
        cap(&mut short);
        assert_eq!(short, "short");
    }

    #[test]
    fn jwk_private_members_quoted_in_text_are_replaced() {
        let pki = pki();
        let text = r#"reply {"kty":"RSA","n":"AQAB","e":"AQAB","d":"c2VjcmV0","qi":"eHl6"} end"#;
        let got = redact_text(text, &pki).unwrap();
        assert!(!got.contains("c2VjcmV0") && !got.contains("eHl6"), "{got}");
        assert!(
            got.contains(r#""n":"AQAB""#) && got.ends_with(" end"),
            "{got}"
        );
    }
}
