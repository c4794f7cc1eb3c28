//! `eidconf keys`, `csr` and `cert`: the TEST-ONLY key material and client certificate checks.

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use eidconf_report::exit;

use super::bad_input;

#[derive(Debug, Subcommand)]
pub enum CsrCommand {
    /// Lint a PKCS#10 request (PEM or DER): signature, key (RSA >= 2048), signature algorithm
    /// (no MD5/SHA-1), subject DN rules. Exit 0 clean, 1 findings, 2 unreadable input.
    Lint {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: LintFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Lint an issued client certificate (PEM or DER): validity window, EKU clientAuth, key
    /// usage, key size, subject, and with --ca the issuer's signature. Exit 0/1/2 as `csr lint`.
    Lint {
        file: PathBuf,
        /// The issuing CA certificate(s), PEM or DER.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: LintFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate the missing keys of the test PKI (RSA-2048) into vectors/keys/, keeping the
    /// existing ones. Never needed during a run.
    Generate {
        #[arg(long, default_value = "vectors/keys")]
        out: PathBuf,
        /// Replace every key, existing ones included (every vector signature changes).
        #[arg(long)]
        force: bool,
    },
}

/// `csr lint` (`ca: None`) and `cert lint` (`ca: Some(..)`).
pub(super) fn cmd_pki_lint(file: &Path, ca: Option<Option<&Path>>, format: LintFormat) -> i32 {
    use eidconf::pki::csr;
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| format!("error: {}: cannot read: {e}\n", p.display()))
    };
    let bytes = match read(file) {
        Ok(b) => b,
        Err(e) => return bad_input(e),
    };
    let name = file.display().to_string();
    let report = match ca {
        None => csr::lint_csr(&name, &bytes),
        Some(ca) => {
            let ca_bytes = match ca.map(read).transpose() {
                Ok(b) => b,
                Err(e) => return bad_input(e),
            };
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            csr::lint_cert(&name, &bytes, ca_bytes.as_deref(), now)
        }
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => return bad_input(format!("error: {name}: unreadable: {e}\n")),
    };
    match format {
        LintFormat::Text => out!("{}", csr::render_text(&report)),
        LintFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
    }
    // Warnings (rules the provider does not state) are shown but do not fail the lint.
    if report.refused() {
        exit::FAILURES
    } else {
        exit::SUCCESS
    }
}
