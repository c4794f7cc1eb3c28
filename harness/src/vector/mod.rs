//! Vectors: the model, loading with file:line:col errors, matrix expansion and linting.

pub mod duration;
pub mod model;

pub use model::*;
