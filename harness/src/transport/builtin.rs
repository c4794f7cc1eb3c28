//! Deliberately useless RPs that prove the harness can fail an RP.

use async_trait::async_trait;

use crate::adapter::{
    AdapterError, Environment, Operation, Outcome, Reason, Rejection, RelyingParty, RpDescription,
};

/// Accepts everything with an empty identity.
pub struct AlwaysAccept;

/// Rejects everything with `invalid_input`.
pub struct AlwaysReject;

fn every_operation() -> Vec<String> {
    Operation::NAMES.iter().map(|s| s.to_string()).collect()
}

#[async_trait]
impl RelyingParty for AlwaysAccept {
    fn describe(&self) -> RpDescription {
        RpDescription {
            name: "always-accept".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: every_operation(),
        }
    }

    async fn perform(&self, _env: &Environment, _op: Operation) -> Result<Outcome, AdapterError> {
        Ok(Outcome::accepted(Default::default()))
    }
}

#[async_trait]
impl RelyingParty for AlwaysReject {
    fn describe(&self) -> RpDescription {
        RpDescription {
            name: "always-reject".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: every_operation(),
        }
    }

    async fn perform(&self, _env: &Environment, _op: Operation) -> Result<Outcome, AdapterError> {
        Ok(Rejection::new(Reason::InvalidInput)
            .detail("always-reject rejects everything")
            .into())
    }
}
