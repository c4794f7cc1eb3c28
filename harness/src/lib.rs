//! eidconf: a conformance harness for relying parties of Nordic eID services.
//!
//! It plays the provider (a mock Freja eID services host over mutual TLS), drives the RP through
//! the [`adapter::RelyingParty`] trait, and judges each vector's outcome.

pub mod forge;
mod inputs;
mod json;
pub mod lint;
pub mod meter;
pub mod pki;
pub mod provider;
pub mod reference;
pub mod run;
pub mod suite;
pub mod transport;
pub mod vector;

/// The contract crate, under the name the engine has always used for it.
pub use eidconf_adapter as adapter;
pub use inputs::Inputs;

use std::path::PathBuf;

/// The folder holding `vectors/` and `suites/`: the current folder if it has them, else the
/// repository eidconf was built from.
pub fn default_corpus_root() -> PathBuf {
    let here = PathBuf::from(".");
    if here.join("vectors").is_dir() && here.join("suites").is_dir() {
        return here;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The text of a caught panic's payload.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".into())
}
