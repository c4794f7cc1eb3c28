//! The out-of-process transports: the reference RP behind `--rp stdio` and `--rp exec` gets
//! exactly the in-process results and kill matrix; drivers that crash, hang, print garbage or
//! break the schema get `error` for the vectors they hurt and normal judgement for the rest; no
//! driver process outlives its run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use eidconf::adapter::RelyingParty;
use eidconf::reference::{Fault, ReferenceRp};
use eidconf::run::{self, RunConfig, Selection};
use eidconf::transport::{ExecRp, StdioRp};
use eidconf_report::{FailureKind, Report, Verdict};
use futures::StreamExt;

const DRIVER: &str = env!("CARGO_BIN_EXE_eidconf-reference-driver");

/// Counts heap use per thread, so the in-process RP's memory per vector is measured, as under
/// the `eidconf` binary.
#[global_allocator]
static ALLOC: eidconf::meter::CountingAlloc = eidconf::meter::CountingAlloc;

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

fn cfg(filter: Option<&str>, timeout: Duration, jobs: usize) -> RunConfig {
    RunConfig {
        selection: Selection {
            filters: filter.map(|f| vec![f.to_owned()]).unwrap_or_default(),
            ..Selection::default()
        },
        timeout,
        jobs,
        ..RunConfig::default()
    }
}

async fn run_with(w: &World, rp: Arc<dyn RelyingParty>, cfg: &RunConfig) -> Report {
    let r = run::run(rp.clone(), &w.corpus, &w.suites, &w.pki, cfg, |_| {})
        .await
        .expect("run");
    rp.shutdown().await;
    r
}

fn argv(extra: &[&str]) -> Vec<String> {
    std::iter::once(DRIVER)
        .chain(extra.iter().copied())
        .map(str::to_owned)
        .collect()
}

async fn stdio(extra: &[&str], timeout: Duration) -> Arc<StdioRp> {
    Arc::new(
        StdioRp::start(argv(extra), timeout)
            .await
            .expect("the reference driver starts"),
    )
}

/// Every driver process was reaped: no pid is left, not even as a zombie.
fn assert_reaped(rp: &StdioRp) {
    let pids = rp.driver_pids();
    assert!(!pids.is_empty());
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let ours = status
            .lines()
            .any(|l| l == format!("PPid:\t{}", std::process::id()));
        assert!(
            !ours,
            "driver {pid} is still a child of the harness:\n{status}"
        );
    }
}

/// What must be identical between transports: everything but timing, evidence, the free-text
/// `detail` (it names the mock's random port) and the identity's time claims (an ID token's
/// `iat`/`exp` are minted relative to the moment the vector runs).
fn results(r: &Report) -> BTreeMap<String, serde_json::Value> {
    r.vectors
        .iter()
        .map(|v| {
            let mut outcome = v.outcome.clone();
            if let Some(o) = outcome.as_mut().and_then(|o| o.as_object_mut()) {
                o.remove("detail");
                // Fresh per login: the request object in the URL, the nonce in the ID token, and
                // the broker's URL (a new port and path per vector) in `iss` and `amr`.
                o.remove("authorization_url");
                // The JWKS URL an RP serves is on a fresh port per answer.
                if let Some(p) = o.get_mut("public_keys").and_then(|p| p.as_object_mut()) {
                    p.remove("jwks_uri");
                }
                if let Some(id) = o.get_mut("identity").and_then(|i| i.as_object_mut()) {
                    for claim in ["iat", "exp", "nbf", "auth_time", "nonce", "iss", "amr"] {
                        id.remove(claim);
                    }
                }
            }
            let key = serde_json::json!({
                "result": v.result,
                "failure": v.failure,
                "note": v.note,
                "outcome": outcome,
            });
            (v.id.clone(), key)
        })
        .collect()
}

fn ids(r: &Report, pred: impl Fn(&eidconf_report::VectorResult) -> bool) -> BTreeSet<String> {
    r.vectors
        .iter()
        .filter(|v| pred(v))
        .map(|v| v.id.clone())
        .collect()
}

fn matching(w: &World, filter: &str, glob: &str) -> BTreeSet<String> {
    let f = globset::Glob::new(filter).unwrap().compile_matcher();
    let g = globset::Glob::new(glob).unwrap().compile_matcher();
    w.corpus
        .vectors
        .iter()
        .map(|v| v.id().to_owned())
        .filter(|id| f.is_match(id) && g.is_match(id))
        .collect()
}

fn stderr_of(r: &Report, id: &str) -> String {
    let v = r.vectors.iter().find(|v| v.id == id).unwrap();
    v.evidence["driver_stderr"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_and_exec_give_exactly_the_in_process_results() {
    let w = world();
    let c = cfg(None, Duration::from_secs(20), 8);
    let inproc = run_with(&w, Arc::new(ReferenceRp::new(&[])), &c).await;
    let over_stdio = stdio(&[], c.timeout).await;
    let s = run_with(&w, over_stdio.clone(), &c).await;
    assert_reaped(&over_stdio);
    assert_eq!(
        over_stdio.starts(),
        1,
        "a well-behaved driver is never restarted"
    );
    let exec = Arc::new(ExecRp::start(argv(&[]), c.timeout).await.expect("exec"));
    let e = run_with(&w, exec, &c).await;
    assert_eq!(inproc.summary.total as usize, w.corpus.vectors.len());
    assert_eq!(s.rp.name, inproc.rp.name);
    assert_eq!(s.rp.operations, inproc.rp.operations);
    assert_eq!(
        results(&s),
        results(&inproc),
        "stdio differs from in-process"
    );
    // Under exec the reference driver leaves out the flow operations (its pending logins live in
    // memory): those vectors are skipped, everything else is identical.
    // So does a JWKS URL the driver would serve (it answers `unsupported`).
    let flow = |v: &eidconf_report::VectorResult| {
        v.operation.starts_with("oidc.") && v.operation.ends_with("_login")
            || v.id == "ftn.rp-keys.form-jwks-uri"
    };
    assert!(
        e.vectors
            .iter()
            .filter(|v| flow(v))
            .all(|v| v.result == Verdict::Skip)
    );
    let without_flows = |r: &Report| {
        let keep = ids(r, |v| !flow(v));
        results(r)
            .into_iter()
            .filter(|(id, _)| keep.contains(id))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        without_flows(&e),
        without_flows(&inproc),
        "exec differs from in-process"
    );
}

/// The reviewed kill matrix (`tests/selfcheck.rs` recomputes it in process and checks it).
fn reviewed_kill_matrix() -> BTreeMap<String, BTreeSet<String>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/snapshots/selfcheck__kill_matrix.snap");
    let text = std::fs::read_to_string(&path).expect("the kill matrix snapshot");
    // An insta snapshot: a `---` front matter, then the YAML.
    let body = text.splitn(3, "---\n").nth(2).expect("insta front matter");
    serde_saphyr::from_str(body).expect("the kill matrix is YAML")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kill_matrix_is_the_same_through_stdio() {
    let w = world();
    let reviewed = reviewed_kill_matrix();
    // Three faults at a time with 6 vectors each (about the load of one run with 16), so that the
    // vectors that wait on purpose wait together.
    let runs = futures::stream::iter(Fault::ALL.iter().copied())
        .map(|fault| {
            let w = &w;
            async move {
                // Generous: a vector that times out under a loaded machine would count as killed.
                let c = cfg(None, Duration::from_secs(20), 6);
                let rp = stdio(&["--fault", fault.name()], c.timeout).await;
                let s = run_with(w, rp.clone(), &c).await;
                assert_reaped(&rp);
                (fault, s)
            }
        })
        .buffer_unordered(3)
        .collect::<Vec<_>>()
        .await;
    for (fault, s) in runs {
        let killed = ids(&s, |v| v.result != Verdict::Pass);
        assert_eq!(
            Some(&killed),
            reviewed.get(fault.name()),
            "fault {} through stdio",
            fault.name()
        );
        assert_eq!(s.rp.name, format!("eidconf-reference+{}", fault.name()));
    }
}

/// Issue 12 §3: a driver that inflates a 100 MiB bomb before refusing it fails the bomb vector
/// on the memory bound, though its verdict is right; the reference driver passes it. Both
/// transports measure the driver process, exec from its rusage at exit, stdio from /proc.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_that_inflates_the_bomb_fails_on_the_memory_bound() {
    let w = world();
    let mut c = cfg(Some("ftn.jwe.zip-bomb-raw"), Duration::from_secs(60), 4);
    c.strict = true;
    let drivers: Vec<(&str, Arc<dyn RelyingParty>)> = vec![
        (
            "exec",
            Arc::new(ExecRp::start(argv(&[]), c.timeout).await.expect("exec")),
        ),
        ("stdio", stdio(&[], c.timeout).await),
    ];
    for (transport, rp) in drivers {
        let r = run_with(&w, rp, &c).await;
        let [v] = &r.vectors[..] else {
            panic!("one vector")
        };
        assert_eq!(v.result, Verdict::Pass, "{transport}: {:?}", v.failure);
        assert_eq!(v.note, None, "{transport}: measured, so nothing to note");
        let used = v.resources.as_ref().expect("resources");
        assert!(
            used.memory_kib.is_some_and(|k| k < 64 << 10) && used.cpu_ms.is_some(),
            "{transport}: {used:?}"
        );
    }
    let faulty = ["--fault", "inflate-without-cap"];
    let drivers: Vec<(&str, Arc<dyn RelyingParty>)> = vec![
        (
            "exec",
            Arc::new(ExecRp::start(argv(&faulty), c.timeout).await.expect("exec")),
        ),
        ("stdio", stdio(&faulty, c.timeout).await),
    ];
    for (transport, rp) in drivers {
        let r = run_with(&w, rp, &c).await;
        let v = &r.vectors[0];
        assert_eq!(v.outcome.as_ref().unwrap()["verdict"], "rejected");
        assert_eq!(v.result, Verdict::Fail, "{transport}");
        let f = v.failure.as_ref().unwrap();
        assert_eq!(f.kind, FailureKind::Resources, "{transport}: {f:?}");
        assert!(f.message.contains("over the bound of 64 MiB"), "{f:?}");
        let used = v.resources.as_ref().unwrap();
        assert!(
            used.memory_kib.is_some_and(|k| k > 100 << 10),
            "{transport}: the 100 MiB shows: {used:?}"
        );
    }
}

const HTTP: &str = "freja.http.*";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_that_crashes_on_every_third_request_is_restarted() {
    let w = world();
    let c = cfg(Some(HTTP), Duration::from_secs(20), 1);
    let rp = stdio(&["--chaos-crash-every", "3"], c.timeout).await;
    let r = run_with(&w, rp.clone(), &c).await;
    assert_reaped(&rp);
    let n = r.summary.total as usize;
    assert!(n > 10);
    let errors = ids(&r, |v| v.result == Verdict::Error);
    // One request at a time: exactly every third request dies, and each death restarts it.
    assert_eq!(errors.len(), n / 3);
    // A dead driver is restarted for the next request, so a crash on the last one costs no start.
    assert_eq!(rp.starts() as usize, 1 + (n - 1) / 3);
    for v in r.vectors.iter().filter(|v| v.result == Verdict::Error) {
        let f = v.failure.as_ref().unwrap();
        assert_eq!(f.kind, FailureKind::AdapterPanic);
        assert!(f.message.contains("exited"), "{}", f.message);
        assert!(stderr_of(&r, &v.id).contains("chaos: crashing"), "{}", v.id);
    }
    assert_eq!(r.summary.pass as usize, n - n / 3, "the others pass");

    // Concurrently, a crash takes every request in flight with it, and never passes them.
    let c = cfg(Some(HTTP), Duration::from_secs(20), 4);
    let rp = stdio(&["--chaos-crash-every", "3"], c.timeout).await;
    let r = run_with(&w, rp.clone(), &c).await;
    assert_reaped(&rp);
    assert!(r.summary.error > 0 && r.summary.fail == 0);
    assert_eq!(r.summary.error + r.summary.pass, r.summary.total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_that_never_answers_times_out_and_is_replaced() {
    let w = world();
    // Long enough that no answering vector meets it on a busy machine: only the hung ones do.
    let c = cfg(Some(HTTP), Duration::from_secs(6), 4);
    let hung = matching(&w, HTTP, "*-404-*");
    assert!(hung.len() >= 3);
    let rp = stdio(&["--chaos-hang", "*-404-*"], c.timeout).await;
    let r = run::run(rp.clone(), &w.corpus, &w.suites, &w.pki, &c, |_| {})
        .await
        .unwrap();
    // Killed and reaped during the run, not at its end.
    let first = rp.driver_pids()[0];
    let mut alive = true;
    for _ in 0..200 {
        alive = std::path::Path::new(&format!("/proc/{first}")).exists();
        if !alive {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!alive, "the hung driver {first} was not killed");
    rp.shutdown().await;
    assert_reaped(&rp);
    // The hung driver finishes its other requests before it is killed: no collateral errors.
    assert_eq!(ids(&r, |v| v.result == Verdict::Error), hung);
    assert_eq!(
        ids(&r, |v| v.result == Verdict::Pass).len() + hung.len(),
        r.summary.total as usize
    );
    for id in &hung {
        let v = r.vectors.iter().find(|v| &v.id == id).unwrap();
        assert_eq!(
            v.failure.as_ref().unwrap().kind,
            FailureKind::AdapterTimeout
        );
        assert!(stderr_of(&r, id).contains("never answering"), "{id}");
    }
    assert!(rp.starts() >= 2, "a fresh driver serves after a timeout");

    // exec: the one process is killed, the others are judged normally.
    let exec = Arc::new(
        ExecRp::start(argv(&["--chaos-hang", "*-404-*"]), c.timeout)
            .await
            .unwrap(),
    );
    let r = run_with(&w, exec, &c).await;
    assert_eq!(ids(&r, |v| v.result == Verdict::Error), hung);
    assert_eq!(r.summary.fail, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_schema_violations_are_errors_quoting_the_line() {
    let w = world();
    // Garbage names no request: with one request in flight, exactly that one is blamed.
    let c = cfg(Some(HTTP), Duration::from_secs(20), 1);
    let rp = stdio(&["--chaos-garbage", "*-410-*"], c.timeout).await;
    let r = run_with(&w, rp.clone(), &c).await;
    assert_reaped(&rp);
    let garbage = matching(&w, HTTP, "*-410-*");
    assert_eq!(ids(&r, |v| v.result == Verdict::Error), garbage);
    assert_eq!(r.summary.fail, 0);
    for v in r.vectors.iter().filter(|v| v.result == Verdict::Error) {
        let f = v.failure.as_ref().unwrap();
        assert_eq!(f.kind, FailureKind::AdapterError);
        assert!(
            f.message.contains(r#""chaos garbage, not JSON {""#),
            "{}",
            f.message
        );
    }

    // A reply that names its request but breaks the schema hurts only that request.
    let c = cfg(Some(HTTP), Duration::from_secs(20), 4);
    let rp = stdio(&["--chaos-bad-reply", "*-400-*"], c.timeout).await;
    let r = run_with(&w, rp.clone(), &c).await;
    assert_reaped(&rp);
    assert_eq!(
        ids(&r, |v| v.result == Verdict::Error),
        matching(&w, HTTP, "*-400-*")
    );
    assert_eq!(r.summary.fail, 0);
    for v in r.vectors.iter().filter(|v| v.result == Verdict::Error) {
        let f = v.failure.as_ref().unwrap();
        assert_eq!(f.kind, FailureKind::AdapterError);
        assert!(
            f.message.contains(r#"\"verdict\":\"maybe\""#),
            "{}",
            f.message
        );
    }
    assert_eq!(
        rp.starts(),
        1,
        "a bad reply does not cost the driver its life"
    );

    // exec: garbage and a crash are errors too.
    for (chaos, kind) in [
        (["--chaos-garbage", "*"], FailureKind::AdapterError),
        (["--chaos-crash-every", "1"], FailureKind::AdapterPanic),
    ] {
        let exec = Arc::new(ExecRp::start(argv(&chaos), c.timeout).await.unwrap());
        let r = run_with(
            &w,
            exec,
            &cfg(Some("freja.http.auth-init-4*"), c.timeout, 4),
        )
        .await;
        assert!(r.summary.total > 0);
        assert_eq!(r.summary.error, r.summary.total, "{chaos:?}");
        assert!(
            r.vectors
                .iter()
                .all(|v| v.failure.as_ref().unwrap().kind == kind)
        );
    }
}

fn sh(script: &str) -> Vec<String> {
    ["sh", "-c", script].map(str::to_owned).to_vec()
}

#[tokio::test]
async fn a_broken_handshake_stops_the_run_before_it_starts() {
    let t = Duration::from_secs(5);
    for (argv, expect) in [
        (sh("read x; echo 'hello there'"), r#""hello there""#),
        (
            sh(
                r#"read x; echo '{"type":"hello","protocol":2,"name":"n","version":"1","operations":[]}'"#,
            ),
            "protocol 2",
        ),
        (sh("echo oops >&2; exit 3"), "oops"),
        (vec!["/nonexistent/driver".to_owned()], "cannot start"),
    ] {
        let e = StdioRp::start(argv.clone(), t).await.unwrap_err();
        assert!(e.contains(expect), "{argv:?}: {e}");
        let e = ExecRp::start(argv.clone(), t).await.unwrap_err();
        assert!(e.contains(expect), "{argv:?}: {e}");
    }
    let e = StdioRp::start(sh("sleep 30"), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(e.contains("no hello"), "{e}");
}
