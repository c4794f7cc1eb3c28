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
    /// The public documents the requirements cite, by a short key.
    #[serde(default)]
    pub references: BTreeMap<String, Reference>,
    /// Globs over vector ids (`freja.*`): the vectors this suite holds.
    pub vectors: Vec<String>,
    pub requirements: Vec<Requirement>,
}

/// A public document: a provider's published documentation, an RFC or OpenID specification, a
/// regulation, or a public repository.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// e.g. `RFC 7519: JSON Web Token (JWT)`.
    pub title: String,
    /// Where a reader finds it.
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable id, e.g. `FREJA-HTTP-500`.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// Decided from the sources: `MUST` where one requires it, `SHOULD` where one recommends it,
    /// `HARDENING` where none does and eidconf recommends it (say why in `rationale`).
    pub level: Level,
    pub title: String,
    /// Where the rule is written: at least one for `MUST` and `SHOULD`.
    #[serde(default)]
    pub sources: Vec<Citation>,
    /// eidconf's own reasoning: required for `HARDENING`; for the others, how a terse source is read.
    #[serde(default)]
    pub rationale: Option<String>,
}

/// One source of a requirement: a document of the suite's `references`, the section, the rule.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Citation {
    /// A key of the suite's `references`.
    #[serde(rename = "ref")]
    #[schemars(with = "String")]
    pub reference: Spanned<String>,
    /// Section number or heading, e.g. `§3.1.3.7 step 2` or `General information on error handling`.
    pub section: String,
    /// The rule in a few words, verbatim.
    pub quote: String,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Level {
    /// A source requires it: a deviation fails the run.
    #[serde(rename = "MUST")]
    Must,
    /// A source recommends it: a deviation is a warning (`--strict`: a failure).
    #[serde(rename = "SHOULD")]
    Should,
    /// No source requires it; eidconf recommends it as defence in depth: a warning
    /// (`--strict`: a failure).
    #[serde(rename = "HARDENING")]
    Hardening,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::Hardening => "HARDENING",
        }
    }
}

impl SuiteFile {
    /// The requirement's sources, resolved against `references`, for the report.
    pub fn sources_of(&self, r: &Requirement) -> Vec<eidconf_report::Source> {
        r.sources
            .iter()
            .map(|c| {
                let reference = self.references.get(&c.reference.value);
                eidconf_report::Source {
                    document: reference
                        .map_or_else(|| c.reference.value.clone(), |d| d.title.clone()),
                    url: reference.and_then(|d| d.url.clone()),
                    section: c.section.clone(),
                    quote: c.quote.clone(),
                }
            })
            .collect()
    }
}

/// What a requirement lacks to be traced: a level that its sources can carry, a source a reader
/// can follow, a rationale for eidconf's own rules.
fn traceability(r: &Requirement) -> Vec<String> {
    let id = &r.id.value;
    let mut out = Vec::new();
    if r.level != Level::Hardening && r.sources.is_empty() {
        out.push(format!(
            "requirement `{id}` is {} but cites no source: add `sources` (a public document, \
             section and quote), or make it HARDENING with a `rationale`",
            r.level.as_str()
        ));
    }
    if r.level == Level::Hardening && r.rationale.as_deref().is_none_or(|t| t.trim().is_empty()) {
        out.push(format!(
            "requirement `{id}` is HARDENING: say why eidconf recommends it in `rationale`"
        ));
    }
    for c in &r.sources {
        if c.section.trim().is_empty() || c.quote.trim().is_empty() {
            out.push(format!(
                "requirement `{id}`: a source of `{}` needs a `section` and a `quote`",
                c.reference.value
            ));
        }
    }
    out
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
                for problem in traceability(r) {
                    errors.push(Diagnostic::new(here.clone(), problem));
                }
                for c in &r.sources {
                    if !file.references.contains_key(&c.reference.value) {
                        errors.push(Diagnostic::new(
                            at(
                                c.reference.referenced.line(),
                                c.reference.referenced.column(),
                            ),
                            format!(
                                "`{}` is not in this suite's `references`",
                                c.reference.value
                            ),
                        ));
                    }
                }
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

    /// The strongest level among these requirements: a vector's deviation fails the run only
    /// when one of them is `MUST`. An id no suite defines counts as `MUST` (lint refuses it).
    pub fn level_of<S: AsRef<str>>(&self, requirement_ids: &[S]) -> Level {
        requirement_ids
            .iter()
            .map(|id| {
                self.requirement(id.as_ref())
                    .map_or(Level::Must, |(_, r)| r.level)
            })
            .min()
            .unwrap_or(Level::Must)
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
