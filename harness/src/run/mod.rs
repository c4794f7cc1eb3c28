//! Running vectors: planning (`plan`), executing (`execute`), judging (`judge`), known failures
//! (`known`), and assembling the report.

pub mod evidence;
pub mod execute;
pub mod judge;
pub mod known;
pub mod plan;
pub mod redact;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eidconf_report as report;
use futures::StreamExt;

use crate::adapter::RelyingParty;
use crate::pki::Pki;
use crate::suite::{Level, Suites};
use crate::vector::{Corpus, Vector};
pub use execute::{Execution, execute};
pub use judge::{Judgement, judge};
pub use known::KnownFailures;
pub use plan::{Partition, Selection};

/// How to run.
#[derive(Debug)]
pub struct RunConfig {
    pub selection: Selection,
    pub jobs: usize,
    pub timeout: Duration,
    pub loose_reasons: bool,
    /// Deviations from SHOULD and HARDENING requirements fail instead of warning.
    pub strict: bool,
    pub known: KnownFailures,
    /// Fault names of the reference RP, for the report.
    pub faults: Vec<String>,
    /// Operations the RP must implement: a vector of one it does not declare fails instead of
    /// being skipped.
    pub require_operations: Vec<String>,
    /// Every operation is required (`--fail-on-skip`).
    pub fail_on_skip: bool,
    /// How much evidence the report keeps for a passing vector.
    pub evidence: evidence::Detail,
}

/// Slots for the vectors that do not wait on purpose: 4 per core. A vector alternates between
/// the RP's work and the mock's and waits on loopback in between, so one per core leaves the
/// cores idle (measured on 2 cores: `-j 4` 9.3 s, `-j 8` 6.8 s, `-j 16` 6.4 s for the corpus).
pub fn default_jobs() -> usize {
    4 * std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            selection: Selection::default(),
            jobs: default_jobs(),
            timeout: Duration::from_secs(20),
            loose_reasons: false,
            strict: false,
            known: KnownFailures::default(),
            faults: Vec::new(),
            require_operations: Vec::new(),
            fail_on_skip: false,
            evidence: evidence::Detail::Auto,
        }
    }
}

/// Counts so far, for a progress line, and the vector that just finished (so a failure can be
/// shown as it happens).
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress<'a> {
    pub done: usize,
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub finished: Option<&'a report::VectorResult>,
}

/// Run one vector and judge it: the unit the libtest bridge and the CLI share. `level` is the
/// strongest level of the vector's requirements ([`Suites::level_of`]): below `MUST`, a
/// deviation is `warn` unless `cfg.strict`.
pub async fn run_one(
    rp: Arc<dyn RelyingParty>,
    vector: &Vector,
    level: Level,
    pki: &Pki,
    cfg: &RunConfig,
) -> (Option<Execution>, Judgement) {
    let op = vector.spec.operation.name();
    if !rp.describe().operations.iter().any(|o| o == op) {
        let flag = if cfg.fail_on_skip {
            Some("--fail-on-skip")
        } else {
            cfg.require_operations
                .iter()
                .any(|o| o == op)
                .then_some("--require-operations")
        };
        let j = match flag {
            Some(flag) => Judgement {
                result: report::Verdict::Fail,
                failure: Some(report::Failure {
                    kind: report::FailureKind::Unsupported,
                    message: format!(
                        "the RP does not declare the operation `{op}`, which {flag} requires"
                    ),
                }),
                note: None,
            },
            None => Judgement {
                result: report::Verdict::Skip,
                failure: None,
                note: Some(format!("the RP does not declare the operation `{op}`")),
            },
        };
        return (None, j);
    }
    let exec = execute(rp, vector, pki, cfg.timeout).await;
    let mut j = judge(
        &vector.spec.expect,
        &vector.spec.operation,
        &exec,
        cfg.loose_reasons,
    );
    if j.result == report::Verdict::Fail && level != Level::Must && !cfg.strict {
        j.result = report::Verdict::Warn;
    }
    if let Some(reason) = cfg.known.reason(vector.id()) {
        j = apply_known_failure(j, reason);
    }
    (Some(exec), j)
}

fn apply_known_failure(j: Judgement, reason: &str) -> Judgement {
    match j.result {
        report::Verdict::Fail | report::Verdict::Warn | report::Verdict::Error => Judgement {
            result: report::Verdict::Xfail,
            note: Some(format!("known failure: {reason}")),
            ..j
        },
        report::Verdict::Pass => Judgement {
            result: report::Verdict::Xpass,
            failure: None,
            note: Some(format!(
                "listed as a known failure ({reason}) but passed: the list is stale"
            )),
        },
        _ => j,
    }
}

/// Run the selected vectors concurrently and build the report.
pub async fn run(
    rp: Arc<dyn RelyingParty>,
    corpus: &Corpus,
    suites: &Suites,
    pki: &Pki,
    cfg: &RunConfig,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<report::Report, String> {
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let start = Instant::now();
    let selected = cfg.selection.apply(&corpus.vectors, suites)?;
    let mut state = Progress {
        total: selected.len(),
        ..Progress::default()
    };
    progress(state);
    let mut results: Vec<(usize, report::VectorResult)> = Vec::with_capacity(selected.len());
    // `exclusive` vectors run after the others, one at a time, with nothing else in flight.
    let (alone, shared): (Vec<_>, Vec<_>) = selected
        .iter()
        .enumerate()
        .partition(|(_, v)| v.spec.exclusive);
    // Vectors that wait on purpose start at once, beside the `jobs` slots of the others: they
    // would hold a slot idle for seconds.
    let (waiting, busy): (Vec<_>, Vec<_>) = shared
        .into_iter()
        .partition(|(_, v)| v.spec.waits_on_purpose());
    let waiting = futures::stream::iter(waiting)
        .map(|(i, v)| one_result(rp.clone(), i, v, suites, pki, cfg))
        .buffer_unordered(usize::MAX);
    let busy = futures::stream::iter(busy)
        .map(|(i, v)| one_result(rp.clone(), i, v, suites, pki, cfg))
        .buffer_unordered(cfg.jobs.max(1));
    let mut stream = futures::stream::select(waiting, busy).chain(
        futures::stream::iter(alone)
            .map(|(i, v)| one_result(rp.clone(), i, v, suites, pki, cfg))
            .buffered(1),
    );
    while let Some((i, r)) = stream.next().await {
        state.done += 1;
        match r.result {
            report::Verdict::Pass | report::Verdict::Warn | report::Verdict::Xfail => {
                state.pass += 1
            }
            report::Verdict::Fail | report::Verdict::Xpass => state.fail += 1,
            report::Verdict::Error => state.error += 1,
            report::Verdict::Skip => {}
        }
        progress(Progress {
            finished: Some(&r),
            ..state
        });
        results.push((i, r));
    }
    results.sort_by_key(|(i, _)| *i);
    let mut vectors: Vec<report::VectorResult> = results.into_iter().map(|(_, r)| r).collect();
    let mut shared = evidence::share(vectors.iter_mut().map(|v| (v.id.clone(), &mut v.evidence)));
    if cfg.evidence == evidence::Detail::Auto {
        for v in vectors
            .iter_mut()
            .filter(|v| v.result == report::Verdict::Pass)
        {
            evidence::summarise(&mut v.evidence);
        }
        evidence::prune(&mut shared, vectors.iter().map(|v| &v.evidence));
    }
    let desc = rp.describe();
    let summary = report::Summary::of(&vectors);
    let mut failures_by_severity = BTreeMap::new();
    for v in &vectors {
        if matches!(
            v.result,
            report::Verdict::Fail | report::Verdict::Error | report::Verdict::Xpass
        ) {
            *failures_by_severity.entry(v.severity.clone()).or_insert(0) += 1;
        }
    }
    Ok(report::Report {
        schema_version: report::SCHEMA_VERSION.into(),
        harness: report::Harness {
            name: "eidconf".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            commit: option_env!("EIDCONF_GIT_COMMIT").map(str::to_owned),
        },
        rp: report::RpInfo {
            name: desc.name,
            version: desc.version,
            operations: desc.operations,
            faults: cfg.faults.clone(),
            invocation: None,
        },
        started_at,
        duration_ms: start.elapsed().as_millis() as u64,
        vector_set_digest: corpus.digest.clone(),
        known_failures_digest: cfg.known.digest.clone(),
        selection: report::Selection {
            suites: cfg.selection.suites.clone(),
            filter: (!cfg.selection.filters.is_empty()).then(|| cfg.selection.filters.join(",")),
            partition: cfg.selection.partition.map(|p| p.to_string()),
            loose_reasons: cfg.loose_reasons,
            strict: cfg.strict,
            known_failures: cfg.known.path.clone(),
            jobs: cfg.jobs as u32,
            timeout_secs: cfg.timeout.as_secs(),
            evidence: Some(
                match cfg.evidence {
                    evidence::Detail::Auto => "auto",
                    evidence::Detail::Full => "full",
                }
                .into(),
            ),
        },
        summary,
        failures_by_severity,
        requirements: requirements(&vectors, suites, &cfg.selection),
        // Stale means it names no vector at all; one outside the selection just did not apply.
        known_failures_unused: cfg.known.unused(corpus.vectors.iter().map(|v| v.id())),
        input_errors: Vec::new(),
        vectors,
        shared,
        operator: None,
        note: None,
    })
}

async fn one_result(
    rp: Arc<dyn RelyingParty>,
    i: usize,
    v: &Vector,
    suites: &Suites,
    pki: &Pki,
    cfg: &RunConfig,
) -> (usize, report::VectorResult) {
    let level = suites.level_of(&v.spec.requirements);
    let (exec, j) = run_one(rp, v, level, pki, cfg).await;
    (
        i,
        vector_result(v, suites, pki, exec.as_ref(), j, cfg.evidence),
    )
}

fn vector_result(
    v: &Vector,
    suites: &Suites,
    pki: &Pki,
    exec: Option<&Execution>,
    j: Judgement,
    detail: evidence::Detail,
) -> report::VectorResult {
    let s = &v.spec;
    let brief = detail == evidence::Detail::Auto && j.result == report::Verdict::Pass;
    let evidence = evidence::build(exec, pki);
    report::VectorResult {
        id: v.id().to_owned(),
        title: s.title.clone(),
        location: v.location.to_string(),
        requirements: s.requirements.clone(),
        severity: s.severity.as_str().into(),
        level: Some(suites.level_of(&s.requirements).as_str().into()),
        tags: s.tags.clone(),
        operation: s.operation.name().into(),
        result: j.result,
        // A failure message may quote the RP's reply or a driver's stderr.
        failure: j.failure.map(|mut f| {
            if let Some(r) = redact::redact_text(&f.message, pki) {
                f.message = r;
            }
            redact::cap(&mut f.message);
            f
        }),
        note: j.note.map(|n| {
            let mut n = redact::redact_text(&n, pki).unwrap_or(n);
            redact::cap(&mut n);
            n
        }),
        expected: serde_json::to_value(&s.expect).unwrap_or_default(),
        outcome: exec
            .and_then(|e| e.outcome.as_ref().ok())
            .and_then(|o| serde_json::to_value(o).ok())
            .map(|mut o| {
                redact::redact_value(&mut o, pki);
                o
            }),
        duration_ms: exec.map(|e| e.duration.as_millis() as u64).unwrap_or(0),
        evidence,
        // A passing vector's cost is news only where the vector bounds it.
        resources: exec
            .filter(|_| !brief || s.expect.resources.is_some())
            .and_then(|e| e.resources.as_ref())
            .map(|r| report::Resources {
                cpu_ms: r.cpu_ms,
                memory_kib: r.memory_kib,
                method: r.method.clone(),
            }),
    }
}

/// `RFC 7519: JSON Web Token (JWT), §4: "…"; …`: the sources as one line, for readers of 1.0.
fn one_line(sources: &[report::Source]) -> String {
    sources
        .iter()
        .map(|s| format!("{}, {}: \"{}\"", s.document, s.section, s.quote))
        .collect::<Vec<_>>()
        .join("; ")
}

fn requirements(
    vectors: &[report::VectorResult],
    suites: &Suites,
    sel: &Selection,
) -> Vec<report::RequirementResult> {
    let mut out = Vec::new();
    for suite in &suites.suites {
        let in_scope = if sel.suites.is_empty() {
            vectors.iter().any(|v| suite.holds(&v.id))
        } else {
            sel.suites.iter().any(|s| s == suite.name())
        };
        if !in_scope {
            continue;
        }
        for r in &suite.file.requirements {
            let tested: Vec<&report::VectorResult> = vectors
                .iter()
                .filter(|v| v.requirements.contains(&r.id.value))
                .collect();
            let counts = report::Summary::of(tested.iter().copied());
            let sources = suite.file.sources_of(r);
            out.push(report::RequirementResult {
                id: r.id.value.clone(),
                suite: suite.name().into(),
                level: r.level.as_str().into(),
                title: r.title.clone(),
                source: one_line(&sources),
                sources,
                rationale: r.rationale.clone(),
                vectors: tested.iter().map(|v| v.id.clone()).collect(),
                status: counts.requirement_status(),
                counts,
            });
        }
    }
    out
}
