//! `dn.validate`: the reference RP's onboarding check of a certificate request subject, with the
//! provider's rules ([`crate::pki::dn`]) weakened by the DN faults.

use std::collections::{BTreeMap, BTreeSet};

use crate::adapter::{DnRequest, Outcome, Reason, Rejection};
use crate::pki::dn::{self, Field, Policy, Rule};

use super::Fault;

/// `&` is the character onboarding tools forget: it is legal in company names elsewhere.
const FORBIDDEN_WITHOUT_AMPERSAND: &str = "<>~!@#$%^*/\\()?.,";

pub fn validate(faults: &BTreeSet<Fault>, req: &DnRequest) -> Outcome {
    let mut policy = Policy::FREJA;
    if faults.contains(&Fault::DnAllowsAmpersand) {
        policy.forbidden = FORBIDDEN_WITHOUT_AMPERSAND;
    }
    if faults.contains(&Fault::DnChecksOOnly) {
        policy.forbidden_in = &[Field::O];
    }
    policy.three_letter_country = faults.contains(&Fault::DnThreeLetterCountry);
    let mut findings = dn::validate(
        req.subject
            .iter()
            .map(|a| (a.kind.as_str(), a.value.as_str())),
        &policy,
    );
    // Both faults are blind spots of real tools, so they drop whole classes of findings.
    findings.retain(|f| {
        let invisible = matches!(
            f.rule,
            Rule::Whitespace | Rule::ControlCharacter | Rule::InvisibleCharacter | Rule::LookAlike
        );
        let structural = matches!(f.rule, Rule::Missing | Rule::Repeated | Rule::Unlisted);
        !(invisible && faults.contains(&Fault::DnIgnoresInvisibles)
            || structural && faults.contains(&Fault::DnChecksValuesOnly))
    });
    // What the provider does not state is a warning; the fault makes it a refusal.
    let (warnings, errors): (Vec<_>, Vec<_>) = findings
        .into_iter()
        .partition(|f| f.rule.is_warning() && !faults.contains(&Fault::DnRefusesUnstatedRules));
    let Some(first) = errors.first() else {
        let subject = req
            .subject
            .iter()
            .map(|a| format!("{}={}", a.kind, a.value))
            .collect::<Vec<_>>()
            .join(", ");
        let mut identity = BTreeMap::from([("subject".to_owned(), subject.into())]);
        if !warnings.is_empty() {
            let w: Vec<serde_json::Value> =
                warnings.into_iter().map(|f| f.message.into()).collect();
            identity.insert("warnings".to_owned(), w.into());
        }
        return Outcome::accepted(identity);
    };
    let detail: Vec<&str> = errors.iter().map(|f| f.message.as_str()).collect();
    let mut r = Rejection::new(Reason::InvalidInput).detail(detail.join("; "));
    r.claim = Some(first.field.clone());
    r.into()
}
