//! The subject DN rules for a Freja eID client certificate request.
//!
//! Authority: the "Distinguished name" table of the Freja eID Relying Party Developers'
//! Documentation — CN optional, OU optional, O the legal name, OI the organisation number, C the
//! two-letter ISO code; the characters `< > ~ ! @ # $ % ^ * / \ ( ) ? . , &` cannot be used in O or
//! OU. The table marks only CN and OU optional, so O, OI and C are required, and it lists exactly
//! these five attributes, so any other attribute is reported. Length limits are X.520's upper
//! bounds (ub-organization-name, ub-organizational-unit-name, ub-common-name: 64 characters).
//!
//! Beyond the table, eidconf reports what a registration clerk or a later parser trips on:
//! control and invisible characters, leading, trailing or doubled spaces, Unicode look-alikes of
//! the forbidden characters, empty values and repeated attributes. Every finding names the field
//! and, where there is one, the 1-based character position.

use serde::Serialize;

use super::orgnr::{self, OrgNrKind};

/// The characters the provider forbids in O and OU.
pub const FORBIDDEN: &str = "<>~!@#$%^*/\\()?.,&";

/// X.520 upper bound for O, OU and CN, in characters.
pub const UB_NAME: usize = 64;

/// One attribute of the five the provider's table lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Field {
    C,
    O,
    OU,
    CN,
    OI,
}

impl Field {
    pub const ALL: &'static [Field] = &[Field::C, Field::O, Field::OU, Field::CN, Field::OI];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::C => "C",
            Field::O => "O",
            Field::OU => "OU",
            Field::CN => "CN",
            Field::OI => "OI",
        }
    }

    /// The X.520 attribute type.
    pub fn oid(self) -> &'static str {
        match self {
            Field::C => "2.5.4.6",
            Field::O => "2.5.4.10",
            Field::OU => "2.5.4.11",
            Field::CN => "2.5.4.3",
            Field::OI => "2.5.4.97",
        }
    }

    /// The short name, the X.520 long name or the dotted OID.
    pub fn from_name(s: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| {
            s == f.as_str()
                || s == f.oid()
                || s == match f {
                    Field::C => "countryName",
                    Field::O => "organizationName",
                    Field::OU => "organizationalUnitName",
                    Field::CN => "commonName",
                    Field::OI => "organizationIdentifier",
                }
        })
    }

    fn required(self) -> bool {
        matches!(self, Field::C | Field::O | Field::OI)
    }

    fn explanation(self) -> &'static str {
        match self {
            Field::C => "the two-letter ISO code of the country the organisation operates in",
            Field::O => "the legal name of the organisation",
            Field::OI => "the organisation number (OID 2.5.4.97), e.g. 556677-8888",
            Field::OU => "an optional internal qualifier",
            Field::CN => "an optional function qualifier",
        }
    }
}

/// Which rule a finding breaks. The kebab-case names are stable (JSON output, tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    Missing,
    Repeated,
    Unlisted,
    Empty,
    ForbiddenCharacter,
    LookAlike,
    ControlCharacter,
    InvisibleCharacter,
    Whitespace,
    TooLong,
    CountryFormat,
    CountryUnknown,
    OrgNumberFormat,
    OrgNumberChecksum,
    OrgNumberThirdDigit,
    /// Several attributes written into one value (`SE,,OU=Production,O=…`).
    RunTogether,
}

impl Rule {
    /// A rule the provider does not state: its DN table is "an example list of required fields"
    /// and its own example OI 556677-8888 fails the Luhn check, so an unlisted attribute (L, ST,
    /// …) and the organisation number's spelling, check digit and third digit are reported as
    /// warnings, never refusals.
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            Rule::Unlisted
                | Rule::OrgNumberFormat
                | Rule::OrgNumberChecksum
                | Rule::OrgNumberThirdDigit
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Missing => "missing",
            Rule::Repeated => "repeated",
            Rule::Unlisted => "unlisted",
            Rule::Empty => "empty",
            Rule::ForbiddenCharacter => "forbidden-character",
            Rule::LookAlike => "look-alike",
            Rule::ControlCharacter => "control-character",
            Rule::InvisibleCharacter => "invisible-character",
            Rule::Whitespace => "whitespace",
            Rule::TooLong => "too-long",
            Rule::CountryFormat => "country-format",
            Rule::CountryUnknown => "country-unknown",
            Rule::OrgNumberFormat => "org-number-format",
            Rule::OrgNumberChecksum => "org-number-checksum",
            Rule::OrgNumberThirdDigit => "org-number-third-digit",
            Rule::RunTogether => "run-together",
        }
    }
}

/// One problem with a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `C`, `O`, `OU`, `CN`, `OI`, or the attribute type as written for unlisted ones.
    pub field: String,
    pub rule: Rule,
    /// Index of the attribute in the subject (0-based), absent for a missing field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<usize>,
    /// 1-based character position in the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub character: Option<char>,
    pub message: String,
}

/// How strictly to check. [`Policy::FREJA`] is the provider's rule set; the reference RP's faults
/// weaken it the way real onboarding tools get it wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Characters refused in the fields of `forbidden_in`.
    pub forbidden: &'static str,
    pub forbidden_in: &'static [Field],
    /// Take any three upper-case letters as a country code too.
    pub three_letter_country: bool,
    /// Verify the organisation number's check digit.
    pub luhn: bool,
}

impl Policy {
    pub const FREJA: Policy = Policy {
        forbidden: FORBIDDEN,
        forbidden_in: &[Field::O, Field::OU],
        three_letter_country: false,
        luhn: true,
    };
}

impl Default for Policy {
    fn default() -> Self {
        Policy::FREJA
    }
}

/// Check a subject given as (attribute type, value) pairs in order. Empty: the subject is clean.
/// Findings come in subject order, then the missing fields.
pub fn validate<'a>(
    subject: impl IntoIterator<Item = (&'a str, &'a str)>,
    policy: &Policy,
) -> Vec<Finding> {
    let subject: Vec<(&str, &str)> = subject.into_iter().collect();
    let mut out = Vec::new();
    let mut seen: Vec<Field> = Vec::new();
    let country = subject
        .iter()
        .find(|(t, _)| Field::from_name(t) == Some(Field::C))
        .map(|(_, v)| *v);
    for (i, (kind, value)) in subject.iter().enumerate() {
        let Some(field) = Field::from_name(kind) else {
            out.push(Finding {
                field: (*kind).to_owned(),
                rule: Rule::Unlisted,
                attribute: Some(i),
                position: None,
                character: None,
                message: format!(
                    "`{kind}` is not one of the attributes the provider's DN table lists (CN, OU, O, OI, C)"
                ),
            });
            continue;
        };
        let mut f = Check {
            out: &mut out,
            field,
            attribute: i,
            value,
        };
        if seen.contains(&field) {
            f.push(
                Rule::Repeated,
                None,
                format!("{field} appears more than once; the subject holds one {field}"),
            );
        }
        seen.push(field);
        f.value_rules(policy);
        match field {
            Field::C => f.country(policy),
            Field::OI if !value.is_empty() => {
                // Without a usable country the number cannot be checked; C reports itself.
                if let Some(c) = country
                    && let Err(p) = orgnr::check(c, value, policy.luhn)
                {
                    let rule = match p.kind {
                        OrgNrKind::Format => Rule::OrgNumberFormat,
                        OrgNrKind::Checksum => Rule::OrgNumberChecksum,
                        OrgNrKind::ThirdDigit => Rule::OrgNumberThirdDigit,
                    };
                    f.push(rule, p.position, format!("OI {}", p.message));
                }
            }
            _ => {}
        }
    }
    for field in Field::ALL {
        if field.required() && !seen.contains(field) {
            out.push(Finding {
                field: field.as_str().to_owned(),
                rule: Rule::Missing,
                attribute: None,
                position: None,
                character: None,
                message: format!(
                    "{field} is missing; the provider requires it: {}",
                    field.explanation()
                ),
            });
        }
    }
    out
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

struct Check<'o, 'v> {
    out: &'o mut Vec<Finding>,
    field: Field,
    attribute: usize,
    value: &'v str,
}

impl Check<'_, '_> {
    fn push(&mut self, rule: Rule, position: Option<usize>, message: String) {
        let character = position.and_then(|p| self.value.chars().nth(p - 1));
        self.out.push(Finding {
            field: self.field.as_str().to_owned(),
            rule,
            attribute: Some(self.attribute),
            position,
            character,
            message,
        });
    }

    fn at(&mut self, rule: Rule, pos: usize, c: char, what: String) {
        let field = self.field;
        self.push(
            rule,
            Some(pos),
            format!(
                "{field}: character {pos} `{}` (U+{:04X}) {what}",
                c.escape_default(),
                c as u32
            ),
        );
    }

    /// Rules for every value: emptiness, characters, whitespace, length.
    fn value_rules(&mut self, policy: &Policy) {
        let field = self.field;
        let value = self.value;
        if value.is_empty() {
            self.push(
                Rule::Empty,
                None,
                format!("{field} is empty; leave the attribute out or give it a value"),
            );
            return;
        }
        let forbidden_here = policy.forbidden_in.contains(&field);
        let chars: Vec<char> = value.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let pos = i + 1;
            if c.is_control() {
                self.at(
                    Rule::ControlCharacter,
                    pos,
                    c,
                    "is a control character".into(),
                );
            } else if is_invisible(c) {
                self.at(
                    Rule::InvisibleCharacter,
                    pos,
                    c,
                    "is an invisible formatting character".into(),
                );
            } else if forbidden_here && policy.forbidden.contains(c) {
                self.at(
                    Rule::ForbiddenCharacter,
                    pos,
                    c,
                    format!("cannot be used in {field}; the provider forbids {FORBIDDEN_LIST} in O and OU"),
                );
            } else if let Some(like) = look_alike(c) {
                self.at(
                    Rule::LookAlike,
                    pos,
                    c,
                    format!(
                        "looks like the forbidden `{like}`; write the value without it, not with a look-alike"
                    ),
                );
            } else if c != ' ' && c.is_whitespace() {
                self.at(
                    Rule::Whitespace,
                    pos,
                    c,
                    "is a non-ASCII space; use a plain space (U+0020)".into(),
                );
            }
        }
        if chars.first() == Some(&' ') {
            self.push(
                Rule::Whitespace,
                Some(1),
                format!("{field} starts with a space"),
            );
        }
        if chars.len() > 1 && chars.last() == Some(&' ') {
            self.push(
                Rule::Whitespace,
                Some(chars.len()),
                format!("{field} ends with a space"),
            );
        }
        if let Some(i) = chars.windows(2).position(|w| w == [' ', ' ']) {
            self.push(
                Rule::Whitespace,
                Some(i + 2),
                format!("{field} has two spaces in a row at character {}", i + 1),
            );
        }
        let limit = match field {
            Field::O | Field::OU | Field::CN => Some(UB_NAME),
            Field::C | Field::OI => None,
        };
        if let Some(limit) = limit
            && chars.len() > limit
        {
            self.push(
                Rule::TooLong,
                Some(limit + 1),
                format!(
                    "{field} has {} characters; X.520 allows at most {limit}",
                    chars.len()
                ),
            );
        }
        if let Some(hint) = run_together(value) {
            self.push(Rule::RunTogether, None, format!("{field} {hint}"));
        }
    }

    fn country(&mut self, policy: &Policy) {
        let v = self.value;
        if v.is_empty() {
            return;
        }
        let n = v.chars().count();
        let letters = v.chars().all(|c| c.is_ascii_alphabetic());
        if policy.three_letter_country && n == 3 && v.chars().all(|c| c.is_ascii_uppercase()) {
            return;
        }
        if n != 2 || !letters {
            let msg = if n == 3 && letters {
                format!(
                    "C `{v}` has three letters; C is the two-letter ISO 3166-1 alpha-2 code (`SWE` is `SE`)"
                )
            } else {
                format!(
                    "C `{v}` is not two letters; C is the two-letter ISO 3166-1 alpha-2 code, e.g. SE"
                )
            };
            self.push(Rule::CountryFormat, None, msg);
            return;
        }
        if v.chars().any(|c| c.is_ascii_lowercase()) {
            self.push(
                Rule::CountryFormat,
                None,
                format!(
                    "C `{v}` is lower case; ISO 3166-1 codes are upper case: `{}`",
                    v.to_ascii_uppercase()
                ),
            );
            return;
        }
        if !is_iso_country(v) {
            let hint = match v {
                "UK" => " (UK is only reserved; the United Kingdom is GB)",
                "EL" => " (EL is the EU's abbreviation; Greece is GR)",
                "EU" => " (EU is only reserved, not a country)",
                _ => "",
            };
            self.push(
                Rule::CountryUnknown,
                None,
                format!("C `{v}` is not an ISO 3166-1 alpha-2 country code{hint}"),
            );
        }
    }
}

const FORBIDDEN_LIST: &str = "< > ~ ! @ # $ % ^ * / \\ ( ) ? . , &";

/// Zero-width and bidirectional formatting characters, and the BOM: invisible in a UI, different
/// bytes on the wire.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// The forbidden character that `c` imitates, if any: fullwidth and small forms, and the
/// mathematical and typographic characters that render like them.
pub fn look_alike(c: char) -> Option<char> {
    // Fullwidth forms U+FF01..U+FF5E map onto ASCII by a fixed offset.
    if ('\u{FF01}'..='\u{FF5E}').contains(&c) {
        let ascii = char::from_u32(c as u32 - 0xFEE0)?;
        return FORBIDDEN.contains(ascii).then_some(ascii);
    }
    Some(match c {
        '\u{FE64}' | '\u{2039}' | '\u{2329}' | '\u{3008}' | '\u{27E8}' | '\u{2264}' => '<',
        '\u{FE65}' | '\u{203A}' | '\u{232A}' | '\u{3009}' | '\u{27E9}' | '\u{2265}' => '>',
        '\u{223C}' | '\u{02DC}' | '\u{2053}' | '\u{301C}' => '~',
        '\u{FE57}' | '\u{01C3}' | '\u{203C}' | '\u{2762}' => '!',
        '\u{FE6B}' => '@',
        '\u{FE5F}' | '\u{266F}' => '#',
        '\u{FE69}' => '$',
        '\u{FE6A}' | '\u{2030}' | '\u{066A}' => '%',
        '\u{02C6}' | '\u{2038}' | '\u{02C4}' => '^',
        '\u{FE61}' | '\u{2217}' | '\u{204E}' | '\u{2731}' | '\u{066D}' => '*',
        '\u{2215}' | '\u{2044}' | '\u{29F8}' | '\u{FF0F}' => '/',
        '\u{2216}' | '\u{29F5}' | '\u{29F9}' | '\u{FE68}' => '\\',
        '\u{FE59}' | '\u{2768}' | '\u{276A}' | '\u{207D}' | '\u{208D}' => '(',
        '\u{FE5A}' | '\u{2769}' | '\u{276B}' | '\u{207E}' | '\u{208E}' => ')',
        '\u{FE56}' | '\u{0294}' | '\u{2E2E}' => '?',
        '\u{2024}' | '\u{FE52}' | '\u{3002}' | '\u{FF61}' | '\u{0701}' | '\u{00B7}' => '.',
        '\u{201A}' | '\u{FE50}' | '\u{3001}' | '\u{FE51}' | '\u{060C}' | '\u{02CF}' => ',',
        '\u{FE60}' | '\u{214B}' => '&',
        _ => return None,
    })
}

/// `SE,,OU=Production,O=ACME AB,…`: a whole DN typed into one value, as the provider's own
/// `openssl req -subj` example does (openssl separates attributes with `/`, not `,`).
fn run_together(value: &str) -> Option<String> {
    let names: Vec<&str> = value
        .split([',', '/', '+', ';'])
        .skip(1)
        .filter_map(|part| part.trim().split_once('=').map(|(n, _)| n.trim()))
        .filter(|n| Field::from_name(n).is_some() || matches!(*n, "L" | "ST" | "emailAddress"))
        .collect();
    if names.is_empty() {
        return None;
    }
    Some(format!(
        "holds what looks like further attributes ({}): several attributes were written into one \
         value. `openssl req -subj` separates attributes with `/`: write \
         -subj \"/C=SE/O=…/OU=…/CN=…\", not \"/C=SE,,OU=…,O=…\"",
        names.join(", ")
    ))
}

/// ISO 3166-1 alpha-2, the officially assigned codes.
pub fn is_iso_country(code: &str) -> bool {
    ISO_3166_1_ALPHA_2.split(' ').any(|c| c == code)
}

const ISO_3166_1_ALPHA_2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA \
RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(subject: &[(&str, &str)]) -> Vec<(String, Rule, Option<usize>)> {
        validate(subject.iter().copied(), &Policy::FREJA)
            .into_iter()
            .map(|f| (f.field, f.rule, f.position))
            .collect()
    }

    const BASE: [(&str, &str); 3] = [("C", "SE"), ("O", "ACME AB"), ("OI", "556091-2148")];

    #[test]
    fn the_country_list_is_the_assigned_set() {
        assert_eq!(ISO_3166_1_ALPHA_2.split(' ').count(), 249);
        assert!(is_iso_country("SE") && is_iso_country("GB") && !is_iso_country("UK"));
    }

    #[test]
    fn a_clean_subject_and_the_positions_of_problems() {
        assert!(rules(&BASE).is_empty());
        let mut s = BASE.to_vec();
        s[1] = ("O", "ACME, AB.");
        assert_eq!(
            rules(&s),
            [
                ("O".into(), Rule::ForbiddenCharacter, Some(5)),
                ("O".into(), Rule::ForbiddenCharacter, Some(9))
            ]
        );
        s[1] = ("O", "ACME\u{FF06}AB");
        assert_eq!(rules(&s), [("O".into(), Rule::LookAlike, Some(5))]);
        s[1] = ("O", " ACME  AB");
        assert_eq!(
            rules(&s),
            [
                ("O".into(), Rule::Whitespace, Some(1)),
                ("O".into(), Rule::Whitespace, Some(7))
            ]
        );
    }

    #[test]
    fn the_seed_subject_string_is_explained() {
        let s = [(
            "C",
            "SE,,OU=Production,O=ACME AB,CN=Document signing service",
        )];
        let f = validate(s, &Policy::FREJA);
        let rules: Vec<Rule> = f.iter().map(|f| f.rule).collect();
        assert_eq!(
            rules,
            [
                Rule::RunTogether,
                Rule::CountryFormat,
                Rule::Missing,
                Rule::Missing
            ],
            "{f:#?}"
        );
        assert!(f[0].message.contains("(OU, O, CN)"), "{}", f[0].message);
    }
}
