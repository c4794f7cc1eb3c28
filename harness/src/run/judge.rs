//! Judging: the vector's expectation against what the RP reported and what the mock saw.

use eidconf_report::{Failure, FailureKind, Verdict};

use super::execute::Execution;
use crate::adapter::{AdapterError, Operation, Outcome, Resources};
use crate::json::same_json;
use crate::provider;
use crate::transport::AdapterFailure;
use crate::vector::{Expect, ExpectedVerdict, ResourceBound};

/// The result of one vector before known failures are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub result: Verdict,
    pub failure: Option<Failure>,
    pub note: Option<String>,
}

impl Judgement {
    fn pass() -> Self {
        Judgement {
            result: Verdict::Pass,
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
                result: Verdict::Error,
                failure: Some(Failure { kind, message }),
                note: None,
            };
        }
    };
    if let Outcome::Unsupported = outcome {
        return Judgement {
            result: Verdict::Skip,
            failure: None,
            note: Some("the RP does not support this operation".into()),
        };
    }
    let mut problems: Vec<(FailureKind, String)> = Vec::new();
    let mut loosened = Vec::new();
    // `either` is judged as whichever the RP chose.
    let wanted = match (expect.verdict, outcome) {
        (ExpectedVerdict::Either, Outcome::Accepted { .. }) => ExpectedVerdict::Accepted,
        (ExpectedVerdict::Either, _) => ExpectedVerdict::Rejected,
        (v, _) => v,
    };
    match (wanted, outcome) {
        (ExpectedVerdict::Rejected, Outcome::Accepted { identity, .. }) => problems.push((
            FailureKind::WrongVerdict,
            format!(
                "expected a rejection ({}), but the RP accepted with identity {}",
                reasons(expect),
                serde_json::to_string(identity).unwrap_or_default()
            ),
        )),
        (ExpectedVerdict::Accepted, Outcome::Rejected(r)) => problems.push((
            FailureKind::WrongVerdict,
            format!(
                "expected acceptance, but the RP rejected: {}",
                serde_json::to_string(r).unwrap_or_default()
            ),
        )),
        (ExpectedVerdict::Accepted, Outcome::Accepted { identity, .. }) => {
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
        (ExpectedVerdict::Rejected, Outcome::Rejected(r)) => {
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
        (ExpectedVerdict::Either, _) | (_, Outcome::Unsupported) => unreachable!("resolved above"),
    }
    // What the provider saw is the provider's to judge; its problems follow the RP's.
    if let Some(obs) = &exec.observations {
        let accepted = match (wanted, outcome) {
            (ExpectedVerdict::Accepted, Outcome::Accepted { identity, .. }) => Some(identity),
            _ => None,
        };
        problems.extend(provider::judge(obs, expect, accepted, op));
    }
    let mut notes = Vec::new();
    if !loosened.is_empty() {
        notes.push(format!("--loose-reasons: {}", loosened.join("; ")));
    }
    if let Some(bound) = &expect.resources {
        resources(bound, exec.resources.as_ref(), &mut problems, &mut notes);
    }
    let note = (!notes.is_empty()).then(|| notes.join("; "));
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
        result: Verdict::Fail,
        failure: Some(Failure { kind, message }),
        note,
    }
}

/// The vector's resource bounds against what the transport measured: over a bound is a problem;
/// a figure that was not measured is said in the note, never passed over in silence.
fn resources(
    bound: &ResourceBound,
    used: Option<&Resources>,
    problems: &mut Vec<(FailureKind, String)>,
    notes: &mut Vec<String>,
) {
    let method = used.map_or("no call completed", |u| u.method.as_str());
    let mut unmeasured = Vec::new();
    if let Some(max) = bound.cpu_ms {
        match used.and_then(|u| u.cpu_ms) {
            Some(ms) if ms > max => problems.push((
                FailureKind::Resources,
                format!("the RP spent {ms} ms of CPU time on this vector, over the bound of {max} ms ({method})"),
            )),
            Some(_) => {}
            None => unmeasured.push("CPU time"),
        }
    }
    if let Some(max) = bound.memory_mib {
        match used.and_then(|u| u.memory_kib) {
            Some(kib) if kib > max << 10 => problems.push((
                FailureKind::Resources,
                format!(
                    "the RP's memory grew by {:.1} MiB on this vector, over the bound of {max} MiB ({method})",
                    kib as f64 / 1024.0
                ),
            )),
            Some(_) => {}
            None => unmeasured.push("memory"),
        }
    }
    if !unmeasured.is_empty() {
        notes.push(format!(
            "resource bound not checked: {} not measured ({method})",
            unmeasured.join(" and ")
        ));
    }
}

fn severity_rank(k: FailureKind) -> u8 {
    match k {
        FailureKind::WrongVerdict => 0,
        FailureKind::Identity => 1,
        FailureKind::Wire => 2,
        FailureKind::Resources => 3,
        FailureKind::WrongReason => 4,
        FailureKind::WrongDetail => 5,
        _ => 6,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn used(cpu_ms: Option<u64>, memory_kib: Option<u64>) -> Resources {
        Resources {
            cpu_ms,
            memory_kib,
            method: "test".into(),
        }
    }

    fn check(bound: &ResourceBound, u: Option<&Resources>) -> (Vec<String>, Vec<String>) {
        let (mut problems, mut notes) = (Vec::new(), Vec::new());
        resources(bound, u, &mut problems, &mut notes);
        (problems.into_iter().map(|(_, m)| m).collect(), notes)
    }

    #[test]
    fn a_resource_bound_fails_over_it_and_names_what_was_not_measured() {
        let bound = ResourceBound {
            cpu_ms: Some(1000),
            memory_mib: Some(64),
        };
        assert_eq!(
            check(&bound, Some(&used(Some(1000), Some(64 << 10)))),
            (vec![], vec![])
        );
        let (problems, _) = check(&bound, Some(&used(Some(1001), Some((64 << 10) + 1))));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[1].contains("over the bound of 64 MiB"));
        let (problems, notes) = check(&bound, Some(&used(Some(5), None)));
        assert!(problems.is_empty());
        assert_eq!(
            notes,
            ["resource bound not checked: memory not measured (test)"]
        );
        let (_, notes) = check(&bound, None);
        assert_eq!(
            notes,
            ["resource bound not checked: CPU time and memory not measured (no call completed)"]
        );
    }
}
