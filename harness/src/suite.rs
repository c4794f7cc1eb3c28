//! Suite manifests: requirement catalogues, and which vectors each suite holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::vector::{Diagnostic, Diagnostics, Location};

/// `suites/<name>.yaml`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// The suite's name, used by `--suite`.
    pub suite: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Globs over vector ids (`freja.*`): the vectors this suite holds.
    pub vectors: Vec<String>,
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable id, e.g. `FREJA-HTTP-500`.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    pub level: Level,
    pub title: String,
    /// Where the requirement comes from: document and section.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Level {
    #[serde(rename = "MUST")]
    Must,
    #[serde(rename = "SHOULD")]
    Should,
    #[serde(rename = "MAY")]
    May,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }
}

/// A loaded suite.
#[derive(Debug, Clone)]
pub struct Suite {
    pub file: SuiteFile,
    pub path: PathBuf,
    matchers: Vec<GlobMatcher>,
}

impl Suite {
    pub fn name(&self) -> &str {
        &self.file.suite
    }

    pub fn holds(&self, vector_id: &str) -> bool {
        self.matchers.iter().any(|m| m.is_match(vector_id))
    }
}

/// Every suite under `<root>/suites`.
#[derive(Debug, Clone, Default)]
pub struct Suites {
    pub suites: Vec<Suite>,
    requirements: BTreeMap<String, (usize, usize)>,
}

impl Suites {
    pub fn load(root: &Path) -> Result<Suites, Diagnostics> {
        let dir = root.join("suites");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| {
                Diagnostics(vec![Diagnostic::new(
                    Location {
                        file: dir.clone(),
                        line: 1,
                        column: 1,
                    },
                    format!("cannot read the suite folder: {e}"),
                )])
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        files.sort();
        let mut out = Suites::default();
        let mut errors = Vec::new();
        for path in files {
            let display = path.strip_prefix(root).unwrap_or(&path).to_owned();
            let at = |line, column| Location {
                file: display.clone(),
                line,
                column,
            };
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(Diagnostic::new(at(1, 1), e.to_string()));
                    continue;
                }
            };
            let file: SuiteFile = match crate::vector::load::parse_yaml(&display, &text) {
                Ok(f) => f,
                Err(d) => {
                    errors.push(d);
                    continue;
                }
            };
            let mut matchers = Vec::new();
            for g in &file.vectors {
                match Glob::new(g) {
                    Ok(g) => matchers.push(g.compile_matcher()),
                    Err(e) => errors.push(Diagnostic::new(
                        at(1, 1),
                        format!("bad vector glob `{g}`: {e}"),
                    )),
                }
            }
            if out.suites.iter().any(|s| s.name() == file.suite) {
                errors.push(Diagnostic::new(
                    at(1, 1),
                    format!("duplicate suite name `{}`", file.suite),
                ));
            }
            let si = out.suites.len();
            for (ri, r) in file.requirements.iter().enumerate() {
                let here = at(r.id.referenced.line(), r.id.referenced.column());
                if let Some(&(s0, r0)) = out.requirements.get(r.id.value.as_str()) {
                    let first = &out.suites[s0];
                    let f = &first.file.requirements[r0].id;
                    errors.push(Diagnostic::new(
                        here,
                        format!(
                            "duplicate requirement id `{}`: already defined at {}:{}:{}",
                            r.id.value,
                            first.path.display(),
                            f.referenced.line(),
                            f.referenced.column()
                        ),
                    ));
                } else {
                    out.requirements.insert(r.id.value.clone(), (si, ri));
                }
            }
            out.suites.push(Suite {
                file,
                path: display,
                matchers,
            });
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(Diagnostics(errors))
        }
    }

    /// The requirement with this id, and its suite.
    pub fn requirement(&self, id: &str) -> Option<(&Suite, &Requirement)> {
        self.requirements
            .get(id)
            .map(|&(s, r)| (&self.suites[s], &self.suites[s].file.requirements[r]))
    }

    pub fn get(&self, name: &str) -> Option<&Suite> {
        self.suites.iter().find(|s| s.name() == name)
    }

    /// Names of the suites that hold this vector.
    pub fn suites_of(&self, vector_id: &str) -> Vec<&str> {
        self.suites
            .iter()
            .filter(|s| s.holds(vector_id))
            .map(Suite::name)
            .collect()
    }
}
