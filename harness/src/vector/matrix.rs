//! Matrix expansion: one template, many vectors, by textual `${name}` substitution in the
//! template's own YAML text, so that errors still point at the line the author wrote.

use std::collections::BTreeMap;

use super::model::{Matrix, MatrixValue};

pub type Row = BTreeMap<String, MatrixValue>;

/// The most vectors one template may expand to: far above any real family (the largest in the
/// corpus has a few dozen), low enough that a typo in an axis cannot exhaust memory.
pub const MAX_ROWS: usize = 10_000;

/// How many vectors the matrix expands to, computed without expanding it (saturating).
pub fn count(matrix: &Matrix) -> usize {
    match matrix {
        Matrix::Rows(rows) => rows.len(),
        Matrix::Axes(axes) => axes
            .values()
            .fold(1usize, |n, values| n.saturating_mul(values.len())),
    }
}

/// The rows of a matrix: explicit rows as given, axes as their cartesian product (in key order).
/// Check [`count`] against [`MAX_ROWS`] first.
pub fn rows(matrix: &Matrix) -> Vec<Row> {
    match matrix {
        Matrix::Rows(rows) => rows.clone(),
        Matrix::Axes(axes) => {
            let mut out = vec![Row::new()];
            for (name, values) in axes {
                out = out
                    .into_iter()
                    .flat_map(|row| {
                        values.iter().map(move |v| {
                            let mut r = row.clone();
                            r.insert(name.clone(), v.clone());
                            r
                        })
                    })
                    .collect();
            }
            out
        }
    }
}

/// A placeholder problem, at a 1-based line and column of the template text.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceholderError {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

/// Substitute every `${name}` of `row` in `text`. Returns the text and the names used.
pub fn substitute(text: &str, row: &Row) -> Result<(String, Vec<String>), PlaceholderError> {
    let mut out = String::with_capacity(text.len());
    let mut used = Vec::new();
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let is_id_line = {
            let t = line.trim_start();
            let t = t.strip_prefix("- ").map(str::trim_start).unwrap_or(t);
            t.starts_with("id:")
        };
        let mut rest = line;
        let mut col = 0usize;
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start..].find('}') else {
                return Err(PlaceholderError {
                    line: line_no as u64 + 1,
                    column: (col + start) as u64 + 1,
                    message: "unclosed placeholder: write ${name}".into(),
                });
            };
            let name = &rest[start + 2..start + len];
            let value = row.get(name).ok_or_else(|| PlaceholderError {
                line: line_no as u64 + 1,
                column: (col + start) as u64 + 1,
                message: format!(
                    "placeholder ${{{name}}} has no matrix value (the matrix defines: {})",
                    row.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            })?;
            used.push(name.to_owned());
            let before = &line[..col + start];
            let after = &rest[start + len + 1..];
            // `"${x}"`, a quoted scalar that is only the placeholder, stands for the value
            // itself, typed: a flow collection stays valid YAML before expansion.
            let whole_quote = ['"', '\''].into_iter().find(|&q| {
                !is_id_line
                    && before.ends_with(q)
                    && after.starts_with(q)
                    && quote_context(&before[..before.len() - 1]).is_none()
                    && closes(&after[1..])
            });
            if whole_quote.is_some() {
                out.push_str(&rest[..start - 1]);
                out.push_str(&typed(value));
                col += start + len + 2;
                rest = &after[1..];
                continue;
            }
            out.push_str(&rest[..start]);
            out.push_str(&render(value, before, after, is_id_line));
            col += start + len + 1;
            rest = after;
        }
        out.push_str(rest);
    }
    Ok((out, used))
}

fn render(value: &MatrixValue, before: &str, after: &str, is_id_line: bool) -> String {
    if is_id_line {
        return slug(&plain(value));
    }
    let whole_scalar = {
        let b = before.trim_end_matches(' ');
        let opens = b.ends_with(':')
            || b.ends_with('-')
            || b.ends_with('[')
            || b.ends_with(',')
            || b.ends_with('{');
        opens && closes(after) && quote_context(before).is_none()
    };
    if whole_scalar {
        return typed(value);
    }
    let text = plain(value);
    match quote_context(before) {
        Some('"') => {
            let quoted = double_quoted(&text);
            quoted[1..quoted.len() - 1].to_owned()
        }
        Some('\'') => text.replace('\'', "''"),
        _ => text,
    }
}

/// Does a scalar end here (end of line, a flow separator or a comment, after blanks)?
fn closes(after: &str) -> bool {
    let a = after.trim_start_matches(' ');
    a.is_empty()
        || a.starts_with('\n')
        || a.starts_with("\r\n")
        || a.starts_with(',')
        || a.starts_with(']')
        || a.starts_with('}')
        || a.starts_with('#')
}

/// The value as a YAML scalar of its own type: strings double-quoted, the rest plain.
fn typed(value: &MatrixValue) -> String {
    match value {
        MatrixValue::Str(s) => double_quoted(s),
        other => plain(other),
    }
}

/// A YAML double-quoted scalar for `s`. JSON escaping covers C0 controls; YAML also refuses
/// DEL, C1 controls, the BOM and non-characters raw, so those become `\uXXXX` too.
fn double_quoted(s: &str) -> String {
    let json = serde_json::to_string(s).unwrap_or_default();
    let printable = |c: char| {
        matches!(c, '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
            && c != '\u{FEFF}'
    };
    json.chars()
        .map(|c| {
            if printable(c) {
                c.to_string()
            } else {
                format!("\\u{:04X}", c as u32)
            }
        })
        .collect()
}

/// The quote a position on a line is inside of, if any.
fn quote_context(before: &str) -> Option<char> {
    let mut state: Option<char> = None;
    let mut chars = before.chars().peekable();
    while let Some(c) = chars.next() {
        match (state, c) {
            (None, '"') | (None, '\'') => state = Some(c),
            (None, '#') => return None,
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some('"'), '"') => state = None,
            (Some('\''), '\'') => {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    state = None;
                }
            }
            _ => {}
        }
    }
    state
}

fn plain(value: &MatrixValue) -> String {
    match value {
        MatrixValue::Bool(b) => b.to_string(),
        MatrixValue::Int(i) => i.to_string(),
        MatrixValue::Float(f) => f.to_string(),
        MatrixValue::Str(s) => s.clone(),
    }
}

/// Ids take values lower-cased, with every run of non-alphanumerics turned into one `-`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let t = out.trim_matches('-');
    if t.is_empty() { "x".into() } else { t.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, MatrixValue)]) -> Row {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn whole_scalars_keep_their_type_and_strings_are_quoted() {
        let r = row(&[
            ("s", MatrixValue::Int(404)),
            ("m", MatrixValue::Str("a: b # c".into())),
        ]);
        let (t, _) = substitute("status: ${s}\nmsg: ${m}\nlist: [${s}, x]\n", &r).unwrap();
        assert_eq!(t, "status: 404\nmsg: \"a: b # c\"\nlist: [404, x]\n");
    }

    #[test]
    fn a_quoted_lone_placeholder_is_the_typed_value() {
        let r = row(&[
            ("s", MatrixValue::Int(404)),
            ("b", MatrixValue::Bool(true)),
            ("m", MatrixValue::Str("it's \"x\"".into())),
        ]);
        let text =
            "a: {status: \"${s}\", ok: '${b}'}\nm: [\"${m}\", \"k-${s}\"]\nn: \"${s}\" # c\n";
        let (t, _) = substitute(text, &r).unwrap();
        assert_eq!(
            t,
            "a: {status: 404, ok: true}\nm: [\"it's \\\"x\\\"\", \"k-404\"]\nn: 404 # c\n"
        );
        // On the id line a value is always slugged into the text.
        let (t, _) = substitute("- id: \"a.${m}\"\n", &r).unwrap();
        assert_eq!(t, "- id: \"a.it-s-x\"\n");
    }

    #[test]
    fn inside_strings_values_are_escaped_for_the_quote() {
        let r = row(&[("c", MatrixValue::Str("\\\"'".into()))]);
        let (t, _) = substitute("a: \"x${c}y\"\nb: 'x${c}y'\nc: x${c}y\n", &r).unwrap();
        assert_eq!(t, "a: \"x\\\\\\\"'y\"\nb: 'x\\\"''y'\nc: x\\\"'y\n");
    }

    #[test]
    fn a_dash_inside_a_word_does_not_open_a_scalar() {
        let r = row(&[
            ("n", MatrixValue::Int(400)),
            ("s", MatrixValue::Str("x".into())),
        ]);
        let (t, _) = substitute("req: [FREJA-HTTP-${n}]\nlist:\n  - ${s}\n", &r).unwrap();
        assert_eq!(t, "req: [FREJA-HTTP-400]\nlist:\n  - \"x\"\n");
    }

    #[test]
    fn ids_are_slugged() {
        let r = row(&[("s", MatrixValue::Str("RP_CANCELED".into()))]);
        let (t, _) =
            substitute("  - id: freja.status.final-${s}\n    title: \"${s}\"\n", &r).unwrap();
        assert_eq!(
            t,
            "  - id: freja.status.final-rp-canceled\n    title: \"RP_CANCELED\"\n"
        );
    }

    #[test]
    fn unknown_placeholders_are_located() {
        let err = substitute("a: 1\nb: x ${nope}\n", &Row::new()).unwrap_err();
        assert_eq!((err.line, err.column), (2, 6));
    }

    #[test]
    fn axes_expand_to_the_cartesian_product() {
        let m = Matrix::Axes(BTreeMap::from([
            ("a".into(), vec![MatrixValue::Int(1), MatrixValue::Int(2)]),
            (
                "b".into(),
                vec![MatrixValue::Bool(true), MatrixValue::Bool(false)],
            ),
        ]));
        assert_eq!(rows(&m).len(), 4);
    }
}
