//! The driver side of the protocol for a Rust RP: `eidconf run --rp stdio -- my-driver`, where
//! `my-driver`'s `main` is `eidconf_adapter::serve(MyRp::new())`.

use std::process::ExitCode;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Stdout};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::RelyingParty;
use crate::protocol::{
    DriverHello, DriverMessage, ErrorReply, HarnessMessage, OutcomeReply, PROTOCOL_VERSION,
    PerformRequest,
};

/// Serve `rp` over stdin/stdout until stdin ends: answer the hello, then every request in its
/// own task (requests overlap). Returns the process's exit code: 2 when the harness broke the
/// protocol, else 0. Runs its own multi-threaded tokio runtime, so the RP may use tokio clients.
pub fn serve<R: RelyingParty + 'static>(rp: R) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("eidconf-adapter: cannot start a tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(serve_lines(Arc::new(rp)))
}

async fn serve_lines(rp: Arc<dyn RelyingParty>) -> ExitCode {
    let out = Arc::new(Mutex::new(tokio::io::stdout()));
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut tasks = JoinSet::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        let msg = match serde_json::from_str::<HarnessMessage>(&line) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("eidconf-adapter: not a protocol message ({e}): {line}");
                return ExitCode::from(2);
            }
        };
        match msg {
            HarnessMessage::Hello(h) => {
                if h.protocol != PROTOCOL_VERSION {
                    eprintln!(
                        "eidconf-adapter: the harness speaks protocol {}, this driver speaks {PROTOCOL_VERSION}",
                        h.protocol
                    );
                    return ExitCode::from(2);
                }
                let d = rp.describe();
                let hello = DriverMessage::Hello(DriverHello {
                    protocol: PROTOCOL_VERSION,
                    name: d.name,
                    version: d.version,
                    operations: d.operations,
                });
                write(&out, &hello).await;
            }
            HarnessMessage::Perform(req) => {
                let (rp, out) = (rp.clone(), out.clone());
                tasks.spawn(async move {
                    let PerformRequest {
                        id,
                        environment: env,
                        operation: op,
                    } = *req;
                    // A panic of the RP is this request's error, not the end of the driver.
                    let done = tokio::spawn(async move { rp.perform(&env, op).await }).await;
                    let reply = match done {
                        Ok(Ok(outcome)) => DriverMessage::Outcome(OutcomeReply { id, outcome }),
                        Ok(Err(e)) => DriverMessage::Error(ErrorReply {
                            id,
                            message: match e {
                                crate::AdapterError::Driver(m) => m,
                                other => other.to_string(),
                            },
                        }),
                        Err(e) => DriverMessage::Error(ErrorReply {
                            id,
                            message: format!("the RP failed: {e}"),
                        }),
                    };
                    write(&out, &reply).await;
                });
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    ExitCode::SUCCESS
}

async fn write(out: &Mutex<Stdout>, msg: &DriverMessage) {
    let line = match serde_json::to_string(msg) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("eidconf-adapter: cannot encode a reply: {e}");
            return;
        }
    };
    let mut out = out.lock().await;
    // If the harness is gone there is nobody to tell.
    let _ = out.write_all(format!("{line}\n").as_bytes()).await;
    let _ = out.flush().await;
}
