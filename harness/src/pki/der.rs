//! A small DER reader for what x509-parser lets through: it ignores bytes left inside a SEQUENCE
//! or SET, which OpenSSL refuses ("sequence length mismatch"). [`check_csr`] walks a PKCS#10
//! request (RFC 2986) the way OpenSSL's decoder does and names the first place it would refuse.
//! Long-form lengths are accepted, as OpenSSL accepts them.

/// One TLV: `tag` is the identifier octet (low-number tags only), `at` its offset in the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub at: usize,
    pub content: &'a [u8],
    /// Offset of `content` in the input.
    pub content_at: usize,
}

pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;

/// Reads consecutive TLVs from `buf`, which starts at offset `base` of the whole input.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], base: usize) -> Reader<'a> {
        Reader { buf, pos: 0, base }
    }

    pub fn of(t: &Tlv<'a>) -> Reader<'a> {
        Reader::new(t.content, t.content_at)
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub fn any(&mut self, what: &str) -> Result<Tlv<'a>, String> {
        let at = self.offset();
        let rest = &self.buf[self.pos..];
        let Some(&tag) = rest.first() else {
            return Err(format!("{what} missing at byte {at}"));
        };
        if tag & 0x1f == 0x1f {
            return Err(format!("{what}: high tag number form at byte {at}"));
        }
        let Some(&l0) = rest.get(1) else {
            return Err(format!("{what}: no length at byte {at}"));
        };
        let (len, hdr) = if l0 < 0x80 {
            (usize::from(l0), 2)
        } else if l0 == 0x80 {
            return Err(format!("{what}: indefinite length at byte {at}"));
        } else {
            let n = usize::from(l0 & 0x7f);
            if n > 4 || rest.len() < 2 + n {
                return Err(format!("{what}: bad length at byte {at}"));
            }
            let len = rest[2..2 + n]
                .iter()
                .fold(0usize, |a, b| (a << 8) | usize::from(*b));
            (len, 2 + n)
        };
        if rest.len() - hdr < len {
            return Err(format!(
                "{what}: length {len} at byte {at} runs past the end of its container"
            ));
        }
        self.pos += hdr + len;
        Ok(Tlv {
            tag,
            at,
            content: &rest[hdr..hdr + len],
            content_at: at + hdr,
        })
    }

    pub fn expect(&mut self, tag: u8, what: &str) -> Result<Tlv<'a>, String> {
        let t = self.any(what)?;
        if t.tag != tag {
            return Err(format!(
                "{what}: wrong tag 0x{:02x} at byte {} (expected 0x{tag:02x})",
                t.tag, t.at
            ));
        }
        Ok(t)
    }

    /// OpenSSL's "sequence length mismatch": nothing may follow the last field.
    pub fn end(&self, what: &str) -> Result<(), String> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} unexpected byte(s) at byte {} inside the {what}",
                self.buf.len() - self.pos,
                self.offset()
            ))
        }
    }
}

fn integer(t: &Tlv<'_>, what: &str) -> Result<(), String> {
    match t.content {
        [] => Err(format!("{what}: empty INTEGER at byte {}", t.at)),
        [0x00, b, ..] if *b < 0x80 => Err(format!("{what}: INTEGER padded at byte {}", t.at)),
        [0xff, b, ..] if *b >= 0x80 => Err(format!("{what}: INTEGER padded at byte {}", t.at)),
        _ => Ok(()),
    }
}

fn oid(t: &Tlv<'_>, what: &str) -> Result<(), String> {
    let c = t.content;
    let bad = c.is_empty()
        || c.last().is_some_and(|b| b & 0x80 != 0)
        || c.iter()
            .enumerate()
            .any(|(i, b)| *b == 0x80 && (i == 0 || c[i - 1] & 0x80 == 0));
    if bad {
        Err(format!(
            "{what}: malformed OBJECT IDENTIFIER at byte {}",
            t.at
        ))
    } else {
        Ok(())
    }
}

fn bit_string(t: &Tlv<'_>, what: &str) -> Result<(), String> {
    match t.content {
        [] => Err(format!("{what}: empty BIT STRING at byte {}", t.at)),
        [u, ..] if *u > 7 => Err(format!("{what}: BIT STRING unused bits {u} > 7")),
        [u] if *u != 0 => Err(format!("{what}: empty BIT STRING with unused bits")),
        _ => Ok(()),
    }
}

/// AlgorithmIdentifier ::= SEQUENCE { OID, ANY OPTIONAL }.
pub(crate) fn algorithm<'a>(
    r: &mut Reader<'a>,
    what: &str,
) -> Result<(Tlv<'a>, Option<Tlv<'a>>), String> {
    let seq = r.expect(SEQUENCE, what)?;
    let mut a = Reader::of(&seq);
    let o = a.expect(OID, what)?;
    oid(&o, what)?;
    let params = if a.is_empty() {
        None
    } else {
        Some(a.any(what)?)
    };
    a.end(what)?;
    Ok((o, params))
}

fn name(r: &mut Reader<'_>) -> Result<(), String> {
    let seq = r.expect(SEQUENCE, "subject")?;
    let mut rdns = Reader::of(&seq);
    while !rdns.is_empty() {
        let set = rdns.expect(SET, "subject RDN")?;
        let mut atvs = Reader::of(&set);
        if atvs.is_empty() {
            return Err(format!("subject: empty RDN at byte {}", set.at));
        }
        while !atvs.is_empty() {
            let atv = atvs.expect(SEQUENCE, "subject attribute")?;
            let mut a = Reader::of(&atv);
            oid(
                &a.expect(OID, "subject attribute type")?,
                "subject attribute type",
            )?;
            a.any("subject attribute value")?;
            a.end("subject attribute")?;
        }
    }
    Ok(())
}

/// Version of a structurally sound request, or where OpenSSL would refuse to decode it.
pub(crate) fn check_csr(der: &[u8]) -> Result<i64, String> {
    let mut top = Reader::new(der, 0);
    let req = top.expect(SEQUENCE, "CertificationRequest")?;
    let mut r = Reader::of(&req);
    let info = r.expect(SEQUENCE, "CertificationRequestInfo")?;
    let mut i = Reader::of(&info);
    let v = i.expect(INTEGER, "version")?;
    integer(&v, "version")?;
    let version = if v.content.len() > 8 {
        i64::MAX
    } else {
        v.content
            .iter()
            .fold(if v.content[0] & 0x80 != 0 { -1 } else { 0 }, |a, b| {
                (a << 8) | i64::from(*b)
            })
    };
    name(&mut i)?;
    let spki = i.expect(SEQUENCE, "subjectPKInfo")?;
    let mut s = Reader::of(&spki);
    algorithm(&mut s, "subjectPKInfo algorithm")?;
    bit_string(
        &s.expect(BIT_STRING, "subjectPublicKey")?,
        "subjectPublicKey",
    )?;
    s.end("subjectPKInfo")?;
    // OpenSSL takes a request without the attributes field.
    if i.peek_tag() == Some(0xa0) {
        let attrs = i.any("attributes")?;
        let mut a = Reader::of(&attrs);
        while !a.is_empty() {
            let attr = a.expect(SEQUENCE, "attribute")?;
            let mut at = Reader::of(&attr);
            oid(&at.expect(OID, "attribute type")?, "attribute type")?;
            let values = at.expect(SET, "attribute values")?;
            let mut vs = Reader::of(&values);
            while !vs.is_empty() {
                vs.any("attribute value")?;
            }
            at.end("attribute")?;
        }
    }
    i.end("CertificationRequestInfo")?;
    algorithm(&mut r, "signatureAlgorithm")?;
    bit_string(&r.expect(BIT_STRING, "signature")?, "signature")?;
    r.end("CertificationRequest")?;
    Ok(version)
}

/// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }, from the BIT STRING of
/// an rsaEncryption or RSASSA-PSS key.
pub(crate) fn rsa_public_key(bits: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let mut top = Reader::new(bits, 0);
    let seq = top.expect(SEQUENCE, "RSAPublicKey")?;
    top.end("key")?;
    let mut r = Reader::of(&seq);
    let n = r.expect(INTEGER, "modulus")?;
    integer(&n, "modulus")?;
    let e = r.expect(INTEGER, "publicExponent")?;
    integer(&e, "publicExponent")?;
    r.end("RSAPublicKey")?;
    if n.content[0] & 0x80 != 0 || e.content[0] & 0x80 != 0 {
        return Err("negative modulus or exponent".into());
    }
    Ok((n.content, e.content))
}

/// Dotted form of an OID's content bytes (checked by [`algorithm`]).
pub(crate) fn oid_string(content: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    for b in content {
        acc = (acc << 7) | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
        if acc > u128::MAX >> 8 {
            return "overlong OID".into();
        }
    }
    let Some(first) = arcs.first().copied() else {
        return String::new();
    };
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut s = format!("{a}.{b}");
    for x in &arcs[1..] {
        s.push('.');
        s.push_str(&x.to_string());
    }
    s
}
