//! `eidconf import`: peer corpora (Wycheproof's JSON Web Signature and Encryption tests, the RFC
//! 7520 cookbook) turned into vectors for the RP's token-level operations.
//!
//! A peer test is signed or encrypted with the peer's keys, which the RP never trusts, so each one
//! becomes one of:
//! - *substituted*: an in-profile valid test (RS256 JWS; RSA-OAEP(-256) JWE with a registered
//!   `enc`) is the genuine token, built with eidconf's keys, and must be accepted;
//! - *EM transplant*: an invalid RS256 signature over the group's genuine header and payload is
//!   opened with the peer's public key and its encoded message (malformed PKCS #1 v1.5 padding) is
//!   signed again with eidconf's key around the genuine token's digest;
//! - *shape*: an invalid test is written as a template over the group's valid token (a segment
//!   kept, dropped, edited by a few characters, put in a JSON serialization) and replayed on the
//!   genuine token;
//! - *verbatim*: anything else is sent as the peer wrote it, and must be refused.
//!
//! The output is deterministic: the same input gives the same files, byte for byte.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use num_bigint::BigUint;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Why an import failed: the file and, inside it, the JSON path.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", if path.is_empty() { String::new() } else { format!(" at {path}") })]
pub struct ImportError {
    pub file: PathBuf,
    /// A JSON path (`testGroups[2].tests[5].jws`), or empty.
    pub path: String,
    pub message: String,
}

/// One generated file, relative to the output folder.
#[derive(Debug, Clone, PartialEq)]
pub struct OutFile {
    pub name: String,
    pub text: String,
    /// How many vectors it holds, by kind.
    pub counts: Counts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub substituted: usize,
    pub transplanted: usize,
    pub shape: usize,
    pub verbatim: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.substituted + self.transplanted + self.shape + self.verbatim
    }
}

const JWS_FILE: &str = "json_web_signature_test.json";
const JWE_FILE: &str = "json_web_encryption_test.json";
const JWS_NAMES: &[&str] = &["protected", "payload", "signature"];
const JWE_NAMES: &[&str] = &["protected", "encrypted_key", "iv", "ciphertext", "tag"];
const FREJA_REASONS: &str =
    "[signature_invalid, malformed_response, algorithm_rejected, key_unknown]";
const FTN_REASONS: &str =
    "[malformed_response, decryption_failed, algorithm_rejected, key_unknown, signature_invalid]";
/// What the mock broker's registration allows (`Environment.oidc` defaults).
const FTN_ALGS: &[&str] = &["RSA-OAEP", "RSA-OAEP-256"];
const FTN_ENCS: &[&str] = &["A128CBC-HS256", "A128GCM", "A256GCM"];
/// DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1).
const SHA256_DIGEST_INFO: &str = "3031300d060960864801650304020105000420";

fn fail(file: &Path, path: impl Into<String>, message: impl Into<String>) -> ImportError {
    ImportError {
        file: file.to_owned(),
        path: path.into(),
        message: message.into(),
    }
}

fn read_json(file: &Path) -> Result<Value, ImportError> {
    let text = std::fs::read_to_string(file).map_err(|e| fail(file, "", e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| {
        fail(
            file,
            "",
            format!("not JSON (line {}, column {}): {e}", e.line(), e.column()),
        )
    })
}

/// Find `name` in `dir`, `dir/testvectors_v1` or `dir/testvectors`, or take `dir` as the file.
fn locate(dir: &Path, name: &str) -> Option<PathBuf> {
    if dir.is_file() {
        return (dir.file_name()? == name).then(|| dir.to_owned());
    }
    ["", "testvectors_v1", "testvectors"]
        .iter()
        .map(|sub| dir.join(sub).join(name))
        .find(|p| p.is_file())
}

/// Import Wycheproof's JWS and JWE test files found at `path` (a checkout, its `testvectors_v1`
/// folder, or one of the files).
pub fn wycheproof(path: &Path) -> Result<Vec<OutFile>, ImportError> {
    let jws = locate(path, JWS_FILE);
    let jwe = locate(path, JWE_FILE);
    if jws.is_none() && jwe.is_none() {
        return Err(fail(
            path,
            "",
            format!("neither {JWS_FILE} nor {JWE_FILE} is here (nor under testvectors_v1/)"),
        ));
    }
    let mut out = Vec::new();
    if let Some(f) = jws {
        out.push(wycheproof_file(&f, Kind::Jws)?);
    }
    if let Some(f) = jwe {
        out.push(wycheproof_file(&f, Kind::Jwe)?);
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Jws,
    Jwe,
}

impl Kind {
    fn names(self) -> &'static [&'static str] {
        match self {
            Kind::Jws => JWS_NAMES,
            Kind::Jwe => JWE_NAMES,
        }
    }
}

/// A vector in the making.
struct Vec_ {
    id: String,
    title: String,
    description: String,
    requirement: &'static str,
    tags: String,
    /// The `provider` block's lines (without the `provider:` key), or none.
    provider: Vec<String>,
    accepted: bool,
}

impl Vec_ {
    /// A vector of the `corpus` peer corpus, rejected and without a title until it is made.
    fn new(id: String, requirement: &'static str, corpus: &str, tag: &str) -> Vec_ {
        Vec_ {
            id,
            title: String::new(),
            description: String::new(),
            requirement,
            tags: format!("peer, {corpus}, {tag}, token"),
            provider: Vec::new(),
            accepted: false,
        }
    }
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn render(kind: Kind, header: &str, vectors: &[Vec_]) -> String {
    let mut s = String::new();
    s.push_str("# yaml-language-server: $schema=../../schema.json\n#\n");
    for line in header.lines() {
        let _ = writeln!(s, "# {line}");
    }
    s.push_str("vectors:\n");
    for v in vectors {
        let _ = writeln!(s, "  - id: {}", v.id);
        let _ = writeln!(s, "    title: {}", q(&v.title));
        let _ = writeln!(s, "    description: {}", q(&v.description));
        let _ = writeln!(s, "    requirements: [{}]", v.requirement);
        let _ = writeln!(s, "    severity: high");
        let _ = writeln!(s, "    tags: [{}]", v.tags);
        match kind {
            Kind::Jws => s.push_str("    operation: {op: freja.verify_details}\n"),
            Kind::Jwe => s.push_str(
                "    operation: {op: oidc.validate_id_token, nonce: n-0S6_WzA2Mj-eidconf}\n",
            ),
        }
        if !v.provider.is_empty() {
            s.push_str("    provider:\n");
            for line in &v.provider {
                let _ = writeln!(s, "      {line}");
            }
        }
        if v.accepted {
            // The signed identity the genuine token carries (the forge's defaults).
            s.push_str(match kind {
                Kind::Jws => {
                    "    expect:\n      verdict: accepted\n      identity: {userInfoType: EMAIL, userInfo: asa.oberg@example.se}\n"
                }
                Kind::Jwe => {
                    "    expect:\n      verdict: accepted\n      identity: {sub: 2BY5CDNFBEOSUFSKNGFSY4Y3DZISGL4I, \"urn:oid:1.2.246.21\": 131052-308T}\n"
                }
            });
        } else {
            let reasons = match kind {
                Kind::Jws => FREJA_REASONS,
                Kind::Jwe => FTN_REASONS,
            };
            let _ = writeln!(s, "    expect: {{verdict: rejected, reason: {reasons}}}");
        }
        s.push('\n');
    }
    s.pop();
    s
}

/// The recipe block that replays `text` (a template or a verbatim token).
fn template_block(kind: Kind, text: &str) -> Vec<String> {
    let recipe = match kind {
        Kind::Jws => "details:",
        Kind::Jwe => "id_token:",
    };
    vec![
        recipe.into(),
        "  mutations:".into(),
        format!("    - template: {{text: {}}}", q(text)),
    ]
}

/// Escape text that must reach the token verbatim (a template's `{name}` would be expanded).
fn verbatim(kind: Kind, text: &str) -> Option<String> {
    let clash = kind
        .names()
        .iter()
        .any(|n| text.contains(&format!("{{{n}}}")) || text.contains(&format!("{{{n}:")));
    (!clash).then(|| text.to_owned())
}

fn b64(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

fn header_of(token: &str) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice(&b64(token.split('.').next()?)?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn member<'a>(h: &'a serde_json::Map<String, Value>, k: &str) -> &'a str {
    h.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// The token as a template over `valid` (same kind): equal segments become `{name}`, a segment
/// edited by a few characters keeps the genuine text around the edit, JSON serializations name
/// the genuine members. `None` when nothing of the valid token is kept.
fn shape(kind: Kind, token: &str, valid: &str) -> Option<String> {
    let names = kind.names();
    let vparts: Vec<&str> = valid.split('.').collect();
    if vparts.len() != names.len() {
        return None;
    }
    if token.trim_start().starts_with('{') {
        let mut text = token.to_owned();
        let mut kept = false;
        for (name, seg) in names.iter().zip(&vparts) {
            let quoted = format!("\"{seg}\"");
            if !seg.is_empty() && text.contains(&quoted) {
                text = text.replace(&quoted, &format!("\"{{{name}}}\""));
                kept = true;
            }
        }
        return kept.then_some(text);
    }
    let tparts: Vec<&str> = token.split('.').collect();
    let aligned = tparts.len() == vparts.len();
    let mut kept = false;
    let mut out = Vec::new();
    for (i, t) in tparts.iter().enumerate() {
        let same_place = aligned && vparts[i] == *t;
        let elsewhere = (!aligned || same_place)
            .then(|| vparts.iter().position(|v| v == t))
            .flatten();
        let at = if same_place { Some(i) } else { elsewhere };
        if let Some(j) = at.filter(|_| !t.is_empty()) {
            out.push(format!("{{{}}}", names[j]));
            kept = true;
        } else if aligned && let Some(e) = small_edit(names[i], vparts[i], t) {
            out.push(e);
            kept = true;
        } else {
            out.push((*t).to_owned());
        }
    }
    kept.then(|| out.join("."))
}

/// `t` as `valid` with at most 2 characters removed and 8 inserted at one place, written as
/// slices of the named segment around the inserted text.
fn small_edit(name: &str, valid: &str, t: &str) -> Option<String> {
    let (v, tb) = (valid.as_bytes(), t.as_bytes());
    if v.is_empty() || !t.is_ascii() || !valid.is_ascii() {
        return None;
    }
    let a = v.iter().zip(tb).take_while(|(x, y)| x == y).count();
    let max_b = v.len().min(tb.len()) - a;
    let b = v
        .iter()
        .rev()
        .zip(tb.iter().rev())
        .take(max_b)
        .take_while(|(x, y)| x == y)
        .count();
    let removed = v.len() - a - b;
    let inserted = &t[a..tb.len() - b];
    if removed > 2 || inserted.len() > 8 || (removed == 0 && inserted.is_empty()) {
        return None;
    }
    // Anchor the kept text to the nearer end of the segment, so that an edit at either end stays
    // at that end of a genuine segment of another length.
    let whole = format!("{{{name}}}");
    let near_start = a <= b;
    let (head, tail) = if near_start {
        let start = a + removed;
        (
            if a == 0 {
                String::new()
            } else {
                format!("{{{name}::{a}}}")
            },
            if start == 0 {
                whole
            } else {
                format!("{{{name}:{start}:}}")
            },
        )
    } else {
        let k = b + removed;
        (
            if k == 0 {
                whole
            } else {
                format!("{{{name}::-{k}}}")
            },
            if b == 0 {
                String::new()
            } else {
                format!("{{{name}:-{b}:}}")
            },
        )
    };
    // A substitution by base64url characters could by chance be the genuine text (or change only
    // padding bits): each character is written as the genuine one changed instead.
    let b64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let inserted = if removed == inserted.len() && inserted.chars().all(b64url) {
        (0..removed)
            .map(|i| {
                let at = if near_start {
                    (a + i) as i64
                } else {
                    i as i64 - (b + removed) as i64
                };
                format!("{{~{name}:{at}}}")
            })
            .collect::<String>()
    } else {
        inserted.to_owned()
    };
    let s = format!("{head}{inserted}{tail}");
    Some(s)
}

fn is_full(kind: Kind, template: &str) -> bool {
    let full: Vec<String> = kind.names().iter().map(|n| format!("{{{n}}}")).collect();
    template == full.join(".")
}

/// An in-profile valid test: RS256 (Freja), or RSA-OAEP(-256) with a registered enc (FTN).
fn in_profile(kind: Kind, token: &str) -> Option<Vec<String>> {
    let h = header_of(token)?;
    let parts = token.split('.').count();
    match kind {
        Kind::Jws if parts == 3 && member(&h, "alg") == "RS256" => Some(Vec::new()),
        Kind::Jwe
            if parts == 5
                && FTN_ALGS.contains(&member(&h, "alg"))
                && FTN_ENCS.contains(&member(&h, "enc"))
                && !h.contains_key("zip") =>
        {
            Some(vec![
                "id_token:".into(),
                format!(
                    "  encryption: {{alg: {}, enc: {}}}",
                    member(&h, "alg"),
                    member(&h, "enc")
                ),
            ])
        }
        _ => None,
    }
}

/// The encoded message of an RS256 signature, split around the digest of `input`:
/// (prefix, suffix, digest found). `None` if the key does not open it or it is the correct
/// encoding (the test is invalid for another reason, e.g. the key's `use`).
fn encoded_message(jwk: &Value, input: &str, sig: &[u8]) -> Option<(String, String, bool)> {
    let n = BigUint::from_bytes_be(&b64(jwk.get("n")?.as_str()?)?);
    let e = BigUint::from_bytes_be(&b64(jwk.get("e")?.as_str()?)?);
    let k = n.bits().div_ceil(8) as usize;
    if sig.len() != k || k != 256 {
        return None;
    }
    let mut em = BigUint::from_bytes_be(sig).modpow(&e, &n).to_bytes_be();
    while em.len() < k {
        em.insert(0, 0);
    }
    let em = hex::encode(em);
    let digest = hex::encode(Sha256::digest(input.as_bytes()));
    let correct = format!(
        "0001{}00{SHA256_DIGEST_INFO}{digest}",
        "ff".repeat(k - 3 - SHA256_DIGEST_INFO.len() / 2 - 32)
    );
    if em == correct {
        return None;
    }
    match em.find(&digest).filter(|i| i % 2 == 0) {
        Some(i) => Some((em[..i].into(), em[i + digest.len()..].into(), true)),
        None => Some((em, String::new(), false)),
    }
}

fn text_at<'a>(v: &'a Value, key: &str, file: &Path, path: &str) -> Result<&'a str, ImportError> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| fail(file, format!("{path}.{key}"), "missing or not a string"))
}

fn wycheproof_file(file: &Path, kind: Kind) -> Result<OutFile, ImportError> {
    let doc = read_json(file)?;
    let token_key = match kind {
        Kind::Jws => "jws",
        Kind::Jwe => "jwe",
    };
    let groups = doc
        .get("testGroups")
        .and_then(Value::as_array)
        .ok_or_else(|| fail(file, "testGroups", "missing or not an array"))?;
    let mut counts = Counts::default();
    let mut vectors = Vec::new();
    let (prefix, requirement, tag) = match kind {
        Kind::Jws => ("freja.peer.wycheproof-jws", "FREJA-JWS-PEER", "jws"),
        Kind::Jwe => ("ftn.peer.wycheproof-jwe", "FTN-ENC-PEER", "jwe"),
    };
    for (gi, g) in groups.iter().enumerate() {
        let gpath = format!("testGroups[{gi}]");
        let tests = g
            .get("tests")
            .and_then(Value::as_array)
            .ok_or_else(|| fail(file, format!("{gpath}.tests"), "missing or not an array"))?;
        let group = g.get("comment").and_then(Value::as_str).unwrap_or("");
        let valid = tests.iter().find_map(|t| {
            let tok = t.get(token_key)?.as_str()?;
            (t.get("result")?.as_str()? == "valid" && tok.split('.').count() == kind.names().len())
                .then_some(tok)
        });
        for (ti, t) in tests.iter().enumerate() {
            let tpath = format!("{gpath}.tests[{ti}]");
            let id = t
                .get("tcId")
                .and_then(Value::as_u64)
                .ok_or_else(|| fail(file, format!("{tpath}.tcId"), "missing or not a number"))?;
            let result = text_at(t, "result", file, &tpath)?;
            if result == "acceptable" {
                // Either behaviour is right for the peer; replayed here it proves nothing.
                continue;
            }
            let comment = t.get("comment").and_then(Value::as_str).unwrap_or("");
            let token = match t.get(token_key) {
                Some(Value::String(s)) => s.clone(),
                // The JSON serialization may be given as an object.
                Some(v @ Value::Object(_)) => v.to_string(),
                _ => {
                    return Err(fail(
                        file,
                        format!("{tpath}.{token_key}"),
                        "missing, or neither a string nor an object",
                    ));
                }
            };
            let flags: Vec<&str> = t
                .get("flags")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let what = format!(
                "Wycheproof {} tcId {id} ({group}: {comment}{}), result {result}",
                file.file_name().and_then(|n| n.to_str()).unwrap_or(""),
                if flags.is_empty() {
                    String::new()
                } else {
                    format!("; {}", flags.join(", "))
                }
            );
            let mut v = Vec_::new(format!("{prefix}-{id}"), requirement, "wycheproof", tag);
            if result == "valid"
                && let Some(provider) = in_profile(kind, &token)
            {
                v.title = format!(
                    "Wycheproof {tag} {id} ({comment}), re-made with eidconf's keys, is accepted"
                );
                v.description = format!(
                    "{what}. In profile: the genuine token, built with eidconf's keys, must be accepted with exactly its signed claims."
                );
                v.provider = provider;
                v.accepted = true;
                counts.substituted += 1;
            } else if let Some(em) = transplant(kind, g, &token, valid, result) {
                v.title = format!(
                    "Wycheproof {tag} {id} ({comment}): its RSA padding under the pinned key is rejected"
                );
                v.description = format!(
                    "{what}. The test's encoded message, opened with Wycheproof's public key, is signed again with the pinned key around the genuine token's digest."
                );
                v.provider = em;
                counts.transplanted += 1;
            } else if let Some(tpl) = (result != "valid")
                .then(|| valid.and_then(|val| shape(kind, &token, val)))
                .flatten()
                .filter(|s| !is_full(kind, s))
            {
                v.title = format!(
                    "Wycheproof {tag} {id} ({comment}): its shape on the genuine token is rejected"
                );
                v.description = format!("{what}. The test's shape, replayed on the genuine token.");
                v.provider = template_block(kind, &tpl);
                counts.shape += 1;
            } else if let Some(text) = verbatim(kind, &token) {
                v.title = format!(
                    "Wycheproof {tag} {id} ({comment}), under Wycheproof's key, is rejected"
                );
                v.description = format!(
                    "{what}. Sent verbatim: its key is not one the RP trusts, or its algorithm is not in the profile."
                );
                v.provider = template_block(kind, &text);
                counts.verbatim += 1;
            } else {
                continue;
            }
            vectors.push(v);
        }
    }
    let source = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let header = format!(
        "GENERATED by `eidconf import wycheproof` from C2SP/wycheproof testvectors_v1/{source}\n\
         (provenance and licence: PROVENANCE.md). Do not edit; import again.\n\
         {} vectors: {} substituted (accepted), {} RSA padding transplants, {} shapes on the genuine\n\
         token, {} verbatim (rejected).",
        counts.total(),
        counts.substituted,
        counts.transplanted,
        counts.shape,
        counts.verbatim
    );
    Ok(OutFile {
        name: format!("wycheproof/{tag}.yaml"),
        text: render(kind, &header, &vectors),
        counts,
    })
}

/// The EM transplant of an invalid RS256 test over the group's genuine header and payload.
fn transplant(
    kind: Kind,
    group: &Value,
    token: &str,
    valid: Option<&str>,
    result: &str,
) -> Option<Vec<String>> {
    if kind != Kind::Jws || result == "valid" {
        return None;
    }
    let jwk = group.get("public")?;
    if jwk.get("kty")?.as_str()? != "RSA" {
        return None;
    }
    let [h, p, s] = token.split('.').collect::<Vec<_>>()[..] else {
        return None;
    };
    let [vh, vp, _] = valid?.split('.').collect::<Vec<_>>()[..] else {
        return None;
    };
    if (h, p) != (vh, vp) || member(&header_of(token)?, "alg") != "RS256" {
        return None;
    }
    let (prefix, suffix, digest) = encoded_message(jwk, &format!("{h}.{p}"), &b64(s)?)?;
    let mut m =
        format!("    - rsa_encoded_message: {{key: freja-jws-current, prefix: \"{prefix}\"");
    if !suffix.is_empty() {
        let _ = write!(m, ", suffix: \"{suffix}\"");
    }
    if !digest {
        m.push_str(", digest: false");
    }
    m.push('}');
    Some(vec!["details:".into(), "  mutations:".into(), m])
}

/// Import the RFC 7520 examples of the JOSE cookbook at `path` (github.com/ietf-jose/cookbook:
/// `jws/*.json`, `jwe/*.json`).
pub fn rfc7520(path: &Path) -> Result<Vec<OutFile>, ImportError> {
    let mut out = Vec::new();
    for (dir, kind) in [("jws", Kind::Jws), ("jwe", Kind::Jwe)] {
        let d = path.join(dir);
        let listing = std::fs::read_dir(&d).map_err(|e| fail(&d, "", e.to_string()))?;
        let mut files: Vec<PathBuf> = listing
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        // 4_10 after 4_9: order by the section numbers.
        files.sort_by_key(|p| section_key(p));
        if files.is_empty() {
            return Err(fail(&d, "", "no cookbook example (*.json) here"));
        }
        let mut counts = Counts::default();
        let mut vectors = Vec::new();
        for f in &files {
            rfc7520_example(f, kind, &mut vectors, &mut counts)?;
        }
        let tag = match kind {
            Kind::Jws => "jws",
            Kind::Jwe => "jwe",
        };
        let header = format!(
            "GENERATED by `eidconf import rfc7520` from the RFC 7520 examples of ietf-jose/cookbook\n\
             {dir}/ (provenance and licence: PROVENANCE.md). Do not edit; import again.\n\
             {} vectors: {} substituted (accepted), {} verbatim (rejected).",
            counts.total(),
            counts.substituted,
            counts.verbatim
        );
        out.push(OutFile {
            name: format!("rfc7520/{tag}.yaml"),
            text: render(kind, &header, &vectors),
            counts,
        });
    }
    Ok(out)
}

/// `4_10.x.json` → [4, 10].
fn section_key(p: &Path) -> Vec<u32> {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let num = name.split('.').next().unwrap_or("");
    num.split('_').filter_map(|x| x.parse().ok()).collect()
}

fn rfc7520_example(
    file: &Path,
    kind: Kind,
    vectors: &mut Vec<Vec_>,
    counts: &mut Counts,
) -> Result<(), ImportError> {
    let doc = read_json(file)?;
    let section: Vec<String> = section_key(file).iter().map(u32::to_string).collect();
    if section.is_empty() {
        return Err(fail(
            file,
            "",
            "the file name does not start with a section number (4_1.…)",
        ));
    }
    let title = text_at(&doc, "title", file, "$")?;
    let output = doc
        .get("output")
        .and_then(Value::as_object)
        .ok_or_else(|| fail(file, "output", "missing or not an object"))?;
    let (prefix, requirement, tag) = match kind {
        Kind::Jws => ("freja.peer.rfc7520", "FREJA-JWS-PEER", "jws"),
        Kind::Jwe => ("ftn.peer.rfc7520", "FTN-ENC-PEER", "jwe"),
    };
    let sec = section.join(".");
    let base = format!("{prefix}-{}", section.join("-"));
    for form in ["compact", "json", "json_flat"] {
        let token = match output.get(form) {
            None => continue,
            Some(Value::String(s)) => s.clone(),
            Some(v @ Value::Object(_)) => v.to_string(),
            Some(_) => {
                return Err(fail(
                    file,
                    format!("output.{form}"),
                    "neither a string nor an object",
                ));
            }
        };
        let what = format!("RFC 7520 §{sec} ({title}), {form} serialization");
        let mk = |suffix: &str| {
            let id = format!("{base}-{}{suffix}", form.replace('_', "-"));
            Vec_::new(id, requirement, "rfc7520", tag)
        };
        if form == "compact"
            && let Some(provider) = in_profile(kind, &token)
        {
            let mut v = mk("-substituted");
            v.title =
                format!("RFC 7520 §{sec} ({title}), re-made with eidconf's keys, is accepted");
            v.description = format!(
                "{what}. In profile: the genuine token, built with eidconf's keys and this example's algorithms, must be accepted with exactly its signed claims."
            );
            v.provider = provider;
            v.accepted = true;
            counts.substituted += 1;
            vectors.push(v);
        }
        let Some(text) = verbatim(kind, &token) else {
            continue;
        };
        let mut v = mk("");
        v.title =
            format!("RFC 7520 §{sec} ({title}), {form}, under the example's key, is rejected");
        v.description = format!(
            "{what}. Sent verbatim: the example's key is not one the RP trusts{}.",
            if form == "compact" {
                ""
            } else {
                ", and a JWT is compact only"
            }
        );
        v.provider = template_block(kind, &text);
        counts.verbatim += 1;
        vectors.push(v);
    }
    Ok(())
}

/// Write `files` under `out`, creating folders.
pub fn write(out: &Path, files: &[OutFile]) -> Result<(), ImportError> {
    for f in files {
        let p = out.join(&f.name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| fail(parent, "", e.to_string()))?;
        }
        std::fs::write(&p, &f.text).map_err(|e| fail(&p, "", e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_edits_keep_the_genuine_text_around_them() {
        let e = |t: &str| small_edit("s", "abcdef", t);
        assert_eq!(e("abc def").as_deref(), Some("{s::3} {s:3:}"));
        assert_eq!(e("abcdef=").as_deref(), Some("{s}="));
        assert_eq!(e("ab?def").as_deref(), Some("{s::2}?{s:3:}"));
        assert_eq!(e("abXdef").as_deref(), Some("{s::2}{~s:2}{s:3:}"));
        assert_eq!(e("abcdXY").as_deref(), Some("{s::-2}{~s:-2}{~s:-1}"));
        assert_eq!(e("   abcdef").as_deref(), Some("   {s}"));
        assert_eq!(e("abcd").as_deref(), Some("{s::-2}"));
        assert_eq!(e("zzzzzzzzzzzz"), None);
    }

    #[test]
    fn shapes_name_the_genuine_segments() {
        let v = "aaaa.bbbb.cccc";
        assert_eq!(
            shape(Kind::Jws, "aaaa.bbbb.", v).as_deref(),
            Some("{protected}.{payload}.")
        );
        assert_eq!(
            shape(Kind::Jws, "bbbb.cccc", v).as_deref(),
            Some("{payload}.{signature}")
        );
        assert_eq!(
            shape(Kind::Jws, r#"{"payload":"bbbb","signatures":[]}"#, v).as_deref(),
            Some(r#"{"payload":"{payload}","signatures":[]}"#)
        );
        assert_eq!(shape(Kind::Jws, "xxxxxxxxxxxxxxxx", v), None);
    }
}
