//! What CI does with reports after a run: compare with a baseline, merge the shards of a
//! partitioned run, and turn a run's failures into a known-failures file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::{Report, Summary, VectorResult, Verdict, failures_by_severity};

/// How a run differs from a baseline, vector by vector.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Diff {
    /// Failing now, not failing in the baseline (or new and failing): regressions.
    pub new_failures: Vec<String>,
    /// Failing in the baseline, not failing now.
    pub fixed: Vec<String>,
    /// Failing in both, for another reason (failure kind or message).
    pub changed: Vec<(String, String, String)>,
    /// In the run, not in the baseline; and the other way round.
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// The vector sets differ (another corpus or eidconf version).
    pub other_vector_set: bool,
}

impl Diff {
    /// A regression: some vector fails now that did not.
    pub fn regressed(&self) -> bool {
        !self.new_failures.is_empty()
    }

    /// The diff as text, one vector per line, grouped.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.other_vector_set {
            out.push_str(
                "note: the two reports ran different vector sets (see vector_set_digest)\n",
            );
        }
        let mut group = |title: &str, ids: &[String]| {
            if !ids.is_empty() {
                let _ = writeln!(out, "{title} ({}):", ids.len());
                for id in ids {
                    let _ = writeln!(out, "  {id}");
                }
            }
        };
        group("new failures", &self.new_failures);
        group("fixed", &self.fixed);
        group("added", &self.added);
        group("removed", &self.removed);
        if !self.changed.is_empty() {
            let _ = writeln!(out, "failing for another reason ({}):", self.changed.len());
            for (id, before, now) in &self.changed {
                let _ = writeln!(out, "  {id}\n    was: {before}\n    now: {now}");
            }
        }
        if out.is_empty() {
            out.push_str("no difference in results\n");
        }
        out
    }
}

fn failing(v: &VectorResult) -> bool {
    v.result.is_failing()
}

fn reason(v: &VectorResult) -> String {
    match &v.failure {
        Some(f) => format!("{}: {}", f.kind.as_str(), f.message),
        None => v.result.as_str().to_owned(),
    }
}

/// Compare `new` with `base`.
pub fn diff(base: &Report, new: &Report) -> Diff {
    let before: BTreeMap<&str, &VectorResult> =
        base.vectors.iter().map(|v| (v.id.as_str(), v)).collect();
    let after: BTreeMap<&str, &VectorResult> =
        new.vectors.iter().map(|v| (v.id.as_str(), v)).collect();
    let mut d = Diff {
        other_vector_set: base.vector_set_digest != new.vector_set_digest,
        ..Diff::default()
    };
    for (id, now) in &after {
        match before.get(id) {
            None => {
                d.added.push((*id).to_owned());
                if failing(now) {
                    d.new_failures.push((*id).to_owned());
                }
            }
            Some(was) => match (failing(was), failing(now)) {
                (false, true) => d.new_failures.push((*id).to_owned()),
                (true, false) => d.fixed.push((*id).to_owned()),
                (true, true) if reason(was) != reason(now) => {
                    d.changed.push(((*id).to_owned(), reason(was), reason(now)));
                }
                _ => {}
            },
        }
    }
    d.removed = before
        .keys()
        .filter(|id| !after.contains_key(*id))
        .map(|id| (*id).to_owned())
        .collect();
    d
}

/// One report from the shards of a partitioned run (`--partition hash:K/N`, or nextest on
/// several machines): every shard must come from the same vector set, harness and RP. The
/// vectors are ordered by where they are written in the corpus, the totals and requirement
/// statuses are recomputed, `started_at` is the earliest and `duration_ms` the longest shard's.
pub fn merge(shards: Vec<Report>) -> Result<Report, String> {
    let mut shards = shards.into_iter();
    let Some(mut out) = shards.next() else {
        return Err("nothing to merge".into());
    };
    let mut seen: BTreeSet<String> = out.vectors.iter().map(|v| v.id.clone()).collect();
    let mut unused: BTreeSet<String> = out.known_failures_unused.iter().cloned().collect();
    let mut input_errors: Vec<String> = out.input_errors.clone();
    for (i, s) in shards.enumerate() {
        let n = i + 2;
        let same = |what: &str, a: &str, b: &str| {
            if a == b {
                Ok(())
            } else {
                Err(format!(
                    "shard {n} has another {what} ({b}) than shard 1 ({a}): not shards of one run"
                ))
            }
        };
        same("vector set", &out.vector_set_digest, &s.vector_set_digest)?;
        same("harness", &out.harness.version, &s.harness.version)?;
        same("RP", &out.rp.name, &s.rp.name)?;
        same("RP version", &out.rp.version, &s.rp.version)?;
        same(
            "filter",
            out.selection.filter.as_deref().unwrap_or(""),
            s.selection.filter.as_deref().unwrap_or(""),
        )?;
        for v in s.vectors {
            if !seen.insert(v.id.clone()) {
                return Err(format!("vector {} is in more than one shard", v.id));
            }
            out.vectors.push(v);
        }
        for r in s.requirements {
            if !out
                .requirements
                .iter()
                .any(|o| o.id == r.id && o.suite == r.suite)
            {
                out.requirements.push(r);
            }
        }
        unused.retain(|u| s.known_failures_unused.contains(u));
        for e in s.input_errors {
            if !input_errors.contains(&e) {
                input_errors.push(e);
            }
        }
        out.summary.not_loaded = out.summary.not_loaded.max(s.summary.not_loaded);
        if s.started_at < out.started_at {
            out.started_at = s.started_at;
        }
        out.duration_ms = out.duration_ms.max(s.duration_ms);
    }
    out.vectors
        .sort_by_cached_key(|v| corpus_order(&v.location));
    for r in &mut out.requirements {
        let tested: Vec<&VectorResult> = out
            .vectors
            .iter()
            .filter(|v| v.requirements.contains(&r.id))
            .collect();
        r.vectors = tested.iter().map(|v| v.id.clone()).collect();
        r.counts = Summary::of(tested.iter().copied());
        r.status = r.counts.requirement_status();
    }
    let not_loaded = out.summary.not_loaded;
    out.summary = Summary::of(&out.vectors);
    out.summary.not_loaded = not_loaded;
    out.failures_by_severity = failures_by_severity(&out.vectors);
    out.known_failures_unused = unused.into_iter().collect();
    out.input_errors = input_errors;
    out.selection.partition = None;
    Ok(out)
}

/// A vector's place in the corpus as a sort key (file, line, column).
fn corpus_order(location: &str) -> (String, u64, u64) {
    match crate::split_location(location) {
        Some((file, line, column)) => (file.to_owned(), line, column),
        None => (location.to_owned(), 0, 0),
    }
}

/// A known-failures file (`--known-failures`) listing every vector that fails the run
/// (`fail`, `error`) with its failure as the reason: the starting point for adopting eidconf
/// on an RP that does not pass yet. Entries already waived (`xfail`) are kept.
pub fn known_failures_yaml(report: &Report) -> String {
    let entries: Vec<String> = report
        .vectors
        .iter()
        .filter_map(|v| {
            let reason = match v.result {
                Verdict::Fail | Verdict::Error => reason(v),
                Verdict::Xfail => v.note.clone().unwrap_or_else(|| reason(v)),
                _ => return None,
            };
            let reason = reason.lines().next().unwrap_or("").trim();
            let reason: String = if reason.chars().count() > 200 {
                reason.chars().take(199).chain(['…']).collect()
            } else {
                reason.to_owned()
            };
            Some(format!(
                "  - {{id: {}, reason: {}}}\n",
                yaml_string(&v.id),
                yaml_string(&reason)
            ))
        })
        .collect();
    let list = if entries.is_empty() {
        "known_failures: []\n".to_owned()
    } else {
        format!("known_failures:\n{}", entries.concat())
    };
    format!(
        "# Known failures of this RP, written by `eidconf report known-failures` from a run's\n\
         # report. Each entry waives one vector: fix it, then delete the entry.\n{list}"
    )
}

/// A YAML double-quoted scalar: JSON's escaping, and `\uXXXX` for what YAML refuses raw (DEL,
/// C1 controls, the BOM, non-characters).
fn yaml_string(s: &str) -> String {
    let json = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    json.chars()
        .map(|c| {
            let printable = matches!(c, '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
                && c != '\u{FEFF}';
            if printable {
                c.to_string()
            } else {
                format!("\\u{:04X}", c as u32)
            }
        })
        .collect()
}
