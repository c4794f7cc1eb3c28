//! One test per vector of the eidconf corpus: `cargo test -p eidconf-example-rp` or
//! `cargo nextest run -p eidconf-example-rp`. Vectors of operations this RP does not declare are
//! listed as ignored.

eidconf_adapter::harness!(eidconf_example_rp::OnboardingRp);
