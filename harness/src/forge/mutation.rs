//! The named mutations of a token recipe (the JWS attacks of RFC 8725 §2.1, §2.6, §3.1, §3.10 and
//! CVE-2022-39227, plus size and encoding abuse), applied in order. Mutations of the *draft*
//! (header, payload, signer) come first: the token is signed
//! when the first mutation of the *assembled* token (a segment, the base64url, the whole string)
//! runs, or at the end.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::jws::{
    Draft, ForgeError, KeyEncoding, MacAlg, PublicKey, SigAlg, Signer, b64u, credential, err, jwks,
    x5t, x5t_s256,
};
use crate::pki::Pki;

/// Largest member, segment or nesting a recipe may ask for (what the mock can still serve).
pub const MAX_BYTES: u32 = 64 << 20;

/// What the forge needs besides the recipe.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub pki: &'a Pki,
    /// The mock's canary (`https://localhost:PORT`), which serves the `jku`/`x5u` documents and
    /// records every fetch.
    pub canary_url: Option<&'a str>,
}

/// The canary path of the JWKS publishing `key` (kid = the key's name).
pub fn jwks_path(key: &str) -> String {
    format!("/jwks/{key}.json")
}

/// The canary path of the PEM chain of `key`.
pub fn x5u_path(key: &str) -> String {
    format!("/x5u/{key}.pem")
}

/// What the canary serves at `path`: (content type, body), if it is a key document.
pub fn canary_document(pki: &Pki, path: &str) -> Option<(&'static str, Vec<u8>)> {
    if let Some(name) = path
        .strip_prefix("/jwks/")
        .and_then(|p| p.strip_suffix(".json"))
    {
        let doc = jwks(pki, name, name).ok()?;
        return Some(("application/json", doc.to_string().into_bytes()));
    }
    let name = path.strip_prefix("/x5u/")?.strip_suffix(".pem")?;
    Some((
        "application/pem-certificate-chain",
        pki.chain_pem(name).ok()?.into_bytes(),
    ))
}

/// A test-PKI key or certificate by name. Carries where it was written, so an unknown name is a
/// load error with file:line:col.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyName(pub serde_saphyr::Spanned<String>);

/// The name only: where it was written is not part of the vector.
impl std::fmt::Debug for KeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("KeyName").field(&self.0.value).finish()
    }
}

impl KeyName {
    pub fn as_str(&self) -> &str {
        &self.0.value
    }

    /// (line, column) in the vector file, if known.
    pub fn position(&self) -> Option<(u64, u64)> {
        let l = self.0.referenced;
        (l.line() > 0).then(|| (l.line(), l.column()))
    }
}

impl JsonSchema for KeyName {
    fn schema_name() -> Cow<'static, str> {
        "KeyName".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut s = String::json_schema(g);
        s.insert(
            "description".into(),
            json!("A key or certificate of the test PKI (vectors/keys/manifest.yaml)"),
        );
        s
    }
}

/// A segment of the compact serialization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Header,
    Payload,
    Signature,
}

impl Segment {
    fn index(self) -> usize {
        self as usize
    }
}

/// A JSON part of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Header,
    Payload,
}

/// JWS JSON serialization shapes (RFC 7515 §7.2), all of which a compact-only RP must refuse (a JWT
/// is compact, RFC 7519 §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonForm {
    /// `{"protected","payload","signature"}`.
    Flattened,
    /// Flattened, with `alg` only in the unprotected `header`.
    FlattenedUnprotectedAlg,
    /// `{"payload","signatures":[{"protected","signature"}]}`.
    General,
    /// General with `"signatures": []`.
    GeneralEmpty,
    /// General with the valid signature and a second, invalid one.
    GeneralTwo,
}

fn default_none() -> Value {
    json!("none")
}
fn default_true() -> bool {
    true
}
fn default_one() -> u32 {
    1
}
fn default_sig_len() -> u32 {
    256
}
fn default_pad_name() -> String {
    "x-pad".into()
}

/// One named mutation. Unit mutations are written as a bare name (`- strip_signature`), the
/// others as a one-key map (`- alg_none: {spelling: nOnE}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Mutation {
    // ---- the draft: header and payload JSON, the signer
    /// Set a header member to any JSON value, `null` included.
    SetHeader {
        name: String,
        value: Value,
    },
    RemoveHeader {
        name: String,
    },
    /// Set a payload member to any JSON value, `null` included.
    SetPayload {
        name: String,
        value: Value,
    },
    RemovePayload {
        name: String,
    },
    /// Rename a member (e.g. `authRef` → `signRef`: a result of the other kind).
    RenameMember {
        part: Part,
        from: String,
        to: String,
    },
    /// Append `,"name":value` to the JSON text: a duplicate member (RFC 7515 §4, RFC 8725 §2.6)
    /// when `name` exists.
    DuplicateMember {
        part: Part,
        name: String,
        value: Value,
    },
    /// Append `,"name":<json>` with `json` verbatim (huge numbers, non-JSON text).
    RawMember {
        part: Part,
        name: String,
        json: String,
    },
    /// Append a member holding `depth` nested arrays (deep JSON nesting).
    Nest {
        part: Part,
        name: String,
        depth: u32,
    },
    /// Append a string member whose bytes are not UTF-8 (RFC 8725 §3.7).
    InvalidUtf8 {
        part: Part,
        name: String,
    },
    /// Append a string member of `bytes` `A`s: an oversized but validly signed segment.
    Inflate {
        part: Part,
        bytes: u32,
        #[serde(default = "default_pad_name")]
        name: String,
    },
    /// `alg: none` (RFC 8725 §3.1): `alg` set to a spelling of `none` (any JSON: `""`, `null`,
    /// `["RS256"]` too) and the
    /// signature emptied, or kept from the RS256 token.
    AlgNone {
        #[serde(default = "default_none")]
        spelling: Value,
        #[serde(default)]
        keep_signature: bool,
    },
    /// RS256→HS256 confusion (RFC 8725 §2.1; CVE-2015-9235): `alg` HS* and an HMAC keyed by the
    /// public key of `key` in `encoding`.
    HmacWithPublicKey {
        key: KeyName,
        encoding: KeyEncoding,
        #[serde(default)]
        alg: MacAlg,
    },
    /// `alg` HS* and an HMAC keyed by these UTF-8 bytes (`kid` injection pointing at a known file,
    /// RFC 8725 §3.10).
    Hmac {
        secret: String,
        #[serde(default)]
        alg: MacAlg,
    },
    /// Sign with another key and/or algorithm; the header is left as it is (header `alg` ≠ the
    /// signing algorithm, RFC 8725 §3.1).
    ResignWith {
        key: KeyName,
        #[serde(default)]
        alg: SigAlg,
    },
    /// Embedded `jwk` (RFC 7515 §4.1.3): the public JWK of `key` in the header, signed by `key`.
    EmbedJwk {
        key: KeyName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kid: Option<String>,
    },
    /// `jku` injection (RFC 7515 §4.1.2): `jku` (default: the canary's JWKS for `key`) and `kid`,
    /// signed by `key`.
    Jku {
        key: KeyName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// `x5u` injection (RFC 7515 §4.1.5): `x5u` (default: the canary's PEM chain of `key`), signed
    /// by `key`.
    X5u {
        key: KeyName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// `x5c` trust (RFC 7515 §4.1.6): `x5c` with the certificate of `key` (and its chain) and its
    /// `x5t`, signed by `key`.
    X5c {
        key: KeyName,
        #[serde(default)]
        chain: bool,
    },
    /// The header `x5t` of this certificate.
    X5t {
        of: KeyName,
    },
    /// The header `x5t#S256` of this certificate.
    X5tS256 {
        of: KeyName,
    },
    /// The header `kid` (`kid` injection, RFC 8725 §3.10).
    Kid {
        value: String,
    },
    /// The header `crit` (RFC 7515 §4.1.11; any JSON); with `define`, each named member is added
    /// as `true`.
    Crit {
        names: Value,
        #[serde(default = "default_true")]
        define: bool,
    },
    /// `b64: false` (RFC 7797): the payload is signed and sent unencoded.
    B64False {
        #[serde(default = "default_true")]
        crit: bool,
    },
    // ---- the assembled token
    /// Signature stripping: the signature segment emptied (the trailing dot stays).
    StripSignature,
    /// Two segments: the signature and its dot removed.
    DropSignature,
    /// A signature of zero bytes (s = 0, to be refused before any exponentiation).
    ZeroSignature {
        #[serde(default = "default_sig_len")]
        bytes: u32,
    },
    /// The signature is the modulus of `key` (s = n, out of range per RFC 8017 §5.2.2).
    SignatureModulus {
        key: KeyName,
    },
    /// The last bytes of the signature dropped (wrong length, RFC 8017 §8.2.2).
    TruncateSignature {
        #[serde(default = "default_one")]
        bytes: u32,
    },
    /// Zero bytes appended to the signature (wrong length, RFC 8017 §8.2.2).
    ExtendSignature {
        #[serde(default = "default_one")]
        bytes: u32,
    },
    /// Flip one bit of a decoded segment (`byte` < 0 counts from the end).
    FlipBit {
        segment: Segment,
        #[serde(default)]
        byte: i64,
        #[serde(default)]
        bit: u8,
    },
    /// Replace a segment by this text.
    ReplaceSegment {
        segment: Segment,
        text: String,
    },
    /// Append `.text`: a fourth segment.
    ExtraSegment {
        text: String,
    },
    /// Non-canonical base64url (RFC 7515 §2): `=` padding added to a segment.
    PadBase64 {
        segment: Segment,
    },
    /// Non-canonical base64url (RFC 7515 §2): `+` and `/` instead of `-` and `_`.
    StandardAlphabet {
        segment: Segment,
    },
    /// Non-canonical base64url (RFC 7515 §2): text (a space, a newline) inserted at a character
    /// offset of a segment.
    InsertText {
        segment: Segment,
        at: u32,
        text: String,
    },
    /// Non-canonical base64url (RFC 4648 §3.5; cf. CVE-2022-25898): non-zero trailing bits in the
    /// last character of a segment.
    NonZeroTrailingBits {
        segment: Segment,
    },
    /// Non-canonical base64url (RFC 7515 §2): text around the whole token.
    Surround {
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        suffix: String,
    },
    /// An oversized segment: `bytes` `A`s appended to it.
    OversizeSegment {
        segment: Segment,
        bytes: u32,
    },
    /// The token in a JWS JSON serialization (RFC 7515 §7.2).
    JsonSerialization {
        form: JsonForm,
    },
    /// The python-jwt polyglot (CVE-2022-39227), a JSON object whose first member name is a
    /// compact token with these payload members merged in.
    Polyglot {
        payload: Map<String, Value>,
    },
    /// The whole token replaced by `text`, where `{protected}`, `{payload}` and `{signature}`
    /// stand for the genuine segments, `{payload:2:-1}` for a slice of one (character offsets,
    /// negative from the end) and `{~payload:-1}` for one character changed (the top bit of its
    /// sextet flipped): a peer corpus's shape replayed on the genuine token.
    Template {
        text: String,
    },
    /// The signature segment replaced by the raw RSA signature, with `key`, of the encoded message
    /// `prefix` ‖ SHA-256(signing input) ‖ `suffix` (hex; without `digest`, `prefix` alone): a
    /// peer corpus's malformed PKCS #1 v1.5 padding (RFC 8017 §8.2.2, §9.2) under the pinned key.
    RsaEncodedMessage {
        key: KeyName,
        prefix: String,
        #[serde(default)]
        suffix: String,
        #[serde(default = "default_true")]
        digest: bool,
    },
}

impl Mutation {
    pub fn name(&self) -> String {
        match serde_json::to_value(self) {
            Ok(Value::String(s)) => s,
            Ok(Value::Object(m)) => m.keys().next().cloned().unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// Does it work on the assembled (signed) token rather than on the draft?
    /// A mutation of the assembled token that puts another signature, or none, in place of the
    /// one the token was signed with.
    pub fn replaces_signature(&self) -> bool {
        use Mutation::*;
        match self {
            StripSignature
            | DropSignature
            | ZeroSignature { .. }
            | SignatureModulus { .. }
            | RsaEncodedMessage { .. } => true,
            ReplaceSegment { segment, .. } => *segment == Segment::Signature,
            _ => false,
        }
    }

    pub fn is_wire(&self) -> bool {
        use Mutation::*;
        matches!(
            self,
            StripSignature
                | DropSignature
                | ZeroSignature { .. }
                | SignatureModulus { .. }
                | TruncateSignature { .. }
                | ExtendSignature { .. }
                | FlipBit { .. }
                | ReplaceSegment { .. }
                | ExtraSegment { .. }
                | PadBase64 { .. }
                | StandardAlphabet { .. }
                | InsertText { .. }
                | NonZeroTrailingBits { .. }
                | Surround { .. }
                | OversizeSegment { .. }
                | JsonSerialization { .. }
                | Polyglot { .. }
                | Template { .. }
                | RsaEncodedMessage { .. }
        )
    }

    /// Key names this mutation refers to.
    pub fn keys(&self) -> Vec<&KeyName> {
        use Mutation::*;
        match self {
            HmacWithPublicKey { key, .. }
            | ResignWith { key, .. }
            | EmbedJwk { key, .. }
            | Jku { key, .. }
            | X5u { key, .. }
            | X5c { key, .. }
            | SignatureModulus { key }
            | RsaEncodedMessage { key, .. } => vec![key],
            X5t { of } | X5tS256 { of } => vec![of],
            _ => vec![],
        }
    }

    /// Does the token need the canary (a `jku`/`x5u` pointing at it)?
    pub fn needs_canary(&self) -> bool {
        matches!(
            self,
            Mutation::Jku { url: None, .. } | Mutation::X5u { url: None, .. }
        )
    }
}

/// Problems a recipe has whatever the keys: a draft mutation after the token was assembled,
/// sizes over [`MAX_BYTES`].
pub fn check(mutations: &[Mutation]) -> Result<(), String> {
    let mut wire: Option<String> = None;
    for (i, m) in mutations.iter().enumerate() {
        if m.is_wire() {
            wire.get_or_insert_with(|| m.name());
        } else if let Some(w) = &wire {
            return Err(format!(
                "mutation #{} `{}` changes the token before it is signed, so it must come before `{w}`, which changes the assembled token",
                i + 1,
                m.name()
            ));
        }
        use Mutation::*;
        let size = match m {
            Inflate { bytes, .. } | OversizeSegment { bytes, .. } => *bytes,
            Nest { depth, .. } => *depth,
            ZeroSignature { bytes } | ExtendSignature { bytes } => *bytes,
            _ => 0,
        };
        if size > MAX_BYTES {
            return Err(format!(
                "mutation #{} `{}` asks for {size} bytes; at most {MAX_BYTES}",
                i + 1,
                m.name()
            ));
        }
    }
    Ok(())
}

/// Apply `mutations` to `draft` in order and return the token.
pub fn forge(
    mut draft: Draft,
    mutations: &[Mutation],
    ctx: &Context<'_>,
) -> Result<String, ForgeError> {
    check(mutations).map_err(ForgeError)?;
    let mut wire: Option<String> = None;
    for (i, m) in mutations.iter().enumerate() {
        let step =
            |e: ForgeError| ForgeError(format!("mutation #{} `{}`: {}", i + 1, m.name(), e.0));
        if m.is_wire() {
            let token = match wire.take() {
                Some(t) => t,
                // Why sign what the mutation throws away (an RSA signature costs more than the
                // rest of the forge).
                None if m.replaces_signature() => {
                    draft.signer = Signer::Bytes(Vec::new());
                    draft.assemble(ctx.pki).map_err(step)?
                }
                None => draft.assemble(ctx.pki).map_err(step)?,
            };
            wire = Some(apply_wire(m, token, ctx).map_err(step)?);
        } else {
            apply_draft(m, &mut draft, ctx).map_err(step)?;
        }
    }
    match wire {
        Some(t) => Ok(t),
        None => draft.assemble(ctx.pki),
    }
}

fn bytes_of(d: &mut Draft, p: Part) -> &mut Vec<u8> {
    match p {
        Part::Header => &mut d.header,
        Part::Payload => &mut d.payload,
    }
}

fn object(bytes: &[u8], p: Part) -> Result<Map<String, Value>, ForgeError> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => err(format!(
            "the {p:?} is no longer a JSON object; edit members before raw changes"
        )),
    }
}

fn edit(d: &mut Draft, p: Part, f: impl FnOnce(&mut Map<String, Value>)) -> Result<(), ForgeError> {
    let b = bytes_of(d, p);
    let mut m = object(b, p)?;
    f(&mut m);
    *b = Value::Object(m).to_string().into_bytes();
    Ok(())
}

fn set_header(d: &mut Draft, name: &str, value: Value) -> Result<(), ForgeError> {
    edit(d, Part::Header, |m| {
        m.insert(name.to_owned(), value);
    })
}

/// Insert `,"name":raw` before the closing brace of a JSON object's text.
fn append_raw(b: &mut Vec<u8>, name: &str, raw: &[u8]) -> Result<(), ForgeError> {
    let end = b.iter().rposition(|&c| c == b'}');
    let Some(end) = end else {
        return err("no JSON object to append a member to");
    };
    let empty = b[..end]
        .iter()
        .rev()
        .find(|c| !c.is_ascii_whitespace())
        .is_some_and(|&c| c == b'{');
    let mut member = Vec::with_capacity(raw.len() + name.len() + 8);
    if !empty {
        member.push(b',');
    }
    member.extend(Value::String(name.to_owned()).to_string().into_bytes());
    member.push(b':');
    member.extend(raw);
    b.splice(end..end, member);
    Ok(())
}

fn apply_draft(m: &Mutation, d: &mut Draft, ctx: &Context<'_>) -> Result<(), ForgeError> {
    use Mutation::*;
    let pki = ctx.pki;
    match m {
        SetHeader { name, value } => set_header(d, name, value.clone())?,
        RemoveHeader { name } => edit(d, Part::Header, |m| {
            m.shift_remove(name);
        })?,
        SetPayload { name, value } => edit(d, Part::Payload, |m| {
            m.insert(name.clone(), value.clone());
        })?,
        RemovePayload { name } => edit(d, Part::Payload, |m| {
            m.shift_remove(name);
        })?,
        RenameMember { part, from, to } => {
            let mut missing = false;
            edit(d, *part, |m| match m.shift_remove(from) {
                Some(v) => {
                    m.insert(to.clone(), v);
                }
                None => missing = true,
            })?;
            if missing {
                return err(format!("no member `{from}` to rename"));
            }
        }
        DuplicateMember { part, name, value } => {
            append_raw(bytes_of(d, *part), name, value.to_string().as_bytes())?
        }
        RawMember { part, name, json } => append_raw(bytes_of(d, *part), name, json.as_bytes())?,
        Nest { part, name, depth } => {
            let n = *depth as usize;
            let raw = format!("{}{}", "[".repeat(n), "]".repeat(n));
            append_raw(bytes_of(d, *part), name, raw.as_bytes())?
        }
        InvalidUtf8 { part, name } => append_raw(bytes_of(d, *part), name, b"\"\xff\xfe\xc3\"")?,
        Inflate { part, bytes, name } => {
            let raw = format!("\"{}\"", "A".repeat(*bytes as usize));
            append_raw(bytes_of(d, *part), name, raw.as_bytes())?
        }
        AlgNone {
            spelling,
            keep_signature,
        } => {
            let kept = if *keep_signature {
                d.signature(pki)?
            } else {
                Vec::new()
            };
            set_header(d, "alg", spelling.clone())?;
            d.signer = Signer::Bytes(kept);
        }
        HmacWithPublicKey { key, encoding, alg } => {
            let secret = PublicKey::of(pki, key.as_str())?.encode(*encoding);
            set_header(d, "alg", json!(alg.name()))?;
            d.signer = Signer::Hmac { secret, alg: *alg };
        }
        Hmac { secret, alg } => {
            set_header(d, "alg", json!(alg.name()))?;
            d.signer = Signer::Hmac {
                secret: secret.as_bytes().to_vec(),
                alg: *alg,
            };
        }
        ResignWith { key, alg } => {
            credential(pki, key.as_str())?;
            d.signer = Signer::Rsa {
                key: key.as_str().to_owned(),
                alg: *alg,
            };
        }
        EmbedJwk { key, kid } => {
            let jwk = PublicKey::of(pki, key.as_str())?.jwk(kid.as_deref());
            set_header(d, "jwk", Value::Object(jwk))?;
            d.signer = rs256(key);
        }
        Jku { key, url } => {
            let url = document_url(ctx, url, jwks_path(key.as_str()))?;
            set_header(d, "jku", json!(url))?;
            set_header(d, "kid", json!(key.as_str()))?;
            d.signer = rs256(key);
        }
        X5u { key, url } => {
            let url = document_url(ctx, url, x5u_path(key.as_str()))?;
            set_header(d, "x5u", json!(url))?;
            d.signer = rs256(key);
        }
        X5c { key, chain } => {
            let ders = if *chain {
                pki.chain_der(key.as_str())
                    .map_err(|e| ForgeError(e.to_string()))?
            } else {
                vec![credential(pki, key.as_str())?.cert_der.clone()]
            };
            let list: Vec<Value> = ders.iter().map(|d| json!(STANDARD.encode(d))).collect();
            set_header(d, "x5c", Value::Array(list))?;
            set_header(d, "x5t", json!(x5t(pki, key.as_str())?))?;
            d.signer = rs256(key);
        }
        X5t { of } => set_header(d, "x5t", json!(x5t(pki, of.as_str())?))?,
        X5tS256 { of } => set_header(d, "x5t#S256", json!(x5t_s256(pki, of.as_str())?))?,
        Kid { value } => set_header(d, "kid", json!(value))?,
        Crit { names, define } => {
            set_header(d, "crit", names.clone())?;
            if *define && let Value::Array(list) = names {
                edit(d, Part::Header, |m| {
                    for n in list.iter().filter_map(Value::as_str) {
                        m.entry(n.to_owned()).or_insert(json!(true));
                    }
                })?;
            }
        }
        B64False { crit } => {
            set_header(d, "b64", json!(false))?;
            if *crit {
                set_header(d, "crit", json!(["b64"]))?;
            }
            d.b64 = false;
        }
        _ => return err("not a draft mutation"),
    }
    Ok(())
}

fn rs256(key: &KeyName) -> Signer {
    Signer::Rsa {
        key: key.as_str().to_owned(),
        alg: SigAlg::RS256,
    }
}

fn document_url(
    ctx: &Context<'_>,
    url: &Option<String>,
    path: String,
) -> Result<String, ForgeError> {
    match (url, ctx.canary_url) {
        (Some(u), _) => Ok(u.clone()),
        (None, Some(c)) => Ok(format!("{c}{path}")),
        (None, None) => err("no canary is running to serve the key document"),
    }
}

fn segments(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

fn segment_mut(segs: &mut [String], s: Segment) -> Result<&mut String, ForgeError> {
    let n = segs.len();
    segs.get_mut(s.index())
        .ok_or_else(|| ForgeError(format!("the token has {n} segment(s), no {s:?}")))
}

fn decoded(segs: &[String], s: Segment) -> Result<Vec<u8>, ForgeError> {
    let text = segs
        .get(s.index())
        .ok_or_else(|| ForgeError(format!("no {s:?} segment")))?;
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| ForgeError(format!("the {s:?} segment is no longer base64url")))
}

fn apply_wire(m: &Mutation, token: String, ctx: &Context<'_>) -> Result<String, ForgeError> {
    use Mutation::*;
    let mut segs = segments(&token);
    let sig = Segment::Signature;
    match m {
        StripSignature => segment_mut(&mut segs, sig)?.clear(),
        DropSignature => {
            if segs.len() < 3 {
                return err("no signature segment to drop");
            }
            segs.truncate(2);
        }
        ZeroSignature { bytes } => *segment_mut(&mut segs, sig)? = b64u(&vec![0; *bytes as usize]),
        SignatureModulus { key } => {
            let n = PublicKey::of(ctx.pki, key.as_str())?.modulus().to_vec();
            *segment_mut(&mut segs, sig)? = b64u(&n);
        }
        TruncateSignature { bytes } => {
            let mut s = decoded(&segs, sig)?;
            s.truncate(s.len().saturating_sub(*bytes as usize));
            *segment_mut(&mut segs, sig)? = b64u(&s);
        }
        ExtendSignature { bytes } => {
            let mut s = decoded(&segs, sig)?;
            s.extend(std::iter::repeat_n(0u8, *bytes as usize));
            *segment_mut(&mut segs, sig)? = b64u(&s);
        }
        FlipBit { segment, byte, bit } => {
            let mut s = decoded(&segs, *segment)?;
            let len = s.len() as i64;
            let i = if *byte < 0 { len + byte } else { *byte };
            if !(0..len).contains(&i) || *bit > 7 {
                return err(format!(
                    "byte {byte} bit {bit} is outside the {len}-byte {segment:?}"
                ));
            }
            s[i as usize] ^= 1 << bit;
            *segment_mut(&mut segs, *segment)? = b64u(&s);
        }
        ReplaceSegment { segment, text } => *segment_mut(&mut segs, *segment)? = text.clone(),
        ExtraSegment { text } => segs.push(text.clone()),
        PadBase64 { segment } => {
            let s = segment_mut(&mut segs, *segment)?;
            let pad = (4 - s.len() % 4) % 4;
            if pad == 0 {
                return err(format!(
                    "the {segment:?} segment's length is a multiple of 4: it takes no padding; pick another segment"
                ));
            }
            s.push_str(&"=".repeat(pad));
        }
        StandardAlphabet { segment } => {
            let s = segment_mut(&mut segs, *segment)?;
            let std = s.replace('-', "+").replace('_', "/");
            if std == *s {
                return err(format!(
                    "the {segment:?} segment has no `-` or `_`; pick another segment"
                ));
            }
            *s = std;
        }
        InsertText { segment, at, text } => {
            let s = segment_mut(&mut segs, *segment)?;
            let at = *at as usize;
            if at > s.len() {
                return err(format!("offset {at} is past the {segment:?} segment"));
            }
            s.insert_str(at, text);
        }
        NonZeroTrailingBits { segment } => {
            let s = segment_mut(&mut segs, *segment)?;
            if !matches!(s.len() % 4, 2 | 3) {
                return err(format!(
                    "the {segment:?} segment has no trailing bits (length {} is not 2 or 3 mod 4)",
                    s.len()
                ));
            }
            const ALPHABET: &[u8] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let last = s.pop().unwrap_or('A');
            let i = ALPHABET.iter().position(|&c| c == last as u8).unwrap_or(0);
            // The lowest bit of the last sextet is always a padding bit here.
            s.push(ALPHABET[i | 1] as char);
        }
        Surround { prefix, suffix } => return Ok(format!("{prefix}{token}{suffix}")),
        OversizeSegment { segment, bytes } => {
            segment_mut(&mut segs, *segment)?.push_str(&"A".repeat(*bytes as usize))
        }
        JsonSerialization { form } => return jws_json(&token, *form),
        Polyglot { payload } => return polyglot(&token, payload),
        Template { text } => {
            let parts: Vec<&str> = segs.iter().map(String::as_str).collect();
            return render_template(text, &["protected", "payload", "signature"], &parts);
        }
        RsaEncodedMessage {
            key,
            prefix,
            suffix,
            digest,
        } => {
            let [h, p, _] = three(&segs)?;
            let hex = |s: &str| hex::decode(s).map_err(|_| ForgeError(format!("`{s}` is not hex")));
            let mut em = hex(prefix)?;
            if *digest {
                use sha2::Digest as _;
                em.extend(sha2::Sha256::digest(format!("{h}.{p}").as_bytes()));
            }
            em.extend(hex(suffix)?);
            let raw = raw_rsa_private(ctx.pki, key.as_str(), &em)?;
            *segment_mut(&mut segs, Segment::Signature)? = b64u(&raw);
        }
        _ => return err("not a mutation of the assembled token"),
    }
    Ok(segs.join("."))
}

/// A compact JWS re-serialized as a JWS JSON serialization (RFC 7515 §7.2).
pub fn jws_json(token: &str, form: JsonForm) -> Result<String, ForgeError> {
    let segs = segments(token);
    let [h, p, s] = three(&segs)?;
    let v = match form {
        JsonForm::Flattened => json!({"protected": h, "payload": p, "signature": s}),
        JsonForm::FlattenedUnprotectedAlg => {
            let mut header = object(&decoded(&segs, Segment::Header)?, Part::Header)?;
            let alg = header.shift_remove("alg").unwrap_or(json!("RS256"));
            json!({
                "protected": b64u(Value::Object(header).to_string().as_bytes()),
                "header": {"alg": alg},
                "payload": p,
                "signature": s,
            })
        }
        JsonForm::General => {
            json!({"payload": p, "signatures": [{"protected": h, "signature": s}]})
        }
        JsonForm::GeneralEmpty => json!({"payload": p, "signatures": []}),
        JsonForm::GeneralTwo => json!({"payload": p, "signatures": [
            {"protected": h, "signature": s},
            {"protected": h, "signature": b64u(&[0; 256])},
        ]}),
    };
    Ok(v.to_string())
}

/// The python-jwt polyglot (CVE-2022-39227) of a compact JWS: a JSON object whose first member
/// name is the token with `payload` members merged into its payload, then the genuine parts.
pub fn polyglot(token: &str, payload: &Map<String, Value>) -> Result<String, ForgeError> {
    let segs = segments(token);
    let [h, p, s] = three(&segs)?;
    let mut claims = object(&decoded(&segs, Segment::Payload)?, Part::Payload)?;
    for (k, v) in payload {
        claims.insert(k.clone(), v.clone());
    }
    let fp = b64u(Value::Object(claims).to_string().as_bytes());
    Ok(format!(
        r#"{{"  {h}.{fp}.":"","protected":"{h}","payload":"{p}","signature":"{s}"}}"#
    ))
}

/// `m`^d mod n with the private key `key`, left-padded to the modulus length (a raw RSA
/// operation: no padding is added or checked). aws-lc computes it where it can (`m` below the
/// modulus); otherwise the Chinese remainder theorem (RFC 8017 §5.1.2) on `m` mod p and q.
fn raw_rsa_private(pki: &Pki, key: &str, m: &[u8]) -> Result<Vec<u8>, ForgeError> {
    use num_bigint::BigUint;
    let pkcs8 = &credential(pki, key)?.key_der;
    let not_rsa = |e: String| ForgeError(format!("`{key}` is not an RSA private key: {e}"));
    if let Some(s) =
        aws_lc_raw_rsa_private(crate::pki::pkcs1_private_key(pkcs8).map_err(not_rsa)?, m)
    {
        return Ok(s);
    }
    let c = crate::pki::rsa_private_components(pkcs8).map_err(not_rsa)?;
    let int = |b: &[u8]| BigUint::from_bytes_be(b);
    let (n, p, q) = (int(&c.n), int(&c.p), int(&c.q));
    let m = int(m);
    let m1 = (&m % &p).modpow(&int(&c.dp), &p);
    let m2 = (&m % &q).modpow(&int(&c.dq), &q);
    let h = (int(&c.qinv) * ((&m1 + &p) - (&m2 % &p))) % &p;
    let s = m2 + h * &q;
    let k = n.bits().div_ceil(8) as usize;
    let mut out = s.to_bytes_be();
    while out.len() < k {
        out.insert(0, 0);
    }
    Ok(out)
}

/// `m`^d mod n by aws-lc (`RSA_private_encrypt` without padding: blinded, by the CRT), about
/// five times faster than num-bigint. `None` if aws-lc refuses the key or `m` (not below n).
fn aws_lc_raw_rsa_private(pkcs1: &[u8], m: &[u8]) -> Option<Vec<u8>> {
    use aws_lc_sys::{ERR_clear_error, RSA_NO_PADDING, RSA_free, RSA_private_encrypt};
    use aws_lc_sys::{RSA_private_key_from_bytes, RSA_size};
    // SAFETY: `RSA_private_key_from_bytes` reads `pkcs1.len()` bytes and returns an owned RSA or
    // null; `RSA_size` and `RSA_private_encrypt` get that live RSA, an input of exactly
    // `RSA_size` bytes and an output buffer of as many (what RSA_NO_PADDING requires); the RSA
    // is freed once, after its last use. A failure leaves errors on this thread's queue, cleared.
    unsafe {
        let rsa = RSA_private_key_from_bytes(pkcs1.as_ptr(), pkcs1.len());
        if rsa.is_null() {
            ERR_clear_error();
            return None;
        }
        let k = RSA_size(rsa) as usize;
        let mut out = None;
        if m.len() <= k {
            let mut input = vec![0u8; k - m.len()];
            input.extend_from_slice(m);
            let mut s = vec![0u8; k];
            let n = RSA_private_encrypt(k, input.as_ptr(), s.as_mut_ptr(), rsa, RSA_NO_PADDING);
            if n as usize == k {
                out = Some(s);
            } else {
                ERR_clear_error();
            }
        }
        RSA_free(rsa);
        out
    }
}

/// Replace `{name}` and `{name:start:end}` (character offsets; negative from the end; either may
/// be empty) by the segment of that name. Other braces are text (JSON serializations).
pub fn render_template(text: &str, names: &[&str], segs: &[&str]) -> Result<String, ForgeError> {
    let mut out = String::with_capacity(text.len() + 1024);
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let close = after.find('}');
        let spec = close.map(|c| &after[..c]);
        let body = spec.unwrap_or_default();
        let flip = body.starts_with('~');
        let mut fields = body.trim_start_matches('~').splitn(3, ':');
        let name = fields.next().unwrap_or_default();
        match (close, names.iter().position(|n| *n == name)) {
            (Some(c), Some(idx)) => {
                let seg = segs.get(idx).copied().ok_or_else(|| {
                    ForgeError(format!("the token has no {name} segment for the template"))
                })?;
                let len = seg.len() as i64;
                let bound = |f: Option<&str>, default: i64| -> Result<usize, ForgeError> {
                    let v = match f.filter(|s| !s.is_empty()) {
                        None => default,
                        Some(s) => s.parse::<i64>().map_err(|_| {
                            ForgeError(format!(
                                "`{{{}}}`: `{s}` is not an offset",
                                spec.unwrap_or_default()
                            ))
                        })?,
                    };
                    let v = if v < 0 { len + v } else { v };
                    Ok(v.clamp(0, len) as usize)
                };
                if flip {
                    // `{~name:i}`: the character at i with the top bit of its sextet flipped, a
                    // data bit wherever it sits, so the decoded bytes always change.
                    let i = bound(fields.next(), 0)?;
                    const ALPHABET: &[u8] =
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                    let c = seg.as_bytes().get(i).copied().unwrap_or(b'A');
                    let v = ALPHABET.iter().position(|&x| x == c).unwrap_or(0);
                    out.push(ALPHABET[v ^ 32] as char);
                } else {
                    let (a, b) = (bound(fields.next(), 0)?, bound(fields.next(), len)?);
                    out.push_str(seg.get(a..b.max(a)).unwrap_or_default());
                }
                rest = &after[c + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn three(segs: &[String]) -> Result<[&str; 3], ForgeError> {
    match segs {
        [h, p, s] => Ok([h, p, s]),
        _ => err(format!("the token has {} segments, not 3", segs.len())),
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::BigUint;

    use super::*;

    #[test]
    fn raw_rsa_is_the_exponentiation_by_d() {
        let pki = Pki::load(&crate::default_corpus_root().join("vectors/keys")).unwrap();
        let key = "freja-jws-current";
        let c = crate::pki::rsa_private_components(&pki.get(key).unwrap().key_der).unwrap();
        let n = BigUint::from_bytes_be(&c.n);
        // By aws-lc below the modulus; by the CRT at or above it (all ones), and past its length.
        for m in [
            vec![0u8],
            vec![1],
            b"\x00\x01\xff\xff encoded message".to_vec(),
            (&n - 2u8).to_bytes_be(),
            vec![0xff; 256],
            vec![0xff; 300],
        ] {
            let want = BigUint::from_bytes_be(&m).modpow(&BigUint::from_bytes_be(&c.d), &n);
            let got = raw_rsa_private(&pki, key, &m).unwrap();
            let pkcs1 = crate::pki::pkcs1_private_key(&pki.get(key).unwrap().key_der).unwrap();
            // aws-lc takes encoded messages below n; it refuses the rest (and tiny values such
            // as 0 and 1), which the CRT computes.
            if m.len() > 1 {
                let below = BigUint::from_bytes_be(&m) < n;
                assert_eq!(aws_lc_raw_rsa_private(pkcs1, &m).is_some(), below);
            }
            assert_eq!(got.len(), c.n.len() - usize::from(c.n[0] == 0));
            assert_eq!(BigUint::from_bytes_be(&got), want);
        }
    }
}
