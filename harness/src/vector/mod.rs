//! Vectors: the model, loading with file:line:col errors, matrix expansion and linting.

pub mod duration;
pub mod lint;
pub mod load;
pub mod matrix;
pub mod model;

pub use load::{Corpus, Diagnostic, Diagnostics, Location, Vector};
pub use model::*;
