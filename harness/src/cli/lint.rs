//! `eidconf vectors lint`: everything the loader checks, plus cross-references.

use std::path::{Path, PathBuf};

use eidconf::pki::Pki;
use eidconf::suite::Suites;
use eidconf::vector::{self, Corpus, Diagnostics};
use eidconf_report::exit;

use super::bad_input;

pub(super) fn cmd_lint(paths: &[PathBuf], root: &Path) -> i32 {
    let suites = match Suites::load(root) {
        Ok(s) => s,
        Err(d) => return bad_input(d),
    };
    let pki = match Pki::load(&root.join("vectors/keys")) {
        Ok(p) => p,
        Err(e) => return bad_input(format!("error: {e}\n")),
    };
    let mut files = Vec::new();
    let targets = if paths.is_empty() {
        vec![root.join("vectors")]
    } else {
        paths.to_vec()
    };
    for p in &targets {
        if p.is_dir() {
            match vector::load::vector_files(p) {
                Ok(mut f) => files.append(&mut f),
                Err(d) => return bad_input(Diagnostics(vec![d])),
            }
        } else if p.exists() {
            files.push(p.clone());
        } else {
            return bad_input(format!("error: {}: no such file or folder\n", p.display()));
        }
    }
    let corpus = match Corpus::load_files(root, &files) {
        Ok(c) => c,
        Err(d) => return bad_input(d),
    };
    let findings = eidconf::lint::lint(&corpus, &suites, &pki);
    let mut problems = findings.errors;
    // Linting a subset: a requirement the subset does not test is not the subset's problem.
    if paths.is_empty() {
        problems.extend(findings.coverage_gaps);
    }
    // One rule for every command: a broken input is exit 2, as `run` and `list` give it.
    if !problems.is_empty() {
        return bad_input(Diagnostics(problems));
    }
    outln!(
        "{} vectors in {} files: ok",
        corpus.vectors.len(),
        files.len()
    );
    exit::SUCCESS
}
