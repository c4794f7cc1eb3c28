//! Vectors: the model, loading with file:line:col errors, and matrix expansion (`crate::lint`
//! checks their cross-references).

pub mod duration;
pub mod load;
pub mod matrix;
pub mod model;

pub use load::{Corpus, Diagnostic, Diagnostics, Location, Vector};
pub use model::*;

/// The JSON Schema of a vector file (`vectors/schema.json`).
pub fn schema() -> serde_json::Value {
    let mut s = schemars::schema_for!(VectorFile).to_value();
    if let Some(o) = s.as_object_mut() {
        o.insert("title".into(), "eidconf vector file".into());
    }
    s
}
