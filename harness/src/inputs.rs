//! Everything a run reads, loaded once: the suites, the corpus and the test PKI.

use std::path::Path;

use crate::pki::Pki;
use crate::suite::Suites;
use crate::vector::{self, Corpus};

/// The suites, the corpus (without the vectors lint found invalid) and the keys of a corpus root.
pub struct Inputs {
    pub suites: Suites,
    pub corpus: Corpus,
    pub pki: Pki,
    /// What could not be loaded or is invalid, with file:line:col; the rest still runs.
    pub errors: Vec<vector::Diagnostic>,
    /// How many vectors, or whole files, `errors` cost: a vector with two errors counts once.
    pub not_loaded: usize,
}

impl Inputs {
    /// Load `root` (the folder holding `vectors/` and `suites/`). `Err`: the suites or the keys
    /// do not load, so nothing can run. Lint's coverage gaps are printed as warnings.
    pub fn load(root: &Path) -> Result<Inputs, String> {
        let suites = Suites::load(root).map_err(|d| d.to_string())?;
        let pki = Pki::load(&root.join("vectors/keys")).map_err(|e| format!("error: {e}\n"))?;
        let (mut corpus, mut errors) = Corpus::load_lenient(root);
        // A load error stands for the vector (or file) at its location.
        let unloadable: std::collections::BTreeSet<_> =
            errors.iter().map(|e| e.location.clone()).collect();
        let findings = crate::lint::lint(&corpus, &suites, &pki, crate::lint::Depth::Structure);
        let not_loaded = unloadable.len() + findings.invalid.len();
        corpus
            .vectors
            .retain(|v| !findings.invalid.contains(v.id()));
        errors.extend(findings.errors);
        for gap in &findings.coverage_gaps {
            eprintln!("warning: {gap}");
        }
        Ok(Inputs {
            suites,
            corpus,
            pki,
            errors,
            not_loaded,
        })
    }
}
