//! The providers' part of judging: what the mock saw held against the vector's expectations
//! (the identity against what was signed, request counts, request-side checks, what was sent,
//! the canary). The run's judge adds these problems to its own.

use std::collections::BTreeMap;

use eidconf_report::FailureKind;
use serde_json::Value;

use super::Observations;
use super::checks::Check;
use super::ftn::LoginEvidence;
use crate::adapter::Operation;
use crate::json::{same_json, shown};
use crate::vector::Expect;
use crate::vector::model::{Endpoint, FrejaCall, SentExpect};

/// The problems with what the provider observed. `accepted`: the identity, when the RP accepted
/// as the vector expects.
pub fn judge(
    obs: &Observations,
    expect: &Expect,
    accepted: Option<&BTreeMap<String, Value>>,
    op: &Operation,
) -> Vec<(FailureKind, String)> {
    let mut problems = Vec::new();
    if let Some(identity) = accepted
        && let Some(signed) = obs.signed_payloads.last()
    {
        round_trip(identity, signed, &mut problems);
    }
    for (ep, count) in &expect.requests {
        // getOneResult and getResults poll alike: a count of the one counts both, unless the
        // vector counts getResults on its own.
        let both = match *ep {
            Endpoint::Freja(e)
                if e.all_results() != e
                    && !expect
                        .requests
                        .contains_key(&Endpoint::Freja(e.all_results())) =>
            {
                Some(e.all_results())
            }
            _ => None,
        };
        let n = obs.count(*ep) + both.map_or(0, |all| obs.count(all));
        if !count.admits(n) {
            let to = match both {
                Some(all) => format!("{} and {}", ep.path(), all.path()),
                None => ep.path().to_owned(),
            };
            problems.push((
                FailureKind::Wire,
                format!("the RP sent {n} request(s) to {to}, expected {count}"),
            ));
        }
    }
    if let Some(identity) = accepted
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
        sent_init_members(&sent.init_request, &obs.requests, &mut problems);
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
    problems
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

/// Every check the pattern names must have been made, and passed, on every login it was made on.
fn checks(pattern: &str, made: &[Check], problems: &mut Vec<(FailureKind, String)>) {
    let hits: Vec<&Check> = made
        .iter()
        .filter(|c| super::checks::matches(pattern, &c.id))
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
        let seen = logins
            .iter()
            .enumerate()
            .filter_map(|(i, l)| part(l).map(|m| (format!("login {}", i + 1), m)))
            .collect();
        same_members(name, want, seen, problems);
    }
}

/// `expect.sent.init_request`: the members of every request's JSON that opens a Freja operation
/// (an init, or a custom-identifier call).
fn sent_init_members(
    want: &serde_json::Map<String, serde_json::Value>,
    requests: &[super::ObservedRequest],
    problems: &mut Vec<(FailureKind, String)>,
) {
    let seen = requests
        .iter()
        .filter(|r| {
            r.endpoint
                .is_some_and(|e| matches!(e.call(), FrejaCall::Init | FrejaCall::ManageUser))
        })
        .enumerate()
        .map(|(i, r)| {
            let json = match &r.request_json {
                Some(serde_json::Value::Object(m)) => m.clone(),
                _ => serde_json::Map::new(),
            };
            let what = r.endpoint.map(|e| e.path()).unwrap_or("init");
            (format!("request {} ({what})", i + 1), json)
        })
        .collect();
    same_members("init_request", want, seen, problems);
}

/// Each wanted member has exactly this value (`null`: absent) in every message seen, and at
/// least one message was seen.
fn same_members(
    name: &str,
    want: &serde_json::Map<String, serde_json::Value>,
    seen: Vec<(String, serde_json::Map<String, serde_json::Value>)>,
    problems: &mut Vec<(FailureKind, String)>,
) {
    if want.is_empty() {
        return;
    }
    if seen.is_empty() {
        problems.push((
            FailureKind::Wire,
            format!("expected a {name} from the RP, but it sent none"),
        ));
    }
    for (which, got) in &seen {
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
                        "{name} `{k}` was {} in {which}, expected {}",
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
