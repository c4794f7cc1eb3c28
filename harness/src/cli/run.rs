//! `eidconf run`: drive an RP through the selected vectors and write the reports.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use eidconf::Inputs;
use eidconf::adapter::RelyingParty;
use eidconf::reference::{Fault, ReferenceRp};
use eidconf::run::{self, KnownFailures, RunConfig};
use eidconf::transport::{AlwaysAccept, AlwaysReject, ExecRp, StdioRp};
use eidconf::vector::Diagnostics;
use eidconf_report::{self as report, exit};

use super::{SelectArgs, bad_input, selection};

/// How much evidence report.json keeps for a passing vector (`--evidence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvidenceDetail {
    Auto,
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// NO_COLOR (no-color.org): any non-empty value turns `auto` colour off.
    fn enabled(self) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// ANSI styles, or nothing when colour is off.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn paint(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn verdict(self, v: &report::Verdict) -> Option<String> {
        let (tag, code) = match v {
            report::Verdict::Pass => return None,
            report::Verdict::Warn => ("WARN ", "33"),
            report::Verdict::Fail => ("FAIL ", "1;31"),
            report::Verdict::Error => ("ERROR", "1;31"),
            report::Verdict::Skip => ("SKIP ", "2"),
            report::Verdict::Xfail => ("XFAIL", "35"),
            report::Verdict::Xpass => ("XPASS", "1;31"),
        };
        Some(self.paint(code, tag))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RpKind {
    /// The built-in correct RP (with --fault: a deliberately broken one).
    Reference,
    /// Accepts everything: must fail every vector that expects a rejection.
    AlwaysAccept,
    /// Rejects everything: must fail every vector that expects acceptance.
    AlwaysReject,
    /// A driver process in any language, kept running: `--rp stdio -- CMD ARGS…`
    /// (adapter/PROTOCOL.md).
    Stdio,
    /// A driver process started once per vector: `--rp exec -- CMD ARGS…`.
    Exec,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// The RP to drive.
    #[arg(long, value_enum, default_value = "reference")]
    pub rp: RpKind,
    /// Switch on a deliberate fault of the reference RP (repeatable; see `eidconf faults`).
    #[arg(long = "fault", value_name = "F")]
    pub faults: Vec<Fault>,
    /// Vectors run at once, besides those that wait on purpose (flow deadlines, delayed answers),
    /// which start first and take no slot (default: 4 per core).
    #[arg(short = 'j', long, default_value_t = eidconf::run::default_jobs())]
    pub jobs: usize,
    /// Seconds an RP may take for one vector before the vector is an error.
    #[arg(long, default_value_t = 20)]
    pub timeout: u64,
    /// Where report.json, junit.xml, summary.md and report.html go.
    #[arg(long, default_value = "target/eidconf")]
    pub report_dir: PathBuf,
    /// Vectors known to fail (YAML `known_failures: [{id, reason}]`): a failure there is xfail,
    /// a pass is xpass and fails the run.
    #[arg(long, value_name = "FILE")]
    pub known_failures: Option<PathBuf>,
    /// Count a rejection of the wrong reason class, or of the right class with the wrong detail
    /// (code, status, claim), as a pass with a note.
    #[arg(long)]
    pub loose_reasons: bool,
    /// Fail the run on deviations from SHOULD and HARDENING requirements too (otherwise they
    /// are `warn`).
    #[arg(long)]
    pub strict: bool,
    /// Run even when the selection matches no vector (otherwise that is bad input, exit 2).
    #[arg(long)]
    pub allow_empty: bool,
    /// Operations the RP must implement: their vectors fail instead of being skipped when the RP
    /// does not declare them (comma-separated or repeated, e.g. `freja.authenticate,freja.sign`).
    #[arg(long, value_name = "OPS", value_delimiter = ',')]
    pub require_operations: Vec<String>,
    /// Every operation is required: no vector is skipped for an undeclared operation.
    #[arg(long)]
    pub fail_on_skip: bool,
    /// Evidence kept for a passing vector: `auto` keeps its tokens decoded, statuses, endpoints
    /// and check ids (a deviation keeps everything); `full` keeps everything for every vector.
    #[arg(long, value_enum, default_value = "auto")]
    pub evidence: EvidenceDetail,
    /// The driver command for `--rp stdio` and `--rp exec`, after `--`.
    /// Sign report.json with this OpenSSH private key (ed25519, unencrypted): writes
    /// report.json.sig, which `ssh-keygen -Y verify -n eidconf-report` checks.
    #[arg(long, value_name = "KEY")]
    pub sign_with: Option<PathBuf>,
    /// Who runs it, for the report's summary (e.g. an auditor's name and organisation).
    #[arg(long, value_name = "TEXT")]
    pub operator: Option<String>,
    /// A note for the report's reader (scope, environment, ticket).
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Print only the headline and the counts (the reports are written as always).
    #[arg(short, long)]
    pub quiet: bool,
    /// Colour the terminal output: `auto` when stdout is a terminal and NO_COLOR is not set.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub color: ColorWhen,
    #[arg(last = true, value_name = "CMD ARGS")]
    pub command: Vec<String>,
}

pub(super) fn cmd_run(args: RunArgs) -> i32 {
    // A panic, in an RP or in loading a file, becomes that vector's or file's error with the
    // message, and the run still writes its reports; one line on stderr is enough.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "note: panic captured as an error of its vector or file: {}",
            eidconf::panic_message(info.payload())
        );
    }));
    let root = match args.select.corpus.root() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let Inputs {
        suites,
        corpus,
        pki,
        errors: input_errors,
        not_loaded,
    } = match Inputs::load(&root) {
        Ok(i) => i,
        Err(e) => return bad_input(e),
    };
    if !input_errors.is_empty() {
        eprint!("{}", Diagnostics(input_errors.clone()));
        eprintln!(
            "the run goes on without these vectors, and exits with {}",
            exit::BAD_INPUT
        );
    }
    if args.jobs == 0 {
        return bad_input("error: -j 0 would run nothing; give 1 or more\n");
    }
    if args.timeout == 0 {
        return bad_input("error: --timeout 0 would give every vector no time; give 1 or more\n");
    }
    for op in &args.require_operations {
        if !eidconf::adapter::Operation::NAMES.contains(&op.as_str()) {
            return bad_input(format!(
                "error: --require-operations: `{op}` is not an operation (known: {})\n",
                eidconf::adapter::Operation::NAMES.join(", ")
            ));
        }
    }
    // The report directory is checked before anything runs, not after the whole run.
    if let Err(e) = writable_dir(&args.report_dir) {
        return bad_input(format!(
            "error: cannot write the reports to {}: {e}\n",
            args.report_dir.display()
        ));
    }
    let known = match &args.known_failures {
        Some(p) => match KnownFailures::load(p) {
            Ok(k) => k,
            Err(d) => return bad_input(d),
        },
        None => KnownFailures::default(),
    };
    if args.rp != RpKind::Reference && !args.faults.is_empty() {
        return bad_input("error: --fault applies to --rp reference only\n");
    }
    let out_of_process = matches!(args.rp, RpKind::Stdio | RpKind::Exec);
    if out_of_process && args.command.is_empty() {
        return bad_input("error: --rp stdio and --rp exec need the driver command after `--`\n");
    }
    if !out_of_process && !args.command.is_empty() {
        return bad_input("error: a command after `--` applies to --rp stdio and --rp exec only\n");
    }
    let cfg = RunConfig {
        selection: selection(&args.select),
        jobs: args.jobs,
        timeout: Duration::from_secs(args.timeout),
        loose_reasons: args.loose_reasons,
        strict: args.strict,
        known,
        faults: args.faults.iter().map(|f| f.name().to_owned()).collect(),
        require_operations: args.require_operations.clone(),
        fail_on_skip: args.fail_on_skip,
        evidence: match args.evidence {
            EvidenceDetail::Auto => run::evidence::Detail::Auto,
            EvidenceDetail::Full => run::evidence::Detail::Full,
        },
    };
    match cfg.selection.apply(&corpus.vectors, &suites) {
        // Vectors that did not load already make the run exit 2, with reports that say why.
        Ok(v) if v.is_empty() && !args.allow_empty && input_errors.is_empty() => {
            return bad_input(
                "error: the selection matches no vector (check --filter, --suite and \
                 --partition); --allow-empty runs it anyway\n",
            );
        }
        Err(e) => return bad_input(format!("error: {e}\n")),
        Ok(_) => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return bad_input(format!("error: cannot start the async runtime: {e}\n")),
    };
    let timeout = cfg.timeout;
    let rp: Arc<dyn RelyingParty> = match args.rp {
        RpKind::Reference => Arc::new(ReferenceRp::new(&args.faults)),
        RpKind::AlwaysAccept => Arc::new(AlwaysAccept),
        RpKind::AlwaysReject => Arc::new(AlwaysReject),
        RpKind::Stdio => match runtime.block_on(StdioRp::start(args.command.clone(), timeout)) {
            Ok(rp) => Arc::new(rp),
            Err(e) => return bad_input(format!("error: --rp stdio: {e}\n")),
        },
        RpKind::Exec => match runtime.block_on(ExecRp::start(args.command.clone(), timeout)) {
            Ok(rp) => Arc::new(rp),
            Err(e) => return bad_input(format!("error: --rp exec: {e}\n")),
        },
    };
    // Each vector that does not simply pass is printed as it finishes; the progress line (on a
    // terminal) is cleared first and drawn again after it.
    let tty = std::io::stderr().is_terminal() && !args.quiet;
    let paint = Paint(args.color.enabled());
    let result = runtime.block_on(run::run(rp.clone(), &corpus, &suites, &pki, &cfg, |p| {
        if let Some(line) = p
            .finished
            .filter(|_| !args.quiet)
            .and_then(|v| vector_line(v, paint))
        {
            if tty {
                eprint!("\r\x1b[K");
            }
            outln!("{line}");
        }
        if tty {
            eprint!(
                "\r  {}/{}  pass {}  fail {}  error {}   ",
                p.done, p.total, p.pass, p.fail, p.error
            );
            if p.done == p.total {
                eprintln!();
            }
        }
    }));
    // Reap the driver processes before anything else can fail.
    runtime.block_on(rp.shutdown());
    let mut report = match result {
        Ok(r) => r,
        Err(e) => return bad_input(format!("error: {e}\n")),
    };
    report.operator = args.operator.clone();
    report.note = args.note.clone();
    report.rp.invocation = Some(invocation(&args));
    report.set_input_errors(
        input_errors.iter().map(ToString::to_string).collect(),
        not_loaded,
    );
    print_summary(&report, paint, args.quiet);
    match report::write_all(&report, &args.report_dir) {
        Ok(paths) => {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            eprintln!("reports: {}", names.join(", "));
            if let Some(key) = &args.sign_with {
                match super::signing::sign_file(&args.report_dir.join("report.json"), key) {
                    Ok(sig) => eprintln!("signature: {}", sig.display()),
                    Err(e) => return bad_input(format!("error: --sign-with: {e}\n")),
                }
            }
        }
        Err(e) => {
            eprintln!(
                "error: cannot write the reports to {}: {e}",
                args.report_dir.display()
            );
            return exit::BAD_INPUT;
        }
    }
    report.exit_code()
}

/// One line for a vector that did not simply pass: `FAIL  id [severity] why`.
fn vector_line(v: &report::VectorResult, paint: Paint) -> Option<String> {
    let tag = paint.verdict(&v.result)?;
    let why = v
        .failure
        .as_ref()
        .map(|f| f.message.clone())
        .or_else(|| v.note.clone())
        .unwrap_or_default();
    let level = match v.level.as_deref() {
        Some(l) if v.result == report::Verdict::Warn => format!(" {l}"),
        _ => String::new(),
    };
    Some(format!("{tag} {} [{}{level}] {why}", v.id, v.severity))
}

/// After the run: input errors, stale waivers, the headline and the counts (the vectors were
/// printed as they finished).
fn print_summary(r: &report::Report, paint: Paint, quiet: bool) {
    let mut out = std::io::stdout().lock();
    for e in r.input_errors.iter().filter(|_| !quiet) {
        let first = e.lines().next().unwrap_or_default();
        let _ = writeln!(out, "INPUT {first}");
    }
    for u in r.known_failures_unused.iter().filter(|_| !quiet) {
        let _ = writeln!(out, "UNUSED known failure entry `{u}` matched no vector");
    }
    let s = &r.summary;
    let _ = writeln!(out, "eidconf: {}", headline(r, paint));
    let _ = writeln!(
        out,
        "eidconf: {} vectors against {} in {:.1}s: {} passed, {} warned, {} failed, {} errors, {} skipped, {} xfail, {} xpass",
        s.total,
        r.rp.name,
        r.duration_ms as f64 / 1000.0,
        s.pass,
        s.warn,
        s.fail,
        s.error,
        s.skip,
        s.xfail,
        s.xpass
    );
}

/// The `eidconf run` arguments that plug this RP in: what re-running one vector needs.
fn invocation(args: &RunArgs) -> String {
    let rp = args.rp.to_possible_value().map(|v| v.get_name().to_owned());
    let mut out = vec![format!("--rp {}", rp.unwrap_or_default())];
    out.extend(args.faults.iter().map(|f| format!("--fault {}", f.name())));
    if !args.command.is_empty() {
        out.push("--".into());
        out.extend(args.command.iter().map(|a| shell_word(a)));
    }
    out.join(" ")
}

/// `a` quoted for a POSIX shell when it needs it.
fn shell_word(a: &str) -> String {
    let plain = !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain {
        a.to_owned()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

fn headline(r: &report::Report, paint: Paint) -> String {
    let text = report::headline(r);
    let code = if r.exit_code() == exit::SUCCESS {
        "1;32"
    } else {
        "1;31"
    };
    paint.paint(code, &text)
}

/// Create `dir` if needed and prove a file can be written there.
fn writable_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(".eidconf-write-test");
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}
