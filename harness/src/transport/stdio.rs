//! `--rp stdio -- CMD ARGS…`: one persistent driver process speaking newline-delimited JSON
//! (`adapter/PROTOCOL.md`), with overlapping requests matched by id.
//!
//! Failure handling, all of it `error` and never `pass`:
//! - a request with no reply within the timeout: the driver is retired (no new requests), killed
//!   as soon as its other in-flight requests are answered, and a fresh one serves what follows;
//! - a driver that exits: its in-flight requests fail as crashed; the next request starts a new one;
//! - a reply that names a request but breaks the schema: that request fails, quoting the line;
//! - a line nobody can be blamed for (not JSON, no or unknown id): every in-flight request of that
//!   driver fails quoting the line, and the driver is killed (its output can no longer be trusted).
//!
//! The driver and anything it starts run in their own process group, so a kill reaches them all.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::adapter::protocol::{
    self, HarnessMessage, MAX_LINE_BYTES, ParsedLine, PerformRequest, harness_hello, quote,
};
use crate::adapter::{
    AdapterError, Environment, Operation, Outcome, RelyingParty, Resources, RpDescription, Traced,
};

/// Per-vector cap on captured stderr (and on one stderr line).
pub(crate) const MAX_STDERR_BYTES: usize = 64 << 10;
/// How long a driver may take to exit after its stdin closed, and to flush stderr after exiting.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// An RP behind a persistent driver process.
pub struct StdioRp {
    command: Vec<String>,
    description: RpDescription,
    timeout: Duration,
    next_id: AtomicU64,
    current: Mutex<Option<Arc<Driver>>>,
    /// Serializes (re)starts so that concurrent requests start one driver, not several.
    starting: tokio::sync::Mutex<()>,
    /// Every driver started, with the task that reaps it.
    owners: Mutex<Vec<(Arc<Driver>, JoinHandle<()>)>>,
    starts: AtomicU64,
    pids: Mutex<Vec<u32>>,
}

impl StdioRp {
    /// Start the driver and complete the handshake. `timeout` bounds the handshake and each
    /// request.
    pub async fn start(command: Vec<String>, timeout: Duration) -> Result<StdioRp, String> {
        if command.is_empty() {
            return Err("no driver command given (`--rp stdio -- CMD ARGS…`)".into());
        }
        let mut rp = StdioRp {
            command,
            description: RpDescription {
                name: String::new(),
                version: String::new(),
                operations: Vec::new(),
            },
            timeout,
            next_id: AtomicU64::new(1),
            current: Mutex::new(None),
            starting: tokio::sync::Mutex::new(()),
            owners: Mutex::new(Vec::new()),
            starts: AtomicU64::new(0),
            pids: Mutex::new(Vec::new()),
        };
        let (driver, hello) = rp.spawn().await?;
        *lock(&rp.current) = Some(driver);
        rp.description = hello.description();
        Ok(rp)
    }

    /// How many driver processes were started so far (1 + restarts).
    pub fn starts(&self) -> u64 {
        self.starts.load(Ordering::Relaxed)
    }

    /// The process ids of every driver started so far (for tests that check reaping).
    pub fn driver_pids(&self) -> Vec<u32> {
        lock(&self.pids).clone()
    }

    async fn spawn(&self) -> Result<(Arc<Driver>, protocol::DriverHello), String> {
        self.starts.fetch_add(1, Ordering::Relaxed);
        let (driver, hello, owner) = Driver::spawn(&self.command, self.timeout).await?;
        lock(&self.pids).push(driver.pid);
        lock(&self.owners).push((driver.clone(), owner));
        Ok((driver, hello))
    }

    /// The driver to send the next request to, starting one if there is none usable.
    async fn driver(&self) -> Result<Arc<Driver>, String> {
        if let Some(d) = lock(&self.current).clone().filter(|d| d.usable()) {
            return Ok(d);
        }
        let _one_at_a_time = self.starting.lock().await;
        if let Some(d) = lock(&self.current).clone().filter(|d| d.usable()) {
            return Ok(d);
        }
        let (driver, hello) = self.spawn().await?;
        if hello.operations != self.description.operations {
            driver.kill();
            return Err(format!(
                "the restarted driver declares operations {:?}, the first one declared {:?}",
                hello.operations, self.description.operations
            ));
        }
        *lock(&self.current) = Some(driver.clone());
        Ok(driver)
    }
}

#[async_trait]
impl RelyingParty for StdioRp {
    fn describe(&self) -> RpDescription {
        self.description.clone()
    }

    /// Only `perform_traced` can say "no outcome"; through this method that becomes a panic,
    async fn perform(&self, env: &Environment, op: Operation) -> Result<Outcome, AdapterError> {
        self.perform_traced(env, op, self.timeout).await.outcome
    }

    async fn perform_traced(&self, env: &Environment, op: Operation, timeout: Duration) -> Traced {
        let driver = match self.driver().await {
            Ok(d) => d,
            Err(e) => {
                return Traced {
                    outcome: Err(AdapterError::Crashed(format!(
                        "the driver could not be restarted: {e}"
                    ))),
                    stderr: None,
                    resources: None,
                };
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let before = driver.sample_if_alone();
        let rx = driver.register(id);
        // Dropped without an answer (the harness gave up on the task): same as a timeout.
        let mut guard = Abandon {
            driver: &driver,
            id,
            armed: true,
        };
        let request = HarnessMessage::Perform(Box::new(PerformRequest {
            id,
            environment: env.clone(),
            operation: op,
        }));
        let exchange = async {
            driver.send(&request).await;
            rx.await
        };
        let (outcome, stderr) = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(answer)) => answer,
            // The sender is only dropped if the driver state was torn down without an answer.
            Ok(Err(_)) => (
                Err(AdapterError::Crashed(
                    "the driver went away without answering".into(),
                )),
                String::new(),
            ),
            Err(_) => (
                Err(AdapterError::Timeout(timeout)),
                driver.abandon(id).unwrap_or_default(),
            ),
        };
        guard.armed = false;
        Traced {
            outcome,
            stderr: (!stderr.is_empty()).then_some(stderr),
            resources: Some(driver.cost_since(before)),
        }
    }

    fn enforces_timeout(&self) -> bool {
        true
    }

    /// Close every driver's stdin, give it a moment to exit, then kill it; reap them all.
    async fn shutdown(&self) {
        let owners: Vec<_> = std::mem::take(&mut *lock(&self.owners));
        for (driver, _) in &owners {
            driver.close_stdin().await;
        }
        for (driver, mut owner) in owners {
            if tokio::time::timeout(EXIT_GRACE, &mut owner).await.is_err() {
                driver.kill();
                let _ = owner.await;
            }
        }
    }
}

impl Drop for StdioRp {
    fn drop(&mut self) {
        // Without a shutdown: kill, and let the owner tasks (or kill_on_drop) reap.
        for (driver, _) in lock(&self.owners).iter() {
            driver.kill();
        }
    }
}

struct Abandon<'a> {
    driver: &'a Driver,
    id: u64,
    armed: bool,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.driver.abandon(self.id);
        }
    }
}

type Answer = (Result<Outcome, AdapterError>, String);

struct Pending {
    tx: oneshot::Sender<Answer>,
    stderr: String,
}

#[derive(Default)]
struct State {
    pending: HashMap<u64, Pending>,
    /// Requests given up on; a late reply to one of them is not a violation.
    abandoned: HashSet<u64>,
    /// No new requests: a request timed out, or the driver's output went bad.
    retired: bool,
    /// Why the driver is gone, once it is.
    gone: Option<String>,
    /// The last stderr lines, for messages about the driver as a whole.
    recent_stderr: VecDeque<String>,
    /// Requests registered so far: a change during a request means another one overlapped it.
    registered: u64,
}

/// The driver's accounting at the start of a request that had it to itself.
struct Sample {
    registered: u64,
    cpu_ms: u64,
    rss_kib: u64,
}

/// One driver process.
struct Driver {
    pid: u32,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    state: Mutex<State>,
    kill_tx: mpsc::UnboundedSender<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A command ready to spawn as a driver: piped stdio, its own process group, killed on drop.
/// The driver command, with `EIDCONF_TRANSPORT` and `envs` set (PROTOCOL.md §7).
pub(crate) fn command(argv: &[String], transport: &str, envs: &[(&str, &Path)]) -> Command {
    let mut c = Command::new(&argv[0]);
    c.env("EIDCONF_TRANSPORT", transport);
    for (k, v) in envs {
        c.env(k, v);
    }
    c.args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    c.process_group(0);
    c
}

/// Kill a driver and everything in its process group. Only call before it is reaped.
pub(crate) fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id() {
        // SAFETY: plain syscall; the group id is our unreaped child's pid, so it is not reused.
        unsafe {
            libc::kill(-(pid as i32), libc::SIGKILL);
        }
    }
    let _ = child.start_kill();
}

/// Read one line of at most `MAX_LINE_BYTES`. `Ok(None)` at end of stream; `Err` with the start
/// of the line when it is too long.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
) -> std::io::Result<Result<Option<String>, String>> {
    let mut buf = Vec::new();
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            if buf.is_empty() {
                return Ok(Ok(None));
            }
            break;
        }
        if let Some(n) = chunk.iter().position(|b| *b == b'\n') {
            buf.extend_from_slice(&chunk[..n]);
            r.consume(n + 1);
            break;
        }
        let n = chunk.len();
        buf.extend_from_slice(chunk);
        r.consume(n);
        if buf.len() > MAX_LINE_BYTES {
            return Ok(Err(String::from_utf8_lossy(&buf[..200]).into_owned()));
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Ok(Some(String::from_utf8_lossy(&buf).into_owned())))
}

/// Read one stderr line, keeping at most its first `cap` bytes and marking the cut: stderr is
/// drained whatever a driver writes, so that the driver never blocks on a full pipe.
pub(crate) async fn read_stderr_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    cap: usize,
) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let mut dropped = 0usize;
    let mut read_any = false;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            if !read_any {
                return Ok(None);
            }
            break;
        }
        read_any = true;
        let newline = chunk.iter().position(|b| *b == b'\n');
        let part = newline.unwrap_or(chunk.len());
        let keep = part.min(cap.saturating_sub(buf.len()));
        buf.extend_from_slice(&chunk[..keep]);
        dropped += part - keep;
        r.consume(part + usize::from(newline.is_some()));
        if newline.is_some() {
            break;
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    let mut line = String::from_utf8_lossy(&buf).into_owned();
    if dropped > 0 {
        line.push_str(&format!(" [line cut: {dropped} more bytes]"));
    }
    Ok(Some(line))
}

enum LineEvent {
    Line(String),
    TooLong(String),
}

impl Driver {
    async fn spawn(
        argv: &[String],
        timeout: Duration,
    ) -> Result<(Arc<Driver>, protocol::DriverHello, JoinHandle<()>), String> {
        let mut child = command(argv, "stdio", &[])
            .spawn()
            .map_err(|e| format!("cannot start the driver `{}`: {e}", argv.join(" ")))?;
        let pid = child.id().unwrap_or(0);
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            kill_group(&mut child);
            return Err("the driver's stdio could not be piped".into());
        };
        let (kill_tx, kill_rx) = mpsc::unbounded_channel();
        let driver = Arc::new(Driver {
            pid,
            stdin: tokio::sync::Mutex::new(None),
            state: Mutex::new(State::default()),
            kill_tx,
        });
        let stderr_task = tokio::spawn(driver.clone().collect_stderr(stderr));
        let mut stdout = BufReader::new(stdout);
        let hello = async {
            let mut line = serde_json::to_string(&harness_hello()).unwrap_or_default();
            line.push('\n');
            stdin
                .write_all(line.as_bytes())
                .await
                .map_err(|e| format!("cannot write the hello to the driver: {e}"))?;
            stdin.flush().await.map_err(|e| e.to_string())?;
            loop {
                match read_line(&mut stdout).await {
                    Ok(Ok(Some(l))) if l.trim().is_empty() => continue,
                    Ok(Ok(Some(l))) => return protocol::parse_hello(l.trim()),
                    Ok(Ok(None)) => return Err("the driver closed stdout before its hello".into()),
                    Ok(Err(start)) => {
                        return Err(format!("the driver's first line is too long: {start:?}…"));
                    }
                    Err(e) => return Err(format!("cannot read the driver's stdout: {e}")),
                }
            }
        };
        let hello = match tokio::time::timeout(timeout, hello).await {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => return Err(driver.fail_start(child, stderr_task, e).await),
            Err(_) => {
                let e = format!("no hello from the driver within {}s", timeout.as_secs_f64());
                return Err(driver.fail_start(child, stderr_task, e).await);
            }
        };
        *driver.stdin.lock().await = Some(stdin);
        let (line_tx, line_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let ev = match read_line(&mut stdout).await {
                    Ok(Ok(Some(l))) => LineEvent::Line(l),
                    Ok(Err(start)) => LineEvent::TooLong(start),
                    Ok(Ok(None)) | Err(_) => return,
                };
                let stop = matches!(ev, LineEvent::TooLong(_));
                if line_tx.send(ev).is_err() || stop {
                    return;
                }
            }
        });
        let owner = tokio::spawn(driver.clone().own(child, line_rx, kill_rx, stderr_task));
        Ok((driver, hello, owner))
    }

    /// The handshake failed: kill, reap, and say why with the driver's last stderr lines.
    async fn fail_start(&self, mut child: Child, stderr: JoinHandle<()>, why: String) -> String {
        kill_group(&mut child);
        let status = child.wait().await;
        let _ = tokio::time::timeout(EXIT_GRACE, stderr).await;
        let status = status.map(|s| s.to_string()).unwrap_or_default();
        format!("{why} (driver {status}){}", self.stderr_tail())
    }

    fn stderr_tail(&self) -> String {
        let st = lock(&self.state);
        if st.recent_stderr.is_empty() {
            return String::new();
        }
        let lines: Vec<&str> = st.recent_stderr.iter().map(String::as_str).collect();
        format!("; its stderr ends: {}", lines.join(" | "))
    }

    /// The task that owns the process: it reads replies, kills on request, and reaps.
    async fn own(
        self: Arc<Self>,
        mut child: Child,
        mut lines: mpsc::UnboundedReceiver<LineEvent>,
        mut kill_rx: mpsc::UnboundedReceiver<()>,
        stderr: JoinHandle<()>,
    ) {
        let mut killed = false;
        loop {
            tokio::select! {
                Some(()) = kill_rx.recv(), if !killed => {
                    killed = true;
                    kill_group(&mut child);
                }
                ev = lines.recv() => match ev {
                    Some(LineEvent::Line(l)) => {
                        if self.on_line(&l) {
                            self.kill();
                        }
                    }
                    Some(LineEvent::TooLong(start)) => {
                        self.fail_all(format!(
                            "the driver wrote a line longer than {MAX_LINE_BYTES} bytes: {}",
                            quote(&start)
                        ));
                        self.kill();
                    }
                    None => break,
                }
            }
        }
        // stdout is closed: the driver exited or is about to.
        let status = match tokio::time::timeout(EXIT_GRACE, child.wait()).await {
            Ok(s) => s,
            Err(_) => {
                kill_group(&mut child);
                child.wait().await
            }
        };
        let _ = tokio::time::timeout(EXIT_GRACE, stderr).await;
        let status = status
            .map(|s| s.to_string())
            .unwrap_or_else(|e| e.to_string());
        let why = if killed {
            format!("the driver was killed ({status})")
        } else {
            format!("the driver exited ({status})")
        };
        let pending: Vec<(u64, Pending)> = {
            let mut st = lock(&self.state);
            st.gone = Some(why.clone());
            st.pending.drain().collect()
        };
        for (_, p) in pending {
            let _ = p.tx.send((
                Err(AdapterError::Crashed(format!(
                    "{why} while serving this vector"
                ))),
                p.stderr,
            ));
        }
    }

    /// Hand a reply line to its request. Returns whether the driver must be killed.
    fn on_line(&self, line: &str) -> bool {
        let line = line.trim();
        if line.is_empty() {
            return false;
        }
        let (id, answer) = match protocol::parse_reply(line) {
            ParsedLine::Reply { id, result } => (id, result.map_err(AdapterError::Driver)),
            ParsedLine::BadReply { id, problem } => (id, Err(AdapterError::Protocol(problem))),
            ParsedLine::Unattributable(m) => {
                self.fail_all(m);
                return true;
            }
        };
        let mut st = lock(&self.state);
        let Some(p) = st.pending.remove(&id) else {
            if st.abandoned.contains(&id) {
                return false;
            }
            drop(st);
            self.fail_all(format!(
                "the driver replied to id {id}, which is not in flight: {}",
                quote(line)
            ));
            return true;
        };
        let _ = p.tx.send((answer, p.stderr));
        st.retired && st.pending.is_empty()
    }

    /// Fail every in-flight request with a protocol violation and stop using this driver.
    fn fail_all(&self, message: String) {
        let pending: Vec<(u64, Pending)> = {
            let mut st = lock(&self.state);
            st.retired = true;
            st.pending.drain().collect()
        };
        for (_, p) in pending {
            let _ =
                p.tx.send((Err(AdapterError::Protocol(message.clone())), p.stderr));
        }
    }

    async fn collect_stderr(self: Arc<Self>, stderr: tokio::process::ChildStderr) {
        let mut r = BufReader::new(stderr);
        while let Ok(Some(line)) = read_stderr_line(&mut r, MAX_STDERR_BYTES).await {
            let mut st = lock(&self.state);
            for p in st.pending.values_mut() {
                if p.stderr.len() < MAX_STDERR_BYTES {
                    p.stderr.push_str(&line);
                    p.stderr.push('\n');
                    if p.stderr.len() >= MAX_STDERR_BYTES {
                        p.stderr.push_str("[stderr truncated]\n");
                    }
                }
            }
            if st.recent_stderr.len() >= 10 {
                st.recent_stderr.pop_front();
            }
            st.recent_stderr.push_back(line);
        }
    }

    fn usable(&self) -> bool {
        let st = lock(&self.state);
        !st.retired && st.gone.is_none()
    }

    /// With no request in flight: reset the driver's memory high-water mark (Linux
    /// `clear_refs` 5) and read its resident size and CPU time. `Err` says why not.
    fn sample_if_alone(&self) -> Result<Sample, String> {
        let st = lock(&self.state);
        if !st.pending.is_empty() {
            return Err("other requests were in flight (mark the vector `exclusive`)".into());
        }
        let registered = st.registered;
        drop(st);
        if !procfs::reset_peak(self.pid) {
            return Err(
                "the driver's memory high-water mark cannot be reset (Linux /proc only)".into(),
            );
        }
        match (
            procfs::cpu_ms(self.pid),
            procfs::status_kib(self.pid, "VmRSS:"),
        ) {
            (Some(cpu_ms), Some(rss_kib)) => Ok(Sample {
                registered,
                cpu_ms,
                rss_kib,
            }),
            _ => Err("the driver's /proc entries cannot be read".into()),
        }
    }

    /// What the driver spent since `before`, if no other request overlapped.
    fn cost_since(&self, before: Result<Sample, String>) -> Resources {
        let before = match before {
            Ok(b) => b,
            Err(why) => return Resources::not_measured(format!("stdio: {why}")),
        };
        if lock(&self.state).registered != before.registered + 1 {
            return Resources::not_measured(
                "stdio: another request overlapped this one (mark the vector `exclusive`)",
            );
        }
        match (
            procfs::cpu_ms(self.pid),
            procfs::status_kib(self.pid, "VmHWM:"),
        ) {
            (Some(cpu_ms), Some(peak)) => Resources {
                cpu_ms: Some(cpu_ms.saturating_sub(before.cpu_ms)),
                memory_kib: Some(peak.saturating_sub(before.rss_kib)),
                method: format!(
                    "stdio: /proc of driver process {}: VmHWM {peak} KiB after the request, VmRSS {} KiB before it; utime+stime",
                    self.pid, before.rss_kib
                ),
            },
            _ => Resources::not_measured(
                "stdio: the driver's /proc entries cannot be read after the request",
            ),
        }
    }

    fn register(&self, id: u64) -> oneshot::Receiver<Answer> {
        let (tx, rx) = oneshot::channel();
        let mut st = lock(&self.state);
        st.registered += 1;
        if let Some(why) = &st.gone {
            let _ = tx.send((
                Err(AdapterError::Crashed(format!("{why} before this vector"))),
                String::new(),
            ));
        } else {
            st.pending.insert(
                id,
                Pending {
                    tx,
                    stderr: String::new(),
                },
            );
        }
        rx
    }

    async fn send(&self, request: &HarnessMessage) {
        let mut line = serde_json::to_string(request).unwrap_or_default();
        line.push('\n');
        let mut stdin = self.stdin.lock().await;
        let written = match stdin.as_mut() {
            Some(s) => s.write_all(line.as_bytes()).await.is_ok() && s.flush().await.is_ok(),
            None => false,
        };
        // A broken pipe means the driver is gone; the owner task reports that to the request.
        if !written {
            drop(stdin);
            self.kill();
        }
    }

    /// Give up on request `id` (timed out or dropped): retire the driver, and kill it once no
    /// other request is waiting for it. Returns the request's captured stderr.
    fn abandon(&self, id: u64) -> Option<String> {
        let mut st = lock(&self.state);
        let p = st.pending.remove(&id)?;
        st.abandoned.insert(id);
        st.retired = true;
        if st.pending.is_empty() {
            drop(st);
            self.kill();
        }
        Some(p.stderr)
    }

    fn kill(&self) {
        let _ = self.kill_tx.send(());
    }

    async fn close_stdin(&self) {
        self.stdin.lock().await.take();
    }
}

impl std::fmt::Debug for StdioRp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdioRp")
            .field("command", &self.command)
            .field("description", &self.description)
            .finish()
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("pid", &self.pid).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stderr_line_of_any_length_is_cut_and_reading_goes_on() {
        let mut input = vec![b'x'; 5 << 20];
        input.extend_from_slice(b"\nnext line\r\n");
        let mut r = &input[..];
        let first = read_stderr_line(&mut r, 100).await.unwrap().unwrap();
        assert!(first.starts_with(&"x".repeat(100)), "{}", &first[..120]);
        assert!(
            first.ends_with(&format!(" [line cut: {} more bytes]", (5 << 20) - 100)),
            "{}",
            &first[100..]
        );
        let second = read_stderr_line(&mut r, 100).await.unwrap();
        assert_eq!(second.as_deref(), Some("next line"));
        assert_eq!(read_stderr_line(&mut r, 100).await.unwrap(), None);
    }
}

/// A driver's accounting from `/proc` (Linux; elsewhere nothing is measured).
pub(crate) mod procfs {
    /// Reset the process's peak resident size to its current one (`clear_refs`, value 5).
    pub(super) fn reset_peak(pid: u32) -> bool {
        cfg!(target_os = "linux") && std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
    }

    /// A `kB` field of `/proc/PID/status` (`VmRSS:`, `VmHWM:`).
    pub(crate) fn status_kib(pid: u32, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line[field.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// utime + stime of `/proc/PID/stat`, in milliseconds.
    pub(super) fn cpu_ms(pid: u32) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may hold spaces and parentheses: count fields after the last `)`.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        (hz > 0).then(|| ticks * 1000 / hz as u64)
    }
}
