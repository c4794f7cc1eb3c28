//! The loader's promises: typos, wrong types and duplicate ids are errors naming file:line:col;
//! matrices expand with stable derived ids.

use std::path::Path;

use eidconf::vector::load::parse_file;
use eidconf::vector::{Corpus, ExpectedVerdict};

const GOOD: &str = r#"vectors:
  - id: t.one
    title: one
    requirements: [R-1]
    severity: low
    operation: {op: freja.authenticate, user_info_type: EMAIL, user_info: a@example.com}
    expect: {verdict: accepted}
  - id: t.status-${status}
    title: "status ${status}"
    requirements: [R-1]
    severity: high
    operation: {op: freja.authenticate, user_info_type: EMAIL, user_info: a@example.com}
    provider:
      freja:
        auth_init: [{status: "${status}"}]
    expect: {verdict: rejected, reason: http_status}
    matrix:
      status: [404, 500]
"#;

fn parse(text: &str) -> Result<Vec<eidconf::vector::Vector>, String> {
    parse_file(Path::new("v.yaml"), text).map_err(|e| e.to_string())
}

#[test]
fn matrices_expand_with_typed_values_and_derived_ids() {
    let v = parse(GOOD).unwrap();
    let ids: Vec<&str> = v.iter().map(|v| v.id()).collect();
    assert_eq!(ids, ["t.one", "t.status-404", "t.status-500"]);
    let statuses: Vec<u16> = v[1..]
        .iter()
        .map(|v| v.spec.provider.freja.values().next().unwrap()[0].status)
        .collect();
    assert_eq!(statuses, [404, 500]);
    assert_eq!(v[2].spec.title, "status 500");
    assert_eq!(v[1].spec.expect.verdict, ExpectedVerdict::Rejected);
    assert_eq!((v[1].location.line, v[1].location.column), (8, 5));
}

#[test]
fn a_bare_placeholder_in_a_flow_collection_is_refused_with_the_fix() {
    // `[{status: ${status}}]` is not YAML: `{` opens a flow mapping in a flow collection.
    let err = parse(&GOOD.replace("\"${status}\"}]", "${status}}]")).unwrap_err();
    assert!(
        err.contains("v.yaml:15:") && err.contains("quote it, as `\"${name}\"`"),
        "{err}"
    );
    // In block context the bare form is YAML, and keeps its type.
    let block = GOOD.replace(
        "        auth_init: [{status: \"${status}\"}]",
        "        auth_init:\n          - status: ${status}",
    );
    let v = parse(&block).unwrap();
    assert_eq!(
        v[2].spec.provider.freja.values().next().unwrap()[0].status,
        500
    );
}

#[test]
fn a_typo_names_file_line_and_column() {
    let err = parse(&GOOD.replace("    severity: low", "    severty: low")).unwrap_err();
    assert!(err.contains("v.yaml:5:5: unknown field `severty`"), "{err}");
}

#[test]
fn a_wrong_type_names_file_line_and_column() {
    let err = parse(&GOOD.replace("{status: \"${status}\"}", "{status: [1]}")).unwrap_err();
    assert!(err.contains("v.yaml:15:"), "{err}");
    let err = parse(&GOOD.replace("[404, 500]", "[404, nope]")).unwrap_err();
    assert!(
        err.contains("v.yaml:15:30") && err.contains("matrix row 2"),
        "{err}"
    );
}

#[test]
fn yes_is_not_a_boolean() {
    let text = GOOD.replace(
        "reason: http_status}",
        "reason: http_status, no_canary_fetch: yes}",
    );
    let err = parse(&text).unwrap_err();
    assert!(err.contains("v.yaml:16:"), "{err}");
}

#[test]
fn unknown_and_unused_placeholders_are_errors() {
    let err =
        parse(&GOOD.replace("title: \"status ${status}\"", "title: \"s ${stat}\"")).unwrap_err();
    assert!(err.contains("v.yaml:9:15: placeholder ${stat}"), "{err}");
    let err = parse(&GOOD.replace(
        "      status: [404, 500]",
        "      status: [404, 500]\n      other: [1]",
    ))
    .unwrap_err();
    assert!(
        err.contains("matrix variable `other` is never used"),
        "{err}"
    );
}

#[test]
fn duplicate_ids_name_both_places() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("vectors/a")).unwrap();
    std::fs::write(dir.path().join("vectors/a/one.yaml"), GOOD).unwrap();
    std::fs::write(
        dir.path().join("vectors/a/two.yaml"),
        GOOD.replace("t.status-${status}", "t.other-${status}"),
    )
    .unwrap();
    let err = Corpus::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("vectors/a/two.yaml:2:5: duplicate vector id `t.one`: already defined at vectors/a/one.yaml:2:5"), "{err}");
}

#[test]
fn exact_loading_reads_only_the_vector_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("vectors/a")).unwrap();
    std::fs::write(dir.path().join("vectors/a/one.yaml"), GOOD).unwrap();
    std::fs::write(
        dir.path().join("vectors/a/broken.yaml"),
        "vectors: [{id: x.y, nonsense: 1}]",
    )
    .unwrap();
    let c = Corpus::load_for_id(dir.path(), "t.status-500").unwrap();
    assert_eq!(c.vectors.len(), 1);
    assert_eq!(c.vectors[0].id(), "t.status-500");
    assert!(Corpus::load(dir.path()).is_err());
}

#[test]
fn a_misspelled_top_level_key_is_located() {
    let err = parse("vector:\n  - id: a.b\n").unwrap_err();
    assert!(err.contains("v.yaml:1:1: unknown field `vector`"), "{err}");
}

const RECIPE: &str = r#"vectors:
  - id: t.forged
    title: forged
    requirements: [R-1]
    severity: critical
    operation: {op: freja.authenticate, user_info_type: EMAIL, user_info: a@example.com}
    provider:
      freja:
        auth_get_one_result:
          - body:
              result:
                status: APPROVED
                details:
                  mutations:
                    - strip_signature
                    - {zero_signature: {bytes: 256}}
                    - {embed_jwk: {key: untrusted-ca}}
    expect: {verdict: rejected}
"#;

#[test]
fn a_malformed_recipe_names_file_line_and_column() {
    assert!(parse(RECIPE).is_ok());
    let err = parse(&RECIPE.replace("- strip_signature", "- strip_sig")).unwrap_err();
    assert!(
        err.contains("v.yaml:15:23: unknown variant `strip_sig`"),
        "{err}"
    );
    let err = parse(&RECIPE.replace("bytes: 256", "bytes: lots")).unwrap_err();
    assert!(err.contains("v.yaml:16:48: invalid u32"), "{err}");
    let err = parse(&RECIPE.replace(
        "{embed_jwk: {key: untrusted-ca}}",
        "{embed_jwk: {key: untrusted-ca, kidd: x}}",
    ))
    .unwrap_err();
    assert!(
        err.contains("v.yaml:17:") && err.contains("unknown field `kidd`"),
        "{err}"
    );
}

#[test]
fn an_unknown_key_in_a_recipe_is_a_load_error_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("vectors/keys")).unwrap();
    std::fs::write(
        dir.path().join("vectors/keys/manifest.yaml"),
        "warning: test\ncertificates:\n  - {name: untrusted-ca, purpose: attacker}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("vectors/ok.yaml"), RECIPE).unwrap();
    assert!(Corpus::load(dir.path()).is_ok());
    std::fs::write(
        dir.path().join("vectors/ok.yaml"),
        RECIPE.replace("key: untrusted-ca", "key: nobody"),
    )
    .unwrap();
    let err = Corpus::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("vectors/ok.yaml:17:41: unknown key `nobody` (known: untrusted-ca)"),
        "{err}"
    );
}

#[test]
fn a_lone_dash_above_a_vector_is_block_style_and_a_json_list_is_one_clear_error() {
    let dashed = GOOD
        .replace("  - id: t.one", "  -\n    id: t.one")
        .replace("  - id: t.status", "  -\n    id: t.status");
    let ids: Vec<String> = parse(&dashed)
        .unwrap()
        .iter()
        .map(|v| v.id().to_owned())
        .collect();
    assert_eq!(ids, ["t.one", "t.status-404", "t.status-500"]);
    let json = r#"{"vectors": [{"id": "t.a", "title": "a", "requirements": ["R-1"], "severity": "low", "operation": {"op": "rp.keys"}, "expect": {"verdict": "accepted"}}]}"#;
    let err = parse(json).unwrap_err();
    assert!(
        err.contains("v.yaml:1:14: `vectors` must be a block-style list"),
        "{err}"
    );
    assert_eq!(err.matches("error").count(), 1, "{err}");
}

#[test]
fn every_yaml_line_break_reads_alike_and_errors_keep_their_lines() {
    let lf = parse(GOOD).unwrap();
    for (name, text) in [
        ("CRLF", GOOD.replace('\n', "\r\n")),
        ("CR", GOOD.replace('\n', "\r")),
        (
            "one stray CR",
            GOOD.replacen("  - id: t.status", "\r  - id: t.status", 1),
        ),
    ] {
        let got = parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ids: Vec<&str> = got.iter().map(|v| v.id()).collect();
        assert_eq!(ids, ["t.one", "t.status-404", "t.status-500"], "{name}");
        if name != "one stray CR" {
            assert_eq!(got.len(), lf.len());
        }
    }
    // A typo on line 3 is reported on line 3 whatever the line breaks.
    let typo = GOOD.replacen("title: one", "titel: one", 1);
    for text in [
        typo.clone(),
        typo.replace('\n', "\r"),
        typo.replace('\n', "\r\n"),
    ] {
        let e = parse(&text).unwrap_err();
        assert!(e.contains("v.yaml:3:"), "{e}");
    }
}

#[test]
fn a_comment_anchor_or_tag_after_the_dash_is_yaml_like_any_other() {
    for dash in [
        "- # the first one",
        "- &one",
        "- !!map",
        "- &one # note",
        "-\t# tab",
    ] {
        let text = GOOD.replace("  - id: t.one", &format!("  {dash}\n    id: t.one"));
        let ids: Vec<String> = parse(&text)
            .unwrap_or_else(|e| panic!("{dash:?}: {e}"))
            .iter()
            .map(|v| v.id().to_owned())
            .collect();
        assert_eq!(ids, ["t.one", "t.status-404", "t.status-500"], "{dash:?}");
    }
}

#[test]
fn a_file_the_loader_cannot_read_costs_that_file_only_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("vectors")).unwrap();
    let good = dir.path().join("vectors/good.yaml");
    let bad = dir.path().join("vectors/bad.yaml");
    std::fs::write(&good, GOOD).unwrap();
    std::fs::write(&bad, [0xff, 0xfe, b'x']).unwrap();
    let (corpus, errors) = Corpus::load_files_lenient(dir.path(), &[good, bad]);
    assert_eq!(corpus.vectors.len(), 3);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].to_string().starts_with("vectors/bad.yaml:1:1: "),
        "{}",
        errors[0]
    );
}

#[test]
fn a_matrix_that_would_make_a_million_vectors_is_refused_at_once() {
    let axis: Vec<String> = (0..32).map(|i| i.to_string()).collect();
    let axis = axis.join(", ");
    let text = GOOD.replace(
        "      status: [404, 500]",
        &format!("      status: [404, 500]\n      a: [{axis}]\n      b: [{axis}]\n      c: [{axis}]\n      d: [{axis}]"),
    );
    let err = parse(&text).unwrap_err();
    assert!(
        err.contains(
            "v.yaml:8:5: `matrix` expands to 2097152 vectors; one template may make at most 10000"
        ),
        "{err}"
    );
}

/// `--exact` parses only the item of a file that can hold the id (line numbers kept): for a
/// sample of the shipped corpus, every file represented, it yields the vector the whole load
/// does, at the same location (each item is cut out of its file and parsed alone either way).
#[test]
fn exact_loading_of_one_item_equals_the_whole_load() {
    let root = eidconf::default_corpus_root();
    let all = Corpus::load(&root).unwrap();
    let mut files = std::collections::BTreeSet::new();
    let sample = all
        .vectors
        .iter()
        .enumerate()
        .filter(|(i, v)| files.insert(v.location.file.clone()) || i % 97 == 0)
        .map(|(_, v)| v);
    for v in sample {
        let one = Corpus::load_for_id(&root, v.id()).unwrap();
        assert_eq!(one.vectors.len(), 1, "{}", v.id());
        let json = |s: &eidconf::vector::VectorSpec| serde_json::to_value(s).unwrap();
        assert_eq!(json(&one.vectors[0].spec), json(&v.spec), "{}", v.id());
        assert_eq!(one.vectors[0].location, v.location, "{}", v.id());
        assert_eq!(format!("{:?}", one.vectors[0].row), format!("{:?}", v.row));
    }
}

/// A file the one-item fast path cannot read as a plain list still loads, or fails as the whole
/// load does: multi-byte characters where the list's indentation is, tabs, flow style.
#[test]
fn exact_loading_of_odd_layouts_matches_the_whole_load() {
    for (text, id) in [
        (
            GOOD.replace("    title: one", "€€ title: one"),
            "t.status-500",
        ),
        (
            GOOD.replace("  - id: t.one", "  - id: t.one\n€"),
            "t.status-500",
        ),
        (GOOD.replace("\n", "\r\n"), "t.status-500"),
        ("vectors: [{id: t.one}]\n".to_owned(), "t.one"),
        ("vectors:\n\t- id: t.one\n".to_owned(), "t.one"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("vectors/a")).unwrap();
        std::fs::write(dir.path().join("vectors/a/one.yaml"), &text).unwrap();
        let whole = Corpus::load(dir.path()).map(|c| c.vectors.len());
        let one = Corpus::load_for_id(dir.path(), id).map(|c| c.vectors.len());
        match (whole, one) {
            (Ok(_), Ok(n)) => assert_eq!(n, 1, "{text}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text}"),
            (a, b) => panic!("{text}: whole {a:?}, one {b:?}"),
        }
    }
}
