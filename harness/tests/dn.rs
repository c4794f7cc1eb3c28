//! Subject DN rules and the `dn.validate` operation of the reference RP: one test per DN fault
//! (named `fault_<name>`, checked by freja_wire.rs), and properties over arbitrary values.

use eidconf::adapter::{DnAttribute, DnRequest, Environment, Operation, Outcome, Reason};
use eidconf::pki::dn::{self, Policy, Rule};
use eidconf::reference::{Fault, ReferenceRp};
use proptest::prelude::*;

fn subject(attrs: &[(&str, &str)]) -> Operation {
    Operation::DnValidate({
        let mut x = DnRequest::default();
        x.subject = attrs
            .iter()
            .map(|(k, v)| DnAttribute {
                kind: (*k).into(),
                value: (*v).into(),
            })
            .collect();
        x
    })
}

async fn verdict(faults: &[Fault], attrs: &[(&str, &str)]) -> Result<(), (Reason, String)> {
    let env = Environment::new("dn.test");
    match ReferenceRp::new(faults).perform(&env, subject(attrs)).await {
        Outcome::Accepted { .. } => Ok(()),
        Outcome::Rejected(r) => Err((r.reason, r.claim.unwrap_or_default())),
        Outcome::Unsupported => panic!("the reference RP implements dn.validate"),
    }
}

/// The RP docs' list (Distinguished name), written out here so that a shortened `dn::FORBIDDEN`
/// fails these tests.
const SEED_FORBIDDEN: &str = "< > ~ ! @ # $ % ^ * / \\ ( ) ? . , &";
const UB_NAME: usize = 64;

fn seed_forbidden() -> Vec<char> {
    SEED_FORBIDDEN
        .split(' ')
        .filter_map(|s| s.chars().next())
        .collect()
}

const BASE: [(&str, &str); 3] = [("C", "SE"), ("O", "ACME AB"), ("OI", "556091-2148")];

#[tokio::test]
async fn dn_validate_needs_no_provider_and_names_the_first_field() {
    assert_eq!(verdict(&[], &BASE).await, Ok(()));
    let attrs = [("C", "se"), ("O", "A.B"), ("OI", "1")];
    assert_eq!(
        verdict(&[], &attrs).await,
        Err((Reason::InvalidInput, "C".into()))
    );
}

#[test]
fn every_forbidden_character_is_reported_with_its_position_in_o_and_ou() {
    assert_eq!(seed_forbidden().len(), 18);
    for c in seed_forbidden() {
        for field in ["O", "OU"] {
            let value = format!("AB{c}CD");
            let mut s = BASE.to_vec();
            s.push(("OU", "Production"));
            let i = if field == "O" { 1 } else { 3 };
            s[i] = (field, &value);
            let f = dn::validate(s.iter().copied(), &Policy::FREJA);
            assert_eq!(f.len(), 1, "{c} in {field}: {f:#?}");
            assert_eq!(
                (
                    f[0].field.as_str(),
                    f[0].rule,
                    f[0].position,
                    f[0].character
                ),
                (field, Rule::ForbiddenCharacter, Some(3), Some(c))
            );
        }
    }
}

/// The alphabet a legal name may use: letters of several scripts, digits, allowed punctuation.
fn allowed_char() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::char::range('a', 'z'),
        proptest::char::range('A', 'Z'),
        proptest::char::range('0', '9'),
        proptest::sample::select(vec![
            'å', 'ä', 'ö', 'Å', 'Ä', 'Ö', 'é', 'ü', 'ß', 'ø', 'æ', 'Ł', 'Ж', '-', '\'', '+', '_',
            ':', ';', '=', '"', '[', ']', '{', '}', '|', '`',
        ]),
    ]
}

/// Words of allowed characters joined by single spaces, within the X.520 bound.
fn allowed_value() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::collection::vec(allowed_char(), 1..12), 1..6)
        .prop_map(|words| {
            words
                .iter()
                .map(|w| w.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .prop_filter("within the bound", |v| v.chars().count() <= UB_NAME)
        .prop_filter("one attribute, not several run together", |v| {
            !runs_together(v)
        })
}

/// `…+L=…`, `…;CN=…`: what the run-together rule rightly refuses. '+', ';' and '=' are allowed
/// on their own, so the generator can write this by chance.
fn runs_together(v: &str) -> bool {
    const NAMES: &[&str] = &[
        "C",
        "O",
        "OU",
        "CN",
        "OI",
        "L",
        "ST",
        "emailAddress",
        "countryName",
        "organizationName",
        "organizationalUnitName",
        "commonName",
        "organizationIdentifier",
    ];
    v.split([',', '/', '+', ';']).skip(1).any(|part| {
        part.split_once('=')
            .is_some_and(|(name, _)| NAMES.contains(&name.trim()))
    })
}

proptest! {
    #[test]
    fn any_value_over_the_allowed_alphabet_is_accepted(
        o in allowed_value(), ou in allowed_value(), cn in allowed_value()
    ) {
        let s = [("C", "SE"), ("O", o.as_str()), ("OI", "556091-2148"), ("OU", ou.as_str()), ("CN", cn.as_str())];
        let f = dn::validate(s, &Policy::FREJA);
        prop_assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn any_value_holding_a_forbidden_character_is_rejected(
        value in ".{0,80}",
        c in proptest::sample::select(seed_forbidden()),
        at in any::<prop::sample::Index>(),
        in_ou in any::<bool>(),
    ) {
        let chars: Vec<char> = value.chars().collect();
        let i = at.index(chars.len() + 1);
        let mut v: String = chars[..i].iter().collect();
        v.push(c);
        v.extend(&chars[i..]);
        let field = if in_ou { "OU" } else { "O" };
        let mut s = vec![("C", "SE"), ("O", "ACME AB"), ("OI", "556091-2148")];
        if in_ou { s.push(("OU", v.as_str())) } else { s[1] = ("O", v.as_str()) }
        let f = dn::validate(s, &Policy::FREJA);
        prop_assert!(
            f.iter().any(|f| f.field == field && f.rule == Rule::ForbiddenCharacter
                && f.position == Some(i + 1) && f.character == Some(c)),
            "{f:#?}"
        );
    }

    #[test]
    fn arbitrary_subjects_never_panic(
        attrs in proptest::collection::vec((".{0,4}", ".{0,70}"), 0..8)
    ) {
        let _ = dn::validate(attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())), &Policy::FREJA);
    }
}
