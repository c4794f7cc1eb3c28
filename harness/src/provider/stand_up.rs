//! The seam between a run and the providers: stand up what a vector's operation needs, drive the
//! RP through it (the FTN login is played as the user agent), and hand back what the provider
//! observed. A run sees only [`Stage`].

use crate::adapter::{Environment, Operation, Outcome};
use crate::pki::Pki;
use crate::transport::{AdapterFailure, Caller};
use crate::vector::Vector;
use crate::vector::model::{BrokerEndpoint, Endpoint, FrejaEndpoint};

use super::freja::{self, FrejaMock};
use super::ftn::{self, BrokerMock, player::Player};
use super::{Observations, checks};

/// One vector, stood up.
pub struct Stage {
    /// What the RP is handed.
    pub environment: Environment,
    /// The operation as sent: the vector's, with what the harness fills in.
    operation: Operation,
    mock: Mock,
}

enum Mock {
    /// A data- or token-level operation: nothing listens.
    None,
    /// `rp.keys`: nothing listens; the published JWKS is checked afterwards.
    RpKeys,
    Freja(Box<FrejaMock>),
    Broker(Box<BrokerMock>),
}

/// Stand up `vector`. The error says what could not be built; the vector is then an `error`.
pub async fn stand_up(vector: &Vector, pki: &Pki) -> Result<Stage, String> {
    let mut op = vector.spec.operation.clone();
    let mut env = Environment::new(vector.id());
    let mock = match &mut op {
        Operation::OidcBeginLogin(_) | Operation::OidcFinishLogin(_) => {
            let (broker, oidc) = ftn::stand_up_broker(vector, pki).await?;
            env.oidc = Some(oidc);
            Mock::Broker(Box::new(broker))
        }
        // The broker's token is built now, so relative times are fresh.
        Operation::OidcValidateIdToken(req) => {
            let oidc = ftn::stand_up(&vector.spec, pki, req)
                .map_err(|e| format!("could not build the ID token: {e}"))?;
            env.oidc = Some(oidc);
            Mock::None
        }
        Operation::RpKeys(_) => {
            let oidc = ftn::stand_up_rp_keys(&vector.spec, pki)
                .map_err(|e| format!("could not build the registration: {e}"))?;
            env.oidc = Some(oidc);
            Mock::RpKeys
        }
        _ => match freja::stand_up(vector, pki, &mut op).await? {
            Some((m, f)) => {
                env.freja = Some(f);
                Mock::Freja(Box::new(m))
            }
            None => Mock::None,
        },
    };
    Ok(Stage {
        environment: env,
        operation: op,
        mock,
    })
}

impl Stage {
    /// The operation as the RP is given it.
    pub fn operation(&self) -> &Operation {
        &self.operation
    }

    /// Run the operation against the RP: one call, or the logins of the broker's script.
    pub async fn drive(&self, rp: &mut dyn Caller) -> Result<Outcome, AdapterFailure> {
        match &self.mock {
            Mock::Broker(broker) => {
                let mut player = Player {
                    broker,
                    vector_id: &self.environment.vector_id,
                    rp,
                };
                player.play(&self.operation).await
            }
            _ => rp.call(self.operation.clone()).await,
        }
    }

    /// What the provider saw, once the RP is done; the mock is shut down.
    pub async fn finish(self, outcome: &Result<Outcome, AdapterFailure>) -> Option<Observations> {
        match self.mock {
            Mock::None => None,
            Mock::Freja(m) => {
                let obs = m.observations().await;
                m.shutdown().await;
                Some(obs)
            }
            Mock::Broker(b) => {
                let obs = b.observations(self.environment.oidc.as_ref()).await;
                b.shutdown().await;
                Some(obs)
            }
            // The RP's published keys are checked here: no mock saw them.
            Mock::RpKeys => match outcome {
                Ok(Outcome::Accepted { jwks, .. }) => Some(Observations {
                    checks: checks::jwks_checks(jwks.as_ref()),
                    ..Observations::default()
                }),
                _ => None,
            },
        }
    }
}

/// The endpoints an operation may call.
pub fn reachable_endpoints(op: &Operation) -> Vec<Endpoint> {
    use FrejaEndpoint::*;
    let freja = |v: &[FrejaEndpoint]| v.iter().map(|e| Endpoint::Freja(*e)).collect();
    match op {
        // Both contexts: a vector may assert that an organisation flow never reaches the personal
        // endpoints, and the other way round.
        Operation::FrejaAuthenticate(_) => freja(&[
            AuthInit,
            AuthGetOneResult,
            AuthGetResults,
            AuthCancel,
            OrgAuthInit,
            OrgAuthGetOneResult,
            OrgAuthGetResults,
            OrgAuthCancel,
        ]),
        Operation::FrejaSign(_) => freja(&[
            SignInit,
            SignGetOneResult,
            SignGetResults,
            SignCancel,
            OrgSignInit,
            OrgSignGetOneResult,
            OrgSignGetResults,
            OrgSignCancel,
        ]),
        // The get-result endpoints too: a vector may assert that a cancelling RP does not poll.
        Operation::FrejaCancel(_) => freja(&[
            AuthInit,
            AuthCancel,
            AuthGetOneResult,
            SignInit,
            SignCancel,
            SignGetOneResult,
            OrgAuthInit,
            OrgAuthCancel,
            OrgAuthGetOneResult,
            OrgSignInit,
            OrgSignCancel,
            OrgSignGetOneResult,
        ]),
        Operation::FrejaSetCustomIdentifier(_) | Operation::FrejaDeleteCustomIdentifier(_) => {
            freja(&[SetCustomIdentifier, DeleteCustomIdentifier])
        }
        Operation::OidcBeginLogin(_) | Operation::OidcFinishLogin(_) => {
            use BrokerEndpoint::*;
            [
                BrokerDiscovery,
                BrokerAuthorize,
                BrokerToken,
                BrokerJwks,
                BrokerUserinfo,
            ]
            .into_iter()
            .map(Endpoint::Broker)
            .collect()
        }
        _ => vec![],
    }
}
