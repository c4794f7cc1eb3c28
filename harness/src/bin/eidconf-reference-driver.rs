//! The reference RP behind the out-of-process adapter protocol (`adapter/PROTOCOL.md`).
//!
//!     eidconf run --rp stdio -- eidconf-reference-driver [--fault F]…
//!     eidconf run --rp exec  -- eidconf-reference-driver [--fault F]…
//!
//! It answers requests concurrently, each in its own task, and exits when its stdin ends and the
//! last reply is written. The `--chaos-*` options make it misbehave on purpose, for eidconf's own
//! tests of the transports: crash on every Nth request, never answer, write garbage, or write a
//! reply that breaks the schema, for the vectors whose id matches a glob.

use std::process::ExitCode;
use std::sync::Arc;

use eidconf::adapter::protocol::{
    DriverHello, DriverMessage, ErrorReply, HarnessMessage, OutcomeReply, PROTOCOL_VERSION,
    PerformRequest,
};
use eidconf::adapter::{Operation, Outcome, PublicKeyForm, RelyingParty};
use eidconf::reference::{Fault, ReferenceRp};
use globset::{Glob, GlobMatcher};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Stdout};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

#[derive(Default)]
struct Chaos {
    crash_every: Option<u64>,
    hang: Option<GlobMatcher>,
    garbage: Option<GlobMatcher>,
    bad_reply: Option<GlobMatcher>,
}

const USAGE: &str = "usage: eidconf-reference-driver [--fault F]… [--chaos-crash-every N] \
                     [--chaos-hang GLOB] [--chaos-garbage GLOB] [--chaos-bad-reply GLOB]";

fn parse_args() -> Result<(Vec<Fault>, Chaos), String> {
    let mut faults = Vec::new();
    let mut chaos = Chaos::default();
    let mut args = std::env::args().skip(1);
    let glob = |g: Option<String>| -> Result<GlobMatcher, String> {
        let g = g.ok_or(USAGE)?;
        Ok(Glob::new(&g).map_err(|e| e.to_string())?.compile_matcher())
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--fault" => faults.push(args.next().ok_or(USAGE)?.parse()?),
            "--chaos-crash-every" => {
                let n: u64 = args.next().ok_or(USAGE)?.parse().map_err(|_| USAGE)?;
                chaos.crash_every = Some(n.max(1));
            }
            "--chaos-hang" => chaos.hang = Some(glob(args.next())?),
            "--chaos-garbage" => chaos.garbage = Some(glob(args.next())?),
            "--chaos-bad-reply" => chaos.bad_reply = Some(glob(args.next())?),
            _ => return Err(USAGE.into()),
        }
    }
    Ok((faults, chaos))
}

async fn write_line(out: &Mutex<Stdout>, line: &str) {
    let mut out = out.lock().await;
    // If the harness is gone there is nobody to tell.
    let _ = out.write_all(format!("{line}\n").as_bytes()).await;
    let _ = out.flush().await;
}

async fn write(out: &Mutex<Stdout>, msg: &DriverMessage) {
    match serde_json::to_string(msg) {
        Ok(line) => write_line(out, &line).await,
        Err(e) => eprintln!("eidconf-reference-driver: cannot encode a reply: {e}"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let (faults, chaos) = match parse_args() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let rp = Arc::new(ReferenceRp::new(&faults));
    let out = Arc::new(Mutex::new(tokio::io::stdout()));
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut tasks = JoinSet::new();
    let mut performed = 0u64;
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        let msg = match serde_json::from_str::<HarnessMessage>(&line) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("eidconf-reference-driver: not a protocol message ({e}): {line}");
                return ExitCode::from(2);
            }
        };
        match msg {
            HarnessMessage::Hello(h) => {
                if h.protocol != PROTOCOL_VERSION {
                    eprintln!(
                        "eidconf-reference-driver: the harness speaks protocol {}, I speak {PROTOCOL_VERSION}",
                        h.protocol
                    );
                    return ExitCode::from(2);
                }
                let mut d = rp.describe();
                // Pending logins live in this process's memory, which `exec` throws away after
                // each message: the flow operations need `stdio`.
                if std::env::var("EIDCONF_TRANSPORT").as_deref() == Ok("exec") {
                    d.operations
                        .retain(|o| o != "oidc.begin_login" && o != "oidc.finish_login");
                }
                let hello = DriverMessage::Hello(DriverHello {
                    protocol: PROTOCOL_VERSION,
                    name: d.name,
                    version: d.version,
                    operations: d.operations,
                });
                write(&out, &hello).await;
            }
            HarnessMessage::Perform(req) => {
                performed += 1;
                let id = req.id;
                let vector = req.environment.vector_id.clone();
                let matches =
                    |g: &Option<GlobMatcher>| g.as_ref().is_some_and(|g| g.is_match(&vector));
                if chaos
                    .crash_every
                    .is_some_and(|n| performed.is_multiple_of(n))
                {
                    eprintln!("chaos: crashing on request {performed} ({vector})");
                    std::process::exit(101);
                }
                if matches(&chaos.hang) {
                    eprintln!("chaos: never answering {vector}");
                    continue;
                }
                if matches(&chaos.garbage) {
                    eprintln!("chaos: garbage for {vector}");
                    write_line(&out, "chaos garbage, not JSON {").await;
                    continue;
                }
                if matches(&chaos.bad_reply) {
                    let line = format!(
                        r#"{{"type":"outcome","id":{id},"outcome":{{"verdict":"maybe"}}}}"#
                    );
                    write_line(&out, &line).await;
                    continue;
                }
                let (rp, out) = (rp.clone(), out.clone());
                tasks.spawn(async move {
                    let PerformRequest {
                        environment: env,
                        operation: op,
                        ..
                    } = *req;
                    // A served JWKS URL dies with this process, which `exec` ends after the
                    // reply: that form needs `stdio`.
                    let exec = std::env::var("EIDCONF_TRANSPORT").as_deref() == Ok("exec");
                    if exec
                        && let Operation::RpKeys(r) = &op
                        && r.form == Some(PublicKeyForm::JwksUri)
                    {
                        let outcome = Outcome::Unsupported;
                        write(&out, &DriverMessage::Outcome(OutcomeReply { id, outcome })).await;
                        return;
                    }
                    // A panic of the RP is this request's error, not the end of the driver.
                    let done = tokio::spawn(async move { rp.perform(&env, op).await }).await;
                    let reply = match done {
                        Ok(outcome) => DriverMessage::Outcome(OutcomeReply { id, outcome }),
                        Err(e) => DriverMessage::Error(ErrorReply {
                            id,
                            message: format!("the reference RP failed: {e}"),
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
