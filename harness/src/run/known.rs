//! Known failures: strict expected-failure files. A listed vector that fails is `xfail`; one that
//! passes is `xpass` and fails the run (the file is stale); entries that match nothing are reported.

use std::path::Path;

use globset::{Glob, GlobMatcher};
use serde::Deserialize;

use crate::vector::{Diagnostic, Diagnostics, Location};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// A vector id or a glob over ids.
    id: String,
    /// Why it fails, for the report.
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    known_failures: Vec<Entry>,
}

/// A loaded known-failures file.
#[derive(Debug, Default)]
pub struct KnownFailures {
    pub path: Option<String>,
    /// `sha256:<hex>` of the file: it waives failures, so the report names the exact list.
    pub digest: Option<String>,
    entries: Vec<(String, GlobMatcher, String)>,
}

impl KnownFailures {
    pub fn load(path: &Path) -> Result<KnownFailures, Diagnostics> {
        let at = |line, column| Location {
            file: path.to_owned(),
            line,
            column,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Diagnostics(vec![Diagnostic::new(at(1, 1), e.to_string())]))?;
        let file: File =
            crate::vector::load::parse_yaml(path, &text).map_err(|d| Diagnostics(vec![d]))?;
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for e in file.known_failures {
            match Glob::new(&e.id) {
                Ok(g) => entries.push((e.id, g.compile_matcher(), e.reason)),
                Err(err) => errors.push(Diagnostic::new(
                    at(1, 1),
                    format!("bad id glob `{}`: {err}", e.id),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        Ok(KnownFailures {
            path: Some(path.display().to_string()),
            digest: Some(format!(
                "sha256:{}",
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()))
            )),
            entries,
        })
    }

    /// The reason this vector is known to fail, if it is listed.
    pub fn reason(&self, id: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(_, g, _)| g.is_match(id))
            .map(|(_, _, r)| r.as_str())
    }

    /// Entries that match none of these ids.
    pub fn unused<'a>(&self, ids: impl Iterator<Item = &'a str> + Clone) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, g, _)| !ids.clone().any(|id| g.is_match(id)))
            .map(|(p, _, _)| p.clone())
            .collect()
    }
}
