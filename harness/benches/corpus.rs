//! Speed of the whole corpus against the reference RP, and of the costs nextest pays per process.
//!
//!     cargo bench -p eidconf --bench corpus
//!
//! Targets (2 cores): the whole corpus in under 10 s of wall time at -j 8 (release), an FTN login
//! (begin, broker, finish: two RP calls, HTTPS, RSA sign/verify/decrypt) under 100 ms of mean
//! vector time at -j 8, corpus parsing under 200 ms, and `--exact` loading of one vector under
//! 10 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eidconf::pki::Pki;
use eidconf::reference::ReferenceRp;
use eidconf::run::{self, RunConfig};
use eidconf::suite::Suites;
use eidconf::vector::Corpus;

fn main() {
    let root = eidconf::default_corpus_root();
    let t = Instant::now();
    let corpus = Corpus::load(&root).expect("corpus");
    let parse = t.elapsed();
    let last = corpus.vectors.last().expect("a vector").id().to_owned();
    let t = Instant::now();
    let one = Corpus::load_for_id(&root, &last).expect("one");
    let exact = t.elapsed();
    assert_eq!(one.vectors.len(), 1);
    let suites = Suites::load(&root).expect("suites");
    let t = Instant::now();
    let pki = Pki::load(&root.join("vectors/keys")).expect("keys");
    let keys = t.elapsed();
    println!(
        "corpus: {} vectors; parse {parse:.1?}, --exact {exact:.1?}, keys {keys:.1?}",
        corpus.vectors.len()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for jobs in [1, 8, 32] {
        let cfg = RunConfig {
            jobs,
            timeout: Duration::from_secs(20),
            ..RunConfig::default()
        };
        let t = Instant::now();
        let report = rt
            .block_on(run::run(
                Arc::new(ReferenceRp::new(&[])),
                &corpus,
                &suites,
                &pki,
                &cfg,
                |_| {},
            ))
            .expect("run");
        let wall = t.elapsed().as_secs_f64();
        let busy: u64 = report.vectors.iter().map(|v| v.duration_ms).sum();
        println!(
            "-j {jobs:>2}: {:.2} s wall, {:.0} vectors/s, mean {:.1} ms per vector, {} passed of {}",
            wall,
            report.summary.total as f64 / wall,
            busy as f64 / report.summary.total.max(1) as f64,
            report.summary.pass,
            report.summary.total
        );
        if jobs == 8 {
            let mut per_op: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
            for v in &report.vectors {
                let e = per_op.entry(v.operation.as_str()).or_default();
                e.0 += 1;
                e.1 += v.duration_ms;
            }
            for (op, (n, ms)) in per_op {
                println!(
                    "        {op:<24} {n:>4} vectors, mean {:.1} ms",
                    ms as f64 / n as f64
                );
            }
        }
    }
}
