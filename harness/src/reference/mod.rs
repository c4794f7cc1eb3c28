//! The reference relying party and its deliberate faults.
//!
//! `ReferenceRp::new(&[])` is the correct RP the vector corpus is written against; each [`Fault`]
//! switches on one realistic bug that some vector must catch.

mod dn;
mod fault;
mod freja;
mod jws;
mod oidc;

pub use fault::Fault;

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::adapter::{
    Environment, Operation, Outcome, Reason, Rejection, RelyingParty, RpDescription,
};

/// The correct Freja eID relying party, optionally with faults.
#[derive(Debug, Clone, Default)]
pub struct ReferenceRp {
    faults: BTreeSet<Fault>,
}

impl ReferenceRp {
    pub fn new(faults: &[Fault]) -> ReferenceRp {
        ReferenceRp {
            faults: faults.iter().copied().collect(),
        }
    }

    pub fn faults(&self) -> impl Iterator<Item = Fault> + '_ {
        self.faults.iter().copied()
    }
}

#[async_trait]
impl RelyingParty for ReferenceRp {
    fn describe(&self) -> RpDescription {
        let mut name = "eidconf-reference".to_owned();
        for f in &self.faults {
            name.push('+');
            name.push_str(f.name());
        }
        RpDescription {
            name,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            operations: vec![
                "freja.authenticate".into(),
                "freja.sign".into(),
                "dn.validate".into(),
                "freja.verify_details".into(),
                "oidc.validate_id_token".into(),
            ],
        }
    }

    async fn perform(&self, env: &Environment, op: Operation) -> Outcome {
        // Data-level operations need no provider environment.
        if let Operation::DnValidate(r) = &op {
            return dn::validate(&self.faults, r);
        }
        if let Operation::OidcValidateIdToken(req) = &op {
            let Some(oidc) = &env.oidc else {
                return Rejection::new(Reason::InvalidInput)
                    .detail("the environment has no OIDC settings")
                    .into();
            };
            return oidc::validate(&self.faults, oidc, req);
        }
        let Some(freja) = &env.freja else {
            return Rejection::new(Reason::InvalidInput)
                .detail("the environment has no Freja eID settings")
                .into();
        };
        let flow = match &op {
            Operation::FrejaAuthenticate(r) => freja::Flow::auth(r),
            Operation::FrejaSign(r) => freja::Flow::sign(r),
            Operation::DnValidate(_) => unreachable!("handled above"),
            Operation::FrejaVerifyDetails(v) => {
                return freja::verify_details(&self.faults, freja, v).await;
            }
            Operation::OidcValidateIdToken(_) => unreachable!("handled above"),
            Operation::OidcBeginLogin(_) | Operation::OidcFinishLogin(_) | Operation::RpKeys(_) => {
                return Outcome::Unsupported;
            }
        };
        freja::run(&self.faults, freja, flow).await
    }
}
