//! Loading vector files: every error names the file, line and column.
//!
//! A file is first indexed (where does each vector start?), then each vector's own text is parsed
//! on its own, prefixed with blank lines so the parser's line numbers are the file's. That lets a
//! matrix template be expanded textually and still report errors where the author wrote them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use sha2::{Digest, Sha256};

use super::cache;
use super::matrix::{self, Row};
use super::model::{Matrix, VectorSpec};

/// A place in a file (1-based).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// An error in user input, with where it is and a one-line excerpt.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub location: Location,
    pub message: String,
    pub excerpt: Option<String>,
}

impl Diagnostic {
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            location,
            message: message.into(),
            excerpt: None,
        }
    }

    /// Attach the line of `text` the location points at, with a caret.
    pub fn with_excerpt(mut self, text: &str) -> Self {
        if let Some(line) = text
            .lines()
            .nth(self.location.line.saturating_sub(1) as usize)
        {
            let n = self.location.line.to_string();
            let pad = " ".repeat(n.len());
            let caret = " ".repeat(self.location.column.saturating_sub(1) as usize);
            self.excerpt = Some(format!("{pad} |\n{n} | {line}\n{pad} | {caret}^"));
        }
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)?;
        if let Some(e) = &self.excerpt {
            write!(f, "\n{e}")?;
        }
        Ok(())
    }
}

/// Several diagnostics, displayed one per paragraph.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "error: {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// One vector, expanded and parsed (and so kept by the parsed-corpus cache).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vector {
    pub spec: VectorSpec,
    /// Where the vector (or its matrix template) starts.
    pub location: Location,
    /// The matrix row it was expanded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<Row>,
}

impl Vector {
    pub fn id(&self) -> &str {
        &self.spec.id
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIndex {
    vectors: Vec<Spanned<serde::de::IgnoredAny>>,
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! { strict_booleans: true, with_snippet: false }
}

fn yaml_error(file: &Path, text: &str, e: &serde_saphyr::Error, context: &str) -> Diagnostic {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    let mut message = e.to_string();
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    let message = if context.is_empty() {
        message
    } else {
        format!("{message} ({context})")
    };
    Diagnostic::new(
        Location {
            file: file.to_owned(),
            line,
            column,
        },
        message,
    )
    .with_excerpt(text)
}

/// Parse a whole YAML document strictly (no `yes`/`no` booleans, no duplicate keys); an error
/// names the file, line and column. Used for every YAML file eidconf reads.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    file: &Path,
    text: &str,
) -> Result<T, Diagnostic> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| yaml_error(file, text, &e, ""))
}

/// Parse one vector file. `display` is the path used in messages.
pub fn parse_file(display: &Path, text: &str) -> Result<Vec<Vector>, Diagnostics> {
    let (vectors, errors) = parse_file_lenient(display, text);
    if errors.is_empty() {
        Ok(vectors)
    } else {
        Err(Diagnostics(errors))
    }
}

/// YAML 1.2 breaks lines on LF, CRLF and a lone CR (§5.4). Vectors are cut out of a file line by
/// line, so every form is read as LF; line numbers stay the ones YAML and editors count.
fn lf_breaks(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\r') {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
}

/// Parse one vector file, keeping every vector that parses and reporting the others.
pub fn parse_file_lenient(display: &Path, text: &str) -> (Vec<Vector>, Vec<Diagnostic>) {
    let text = &*lf_breaks(text);
    // The file as written must be YAML to every tool (editors, linters, other parsers), so it
    // is parsed before any placeholder is expanded.
    let index: FileIndex = match serde_saphyr::from_str_with_options(text, options()) {
        Ok(i) => i,
        Err(e) => {
            let neutral = serde_saphyr::from_str_with_options::<FileIndex>(
                &neutralise_placeholders(text),
                options(),
            );
            let context = if neutral.is_ok() {
                "a `${name}` placeholder inside a flow collection (`[…]`, `{…}`) is not valid YAML: quote it, as `\"${name}\"` (the value, typed) or `\"text-${name}\"`"
            } else {
                ""
            };
            return (Vec::new(), vec![yaml_error(display, text, &e, context)]);
        }
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let starts: Vec<(u64, u64)> = index
        .vectors
        .iter()
        .map(|s| (s.referenced.line(), s.referenced.column()))
        .collect();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    // Vectors are cut out of the file line by line, which needs block style (`- id: …`).
    let flow = starts.iter().find(|&&(line, column)| {
        let before = lines
            .get(line as usize - 1)
            .map(|l| l.chars().take(column as usize - 1).collect::<String>())
            .unwrap_or_default();
        let before = before.trim_end();
        before.ends_with('[') || before.ends_with(',')
    });
    if let Some(&(line, column)) = flow {
        let location = Location {
            file: display.to_owned(),
            line,
            column,
        };
        let d = Diagnostic::new(
            location,
            "`vectors` must be a block-style list (`- id: …` on its own line per vector); a flow-style or JSON list cannot be located line by line",
        );
        return (Vec::new(), vec![d.with_excerpt(text)]);
    }
    // The line each vector's text starts on (0-based): its first key's, or the dash above it
    // when nothing but a comment, an anchor or a tag follows the dash.
    let firsts: Vec<usize> = starts
        .iter()
        .map(|&(line, _)| {
            let first = line as usize - 1;
            if first > 0 && lines.get(first - 1).is_some_and(|l| dash_only(l)) {
                first - 1
            } else {
                first
            }
        })
        .collect();
    for (i, &(line, column)) in starts.iter().enumerate() {
        let first = firsts[i];
        let end = firsts.get(i + 1).copied().unwrap_or(lines.len());
        let mut slice = "\n".repeat(first);
        slice.extend(lines[first..end].iter().copied());
        let location = Location {
            file: display.to_owned(),
            line,
            column,
        };
        match parse_entry(display, text, &slice, location) {
            Ok(mut v) => out.append(&mut v),
            Err(mut d) => errors.append(&mut d.0),
        }
    }
    (out, errors)
}

/// A block sequence entry whose node starts on the next line: `-`, optionally followed by an
/// anchor (`&a`), a tag (`!t`, `!!map`) and a comment.
fn dash_only(line: &str) -> bool {
    let Some(rest) = line.trim_start().strip_prefix('-') else {
        return false;
    };
    if !rest.is_empty() && !rest.starts_with([' ', '\t', '\n']) {
        return false;
    }
    let rest = rest.split_once(" #").map_or(rest, |(before, _)| before);
    let rest = rest.trim_start().strip_prefix('#').map_or(rest, |_| "");
    rest.split_whitespace()
        .all(|token| token.starts_with('&') || token.starts_with('!'))
}

fn parse_entry(
    display: &Path,
    text: &str,
    slice: &str,
    location: Location,
) -> Result<Vec<Vector>, Diagnostics> {
    let one = |d: Diagnostic| Diagnostics(vec![d]);
    // `${x}` is not valid inside YAML flow collections: probe with same-length `__x_` instead.
    // A vector whose text never says `matrix` has none: it is parsed once, not probed first.
    let probe: Vec<BTreeMap<String, serde_json::Value>> = if slice.contains("matrix") {
        serde_saphyr::from_str_with_options(&neutralise_placeholders(slice), options())
            .map_err(|e| one(yaml_error(display, text, &e, "")))?
    } else {
        Vec::new()
    };
    let matrix = match probe.first().and_then(|m| m.get("matrix")) {
        None => None,
        Some(v) => Some(serde_json::from_value::<Matrix>(v.clone()).map_err(|_| {
            one(Diagnostic::new(
                location.clone(),
                "`matrix` must be a map of axes (`name: [values]`) or a list of rows (`[{name: value}]`) of scalars",
            ))
        })?),
    };
    let Some(matrix) = matrix else {
        let mut specs: Vec<VectorSpec> = serde_saphyr::from_str_with_options(slice, options())
            .map_err(|e| one(yaml_error(display, text, &e, "")))?;
        let spec = specs
            .pop()
            .ok_or_else(|| one(Diagnostic::new(location.clone(), "empty vector")))?;
        return Ok(vec![Vector {
            spec,
            location,
            row: None,
        }]);
    };
    let n = matrix::count(&matrix);
    if n > matrix::MAX_ROWS {
        return Err(one(Diagnostic::new(
            location,
            format!(
                "`matrix` expands to {n} vectors; one template may make at most {}",
                matrix::MAX_ROWS
            ),
        )));
    }
    let rows = matrix::rows(&matrix);
    if rows.is_empty() {
        return Err(one(Diagnostic::new(
            location,
            "`matrix` expands to no vectors",
        )));
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (n, row) in rows.into_iter().enumerate() {
        let context = format!("matrix row {}: {}", n + 1, describe_row(&row));
        let (expanded, used) = match matrix::substitute(slice, &row) {
            Ok(x) => x,
            Err(e) => {
                let loc = Location {
                    file: display.to_owned(),
                    line: e.line,
                    column: e.column,
                };
                errors.push(Diagnostic::new(loc, e.message).with_excerpt(text));
                break;
            }
        };
        if let Some(unused) = row.keys().find(|k| !used.contains(k)) {
            errors.push(Diagnostic::new(
                location.clone(),
                format!("matrix variable `{unused}` is never used as ${{{unused}}}; every expansion would be the same"),
            ));
            break;
        }
        match serde_saphyr::from_str_with_options::<Vec<VectorSpec>>(&expanded, options()) {
            Ok(mut specs) => {
                if let Some(mut spec) = specs.pop() {
                    spec.matrix = None;
                    out.push(Vector {
                        spec,
                        location: location.clone(),
                        row: Some(row),
                    });
                }
            }
            Err(e) => errors.push(yaml_error(display, text, &e, &context)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Diagnostics(errors))
    }
}

fn neutralise_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(j) if !rest[i..i + j].contains('\n') => {
                out.push_str("__");
                out.push_str(&rest[i + 2..i + j]);
                out.push('_');
                rest = &rest[i + j + 1..];
            }
            _ => {
                out.push_str("${");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn describe_row(row: &Row) -> String {
    row.iter()
        .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The loaded corpus: every vector under `<root>/vectors` (but `keys/`), ids unique.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub root: PathBuf,
    pub vectors: Vec<Vector>,
    /// `sha256:<hex>` over the paths and contents of everything that decides a verdict: the
    /// vector files, the suites and the keys manifest.
    pub digest: String,
}

impl Corpus {
    /// Load every vector file. All errors are collected, not just the first.
    pub fn load(root: &Path) -> Result<Corpus, Diagnostics> {
        let files = vector_files(&root.join("vectors")).map_err(|d| Diagnostics(vec![d]))?;
        Self::load_files(root, &files)
    }

    /// Load only the files that can hold `id` (the `--exact` fast path): a cheap text scan picks
    /// them, so one vector costs one file's parse whatever the corpus size.
    pub fn load_for_id(root: &Path, id: &str) -> Result<Corpus, Diagnostics> {
        let files = vector_files(&root.join("vectors")).map_err(|d| Diagnostics(vec![d]))?;
        let candidates: Vec<PathBuf> = files
            .into_iter()
            .filter(|f| {
                std::fs::read_to_string(f)
                    .map(|t| may_hold(&t, id))
                    .unwrap_or(true)
            })
            .collect();
        let (mut corpus, errors) =
            Self::load_files_narrowed(root, &candidates, |text| narrow(text, id), false);
        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        corpus.vectors.retain(|v| v.id() == id);
        Ok(corpus)
    }

    /// Load these files (paths under root); any error fails the whole load.
    pub fn load_files(root: &Path, files: &[PathBuf]) -> Result<Corpus, Diagnostics> {
        let (corpus, errors) = Self::load_files_lenient(root, files);
        if errors.is_empty() {
            Ok(corpus)
        } else {
            Err(Diagnostics(errors))
        }
    }

    /// Load every vector file, keeping what loads: the run goes on without the broken vectors,
    /// which are reported.
    pub fn load_lenient(root: &Path) -> (Corpus, Vec<Diagnostic>) {
        match vector_files(&root.join("vectors")) {
            Ok(files) => Self::load_files_lenient(root, &files),
            Err(d) => (
                Corpus {
                    root: root.to_owned(),
                    vectors: Vec::new(),
                    digest: String::new(),
                },
                vec![d],
            ),
        }
    }

    /// Load these files, keeping every vector that parses; of two vectors with one id, the first.
    /// A corpus parsed before without errors is read from the cache (`cache.rs`).
    pub fn load_files_lenient(root: &Path, files: &[PathBuf]) -> (Corpus, Vec<Diagnostic>) {
        Self::load_files_narrowed(root, files, |_| None, true)
    }

    /// As [`Corpus::load_files_lenient`], parsing every file whatever the cache holds.
    pub fn parse_files_lenient(root: &Path, files: &[PathBuf]) -> (Corpus, Vec<Diagnostic>) {
        Self::load_files_narrowed(root, files, |_| None, false)
    }

    /// As [`Corpus::load_files_lenient`], parsing what `narrow` makes of a file's text where it
    /// makes something of it and that parses cleanly, and the whole text otherwise (so that
    /// errors read as they would). The digest covers the whole files either way.
    fn load_files_narrowed(
        root: &Path,
        files: &[PathBuf],
        narrow: impl Fn(&str) -> Option<String>,
        cached: bool,
    ) -> (Corpus, Vec<Diagnostic>) {
        let mut errors = Vec::new();
        let mut hasher = Sha256::new();
        let mut texts = Vec::with_capacity(files.len());
        for file in files {
            let display = file.strip_prefix(root).unwrap_or(file).to_owned();
            match std::fs::read_to_string(file) {
                Ok(text) => {
                    hasher.update(display.to_string_lossy().as_bytes());
                    hasher.update([0]);
                    hasher.update(text.as_bytes());
                    texts.push((display, text));
                }
                Err(e) => errors.push(Diagnostic::new(
                    Location {
                        file: display,
                        line: 1,
                        column: 1,
                    },
                    e.to_string(),
                )),
            }
        }
        let manifest = std::fs::read(root.join("vectors/keys").join(crate::pki::MANIFEST));
        let key = (cached && errors.is_empty())
            .then(|| cache::key(&texts, manifest.as_deref().unwrap_or_default()))
            .flatten();
        let vectors = match key.as_deref().and_then(cache::read) {
            Some(vectors) => vectors,
            None => {
                let (vectors, mut errs) = parse_texts(&texts, narrow);
                errs.extend(unknown_keys(root, &vectors));
                if let (Some(key), true) = (&key, errs.is_empty()) {
                    cache::write(key, &vectors);
                }
                errors.append(&mut errs);
                vectors
            }
        };
        verdict_inputs(root, &mut hasher);
        let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
        (
            Corpus {
                root: root.to_owned(),
                vectors,
                digest,
            },
            errors,
        )
    }
}

/// Parse each file's text (display path, text); of two vectors with one id, the first is kept.
fn parse_texts(
    texts: &[(PathBuf, String)],
    narrow: impl Fn(&str) -> Option<String>,
) -> (Vec<Vector>, Vec<Diagnostic>) {
    let mut vectors: Vec<Vector> = Vec::new();
    let mut errors = Vec::new();
    let mut seen: BTreeMap<String, Location> = BTreeMap::new();
    for (display, text) in texts {
        // A bug of the loader's must cost this file only, named, never the run.
        let parse =
            |text: &str| std::panic::catch_unwind(|| parse_file_lenient(display, text)).ok();
        let narrowed = narrow(text)
            .and_then(|t| parse(&t))
            .filter(|(_, errs)| errs.is_empty());
        let parsed = match narrowed {
            Some(p) => Ok(p),
            None => std::panic::catch_unwind(|| parse_file_lenient(display, text)),
        };
        let (parsed, mut errs) = parsed.unwrap_or_else(|panic| {
            let at = Location {
                file: display.clone(),
                line: 1,
                column: 1,
            };
            let message = format!(
                "eidconf failed on this file (a bug: please report it with the file): {}",
                crate::panic_message(panic.as_ref())
            );
            (Vec::new(), vec![Diagnostic::new(at, message)])
        });
        errors.append(&mut errs);
        for v in parsed {
            if let Some(first) = seen.get(v.id()) {
                errors.push(Diagnostic::new(
                    v.location.clone(),
                    format!(
                        "duplicate vector id `{}`: already defined at {first}",
                        v.id()
                    ),
                ));
                continue;
            }
            seen.insert(v.id().to_owned(), v.location.clone());
            vectors.push(v);
        }
    }
    (vectors, errors)
}

/// Beside the vector files, what else decides a verdict: the suites (a requirement's level turns
/// a deviation into a warning) and the keys manifest (which key a name means). Missing files
/// hash as absent; loading them reports the problem.
fn verdict_inputs(root: &Path, hasher: &mut Sha256) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("suites"))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.push(root.join("vectors/keys").join(crate::pki::MANIFEST));
    for file in files {
        let display = file.strip_prefix(root).unwrap_or(&file);
        hasher.update(display.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(std::fs::read(&file).unwrap_or_default());
        hasher.update([0]);
    }
}

/// Token recipes that name a key the test PKI does not have, each at the name's own position.
/// Checked at load (not only by lint) because a recipe cannot be run without its keys.
fn unknown_keys(root: &Path, vectors: &[Vector]) -> Vec<Diagnostic> {
    let manifest = root.join("vectors/keys").join(crate::pki::MANIFEST);
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        return Vec::new(); // No PKI here: the run reports it when it loads the keys.
    };
    let Ok(m) = parse_yaml::<crate::pki::Manifest>(&manifest, &text) else {
        return Vec::new();
    };
    let known: Vec<&str> = m.certificates.iter().map(|c| c.name.as_str()).collect();
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for v in vectors {
        for d in v.spec.provider.details_specs() {
            for k in d.mutations.iter().flat_map(|m| m.keys()) {
                if known.contains(&k.as_str()) {
                    continue;
                }
                let mut at = v.location.clone();
                if let Some((line, column)) = k.position() {
                    at.line = line;
                    at.column = column;
                }
                if seen.insert((at.clone(), k.as_str().to_owned())) {
                    out.push(Diagnostic::new(
                        at,
                        format!("unknown key `{}` (known: {})", k.as_str(), known.join(", ")),
                    ));
                }
            }
        }
    }
    out
}

/// Can this file's text define `id`, literally or through a matrix template?
/// `text` with every item of its top-level `vectors:` list that cannot hold `id` blanked out,
/// line for line so that locations stay true: `--exact` then parses one vector, not a file of
/// hundreds. `None` when the file is not laid out as a block list under `vectors:`.
fn narrow(text: &str, id: &str) -> Option<String> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    let start = lines.iter().position(|l| l.trim_end() == "vectors:")?;
    let content = |l: &str| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#')
    };
    let first = start + 1 + lines[start + 1..].iter().position(|l| content(l))?;
    let indent = lines[first].len() - lines[first].trim_start_matches(' ').len();
    // Bytes, not `str` slices: a line may hold a multi-byte character before `indent`.
    let item = |l: &str| {
        let (lead, rest) = l.as_bytes().split_at(indent.min(l.len()));
        l.len() > indent
            && lead.iter().all(|b| *b == b' ')
            && (rest.starts_with(b"- ") || rest.trim_ascii_end() == b"-")
    };
    if !item(lines[first]) {
        return None;
    }
    // The list ends at the next top-level key.
    let end = lines[first..]
        .iter()
        .position(|l| content(l) && !l.starts_with(' ') && !item(l))
        .map_or(lines.len(), |p| first + p);
    let mut at = first;
    while at < end {
        let next = (at + 1..end).find(|&i| item(lines[i])).unwrap_or(end);
        if !may_hold(&lines[at..next].join("\n"), id) {
            lines[at..next].fill("");
        }
        at = next;
    }
    Some(lines.join("\n"))
}

fn may_hold(text: &str, id: &str) -> bool {
    text.lines()
        .filter_map(|l| l.split_once("id:").map(|(_, r)| r.trim()))
        .any(|tpl| {
            // In a flow mapping the id ends at the next `,` or `}`.
            let tpl = tpl.split([',', '}']).next().unwrap_or(tpl).trim();
            let tpl = tpl.trim_matches(|c| c == '"' || c == '\'');
            match tpl.find("${") {
                None => tpl == id,
                Some(i) => id.starts_with(&tpl[..i]),
            }
        })
}

/// Every `*.yaml`/`*.yml` below `dir`, except the key folder, sorted.
pub fn vector_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut out = Vec::new();
    walk(dir, &mut out).map_err(|e| {
        Diagnostic::new(
            Location {
                file: dir.to_owned(),
                line: 1,
                column: 1,
            },
            format!("cannot read the vector folder: {e}"),
        )
    })?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "keys") {
                continue;
            }
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}
