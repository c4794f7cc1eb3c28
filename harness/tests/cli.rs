//! The command line as a user meets it: exit codes, located errors, listing, the committed schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn eidconf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eidconf"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("eidconf runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A corpus with the real suites and keys, and one vector file of ours.
fn scratch(vector_file: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = repo();
    std::fs::create_dir_all(dir.path().join("vectors/keys")).unwrap();
    std::fs::create_dir_all(dir.path().join("suites")).unwrap();
    for e in std::fs::read_dir(root.join("vectors/keys")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(
            &p,
            dir.path().join("vectors/keys").join(p.file_name().unwrap()),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("suites/t.yaml"), SUITE).unwrap();
    std::fs::write(dir.path().join("vectors/t.yaml"), vector_file).unwrap();
    dir
}

const SUITE: &str = "suite: t
title: t
references:
  rfc: {title: 'RFC 0: a test document', url: 'https://example.test/rfc0'}
vectors: ['t.*']
requirements:
  - {id: T-1, level: MUST, title: t, sources: [{ref: rfc, section: '§1', quote: 'MUST do t'}]}
";

/// [`SUITE`] with a requirement of each level.
fn suite_levels() -> String {
    format!(
        "{SUITE}  - {{id: T-2, level: SHOULD, title: u, sources: [{{ref: rfc, section: '§2', quote: 'SHOULD do u'}}]}}
  - {{id: T-3, level: HARDENING, title: v, rationale: 'eidconf recommends v because of w'}}
"
    )
}

const ONE: &str = "vectors:
  - id: t.one
    title: one
    requirements: [T-1]
    severity: low
    operation: {op: freja.authenticate, user_info_type: EMAIL, user_info: a@example.com}
    expect: {verdict: accepted}
";

#[test]
fn lint_names_file_line_and_column_of_a_typo() {
    let dir = scratch(&ONE.replace("severity: low", "severity: low\n    expct: {}"));
    let o = eidconf(&["vectors", "lint", "--corpus", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("vectors/t.yaml:6:5: unknown field `expct`"),
        "{}",
        text(&o)
    );
}

#[test]
fn run_refuses_bad_input_with_exit_2() {
    let dir = scratch(&ONE.replace("severity: low", "severity: lowish"));
    let o = eidconf(&[
        "run",
        "--corpus",
        dir.path().to_str().unwrap(),
        "--report-dir",
        dir.path().join("r").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("vectors/t.yaml:5:15"), "{}", text(&o));
    let o = eidconf(&["run", "--partition", "hash:3/2"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn an_unknown_requirement_is_a_lint_error() {
    let dir = scratch(&ONE.replace("[T-1]", "[T-2]"));
    let o = eidconf(&["vectors", "lint", "--corpus", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("vectors/t.yaml:2:5: t.one: requirement `T-2` is not in any suite"),
        "{}",
        text(&o)
    );
}

#[test]
fn the_committed_corpus_lints_clean() {
    let o = eidconf(&["vectors", "lint"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn list_prints_ids_only() {
    let o = eidconf(&["list", "--filter", "freja.*"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.lines().count() > 100);
    assert!(
        out.lines()
            .all(|l| l.starts_with("freja.") && !l.contains(' '))
    );
}

#[test]
fn faults_lists_every_fault_and_always_accept_fails_the_run() {
    let o = eidconf(&["faults"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("retry-on-500"));
    let dir = tempfile::tempdir().unwrap();
    let o = eidconf(&[
        "run",
        "--rp",
        "always-accept",
        "--report-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    for f in ["report.json", "junit.xml", "summary.md"] {
        assert!(dir.path().join(f).is_file(), "{f} written");
    }
}

#[test]
fn the_committed_vector_schema_is_current() {
    let committed = std::fs::read_to_string(repo().join("vectors/schema.json")).unwrap_or_default();
    let fresh = format!(
        "{}\n",
        serde_json::to_string_pretty(&eidconf::vector::schema()).unwrap()
    );
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(repo().join("vectors/schema.json"), &fresh).unwrap();
        return;
    }
    assert!(
        committed == fresh,
        "vectors/schema.json is stale: run `cargo run -- schema vectors > vectors/schema.json` (or UPDATE_SCHEMA=1 cargo test -p eidconf --test cli)"
    );
}

#[test]
fn known_failures_are_strict() {
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known.yaml");
    let reports = dir.path().join("r");
    let run = |file: &str| {
        std::fs::write(&known, file).unwrap();
        eidconf(&[
            "run",
            "--rp",
            "always-accept",
            "--filter",
            "freja.http.auth-init-500-*",
            "--known-failures",
            known.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ])
    };
    // Every selected vector fails under always-accept and is listed: all xfail, the run passes.
    // An entry for vectors outside the selection does not apply; it is not stale.
    let o = run(
        "known_failures:\n  - {id: 'freja.http.auth-init-500-*', reason: retries on 5xx}\n  - {id: nothing.matches, reason: stale}\n  - {id: 'freja.cancel.*', reason: not selected}\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("XFAIL freja.http.auth-init-500"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("UNUSED known failure entry `nothing.matches`"),
        "{}",
        text(&o)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(
        report["known_failures_unused"],
        serde_json::json!(["nothing.matches"])
    );
    assert_eq!(report["summary"]["fail"], 0);
    assert!(report["summary"]["xfail"].as_u64().unwrap() >= 2);

    // A listed vector that passes is an xpass and fails the run.
    std::fs::write(
        &known,
        "known_failures:\n  - {id: 'freja.status.*', reason: x}\n",
    )
    .unwrap();
    let o = eidconf(&[
        "run",
        "--filter",
        "freja.status.approved-*",
        "--known-failures",
        known.to_str().unwrap(),
        "--report-dir",
        reports.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("XPASS freja.status.approved-"),
        "{}",
        text(&o)
    );

    // A malformed known-failures file is bad input, located.
    let o = run("known_failures:\n  - {id: x, reson: typo}\n");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("known.yaml:2:"), "{}", text(&o));
}

/// `ONE`, then a copy `t.two` whose severity is misspelled (line 11, column 15).
fn one_good_one_broken() -> String {
    format!(
        "{ONE}{}",
        ONE.replace("vectors:\n", "")
            .replace("t.one", "t.two")
            .replace("severity: low", "severity: lowish")
    )
}

#[test]
fn a_broken_vector_does_not_stop_the_others() {
    let two = one_good_one_broken();
    let dir = scratch(&two);
    let reports = dir.path().join("r");
    let o = eidconf(&[
        "run",
        "--corpus",
        dir.path().to_str().unwrap(),
        "--report-dir",
        reports.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("vectors/t.yaml:11:15"), "{}", text(&o));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["summary"]["total"], 1, "t.one still ran");
    assert_eq!(report["vectors"][0]["id"], "t.one");
    assert!(
        report["input_errors"][0]
            .as_str()
            .unwrap()
            .contains("vectors/t.yaml:11:15")
    );
    assert!(
        std::fs::read_to_string(reports.join("summary.md"))
            .unwrap()
            .contains("Input errors")
    );
}

/// `list --format json` (what `harness!` reads) names what loads and each input error, so that a
/// harness fails the broken vector alone.
#[test]
fn json_listing_names_input_errors_beside_the_vectors_that_load() {
    let two = one_good_one_broken();
    let dir = scratch(&two);
    let corpus = dir.path().to_str().unwrap();
    let o = eidconf(&["list", "--format", "json", "--corpus", corpus]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["id"], "t.one");
    assert_eq!(lines[0]["operation"], "freja.authenticate");
    assert_eq!(lines[1]["input_error"], "vectors/t.yaml:11:15");
    // Text listing still refuses: a list of ids cannot say what is missing.
    let o = eidconf(&["list", "--corpus", corpus]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

/// What the RP is handed is standard PEM that any library reads (panva `jose`'s `importX509`
/// refuses text before the boundary); the test marking lives in names, the manifest and subjects.
#[test]
fn test_keys_are_standard_pem_and_say_test_only_in_their_subjects() {
    let dir = repo().join("vectors/keys");
    let pki = eidconf::pki::Pki::load(&dir).expect("the test PKI loads");
    for name in pki.names() {
        let c = pki.get(name).unwrap();
        assert!(
            c.cert_pem.starts_with("-----BEGIN CERTIFICATE-----\n"),
            "{name}"
        );
        assert!(
            c.key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"),
            "{name}"
        );
        let (_, cert) = x509_parser::parse_x509_certificate(&c.cert_der).unwrap();
        assert!(
            cert.subject().to_string().contains("TEST ONLY"),
            "{name}: {}",
            cert.subject()
        );
    }
    let manifest = std::fs::read_to_string(dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("TEST ONLY"));
}

/// A happy-path authentication the reference RP accepts, expected to be refused: a deviation.
const DEVIATION: &str = "vectors:
  - id: t.deviation
    title: the reference accepts what this vector says to refuse
    requirements: [REQ]
    severity: low
    operation: {op: freja.authenticate, user_info_type: EMAIL, user_info: a@example.com}
    expect: {verdict: rejected}
";

#[test]
fn a_deviation_under_should_or_hardening_warns_and_strict_fails() {
    for req in ["T-2", "T-3"] {
        let dir = scratch(&DEVIATION.replace("REQ", req));
        std::fs::write(dir.path().join("suites/t.yaml"), suite_levels()).unwrap();
        let corpus = dir.path().to_str().unwrap();
        let out = dir.path().join("out");
        let o = eidconf(&[
            "run",
            "--corpus",
            corpus,
            "--report-dir",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{req}: {}", text(&o));
        assert!(text(&o).contains("WARN  t.deviation [low"), "{}", text(&o));
        assert!(
            text(&o).contains("eidconf: PASS with 1 warning"),
            "{}",
            text(&o)
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap())
                .unwrap();
        assert_eq!(report["vectors"][0]["result"], "warn");
        assert_eq!(report["summary"]["warn"], 1);
        let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
        assert!(
            md.starts_with("# eidconf conformance report: PASS with 1 warning\n"),
            "{md}"
        );
        let o = eidconf(&[
            "run",
            "--strict",
            "--corpus",
            corpus,
            "--report-dir",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{req}: {}", text(&o));
        assert!(text(&o).contains("FAIL  t.deviation"), "{}", text(&o));
    }
    // Under a MUST requirement the same deviation fails without --strict.
    let dir = scratch(&DEVIATION.replace("REQ", "T-1"));
    let o = eidconf(&[
        "run",
        "--corpus",
        dir.path().to_str().unwrap(),
        "--report-dir",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn lint_refuses_untraced_requirements_and_critical_without_must() {
    let dir = scratch(ONE);
    let suite = dir.path().join("suites/t.yaml");
    let lint = |suite_text: &str| {
        std::fs::write(&suite, suite_text).unwrap();
        let o = eidconf(&["vectors", "lint", "--corpus", dir.path().to_str().unwrap()]);
        (o.status.code(), text(&o))
    };
    let (code, out) = lint(&suite_levels().replace(
        ", sources: [{ref: rfc, section: '§1', quote: 'MUST do t'}]",
        "",
    ));
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("suites/t.yaml:7:10: requirement `T-1` is MUST but cites no source"),
        "{out}"
    );
    let (code, out) =
        lint(&suite_levels().replace(", rationale: 'eidconf recommends v because of w'", ""));
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("requirement `T-3` is HARDENING: say why"),
        "{out}"
    );
    let (code, out) =
        lint(&suite_levels().replace("{ref: rfc, section: '§2'", "{ref: rfx, section: '§2'"));
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("`rfx` is not in this suite's `references`"),
        "{out}"
    );
    let (code, out) = lint(&suite_levels().replace("level: MUST", "level: MAY"));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("suites/t.yaml:7"), "{out}");
    // A critical vector needs a MUST requirement.
    std::fs::write(&suite, suite_levels()).unwrap();
    let three = format!(
        "{}{}{}",
        ONE.replace("[T-1]", "[T-3]")
            .replace("severity: low", "severity: critical"),
        &ONE.replace("t.one", "t.two")["vectors:\n".len()..],
        &ONE.replace("t.one", "t.three").replace("[T-1]", "[T-2]")["vectors:\n".len()..],
    );
    std::fs::write(dir.path().join("vectors/t.yaml"), three).unwrap();
    let o = eidconf(&["vectors", "lint", "--corpus", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(
            "t.one: is critical, which is reserved for an authentication bypass under a MUST"
        ),
        "{}",
        text(&o)
    );
}

#[test]
fn a_closed_stdout_ends_no_command_with_a_panic() {
    for args in [&["faults"][..], &["checks"], &["list"]] {
        // The reader is gone before eidconf writes a byte: every write meets a closed pipe.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_eidconf"))
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn a_vector_may_point_an_rp_at_loopback_only() {
    let targets = [
        (
            "details: {header: {jku: 'https://169.254.169.254/latest/meta-data'}}",
            "jku",
        ),
        (
            "details: {header: {x5u: 'http://10.0.0.8/chain.pem'}}",
            "x5u",
        ),
        (
            "freja: {auth_init: [{status: 302, headers: {Location: 'https://example.com/x'}}]}",
            "Location",
        ),
    ];
    for (provider, member) in targets {
        let file = ONE.replace(
            "    expect:",
            &format!("    provider: {{{provider}}}\n    expect:"),
        );
        let dir = scratch(&file);
        let o = eidconf(&["vectors", "lint", "--corpus", dir.path().to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{member}: {}", text(&o));
        assert!(
            text(&o).contains(member) && text(&o).contains("not on loopback"),
            "{member}: {}",
            text(&o)
        );
        // `run` drops the vector with the same error and sends nothing anywhere.
        let out = dir.path().join("out");
        let o = eidconf(&[
            "run",
            "--corpus",
            dir.path().to_str().unwrap(),
            "--report-dir",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{member}: {}", text(&o));
        let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
        assert!(junit.contains("type=\"input_error\""), "{junit}");
        let report = std::fs::read_to_string(out.join("report.json")).unwrap();
        assert!(report.contains("\"not_loaded\":1"), "{report}");
    }
    // Loopback, and relative references, are fine.
    let file = ONE.replace(
        "    expect:",
        "    provider: {freja: {auth_get_one_result: [{body: {result: {status: APPROVED, details: {header: {jku: 'http://127.0.0.1:9/j', x5u: '/x'}}}}}]}}\n    expect:",
    );
    let o = eidconf(&[
        "vectors",
        "lint",
        "--corpus",
        scratch(&file).path().to_str().unwrap(),
    ]);
    assert!(!text(&o).contains("not on loopback"), "{}", text(&o));
}

#[test]
fn ci_semantics_refuse_what_would_pass_silently() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--report-dir", dir];
        args.extend_from_slice(extra);
        let o = eidconf(&args);
        (o.status.code(), text(&o))
    };
    // A selection that matches nothing is a mistake, unless said otherwise.
    let (code, out) = run(&["--filter", "no.such.vector.*"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("matches no vector"), "{out}");
    let (code, out) = run(&["--filter", "no.such.vector.*", "--allow-empty"]);
    assert_eq!(code, Some(0), "{out}");
    // Zero jobs or a zero timeout is refused, not quietly raised.
    assert_eq!(run(&["-j", "0"]).0, Some(2));
    assert_eq!(run(&["--timeout", "0"]).0, Some(2));
    let (code, out) = run(&["--require-operations", "freja.teleport"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("`freja.teleport` is not an operation"),
        "{out}"
    );
    // An unwritable report directory is found before the run, not after it.
    // (a path below a regular file: no directory can be made there)
    let blocker = tempfile::NamedTempFile::new().unwrap();
    let below = blocker.path().join("reports");
    let o = eidconf(&["run", "--report-dir", below.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("cannot write the reports"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("vectors against"), "{}", text(&o));
}

#[test]
fn required_operations_fail_where_they_would_be_skipped() {
    // A driver that declares dn.validate only.
    let hello = r#"read x; echo '{"type":"hello","protocol":1,"name":"dn-only","version":"1","operations":["dn.validate"]}'; cat >/dev/null"#;
    let out = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--filter",
            "freja.cancel.*",
            "--rp",
            "stdio",
            "--report-dir",
            out.path().to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "sh", "-c", hello]);
        let o = eidconf(&args);
        (o.status.code(), text(&o))
    };
    let (code, out_text) = run(&[]);
    assert_eq!(code, Some(0), "skipped by default: {out_text}");
    for flag in [
        &["--require-operations", "freja.cancel,freja.sign"][..],
        &["--fail-on-skip"][..],
    ] {
        let (code, out_text) = run(flag);
        assert_eq!(code, Some(1), "{flag:?}: {out_text}");
        assert!(
            out_text.contains("the RP does not declare the operation `freja.cancel`, which"),
            "{out_text}"
        );
        let junit = std::fs::read_to_string(out.path().join("junit.xml")).unwrap();
        assert!(junit.contains(r#"type="unsupported""#), "{junit}");
    }
    // Requiring another operation leaves these skipped.
    let (code, out_text) = run(&["--require-operations", "freja.sign"]);
    assert_eq!(code, Some(0), "{out_text}");
}

fn report_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// id → result of a report.json.
fn results(report: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    report["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_owned(),
                v["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn report_commands_merge_shards_diff_baselines_and_write_known_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let at = |name: &str| tmp.path().join(name);
    let run = |dir: &Path, extra: &[&str]| {
        let mut args = vec![
            "run",
            "--filter",
            "freja.http.*",
            "--rp",
            "always-accept",
            "--report-dir",
            dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        eidconf(&args)
    };
    // Three shards merge into the unsharded run's results.
    assert_eq!(run(&at("whole"), &[]).status.code(), Some(1));
    let mut shards = Vec::new();
    for k in 1..=3 {
        let dir = at(&format!("shard{k}"));
        let _ = run(&dir, &["--partition", &format!("hash:{k}/3")]);
        shards.push(dir.join("report.json").to_str().unwrap().to_owned());
    }
    let merged_dir = at("merged");
    let mut args = vec![
        "report",
        "merge",
        "--report-dir",
        merged_dir.to_str().unwrap(),
    ];
    args.splice(2..2, shards.iter().map(String::as_str));
    let o = eidconf(&args);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let (whole, merged) = (report_json(&at("whole")), report_json(&at("merged")));
    assert_eq!(results(&merged), results(&whole));
    assert_eq!(merged["summary"], whole["summary"]);
    assert!(at("merged/junit.xml").exists() && at("merged/report.html").exists());

    // The failures become a known-failures file under which the same run passes (all xfail).
    let o = eidconf(&[
        "report",
        "known-failures",
        at("whole/report.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    std::fs::write(at("known.yaml"), &o.stdout).unwrap();
    let o = run(
        &at("waived"),
        &["--known-failures", at("known.yaml").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // A diff against the reference RP's run: the always-accept run regresses (exit 1); the
    // other way round only fixes (exit 0).
    let o = eidconf(&[
        "run",
        "--filter",
        "freja.http.*",
        "--report-dir",
        at("reference").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (reference, accept) = (at("reference/report.json"), at("whole/report.json"));
    let o = eidconf(&[
        "report",
        "diff",
        reference.to_str().unwrap(),
        accept.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("new failures ("), "{}", text(&o));
    let o = eidconf(&[
        "report",
        "diff",
        accept.to_str().unwrap(),
        reference.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("fixed ("), "{}", text(&o));

    // Render writes every format again; a file that is not a report is bad input.
    std::fs::remove_file(at("reference/report.html")).unwrap();
    let o = eidconf(&["report", "render", reference.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(at("reference/report.html").exists());
    std::fs::write(at("junk.json"), "{\"not\": \"a report\"}").unwrap();
    let o = eidconf(&["report", "render", at("junk.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn failures_print_as_they_happen_quiet_prints_the_headline_and_colour_is_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let base = [
        "run",
        "--filter",
        "freja.http.*",
        "--rp",
        "always-accept",
        "--report-dir",
        dir,
    ];
    let plain = eidconf(&base);
    let out = String::from_utf8_lossy(&plain.stdout);
    assert!(
        out.lines()
            .filter(|l| l.starts_with("FAIL  freja.http."))
            .count()
            > 10,
        "{out}"
    );
    assert!(
        !out.contains('\x1b'),
        "no colour unless asked for off a terminal"
    );

    let quiet = eidconf(&[&base[..], &["--quiet"]].concat());
    let out = String::from_utf8_lossy(&quiet.stdout);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.starts_with("eidconf: FAIL: "), "{out}");
    assert_eq!(quiet.status.code(), plain.status.code());

    let coloured = eidconf(&[&base[..], &["--color", "always"]].concat());
    let out = String::from_utf8_lossy(&coloured.stdout);
    assert!(out.contains("\x1b[1;31mFAIL \x1b[0m freja.http."), "{out}");
}
