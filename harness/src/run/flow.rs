//! Executing a flow vector (`oidc.begin_login`, `oidc.finish_login`): stand up the mock FTN
//! broker, then play each login as the user agent would, the RP's calls sharing the vector's
//! timeout budget.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::execute::{AdapterFailure, Execution, call};
use crate::adapter::{
    AdapterError, BeginLogin, Environment, FinishLogin, Operation, Outcome, RelyingParty,
};
use crate::forge::{jwe, nested};
use crate::pki::Pki;
use crate::provider::ftn::{BrokerContext, BrokerMock, DEFAULT_ACR_VALUES, REDIRECT_URI};
use crate::vector::Vector;

/// Run one flow vector against `rp`.
pub async fn execute(
    rp: Arc<dyn RelyingParty>,
    vector: &Vector,
    pki: &Pki,
    timeout: Duration,
    start: Instant,
) -> Execution {
    let failed = |e: String| Execution {
        outcome: Err(AdapterFailure::Harness(e)),
        observations: None,
        environment: None,
        duration: start.elapsed(),
        driver_stderr: None,
    };
    let o = vector.spec.environment.oidc.clone().unwrap_or_default();
    let ctx = BrokerContext {
        pki: pki.clone(),
        client_id: o
            .client_id
            .clone()
            .unwrap_or_else(|| nested::DEFAULT_CLIENT_ID.into()),
        redirect_uri: REDIRECT_URI.into(),
        acr_values: o
            .acr_values
            .clone()
            .unwrap_or_else(|| DEFAULT_ACR_VALUES.iter().map(|s| s.to_string()).collect()),
    };
    let broker = match BrokerMock::start(&vector.spec.provider, ctx).await {
        Ok(b) => b,
        Err(e) => return failed(format!("could not start the mock broker: {e}")),
    };
    let oidc = match broker.environment(&vector.spec.environment) {
        Ok(o) => o,
        Err(e) => {
            broker.shutdown().await;
            return failed(format!("could not build the environment: {e}"));
        }
    };
    let env = Environment {
        vector_id: vector.id().to_owned(),
        freja: None,
        oidc: Some(oidc),
    };
    let mut player = Player {
        rp,
        env: &env,
        broker: &broker,
        vector_id: vector.id(),
        deadline: start + timeout,
        timeout,
        stderr: None,
    };
    let outcome = match &vector.spec.operation {
        Operation::OidcBeginLogin(b) => player.begin_only(&b.session).await,
        _ => player.logins().await,
    };
    let driver_stderr = player.stderr.take();
    let observations = broker.observations(env.oidc.as_ref()).await;
    broker.shutdown().await;
    Execution {
        outcome,
        observations: Some(observations),
        environment: Some(env),
        duration: start.elapsed(),
        driver_stderr,
    }
}

/// The harness as the user agent of one vector.
struct Player<'a> {
    rp: Arc<dyn RelyingParty>,
    env: &'a Environment,
    broker: &'a BrokerMock,
    vector_id: &'a str,
    deadline: Instant,
    timeout: Duration,
    stderr: Option<String>,
}

impl Player<'_> {
    async fn perform(&mut self, op: Operation) -> Result<Outcome, AdapterFailure> {
        let budget = self.deadline.saturating_duration_since(Instant::now());
        if budget.is_zero() {
            return Err(AdapterFailure::Adapter(AdapterError::Timeout(self.timeout)));
        }
        call(
            &self.rp,
            self.env,
            op,
            budget,
            self.timeout,
            &mut self.stderr,
        )
        .await
    }

    /// A fresh session per login: `<vector id>#<n>-<random>`.
    fn session(&self, login: usize) -> String {
        format!("{}#{login}-{}", self.vector_id, hex::encode(jwe::random(4)))
    }

    /// `oidc.begin_login`: the begin outcome is judged; its URL is carried to the broker so the
    /// request-side checks are made.
    async fn begin_only(&mut self, session: &str) -> Result<Outcome, AdapterFailure> {
        let session = if session.is_empty() {
            self.session(1)
        } else {
            session.to_owned()
        };
        self.broker.start_login(1, &session, None);
        let out = self
            .perform(Operation::OidcBeginLogin(BeginLogin { session }))
            .await?;
        self.broker.record_outcome(1, &out);
        if let Outcome::Accepted {
            authorization_url: Some(url),
            ..
        } = &out
        {
            // Not loopback: recorded, and the checks say so; nothing to follow.
            let _ = self.broker.authorize(url, 1);
        }
        Ok(out)
    }

    /// `oidc.finish_login`: every login of the script in order; the last outcome is judged.
    async fn logins(&mut self) -> Result<Outcome, AdapterFailure> {
        let replays: Vec<bool> = self
            .broker
            .logins()
            .iter()
            .map(|l| l.callback.replay)
            .collect();
        let mut last: Option<(String, String)> = None;
        let mut outcome = None;
        for (i, replay) in replays.into_iter().enumerate() {
            let n = i + 1;
            let (session, callback_url) = if replay {
                let Some(prev) = last.clone() else {
                    return Err(AdapterFailure::Harness(format!(
                        "login #{n} replays, but no login came before it"
                    )));
                };
                self.broker.start_login(n, &prev.0, Some(n - 1));
                prev
            } else {
                let session = self.session(n);
                self.broker.start_login(n, &session, None);
                let begin = self
                    .perform(Operation::OidcBeginLogin(BeginLogin {
                        session: session.clone(),
                    }))
                    .await?;
                let Outcome::Accepted {
                    authorization_url: Some(url),
                    ..
                } = &begin
                else {
                    self.broker.record_outcome(n, &begin);
                    return Ok(begin);
                };
                match self.broker.authorize(url, n) {
                    Ok(callback) => (session, callback),
                    Err(e) => {
                        self.broker.record_outcome(n, &begin);
                        // The RP's doing, not the harness's: it sent the user agent elsewhere.
                        return Err(AdapterFailure::Adapter(AdapterError::Protocol(format!(
                            "login #{n}: the RP's authorization URL is not one eidconf will carry: {e}"
                        ))));
                    }
                }
            };
            let finish = self
                .perform(Operation::OidcFinishLogin(FinishLogin {
                    session: session.clone(),
                    callback_url: callback_url.clone(),
                }))
                .await?;
            self.broker.record_outcome(n, &finish);
            if !replay {
                last = Some((session, callback_url));
            }
            outcome = Some(finish);
        }
        outcome.ok_or_else(|| AdapterFailure::Harness("the broker script has no login".into()))
    }
}
