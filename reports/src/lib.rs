//! `eidconf-report`: the versioned eidconf report model, exit codes and renderers.
//!
//! This crate does not depend on the harness engine, so CI tools and auditors can read
//! and re-render reports without building the harness (the nextest-metadata pattern).
//!
//! A run writes one canonical JSON report ([`to_json`]); JUnit XML ([`junit`]), a Markdown
//! summary ([`markdown`]) and a self-contained HTML page ([`html`]) are all derived from it,
//! so [`from_json`] followed by a renderer reproduces any of them from an archived report.

mod junit;
mod model;
mod ops;
mod render;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use junit::junit;
pub use model::{
    Failure, FailureKind, Harness, Report, RequirementResult, RequirementStatus, Resources, RpInfo,
    Selection, Source, Summary, VectorResult, Verdict,
};
pub use ops::{Diff, diff, known_failures_yaml, merge};
pub use render::{html, json_digest, markdown};

/// The report format version this crate writes. Readers accept any `1.x`.
pub const SCHEMA_VERSION: &str = "1.3";

/// Process exit codes of `eidconf run` and `eidconf report`. Stable: CI scripts branch on them.
pub mod exit {
    /// Every selected vector passed, warned (a deviation from SHOULD or HARDENING requirements
    /// only; `--strict` makes those `fail`), was skipped, or is a known failure that still fails.
    pub const SUCCESS: i32 = 0;
    /// At least one vector failed, errored, or is a known failure that now passes (`xpass`).
    pub const FAILURES: i32 = 1;
    /// The run could not start: bad arguments, invalid vectors, unreadable known-failures file,
    /// or an unreadable report (for example one of another major schema version).
    pub const BAD_INPUT: i32 = 2;
}

impl Report {
    /// Whether the run passed: no vector is `fail`, `error` or `xpass`.
    ///
    /// Checks both the summary and the vectors, and fails if either disagrees: a summary
    /// that undercounts must never turn a failing run green.
    pub fn passed(&self) -> bool {
        self.input_errors.is_empty()
            && self.summary.failing() == 0
            && !self.vectors.iter().any(|v| v.result.is_failing())
    }

    /// [`exit::SUCCESS`] if [`Report::passed`], otherwise [`exit::FAILURES`].
    /// [`exit::BAD_INPUT`] when some input could not be loaded.
    pub fn exit_code(&self) -> i32 {
        if !self.input_errors.is_empty() {
            exit::BAD_INPUT
        } else if self.passed() {
            exit::SUCCESS
        } else {
            exit::FAILURES
        }
    }
}

/// The one-line verdict every format leads with. It never says a bare PASS while anything was
/// waived, warned, errored or skipped: `PASS with 2 warnings and 9 waived failures (9 critical);
/// 117 skipped`, `FAIL: 3 of 934 vectors fail the run (2 critical, 1 high)`.
pub fn headline(report: &Report) -> String {
    let s = &report.summary;
    let by_severity = |pick: fn(Verdict) -> bool| {
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for v in report.vectors.iter().filter(|v| pick(v.result)) {
            *counts.entry(v.severity.as_str()).or_default() += 1;
        }
        let mut counts: Vec<(&str, u32)> = counts.into_iter().collect();
        counts.sort_by_key(|(severity, _)| severity_rank(severity));
        counts
            .iter()
            .map(|(severity, n)| format!("{n} {severity}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let plural = |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut also = Vec::new();
    if s.warn > 0 {
        also.push(plural(s.warn, "warning", "warnings"));
    }
    if s.xfail > 0 {
        also.push(format!(
            "{} ({})",
            plural(s.xfail, "waived failure", "waived failures"),
            by_severity(|v| v == Verdict::Xfail)
        ));
    }
    let mut line = if !report.input_errors.is_empty() {
        format!(
            "FAIL: {} could not be loaded",
            plural(
                report.input_errors.len() as u32,
                "input error: a vector or file",
                "input errors: vectors or files"
            )
        )
    } else if report.passed() {
        "PASS".to_owned()
    } else {
        let failing = s.failing().max(1);
        let severities = by_severity(Verdict::is_failing);
        format!(
            "FAIL: {failing} of {} vectors fail the run{}",
            s.total,
            if severities.is_empty() {
                String::new()
            } else {
                format!(" ({severities})")
            }
        )
    };
    if !also.is_empty() {
        let joined = match also.as_slice() {
            [one] => one.clone(),
            [first, second] => format!("{first} and {second}"),
            _ => also.join(", "),
        };
        line.push_str(if report.passed() { " with " } else { "; also " });
        line.push_str(&joined);
    }
    if s.skip > 0 {
        line.push_str(&format!("; {} skipped", s.skip));
    }
    if s.total == 0 {
        line.push_str("; no vector ran");
    }
    line
}

/// Known severities first, most severe first; unknown ones after, alphabetically.
pub(crate) fn severity_rank(severity: &str) -> usize {
    const ORDER: [&str; 5] = ["critical", "high", "medium", "low", "info"];
    ORDER
        .iter()
        .position(|s| s.eq_ignore_ascii_case(severity))
        .unwrap_or(ORDER.len())
}

/// `path:line:col` (a vector's `location`, or the start of an input error) as its parts.
pub(crate) fn split_location(location: &str) -> Option<(&str, u64, u64)> {
    let mut parts = location.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    Some((parts.next()?, line, column))
}

/// Severity to the number of vectors with that severity that fail the run (`fail`, `error`,
/// `xpass`): the value of [`Report::failures_by_severity`].
pub fn failures_by_severity(vectors: &[VectorResult]) -> BTreeMap<String, u32> {
    let mut counts = BTreeMap::new();
    for v in vectors.iter().filter(|v| v.result.is_failing()) {
        let n: &mut u32 = counts.entry(v.severity.clone()).or_default();
        *n = n.saturating_add(1);
    }
    counts
}

/// The canonical JSON form: compact (a full run's evidence stays small; `jq .` shows it
/// indented), fields in declaration order, trailing newline.
pub fn to_json(report: &Report) -> String {
    // Cannot fail: every map key is a string and serde_json::Value always serializes.
    let mut json = serde_json::to_string(report).unwrap_or_else(|e| {
        format!(
            "{{\"error\": {:?}}}",
            format!("report serialization failed: {e}")
        )
    });
    json.push('\n');
    json
}

/// Why a report could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// Not JSON, or not a report of a supported version.
    Json(serde_json::Error),
    /// `schema_version` is missing or not a string.
    MissingSchemaVersion,
    /// A different major version (or an unparsable one): this crate cannot read it safely.
    UnsupportedSchemaVersion { found: String },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(e) => write!(f, "invalid eidconf report: {e}"),
            Self::MissingSchemaVersion => {
                f.write_str("invalid eidconf report: no string field \"schema_version\"")
            }
            Self::UnsupportedSchemaVersion { found } => write!(
                f,
                "unsupported eidconf report schema_version {found:?}: eidconf-report {} reads \
                 {}.x (schema_version {SCHEMA_VERSION}); use a matching eidconf-report version",
                env!("CARGO_PKG_VERSION"),
                major(SCHEMA_VERSION).unwrap_or(SCHEMA_VERSION),
            ),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for ReadError {
    fn from(e: serde_json::Error) -> Self {
        Self::Json(e)
    }
}

/// Reads a report written by [`to_json`] of the same major schema version.
///
/// The version is checked before the body, so a 2.x report is refused with a version error
/// rather than a confusing "missing field". Unknown fields are ignored (newer minor versions).
pub fn from_json(json: &str) -> Result<Report, ReadError> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    let found = value
        .get("schema_version")
        .and_then(serde_json::Value::as_str)
        .ok_or(ReadError::MissingSchemaVersion)?;
    if major(found).is_none() || major(found) != major(SCHEMA_VERSION) {
        return Err(ReadError::UnsupportedSchemaVersion {
            found: found.to_owned(),
        });
    }
    Ok(serde_json::from_value(value)?)
}

/// `"1"` for `"1.0"`; `None` unless the version is `MAJOR.MINOR` in digits.
fn major(version: &str) -> Option<&str> {
    let (major, minor) = version.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(major) && digits(minor)).then_some(major)
}

/// File names written by [`write_all`], in order.
pub const REPORT_FILES: [&str; 4] = ["report.json", "junit.xml", "summary.md", "report.html"];

/// Writes `report.json`, `junit.xml`, `summary.md` and `report.html` into `dir` (created if
/// missing) and returns their paths in that order.
pub fn write_all(report: &Report, dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let json = to_json(report);
    let digest = json_digest(&json);
    let contents = [
        json,
        junit(report),
        render::markdown_of(report, &digest),
        render::html_of(report, &digest),
    ];
    let mut written = Vec::with_capacity(contents.len());
    for (name, content) in REPORT_FILES.iter().zip(contents) {
        let path = dir.join(name);
        std::fs::write(&path, content)?;
        written.push(path);
    }
    Ok(written)
}

/// The JSON Schema (draft 2020-12) of [`Report`], as committed in `reports/schema.json`.
pub fn report_schema() -> serde_json::Value {
    schemars::schema_for!(Report).to_value()
}
