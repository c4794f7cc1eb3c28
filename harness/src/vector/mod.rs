//! Vectors: the model, loading with file:line:col errors, and matrix expansion (`crate::lint`
//! checks their cross-references).

mod cache;
pub mod duration;
pub mod load;
pub mod matrix;
pub mod model;

pub use load::{Corpus, Diagnostic, Diagnostics, Location, Vector};
pub use model::*;

/// The JSON Schema of a vector file (`vectors/schema.json`). A matrix template is checked as
/// written: wherever a value of another type is expected, a string holding a `${name}`
/// placeholder is accepted too.
pub fn schema() -> serde_json::Value {
    use serde_json::{Value, json};
    let mut s = schemars::schema_for!(VectorFile).to_value();
    let Some(o) = s.as_object_mut() else {
        return s;
    };
    o.insert("title".into(), "eidconf vector file".into());
    if let Some(Value::Object(defs)) = o.get_mut("$defs") {
        for d in defs.values_mut() {
            allow_placeholders(d, false);
        }
        defs.insert(
            PLACEHOLDER.into(),
            json!({
                "type": "string",
                "pattern": "\\$\\{[A-Za-z0-9_]+\\}",
                "description": "In a matrix template: a `${name}` placeholder, replaced by each row's value."
            }),
        );
    }
    s
}

const PLACEHOLDER: &str = "MatrixPlaceholder";

/// Walk a subschema; `wrap` the ones at value positions (properties, items, definitions) whose
/// instances a placeholder string would not already satisfy.
fn allow_placeholders(schema: &mut serde_json::Value, inside: bool) {
    use serde_json::{Value, json};
    let Value::Object(o) = schema else {
        return;
    };
    for key in ["properties", "patternProperties", "$defs"] {
        if let Some(Value::Object(props)) = o.get_mut(key) {
            for p in props.values_mut() {
                allow_placeholders(p, false);
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(p @ Value::Object(_)) = o.get_mut(key) {
            allow_placeholders(p, false);
        }
    }
    if let Some(Value::Array(items)) = o.get_mut("prefixItems") {
        items.iter_mut().for_each(|p| allow_placeholders(p, false));
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(alts)) = o.get_mut(key) {
            alts.iter_mut().for_each(|p| allow_placeholders(p, true));
        }
    }
    let only_ref = o.contains_key("$ref")
        && o.keys()
            .all(|k| k == "$ref" || k == "description" || k == "default");
    let plain_string = o.get("type") == Some(&json!("string"))
        && ![
            "enum",
            "const",
            "pattern",
            "format",
            "minLength",
            "maxLength",
        ]
        .iter()
        .any(|k| o.contains_key(*k));
    if inside || only_ref || plain_string || o.is_empty() {
        return;
    }
    let description = o.remove("description");
    let tagged_enum = o.contains_key("oneOf");
    let original = Value::Object(std::mem::take(o));
    let mut alternatives = vec![original, json!({"$ref": format!("#/$defs/{PLACEHOLDER}")})];
    if tagged_enum {
        // `{"${kind}": {…}}`: the variant's name is the placeholder.
        alternatives.push(json!({
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "propertyNames": {"$ref": format!("#/$defs/{PLACEHOLDER}")}
        }));
    }
    o.insert("anyOf".into(), Value::Array(alternatives));
    if let Some(d) = description {
        o.insert("description".into(), d);
    }
}
