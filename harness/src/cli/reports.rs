//! `eidconf report`: what CI does with reports after a run (re-render, compare with a baseline,
//! merge shards, write a known-failures file).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use eidconf_report::{self as report, Report, exit};

use super::{bad_input, signing};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Write every format (report.json, junit.xml, summary.md, report.html) again from a
    /// report.json, e.g. after an eidconf upgrade.
    Render {
        report: PathBuf,
        /// Where to write (default: the report's folder).
        #[arg(long)]
        report_dir: Option<PathBuf>,
    },
    /// Compare a run with a baseline: new failures, fixed, failing for another reason, added
    /// and removed vectors. Exit 1 when some vector fails that did not.
    Diff { base: PathBuf, new: PathBuf },
    /// Merge the reports of the shards of one run (`--partition hash:K/N`) into one, and write
    /// every format.
    Merge {
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        #[arg(long, default_value = "target/eidconf")]
        report_dir: PathBuf,
    },
    /// Print a known-failures file (for `--known-failures`) listing the run's failures, each
    /// with its failure as the reason.
    KnownFailures { report: PathBuf },
    /// Sign a report.json with an OpenSSH private key (ed25519, unencrypted): writes
    /// report.json.sig, which `ssh-keygen -Y verify -n eidconf-report` checks.
    Sign {
        report: PathBuf,
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
    },
    /// Check report.json.sig against an allowed-signers file, as `ssh-keygen -Y verify` does.
    /// Exit 0 good, 1 bad signature or signer, 2 unreadable input.
    Verify {
        report: PathBuf,
        /// Default: REPORT.sig.
        #[arg(long)]
        signature: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        allowed_signers: PathBuf,
        /// Only this principal's keys count (ssh-keygen's -I).
        #[arg(long)]
        identity: Option<String>,
    },
}

fn read(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("error: cannot read {}: {e}\n", path.display()))?;
    report::from_json(&text).map_err(|e| format!("error: {}: {e}\n", path.display()))
}

fn write(r: &Report, dir: &Path) -> i32 {
    match report::write_all(r, dir) {
        Ok(paths) => {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            eprintln!("reports: {}", names.join(", "));
            exit::SUCCESS
        }
        Err(e) => bad_input(format!(
            "error: cannot write the reports to {}: {e}\n",
            dir.display()
        )),
    }
}

pub(super) fn cmd_report(cmd: ReportCommand) -> i32 {
    match cmd {
        ReportCommand::Render { report, report_dir } => {
            let r = match read(&report) {
                Ok(r) => r,
                Err(e) => return bad_input(e),
            };
            let dir = report_dir.unwrap_or_else(|| {
                report
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("."))
            });
            write(&r, &dir)
        }
        ReportCommand::Diff { base, new } => {
            let (base, new) = match (read(&base), read(&new)) {
                (Ok(b), Ok(n)) => (b, n),
                (Err(e), _) | (_, Err(e)) => return bad_input(e),
            };
            let d = report::diff(&base, &new);
            out!("{}", d.render());
            if d.regressed() {
                exit::FAILURES
            } else {
                exit::SUCCESS
            }
        }
        ReportCommand::Merge { shards, report_dir } => {
            let mut reports = Vec::with_capacity(shards.len());
            for s in &shards {
                match read(s) {
                    Ok(r) => reports.push(r),
                    Err(e) => return bad_input(e),
                }
            }
            let merged = match report::merge(reports) {
                Ok(m) => m,
                Err(e) => return bad_input(format!("error: {e}\n")),
            };
            outln!("eidconf: {}", report::headline(&merged));
            match write(&merged, &report_dir) {
                exit::SUCCESS => merged.exit_code(),
                code => code,
            }
        }
        ReportCommand::Sign { report, key } => match signing::sign_file(&report, &key) {
            Ok(sig) => {
                eprintln!("signature: {}", sig.display());
                exit::SUCCESS
            }
            Err(e) => bad_input(format!("error: {e}\n")),
        },
        ReportCommand::Verify {
            report,
            signature,
            allowed_signers,
            identity,
        } => {
            let signature = signature.unwrap_or_else(|| {
                let mut s = report.as_os_str().to_owned();
                s.push(".sig");
                PathBuf::from(s)
            });
            match signing::verify_file(&report, &signature, &allowed_signers, identity.as_deref()) {
                Ok(principal) => {
                    outln!(
                        "Good \"{}\" signature for {principal} on {}",
                        signing::NAMESPACE,
                        report.display()
                    );
                    exit::SUCCESS
                }
                Err(signing::Verification::Bad(e)) => {
                    eprintln!("verification failed: {e}");
                    exit::FAILURES
                }
                Err(signing::Verification::Input(e)) => bad_input(format!("error: {e}\n")),
            }
        }
        ReportCommand::KnownFailures { report } => match read(&report) {
            Ok(r) => {
                out!("{}", report::known_failures_yaml(&r));
                exit::SUCCESS
            }
            Err(e) => bad_input(e),
        },
    }
}
