//! `--rp exec -- CMD ARGS…`: one driver process per message, for drivers that cannot stay up.
//!
//! The same messages as `stdio` (`adapter/PROTOCOL.md`): at start the harness runs the command
//! once with the `hello` on stdin and reads the driver's `hello`; then for each vector it runs the
//! command with one `perform` line on stdin (then end of input) and reads exactly one reply line.
//! The driver must exit 0 after replying; anything else is an `error` for that vector.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};

use super::stdio::{MAX_STDERR_BYTES, command, kill_group, read_stderr_line};
use crate::adapter::protocol::{
    self, HarnessMessage, ParsedLine, PerformRequest, harness_hello, quote,
};
use crate::adapter::{
    AdapterError, Environment, Operation, Outcome, RelyingParty, Resources, RpDescription, Traced,
};

/// An RP behind a command run once per vector.
#[derive(Debug)]
pub struct ExecRp {
    command: Vec<String>,
    /// Kept for the whole run and named in `EIDCONF_STATE_DIR`: where a driver keeps what must
    /// outlive its process (the pending logins between `oidc.begin_login` and `finish_login`).
    state_dir: PathBuf,
    description: RpDescription,
    timeout: Duration,
    next_id: AtomicU64,
    /// What the hello run cost: the driver's resting size and start-up CPU time.
    baseline: Option<Usage>,
}

/// What one driver process cost. CPU time comes from the kernel's accounting at its exit
/// (`waitid` with `WNOWAIT` and a `rusage`, so tokio still reaps it). Peak memory does not: at
/// exec a child's `ru_maxrss` takes the high-water mark of the harness it was spawned from, so it
/// is the driver's own `VmHWM` (a fresh address space's), sampled from `/proc` while it runs and
/// when its reply arrives: a lower bound, exact for memory still held or freed after a sample.
#[derive(Debug, Clone, Copy)]
struct Usage {
    cpu_ms: Option<u64>,
    peak_kib: Option<u64>,
}

/// Wait for `pid` to exit without reaping it; its CPU time (and that of the children it reaped).
#[cfg(target_os = "linux")]
fn cpu_at_exit(pid: u32) -> Option<u64> {
    // SAFETY: zeroed plain C structs are valid; both out-pointers live across the call.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: the Linux waitid system call, whose fifth argument is a `struct rusage *`.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_waitid,
                libc::P_PID,
                pid as libc::id_t,
                &mut info as *mut libc::siginfo_t,
                libc::WEXITED | libc::WNOWAIT,
                &mut ru as *mut libc::rusage,
            )
        };
        if rc == 0 {
            break;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return None;
        }
    }
    let ms = |t: libc::timeval| t.tv_sec as u64 * 1000 + t.tv_usec as u64 / 1000;
    Some(ms(ru.ru_utime) + ms(ru.ru_stime))
}

#[cfg(not(target_os = "linux"))]
fn cpu_at_exit(_pid: u32) -> Option<u64> {
    None
}

/// The largest `VmHWM` of `pid` seen so far, in KiB (0: none yet).
#[derive(Default)]
struct PeakSampler(AtomicU64);

impl PeakSampler {
    fn sample(&self, pid: u32) {
        if let Some(kib) = super::stdio::procfs::status_kib(pid, "VmHWM:") {
            self.0.fetch_max(kib, Ordering::Relaxed);
        }
    }

    fn peak(&self) -> Option<u64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|k| *k > 0)
    }
}

/// How often a running driver's `VmHWM` is read.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// What a run cost, less the hello run's (the driver's start-up and resting size).
fn resources(used: Option<Usage>, baseline: Option<Usage>) -> Resources {
    let (u, b) = match (used, baseline) {
        (Some(u), Some(b)) => (u, b),
        _ => return Resources::not_measured("exec: the driver's run did not complete"),
    };
    let less = |x: Option<u64>, y: Option<u64>| x.zip(y).map(|(x, y)| x.saturating_sub(y));
    let figure =
        |x: Option<u64>, unit: &str| x.map_or("not measured".into(), |n| format!("{n} {unit}"));
    let mut method = format!(
        "exec: the driver process's CPU time from its rusage at exit ({}; hello run {}), peak \
         memory the largest VmHWM sampled from /proc every 5 ms and at its reply ({}; hello \
         run {})",
        figure(u.cpu_ms, "ms"),
        figure(b.cpu_ms, "ms"),
        figure(u.peak_kib, "KiB"),
        figure(b.peak_kib, "KiB"),
    );
    if u.cpu_ms.is_none() || u.peak_kib.is_none() {
        method.push_str(" (Linux only)");
    }
    Resources {
        cpu_ms: less(u.cpu_ms, b.cpu_ms),
        memory_kib: less(u.peak_kib, b.peak_kib),
        method,
    }
}

/// What one run of the driver produced.
struct Run {
    /// Non-empty stdout lines.
    lines: Vec<String>,
    stderr: String,
    status: Result<std::process::ExitStatus, String>,
    usage: Option<Usage>,
}

impl ExecRp {
    /// Run the driver once with the hello and read its capabilities.
    pub async fn start(command: Vec<String>, timeout: Duration) -> Result<ExecRp, String> {
        if command.is_empty() {
            return Err("no driver command given (`--rp exec -- CMD ARGS…`)".into());
        }
        // Unique per process and per start; `create_dir` below refuses an existing one.
        static STARTS: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let state_dir = std::env::temp_dir().join(format!(
            "eidconf-exec-{}-{}-{nanos:x}",
            std::process::id(),
            STARTS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&state_dir).map_err(|e| {
            format!(
                "cannot create the state directory {}: {e}",
                state_dir.display()
            )
        })?;
        let run = run_once(&command, &state_dir, &harness_hello(), timeout).await;
        let run = match run {
            Ok(r) => r,
            Err((e, stderr)) => return Err(format!("the hello run failed: {e}{}", tail(&stderr))),
        };
        let hello = match run.lines.as_slice() {
            [line] => protocol::parse_hello(line),
            [] => Err("the driver wrote no hello".into()),
            [_, extra, ..] => Err(format!(
                "the driver wrote more than one line: {}",
                quote(extra)
            )),
        };
        let hello = hello.map_err(|e| format!("{e}{}", tail(&run.stderr)))?;
        match run.status {
            Ok(s) if s.success() => {}
            Ok(s) => return Err(format!("the hello run ended {s}{}", tail(&run.stderr))),
            Err(e) => return Err(e),
        }
        Ok(ExecRp {
            command,
            state_dir,
            description: hello.description(),
            timeout,
            next_id: AtomicU64::new(1),
            baseline: run.usage,
        })
    }
}

impl Drop for ExecRp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().rev().take(10).collect();
    if lines.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = lines.into_iter().rev().collect();
    format!("; its stderr ends: {}", lines.join(" | "))
}

/// Run the driver with one message; on timeout kill it (and its group) and reap it.
async fn run_once(
    argv: &[String],
    state_dir: &Path,
    message: &HarnessMessage,
    timeout: Duration,
) -> Result<Run, (AdapterError, String)> {
    let envs = [("EIDCONF_STATE_DIR", state_dir)];
    let mut child = command(argv, "exec", &envs).spawn().map_err(|e| {
        (
            AdapterError::Crashed(format!("cannot start the driver `{}`: {e}", argv.join(" "))),
            String::new(),
        )
    })?;
    let pid = child.id();
    let peak = Arc::new(PeakSampler::default());
    // Stopped before the driver is reaped, so its pid cannot have been reused.
    let sampler = tokio::spawn({
        let peak = peak.clone();
        async move {
            let Some(pid) = pid else { return };
            loop {
                peak.sample(pid);
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        }
    });
    let sampler_on_timeout = sampler.abort_handle();
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let captured = Arc::new(Mutex::new(String::new()));
    let sink = captured.clone();
    let stderr_task = tokio::spawn(async move {
        let Some(stderr) = stderr else { return };
        let mut r = BufReader::new(stderr);
        while let Ok(Some(line)) = read_stderr_line(&mut r, MAX_STDERR_BYTES).await {
            let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
            if s.len() < MAX_STDERR_BYTES {
                s.push_str(&line);
                s.push('\n');
                if s.len() >= MAX_STDERR_BYTES {
                    s.push_str("[stderr truncated]\n");
                }
            }
        }
    });
    let mut line = serde_json::to_string(message).unwrap_or_default();
    line.push('\n');
    let work = async {
        if let Some(mut stdin) = stdin {
            // A driver that exits without reading its input is judged by what it wrote.
            let _ = stdin.write_all(line.as_bytes()).await;
            let _ = stdin.shutdown().await;
        }
        let mut out = Vec::new();
        if let Some(mut stdout) = stdout {
            let mut limited = (&mut stdout).take(protocol::MAX_LINE_BYTES as u64 * 2);
            let mut buf = vec![0u8; 64 << 10];
            let mut replied = false;
            while let Ok(n @ 1..) = limited.read(&mut buf).await {
                out.extend_from_slice(&buf[..n]);
                if !replied && buf[..n].contains(&b'\n') {
                    // The work is done and the process still holds its address space.
                    replied = true;
                    if let Some(pid) = pid {
                        peak.sample(pid);
                    }
                }
            }
        }
        // Before tokio reaps it: afterwards its accounting is gone.
        let cpu_ms = match pid {
            Some(pid) => tokio::task::spawn_blocking(move || cpu_at_exit(pid))
                .await
                .ok()
                .flatten(),
            None => None,
        };
        sampler.abort();
        let status = child.wait().await.map_err(|e| e.to_string());
        let usage = Usage {
            cpu_ms,
            peak_kib: peak.peak(),
        };
        (out, status, Some(usage))
    };
    let result = tokio::time::timeout(timeout, work).await;
    let (out, status, usage) = match result {
        Ok(r) => r,
        Err(_) => {
            sampler_on_timeout.abort();
            kill_group(&mut child);
            let _ = child.wait().await;
            let _ = tokio::time::timeout(Duration::from_secs(1), stderr_task).await;
            let s = captured.lock().unwrap_or_else(|e| e.into_inner()).clone();
            return Err((AdapterError::Timeout(timeout), s));
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), stderr_task).await;
    let stderr = captured.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let lines = String::from_utf8_lossy(&out)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Run {
        lines,
        stderr,
        status,
        usage,
    })
}

#[async_trait]
impl RelyingParty for ExecRp {
    fn describe(&self) -> RpDescription {
        self.description.clone()
    }

    async fn shutdown(&self) {
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }

    async fn perform(&self, env: &Environment, op: Operation) -> Result<Outcome, AdapterError> {
        self.perform_traced(env, op, self.timeout).await.outcome
    }

    async fn perform_traced(&self, env: &Environment, op: Operation, timeout: Duration) -> Traced {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = HarnessMessage::Perform(Box::new(PerformRequest {
            id,
            environment: env.clone(),
            operation: op,
        }));
        let (outcome, stderr, usage) =
            match run_once(&self.command, &self.state_dir, &request, timeout).await {
                Err((e, stderr)) => (Err(e), stderr, None),
                Ok(run) => (judge_run(id, &run), run.stderr, run.usage),
            };
        Traced {
            outcome,
            stderr: (!stderr.is_empty()).then_some(stderr),
            resources: Some(resources(usage, self.baseline)),
        }
    }

    fn enforces_timeout(&self) -> bool {
        true
    }
}

fn judge_run(id: u64, run: &Run) -> Result<Outcome, AdapterError> {
    let status = match &run.status {
        Ok(s) => *s,
        Err(e) => {
            return Err(AdapterError::Crashed(format!(
                "cannot reap the driver: {e}"
            )));
        }
    };
    let reply = match run.lines.as_slice() {
        [] if status.success() => {
            return Err(AdapterError::Protocol(
                "the driver exited without a reply".into(),
            ));
        }
        [] => {
            return Err(AdapterError::Crashed(format!(
                "the driver ended {status} without a reply"
            )));
        }
        [line] => line,
        [_, extra, ..] => {
            return Err(AdapterError::Protocol(format!(
                "the driver wrote more than one line; the second: {}",
                quote(extra)
            )));
        }
    };
    let result = match protocol::parse_reply(reply) {
        ParsedLine::Reply { id: got, .. } | ParsedLine::BadReply { id: got, .. } if got != id => {
            Err(AdapterError::Protocol(format!(
                "the driver replied to id {got}, the request was {id}: {}",
                quote(reply)
            )))
        }
        ParsedLine::Reply { result, .. } => result.map_err(AdapterError::Driver),
        ParsedLine::BadReply { problem, .. } => Err(AdapterError::Protocol(problem)),
        ParsedLine::Unattributable(m) => Err(AdapterError::Protocol(m)),
    };
    // Even a well-formed reply does not count from a driver that then failed.
    if !status.success() {
        return Err(AdapterError::Crashed(format!(
            "the driver ended {status} after replying {}",
            quote(reply)
        )));
    }
    result
}
