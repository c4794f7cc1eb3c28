//! One call of the RP under the vector's time budget: in its own task, so that a panic or a hang
//! is contained, and with the transport's stderr collected.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::adapter::{AdapterError, Environment, Operation, Outcome, RelyingParty, Resources};
use crate::meter::Metered;

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

/// How a provider reaches the RP while it plays a vector: each call shares the vector's budget.
#[async_trait]
pub trait Caller: Send {
    async fn call(&mut self, op: Operation) -> Result<Outcome, AdapterFailure>;
}

/// The RP in one vector's environment, with the vector's deadline.
pub struct BudgetedCaller<'a> {
    pub rp: Arc<dyn RelyingParty>,
    pub env: &'a Environment,
    pub deadline: Instant,
    /// The per-vector timeout, as reported when the budget runs out.
    pub timeout: Duration,
    /// What the driver wrote to stderr during the calls.
    pub stderr: Option<String>,
    /// What the calls cost the RP, added up.
    pub resources: Option<Resources>,
}

#[async_trait]
impl Caller for BudgetedCaller<'_> {
    async fn call(&mut self, op: Operation) -> Result<Outcome, AdapterFailure> {
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
            &mut self.resources,
        )
        .await
    }
}

/// One RP call in its own task (a panic or a hang is contained), limited to `budget`;
/// `timeout` is the per-vector timeout reported when the budget runs out. What the driver wrote
/// to stderr is appended to `stderr`, and what the call cost to `resources`.
async fn call(
    rp: &Arc<dyn RelyingParty>,
    env: &Environment,
    op: Operation,
    budget: Duration,
    timeout: Duration,
    stderr: &mut Option<String>,
    resources: &mut Option<Resources>,
) -> Result<Outcome, AdapterFailure> {
    let (rp, task_env) = (rp.clone(), env.clone());
    // A transport that times out on its own (and kills its driver) gets a grace period first.
    let limit = if rp.enforces_timeout() {
        budget + Duration::from_secs(2)
    } else {
        budget
    };
    let task = tokio::spawn(async move {
        Metered::new(async move { rp.perform_traced(&task_env, op, budget).await }).await
    });
    let abort = task.abort_handle();
    match tokio::time::timeout(limit, task).await {
        Ok(Ok((traced, metered))) => {
            // A transport measures its driver; an in-process RP is measured here.
            let cost = traced.resources.unwrap_or(metered);
            *resources = Some(match resources.take() {
                Some(r) => r.and(cost),
                None => cost,
            });
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
        Ok(Err(e)) if e.is_panic() => Err(AdapterFailure::Panic(crate::panic_message(
            e.into_panic().as_ref(),
        ))),
        Ok(Err(e)) => Err(AdapterFailure::Harness(format!(
            "the adapter task ended abnormally: {e}"
        ))),
        Err(_) => {
            abort.abort();
            Err(AdapterFailure::Adapter(AdapterError::Timeout(timeout)))
        }
    }
}
