//! Judging: the vector's expectation against what the RP reported and what the mock saw.

use eidconf_report::{Failure, FailureKind, Verdict as Result_};

use super::execute::{AdapterFailure, Execution};
use crate::adapter::{AdapterError, Operation, Outcome};
use crate::provider::checks::Check;
use crate::provider::ftn::LoginEvidence;
use crate::vector::model::SentExpect;
use crate::vector::{Expect, Verdict};

/// The result of one vector before known failures are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub result: Result_,
    pub failure: Option<Failure>,
    pub note: Option<String>,
}

impl Judgement {
    fn pass() -> Self {
        Judgement {
            result: Result_::Pass,
            failure: None,
            note: None,
        }
    }
}

pub fn judge(expect: &Expect, op: &Operation, exec: &Execution, loose_reasons: bool) -> Judgement {
    let outcome = match &exec.outcome {
        Ok(o) => o,
        Err(f) => {
            let (kind, message) = match f {
                AdapterFailure::Panic(m) => {
                    (FailureKind::AdapterPanic, format!("the RP panicked: {m}"))
                }
                AdapterFailure::Harness(m) => (FailureKind::Harness, m.clone()),
                AdapterFailure::Adapter(AdapterError::Timeout(t)) => (
                    FailureKind::AdapterTimeout,
                    format!("the RP gave no outcome within {}s", t.as_secs_f64()),
                ),
                AdapterFailure::Adapter(AdapterError::Crashed(m)) => (
                    FailureKind::AdapterPanic,
                    format!("the RP driver crashed: {m}"),
                ),
                AdapterFailure::Adapter(e) => (FailureKind::AdapterError, e.to_string()),
            };
            return Judgement {
                result: Result_::Error,
                failure: Some(Failure { kind, message }),
                note: None,
            };
        }
    };
    if let Outcome::Unsupported = outcome {
        return Judgement {
            result: Result_::Skip,
            failure: None,
            note: Some("the RP does not support this operation".into()),
        };
    }
    let mut problems: Vec<(FailureKind, String)> = Vec::new();
    let mut loosened = Vec::new();
    // `either` is judged as whichever the RP chose.
    let wanted = match (expect.verdict, outcome) {
        (Verdict::Either, Outcome::Accepted { .. }) => Verdict::Accepted,
        (Verdict::Either, _) => Verdict::Rejected,
        (v, _) => v,
    };
    match (wanted, outcome) {
        (Verdict::Rejected, Outcome::Accepted { identity, .. }) => problems.push((
            FailureKind::WrongVerdict,
            format!(
                "expected a rejection ({}), but the RP accepted with identity {}",
                reasons(expect),
                serde_json::to_string(identity).unwrap_or_default()
            ),
        )),
        (Verdict::Accepted, Outcome::Rejected(r)) => problems.push((
            FailureKind::WrongVerdict,
            format!(
                "expected acceptance, but the RP rejected: {}",
                serde_json::to_string(r).unwrap_or_default()
            ),
        )),
        (Verdict::Accepted, Outcome::Accepted { identity, .. }) => {
            for (k, want) in expect.identity.iter().flatten() {
                match identity.get(k) {
                    Some(got) if same_json(got, want) => {}
                    Some(got) => problems.push((
                        FailureKind::Identity,
                        format!("identity `{k}` is {got}, expected {want}"),
                    )),
                    None => problems.push((
                        FailureKind::Identity,
                        format!("identity has no `{k}`, expected {want}"),
                    )),
                }
            }
        }
        (Verdict::Rejected, Outcome::Rejected(r)) => {
            if !expect.reason.is_empty() && !expect.reason.contains(&r.reason) {
                let m = format!("rejected for `{}`, expected {}", r.reason, reasons(expect));
                if loose_reasons {
                    loosened.push(m)
                } else {
                    problems.push((FailureKind::WrongReason, m))
                }
            }
            let mut details = Vec::new();
            if let Some(code) = expect.code
                && r.code != Some(code)
            {
                details.push(format!("reported code {}, expected {code}", opt(r.code)));
            }
            if let Some(claim) = &expect.claim
                && r.claim.as_deref() != Some(claim.as_str())
            {
                details.push(format!(
                    "named claim {}, expected {claim}",
                    opt(r.claim.as_ref())
                ));
            }
            if let Some(status) = &expect.status
                && r.status.as_deref() != Some(status.as_str())
            {
                details.push(format!(
                    "reported status {}, expected {status}",
                    opt(r.status.as_ref())
                ));
            }
            // Loose reasons map the RP's errors onto eidconf's classes approximately: the
            // detail a class carries is then a note too.
            if loose_reasons {
                loosened.extend(details);
            } else {
                problems.extend(details.into_iter().map(|m| (FailureKind::WrongDetail, m)));
            }
        }
        (Verdict::Either, _) | (_, Outcome::Unsupported) => unreachable!("resolved above"),
    }
    if let Some(obs) = &exec.observations {
        if let (Verdict::Accepted, Outcome::Accepted { identity, .. }) = (wanted, outcome)
            && let Some(signed) = obs.signed_payloads.last()
        {
            round_trip(identity, signed, &mut problems);
        }
        for (ep, count) in &expect.requests {
            let n = obs.count(*ep);
            if !count.admits(n) {
                problems.push((
                    FailureKind::Wire,
                    format!(
                        "the RP sent {n} request(s) to {}, expected {count}",
                        ep.path()
                    ),
                ));
            }
        }
        if let (Verdict::Accepted, Outcome::Accepted { identity, .. }) = (wanted, outcome)
            && let Some(login) = obs.broker.as_ref().and_then(|b| b.logins.last())
        {
            match &login.id_token_claims {
                Some(signed) => broker_round_trip(
                    identity,
                    signed,
                    login.userinfo_claims.as_ref(),
                    &mut problems,
                ),
                // A finished login stands on a redeemed code; a begun one has none yet.
                None if matches!(op, Operation::OidcFinishLogin(_)) => problems.push((
                    FailureKind::Identity,
                    "the RP accepted the login without redeeming its code: no ID token vouches for it"
                        .into(),
                )),
                None => {}
            }
        }
        for pattern in &expect.checks {
            checks(pattern, &obs.checks, &mut problems);
        }
        if let Some(sent) = &expect.sent {
            let logins = obs.broker.as_ref().map_or(&[][..], |b| &b.logins[..]);
            sent_members(sent, logins, &mut problems);
        }
        if expect.no_canary_fetch && !obs.canary_requests.is_empty() {
            problems.push((
                FailureKind::Wire,
                format!(
                    "the RP sent {} request(s) to the canary on another host",
                    obs.canary_requests.len()
                ),
            ));
        }
    }
    let note = (!loosened.is_empty()).then(|| format!("--loose-reasons: {}", loosened.join("; ")));
    if problems.is_empty() {
        return Judgement {
            note,
            ..Judgement::pass()
        };
    }
    problems.sort_by_key(|(k, _)| severity_rank(*k));
    let kind = problems[0].0;
    let message = problems
        .into_iter()
        .map(|(_, m)| m)
        .collect::<Vec<_>>()
        .join("; ");
    Judgement {
        result: Result_::Fail,
        failure: Some(Failure { kind, message }),
        note,
    }
}

/// The identity an RP returns must be the signed claims exactly (non-ASCII names included):
/// nothing from the unsigned result, nothing normalised.
fn round_trip(
    identity: &std::collections::BTreeMap<String, serde_json::Value>,
    signed: &serde_json::Value,
    problems: &mut Vec<(FailureKind, String)>,
) {
    let empty = serde_json::json!({});
    for k in ["userInfoType", "userInfo", "requestedAttributes"] {
        let want = match (k, signed.get(k)) {
            (_, Some(v)) => v,
            ("requestedAttributes", None) => &empty,
            _ => continue,
        };
        if !identity.get(k).is_some_and(|got| same_json(got, want)) {
            problems.push((
                FailureKind::Identity,
                format!(
                    "identity `{k}` is {}, but the signed details say {want}",
                    identity
                        .get(k)
                        .map_or_else(|| "absent".to_owned(), |v| v.to_string())
                ),
            ));
        }
    }
}

/// An FTN identity holds only what the broker vouched for: every member equals the signed ID
/// token claim of that name, or else the userinfo claim; `sub` is the ID token's.
fn broker_round_trip(
    identity: &std::collections::BTreeMap<String, serde_json::Value>,
    signed: &serde_json::Map<String, serde_json::Value>,
    userinfo: Option<&serde_json::Map<String, serde_json::Value>>,
    problems: &mut Vec<(FailureKind, String)>,
) {
    if !matches!((identity.get("sub"), signed.get("sub")), (Some(a), Some(b)) if same_json(a, b)) {
        problems.push((
            FailureKind::Identity,
            format!(
                "identity `sub` is {}, but the ID token says {}",
                shown(identity.get("sub")),
                shown(signed.get("sub"))
            ),
        ));
    }
    for (k, v) in identity {
        let vouched = signed.get(k).or_else(|| userinfo.and_then(|u| u.get(k)));
        if !vouched.is_some_and(|vouched| same_json(vouched, v)) {
            problems.push((
                FailureKind::Identity,
                format!(
                    "identity `{k}` is {v}, but the broker sent {}",
                    shown(vouched)
                ),
            ));
        }
    }
}

/// JSON equality, numbers compared by value: `1e9`, `1000000000` and `1000000000.0` are one
/// NumericDate (RFC 7519 §2), however the RP's parser spells it back.
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::{Array, Number, Object};
    match (a, b) {
        (Number(x), Number(y)) => match (x.as_i128(), y.as_i128()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64().is_some_and(|x| y.as_f64() == Some(x)),
        },
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y)),
        (Object(x), Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn shown(v: Option<&serde_json::Value>) -> String {
    v.map_or_else(|| "nothing".to_owned(), |v| v.to_string())
}

/// Every check the pattern names must have been made, and passed, on every login it was made on.
fn checks(pattern: &str, made: &[Check], problems: &mut Vec<(FailureKind, String)>) {
    let hits: Vec<&Check> = made
        .iter()
        .filter(|c| crate::provider::checks::matches(pattern, &c.id))
        .collect();
    if hits.is_empty() {
        problems.push((
            FailureKind::Wire,
            format!("check `{pattern}` was never made: the RP did not send (or publish) what it examines"),
        ));
    }
    for c in hits.into_iter().filter(|c| !c.passed) {
        let at = c.login.map(|n| format!(" (login {n})")).unwrap_or_default();
        problems.push((
            FailureKind::Wire,
            format!("check `{}`{at} failed: {}", c.id, c.detail),
        ));
    }
}

/// `expect.sent`: each listed member has exactly this value (`null`: absent) in every login that
/// sent the message, and at least one login sent it.
fn sent_members(
    sent: &SentExpect,
    logins: &[LoginEvidence],
    problems: &mut Vec<(FailureKind, String)>,
) {
    type Part = fn(&LoginEvidence) -> Option<serde_json::Map<String, serde_json::Value>>;
    let parts: [(&str, &serde_json::Map<String, serde_json::Value>, Part); 4] = [
        (
            "authorization_parameters",
            &sent.authorization_parameters,
            |l| {
                l.authorization_url.as_ref().map(|_| {
                    l.authorization_parameters
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect()
                })
            },
        ),
        ("request_object", &sent.request_object, |l| {
            l.request_object.clone()
        }),
        ("token_request", &sent.token_request, |l| {
            l.token_request.as_ref().map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect()
            })
        }),
        ("client_assertion", &sent.client_assertion, |l| {
            l.client_assertion.clone()
        }),
    ];
    for (name, want, part) in parts {
        if want.is_empty() {
            continue;
        }
        let seen: Vec<(usize, serde_json::Map<String, serde_json::Value>)> = logins
            .iter()
            .enumerate()
            .filter_map(|(i, l)| part(l).map(|m| (i + 1, m)))
            .collect();
        if seen.is_empty() {
            problems.push((
                FailureKind::Wire,
                format!("expected a {name} from the RP, but it sent none"),
            ));
        }
        for (n, got) in &seen {
            for (k, v) in want {
                let have = got.get(k);
                let ok = match v {
                    serde_json::Value::Null => have.is_none(),
                    v => have == Some(v),
                };
                if !ok {
                    problems.push((
                        FailureKind::Wire,
                        format!(
                            "{name} `{k}` was {} in login {n}, expected {}",
                            shown(have),
                            if v.is_null() {
                                "absent".to_owned()
                            } else {
                                v.to_string()
                            }
                        ),
                    ));
                }
            }
        }
    }
}

fn severity_rank(k: FailureKind) -> u8 {
    match k {
        FailureKind::WrongVerdict => 0,
        FailureKind::Identity => 1,
        FailureKind::Wire => 2,
        FailureKind::WrongReason => 3,
        FailureKind::WrongDetail => 4,
        _ => 5,
    }
}

fn reasons(e: &Expect) -> String {
    if e.reason.is_empty() {
        return "any reason".into();
    }
    e.reason
        .iter()
        .map(|r| format!("`{r}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "none".into())
}
