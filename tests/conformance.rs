//! One test per vector, every vector against the reference RP (libtest-mimic, nextest-compatible).
//!
//! Listing parses the corpus but prints nothing else on stdout; `--exact ID` parses only the files
//! that can hold ID, so nextest's process-per-test stays cheap as the corpus grows.

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use eidconf::adapter::RelyingParty;
use eidconf::pki::Pki;
use eidconf::reference::ReferenceRp;
use eidconf::run::{RunConfig, run_one};
use eidconf::suite::Level;
use eidconf::vector::Corpus;
use eidconf_report::Verdict;
use libtest_mimic::{Arguments, Failed, Trial};

/// Counts heap use per thread, so the in-process RP's memory per vector is measured.
#[global_allocator]
static ALLOC: eidconf::meter::CountingAlloc = eidconf::meter::CountingAlloc;

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    // Vectors wait on sockets and timers, not on the CPU: more threads than cores pay off.
    args.test_threads = args.test_threads.or(Some(8));
    let root = eidconf::default_corpus_root();
    // A broken vector file becomes a failing test named after its location, so the rest of the
    // corpus still lists and runs.
    let (corpus, errors) = match (&args.filter, args.exact) {
        (Some(id), true) => match Corpus::load_for_id(&root, id) {
            Ok(c) => (c, Vec::new()),
            Err(d) => (Corpus::load_files(&root, &[]).expect("empty corpus"), d.0),
        },
        _ => Corpus::load_lenient(&root),
    };
    let mut trials: Vec<Trial> = errors
        .into_iter()
        .map(|d| {
            let name = format!("input-error::{}", d.location);
            Trial::test(name, move || Err(Failed::from(d.to_string())))
        })
        .collect();
    let shared = Arc::new(Shared {
        root: root.clone(),
        pki: OnceLock::new(),
        runtime: OnceLock::new(),
    });
    trials.extend(corpus.vectors.into_iter().map(|v| {
        let shared = shared.clone();
        Trial::test(v.id().to_owned(), move || shared.run(&v))
    }));
    libtest_mimic::run(&args, trials).exit_code()
}

/// Loaded once per process, on first use, so that listing never pays for it.
struct Shared {
    root: std::path::PathBuf,
    pki: OnceLock<Result<Pki, String>>,
    runtime: OnceLock<tokio::runtime::Runtime>,
}

impl Shared {
    fn run(&self, vector: &eidconf::vector::Vector) -> Result<(), Failed> {
        let pki = self
            .pki
            .get_or_init(|| Pki::load(&self.root.join("vectors/keys")).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Failed::from(e.as_str()))?;
        let rt = self.runtime.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime")
        });
        let rp: Arc<dyn RelyingParty> = Arc::new(ReferenceRp::new(&[]));
        // As `--strict`: the reference RP meets SHOULD and HARDENING requirements too.
        let strict = RunConfig {
            strict: true,
            ..RunConfig::default()
        };
        let (exec, judgement) = rt.block_on(run_one(rp, vector, Level::Must, pki, &strict));
        match judgement.result {
            Verdict::Pass => Ok(()),
            other => {
                let why = judgement
                    .failure
                    .map(|f| f.message)
                    .or(judgement.note)
                    .unwrap_or_default();
                let evidence = eidconf::run::evidence::build(exec.as_ref(), pki);
                Err(format!(
                    "{other:?} at {}: {why}\nevidence: {}",
                    vector.location,
                    serde_json::to_string_pretty(&evidence).unwrap_or_default()
                )
                .into())
            }
        }
    }
}
