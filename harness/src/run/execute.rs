//! Executing one vector: stand up its mock and environment, call the RP under a timeout, and
//! collect what the mock saw. The RP runs in its own task so a panic or a hang is contained.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::adapter::{Environment, Operation, Outcome, RelyingParty};
use crate::pki::Pki;
use crate::provider::{FrejaMock, FrejaUser, MockContext, Observations};
use crate::vector::Vector;

/// Why the harness has no outcome from the RP.
#[derive(Debug, Clone, PartialEq)]
pub enum AdapterFailure {
    /// The adapter panicked (in process) or crashed.
    Panic(String),
    /// The adapter did not answer within the per-vector timeout.
    Timeout(Duration),
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
    };
    let mut op = vector.spec.operation.clone();
    // Token-level OIDC operations get the broker's token, built now so relative times are fresh.
    let mut oidc = None;
    if let Operation::OidcValidateIdToken(req) = &mut op {
        match crate::forge::nested::stand_up(&vector.spec, pki, req) {
            Ok(env) => oidc = Some(env),
            Err(e) => return failed(format!("could not build the ID token: {e}"), start),
        }
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
    let task_env = env.clone();
    let task = tokio::spawn(async move { rp.perform(&task_env, op).await });
    let abort = task.abort_handle();
    let outcome = match tokio::time::timeout(timeout, task).await {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(e)) if e.is_panic() => Err(AdapterFailure::Panic(panic_message(e.into_panic()))),
        Ok(Err(e)) => Err(AdapterFailure::Harness(format!(
            "the adapter task ended abnormally: {e}"
        ))),
        Err(_) => {
            abort.abort();
            Err(AdapterFailure::Timeout(timeout))
        }
    };
    let mut observations = None;
    if let Some(m) = mock {
        observations = Some(m.observations().await);
        m.shutdown().await;
    }
    Execution {
        outcome,
        observations,
        environment: Some(env),
        duration: start.elapsed(),
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".into())
}
