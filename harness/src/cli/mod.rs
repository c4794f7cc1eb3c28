//! The `eidconf` command line, one module per command group: parsing here, work in the library.

/// `println!` and `print!` that keep going when stdout is closed (`eidconf faults | head`): the
/// command still finishes and exits with its own code. (Restoring SIGPIPE instead would let a
/// crashed driver's closed stdin kill the harness.)
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

mod lint;
mod list;
mod pki;
mod reports;
mod run;
mod signing;

use lint::{cmd_expand, cmd_lint};
use list::{ListArgs, cmd_list};
use pki::{CertCommand, CsrCommand, KeysCommand, cmd_pki_lint};
use reports::{ReportCommand, cmd_report};
use run::{RunArgs, cmd_run};

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use eidconf::reference::Fault;
use eidconf::run::{Partition, Selection};
use eidconf::vector;
use eidconf_report::{self as report, exit};

/// Conformance harness for relying parties of Nordic eID services (Freja eID, FTN OpenID Connect).
///
/// eidconf plays the provider, feeds the RP every behaviour the provider can show, and reports per
/// vector whether the RP did the right thing.
///
/// Exit codes: 0 everything as expected; 1 a vector failed, errored or passed unexpectedly (xpass),
/// or `report diff` found a regression; 2 bad input (vectors, suites, keys, known-failures file,
/// reports) or usage.
#[derive(Debug, Parser)]
#[command(name = "eidconf", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run vectors against an RP and write the reports.
    Run(Box<RunArgs>),
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
    /// The corpus (vectors, TEST-ONLY keys, suites) this binary carries.
    #[command(subcommand)]
    Corpus(CorpusCommand),
    /// Manage the TEST-ONLY key material under vectors/keys/.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Check a certificate signing request before sending it to the provider.
    #[command(subcommand)]
    Csr(CsrCommand),
    /// Check an issued client certificate.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Work with reports: render, diff against a baseline, merge shards, known failures.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Turn a peer corpus into vectors (written under vectors/imported/ by default)
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Wycheproof's JSON Web Signature and Encryption tests (a checkout of C2SP/wycheproof, its
    /// testvectors_v1 folder, or one of the two files)
    Wycheproof {
        path: PathBuf,
        /// The folder that receives `wycheproof/*.yaml` (default: the corpus's vectors/imported)
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The RFC 7520 examples of the JOSE cookbook (a checkout of ietf-jose/cookbook: jws/, jwe/)
    Rfc7520 {
        path: PathBuf,
        /// The folder that receives `rfc7520/*.yaml` (default: the corpus's vectors/imported)
        #[arg(long)]
        out: Option<PathBuf>,
    },
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
    /// Print every vector as the run sees it, matrix templates expanded: one JSON object per
    /// line with its id, where it was written, the matrix row and the vector.
    Expand {
        /// Files or folders (default: the corpus's vectors/).
        paths: Vec<PathBuf>,
        #[command(flatten)]
        corpus: CorpusArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum CorpusCommand {
    /// Write the built-in corpus to DIR, to extend it; then run with `--corpus DIR`.
    Export {
        dir: PathBuf,
        /// Write into a folder that already holds vectors/ or suites/ (overwrites those files).
        #[arg(long)]
        force: bool,
    },
    /// Print the folder a run reads the corpus from (the built-in one is written to a cache
    /// folder on first use).
    Path {
        #[command(flatten)]
        corpus: CorpusArg,
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

#[derive(Debug, Args)]
pub struct CorpusArg {
    /// The folder holding vectors/ and suites/ (default: the corpus built into eidconf; write it
    /// out with `eidconf corpus export DIR` to extend it).
    #[arg(long, env = "EIDCONF_CORPUS")]
    pub corpus: Option<PathBuf>,
}

impl CorpusArg {
    /// The corpus folder; Err is the exit code, the problem printed.
    pub fn root(&self) -> Result<PathBuf, i32> {
        if let Some(dir) = &self.corpus {
            return Ok(dir.clone());
        }
        if crate::CORPUS.is_empty() {
            // Built outside a checkout: only an explicit corpus will do.
            return Err(bad_input(
                "error: this eidconf was built without its corpus; pass --corpus DIR\n",
            ));
        }
        crate::CORPUS
            .root()
            .map_err(|e| bad_input(format!("error: {e}\n")))
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

/// Run the CLI; returns the process exit code.
pub fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Run(args) => cmd_run(*args),
        Command::Report(cmd) => cmd_report(cmd),
        Command::Import(cmd) => {
            let (result, out) = match cmd {
                ImportCommand::Wycheproof { path, out } => {
                    (eidconf::import::wycheproof(&path), out)
                }
                ImportCommand::Rfc7520 { path, out } => (eidconf::import::rfc7520(&path), out),
            };
            let out =
                out.unwrap_or_else(|| eidconf::default_corpus_root().join("vectors/imported"));
            match result.and_then(|files| eidconf::import::write(&out, &files).map(|()| files)) {
                Ok(files) => {
                    for f in files {
                        let c = f.counts;
                        outln!(
                            "{}: {} vectors ({} substituted, {} RSA padding transplants, {} shapes, {} verbatim)",
                            out.join(&f.name).display(),
                            c.total(),
                            c.substituted,
                            c.transplanted,
                            c.shape,
                            c.verbatim
                        );
                    }
                    exit::SUCCESS
                }
                Err(e) => {
                    eprintln!("eidconf import: {e}");
                    exit::BAD_INPUT
                }
            }
        }
        Command::List(args) => cmd_list(args),
        Command::Faults => {
            for f in Fault::ALL {
                outln!("{:<26} {}", f.name(), f.description());
            }
            exit::SUCCESS
        }
        Command::Checks => {
            for (id, what) in eidconf::provider::checks::CATALOGUE {
                outln!("{id:<29} {what}");
            }
            exit::SUCCESS
        }
        Command::Vectors(VectorsCommand::Lint { paths, corpus }) => match corpus.root() {
            Ok(root) => cmd_lint(&paths, &root),
            Err(code) => code,
        },
        Command::Vectors(VectorsCommand::Expand { paths, corpus }) => match corpus.root() {
            Ok(root) => cmd_expand(&paths, &root),
            Err(code) => code,
        },
        Command::Corpus(CorpusCommand::Export { dir, force }) => {
            match crate::CORPUS.export(&dir, force) {
                Ok(n) => {
                    eprintln!(
                        "wrote {n} files to {} (vectors/, TEST-ONLY vectors/keys/, suites/); run with --corpus {}",
                        dir.display(),
                        dir.display()
                    );
                    exit::SUCCESS
                }
                Err(e) => bad_input(format!("error: {e}\n")),
            }
        }
        Command::Corpus(CorpusCommand::Path { corpus }) => match corpus.root() {
            Ok(root) => {
                outln!("{}", root.display());
                exit::SUCCESS
            }
            Err(code) => code,
        },
        Command::Schema { what } => {
            let schema = match what {
                SchemaKind::Vectors => vector::schema(),
                SchemaKind::Report => report::report_schema(),
                SchemaKind::Adapter => eidconf::adapter::protocol::schema(),
            };
            outln!(
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
            match eidconf::pki::generate(&out, force) {
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

fn selection(s: &SelectArgs) -> Selection {
    Selection {
        suites: s.suites.clone(),
        filters: s.filters.clone(),
        partition: s.partition,
    }
}
