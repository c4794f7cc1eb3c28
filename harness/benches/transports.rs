//! The cost of the out-of-process transports: the whole corpus against the reference RP in
//! process, behind `--rp stdio` and behind `--rp exec`, at the same -j.
//!
//!     cargo bench -p eidconf --bench transports
//!
//! Not a timed test: it prints vectors per second and the mean per-vector overhead over
//! in-process (the difference of the mean per-vector durations the report records).

use std::sync::Arc;
use std::time::{Duration, Instant};

use eidconf::adapter::RelyingParty;
use eidconf::pki::Pki;
use eidconf::reference::ReferenceRp;
use eidconf::run::{self, RunConfig};
use eidconf::suite::Suites;
use eidconf::transport::{ExecRp, StdioRp};
use eidconf::vector::Corpus;

const DRIVER: &str = env!("CARGO_BIN_EXE_eidconf-reference-driver");

fn main() {
    let root = eidconf::default_corpus_root();
    let corpus = Corpus::load(&root).expect("corpus");
    let suites = Suites::load(&root).expect("suites");
    let pki = Pki::load(&root.join("vectors/keys")).expect("keys");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let timeout = Duration::from_secs(20);
    for jobs in [1usize, 8] {
        let mut base = None;
        for transport in ["in-process", "stdio", "exec"] {
            let cfg = RunConfig {
                jobs,
                timeout,
                ..RunConfig::default()
            };
            let argv = vec![DRIVER.to_owned()];
            let (report, wall) = rt.block_on(async {
                let rp: Arc<dyn RelyingParty> = match transport {
                    "in-process" => Arc::new(ReferenceRp::new(&[])),
                    "stdio" => Arc::new(StdioRp::start(argv, timeout).await.expect("stdio")),
                    _ => Arc::new(ExecRp::start(argv, timeout).await.expect("exec")),
                };
                let t = Instant::now();
                let r = run::run(rp.clone(), &corpus, &suites, &pki, &cfg, |_| {})
                    .await
                    .expect("run");
                let wall = t.elapsed().as_secs_f64();
                rp.shutdown().await;
                (r, wall)
            });
            let n = report.vectors.len() as f64;
            let mean = report.vectors.iter().map(|v| v.duration_ms).sum::<u64>() as f64 / n;
            let base_mean = *base.get_or_insert(mean);
            println!(
                "-j {jobs}: {transport:<10} {wall:6.2} s wall, {:6.1} vectors/s, mean {mean:6.1} ms per vector \
                 (overhead {:+.1} ms), {} passed of {}",
                n / wall,
                mean - base_mean,
                report.summary.pass,
                report.summary.total
            );
        }
    }
}
