//! JUnit XML through quick-junit (nextest's serializer), so CI systems show vectors as tests.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use crate::{Report, VectorResult, Verdict};

/// The report as JUnit XML.
///
/// - one `<testsuite>` per id namespace (the first two dot-separated segments, e.g.
///   `freja.http`), in order of first appearance; the testcase name is the vector id;
/// - `fail` and `xpass` are `<failure>`, `error` is `<error>`, each with the failure kind as
///   `type`, the message, and the expectation, outcome and evidence in `<system-out>`;
/// - `skip` and `xfail` are `<skipped>` (`xfail: <note>` for known failures);
/// - every testcase carries `file` and `line` attributes (the vector's, or the input error's);
/// - every input that could not be loaded is an `<error>` testcase (type `input_error`, named
///   by its file:line:col) in a testsuite `eidconf.inputs`, so that a CI view shows it and the
///   totals count it;
/// - `warn` is a passing testcase: JUnit has no warning status, and a `<failure>` would fail
///   every CI that reads the file, which a deviation from a SHOULD or HARDENING requirement must
///   not do. The warning is in `<system-out>` (which CI views show for passed tests too) and in
///   the properties `eidconf.result` = `warn` and `eidconf.warning` (for tools that read them).
pub fn junit(report: &Report) -> String {
    let mut out = quick_junit::Report::new("eidconf");
    out.set_time(Duration::from_millis(report.duration_ms));

    let mut suites: Vec<TestSuite> = Vec::new();
    for vector in &report.vectors {
        let name = namespace(&vector.id);
        let index = match suites.iter().position(|s| s.name.as_str() == name) {
            Some(i) => i,
            None => {
                suites.push(new_suite(report, name));
                suites.len() - 1
            }
        };
        if let Some(suite) = suites.get_mut(index) {
            suite.add_test_case(test_case(vector, name));
        }
    }
    if !report.input_errors.is_empty() {
        let mut suite = new_suite(report, INPUTS);
        for e in &report.input_errors {
            suite.add_test_case(input_case(e));
        }
        suites.insert(0, suite);
    }
    for suite in &mut suites {
        let time = suite.test_cases.iter().filter_map(|c| c.time).sum();
        suite.set_time(time);
    }
    out.add_test_suites(suites);

    // Writing into a Vec cannot fail; fall back to a minimal hand-written document anyway
    // so that a CI step always gets parseable XML that fails loudly.
    out.to_string().unwrap_or_else(|e| fallback(&e.to_string()))
}

/// The testsuite of inputs that could not be loaded.
const INPUTS: &str = "eidconf.inputs";

/// An input error `file:line:col: message` as an erroring testcase named by its location.
fn input_case(error: &str) -> TestCase {
    let first = error.lines().next().unwrap_or(error);
    let (name, message) = match first.split_once(": ") {
        Some((at, msg)) if at.contains(':') && !at.contains(' ') => (at, msg),
        _ => ("input", first),
    };
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status
        .set_type("input_error")
        .set_message(message)
        .set_description(error);
    let mut case = TestCase::new(name, status);
    case.set_classname(INPUTS);
    set_file_and_line(&mut case, name);
    case
}

/// `file` and `line` attributes from `path:line:col`, which GitHub and GitLab turn into
/// annotations on the vector file.
fn set_file_and_line(case: &mut TestCase, location: &str) {
    if let Some((file, line, _)) = crate::split_location(location) {
        case.extra.insert("file".into(), file.into());
        case.extra.insert("line".into(), line.to_string().into());
    }
}

/// `freja.http` for `freja.http.status.500`; always a proper prefix when the id has a dot.
fn namespace(id: &str) -> &str {
    let mut dots = id.match_indices('.').map(|(i, _)| i);
    match (dots.next(), dots.next()) {
        (Some(_), Some(second)) if second + 1 < id.len() => &id[..second],
        (Some(first), _) => &id[..first],
        (None, _) => id,
    }
}

fn new_suite(report: &Report, name: &str) -> TestSuite {
    let mut suite = TestSuite::new(name);
    // Properties make the JUnit file self-describing when it travels without report.json.
    suite.add_properties([
        Property::new(
            "harness",
            format!("{} {}", report.harness.name, report.harness.version),
        ),
        Property::new("rp", format!("{} {}", report.rp.name, report.rp.version)),
        Property::new("started_at", &report.started_at),
        Property::new("vector_set_digest", &report.vector_set_digest),
        Property::new("headline", crate::headline(report)),
        Property::new("schema_version", &report.schema_version),
    ]);
    suite
}

fn test_case(v: &VectorResult, classname: &str) -> TestCase {
    let failure_kind = v.failure.as_ref().map(|f| f.kind.as_str());
    let failure_message = v.failure.as_ref().map(|f| f.message.as_str());
    let status = match v.result {
        Verdict::Pass | Verdict::Warn => TestCaseStatus::success(),
        Verdict::Fail | Verdict::Error => {
            let kind = if v.result == Verdict::Fail {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut status = TestCaseStatus::non_success(kind);
            status
                .set_type(failure_kind.unwrap_or(v.result.as_str()))
                .set_message(failure_message.unwrap_or("no failure detail recorded"))
                .set_description(description(v));
            status
        }
        Verdict::Xpass => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_type("xpass")
                .set_message(format!(
                    "xpass: listed as a known failure but now passes; remove the entry ({})",
                    v.note.as_deref().unwrap_or("no reason recorded")
                ))
                .set_description(description(v));
            status
        }
        Verdict::Skip => {
            let mut status = TestCaseStatus::skipped();
            status
                .set_type("skip")
                .set_message(v.note.as_deref().unwrap_or("skipped"));
            status
        }
        Verdict::Xfail => {
            let mut status = TestCaseStatus::skipped();
            status.set_type("xfail").set_message(format!(
                "xfail: {}",
                v.note
                    .as_deref()
                    .or(failure_message)
                    .unwrap_or("known failure")
            ));
            status
        }
    };
    let mut case = TestCase::new(&v.id, status);
    case.set_classname(classname)
        .set_time(Duration::from_millis(v.duration_ms));
    set_file_and_line(&mut case, &v.location);
    if v.result.is_failing() {
        case.set_system_out(system_out(v));
    }
    if v.result == Verdict::Warn {
        let warning = format!(
            "warn ({}): {}",
            v.level.as_deref().unwrap_or("SHOULD"),
            failure_message.unwrap_or("no detail recorded")
        );
        case.add_properties([
            Property::new("eidconf.result", "warn"),
            Property::new("eidconf.warning", &warning),
        ]);
        case.set_system_out(format!("{warning}\n\n{}", system_out(v)));
    }
    case
}

/// The failure element's text: where the vector is and what it covers.
fn description(v: &VectorResult) -> String {
    let mut text = format!(
        "{}\ntitle: {}\nseverity: {}\nrequirements: {}",
        v.location,
        v.title,
        v.severity,
        v.requirements.join(", ")
    );
    if let Some(note) = &v.note {
        text.push_str("\nnote: ");
        text.push_str(note);
    }
    text
}

fn system_out(v: &VectorResult) -> String {
    let pretty = |value: &serde_json::Value| {
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("<unprintable: {e}>"))
    };
    let outcome = v.outcome.as_ref().map_or_else(
        || "none (the adapter returned no outcome)".to_owned(),
        pretty,
    );
    format!(
        "expected:\n{}\n\noutcome:\n{}\n\nevidence:\n{}\n",
        pretty(&v.expected),
        outcome,
        pretty(&v.evidence)
    )
}

fn fallback(error: &str) -> String {
    let escaped = error
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"eidconf\" tests=\"1\" \
         failures=\"0\" errors=\"1\"><testsuite name=\"eidconf.report\" tests=\"1\" failures=\"0\" \
         errors=\"1\"><testcase name=\"eidconf.report.junit\"><error message=\"JUnit \
         serialization failed: {escaped}\"/></testcase></testsuite></testsuites>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::namespace;

    #[test]
    fn namespace_is_first_two_segments_and_a_proper_prefix() {
        assert_eq!(namespace("freja.http.status.500"), "freja.http");
        assert_eq!(namespace("freja.http.status"), "freja.http");
        assert_eq!(namespace("freja.http"), "freja");
        assert_eq!(namespace("freja.http."), "freja");
        assert_eq!(namespace("freja"), "freja");
        assert_eq!(namespace(""), "");
        assert_eq!(namespace("é.ö.x"), "é.ö");
    }
}
