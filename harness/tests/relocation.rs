//! The binary carries its corpus: copied out of the checkout, with nothing else beside it, it
//! lists, expands and runs exactly what the checkout does.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Run `binary` in `cwd` with a private HOME and cache, so nothing of this machine is found.
fn run_in(binary: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(binary)
        .args(args)
        .current_dir(cwd)
        .env("HOME", cwd)
        .env("XDG_CACHE_HOME", cwd.join("cache"))
        .env_remove("EIDCONF_CORPUS")
        .output()
        .expect("eidconf runs")
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What must not differ between two runs of the same vectors: everything but timings and
/// measured costs, the evidence (which names the mock's ports) and the time claims of the
/// identities returned.
fn verdicts(report_dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(report_dir.join("report.json")).expect("report.json");
    let mut r: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    for v in r["vectors"].as_array_mut().expect("vectors") {
        let v = v.as_object_mut().expect("object");
        v.remove("duration_ms");
        v.remove("resources");
        v.remove("evidence");
        if let Some(serde_json::Value::Object(identity)) =
            v.get_mut("outcome").and_then(|o| o.get_mut("identity"))
        {
            for claim in ["iat", "exp", "nbf", "auth_time"] {
                identity.remove(claim);
            }
        }
    }
    let o = r.as_object_mut().expect("object");
    o.remove("started_at");
    o.remove("duration_ms");
    r
}

#[test]
fn a_relocated_binary_runs_its_embedded_corpus_like_the_checkout() {
    let away = tempfile::tempdir().unwrap();
    let binary = away.path().join("eidconf");
    std::fs::copy(env!("CARGO_BIN_EXE_eidconf"), &binary).unwrap();
    let checkout = env!("CARGO_BIN_EXE_eidconf").as_ref();
    let root = repo();
    let root = root.to_str().unwrap();

    // The same vectors, expanded the same way.
    for args in [
        &["list", "--format", "json"][..],
        &["vectors", "expand"][..],
    ] {
        let here = ok(&run_in(&binary, away.path(), args));
        let mut with_corpus = args.to_vec();
        with_corpus.extend(["--corpus", root]);
        let there = ok(&run_in(checkout, away.path(), &with_corpus));
        assert!(here.lines().count() > 1000, "{args:?}: the whole corpus");
        assert!(here == there, "{args:?} differs from the checkout's");
    }
    let cache = ok(&run_in(&binary, away.path(), &["corpus", "path"]));
    assert!(
        cache.starts_with(away.path().join("cache").to_str().unwrap()),
        "{cache}"
    );

    // The same report for a run (a slice of every suite, to keep the test short).
    let select = [
        "--filter",
        "dn.*",
        "--filter",
        "freja.jws.verify-*",
        "--filter",
        "ftn.claims.*",
    ];
    let mut args = vec!["run", "--report-dir", "relocated"];
    args.extend(select);
    ok(&run_in(&binary, away.path(), &args));
    let mut args = vec!["run", "--report-dir", "checkout", "--corpus", root];
    args.extend(select);
    ok(&run_in(checkout, away.path(), &args));
    let (relocated, checkout) = (
        verdicts(&away.path().join("relocated")),
        verdicts(&away.path().join("checkout")),
    );
    assert!(relocated["vectors"].as_array().unwrap().len() > 50);
    assert_eq!(relocated, checkout);
}

#[test]
fn export_writes_a_corpus_that_runs_and_will_not_overwrite_one() {
    let away = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_eidconf").as_ref();
    let out = ok(&run_in(binary, away.path(), &["corpus", "export", "mine"]));
    assert!(out.is_empty());
    for file in [
        "vectors/schema.json",
        "vectors/keys/manifest.yaml",
        "suites/freja-eid.yaml",
    ] {
        let exported = std::fs::read(away.path().join("mine").join(file)).unwrap();
        assert_eq!(
            exported,
            std::fs::read(repo().join(file)).unwrap(),
            "{file}"
        );
    }
    let again = run_in(binary, away.path(), &["corpus", "export", "mine"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    ok(&run_in(
        binary,
        away.path(),
        &["vectors", "lint", "--corpus", "mine"],
    ));
}
