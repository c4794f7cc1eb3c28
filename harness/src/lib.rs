//! eidconf: a conformance harness for relying parties of Nordic eID services.
//!
//! It plays the provider (a mock Freja eID services host over mutual TLS), drives the RP through
//! the [`adapter::RelyingParty`] trait, and judges each vector's outcome.

pub mod corpus;
pub mod forge;
pub mod import;
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

/// The checkout eidconf was built from (`vectors/`, `suites/`): what the tests read. The binary
/// carries its own copy ([`corpus::Embedded`]).
pub fn default_corpus_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The text of a caught panic's payload.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".into())
}
