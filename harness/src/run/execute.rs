//! Executing one vector: the provider stands it up, the RP is called under the vector's timeout
//! (each call in its own task, so a panic or a hang is contained), and the provider reports what
//! it saw.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::adapter::{Environment, Outcome, RelyingParty, Resources};
use crate::pki::Pki;
use crate::provider::{self, Observations};
use crate::transport::{AdapterFailure, BudgetedCaller};
use crate::vector::Vector;

/// Everything one vector's execution produced.
#[derive(Debug)]
pub struct Execution {
    pub outcome: Result<Outcome, AdapterFailure>,
    pub observations: Option<Observations>,
    pub environment: Option<Environment>,
    pub duration: Duration,
    /// What an out-of-process driver wrote to stderr while serving this vector.
    pub driver_stderr: Option<String>,
    /// What serving the vector cost the RP (`None`: no call completed).
    pub resources: Option<Resources>,
    /// The operation as the RP was given it (the vector's, with what the harness filled in).
    pub operation: Option<serde_json::Value>,
}

/// Run one vector against `rp`. The timeout runs from when the vector is stood up, and covers
/// every RP call the vector makes (a login is a begin and a finish).
pub async fn execute(
    rp: Arc<dyn RelyingParty>,
    vector: &Vector,
    pki: &Pki,
    timeout: Duration,
) -> Execution {
    let start = Instant::now();
    let stage = match provider::stand_up(vector, pki).await {
        Ok(s) => s,
        Err(e) => {
            return Execution {
                outcome: Err(AdapterFailure::Harness(e)),
                observations: None,
                environment: None,
                duration: start.elapsed(),
                driver_stderr: None,
                resources: None,
                operation: None,
            };
        }
    };
    let mut caller = BudgetedCaller {
        rp,
        env: &stage.environment,
        deadline: Instant::now() + timeout,
        timeout,
        stderr: None,
        resources: None,
    };
    let outcome = stage.drive(&mut caller).await;
    let driver_stderr = caller.stderr.take();
    let resources = caller.resources.take();
    let environment = stage.environment.clone();
    let operation = serde_json::to_value(stage.operation()).ok();
    let observations = stage.finish(&outcome).await;
    Execution {
        outcome,
        observations,
        environment: Some(environment),
        duration: start.elapsed(),
        driver_stderr,
        resources,
        operation,
    }
}
