//! Markdown and HTML renderers: one view model computed here, two minijinja templates.
//!
//! All ordering and wording decisions live in Rust so both outputs agree and the templates
//! stay dumb. Templates are embedded, and the escaping mode follows the template name:
//! `summary.md` is not HTML-escaped (Markdown escaping is done by the `text`/`code` filters),
//! `report.html` is auto-escaped, and no template marks report content as safe.

use std::cmp::Ordering;

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::{Report, RequirementStatus, Summary, VectorResult, Verdict, severity_rank};

const SUMMARY_MD: &str = include_str!("../templates/summary.md");
const REPORT_HTML: &str = include_str!("../templates/report.html");

/// `summary.md`: a deterministic Markdown summary for CI (e.g. `$GITHUB_STEP_SUMMARY`) and
/// pull requests. Contains no durations; the only time is `started_at` in the header.
pub fn markdown(report: &Report) -> String {
    markdown_of(report, &json_digest(&crate::to_json(report)))
}

/// `summary.md` for a report whose `report.json` has this digest.
pub(crate) fn markdown_of(report: &Report, digest: &str) -> String {
    render("summary.md", &View::new(report, false, digest))
}

/// `sha256:<hex>` of a `report.json`'s bytes: what the HTML and Markdown name as their source,
/// so a reader can tie them to a signed `report.json` (`sha256sum report.json`).
pub fn json_digest(json: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(json.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// `report.html`: one self-contained page (inline CSS, no scripts, no external assets) with the
/// same content as [`markdown`] plus every vector's expectation, outcome and evidence.
pub fn html(report: &Report) -> String {
    html_of(report, &json_digest(&crate::to_json(report)))
}

/// `report.html` for a report whose `report.json` has this digest.
pub(crate) fn html_of(report: &Report, digest: &str) -> String {
    render("report.html", &View::new(report, true, digest))
}

fn render(name: &str, view: &View) -> String {
    match try_render(name, view) {
        Ok(text) => text,
        // Never panic on report content; a broken render says so loudly instead.
        Err(e) => format!("eidconf: could not render {name}: {e:#}\n"),
    }
}

fn try_render(name: &str, view: &View) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()?,
    );
    // HTML escaping of `& < > " '` only: minijinja's default also escapes `/`, which costs
    // five bytes per slash of every path and URL in a report and protects nothing in element
    // content or a double-quoted attribute.
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s) if *state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() => {
            out.write_str(&escape_html(s, true))?;
            Ok(())
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_filter("text", md_text);
    env.add_filter("pre", |s: String| {
        Value::from_safe_string(escape_html(&s, false))
    });
    env.add_filter("code", |s: String| md_code(&s, true));
    env.add_filter("code_inline", |s: String| md_code(&s, false));
    env.add_template("summary.md", SUMMARY_MD)?;
    env.add_template("report.html", REPORT_HTML)?;
    // Without minijinja's `serde` feature, go through serde_json. The view is shallow (evidence
    // is pre-rendered to strings), so the conversion cannot recurse deeply.
    let ctx = serde_json::to_value(view).map_err(|e| {
        minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string())
    })?;
    env.get_template(name)?.render(to_minijinja(&ctx))
}

fn to_minijinja(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::from(u),
            (None, Some(i)) => Value::from(i),
            _ => Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => items.iter().map(to_minijinja).collect(),
        serde_json::Value::Object(map) => Value::from(
            map.iter()
                .map(|(k, v)| (k.clone(), to_minijinja(v)))
                .collect::<std::collections::BTreeMap<String, Value>>(),
        ),
    }
}

fn by_severity(a: &str, b: &str) -> Ordering {
    severity_rank(a)
        .cmp(&severity_rank(b))
        .then_with(|| a.cmp(b))
}

#[derive(Serialize)]
struct View<'a> {
    status: &'static str,
    headline: String,
    schema_version: &'a str,
    harness: &'a crate::Harness,
    rp: &'a crate::RpInfo,
    started_at: &'a str,
    duration_ms: u64,
    vector_set_digest: &'a str,
    known_failures_digest: Option<&'a str>,
    /// The digest of the report.json this page was rendered from.
    report_json_digest: &'a str,
    selection: &'a crate::Selection,
    summary: Summary,
    failing: u32,
    severities: Vec<SeverityCount<'a>>,
    failures: Vec<FailureRow<'a>>,
    /// Deviations from SHOULD/HARDENING requirements: listed with their reason, not failing.
    warnings: Vec<FailureRow<'a>>,
    requirements: Vec<RequirementRow<'a>>,
    requirement_counts: RequirementCounts,
    not_run: Vec<NotRunRow<'a>>,
    known_failures_unused: &'a [String],
    input_errors: &'a [String],
    /// Only for HTML: every vector with its evidence.
    vectors: Vec<VectorRow<'a>>,
    /// Only for HTML: the requirements by suite, each with its vectors' results and a chart.
    suites: Vec<SuiteSection<'a>>,
    /// Only for HTML: vectors waived by the known-failures file (xfail, xpass), with the reason.
    waived: Vec<NotRunRow<'a>>,
    /// Only for HTML: skipped vectors by operation.
    skipped_operations: Vec<SkippedOperation<'a>>,
    operator: Option<&'a str>,
    note: Option<&'a str>,
    /// Only for HTML: the report's shared material, each entry as pretty JSON.
    shared: Vec<SharedEntry<'a>>,
}

#[derive(Serialize)]
struct SharedEntry<'a> {
    key: &'a str,
    json: String,
}

#[derive(Serialize)]
struct SuiteSection<'a> {
    name: &'a str,
    requirements: Vec<RequirementRow<'a>>,
    chart: Chart,
}

/// Results by requirement family (the id up to its second `-`), as horizontal stacked bars.
#[derive(Serialize)]
struct Chart {
    height: u32,
    bars: Vec<Bar>,
}

#[derive(Serialize)]
struct Bar {
    label: String,
    y: u32,
    text_y: u32,
    total: u32,
    segments: Vec<Segment>,
}

#[derive(Serialize)]
struct Segment {
    class: &'static str,
    x: u32,
    width: u32,
    count: u32,
}

#[derive(Serialize)]
struct ResultRow<'a> {
    id: &'a str,
    verdict: &'static str,
    severity: &'a str,
    reason: String,
}

#[derive(Serialize)]
struct SkippedOperation<'a> {
    operation: &'a str,
    count: usize,
    ids: Vec<&'a str>,
}

#[derive(Serialize)]
struct SeverityCount<'a> {
    severity: &'a str,
    count: u32,
}

#[derive(Serialize)]
struct FailureRow<'a> {
    id: &'a str,
    location: &'a str,
    severity: &'a str,
    verdict: &'static str,
    level: &'a str,
    kind: &'static str,
    message: String,
    note: Option<&'a str>,
}

#[derive(Serialize)]
struct RequirementRow<'a> {
    id: &'a str,
    suite: &'a str,
    level: &'a str,
    title: &'a str,
    source: &'a str,
    sources: &'a [crate::Source],
    rationale: Option<&'a str>,
    vectors: &'a [String],
    counts: Summary,
    status: &'static str,
    label: &'static str,
    /// What kept it from being fully tested, e.g. `3 skipped, 1 waived`.
    gaps: String,
    /// Only for HTML: each vector's result and a one-line reason.
    results: Vec<ResultRow<'a>>,
}

#[derive(Serialize, Default)]
struct RequirementCounts {
    total: usize,
    met: usize,
    not_met: usize,
    not_fully_tested: usize,
    untested: usize,
    skipped: usize,
}

#[derive(Serialize)]
struct NotRunRow<'a> {
    id: &'a str,
    verdict: &'static str,
    reason: &'a str,
}

#[derive(Serialize)]
struct VectorRow<'a> {
    id: &'a str,
    title: &'a str,
    location: &'a str,
    operation: &'a str,
    severity: &'a str,
    level: &'a str,
    requirements: &'a [String],
    tags: &'a [String],
    verdict: &'static str,
    failing: bool,
    kind: Option<&'static str>,
    message: Option<&'a str>,
    note: Option<&'a str>,
    duration_ms: u64,
    /// Expected, outcome and evidence, one line per part (see [`evidence_lines`]).
    lines: String,
    /// The key of its environment's shared part in the report's `shared` map.
    shared_environment: Option<&'a str>,
    /// For a failing vector: the command that runs just it against the same RP.
    rerun: Option<String>,
    resources: Option<String>,
}

impl<'a> View<'a> {
    fn new(report: &'a Report, with_vectors: bool, report_json_digest: &'a str) -> Self {
        let mut severities: Vec<SeverityCount<'a>> = report
            .failures_by_severity
            .iter()
            .filter(|(_, count)| **count > 0)
            .map(|(severity, count)| SeverityCount {
                severity,
                count: *count,
            })
            .collect();
        severities.sort_by(|a, b| by_severity(a.severity, b.severity));

        // Critical failures first; within a severity, run order (the sort is stable).
        let mut failures: Vec<FailureRow<'a>> = report
            .vectors
            .iter()
            .filter(|v| v.result.is_failing())
            .map(FailureRow::new)
            .collect();
        failures.sort_by(|a, b| by_severity(a.severity, b.severity));
        let warnings: Vec<FailureRow<'a>> = report
            .vectors
            .iter()
            .filter(|v| v.result == Verdict::Warn)
            .map(FailureRow::new)
            .collect();

        let by_id: std::collections::HashMap<&str, &VectorResult> =
            report.vectors.iter().map(|v| (v.id.as_str(), v)).collect();
        let mut requirement_counts = RequirementCounts::default();
        let requirements = report
            .requirements
            .iter()
            .map(|r| {
                requirement_counts.total += 1;
                let (status, label) = match r.status {
                    RequirementStatus::Met => {
                        requirement_counts.met += 1;
                        ("met", "✅ met")
                    }
                    RequirementStatus::NotMet => {
                        requirement_counts.not_met += 1;
                        ("not_met", "❌ not met")
                    }
                    RequirementStatus::NotFullyTested => {
                        requirement_counts.not_fully_tested += 1;
                        ("not_fully_tested", "⚠️ not fully tested")
                    }
                    RequirementStatus::Untested => {
                        requirement_counts.untested += 1;
                        ("untested", "⚠️ untested")
                    }
                    RequirementStatus::Skipped => {
                        requirement_counts.skipped += 1;
                        ("skipped", "⏭️ skipped")
                    }
                };
                RequirementRow {
                    id: &r.id,
                    suite: &r.suite,
                    level: &r.level,
                    title: &r.title,
                    source: &r.source,
                    sources: &r.sources,
                    rationale: r.rationale.as_deref(),
                    vectors: &r.vectors,
                    counts: r.counts,
                    status,
                    label,
                    gaps: gaps(&r.counts),
                    results: if with_vectors {
                        r.vectors
                            .iter()
                            .filter_map(|id| by_id.get(id.as_str()))
                            .map(|v| ResultRow {
                                id: &v.id,
                                verdict: v.result.as_str(),
                                severity: &v.severity,
                                reason: one_line(v),
                            })
                            .collect()
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();

        let not_run = report
            .vectors
            .iter()
            .filter(|v| matches!(v.result, Verdict::Skip | Verdict::Xfail))
            .map(|v| NotRunRow {
                id: &v.id,
                verdict: v.result.as_str(),
                reason: v
                    .note
                    .as_deref()
                    .or(v.failure.as_ref().map(|f| f.message.as_str()))
                    .unwrap_or("no reason recorded"),
            })
            .collect();

        let invocation = report.rp.invocation.as_deref();
        let vectors = if with_vectors {
            report
                .vectors
                .iter()
                .map(|v| VectorRow::new(v, invocation))
                .collect()
        } else {
            Vec::new()
        };
        let waived = report
            .vectors
            .iter()
            .filter(|v| with_vectors && matches!(v.result, Verdict::Xfail | Verdict::Xpass))
            .map(|v| NotRunRow {
                id: &v.id,
                verdict: v.result.as_str(),
                reason: v.note.as_deref().unwrap_or("no reason recorded"),
            })
            .collect();
        let mut skipped: Vec<SkippedOperation<'a>> = Vec::new();
        for v in report
            .vectors
            .iter()
            .filter(|v| with_vectors && v.result == Verdict::Skip)
        {
            match skipped.iter_mut().find(|s| s.operation == v.operation) {
                Some(s) => {
                    s.count += 1;
                    s.ids.push(&v.id);
                }
                None => skipped.push(SkippedOperation {
                    operation: &v.operation,
                    count: 1,
                    ids: vec![&v.id],
                }),
            }
        }
        // HTML reads the requirements by suite; Markdown as one table.
        let (requirements, suites) = if with_vectors {
            (Vec::new(), by_suite(requirements))
        } else {
            (requirements, Vec::new())
        };

        Self {
            status: if report.passed() { "PASS" } else { "FAIL" },
            headline: crate::headline(report),
            schema_version: &report.schema_version,
            harness: &report.harness,
            rp: &report.rp,
            started_at: &report.started_at,
            duration_ms: report.duration_ms,
            vector_set_digest: &report.vector_set_digest,
            known_failures_digest: report.known_failures_digest.as_deref(),
            report_json_digest,
            selection: &report.selection,
            summary: report.summary,
            failing: report.summary.failing(),
            severities,
            failures,
            warnings,
            requirements,
            requirement_counts,
            not_run,
            known_failures_unused: &report.known_failures_unused,
            input_errors: &report.input_errors,
            vectors,
            suites,
            waived,
            skipped_operations: skipped,
            operator: report.operator.as_deref(),
            note: report.note.as_deref(),
            shared: if with_vectors {
                report
                    .shared
                    .iter()
                    .map(|(key, v)| SharedEntry {
                        key,
                        json: serde_json::to_string_pretty(v)
                            .unwrap_or_else(|e| format!("<unprintable: {e}>")),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// Requirement rows grouped by suite, in first-seen order, each suite with its chart.
fn by_suite(rows: Vec<RequirementRow<'_>>) -> Vec<SuiteSection<'_>> {
    let mut suites: Vec<SuiteSection<'_>> = Vec::new();
    for r in rows {
        match suites.iter_mut().find(|s| s.name == r.suite) {
            Some(s) => s.requirements.push(r),
            None => suites.push(SuiteSection {
                name: r.suite,
                requirements: vec![r],
                chart: Chart {
                    height: 0,
                    bars: Vec::new(),
                },
            }),
        }
    }
    for s in &mut suites {
        s.chart = chart(&s.requirements);
    }
    suites
}

/// A vector's result in one line: the failure or note, cut at 160 characters.
fn one_line(v: &VectorResult) -> String {
    let text = v
        .failure
        .as_ref()
        .map(|f| f.message.as_str())
        .or(v.note.as_deref())
        .unwrap_or("");
    let line = text.lines().next().unwrap_or("");
    match line.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}

/// The family of a requirement id: `FREJA-JWS-ALG` → `FREJA-JWS`.
fn family(id: &str) -> &str {
    match id.match_indices('-').nth(1) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

/// One bar per requirement family, its vectors' results stacked, 400 units wide.
fn chart(requirements: &[RequirementRow<'_>]) -> Chart {
    const CLASSES: [&str; 4] = ["pass", "warn", "fail", "other"];
    let mut families: Vec<(String, [u32; 4])> = Vec::new();
    for r in requirements {
        let f = family(r.id);
        let i = match families.iter().position(|(n, _)| n == f) {
            Some(i) => i,
            None => {
                families.push((f.to_owned(), [0; 4]));
                families.len() - 1
            }
        };
        for v in &r.results {
            let slot = match v.verdict {
                "pass" => 0,
                "warn" => 1,
                "fail" | "error" | "xpass" => 2,
                _ => 3,
            };
            families[i].1[slot] += 1;
        }
    }
    let bars: Vec<Bar> = families
        .into_iter()
        .filter(|(_, counts)| counts.iter().any(|c| *c > 0))
        .enumerate()
        .map(|(i, (label, counts))| {
            let total: u32 = counts.iter().sum();
            let mut x = 0;
            let segments = counts
                .iter()
                .zip(CLASSES)
                .filter(|(c, _)| **c > 0)
                .map(|(c, class)| {
                    let width = (c * 400).div_ceil(total.max(1));
                    let s = Segment {
                        class,
                        x,
                        width,
                        count: *c,
                    };
                    x += width;
                    s
                })
                .collect();
            let y = i as u32 * 22;
            Bar {
                label,
                y,
                text_y: y + 14,
                total,
                segments,
            }
        })
        .collect();
    Chart {
        height: bars.len() as u32 * 22,
        bars,
    }
}

/// `2 warned, 3 skipped, 1 waived, 1 in error`: the vectors that keep a requirement from `met`.
fn gaps(c: &Summary) -> String {
    [
        (c.fail + c.xpass, "failed"),
        (c.warn, "warned"),
        (c.skip, "skipped"),
        (c.xfail, "waived"),
        (c.error, "in error"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect::<Vec<_>>()
    .join(", ")
}

impl<'a> FailureRow<'a> {
    fn new(v: &'a VectorResult) -> Self {
        let (kind, message) = match (&v.failure, v.result) {
            (_, Verdict::Xpass) => (
                "xpass",
                "listed as a known failure but now passes: remove the entry".to_owned(),
            ),
            (Some(f), _) => (f.kind.as_str(), f.message.clone()),
            (None, verdict) => (verdict.as_str(), "no failure detail recorded".to_owned()),
        };
        Self {
            id: &v.id,
            location: &v.location,
            severity: &v.severity,
            verdict: v.result.as_str(),
            level: v.level.as_deref().unwrap_or("MUST"),
            kind,
            message,
            note: v.note.as_deref(),
        }
    }
}

impl<'a> VectorRow<'a> {
    fn new(v: &'a VectorResult, invocation: Option<&str>) -> Self {
        let rerun = v.result.is_failing().then(|| {
            let rp = invocation.map(|i| format!(" {i}")).unwrap_or_default();
            format!("eidconf run --filter '{}'{rp}", v.id.replace('\'', ""))
        });
        Self {
            id: &v.id,
            title: &v.title,
            location: &v.location,
            operation: &v.operation,
            severity: &v.severity,
            level: v.level.as_deref().unwrap_or("MUST"),
            requirements: &v.requirements,
            tags: &v.tags,
            verdict: v.result.as_str(),
            failing: v.result.is_failing(),
            kind: v.failure.as_ref().map(|f| f.kind.as_str()),
            message: v.failure.as_ref().map(|f| f.message.as_str()),
            note: v.note.as_deref(),
            duration_ms: v.duration_ms,
            // A passing vector's lines are a reference, kept short; a deviation's are whole.
            lines: vector_lines(
                v,
                matches!(v.result, Verdict::Pass | Verdict::Skip).then_some(HTML_LINE_CAP),
            ),
            shared_environment: v
                .evidence
                .get("environment")
                .and_then(|e| e.get("shared_environment"))
                .and_then(serde_json::Value::as_str),
            rerun,
            resources: v.resources.as_ref().map(|r| {
                let figure = |x: Option<u64>, unit: &str| {
                    x.map_or("not measured".to_owned(), |n| format!("{n} {unit}"))
                };
                format!(
                    "CPU {}, memory {} ({})",
                    figure(r.cpu_ms, "ms"),
                    figure(r.memory_kib, "KiB"),
                    r.method
                )
            }),
        }
    }
}

/// The longest evidence line the HTML shows for a passing vector, in characters.
const HTML_LINE_CAP: usize = 140;
/// The most evidence lines the HTML shows for a passing vector.
const HTML_LINES: usize = 10;

/// Text for element content or a double-quoted attribute value (`quotes`), or for the content
/// of a `<pre>` element only, where `&`, `<` and `>` are all that need escaping (quotes stay
/// readable and a full report stays small).
fn escape_html(s: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            '\'' if quotes => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `expected: …`, `outcome: …` and the evidence lines (see [`evidence_lines`]): past `cap`
/// characters a line is cut and past [`HTML_LINES`] lines the rest is counted.
fn vector_lines(v: &VectorResult, cap: Option<usize>) -> String {
    // One line each: indentation would double a full report.
    let outcome = v.outcome.as_ref().map_or_else(
        || "none (the adapter returned no outcome)".to_owned(),
        |o| o.to_string(),
    );
    let mut out = Vec::new();
    // A passing vector met its expectation (the title says it; report.json has it whole).
    if cap.is_none() {
        out.push(format!("expected: {}", v.expected));
    }
    out.push(format!("outcome: {outcome}"));
    out.extend(evidence_lines(&v.evidence));
    match cap {
        Some(cap) => cap_lines(out, cap, HTML_LINES),
        None => out.join("\n"),
    }
}

/// Past `cap` characters a line is cut, past `max` lines the rest is counted, each ending in
/// `…(+n)`: n more characters or lines in report.json.
fn cap_lines(mut out: Vec<String>, cap: usize, max: usize) -> String {
    if out.len() > max {
        let more = out.len() - max;
        out.truncate(max);
        out.push(format!("…(+{more} lines)"));
    }
    for l in out.iter_mut() {
        if let Some((at, _)) = l.char_indices().nth(cap) {
            let more = l[at..].chars().count();
            l.truncate(at);
            l.push_str(&format!("…(+{more})"));
        }
    }
    out.join("\n")
}

/// Evidence one line per part: each top-level member, each element of a list, and one level
/// further for `provider` (`served[2]: {...}`, `provider.requests[0]: {...}`), compact JSON.
fn evidence_lines(v: &serde_json::Value) -> Vec<String> {
    fn lines(prefix: &str, v: &serde_json::Value, depth: u8, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) if depth > 0 && !o.is_empty() => {
                for (k, x) in o {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    lines(&p, x, depth - 1, out);
                }
            }
            // Nothing to show; the shared environment's name is a link beside.
            serde_json::Value::Array(a) if a.is_empty() && !prefix.is_empty() => {}
            serde_json::Value::Object(o) if o.is_empty() && !prefix.is_empty() => {}
            _ if prefix == "environment.shared_environment" => {}
            serde_json::Value::Array(a) if a.iter().any(|x| x.is_object() || x.is_array()) => {
                for (i, x) in a.iter().enumerate() {
                    // A response's decoded tokens on lines of their own.
                    let mut x = x.clone();
                    let tokens = x.as_object_mut().and_then(|o| o.remove("tokens"));
                    out.push(format!("{prefix}[{i}]: {x}"));
                    if let Some(serde_json::Value::Array(tokens)) = tokens {
                        for (j, t) in tokens.iter().enumerate() {
                            out.push(format!("{prefix}[{i}].tokens[{j}]: {t}"));
                        }
                    }
                }
            }
            x => out.push(if prefix.is_empty() {
                x.to_string()
            } else {
                format!("{prefix}: {x}")
            }),
        }
    }
    let mut out = Vec::new();
    // What was served and given first: the lines a capped view keeps.
    match v.as_object() {
        Some(o) => {
            let order = ["given_tokens", "served", "provider", "environment"];
            for k in order.iter().filter(|k| o.contains_key(**k)) {
                lines(k, &o[*k], 1, &mut out);
            }
            for (k, x) in o.iter().filter(|(k, _)| !order.contains(&k.as_str())) {
                lines(k, x, 1, &mut out);
            }
        }
        None if v.is_null() => {}
        None => lines("", v, 2, &mut out),
    }
    out
}

/// Markdown inline text, safe inside a GFM table cell: Markdown and HTML syntax is
/// backslash-escaped (so evidence cannot inject tags or links), line breaks become `<br>`.
fn md_text(s: String) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("<br>"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' | '$' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A Markdown code span holding `s` verbatim, whatever backticks it contains. Inside a GFM
/// table `|` must still be escaped, even in code spans; elsewhere that would show the backslash.
fn md_code(s: &str, in_table: bool) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.is_empty() {
        return String::new();
    }
    let longest_run = flat.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') {
        " "
    } else {
        ""
    };
    let body = if in_table {
        flat.replace('|', "\\|")
    } else {
        flat
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md_text_neutralises_markup() {
        assert_eq!(
            md_text("<script>a|b</script>\n*x*".into()),
            "\\<script\\>a\\|b\\</script\\><br>\\*x\\*"
        );
        assert_eq!(md_text("Åsa Öberg".into()), "Åsa Öberg");
    }

    #[test]
    fn md_code_survives_backticks_and_pipes() {
        assert_eq!(md_code("freja.http", true), "`freja.http`");
        assert_eq!(md_code("a`b", false), "``a`b``");
        assert_eq!(md_code("`x`", false), "`` `x` ``");
        assert_eq!(md_code("a|b", true), "`a\\|b`");
        assert_eq!(md_code("a|b", false), "`a|b`");
        assert_eq!(md_code("", true), "");
    }

    #[test]
    fn severities_order_critical_first() {
        let mut s = vec!["low", "zeta", "critical", "alpha", "high"];
        s.sort_by(|a, b| by_severity(a, b));
        assert_eq!(s, ["critical", "high", "low", "alpha", "zeta"]);
    }
}
