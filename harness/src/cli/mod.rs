//! The `eidconf` command line.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use eidconf_report::{self as report, exit};

use crate::adapter::RelyingParty;
use crate::pki::Pki;
use crate::reference::{Fault, ReferenceRp};
use crate::run::{self, KnownFailures, Partition, RunConfig, Selection};
use crate::suite::Suites;
use crate::transport::{AlwaysAccept, AlwaysReject, ExecRp, StdioRp};
use crate::vector::{self, Corpus, Diagnostics};

/// Conformance harness for relying parties of Nordic eID services (Freja eID, FTN OpenID Connect).
///
/// eidconf plays the provider, feeds the RP every behaviour the provider can show, and reports per
/// vector whether the RP did the right thing.
///
/// Exit codes: 0 everything as expected; 1 a vector failed, errored or passed unexpectedly (xpass),
/// or lint found problems; 2 bad input (vectors, suites, keys, known-failures file) or usage.
#[derive(Debug, Parser)]
#[command(name = "eidconf", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run vectors against an RP and write the reports.
    Run(RunArgs),
    /// List the vectors a run would hold, one id per line.
    List(ListArgs),
    /// List the reference RP's deliberate faults (each must be caught by some vector).
    Faults,
    /// List the request-side checks a vector can assert with `expect.checks`.
    Checks,
    /// Work with vector files.
    #[command(subcommand)]
    Vectors(VectorsCommand),
    /// Print a JSON Schema.
    Schema {
        #[arg(value_enum)]
        what: SchemaKind,
    },
    /// Manage the TEST-ONLY key material under vectors/keys/.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Check a certificate signing request before sending it to the provider.
    #[command(subcommand)]
    Csr(CsrCommand),
    /// Check an issued client certificate.
    #[command(subcommand)]
    Cert(CertCommand),
}

#[derive(Debug, Subcommand)]
pub enum CsrCommand {
    /// Lint a PKCS#10 request (PEM or DER): signature, key (RSA >= 2048), signature algorithm
    /// (no MD5/SHA-1), subject DN rules. Exit 0 clean, 1 findings, 2 unreadable input.
    Lint {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: LintFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Lint an issued client certificate (PEM or DER): validity window, EKU clientAuth, key
    /// usage, key size, subject, and with --ca the issuer's signature. Exit 0/1/2 as `csr lint`.
    Lint {
        file: PathBuf,
        /// The issuing CA certificate(s), PEM or DER.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: LintFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum VectorsCommand {
    /// Check vector files: everything the loader checks, plus requirement ids, suites and key names.
    Lint {
        /// Files or folders (default: the corpus's vectors/).
        paths: Vec<PathBuf>,
        #[command(flatten)]
        corpus: CorpusArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate the missing keys of the test PKI (RSA-2048) into vectors/keys/, keeping the
    /// existing ones. Never needed during a run.
    Generate {
        #[arg(long, default_value = "vectors/keys")]
        out: PathBuf,
        /// Replace every key, existing ones included (every vector signature changes).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    /// The vector file format (vectors/schema.json).
    Vectors,
    /// The report format (reports/schema.json).
    Report,
    /// The messages of the out-of-process adapter protocol (adapter/protocol.schema.json).
    Adapter,
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
pub struct CorpusArg {
    /// The folder holding vectors/ and suites/ (default: the current folder if it has them,
    /// else the corpus eidconf was built with).
    #[arg(long, env = "EIDCONF_CORPUS")]
    pub corpus: Option<PathBuf>,
}

impl CorpusArg {
    pub fn root(&self) -> PathBuf {
        self.corpus
            .clone()
            .unwrap_or_else(crate::default_corpus_root)
    }
}

#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only vectors of this suite (repeatable).
    #[arg(long = "suite", value_name = "S")]
    pub suites: Vec<String>,
    /// Only vectors whose id matches this glob, e.g. 'freja.http.*' (repeatable).
    #[arg(long = "filter", value_name = "GLOB")]
    pub filters: Vec<String>,
    /// Only this shard: hash:K/N (FNV-1a of the id, stable as vectors are added).
    #[arg(long, value_name = "hash:K/N")]
    pub partition: Option<Partition>,
    #[command(flatten)]
    pub corpus: CorpusArg,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// `text`: one id per line; `json`: one `{"id", "operation"}` object per line (what the
    /// adapter crate's `harness!` reads).
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
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
    /// Vectors run at once.
    #[arg(short = 'j', long, default_value_t = 8)]
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
    /// The driver command for `--rp stdio` and `--rp exec`, after `--`.
    #[arg(last = true, value_name = "CMD ARGS")]
    pub command: Vec<String>,
}

/// Run the CLI; returns the process exit code.
pub fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Run(args) => cmd_run(args),
        Command::List(args) => cmd_list(args),
        Command::Faults => {
            for f in Fault::ALL {
                println!("{:<26} {}", f.name(), f.description());
            }
            exit::SUCCESS
        }
        Command::Checks => {
            for (id, what) in crate::provider::checks::CATALOGUE {
                println!("{id:<29} {what}");
            }
            exit::SUCCESS
        }
        Command::Vectors(VectorsCommand::Lint { paths, corpus }) => {
            cmd_lint(&paths, &corpus.root())
        }
        Command::Schema { what } => {
            let schema = match what {
                SchemaKind::Vectors => vector::schema(),
                SchemaKind::Report => report::report_schema(),
                SchemaKind::Adapter => crate::adapter::protocol::schema(),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            exit::SUCCESS
        }
        Command::Csr(CsrCommand::Lint { file, format }) => cmd_pki_lint(&file, None, format),
        Command::Cert(CertCommand::Lint { file, ca, format }) => {
            cmd_pki_lint(&file, Some(ca.as_deref()), format)
        }
        Command::Keys(KeysCommand::Generate { out, force }) => {
            match crate::pki::generate(&out, force) {
                Ok(names) => {
                    eprintln!(
                        "wrote {} TEST-ONLY certificates to {}: {}",
                        names.len(),
                        out.display(),
                        names.join(", ")
                    );
                    exit::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::BAD_INPUT
                }
            }
        }
    }
}

fn bad_input(d: impl std::fmt::Display) -> i32 {
    eprint!("{d}");
    exit::BAD_INPUT
}

/// Load suites, keys and every vector that is sound. Suites and keys are needed for anything to
/// run, so their errors are fatal; a broken vector only drops out, and is returned as a diagnostic.
pub fn load_all(root: &Path) -> Result<(Suites, Corpus, Pki, Vec<vector::Diagnostic>), String> {
    let suites = Suites::load(root).map_err(|d| d.to_string())?;
    let pki = Pki::load(&root.join("vectors/keys")).map_err(|e| format!("error: {e}\n"))?;
    let (mut corpus, mut errors) = Corpus::load_lenient(root);
    let findings = vector::lint::lint(&corpus, &suites, &pki);
    corpus
        .vectors
        .retain(|v| !findings.invalid.contains(v.id()));
    errors.extend(findings.errors);
    for gap in &findings.coverage_gaps {
        eprintln!("warning: {gap}");
    }
    Ok((suites, corpus, pki, errors))
}

fn cmd_list(args: ListArgs) -> i32 {
    let root = args.select.corpus.root();
    let (suites, corpus, _) = match load_all(&root) {
        Ok((s, c, p, errors)) if errors.is_empty() => (s, c, p),
        Ok((_, _, _, errors)) => return bad_input(Diagnostics(errors)),
        Err(e) => return bad_input(e),
    };
    let sel = selection(&args.select);
    match sel.apply(&corpus.vectors, &suites) {
        Ok(vs) => {
            let mut out = std::io::stdout().lock();
            for v in vs {
                let _ = match args.format {
                    ListFormat::Text => writeln!(out, "{}", v.id()),
                    ListFormat::Json => writeln!(
                        out,
                        "{}",
                        serde_json::json!({"id": v.id(), "operation": v.spec.operation.name()})
                    ),
                };
            }
            exit::SUCCESS
        }
        Err(e) => bad_input(format!("error: {e}\n")),
    }
}

fn selection(s: &SelectArgs) -> Selection {
    Selection {
        suites: s.suites.clone(),
        filters: s.filters.clone(),
        partition: s.partition,
    }
}

fn cmd_lint(paths: &[PathBuf], root: &Path) -> i32 {
    let suites = match Suites::load(root) {
        Ok(s) => s,
        Err(d) => return bad_input(d),
    };
    let pki = match Pki::load(&root.join("vectors/keys")) {
        Ok(p) => p,
        Err(e) => return bad_input(format!("error: {e}\n")),
    };
    let mut files = Vec::new();
    let targets = if paths.is_empty() {
        vec![root.join("vectors")]
    } else {
        paths.to_vec()
    };
    for p in &targets {
        if p.is_dir() {
            match vector::load::vector_files(p) {
                Ok(mut f) => files.append(&mut f),
                Err(d) => return bad_input(Diagnostics(vec![d])),
            }
        } else if p.exists() {
            files.push(p.clone());
        } else {
            return bad_input(format!("error: {}: no such file or folder\n", p.display()));
        }
    }
    let corpus = match Corpus::load_files(root, &files) {
        Ok(c) => c,
        Err(d) => {
            eprint!("{d}");
            return exit::FAILURES;
        }
    };
    let findings = vector::lint::lint(&corpus, &suites, &pki);
    let mut problems = findings.errors;
    // Linting a subset: a requirement the subset does not test is not the subset's problem.
    if paths.is_empty() {
        problems.extend(findings.coverage_gaps);
    }
    if !problems.is_empty() {
        eprint!("{}", Diagnostics(problems));
        return exit::FAILURES;
    }
    println!(
        "{} vectors in {} files: ok",
        corpus.vectors.len(),
        files.len()
    );
    exit::SUCCESS
}

fn cmd_run(args: RunArgs) -> i32 {
    let root = args.select.corpus.root();
    let (suites, corpus, pki, input_errors) = match load_all(&root) {
        Ok(x) => x,
        Err(e) => return bad_input(e),
    };
    if !input_errors.is_empty() {
        eprint!("{}", Diagnostics(input_errors.clone()));
        eprintln!(
            "the run goes on without these vectors, and exits with {}",
            exit::BAD_INPUT
        );
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
        jobs: args.jobs.max(1),
        timeout: Duration::from_secs(args.timeout.max(1)),
        loose_reasons: args.loose_reasons,
        strict: args.strict,
        known,
        faults: args.faults.iter().map(|f| f.name().to_owned()).collect(),
    };
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
    // An RP's panic becomes that vector's `error` with the message; one line on stderr is enough.
    std::panic::set_hook(Box::new(|info| {
        let msg = info.payload().downcast_ref::<&str>().map(|s| s.to_string());
        let msg = msg
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("note: panic captured as a vector error: {msg}");
    }));
    let tty = std::io::stderr().is_terminal();
    let result = runtime.block_on(run::run(rp.clone(), &corpus, &suites, &pki, &cfg, |p| {
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
    report.input_errors = input_errors.iter().map(ToString::to_string).collect();
    print_summary(&report);
    match report::write_all(&report, &args.report_dir) {
        Ok(paths) => {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            eprintln!("reports: {}", names.join(", "));
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

fn print_summary(r: &report::Report) {
    let mut out = std::io::stdout().lock();
    for v in &r.vectors {
        let tag = match v.result {
            report::Verdict::Pass => continue,
            report::Verdict::Warn => "WARN ",
            report::Verdict::Fail => "FAIL ",
            report::Verdict::Error => "ERROR",
            report::Verdict::Skip => "SKIP ",
            report::Verdict::Xfail => "XFAIL",
            report::Verdict::Xpass => "XPASS",
        };
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
        let _ = writeln!(out, "{tag} {} [{}{level}] {why}", v.id, v.severity);
    }
    for e in &r.input_errors {
        let first = e.lines().next().unwrap_or_default();
        let _ = writeln!(out, "INPUT {first}");
    }
    for u in &r.known_failures_unused {
        let _ = writeln!(out, "UNUSED known failure entry `{u}` matched no vector");
    }
    let s = &r.summary;
    let _ = writeln!(out, "eidconf: {}", report::headline(r));
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

/// `csr lint` (`ca: None`) and `cert lint` (`ca: Some(..)`).
fn cmd_pki_lint(file: &Path, ca: Option<Option<&Path>>, format: LintFormat) -> i32 {
    use crate::pki::csr;
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| format!("error: {}: cannot read: {e}\n", p.display()))
    };
    let bytes = match read(file) {
        Ok(b) => b,
        Err(e) => return bad_input(e),
    };
    let name = file.display().to_string();
    let report = match ca {
        None => csr::lint_csr(&name, &bytes),
        Some(ca) => {
            let ca_bytes = match ca.map(read).transpose() {
                Ok(b) => b,
                Err(e) => return bad_input(e),
            };
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            csr::lint_cert(&name, &bytes, ca_bytes.as_deref(), now)
        }
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => return bad_input(format!("error: {name}: unreadable: {e}\n")),
    };
    match format {
        LintFormat::Text => print!("{}", csr::render_text(&report)),
        LintFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
    }
    // Warnings (rules the provider does not state) are shown but do not fail the lint.
    if report.refused() {
        exit::FAILURES
    } else {
        exit::SUCCESS
    }
}
