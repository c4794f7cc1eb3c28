//! Vector files are plain YAML to every tool, not only to eidconf: each one is read by a second,
//! independent YAML parser (libyaml's, through serde_norway) and checked against the published
//! `vectors/schema.json` by an independent JSON Schema validator (jsonschema), matrix templates
//! as written. That is what an editor with yaml-language-server or a CI linter sees.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn vector_files() -> Vec<PathBuf> {
    let files = eidconf::vector::load::vector_files(&root().join("vectors")).expect("vectors/");
    assert!(files.len() > 20, "the corpus has its vector files");
    files
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("vectors/schema.json")).expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("vectors/schema.json is a valid JSON Schema")
}

#[test]
fn every_vector_file_is_yaml_to_another_parser_and_valid_against_the_schema() {
    let validator = validator();
    let mut problems = Vec::new();
    for file in vector_files() {
        let name = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        let text = std::fs::read_to_string(&file).expect("readable");
        let value: serde_json::Value = match serde_norway::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{name}: not YAML to libyaml: {e}"));
                continue;
            }
        };
        // One vector at a time, and the innermost complaints, so a failure names the spot.
        let vectors = value["vectors"].as_array().cloned().unwrap_or_default();
        for (i, v) in vectors.iter().enumerate() {
            let one = serde_json::json!({ "vectors": [v] });
            if validator.is_valid(&one) {
                continue;
            }
            let id = v["id"].as_str().unwrap_or("?");
            let evaluation = validator.evaluate(&one);
            let mut errors: Vec<String> = evaluation
                .iter_errors()
                .map(|e| format!("{} ({})", e.instance_location, e.error))
                .filter(|e| !e.contains("is not valid under any of the schemas"))
                .collect();
            errors.sort_by_key(|e| std::cmp::Reverse(e.len()));
            errors.truncate(4);
            problems.push(format!(
                "{name}: vector {i} `{id}`:\n    {}",
                errors.join("\n    ")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_vector_file_names_the_schema_by_its_relative_path() {
    for file in vector_files() {
        let text = std::fs::read_to_string(&file).expect("readable");
        let first = text.lines().next().unwrap_or_default();
        let Some(path) = first.strip_prefix("# yaml-language-server: $schema=") else {
            panic!(
                "{}: the first line is not the schema modeline",
                file.display()
            );
        };
        let schema = file.parent().expect("folder").join(path);
        assert!(
            schema.canonicalize().ok() == root().join("vectors/schema.json").canonicalize().ok(),
            "{}: the modeline names {path}, not vectors/schema.json",
            file.display()
        );
    }
}

/// The schema must bite: a template placeholder is accepted where a value is, but a wrong value
/// is still refused.
#[test]
fn the_schema_accepts_placeholders_and_still_refuses_wrong_values() {
    let validator = validator();
    let doc = |severity: &str| -> serde_json::Value {
        serde_norway::from_str(&format!(
            "vectors:\n  - id: a.${{x}}\n    title: t\n    requirements: [R]\n    severity: {severity}\n    operation: {{op: freja.authenticate, user_info_type: EMAIL, user_info: a@example.com}}\n    expect: {{verdict: accepted}}\n    matrix: {{x: [1, 2]}}\n"
        ))
        .expect("yaml")
    };
    assert!(validator.is_valid(&doc("\"${x}\"")));
    assert!(validator.is_valid(&doc("high")));
    assert!(!validator.is_valid(&doc("dreadful")));
}
