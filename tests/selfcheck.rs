//! Self-validation: the vectors bite. The reference RP passes everything; every deliberate fault
//! of it is caught (the kill matrix is a reviewed snapshot); always-accept, always-reject,
//! panicking and hanging adapters get exactly the results they must.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use eidconf::adapter::{
    AdapterError, Environment, Operation, Outcome, Reason, RelyingParty, RpDescription,
};
use eidconf::reference::{Fault, ReferenceRp};
use eidconf::run::{self, RunConfig, Selection};
use eidconf::transport::{AlwaysAccept, AlwaysReject};
use eidconf::vector::{ExpectedVerdict, Vector};
use eidconf_report::{Report, Verdict as Result_};
use futures::StreamExt;

/// Counts heap use per thread, so the in-process RP's memory per vector is measured.
#[global_allocator]
static ALLOC: eidconf::meter::CountingAlloc = eidconf::meter::CountingAlloc;

/// The kill matrix runs this many faults side by side, each with this many vectors in flight:
/// about as many vectors at once as one run with the default 16, and the deliberate waits of
/// different faults overlap.
const KILL_MATRIX_FAULTS_AT_ONCE: usize = 3;
const KILL_MATRIX_JOBS: usize = 6;

/// The committed corpus, suites and keys, loaded once per test.
type World = eidconf::Inputs;

fn world() -> World {
    let w = eidconf::Inputs::load(&eidconf::default_corpus_root()).expect("suites and keys load");
    let errors = &w.errors;
    assert!(
        errors.is_empty(),
        "the committed corpus loads clean: {errors:?}"
    );
    w
}

async fn run_with(w: &World, rp: Arc<dyn RelyingParty>, cfg: RunConfig) -> Report {
    run::run(rp, &w.corpus, &w.suites, &w.pki, &cfg, |_| {})
        .await
        .expect("run")
}

/// Strict: a fault is caught when any vector finds the deviation, whatever its level.
fn cfg(timeout: Duration, jobs: usize) -> RunConfig {
    RunConfig {
        timeout,
        jobs,
        strict: true,
        ..RunConfig::default()
    }
}

fn ids_with(r: &Report, pred: impl Fn(Result_) -> bool) -> BTreeSet<String> {
    r.vectors
        .iter()
        .filter(|v| pred(v.result))
        .map(|v| v.id.clone())
        .collect()
}

fn not_passed(r: &Report) -> BTreeSet<String> {
    ids_with(r, |x| x != Result_::Pass)
}

/// Every vector that did not pass, with its result and failure.
fn failures(r: &Report) -> Vec<String> {
    r.vectors
        .iter()
        .filter(|v| v.result != Result_::Pass)
        .map(|v| format!("{} {:?}: {:?}", v.id, v.result, v.failure))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_rp_passes_every_vector() {
    let w = world();
    let r = run_with(
        &w,
        Arc::new(ReferenceRp::new(&[])),
        cfg(Duration::from_secs(20), 8),
    )
    .await;
    let bad = failures(&r);
    assert!(
        bad.is_empty(),
        "the reference RP must pass everything:\n{}",
        bad.join("\n")
    );
    assert_eq!(r.summary.total as usize, w.corpus.vectors.len());
    evidence_shows_served_tokens(&r);
    default_report_size(&r);
}

/// Every token a vector gave the RP or the mock served is in its evidence, decoded.
fn evidence_shows_served_tokens(r: &Report) {
    let mut seen = BTreeMap::<&str, usize>::new();
    for v in &r.vectors {
        let tokens = |key: &str| -> Vec<serde_json::Value> {
            let ev = &v.evidence;
            match key {
                "given" => ev["given_tokens"].as_array().cloned().unwrap_or_default(),
                _ => ev["served"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|s| s["tokens"].as_array().cloned().unwrap_or_default())
                    .collect(),
            }
        };
        // A login vector may end before the broker serves a token (a forged state).
        if v.operation == "oidc.finish_login" {
            if tokens("served")
                .iter()
                .any(|t| t.get("protected_header").is_some())
            {
                *seen.entry("oidc.finish_login").or_default() += 1;
            }
            continue;
        }
        let (key, want) = match v.operation.as_str() {
            // An ID token is a JWE, or a JWS where encryption is not registered.
            "oidc.validate_id_token" | "freja.verify_details" => ("given", "header"),
            _ => continue,
        };
        let found = tokens(key);
        // A token the forge broke beyond decoding is still shown raw.
        assert!(
            found.iter().any(|t| t.get(want).is_some()
                || t.get("protected_header").is_some()
                || t["type"] == "undecodable"),
            "{}: no {key} token with a decoded {want} in {}",
            v.id,
            v.evidence
        );
        *seen.entry(v.operation.as_str()).or_default() += 1;
    }
    assert!(
        seen.len() == 3 && seen.values().all(|n| *n >= 10),
        "token-level vectors, and logins served a decoded ID token: {seen:?}"
    );
    // A Freja login's `details` JWS, as the mock served it, decoded.
    assert!(
        r.vectors
            .iter()
            .filter(|v| v.operation == "freja.authenticate")
            .flat_map(|v| v.evidence["served"].as_array().cloned().unwrap_or_default())
            .any(|s| s["tokens"][0]["payload"]["status"] == "APPROVED"),
        "no Freja login shows its decoded details JWS"
    );
}

/// The full default report stays small enough to archive and open (under 2 MB each): shared
/// material once, a passing vector's evidence in brief in report.json and capped in the HTML.
fn default_report_size(r: &Report) {
    const BUDGET: usize = 2_000_000;
    let json = eidconf_report::to_json(r);
    let html = eidconf_report::html(r);
    assert!(json.len() < BUDGET, "report.json is {} bytes", json.len());
    assert!(html.len() < BUDGET, "report.html is {} bytes", html.len());
    assert!(
        !json.contains("PRIVATE KEY-----"),
        "a private key in report.json"
    );
}

/// getResults is the other documented way to poll: an RP that uses it passes the same vectors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_rp_passes_every_freja_vector_polling_get_results() {
    let w = world();
    let c = RunConfig {
        selection: Selection {
            filters: vec!["freja.*".into()],
            ..Selection::default()
        },
        ..cfg(Duration::from_secs(20), 8)
    };
    let r = run_with(&w, Arc::new(ReferenceRp::new(&[]).polling_get_results()), c).await;
    let bad = failures(&r);
    assert!(r.summary.total > 300);
    assert!(
        bad.is_empty(),
        "polling with getResults:\n{}",
        bad.join("\n")
    );
    let paths: Vec<String> = r
        .vectors
        .iter()
        .filter_map(|v| v.evidence.get("served")?.as_array())
        .flatten()
        .filter_map(|q| Some(q.get("path")?.as_str()?.to_owned()))
        .collect();
    assert!(paths.iter().any(|p| p.ends_with("/getResults")));
    assert!(!paths.iter().any(|p| p.ends_with("/getOneResult")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_caught_and_the_kill_matrix_is_reviewed() {
    let w = world();
    let mut matrix: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    // A few faults at a time, so that the vectors that wait on purpose wait together.
    let runs = futures::stream::iter(Fault::ALL.iter().copied())
        .map(|fault| {
            let w = &w;
            async move {
                let rp = Arc::new(ReferenceRp::new(&[fault]));
                // The same budget as the reference run: vectors that wait on purpose (2 s flow
                // and HTTP timeouts) must not turn into kills on a busy machine.
                let r = run_with(w, rp, cfg(Duration::from_secs(20), KILL_MATRIX_JOBS)).await;
                (fault, not_passed(&r), r.exit_code())
            }
        })
        .buffer_unordered(KILL_MATRIX_FAULTS_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
    for (fault, killers, exit) in runs {
        assert!(
            !killers.is_empty(),
            "fault `{}` survives every vector",
            fault.name()
        );
        assert!(exit != 0);
        matrix.insert(fault.name(), killers.into_iter().collect());
    }
    // CI keeps only the tail of a failed test's output: name the faults that moved in the panic.
    if std::env::var_os("INSTA_UPDATE").is_none() {
        let moved = kill_matrix_changes(&matrix);
        assert!(
            moved.is_empty(),
            "the kill matrix changed:\n{}",
            moved.join("\n")
        );
    }
    insta::assert_yaml_snapshot!("kill_matrix", matrix);
}

/// Per fault, the vectors that joined or left its killers since the reviewed snapshot.
fn kill_matrix_changes(now: &BTreeMap<&str, Vec<String>>) -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/snapshots/selfcheck__kill_matrix.snap"
    );
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut was: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut fault = None;
    for line in text
        .lines()
        .skip_while(|l| *l != "---")
        .skip(1)
        .skip_while(|l| *l != "---")
        .skip(1)
    {
        if let Some(id) = line.strip_prefix("  - ") {
            if let Some(f) = &fault {
                was.entry(String::clone(f))
                    .or_default()
                    .insert(id.trim_matches('"').to_owned());
            }
        } else if let Some(f) = line.strip_suffix(':') {
            fault = Some(f.to_owned());
            was.entry(f.to_owned()).or_default();
        }
    }
    let mut moved = Vec::new();
    for name in was
        .keys()
        .map(String::as_str)
        .chain(now.keys().copied())
        .collect::<BTreeSet<_>>()
    {
        let before = was.get(name).cloned().unwrap_or_default();
        let after: BTreeSet<String> = now.get(name).into_iter().flatten().cloned().collect();
        let joined: Vec<_> = after.difference(&before).collect();
        let left: Vec<_> = before.difference(&after).collect();
        if !joined.is_empty() || !left.is_empty() {
            moved.push(format!("{name}: joined {joined:?}, left {left:?}"));
        }
    }
    moved
}

/// Would an RP that answers `outcome` and sends nothing pass this vector?
fn silent_rp_fails(v: &Vector, accept: bool) -> bool {
    let e = &v.spec.expect;
    // It sends nothing, so any expectation on the wire or on what it sent fails.
    let wire =
        e.requests.values().any(|c| !c.admits(0)) || !e.checks.is_empty() || e.sent.is_some();
    let verdict = match (e.verdict, accept) {
        (ExpectedVerdict::Either, true) => ExpectedVerdict::Accepted,
        (ExpectedVerdict::Either, false) => ExpectedVerdict::Rejected,
        (v, _) => v,
    };
    wire || match (verdict, accept) {
        (ExpectedVerdict::Rejected, true) => true,
        // A finished login needs a redeemed code, which a silent RP never has.
        (ExpectedVerdict::Accepted, true) => {
            e.identity.as_ref().is_some_and(|i| !i.is_empty())
                || matches!(v.spec.operation, Operation::OidcFinishLogin(_))
        }
        (ExpectedVerdict::Accepted, false) => true,
        (ExpectedVerdict::Rejected, false) => {
            (!e.reason.is_empty() && !e.reason.contains(&Reason::InvalidInput))
                || e.code.is_some()
                || e.status.is_some()
                || e.claim.is_some()
        }
        (ExpectedVerdict::Either, _) => unreachable!("resolved above"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_accept_and_always_reject_fail_exactly_what_they_must() {
    let w = world();
    for (rp, accept) in [
        (Arc::new(AlwaysAccept) as Arc<dyn RelyingParty>, true),
        (Arc::new(AlwaysReject), false),
    ] {
        let name = rp.describe().name;
        let r = run_with(&w, rp, cfg(Duration::from_secs(20), 16)).await;
        let expected: BTreeSet<String> = w
            .corpus
            .vectors
            .iter()
            .filter(|v| silent_rp_fails(v, accept))
            .map(|v| v.id().to_owned())
            .collect();
        assert_eq!(
            ids_with(&r, |x| x == Result_::Error),
            BTreeSet::new(),
            "{name}"
        );
        assert_eq!(not_passed(&r), expected, "{name}");
        assert_eq!(r.exit_code(), 1, "{name}");
        if accept {
            let rejections = w
                .corpus
                .vectors
                .iter()
                .filter(|v| v.spec.expect.verdict == ExpectedVerdict::Rejected)
                .count();
            assert!(rejections > 0 && r.summary.fail as usize >= rejections);
        }
    }
}

struct Panics;
struct Hangs;

fn describe(name: &str) -> RpDescription {
    RpDescription {
        name: name.into(),
        version: "0".into(),
        operations: Operation::NAMES.iter().map(|s| s.to_string()).collect(),
    }
}

#[async_trait]
impl RelyingParty for Panics {
    fn describe(&self) -> RpDescription {
        describe("panics")
    }
    async fn perform(&self, _: &Environment, _: Operation) -> Result<Outcome, AdapterError> {
        panic!("deliberate panic")
    }
}

#[async_trait]
impl RelyingParty for Hangs {
    fn describe(&self) -> RpDescription {
        describe("hangs")
    }
    async fn perform(&self, _: &Environment, _: Operation) -> Result<Outcome, AdapterError> {
        std::future::pending().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_and_hanging_adapters_are_errors_and_the_run_completes() {
    let w = world();
    let r = run_with(&w, Arc::new(Panics), cfg(Duration::from_secs(20), 16)).await;
    assert_eq!(r.summary.error as usize, w.corpus.vectors.len());
    assert!(r.vectors.iter().all(|v| {
        v.failure
            .as_ref()
            .is_some_and(|f| f.message.contains("deliberate panic"))
    }));

    let some = RunConfig {
        selection: Selection {
            filters: vec!["freja.http.*".into()],
            ..Selection::default()
        },
        ..cfg(Duration::from_millis(500), 64)
    };
    let r = run_with(&w, Arc::new(Hangs), some).await;
    assert!(r.summary.total > 0);
    assert_eq!(
        r.summary.error, r.summary.total,
        "every hung vector is an error, never a pass"
    );
}
