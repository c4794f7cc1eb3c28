//! An RP team's onboarding check, as a Rust RP team would test it with eidconf: it implements
//! `dn.validate` (the subject DN of a Freja eID client certificate request) and depends on the
//! contract crate only. The rules are the provider's DN table (Freja eID Relying Party
//! Developers' Documentation, "Distinguished name"): C, O and OI required, CN and OU optional,
//! each once, no `<>~!@#$%^*/\()?.,&` in O and OU; plus X.520's 64-character bound on O, OU and
//! CN, and ISO 3166-1 alpha-2 for C. What the provider does not state is a warning on the
//! accepted subject, not a refusal.

use std::collections::BTreeMap;

use eidconf_adapter::{
    AdapterError, DnRequest, Environment, Operation, Outcome, Reason, Rejection, RelyingParty,
    RpDescription, async_trait,
};

/// The RP under test.
pub struct OnboardingRp;

#[async_trait]
impl RelyingParty for OnboardingRp {
    fn describe(&self) -> RpDescription {
        RpDescription {
            name: "eidconf-example-rp".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec!["dn.validate".into()],
        }
    }

    async fn perform(&self, _env: &Environment, op: Operation) -> Result<Outcome, AdapterError> {
        Ok(match op {
            Operation::DnValidate(req) => validate(&req),
            _ => Outcome::Unsupported,
        })
    }
}

/// The five attributes of the provider's table, by short name, X.520 name or OID.
fn field(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "C" | "countryName" | "2.5.4.6" => "C",
        "O" | "organizationName" | "2.5.4.10" => "O",
        "OU" | "organizationalUnitName" | "2.5.4.11" => "OU",
        "CN" | "commonName" | "2.5.4.3" => "CN",
        "OI" | "organizationIdentifier" | "2.5.4.97" => "OI",
        _ => return None,
    })
}

const REQUIRED: [&str; 3] = ["C", "O", "OI"];
const FORBIDDEN: &str = "<>~!@#$%^*/\\()?.,&";
/// X.520 upper bound for O, OU and CN.
const UB_NAME: usize = 64;

/// Accept the subject, or reject it naming the attribute of the first problem.
pub fn validate(req: &DnRequest) -> Outcome {
    let country = req
        .subject
        .iter()
        .find(|a| field(&a.kind) == Some("C"))
        .map(|a| a.value.as_str());
    let mut seen: Vec<&str> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut problem: Option<(&str, String)> = None;
    for a in &req.subject {
        let Some(f) = field(&a.kind) else {
            warnings.push(format!(
                "{} is not one of the attributes the provider's DN table lists (CN, OU, O, OI, C)",
                a.kind
            ));
            continue;
        };
        if seen.contains(&f) {
            problem = Some((f, "appears more than once".into()));
            break;
        }
        seen.push(f);
        let why = value_problem(f, &a.value).or_else(|| match f {
            "C" => country_problem(&a.value),
            _ => None,
        });
        if let Some(why) = why {
            problem = Some((f, why));
            break;
        }
        if f == "OI"
            && country == Some("SE")
            && let Some(note) = se_orgnr_problem(&a.value)
        {
            warnings.push(format!("OI {note}"));
        }
    }
    if problem.is_none()
        && let Some(missing) = REQUIRED.iter().find(|f| !seen.contains(f))
    {
        problem = Some((missing, "is missing; the provider requires it".into()));
    }
    if let Some((f, why)) = problem {
        let mut r = Rejection::new(Reason::InvalidInput).detail(format!("{f} {why}"));
        r.claim = Some(f.to_owned());
        return r.into();
    }
    let subject = req
        .subject
        .iter()
        .map(|a| format!("{}={}", a.kind, a.value))
        .collect::<Vec<_>>()
        .join(", ");
    let mut identity = BTreeMap::from([("subject".to_owned(), subject.into())]);
    if !warnings.is_empty() {
        identity.insert("warnings".to_owned(), warnings.into());
    }
    Outcome::accepted(identity)
}

/// Zero-width and bidirectional formatting characters and the BOM: invisible, different bytes.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}'
        | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// The forbidden character `c` renders like, if any.
fn look_alike(c: char) -> Option<char> {
    if ('\u{ff01}'..='\u{ff5e}').contains(&c) {
        let ascii = char::from_u32(c as u32 - 0xfee0)?;
        return FORBIDDEN.contains(ascii).then_some(ascii);
    }
    const LIKES: &[(char, &str)] = &[
        ('<', "\u{fe64}\u{2039}\u{2329}\u{3008}\u{27e8}\u{2264}"),
        ('>', "\u{fe65}\u{203a}\u{232a}\u{3009}\u{27e9}\u{2265}"),
        ('~', "\u{223c}\u{02dc}\u{2053}\u{301c}"),
        ('!', "\u{fe57}\u{01c3}\u{203c}\u{2762}"),
        ('@', "\u{fe6b}"),
        ('#', "\u{fe5f}\u{266f}"),
        ('$', "\u{fe69}"),
        ('%', "\u{fe6a}\u{2030}\u{066a}"),
        ('^', "\u{02c6}\u{2038}\u{02c4}"),
        ('*', "\u{fe61}\u{2217}\u{204e}\u{2731}\u{066d}"),
        ('/', "\u{2215}\u{2044}\u{29f8}\u{ff0f}"),
        ('\\', "\u{2216}\u{29f5}\u{29f9}\u{fe68}"),
        ('(', "\u{fe59}\u{2768}\u{276a}\u{207d}\u{208d}"),
        (')', "\u{fe5a}\u{2769}\u{276b}\u{207e}\u{208e}"),
        ('?', "\u{fe56}\u{0294}\u{2e2e}"),
        ('.', "\u{2024}\u{fe52}\u{3002}\u{ff61}\u{0701}\u{00b7}"),
        (',', "\u{201a}\u{fe50}\u{3001}\u{fe51}\u{060c}\u{02cf}"),
        ('&', "\u{fe60}\u{214b}"),
    ];
    LIKES
        .iter()
        .find(|(_, likes)| likes.contains(c))
        .map(|(f, _)| *f)
}

fn value_problem(field: &str, value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("is empty; leave the attribute out or give it a value".into());
    }
    for (i, c) in value.chars().enumerate() {
        let pos = i + 1;
        let code = c as u32;
        if c.is_control() {
            return Some(format!(
                "character {pos} (U+{code:04X}) is a control character"
            ));
        }
        if invisible(c) {
            return Some(format!(
                "character {pos} (U+{code:04X}) is an invisible formatting character"
            ));
        }
        if matches!(field, "O" | "OU") && FORBIDDEN.contains(c) {
            return Some(format!("character {pos} {c:?} is forbidden in O and OU"));
        }
        if let Some(f) = look_alike(c) {
            return Some(format!(
                "character {pos} {c:?} looks like the forbidden {f:?}"
            ));
        }
        if c != ' ' && c.is_whitespace() {
            return Some(format!(
                "character {pos} (U+{code:04X}) is a non-ASCII space"
            ));
        }
    }
    if value.starts_with(' ') || value.ends_with(' ') || value.contains("  ") {
        return Some("has a leading, trailing or doubled space".into());
    }
    let len = value.chars().count();
    if matches!(field, "O" | "OU" | "CN") && len > UB_NAME {
        return Some(format!(
            "has {len} characters; X.520 allows at most {UB_NAME}"
        ));
    }
    // `SE,OU=Production,O=ACME AB`: a whole DN typed into one value.
    for part in value.split([',', '/', '+', ';']).skip(1) {
        if let Some((name, _)) = part.trim().split_once('=') {
            let name = name.trim();
            if field_or_extra(name) {
                return Some(
                    "holds what looks like further attributes; several were written into one value"
                        .into(),
                );
            }
        }
    }
    None
}

fn field_or_extra(name: &str) -> bool {
    self::field(name).is_some() || matches!(name, "L" | "ST" | "emailAddress")
}

const ISO_3166_1_ALPHA_2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF \
    BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV \
    CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI \
    GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
    KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML \
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG \
    PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR \
    SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE \
    VG VI VN VU WF WS YE YT ZA ZM ZW";

fn country_problem(value: &str) -> Option<String> {
    if !(value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase())) {
        return Some(format!(
            "{value:?} is not a two-letter upper-case ISO 3166-1 code"
        ));
    }
    if !ISO_3166_1_ALPHA_2.split_whitespace().any(|c| c == value) {
        return Some(format!(
            "{value:?} is not an assigned ISO 3166-1 alpha-2 code"
        ));
    }
    None
}

/// A Swedish organisation number as the provider writes it (NNNNNN-NNNN) and as Skatteverket
/// issues it (third digit at least 2, Luhn). The provider states neither rule: warnings only.
fn se_orgnr_problem(value: &str) -> Option<String> {
    let b = value.as_bytes();
    let digits: Vec<u32> = value.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(b.len() == 11 && b[6] == b'-' && digits.len() == 10 && value.is_ascii()) {
        return Some(format!("{value:?} is not written NNNNNN-NNNN"));
    }
    if digits[2] < 2 {
        return Some(format!("{value:?}: the third digit is below 2"));
    }
    let total: u32 = digits[..9]
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                if d > 4 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    if (10 - total % 10) % 10 != digits[9] {
        return Some(format!("{value:?}: the Luhn check digit does not match"));
    }
    None
}
