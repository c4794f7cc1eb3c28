//! A signed report is checked by a standard tool, `ssh-keygen -Y verify` (OpenSSH's
//! PROTOCOL.sshsig), and by `eidconf report verify`; one flipped byte fails both.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn eidconf(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eidconf"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("eidconf runs")
}

fn ssh_keygen_verify(dir: &Path) -> Output {
    let report = std::fs::File::open(dir.join("r/report.json")).unwrap();
    Command::new("ssh-keygen")
        .args([
            "-Y",
            "verify",
            "-f",
            "allowed_signers",
            "-I",
            "auditor@example.com",
        ])
        .args(["-n", "eidconf-report", "-s", "r/report.json.sig"])
        .current_dir(dir)
        .stdin(Stdio::from(report))
        .output()
        .expect("ssh-keygen (Debian: openssh-client) is installed; .ci/run installs it")
}

#[test]
fn a_signed_report_verifies_with_ssh_keygen_and_eidconf_and_a_flipped_byte_fails_both() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A TEST-ONLY key, made for this test and thrown away with it.
    let made = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "eidconf TEST-ONLY report signer",
        ])
        .args(["-f", "signer"])
        .current_dir(dir)
        .output()
        .expect("ssh-keygen (Debian: openssh-client) is installed; .ci/run installs it");
    assert!(made.status.success(), "{made:?}");
    let public = std::fs::read_to_string(dir.join("signer.pub")).unwrap();
    std::fs::write(
        dir.join("allowed_signers"),
        format!("# who may sign\nauditor@example.com namespaces=\"eidconf-report\" {public}"),
    )
    .unwrap();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let o = eidconf(
        dir,
        &[
            "run",
            "--filter",
            "dn.country.*",
            "--report-dir",
            "r",
            "--sign-with",
            "signer",
            "--corpus",
            corpus.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let sig = std::fs::read_to_string(dir.join("r/report.json.sig")).unwrap();
    assert!(sig.starts_with("-----BEGIN SSH SIGNATURE-----"), "{sig}");

    let v = ssh_keygen_verify(dir);
    assert!(v.status.success(), "{v:?}");
    let verify = [
        "report",
        "verify",
        "r/report.json",
        "--allowed-signers",
        "allowed_signers",
    ];
    let o = eidconf(dir, &verify);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = eidconf(
        dir,
        &[&verify[..], &["--identity", "someone@else.example"]].concat(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "another principal's key does not count: {o:?}"
    );

    // The HTML and Markdown name the report.json they came from.
    let json = std::fs::read(dir.join("r/report.json")).unwrap();
    let digest = eidconf_report::json_digest(std::str::from_utf8(&json).unwrap());
    for page in ["r/report.html", "r/summary.md"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        assert!(text.contains(&digest), "{page} names {digest}");
    }

    // One byte flipped: both verifiers refuse.
    let mut tampered = json;
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    std::fs::write(dir.join("r/report.json"), tampered).unwrap();
    assert!(!ssh_keygen_verify(dir).status.success());
    let o = eidconf(dir, &verify);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("does not match"),
        "{o:?}"
    );
}
