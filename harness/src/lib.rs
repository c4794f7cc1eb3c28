//! eidconf: a conformance harness for relying parties of Nordic eID services.
//!
//! It plays the provider (a mock Freja eID services host over mutual TLS), drives the RP through
//! the [`adapter::RelyingParty`] trait, and judges each vector's outcome.

pub mod adapter;
pub mod pki;
pub mod provider;
pub mod reference;
pub mod suite;
pub mod vector;
