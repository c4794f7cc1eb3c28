//! Behaviour of the report model and renderers on a fixed report covering every verdict.

mod fixture;

use eidconf_report::*;
use fixture::{HOSTILE, green_report, report, warned_report};

#[test]
fn summary_counts_each_verdict_once() {
    let s = report().summary;
    assert_eq!(
        (s.total, s.pass, s.fail, s.skip, s.error, s.xfail, s.xpass),
        (7, 1, 2, 1, 1, 1, 1)
    );
    assert_eq!(s.failing(), 4);
    assert_eq!(Summary::of(&report().vectors), s);

    let mut one = Summary::default();
    one.add(Verdict::Xpass);
    assert_eq!(one.xpass, 1);
    assert_eq!(one.total, 1);
    assert_eq!(one.fail + one.pass + one.skip + one.error + one.xfail, 0);
}

#[test]
fn summary_saturates_instead_of_panicking() {
    let mut s = Summary {
        total: u32::MAX,
        pass: u32::MAX,
        ..Summary::default()
    };
    s.add(Verdict::Pass);
    assert_eq!((s.total, s.pass), (u32::MAX, u32::MAX));
}

#[test]
fn failures_by_severity_counts_fail_error_and_xpass_only() {
    let counts = report().failures_by_severity;
    // critical: the wrong_verdict fail; the critical xfail does not count.
    let expected = [("critical", 1), ("high", 1), ("low", 1), ("medium", 1)];
    assert_eq!(
        counts
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        expected
    );
}

#[test]
fn exit_code_is_success_only_without_fail_error_or_xpass() {
    assert_eq!(exit::SUCCESS, 0);
    assert_eq!(exit::FAILURES, 1);
    assert_eq!(exit::BAD_INPUT, 2);

    let green = green_report();
    assert!(green.passed());
    assert_eq!(green.exit_code(), exit::SUCCESS);
    assert!(green.summary.skip > 0 && green.summary.xfail > 0);

    let failing = report();
    assert!(!failing.passed());
    assert_eq!(failing.exit_code(), exit::FAILURES);

    // Each failing verdict alone fails the run.
    for verdict in [Verdict::Fail, Verdict::Error, Verdict::Xpass] {
        let mut r = green_report();
        r.vectors[0].result = verdict;
        r.summary = Summary::of(&r.vectors);
        assert_eq!(r.exit_code(), exit::FAILURES, "{verdict:?}");
    }
    // Each non-failing verdict keeps it green.
    for verdict in [Verdict::Pass, Verdict::Skip, Verdict::Xfail] {
        let mut r = green_report();
        r.vectors[0].result = verdict;
        r.summary = Summary::of(&r.vectors);
        assert_eq!(r.exit_code(), exit::SUCCESS, "{verdict:?}");
    }
}

#[test]
fn exit_code_fails_closed_when_summary_and_vectors_disagree() {
    // A stale summary claiming success must not hide a failing vector...
    let mut r = report();
    r.summary = green_report().summary;
    assert_eq!(r.exit_code(), exit::FAILURES);
    // ...and a summary counting a failure fails the run even if no vector shows it.
    let mut r = green_report();
    r.summary.error = 1;
    assert_eq!(r.exit_code(), exit::FAILURES);
}

#[test]
fn json_round_trips() {
    let original = report();
    let json = to_json(&original);
    assert!(json.ends_with("}\n"));
    assert_eq!(from_json(&json).unwrap(), original);
    // Stable: rendering the parsed report gives the same bytes.
    assert_eq!(to_json(&from_json(&json).unwrap()), json);
}

#[test]
fn json_field_order_follows_the_model() {
    let json = to_json(&report());
    let pos = |key: &str| json.find(&format!("\"{key}\":")).unwrap();
    let keys = [
        "schema_version",
        "harness",
        "rp",
        "started_at",
        "duration_ms",
        "vector_set_digest",
        "selection",
        "summary",
        "failures_by_severity",
        "requirements",
        "vectors",
        "known_failures_unused",
    ];
    for pair in keys.windows(2) {
        assert!(pos(pair[0]) < pos(pair[1]), "{pair:?}");
    }
    assert!(json.contains("\"kind\":\"wrong_verdict\""));
    assert!(json.contains("\"result\":\"xpass\""));
    assert!(json.contains("\"status\":\"not_met\""));
}

#[test]
fn from_json_rejects_another_major_version() {
    let mut value: serde_json::Value = serde_json::from_str(&to_json(&report())).unwrap();
    value["schema_version"] = "2.0".into();
    let err = from_json(&value.to_string()).unwrap_err();
    assert!(
        matches!(&err, ReadError::UnsupportedSchemaVersion { found } if found == "2.0"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("\"2.0\"") && message.contains("1.x"),
        "{message}"
    );

    // Even when the rest of the document is unreadable, the version error wins.
    let err = from_json(r#"{"schema_version": "2.0", "whatever": true}"#).unwrap_err();
    assert!(
        matches!(err, ReadError::UnsupportedSchemaVersion { .. }),
        "{err:?}"
    );

    for bad in ["1", "x.y", "", "01.0.0"] {
        let err = from_json(&format!(r#"{{"schema_version": "{bad}"}}"#)).unwrap_err();
        assert!(
            matches!(err, ReadError::UnsupportedSchemaVersion { .. }),
            "{bad}: {err:?}"
        );
    }
    assert!(matches!(
        from_json(r#"{"schema_version": 1}"#).unwrap_err(),
        ReadError::MissingSchemaVersion
    ));
    assert!(matches!(
        from_json("not json").unwrap_err(),
        ReadError::Json(_)
    ));
}

#[test]
fn from_json_accepts_a_newer_minor_version_with_unknown_fields() {
    let mut value: serde_json::Value = serde_json::from_str(&to_json(&report())).unwrap();
    value["schema_version"] = "1.7".into();
    value["added_in_1_7"] = serde_json::json!({"anything": 1});
    let parsed = from_json(&value.to_string()).unwrap();
    assert_eq!(parsed.schema_version, "1.7");
    assert_eq!(parsed.vectors, report().vectors);
}

/// Counts of an element's opening tags (`<name ` or `<name>` or `<name/>`).
fn count_tag(xml: &str, name: &str) -> usize {
    xml.match_indices(&format!("<{name}"))
        .filter(|(i, m)| matches!(xml.as_bytes().get(i + m.len()), Some(b' ' | b'>' | b'/')))
        .count()
}

#[test]
fn junit_has_the_right_counts_and_parses_as_xml() {
    let xml = junit(&report());
    assert!(xml.starts_with("<?xml"));
    assert_eq!(count_tag(&xml, "testcase"), 7);
    // fail x2 + xpass; error x1; skip + xfail.
    assert_eq!(count_tag(&xml, "failure"), 3);
    assert_eq!(count_tag(&xml, "error"), 1);
    assert_eq!(count_tag(&xml, "skipped"), 2);
    assert!(
        xml.contains(r#"<testsuites name="eidconf" tests="7" skipped="2" failures="3" errors="1""#),
        "{xml}"
    );
    assert!(
        xml.contains(
            r#"<testsuite name="freja.http" tests="3" skipped="0" errors="0" failures="2""#
        ),
        "{xml}"
    );
    assert!(
        xml.contains(r#"message="xfail: tracked in RP-123""#),
        "{xml}"
    );
    assert!(xml.contains(r#"type="wrong_verdict""#));
    assert!(xml.contains(r#"type="adapter_timeout""#));
    assert!(xml.contains(r#"type="xpass""#));

    // Parse it back with quick-junit's deserializer: proves it is well-formed JUnit.
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    assert_eq!((parsed.tests, parsed.failures, parsed.errors), (7, 3, 1));
    let suites: Vec<_> = parsed
        .test_suites
        .iter()
        .map(|s| (s.name.as_str(), s.tests))
        .collect();
    assert_eq!(suites, [("freja.http", 3), ("ftn.oidc", 4)]);
    let skipped: usize = parsed.test_suites.iter().map(|s| s.skipped).sum();
    assert_eq!(skipped, 2);
    let names: Vec<_> = parsed
        .test_suites
        .iter()
        .flat_map(|s| s.test_cases.iter().map(|c| c.name.as_str().to_owned()))
        .collect();
    assert_eq!(
        names,
        report()
            .vectors
            .iter()
            .map(|v| v.id.clone())
            .collect::<Vec<_>>()
    );
}

#[test]
fn junit_escapes_markup_and_keeps_evidence() {
    let xml = junit(&report());
    assert!(
        !xml.contains("<script>"),
        "raw evidence markup leaked into XML"
    );
    assert!(!xml.contains("<b>"));
    assert!(xml.contains("&lt;script&gt;"));
    assert!(xml.contains("Åsa Öberg"));
    assert!(xml.contains("<system-out>"));
}

#[test]
fn markdown_is_deterministic_and_escapes_markup() {
    let md = markdown(&report());
    assert_eq!(md, markdown(&report()));
    assert!(
        md.starts_with(
            "# eidconf conformance report: FAIL: 4 of 7 vectors fail the run (1 critical, 1 high, \
             1 medium, 1 low); also 1 waived failure (1 critical); 1 skipped\n"
        ),
        "{md}"
    );
    assert!(!md.contains("<script>") && !md.contains("<b>"), "{md}");
    // Not HTML-escaped: Markdown backslash escapes instead of entities.
    assert!(!md.contains("&lt;") && !md.contains("&#"), "{md}");
    assert!(md.contains("\\<b\\>user\\</b\\> \\| Åsa"), "{md}");
    // Durations are left out so the file only changes when results do.
    assert!(!md.contains("1234"));
    // Critical failures come first.
    let critical = md.find("`freja.http.status.500`").unwrap();
    let medium = md.find("`freja.http.status.503`").unwrap();
    let high_error = md.find("`ftn.oidc.timeout`").unwrap();
    assert!(critical < high_error && high_error < medium, "{md}");
    insta::assert_snapshot!("summary_md", md);
}

#[test]
fn markdown_of_a_green_run() {
    let mut r = green_report();
    r.selection.loose_reasons = true;
    r.selection.partition = Some("hash:1/2".to_owned());
    r.selection.known_failures = None;
    r.known_failures_unused.clear();
    let md = markdown(&r);
    assert!(
        md.starts_with(
            "# eidconf conformance report: PASS with 1 waived failure (1 critical); 1 skipped\n"
        ),
        "{md}"
    );
    assert!(md.contains("## Failures\n\nNone.\n"), "{md}");
    assert!(md.contains("--loose-reasons"), "{md}");
    insta::assert_snapshot!("summary_md_green", md);
}

/// The audit layout of a small failing run with a waived vector and a skipped operation:
/// summary, requirement traceability with per-vector tables and charts, failures, deviations
/// and waivers, evidence.
#[test]
fn html_snapshot() {
    let mut r = report();
    r.operator = Some("A. Auditor, Example Oy".into());
    r.note = Some("Staging RP, ticket SEC-1".into());
    r.rp.invocation = Some("--rp stdio -- python3 driver.py".into());
    let html = html(&r);
    for section in [
        "summary",
        "requirements",
        "failures",
        "deviations",
        "evidence",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{section}\">")),
            "{section}"
        );
    }
    assert!(html.contains(
        "eidconf run --filter &#39;freja.http.status.500&#39; --rp stdio -- python3 driver.py"
    ));
    insta::assert_snapshot!("report_html", html);
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!("junit_xml", junit(&report()));
}

#[test]
fn html_escapes_evidence_and_is_self_contained() {
    let html = html(&report());
    assert!(
        html.starts_with("<!DOCTYPE html>"),
        "{}",
        &html[..200.min(html.len())]
    );
    assert!(
        html.contains("&lt;script&gt;"),
        "evidence not shown escaped"
    );
    assert!(!html.contains("<script"), "raw <script> in HTML");
    assert!(
        !html.contains("<b>user"),
        "raw markup from a failure message"
    );
    assert!(html.contains("Åsa Öberg"));
    // Links to the requirements' public sources are navigation; nothing is loaded from outside.
    assert!(
        !html.contains("src=") && !html.contains("<link"),
        "external asset"
    );
    assert!(html.contains("<a href=\"https://example.test/freja\">Freja eID RP API</a>"));
    // Quotes cannot end an attribute early.
    assert!(!html.contains("href=\"\""));
    assert!(html.contains("<style>"));
    // One collapsible evidence block per vector (and one listing the skipped operation's
    // vectors, and one per shared entry), failing ones open.
    assert_eq!(html.matches("<details").count(), 9);
    assert!(html.contains("<a href=\"#env-0123abcd4567\">"));
    assert!(html.contains("<details id=\"env-0123abcd4567\">"));
    assert_eq!(html.matches("class=\"failing\" open").count(), 4);
    assert!(html.trim_end().ends_with("</html>"));
    assert!(!html.contains("could not render"));
}

#[test]
fn renderers_do_not_panic_on_hostile_or_empty_content() {
    let mut r = report();
    for v in &mut r.vectors {
        v.id = format!("{HOSTILE}`|{{{{ x }}}}{{% raw %}}\n\u{0}\u{1b}[31m");
        v.severity = String::new();
        v.note = Some("\r\n|".to_owned());
        v.failure = None;
    }
    r.summary = Summary {
        total: u32::MAX,
        fail: u32::MAX,
        error: u32::MAX,
        xpass: u32::MAX,
        ..Summary::default()
    };
    r.schema_version = String::new();
    let _ = to_json(&r);
    let xml = junit(&r);
    quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    let md = markdown(&r);
    assert!(!md.contains("could not render"), "{md}");
    let page = html(&r);
    assert!(!page.contains("could not render"), "{page}");
    assert!(!page.contains("<script"));

    let empty = Report {
        vectors: vec![],
        requirements: vec![],
        known_failures_unused: vec![],
        input_errors: vec![],
        summary: Summary::default(),
        failures_by_severity: Default::default(),
        ..report()
    };
    assert!(markdown(&empty).contains("No vectors were run."));
    assert!(html(&empty).contains("No vectors were run."));
    quick_junit::Report::deserialize_from_str(&junit(&empty)).expect("valid JUnit XML");
}

#[test]
fn write_all_writes_the_four_files() {
    let dir = std::env::temp_dir().join(format!("eidconf-report-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let nested = dir.join("out");
    let paths = write_all(&report(), &nested).unwrap();
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["report.json", "junit.xml", "summary.md", "report.html"]
    );
    let json = std::fs::read_to_string(&paths[0]).unwrap();
    assert_eq!(from_json(&json).unwrap(), report());
    assert_eq!(
        std::fs::read_to_string(&paths[2]).unwrap(),
        markdown(&report())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn input_errors_fail_the_run_as_bad_input_and_are_shown() {
    let mut r = report();
    r.set_input_errors(
        vec![
            "vectors/x.yaml:3:5: unknown field `severty`".into(),
            "vectors/y.yaml:1:1: did not find expected node content".into(),
        ],
        2,
    );
    assert!(!r.passed());
    assert_eq!(r.exit_code(), eidconf_report::exit::BAD_INPUT);
    assert_eq!(r.summary.not_loaded, 2);
    assert!(markdown(&r).contains("Input errors**: 2 vectors or whole files"));
    assert!(html(&r).contains("unknown field `severty`"));
    assert_eq!(from_json(&to_json(&r)).unwrap(), r);
    // JUnit counts them: one erroring testcase each, named by its location.
    let xml = junit(&r);
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    let inputs = parsed
        .test_suites
        .iter()
        .find(|s| s.name.as_str() == "eidconf.inputs")
        .expect("an inputs testsuite");
    let names: Vec<&str> = inputs.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["vectors/x.yaml:3:5", "vectors/y.yaml:1:1"]);
    assert!(xml.contains(r#"type="input_error""#), "{xml}");
    // File and line attributes, which CI systems turn into annotations.
    assert!(
        xml.contains(r#"file="vectors/x.yaml""#) && xml.contains(r#"line="3""#),
        "{xml}"
    );
    assert_eq!(parsed.errors as usize, r.summary.error as usize + 2);
}

#[test]
fn a_warning_passes_the_run_and_is_shown_in_every_format() {
    let r = warned_report();
    assert_eq!(r.summary.warn, 1);
    assert!(r.passed());
    assert_eq!(r.exit_code(), exit::SUCCESS);
    assert_eq!(
        headline(&r),
        "PASS with 1 warning and 1 waived failure (1 critical); 1 skipped"
    );
    let md = markdown(&r);
    assert!(md.contains("## Warnings"), "{md}");
    assert!(md.contains("`freja.http.retry-after`"), "{md}");
    assert!(md.contains("| SHOULD | medium | wire |"), "{md}");
    let page = html(&r);
    assert!(page.contains("<h3>Warnings</h3>") && page.contains("freja.http.retry-after"));
    // JUnit: a passing testcase that carries the warning (no <failure>, so CI stays green).
    let xml = junit(&r);
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    assert_eq!(parsed.failures, 0);
    let case = parsed
        .test_suites
        .iter()
        .flat_map(|s| s.test_cases.iter())
        .find(|c| c.name.as_str() == "freja.http.retry-after")
        .expect("the warned vector is a testcase");
    assert!(matches!(
        case.status,
        quick_junit::TestCaseStatus::Success { .. }
    ));
    assert!(
        case.properties
            .iter()
            .any(|p| p.name.as_str() == "eidconf.result" && p.value.as_str() == "warn")
    );
    let out = case.system_out.as_ref().expect("system-out").as_str();
    assert!(
        out.starts_with("warn (SHOULD): the RP sent 2 request(s)"),
        "{out}"
    );
    assert_eq!(from_json(&to_json(&r)).unwrap(), r);
}

#[test]
fn requirement_status_never_says_met_over_gaps() {
    let of = |verdicts: &[Verdict]| {
        let mut s = Summary::default();
        for v in verdicts {
            s.add(*v);
        }
        s.requirement_status()
    };
    use RequirementStatus::*;
    use Verdict::*;
    assert_eq!(of(&[]), Untested);
    assert_eq!(of(&[Pass, Pass]), Met);
    assert_eq!(of(&[Pass, Warn]), NotMet);
    assert_eq!(of(&[Pass, Fail, Skip]), NotMet);
    assert_eq!(of(&[Pass, Xpass]), NotMet);
    assert_eq!(of(&[Pass, Skip]), NotFullyTested);
    assert_eq!(of(&[Pass, Xfail]), NotFullyTested);
    assert_eq!(of(&[Pass, Error]), NotFullyTested);
    assert_eq!(of(&[Skip, Skip]), Skipped);
}

#[test]
fn headline_of_a_failing_run_with_input_errors_names_them() {
    let mut r = green_report();
    r.input_errors = vec!["vectors/x.yaml:1:1: bad".into()];
    assert!(
        headline(&r).starts_with("FAIL: 1 input error"),
        "{}",
        headline(&r)
    );
}
