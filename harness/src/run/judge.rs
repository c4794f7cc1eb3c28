//! Judging: the vector's expectation against what the RP reported and what the mock saw.

use eidconf_report::{Failure, FailureKind, Verdict as Result_};

use super::execute::{AdapterFailure, Execution};
use crate::adapter::Outcome;
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

pub fn judge(expect: &Expect, exec: &Execution, loose_reasons: bool) -> Judgement {
    let outcome = match &exec.outcome {
        Ok(o) => o,
        Err(f) => {
            let (kind, message) = match f {
                AdapterFailure::Panic(m) => {
                    (FailureKind::AdapterPanic, format!("the RP panicked: {m}"))
                }
                AdapterFailure::Timeout(t) => (
                    FailureKind::AdapterTimeout,
                    format!("the RP gave no outcome within {}s", t.as_secs_f64()),
                ),
                AdapterFailure::Harness(m) => (FailureKind::Harness, m.clone()),
                AdapterFailure::Protocol(m) => (FailureKind::AdapterError, m.clone()),
                AdapterFailure::Crashed(m) => (
                    FailureKind::AdapterPanic,
                    format!("the RP driver crashed: {m}"),
                ),
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
    match (expect.verdict, outcome) {
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
                    Some(got) if got == want => {}
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
            if let Some(code) = expect.code
                && r.code != Some(code)
            {
                problems.push((
                    FailureKind::WrongDetail,
                    format!("reported code {}, expected {code}", opt(r.code)),
                ));
            }
            if let Some(claim) = &expect.claim
                && r.claim.as_deref() != Some(claim.as_str())
            {
                problems.push((
                    FailureKind::WrongDetail,
                    format!("named claim {}, expected {claim}", opt(r.claim.as_ref())),
                ));
            }
            if let Some(status) = &expect.status
                && r.status.as_deref() != Some(status.as_str())
            {
                problems.push((
                    FailureKind::WrongDetail,
                    format!(
                        "reported status {}, expected {status}",
                        opt(r.status.as_ref())
                    ),
                ));
            }
        }
        (_, Outcome::Unsupported) => unreachable!("handled above"),
    }
    if let Some(obs) = &exec.observations {
        if let (Verdict::Accepted, Outcome::Accepted { identity, .. }) = (expect.verdict, outcome)
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
        if identity.get(k) != Some(want) {
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
