//! RSA signature verification for what aws-lc (and so x509-parser) does not offer: PKCS#1 v1.5
//! with SHA-224, SHA-512/224, SHA-512/256 and SHA3, and RSASSA-PSS with any hash, MGF1 hash and
//! salt length (RFC 8017 8.2.2 and 9.1.2; parameters as in RFC 4055). Public data only, so no
//! constant-time concerns.

use num_bigint::BigUint;
use sha2::Digest;

use super::der::{self, Reader};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha512_224,
    Sha512_256,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
}

impl Hash {
    pub fn from_oid(oid: &str) -> Option<Hash> {
        Some(match oid {
            "1.3.14.3.2.26" => Hash::Sha1,
            "2.16.840.1.101.3.4.2.4" => Hash::Sha224,
            "2.16.840.1.101.3.4.2.1" => Hash::Sha256,
            "2.16.840.1.101.3.4.2.2" => Hash::Sha384,
            "2.16.840.1.101.3.4.2.3" => Hash::Sha512,
            "2.16.840.1.101.3.4.2.5" => Hash::Sha512_224,
            "2.16.840.1.101.3.4.2.6" => Hash::Sha512_256,
            "2.16.840.1.101.3.4.2.7" => Hash::Sha3_224,
            "2.16.840.1.101.3.4.2.8" => Hash::Sha3_256,
            "2.16.840.1.101.3.4.2.9" => Hash::Sha3_384,
            "2.16.840.1.101.3.4.2.10" => Hash::Sha3_512,
            _ => return None,
        })
    }

    /// The hash of a PKCS#1 v1.5 signature algorithm OID.
    pub fn of_pkcs1(oid: &str) -> Option<Hash> {
        Some(match oid {
            "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => Hash::Sha1,
            "1.2.840.113549.1.1.14" => Hash::Sha224,
            "1.2.840.113549.1.1.11" => Hash::Sha256,
            "1.2.840.113549.1.1.12" => Hash::Sha384,
            "1.2.840.113549.1.1.13" => Hash::Sha512,
            "1.2.840.113549.1.1.15" => Hash::Sha512_224,
            "1.2.840.113549.1.1.16" => Hash::Sha512_256,
            "2.16.840.1.101.3.4.3.13" => Hash::Sha3_224,
            "2.16.840.1.101.3.4.3.14" => Hash::Sha3_256,
            "2.16.840.1.101.3.4.3.15" => Hash::Sha3_384,
            "2.16.840.1.101.3.4.3.16" => Hash::Sha3_512,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Hash::Sha1 => "SHA-1",
            Hash::Sha224 => "SHA-224",
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
            Hash::Sha512_224 => "SHA-512/224",
            Hash::Sha512_256 => "SHA-512/256",
            Hash::Sha3_224 => "SHA3-224",
            Hash::Sha3_256 => "SHA3-256",
            Hash::Sha3_384 => "SHA3-384",
            Hash::Sha3_512 => "SHA3-512",
        }
    }

    /// DER content of the hash's OID, for the DigestInfo.
    fn oid_der(self) -> Vec<u8> {
        let nist = |n: u8| vec![0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, n];
        match self {
            Hash::Sha1 => vec![0x2b, 0x0e, 0x03, 0x02, 0x1a],
            Hash::Sha256 => nist(1),
            Hash::Sha384 => nist(2),
            Hash::Sha512 => nist(3),
            Hash::Sha224 => nist(4),
            Hash::Sha512_224 => nist(5),
            Hash::Sha512_256 => nist(6),
            Hash::Sha3_224 => nist(7),
            Hash::Sha3_256 => nist(8),
            Hash::Sha3_384 => nist(9),
            Hash::Sha3_512 => nist(10),
        }
    }

    pub fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            Hash::Sha1 => run::<sha1::Sha1>(parts),
            Hash::Sha224 => run::<sha2::Sha224>(parts),
            Hash::Sha256 => run::<sha2::Sha256>(parts),
            Hash::Sha384 => run::<sha2::Sha384>(parts),
            Hash::Sha512 => run::<sha2::Sha512>(parts),
            Hash::Sha512_224 => run::<sha2::Sha512_224>(parts),
            Hash::Sha512_256 => run::<sha2::Sha512_256>(parts),
            Hash::Sha3_224 => run::<sha3::Sha3_224>(parts),
            Hash::Sha3_256 => run::<sha3::Sha3_256>(parts),
            Hash::Sha3_384 => run::<sha3::Sha3_384>(parts),
            Hash::Sha3_512 => run::<sha3::Sha3_512>(parts),
        }
    }
}

/// RSASSA-PSS-params (RFC 4055 3.1), defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PssParams {
    pub hash: Hash,
    pub mgf1_hash: Hash,
    pub salt_len: usize,
}

impl PssParams {
    pub fn describe(&self) -> String {
        format!(
            "RSASSA-PSS ({}, MGF1 with {}, salt {} bytes)",
            self.hash.name(),
            self.mgf1_hash.name(),
            self.salt_len
        )
    }
}

/// A hash AlgorithmIdentifier (`seq`), parameters absent or NULL.
fn hash_id(seq: &der::Tlv<'_>, what: &str) -> Result<Hash, String> {
    if seq.tag != der::SEQUENCE {
        return Err(format!("{what}: not an AlgorithmIdentifier"));
    }
    let mut a = Reader::of(seq);
    let oid = a.expect(der::OID, what)?;
    let params = if a.is_empty() {
        None
    } else {
        Some(a.any(what)?)
    };
    a.end(what)?;
    if params.is_some_and(|p| p.tag != der::NULL || !p.content.is_empty()) {
        return Err(format!("{what}: parameters other than NULL"));
    }
    let oid = der::oid_string(oid.content);
    Hash::from_oid(&oid).ok_or_else(|| format!("{what}: unknown hash {oid}"))
}

/// An explicitly tagged field holding one AlgorithmIdentifier of a hash.
fn tagged_hash(t: &der::Tlv<'_>, what: &str) -> Result<Hash, String> {
    let mut r = Reader::of(t);
    let seq = r.any(what)?;
    r.end(what)?;
    hash_id(&seq, what)
}

/// Parse the parameters of an RSASSA-PSS AlgorithmIdentifier: `params` is the content of its
/// SEQUENCE (`None`: absent or not a SEQUENCE). `Err` says what is wrong.
pub(crate) fn pss_params(params: Option<&[u8]>) -> Result<PssParams, String> {
    let Some(params) = params else {
        return Err("RSASSA-PSS without its parameter SEQUENCE".into());
    };
    let mut r = Reader::new(params, 0);
    let mut p = PssParams {
        hash: Hash::Sha1,
        mgf1_hash: Hash::Sha1,
        salt_len: 20,
    };
    if r.peek_tag() == Some(0xa0) {
        p.hash = tagged_hash(&r.any("hashAlgorithm")?, "hashAlgorithm")?;
    }
    if r.peek_tag() == Some(0xa1) {
        let t = r.any("maskGenAlgorithm")?;
        let mut m = Reader::of(&t);
        let (oid, inner) = der::algorithm(&mut m, "maskGenAlgorithm")?;
        m.end("maskGenAlgorithm")?;
        let oid = der::oid_string(oid.content);
        if oid != "1.2.840.113549.1.1.8" {
            return Err(format!("mask generation function {oid} is not MGF1"));
        }
        let inner = inner.ok_or("MGF1 without a hash")?;
        p.mgf1_hash = hash_id(&inner, "MGF1 hash")?;
    }
    if r.peek_tag() == Some(0xa2) {
        let t = r.any("saltLength")?;
        let mut s = Reader::of(&t);
        let i = s.expect(der::INTEGER, "saltLength")?;
        s.end("saltLength")?;
        if i.content.len() > 4 || i.content.first().is_some_and(|b| b & 0x80 != 0) {
            return Err("saltLength out of range".into());
        }
        p.salt_len = i
            .content
            .iter()
            .fold(0usize, |a, b| (a << 8) | usize::from(*b));
    }
    if r.peek_tag() == Some(0xa3) {
        let t = r.any("trailerField")?;
        if t.content != [0x02, 0x01, 0x01] {
            return Err("trailerField is not 1".into());
        }
    }
    r.end("RSASSA-PSS-params")?;
    Ok(p)
}

/// How a signature is checked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scheme {
    Pkcs1(Hash),
    Pss(PssParams),
}

/// Largest modulus OpenSSL takes (OPENSSL_RSA_MAX_MODULUS_BITS).
const MAX_BITS: u64 = 16384;

/// `Ok(true)` verified, `Ok(false)` does not verify, `Err` the key cannot be used.
pub(crate) fn verify(
    n: &[u8],
    e: &[u8],
    scheme: Scheme,
    sig: &[u8],
    msg: &[u8],
) -> Result<bool, String> {
    let n = BigUint::from_bytes_be(n);
    let e = BigUint::from_bytes_be(e);
    let bits = n.bits();
    if bits > MAX_BITS {
        return Err(format!("the modulus has {bits} bits, more than {MAX_BITS}"));
    }
    // OpenSSL: an exponent above 64 bits only with a modulus of at most 3072 bits.
    if e.bits() > 64 && bits > 3072 || e < BigUint::from(3u8) || bits < 16 {
        return Err("unusable RSA public key (exponent or modulus)".into());
    }
    let k = bits.div_ceil(8) as usize;
    if sig.len() != k {
        return Ok(false);
    }
    let s = BigUint::from_bytes_be(sig);
    if s >= n {
        return Ok(false);
    }
    let m = s.modpow(&e, &n).to_bytes_be();
    let mut em = vec![0u8; k - m.len()];
    em.extend_from_slice(&m);
    Ok(match scheme {
        Scheme::Pkcs1(h) => em == pkcs1_encoding(h, msg, k),
        Scheme::Pss(p) => pss_ok(&p, msg, &em, bits as usize - 1),
    })
}

/// EMSA-PKCS1-v1_5 (RFC 8017 9.2), the DigestInfo with NULL parameters.
fn pkcs1_encoding(h: Hash, msg: &[u8], k: usize) -> Vec<u8> {
    fn tlv(tag: u8, c: &[u8]) -> Vec<u8> {
        // Every DigestInfo here is shorter than 128 bytes.
        let mut v = vec![tag, c.len() as u8];
        v.extend_from_slice(c);
        v
    }
    let mut alg = tlv(der::OID, &h.oid_der());
    alg.extend_from_slice(&[der::NULL, 0]);
    let mut t = tlv(der::SEQUENCE, &alg);
    t.extend(tlv(0x04, &h.digest(&[msg])));
    let t = tlv(der::SEQUENCE, &t);
    if k < t.len() + 11 {
        return Vec::new();
    }
    let mut em = vec![0x00, 0x01];
    em.resize(k - t.len() - 1, 0xff);
    em.push(0x00);
    em.extend(t);
    em
}

fn mgf1(h: Hash, seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut counter: u32 = 0;
    while out.len() < len {
        out.extend(h.digest(&[seed, &counter.to_be_bytes()]));
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// EMSA-PSS-VERIFY (RFC 8017 9.1.2). `em` is the k-byte integer; emLen may be one byte shorter.
fn pss_ok(p: &PssParams, msg: &[u8], em: &[u8], em_bits: usize) -> bool {
    let em_len = em_bits.div_ceil(8);
    let em = if em.len() > em_len {
        // The modulus is one bit longer than a whole number of bytes: the top byte must be 0.
        if em[0] != 0 {
            return false;
        }
        &em[1..]
    } else {
        em
    };
    let m_hash = p.hash.digest(&[msg]);
    let h_len = m_hash.len();
    if em_len < h_len + p.salt_len + 2 || em.last() != Some(&0xbc) {
        return false;
    }
    let (masked_db, rest) = em.split_at(em_len - h_len - 1);
    let h = &rest[..h_len];
    let top_mask = 0xffu8 >> (8 * em_len - em_bits);
    if masked_db[0] & !top_mask != 0 {
        return false;
    }
    let mut db: Vec<u8> = masked_db
        .iter()
        .zip(mgf1(p.mgf1_hash, h, masked_db.len()))
        .map(|(a, b)| a ^ b)
        .collect();
    db[0] &= top_mask;
    let pad = em_len - h_len - p.salt_len - 2;
    if db[..pad].iter().any(|b| *b != 0) || db[pad] != 0x01 {
        return false;
    }
    let salt = &db[db.len() - p.salt_len..];
    p.hash.digest(&[&[0u8; 8], &m_hash, salt]) == h
}
