//! Executing one vector: stand up its mock and environment, call the RP under a timeout, and
//! collect what the mock saw. The RP runs in its own task so a panic or a hang is contained.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::adapter::{AdapterError, Environment, Operation, Outcome, RelyingParty};
use crate::forge::nested;
use crate::pki::Pki;
use crate::provider::{FrejaMock, FrejaUser, MockContext, Observations, checks};
use crate::vector::Vector;

/// Why the harness has no outcome from the RP.
#[derive(Debug, Clone, PartialEq)]
pub enum AdapterFailure {
    /// The RP or its transport said why (a broken protocol, a crash, an error reply, a timeout);
    /// the harness's own deadline is an `AdapterError::Timeout` too.
    Adapter(AdapterError),
    /// The in-process RP panicked.
    Panic(String),
    /// The harness could not stand the vector up.
    Harness(String),
}

/// Everything one vector's execution produced.
#[derive(Debug)]
pub struct Execution {
    pub outcome: Result<Outcome, AdapterFailure>,
    pub observations: Option<Observations>,
    pub environment: Option<Environment>,
    pub duration: Duration,
    /// What an out-of-process driver wrote to stderr while serving this vector.
    pub driver_stderr: Option<String>,
}

/// Run one vector against `rp`.
pub async fn execute(
    rp: Arc<dyn RelyingParty>,
    vector: &Vector,
    pki: &Pki,
    timeout: Duration,
) -> Execution {
    let start = Instant::now();
    let failed = |e: String, start: Instant| Execution {
        outcome: Err(AdapterFailure::Harness(e)),
        observations: None,
        environment: None,
        duration: start.elapsed(),
        driver_stderr: None,
    };
    let mut op = vector.spec.operation.clone();
    // Flow operations play logins against a mock broker.
    if matches!(
        op,
        Operation::OidcBeginLogin(_) | Operation::OidcFinishLogin(_)
    ) {
        return super::flow::execute(rp, vector, pki, timeout, start).await;
    }
    // Token-level OIDC operations get the broker's token, built now so relative times are fresh;
    // `rp.keys` gets the registration only.
    let mut oidc = None;
    match &mut op {
        Operation::OidcValidateIdToken(req) => {
            match crate::forge::nested::stand_up(&vector.spec, pki, req) {
                Ok(env) => oidc = Some(env),
                Err(e) => return failed(format!("could not build the ID token: {e}"), start),
            }
        }
        Operation::RpKeys(_) => {
            let o = vector.spec.environment.oidc.clone().unwrap_or_default();
            let (alg, enc) = (&["RSA-OAEP", "RSA-OAEP-256"], &["A128CBC-HS256", "A128GCM"]);
            match crate::forge::nested::registration(&o, pki, nested::DEFAULT_ISSUER, alg, enc) {
                Ok(env) => oidc = Some(env),
                Err(e) => return failed(format!("could not build the registration: {e}"), start),
            }
        }
        _ => {}
    }
    // Operations on the Freja wire get a mock services host; token- and data-level operations
    // (a given token, a subject DN) need no provider at all.
    let mut mock = None;
    let mut freja = None;
    if let Some(user) = FrejaUser::from_operation(&op) {
        let ctx = MockContext {
            pki: pki.clone(),
            vector_id: vector.id().to_owned(),
            user,
        };
        let m = match FrejaMock::start(&vector.spec.provider, ctx).await {
            Ok(m) => m,
            Err(e) => return failed(format!("could not start the mock provider: {e}"), start),
        };
        // A token-level operation gets the token the mock built and the mock's reference.
        if let Operation::FrejaVerifyDetails(v) = &mut op {
            match m.details_token(v.sign) {
                Ok((token, reference)) => {
                    if v.details.is_empty() {
                        v.details = token;
                    }
                    if v.reference.is_empty() {
                        v.reference = reference;
                    }
                }
                Err(e) => {
                    m.shutdown().await;
                    return failed(format!("could not build the details token: {e}"), start);
                }
            }
        }
        match m.environment(&vector.spec.environment) {
            Ok(f) => freja = Some(f),
            Err(e) => {
                m.shutdown().await;
                return failed(format!("could not build the environment: {e}"), start);
            }
        }
        mock = Some(m);
    }
    let env = Environment {
        vector_id: vector.id().to_owned(),
        freja,
        oidc,
    };
    let mut driver_stderr = None;
    let rp_keys = matches!(op, Operation::RpKeys(_));
    let outcome = call(&rp, &env, op, timeout, timeout, &mut driver_stderr).await;
    let mut observations = None;
    if let Some(m) = mock {
        observations = Some(m.observations().await);
        m.shutdown().await;
    }
    // The RP's published keys are checked here: no mock saw them.
    if rp_keys && let Ok(Outcome::Accepted { jwks, .. }) = &outcome {
        observations = Some(Observations {
            checks: checks::jwks_checks(jwks.as_ref()),
            ..Observations::default()
        });
    }
    Execution {
        outcome,
        observations,
        environment: Some(env),
        duration: start.elapsed(),
        driver_stderr,
    }
}

/// One RP call in its own task (a panic or a hang is contained), limited to `budget`;
/// `timeout` is the per-vector timeout reported when the budget runs out. What the driver wrote
/// to stderr is appended to `stderr`.
pub(crate) async fn call(
    rp: &Arc<dyn RelyingParty>,
    env: &Environment,
    op: Operation,
    budget: Duration,
    timeout: Duration,
    stderr: &mut Option<String>,
) -> Result<Outcome, AdapterFailure> {
    let (rp, task_env) = (rp.clone(), env.clone());
    // A transport that times out on its own (and kills its driver) gets a grace period first.
    let limit = if rp.enforces_timeout() {
        budget + Duration::from_secs(2)
    } else {
        budget
    };
    let task = tokio::spawn(async move { rp.perform_traced(&task_env, op, budget).await });
    let abort = task.abort_handle();
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(traced)) => {
            if let Some(e) = traced.stderr {
                match stderr {
                    Some(s) => s.push_str(&e),
                    None => *stderr = Some(e),
                }
            }
            // A transport's own timeout is reported as the vector's timeout.
            traced.outcome.map_err(|e| match e {
                AdapterError::Timeout(_) => AdapterFailure::Adapter(AdapterError::Timeout(timeout)),
                e => AdapterFailure::Adapter(e),
            })
        }
        Ok(Err(e)) if e.is_panic() => Err(AdapterFailure::Panic(panic_message(e.into_panic()))),
        Ok(Err(e)) => Err(AdapterFailure::Harness(format!(
            "the adapter task ended abnormally: {e}"
        ))),
        Err(_) => {
            abort.abort();
            Err(AdapterFailure::Adapter(AdapterError::Timeout(timeout)))
        }
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".into())
}
