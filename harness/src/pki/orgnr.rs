//! Organisation numbers in the OI (organizationIdentifier, 2.5.4.97) attribute of a Freja client
//! certificate subject.
//!
//! Sweden (Skatteverket's organisationsnummer rules; python-stdnum `se.orgnr`): ten digits written
//! `NNNNNN-NNNN`, the third digit never below 2, the last digit a Luhn check digit over all ten.
//! The provider's DN table writes the number in exactly that form (`556677-8888`), so that is the
//! only spelling accepted. Other spellings seen in the wild are recognised and refused with the
//! canonical form suggested: without the hyphen (`5560912148`), `SE`-prefixed (`SE556091-2148`),
//! the VAT number (`SE556091214801`), the ETSI EN 319 412-1 semantics identifier
//! (`NTRSE-5560912148`, `VATSE-…`) and the 12-digit `16` prefix.
//!
//! Other countries: eidconf has no authoritative rule, so only the general value rules of
//! [`super::dn`] apply.

/// Why an organisation number is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgNrProblem {
    pub kind: OrgNrKind,
    pub message: String,
    /// 1-based character position of the offending character, where there is one.
    pub position: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgNrKind {
    /// Not `NNNNNN-NNNN` (length, characters, hyphen, or a recognised other spelling).
    Format,
    /// The Luhn check digit does not match.
    Checksum,
    /// The third digit is below 2: the number reads as a date (a personnummer).
    ThirdDigit,
}

/// Check `value` as an organisation number of `country` (an ISO 3166-1 alpha-2 code).
/// `luhn: false` skips the checksum (only the reference RP's fault uses that).
pub fn check(country: &str, value: &str, luhn: bool) -> Result<(), OrgNrProblem> {
    match country {
        "SE" => check_se(value, luhn),
        _ => Ok(()),
    }
}

fn problem(kind: OrgNrKind, position: Option<usize>, message: String) -> OrgNrProblem {
    OrgNrProblem {
        kind,
        message,
        position,
    }
}

fn check_se(value: &str, luhn: bool) -> Result<(), OrgNrProblem> {
    let chars: Vec<char> = value.chars().collect();
    let canonical = chars.len() == 11
        && chars[6] == '-'
        && chars
            .iter()
            .enumerate()
            .all(|(i, c)| i == 6 || c.is_ascii_digit());
    if !canonical {
        return Err(se_format(value, &chars));
    }
    let digits: Vec<u32> = chars.iter().filter_map(|c| c.to_digit(10)).collect();
    if digits[2] < 2 {
        return Err(problem(
            OrgNrKind::ThirdDigit,
            Some(3),
            format!(
                "`{value}`: the third digit is {}, but a Swedish organisation number's third digit is never below 2 \
                 (below 2 it reads as a month: this looks like a personnummer)",
                digits[2]
            ),
        ));
    }
    if luhn && !luhn_valid(&digits) {
        let expected = luhn_check_digit(&digits[..9]);
        return Err(problem(
            OrgNrKind::Checksum,
            Some(11),
            format!(
                "`{value}`: the check digit is {}, the Luhn checksum over the first nine digits gives {expected}",
                digits[9]
            ),
        ));
    }
    Ok(())
}

/// A non-canonical Swedish value: name the spelling if it is a known one.
fn se_format(value: &str, chars: &[char]) -> OrgNrProblem {
    let ten = |s: &str| -> Option<String> {
        let d: String = s.chars().filter(|c| *c != '-').collect();
        let ok = d.len() == 10
            && d.chars().all(|c| c.is_ascii_digit())
            && (s.len() == 10 || (s.len() == 11 && s.as_bytes()[6] == b'-'));
        ok.then(|| format!("{}-{}", &d[..6], &d[6..]))
    };
    let recognised: Option<(&str, String)> = None
        .or_else(|| {
            let c = ten(value.strip_prefix("NTRSE-")?)?;
            Some(("the ETSI EN 319 412-1 semantics identifier (NTRSE-)", c))
        })
        .or_else(|| {
            let c = ten(value.strip_prefix("VATSE-")?.strip_suffix("01")?)?;
            Some(("the ETSI EN 319 412-1 VAT identifier (VATSE-…01)", c))
        })
        .or_else(|| {
            let r = value.strip_prefix("SE")?.strip_suffix("01")?;
            let c = ten(r).filter(|_| r.len() == 10)?;
            Some(("the VAT number (SE + number + 01)", c))
        })
        .or_else(|| {
            Some((
                "the `SE`-prefixed spelling",
                ten(value.strip_prefix("SE")?)?,
            ))
        })
        .or_else(|| {
            let c = ten(value.strip_prefix("16")?)?;
            Some(("the 12-digit spelling with the `16` prefix", c))
        })
        .or_else(|| {
            let c = ten(value).filter(|_| !value.contains('-'))?;
            Some(("the spelling without the hyphen", c))
        });
    if let Some((what, canonical)) = recognised {
        return problem(
            OrgNrKind::Format,
            None,
            format!(
                "`{value}` is {what}; the provider's DN table writes the organisation number as NNNNNN-NNNN: `{canonical}`"
            ),
        );
    }
    if let Some((i, c)) = chars
        .iter()
        .enumerate()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 6 && **c == '-')))
    {
        return problem(
            OrgNrKind::Format,
            Some(i + 1),
            format!(
                "`{value}`: character {} `{}` (U+{:04X}) is not allowed there; a Swedish organisation number is NNNNNN-NNNN",
                i + 1,
                c.escape_default(),
                *c as u32
            ),
        );
    }
    let digits = chars.iter().filter(|c| c.is_ascii_digit()).count();
    problem(
        OrgNrKind::Format,
        None,
        format!(
            "`{value}` has {digits} digits{}; a Swedish organisation number is ten digits written NNNNNN-NNNN",
            if chars.get(6) == Some(&'-') || !chars.contains(&'-') {
                String::new()
            } else {
                " with the hyphen in the wrong place".to_owned()
            }
        ),
    )
}

/// Luhn over all digits, the last being the check digit.
pub fn luhn_valid(digits: &[u32]) -> bool {
    match digits.split_last() {
        Some((last, body)) => luhn_check_digit(body) == *last,
        None => false,
    }
}

/// The Luhn check digit for `body` (weights 2,1,2,… from the right of the body).
pub fn luhn_check_digit(body: &[u32]) -> u32 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let v = if i % 2 == 0 { d * 2 } else { *d };
            if v > 9 { v - 9 } else { v }
        })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_numbers() {
        for ok in ["556091-2148", "556012-5790", "123456-7897", "559110-4806"] {
            assert_eq!(check("SE", ok, true), Ok(()), "{ok}");
        }
        let kind = |v: &str| check("SE", v, true).unwrap_err().kind;
        // The provider's own example in the DN table fails Luhn.
        assert_eq!(kind("556677-8888"), OrgNrKind::Checksum);
        assert_eq!(kind("556091-2149"), OrgNrKind::Checksum);
        assert_eq!(check("SE", "556091-2149", false), Ok(()));
        // A personnummer has a valid Luhn digit but a month in positions 3-4.
        assert_eq!(kind("640823-3234"), OrgNrKind::ThirdDigit);
        for bad in [
            "5560912148",
            "SE5560912148",
            "SE556091-2148",
            "SE556091214801",
            "NTRSE-5560912148",
            "165560912148",
            "556091-214",
            "55609-12148",
            "556091–2148",
            "",
        ] {
            assert_eq!(kind(bad), OrgNrKind::Format, "{bad}");
        }
        let m = check("SE", "SE556091214801", true).unwrap_err().message;
        assert!(m.contains("VAT") && m.contains("`556091-2148`"), "{m}");
        let m = check("SE", "5560912148", true).unwrap_err().message;
        assert!(m.contains("without the hyphen"), "{m}");
        assert_eq!(check("NO", "anything", true), Ok(()));
    }
}
