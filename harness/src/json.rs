//! JSON comparisons shared by the judge and the providers' own judging.

/// JSON equality, numbers compared by value: `1e9`, `1000000000` and `1000000000.0` are one
/// NumericDate (RFC 7519 §2), however the RP's parser spells it back.
pub fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::{Array, Number, Object};
    match (a, b) {
        (Number(x), Number(y)) => match (x.as_i128(), y.as_i128()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64().is_some_and(|x| y.as_f64() == Some(x)),
        },
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y)),
        (Object(x), Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// A value for a message: the JSON, or "nothing".
pub fn shown(v: Option<&serde_json::Value>) -> String {
    v.map_or_else(|| "nothing".to_owned(), |v| v.to_string())
}
