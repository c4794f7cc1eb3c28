//! The reference relying party and its deliberate faults.
//!
//! `ReferenceRp::new(&[])` is the correct RP the vector corpus is written against; each [`Fault`]
//! switches on one realistic bug that some vector must catch.

mod dn;
mod fault;
mod freja;
mod jws;
mod oidc;
mod oidc_flow;
mod rp_keys;

pub use fault::Fault;

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;

use crate::adapter::{
    AdapterError, Environment, Operation, Outcome, Reason, Rejection, RelyingParty, RpDescription,
};

/// The correct Freja eID and FTN relying party, optionally with faults. Clones share the
/// pending logins and the broker JWKS cache.
#[derive(Debug, Clone, Default)]
pub struct ReferenceRp {
    faults: BTreeSet<Fault>,
    flow: Arc<oidc_flow::FlowState>,
    /// Poll Freja with `getResults` instead of `getOneResult` (both are correct).
    get_results: bool,
}

impl ReferenceRp {
    pub fn new(faults: &[Fault]) -> ReferenceRp {
        ReferenceRp {
            faults: faults.iter().copied().collect(),
            flow: Arc::default(),
            get_results: false,
        }
    }

    /// The same RP polling Freja with `getResults` (`includePrevious: ALL`) and picking its
    /// transaction from the list: the other documented way, which the corpus must not fail.
    pub fn polling_get_results(mut self) -> ReferenceRp {
        self.get_results = true;
        self
    }

    pub fn faults(&self) -> impl Iterator<Item = Fault> + '_ {
        self.faults.iter().copied()
    }
}

#[async_trait]
impl RelyingParty for ReferenceRp {
    fn describe(&self) -> RpDescription {
        let mut name = "eidconf-reference".to_owned();
        if self.get_results {
            name.push_str("~get-results");
        }
        for f in &self.faults {
            name.push('+');
            name.push_str(f.name());
        }
        RpDescription {
            name,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            // The reference implements every operation the harness knows.
            operations: Operation::NAMES.iter().map(|s| s.to_string()).collect(),
        }
    }

    async fn perform(&self, env: &Environment, op: Operation) -> Result<Outcome, AdapterError> {
        Ok(ReferenceRp::perform(self, env, op).await)
    }
}

impl ReferenceRp {
    /// The reference always reaches an outcome: what `RelyingParty::perform` wraps in `Ok`.
    pub async fn perform(&self, env: &Environment, op: Operation) -> Outcome {
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
        match &op {
            Operation::OidcBeginLogin(req) => {
                return oidc_flow::begin_login(&self.faults, &self.flow, env, req);
            }
            Operation::OidcFinishLogin(req) => {
                return oidc_flow::finish_login(&self.faults, &self.flow, env, req).await;
            }
            Operation::RpKeys(req) => {
                return match &env.oidc {
                    Some(oidc) => rp_keys::publish(&self.faults, oidc, req),
                    None => Rejection::new(Reason::InvalidInput)
                        .detail("the environment has no OIDC settings")
                        .into(),
                };
            }
            _ => {}
        }
        let Some(freja) = &env.freja else {
            return Rejection::new(Reason::InvalidInput)
                .detail("the environment has no Freja eID settings")
                .into();
        };
        let org_ignored = self
            .faults
            .contains(&Fault::PersonalEndpointsForOrganisation);
        let flow = match &op {
            Operation::FrejaAuthenticate(r) => freja::Flow::auth(r, org_ignored),
            Operation::FrejaSign(r) => freja::Flow::sign(r, org_ignored),
            Operation::DnValidate(_) => unreachable!("handled above"),
            Operation::FrejaVerifyDetails(v) => {
                return freja::verify_details(&self.faults, freja, v).await;
            }
            Operation::FrejaCancel(c) => return freja::cancel(&self.faults, freja, c).await,
            Operation::FrejaSetCustomIdentifier(_) | Operation::FrejaDeleteCustomIdentifier(_) => {
                return freja::manage_custom_identifier(&self.faults, freja, &op).await;
            }
            Operation::OidcValidateIdToken(_) => unreachable!("handled above"),
            Operation::OidcBeginLogin(_) | Operation::OidcFinishLogin(_) | Operation::RpKeys(_) => {
                unreachable!("handled above")
            }
            _ => return Outcome::Unsupported,
        };
        let flow = if self.get_results {
            flow.polling_get_results()
        } else {
            flow
        };
        freja::run(&self.faults, freja, flow).await
    }
}
