//! `eidconf import`: the committed peer vectors are exactly what the vendored sources import to,
//! and bad input is an error naming the file and the JSON path, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use eidconf::import;

fn imported() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/imported")
}

fn assert_committed(files: &[import::OutFile]) {
    assert!(!files.is_empty());
    for f in files {
        let path = imported().join(&f.name);
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == f.text,
            "{} is not what `eidconf import` makes of the vendored source; import again",
            path.display()
        );
        assert!(f.counts.total() > 0);
    }
}

#[test]
fn reimporting_wycheproof_gives_the_committed_files() {
    let source = imported().join("wycheproof/source");
    let once = import::wycheproof(&source).expect("imports");
    assert_eq!(once, import::wycheproof(&source).expect("imports again"));
    assert_committed(&once);
    let jws = &once[0].counts;
    assert!(jws.substituted > 0 && jws.transplanted > 0 && jws.shape > 0 && jws.verbatim > 0);
}

#[test]
fn reimporting_rfc7520_gives_the_committed_files() {
    let source = imported().join("rfc7520/source");
    let once = import::rfc7520(&source).expect("imports");
    assert_eq!(once, import::rfc7520(&source).expect("imports again"));
    assert_committed(&once);
}

fn import_error(body: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("json_web_signature_test.json"), body).unwrap();
    import::wycheproof(dir.path()).unwrap_err().to_string()
}

#[test]
fn bad_input_names_the_file_and_the_json_path() {
    let e = import_error(r#"{"testGroups": [{"tests": [{"tcId": 1, "jws": "a.b.c"}]}]}"#);
    assert!(
        e.contains("json_web_signature_test.json at testGroups[0].tests[0].result"),
        "{e}"
    );
    let e = import_error(r#"{"testGroups": [{"tests": [{"tcId": 1, "result": "valid"}]}]}"#);
    assert!(e.contains("testGroups[0].tests[0].jws"), "{e}");
    let e = import_error(r#"{"testGroups": {}}"#);
    assert!(e.contains("at testGroups: missing or not an array"), "{e}");
    let e = import_error("{\n  \"testGroups\": [,]\n}");
    assert!(e.contains("not JSON (line 2, column"), "{e}");
    let none = tempfile::tempdir().unwrap();
    let e = import::rfc7520(none.path()).unwrap_err().to_string();
    assert!(e.contains("jws"), "{e}");
}

#[test]
fn the_command_exits_2_on_bad_input_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("json_web_encryption_test.json"), "[1, 2").unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_eidconf"))
        .args(["import", "wycheproof"])
        .arg(dir.path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("json_web_encryption_test.json"), "{stderr}");
    assert!(!out.exists());
}
