//! JWE primitives on aws-lc-rs (RFC 7516/7518): CEK wrapping with RSA-OAEP, RSA-OAEP-256 and
//! RSA1_5, content encryption with A128CBC-HS256, A256CBC-HS512, A128GCM and A256GCM, raw
//! DEFLATE, and compact assembly. Nothing here validates a header: callers that forge malformed
//! tokens decide every byte, and the reference RP decides what to allow before calling in.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    AES_128, AES_256, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    Pkcs1PublicEncryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::{constant_time, hmac};
use base64::Engine;

use super::ForgeError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// JWE key management algorithms the forge can put in a token. Only the RSA ones wrap for real;
/// the others produce the segments such a token would have, for allow-list tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum KeyAlg {
    #[default]
    #[serde(rename = "RSA-OAEP")]
    RsaOaep,
    #[serde(rename = "RSA-OAEP-256")]
    RsaOaep256,
    #[serde(rename = "RSA1_5")]
    Rsa15,
    #[serde(rename = "dir")]
    Dir,
    #[serde(rename = "A128KW")]
    A128Kw,
    #[serde(rename = "A256KW")]
    A256Kw,
    #[serde(rename = "PBES2-HS512+A256KW")]
    Pbes2Hs512A256Kw,
    #[serde(rename = "ECDH-ES")]
    EcdhEs,
}

impl KeyAlg {
    pub fn name(self) -> &'static str {
        match self {
            KeyAlg::RsaOaep => "RSA-OAEP",
            KeyAlg::RsaOaep256 => "RSA-OAEP-256",
            KeyAlg::Rsa15 => "RSA1_5",
            KeyAlg::Dir => "dir",
            KeyAlg::A128Kw => "A128KW",
            KeyAlg::A256Kw => "A256KW",
            KeyAlg::Pbes2Hs512A256Kw => "PBES2-HS512+A256KW",
            KeyAlg::EcdhEs => "ECDH-ES",
        }
    }

    pub fn from_name(s: &str) -> Option<KeyAlg> {
        [
            KeyAlg::RsaOaep,
            KeyAlg::RsaOaep256,
            KeyAlg::Rsa15,
            KeyAlg::Dir,
            KeyAlg::A128Kw,
            KeyAlg::A256Kw,
            KeyAlg::Pbes2Hs512A256Kw,
            KeyAlg::EcdhEs,
        ]
        .into_iter()
        .find(|a| a.name() == s)
    }
}

/// JWE content encryption algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum ContentEnc {
    #[default]
    #[serde(rename = "A128CBC-HS256")]
    A128CbcHs256,
    #[serde(rename = "A256CBC-HS512")]
    A256CbcHs512,
    #[serde(rename = "A128GCM")]
    A128Gcm,
    #[serde(rename = "A256GCM")]
    A256Gcm,
}

impl ContentEnc {
    pub fn name(self) -> &'static str {
        match self {
            ContentEnc::A128CbcHs256 => "A128CBC-HS256",
            ContentEnc::A256CbcHs512 => "A256CBC-HS512",
            ContentEnc::A128Gcm => "A128GCM",
            ContentEnc::A256Gcm => "A256GCM",
        }
    }

    pub fn from_name(s: &str) -> Option<ContentEnc> {
        [
            ContentEnc::A128CbcHs256,
            ContentEnc::A256CbcHs512,
            ContentEnc::A128Gcm,
            ContentEnc::A256Gcm,
        ]
        .into_iter()
        .find(|e| e.name() == s)
    }

    /// CEK length in bytes.
    pub fn cek_len(self) -> usize {
        match self {
            ContentEnc::A128CbcHs256 => 32,
            ContentEnc::A256CbcHs512 => 64,
            ContentEnc::A128Gcm => 16,
            ContentEnc::A256Gcm => 32,
        }
    }

    pub fn iv_len(self) -> usize {
        match self {
            ContentEnc::A128CbcHs256 | ContentEnc::A256CbcHs512 => 16,
            ContentEnc::A128Gcm | ContentEnc::A256Gcm => 12,
        }
    }

    pub fn tag_len(self) -> usize {
        match self {
            ContentEnc::A256CbcHs512 => 32,
            _ => 16,
        }
    }
}

/// A decryption failure. It carries nothing on purpose: causes must not be told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecryptError;

impl std::fmt::Display for DecryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decryption failed")
    }
}

impl std::error::Error for DecryptError {}

pub fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    // SystemRandom only fails if the OS has no entropy source at all.
    let _ = SystemRandom::new().fill(&mut v);
    v
}

pub fn b64u(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Wrap `cek` for the RSA public key `spki_der` (SubjectPublicKeyInfo DER).
pub fn wrap_rsa(alg: KeyAlg, spki_der: &[u8], cek: &[u8]) -> Result<Vec<u8>, ForgeError> {
    let public = PublicEncryptingKey::from_der(spki_der).map_err(|e| format!("RSA key: {e}"))?;
    let mut out = vec![0u8; public.key_size_bytes()];
    let n = match alg {
        KeyAlg::RsaOaep | KeyAlg::RsaOaep256 => {
            let oaep = if alg == KeyAlg::RsaOaep {
                &OAEP_SHA1_MGF1SHA1
            } else {
                &OAEP_SHA256_MGF1SHA256
            };
            OaepPublicEncryptingKey::new(public)
                .and_then(|k| k.encrypt(oaep, cek, &mut out, None).map(|c| c.len()))
        }
        KeyAlg::Rsa15 => Pkcs1PublicEncryptingKey::new(public)
            .and_then(|k| k.encrypt(cek, &mut out).map(|c| c.len())),
        other => return Err(format!("{} does not wrap with RSA", other.name()).into()),
    }
    .map_err(|_| format!("{} wrapping failed", alg.name()))?;
    out.truncate(n);
    Ok(out)
}

/// Unwrap a CEK with RSA-OAEP or RSA-OAEP-256 and the PKCS#8 DER private key. The error carries
/// nothing: callers must not distinguish unwrap failures from tag failures (RFC 7516 §11.5).
pub fn unwrap_rsa_oaep(alg: KeyAlg, pkcs8: &[u8], wrapped: &[u8]) -> Result<Vec<u8>, DecryptError> {
    let oaep = match alg {
        KeyAlg::RsaOaep => &OAEP_SHA1_MGF1SHA1,
        KeyAlg::RsaOaep256 => &OAEP_SHA256_MGF1SHA256,
        _ => return Err(DecryptError),
    };
    let key = crate::pki::parsed::rsa_decrypting_key(pkcs8).map_err(|_| DecryptError)?;
    let key = OaepPrivateDecryptingKey::new(key).map_err(|_| DecryptError)?;
    let mut out = vec![0u8; key.min_output_size()];
    let n = key
        .decrypt(oaep, wrapped, &mut out, None)
        .map_err(|_| DecryptError)?
        .len();
    out.truncate(n);
    Ok(out)
}

/// ECDH-ES in Direct Key Agreement mode (RFC 7518 §4.6): the CEK derived by the Concat KDF
/// (NIST SP 800-56A, SHA-256) from the P-256 agreement between `private_pkcs8` and the peer's
/// uncompressed point `peer`, with `AlgorithmID` = the `enc` name and empty `apu`/`apv`. The
/// sender calls it with the epk's private key and the recipient's point, the recipient the other
/// way round. An invalid point (off the curve, the identity) fails: aws-lc-rs validates it.
pub fn ecdh_es_cek(
    enc: ContentEnc,
    private_pkcs8: &[u8],
    peer: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    use aws_lc_rs::agreement::{ECDH_P256, PrivateKey, UnparsedPublicKey, agree};
    let key =
        PrivateKey::from_private_key_der(&ECDH_P256, private_pkcs8).map_err(|_| DecryptError)?;
    let z = agree(
        &key,
        UnparsedPublicKey::new(&ECDH_P256, peer),
        DecryptError,
        |z| Ok(z.to_vec()),
    )?;
    let bits = (enc.cek_len() * 8) as u32;
    let mut other = Vec::new();
    for field in [enc.name().as_bytes(), b"", b""] {
        other.extend((field.len() as u32).to_be_bytes());
        other.extend(field);
    }
    other.extend(bits.to_be_bytes());
    let mut out = Vec::new();
    let mut counter = 1u32;
    while out.len() < enc.cek_len() {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(&counter.to_be_bytes());
        ctx.update(&z);
        ctx.update(&other);
        out.extend(ctx.finish().as_ref());
        counter += 1;
    }
    out.truncate(enc.cek_len());
    Ok(out)
}

/// Unwrap with RSA1_5 (only the deliberately faulty RP does this).
pub fn unwrap_rsa1_5(pkcs8: &[u8], wrapped: &[u8]) -> Result<Vec<u8>, DecryptError> {
    use aws_lc_rs::rsa::Pkcs1PrivateDecryptingKey;
    let key = crate::pki::parsed::rsa_decrypting_key(pkcs8).map_err(|_| DecryptError)?;
    let key = Pkcs1PrivateDecryptingKey::new(key).map_err(|_| DecryptError)?;
    let mut out = vec![0u8; key.min_output_size()];
    let n = key
        .decrypt(wrapped, &mut out)
        .map_err(|_| DecryptError)?
        .len();
    out.truncate(n);
    Ok(out)
}

fn cbc_hs_tag(enc: ContentEnc, mac_key: &[u8], aad: &[u8], iv: &[u8], ct: &[u8]) -> Vec<u8> {
    let alg = if enc == ContentEnc::A128CbcHs256 {
        hmac::HMAC_SHA256
    } else {
        hmac::HMAC_SHA512
    };
    let key = hmac::Key::new(alg, mac_key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(aad);
    ctx.update(iv);
    ctx.update(ct);
    ctx.update(&((aad.len() as u64) * 8).to_be_bytes());
    let full = ctx.sign();
    full.as_ref()[..enc.tag_len()].to_vec()
}

/// Encrypt `plaintext`; returns (ciphertext, tag). `cek` and `iv` must have the lengths `enc`
/// requires.
pub fn encrypt_content(
    enc: ContentEnc,
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), ForgeError> {
    if cek.len() != enc.cek_len() || iv.len() != enc.iv_len() {
        return Err(format!("{}: wrong CEK or IV length", enc.name()).into());
    }
    match enc {
        ContentEnc::A128CbcHs256 | ContentEnc::A256CbcHs512 => {
            let (mac_key, enc_key) = cek.split_at(cek.len() / 2);
            let aes = if enc == ContentEnc::A128CbcHs256 {
                &AES_128
            } else {
                &AES_256
            };
            let key = UnboundCipherKey::new(aes, enc_key)
                .and_then(PaddedBlockEncryptingKey::cbc_pkcs7)
                .map_err(|_| "AES-CBC key".to_string())?;
            let iv16: [u8; 16] = iv.try_into().map_err(|_| "IV length".to_string())?;
            let mut ct = plaintext.to_vec();
            key.less_safe_encrypt(&mut ct, EncryptionContext::Iv128(FixedLength::from(iv16)))
                .map_err(|_| "AES-CBC encryption failed".to_string())?;
            let tag = cbc_hs_tag(enc, mac_key, aad, iv, &ct);
            Ok((ct, tag))
        }
        ContentEnc::A128Gcm | ContentEnc::A256Gcm => {
            let alg = if enc == ContentEnc::A128Gcm {
                &AES_128_GCM
            } else {
                &AES_256_GCM
            };
            let key = LessSafeKey::new(UnboundKey::new(alg, cek).map_err(|_| "AES-GCM key")?);
            let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| "GCM IV")?;
            let mut ct = plaintext.to_vec();
            let tag = key
                .seal_in_place_separate_tag(nonce, Aad::from(aad), &mut ct)
                .map_err(|_| "AES-GCM encryption failed")?;
            Ok((ct, tag.as_ref().to_vec()))
        }
    }
}

/// Decrypt and authenticate. Every failure is the same `DecryptError`: wrong lengths, a bad tag and
/// bad padding must look alike.
/// AES-CBC decryption with no HMAC check: what a "decrypt, then maybe authenticate" RP does
/// (a reference-RP fault; never used to read a token the harness trusts).
pub fn decrypt_cbc_unauthenticated(
    enc: ContentEnc,
    cek: &[u8],
    iv: &[u8],
    ct: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    if cek.len() != enc.cek_len() {
        return Err(DecryptError);
    }
    cbc_decrypt(enc, &cek[cek.len() / 2..], iv, ct)
}

/// AES-CBC with PKCS#7 padding, the second half of an A*CBC-HS* CEK.
fn cbc_decrypt(
    enc: ContentEnc,
    enc_key: &[u8],
    iv: &[u8],
    ct: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    let aes = match enc {
        ContentEnc::A128CbcHs256 => &AES_128,
        ContentEnc::A256CbcHs512 => &AES_256,
        _ => return Err(DecryptError),
    };
    let key = UnboundCipherKey::new(aes, enc_key)
        .and_then(PaddedBlockDecryptingKey::cbc_pkcs7)
        .map_err(|_| DecryptError)?;
    let iv16: [u8; 16] = iv.try_into().map_err(|_| DecryptError)?;
    let mut buf = ct.to_vec();
    let n = key
        .decrypt(&mut buf, DecryptionContext::Iv128(FixedLength::from(iv16)))
        .map_err(|_| DecryptError)?
        .len();
    buf.truncate(n);
    Ok(buf)
}

pub fn decrypt_content(
    enc: ContentEnc,
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    ct: &[u8],
    tag: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    if cek.len() != enc.cek_len() || iv.len() != enc.iv_len() || tag.len() != enc.tag_len() {
        return Err(DecryptError);
    }
    match enc {
        ContentEnc::A128CbcHs256 | ContentEnc::A256CbcHs512 => {
            let (mac_key, enc_key) = cek.split_at(cek.len() / 2);
            let want = cbc_hs_tag(enc, mac_key, aad, iv, ct);
            constant_time::verify_slices_are_equal(&want, tag).map_err(|_| DecryptError)?;
            cbc_decrypt(enc, enc_key, iv, ct)
        }
        ContentEnc::A128Gcm | ContentEnc::A256Gcm => {
            let alg = if enc == ContentEnc::A128Gcm {
                &AES_128_GCM
            } else {
                &AES_256_GCM
            };
            let key = LessSafeKey::new(UnboundKey::new(alg, cek).map_err(|_| DecryptError)?);
            let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| DecryptError)?;
            let mut buf = [ct, tag].concat();
            let n = key
                .open_in_place(nonce, Aad::from(aad), &mut buf)
                .map_err(|_| DecryptError)?
                .len();
            buf.truncate(n);
            Ok(buf)
        }
    }
}

/// Raw DEFLATE (RFC 1951, no zlib header), as `zip: DEF` requires.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// How a bomb's compressed bytes are framed. `zip: DEF` is raw DEFLATE (RFC 7516 §4.1.3, RFC
/// 1951); zlib (RFC 1950) and gzip (RFC 1952) framing reach only a library that inflates
/// whatever framing it is given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    #[default]
    Raw,
    Zlib,
    Gzip,
}

/// What a bomb inflates to: `A` repeated (a ratio near DEFLATE's 1032:1 maximum), or
/// pseudo-random base64url text (a ratio of about 4:3, so the token is nearly as large).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    #[default]
    Repeated,
    Random,
}

/// `n` bytes of `fill`, compressed in `framing`, streamed so a bomb costs no more memory than
/// its output. Deterministic, so each one is built once per process.
pub fn bomb(n: u64, framing: Framing, fill: Fill) -> Arc<Vec<u8>> {
    type Cache = Mutex<HashMap<(u64, Framing, Fill), Arc<Vec<u8>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (n, framing, fill);
    if let Some(b) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return b.clone();
    }
    let out = Arc::new(match fill {
        Fill::Repeated => repeated_bomb(n, framing),
        Fill::Random => random_bomb(n, framing),
    });
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, out.clone());
    out
}

/// Pseudo-random text, compressed as it is generated. The fastest level: text without repeats
/// compresses by its Huffman codes alone, whatever the level searches.
fn random_bomb(n: u64, framing: Framing) -> Vec<u8> {
    let level = flate2::Compression::fast();
    let mut w: Box<dyn CompressSink> = match framing {
        Framing::Raw => Box::new(flate2::write::DeflateEncoder::new(Vec::new(), level)),
        Framing::Zlib => Box::new(flate2::write::ZlibEncoder::new(Vec::new(), level)),
        Framing::Gzip => Box::new(flate2::write::GzEncoder::new(Vec::new(), level)),
    };
    let mut chunk = vec![0u8; 1 << 16];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut left = n;
    while left > 0 {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for b in chunk.iter_mut() {
            // xorshift64: reproducible, and incompressible enough for DEFLATE.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = ALPHABET[(state >> 58) as usize];
        }
        let k = left.min(chunk.len() as u64) as usize;
        // Writing into a Vec cannot fail.
        let _ = w.write_all(&chunk[..k]);
        left -= k as u64;
    }
    w.finish_boxed()
}

/// `n` bytes of `A`. Compressing 100 MiB would cost more than the rest of a run, so 256 KiB are
/// compressed once, closed with a sync flush (a non-final, byte-aligned block whose matches stay
/// inside it) and repeated; a final block holds the rest. The checksums are computed, not read.
fn repeated_bomb(n: u64, framing: Framing) -> Vec<u8> {
    const CHUNK: usize = 1 << 18;
    const FILL: u8 = b'A';
    static BLOCK: OnceLock<Vec<u8>> = OnceLock::new();
    let block = BLOCK.get_or_init(|| {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing into a Vec cannot fail.
        let _ = e.write_all(&vec![FILL; CHUNK]);
        let _ = e.flush();
        e.get_ref().clone()
    });
    let whole = n / CHUNK as u64;
    let rest = (n % CHUNK as u64) as usize;
    let tail = deflate(&vec![FILL; rest]);
    let mut out = Vec::with_capacity(block.len() * whole as usize + tail.len() + 18);
    match framing {
        Framing::Raw => {}
        // CMF: deflate, 32 KiB window; FLG: maximum compression, check bits.
        Framing::Zlib => out.extend_from_slice(&[0x78, 0xda]),
        // Magic, deflate, no flags, no mtime, maximum compression, unknown OS.
        Framing::Gzip => out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff]),
    }
    for _ in 0..whole {
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&tail);
    match framing {
        Framing::Raw => {}
        Framing::Zlib => out.extend_from_slice(&adler32_repeated(FILL, n).to_be_bytes()),
        Framing::Gzip => {
            let mut crc = flate2::Crc::new();
            let chunk = vec![FILL; CHUNK];
            for _ in 0..whole {
                crc.update(&chunk);
            }
            crc.update(&chunk[..rest]);
            out.extend_from_slice(&crc.sum().to_le_bytes());
            // ISIZE is the length modulo 2^32 (RFC 1952 §2.3.1).
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
    }
    out
}

/// Adler-32 (RFC 1950 §8.2) of `n` bytes `c`: A = 1 + n·c and B = n + c·n(n+1)/2, mod 65521.
fn adler32_repeated(c: u8, n: u64) -> u32 {
    const MOD: u128 = 65521;
    let (c, n) = (u128::from(c), u128::from(n));
    let a = (1 + n * c) % MOD;
    let b = (n + c * (n * (n + 1) / 2 % MOD)) % MOD;
    ((b << 16) | a) as u32
}

/// The three flate2 encoders behind one type.
trait CompressSink: Write {
    fn finish_boxed(self: Box<Self>) -> Vec<u8>;
}

impl CompressSink for flate2::write::DeflateEncoder<Vec<u8>> {
    fn finish_boxed(self: Box<Self>) -> Vec<u8> {
        self.finish().unwrap_or_default()
    }
}

impl CompressSink for flate2::write::ZlibEncoder<Vec<u8>> {
    fn finish_boxed(self: Box<Self>) -> Vec<u8> {
        self.finish().unwrap_or_default()
    }
}

impl CompressSink for flate2::write::GzEncoder<Vec<u8>> {
    fn finish_boxed(self: Box<Self>) -> Vec<u8> {
        self.finish().unwrap_or_default()
    }
}

/// The five parts of a compact JWE, decoded (the protected header as its base64url text, which
/// is also the AAD).
#[derive(Debug, Clone, PartialEq)]
pub struct Compact {
    pub protected: String,
    pub encrypted_key: Vec<u8>,
    pub iv: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub tag: Vec<u8>,
}

impl Compact {
    pub fn serialize(&self) -> String {
        format!(
            "{}.{}.{}.{}.{}",
            self.protected,
            b64u(&self.encrypted_key),
            b64u(&self.iv),
            b64u(&self.ciphertext),
            b64u(&self.tag)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn inflate(bytes: &[u8], framing: Framing) -> Vec<u8> {
        let mut out = Vec::new();
        let read = match framing {
            Framing::Raw => flate2::read::DeflateDecoder::new(bytes).read_to_end(&mut out),
            Framing::Zlib => flate2::read::ZlibDecoder::new(bytes).read_to_end(&mut out),
            Framing::Gzip => flate2::read::GzDecoder::new(bytes).read_to_end(&mut out),
        };
        read.unwrap_or_else(|e| panic!("{framing:?}: {e}"));
        out
    }

    #[test]
    fn a_repeated_bomb_inflates_to_exactly_its_size_in_every_framing() {
        for n in [0, 1, 300, (1 << 20) - 1, 1 << 20, (3 << 20) + 5] {
            for framing in [Framing::Raw, Framing::Zlib, Framing::Gzip] {
                let bomb = repeated_bomb(n, framing);
                let out = inflate(&bomb, framing);
                assert_eq!(out.len() as u64, n, "{framing:?} {n}");
                assert!(out.iter().all(|&b| b == b'A'), "{framing:?} {n}");
                if n >= 1 << 20 {
                    // Near DEFLATE's 1032:1, less the framing.
                    assert!(
                        n / bomb.len() as u64 > 900,
                        "{framing:?} {n}: {}",
                        bomb.len()
                    );
                }
            }
        }
    }

    #[test]
    fn the_adler32_of_a_repeated_byte_matches_the_running_sum() {
        for n in [0u64, 1, 5552, 5553, 65521, 1_000_003] {
            let (mut a, mut b) = (1u32, 0u32);
            for _ in 0..n {
                a = (a + u32::from(b'A')) % 65521;
                b = (b + a) % 65521;
            }
            assert_eq!(adler32_repeated(b'A', n), (b << 16) | a, "{n}");
        }
    }

    #[test]
    fn a_random_bomb_inflates_to_its_size_at_about_4_to_3() {
        for framing in [Framing::Raw, Framing::Zlib, Framing::Gzip] {
            let bomb = random_bomb(70_000, framing);
            assert_eq!(inflate(&bomb, framing).len(), 70_000);
            let ratio = 70_000.0 / bomb.len() as f64;
            assert!((1.25..1.4).contains(&ratio), "{framing:?}: {ratio}");
        }
    }
}
