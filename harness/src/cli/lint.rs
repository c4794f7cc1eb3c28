//! `eidconf vectors lint`: everything the loader checks, plus cross-references.

use std::path::{Path, PathBuf};

use eidconf::pki::Pki;
use eidconf::suite::Suites;
use eidconf::vector::{self, Corpus, Diagnostics};
use eidconf_report::exit;

use super::bad_input;

pub(super) fn cmd_lint(paths: &[PathBuf], root: &Path) -> i32 {
    let files = match files_of(paths, root) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let suites = match Suites::load(root) {
        Ok(s) => s,
        Err(d) => return bad_input(d),
    };
    let pki = match Pki::load(&root.join("vectors/keys")) {
        Ok(p) => p,
        Err(e) => return bad_input(format!("error: {e}\n")),
    };
    let corpus = match Corpus::load_files(root, &files) {
        Ok(c) => c,
        Err(d) => return bad_input(d),
    };
    let findings = eidconf::lint::lint(&corpus, &suites, &pki, eidconf::lint::Depth::Build);
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

/// `eidconf vectors expand`: what a matrix template became, as the run sees it.
pub(super) fn cmd_expand(paths: &[PathBuf], root: &Path) -> i32 {
    let files = match files_of(paths, root) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let corpus = match Corpus::load_files(root, &files) {
        Ok(c) => c,
        Err(d) => return bad_input(d),
    };
    for v in &corpus.vectors {
        let line = serde_json::json!({
            "id": v.id(),
            "location": v.location.to_string(),
            "row": v.row,
            "vector": v.spec,
        });
        outln!("{line}");
    }
    exit::SUCCESS
}

/// The vector files named (folders walked), or the corpus's; Err is the exit code.
fn files_of(paths: &[PathBuf], root: &Path) -> Result<Vec<PathBuf>, i32> {
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
                Err(d) => return Err(bad_input(Diagnostics(vec![d]))),
            }
        } else if p.exists() {
            files.push(p.clone());
        } else {
            return Err(bad_input(format!(
                "error: {}: no such file or folder\n",
                p.display()
            )));
        }
    }
    Ok(files)
}
