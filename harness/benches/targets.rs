//! The speed targets, each measured and printed with its ratio to the target. Not a timed test:
//! the figures depend on the machine, so the README quotes them with the machine they came from.
//!
//!     cargo bench -p eidconf --bench targets
//!
//! - CPU: the default corpus costs at most 2× its cryptographic floor. The floor is the sum over
//!   vectors of the operations each needs at least (TLS handshakes, RSA signatures, verifications
//!   and decryptions, counted from its evidence), each priced by timing the primitive here.
//! - Wall: the default run takes at most 1.25× max(longest inherent wait, floor ÷ cores).
//! - Startup: loading and listing the corpus under 50 ms; `--exact` (one vector) under 10 ms.
//!   The first load of a build parses the YAML (its time is shown) and keeps the parsed corpus.
//! - Out of process: `--rp stdio` within 1.2× of in-process wall; `--rp exec`'s overhead shown.
//! - Growth: 10× and 100× a slice of the corpus cost time in proportion, and memory does not
//!   grow with the corpus beyond the report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey};
use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair, UnparsedPublicKey};
use eidconf::Inputs;
use eidconf::adapter::RelyingParty;
use eidconf::pki::Pki;
use eidconf::reference::ReferenceRp;
use eidconf::run::{self, RunConfig, Selection, evidence::Detail};
use eidconf::transport::{ExecRp, StdioRp};
use eidconf::vector::{Corpus, Vector};
use serde_json::Value;

const DRIVER: &str = env!("CARGO_BIN_EXE_eidconf-reference-driver");

fn main() {
    let root = eidconf::default_corpus_root();
    println!("machine: {} cores", cores());

    // Startup: what `eidconf list` and one nextest process load.
    let startup = median(5, || {
        let t = Instant::now();
        let inputs = Inputs::load(&root).expect("inputs");
        assert!(!inputs.corpus.vectors.is_empty());
        t.elapsed()
    });
    target("startup: load and list the corpus", startup, ms(50));
    // A build's first load parses every file; later ones read the parsed corpus it kept.
    let files = eidconf::vector::load::vector_files(&root.join("vectors")).expect("files");
    let parse = median(5, || {
        let t = Instant::now();
        let (corpus, errors) = Corpus::parse_files_lenient(&root, &files);
        assert!(errors.is_empty() && !corpus.vectors.is_empty());
        t.elapsed()
    });
    println!(
        "startup: parsing the corpus, as the first load of a build does: {:.1} ms (reported)",
        parse.as_secs_f64() * 1e3
    );
    let inputs = Inputs::load(&root).expect("inputs");
    let (corpus, suites, pki) = (inputs.corpus, inputs.suites, inputs.pki);
    for (what, id) in [
        (
            "--exact, a hand-written vector",
            "freja.result.details-missing",
        ),
        (
            "--exact, an imported vector",
            "freja.peer.wycheproof-jws-401",
        ),
    ] {
        assert!(
            corpus.vectors.iter().any(|v| v.id() == id),
            "{id} is not in the corpus"
        );
        let t = median(5, || {
            let t = Instant::now();
            let one = Corpus::load_for_id(&root, id).expect("one vector");
            assert_eq!(one.vectors.len(), 1);
            t.elapsed()
        });
        target(&format!("startup: {what} ({id})"), t, ms(10));
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let units = Units::measure(&pki);
    println!("{units}");

    // The whole corpus at default settings, in process.
    let cfg = RunConfig {
        evidence: Detail::Full,
        ..RunConfig::default()
    };
    let reference = |corpus: &Corpus, cfg: &RunConfig| {
        timed(|| {
            rt.block_on(run::run(
                Arc::new(ReferenceRp::new(&[])),
                corpus,
                &suites,
                &pki,
                cfg,
                |_| {},
            ))
            .expect("run")
        })
    };
    let (report, wall, cpu) = reference(&corpus, &cfg);
    assert_eq!(
        report.summary.pass, report.summary.total,
        "the reference RP passes"
    );
    let floors: Vec<(String, Duration)> = report
        .vectors
        .iter()
        .map(|v| (family(&v.id), units.floor(v)))
        .collect();
    let floor: Duration = floors.iter().map(|(_, d)| *d).sum();
    println!(
        "corpus: {} vectors, -j {}: {:.2} s wall, {:.2} s CPU, floor {:.2} s",
        report.summary.total,
        cfg.jobs,
        wall.as_secs_f64(),
        cpu.as_secs_f64(),
        floor.as_secs_f64()
    );
    ratio("CPU: whole corpus over its floor", cpu, floor, 2.0);
    let wait = corpus
        .vectors
        .iter()
        .map(|v| v.spec.inherent_wait())
        .max()
        .unwrap_or_default();
    let bound = wait.max(floor / cores() as u32);
    println!(
        "       longest inherent wait {wait:.1?}; floor ÷ cores {:.2?}",
        floor / cores() as u32
    );
    ratio(
        "wall: default run over max(wait, floor ÷ cores)",
        wall,
        bound,
        1.25,
    );

    // CPU per family: each family run alone, its floor from the whole run's vectors.
    let mut by_family: BTreeMap<String, (usize, Duration)> = BTreeMap::new();
    for (f, d) in &floors {
        let e = by_family.entry(f.clone()).or_default();
        e.0 += 1;
        e.1 += *d;
    }
    println!("CPU per family (run alone) over its floor, target 2×:");
    for (f, (n, floor)) in &by_family {
        let cfg = RunConfig {
            selection: Selection {
                filters: vec![format!("{f}.*")],
                ..Selection::default()
            },
            ..RunConfig::default()
        };
        let (_, _, cpu) = reference(&corpus, &cfg);
        let times = if floor.is_zero() {
            "no cryptography".to_owned()
        } else {
            format!("{:.1}×", cpu.as_secs_f64() / floor.as_secs_f64())
        };
        println!(
            "    {f:<26} {n:>4} vectors  CPU {:>7.1} ms  floor {:>7.1} ms  {times}",
            cpu.as_secs_f64() * 1e3,
            floor.as_secs_f64() * 1e3,
        );
    }

    // Out of process: the same corpus behind the stdio transport, and a slice behind exec.
    let argv = vec![DRIVER.to_owned()];
    let timeout = RunConfig::default().timeout;
    let (r, stdio_wall, _) = timed(|| {
        rt.block_on(async {
            let rp = Arc::new(StdioRp::start(argv.clone(), timeout).await.expect("stdio"));
            let r = run::run(
                rp.clone(),
                &corpus,
                &suites,
                &pki,
                &RunConfig::default(),
                |_| {},
            )
            .await
            .expect("run");
            rp.shutdown().await;
            r
        })
    });
    assert_eq!(r.summary.pass, report.summary.pass);
    ratio(
        "out of process: --rp stdio wall over in-process",
        stdio_wall,
        wall,
        1.2,
    );
    let slice = RunConfig {
        selection: Selection {
            filters: vec!["dn.*".into(), "freja.jws.*".into()],
            ..Selection::default()
        },
        ..RunConfig::default()
    };
    let per_vector = |exec: bool| {
        let (r, wall, _) = timed(|| {
            rt.block_on(async {
                let rp: Arc<dyn RelyingParty> = if exec {
                    Arc::new(ExecRp::start(argv.clone(), timeout).await.expect("exec"))
                } else {
                    Arc::new(ReferenceRp::new(&[]))
                };
                let r = run::run(rp.clone(), &corpus, &suites, &pki, &slice, |_| {})
                    .await
                    .expect("run");
                rp.shutdown().await;
                r
            })
        });
        (wall / r.summary.total.max(1), r.summary.total)
    };
    let (inproc, n) = per_vector(false);
    let (exec, _) = per_vector(true);
    println!(
        "out of process: --rp exec costs {:.1} ms per vector over in-process ({n} vectors, wall per vector at -j {})",
        exec.as_secs_f64() * 1e3 - inproc.as_secs_f64() * 1e3,
        RunConfig::default().jobs
    );

    // Growth: every 20th vector that does not wait, repeated 1×, 10× and 100×.
    let slice: Vec<Vector> = corpus
        .vectors
        .iter()
        .filter(|v| !v.spec.waits_on_purpose() && !v.spec.exclusive)
        .step_by(20)
        .cloned()
        .collect();
    println!(
        "growth: {} vectors repeated (time per vector; process peak memory; report render):",
        slice.len()
    );
    let mut first = None;
    for k in [1usize, 10, 100] {
        let mut grown = Corpus {
            vectors: Vec::new(),
            ..corpus.clone()
        };
        for i in 0..k {
            grown.vectors.extend(slice.iter().cloned().map(|mut v| {
                v.spec.id = format!("{}.x{i}", v.spec.id);
                v
            }));
        }
        let (r, wall, _) = reference(&grown, &RunConfig::default());
        let t = Instant::now();
        let (json, html) = (eidconf_report::to_json(&r), eidconf_report::html(&r));
        let render = t.elapsed();
        let each = wall / grown.vectors.len() as u32;
        let first = *first.get_or_insert(each);
        println!(
            "    {k:>3}×: {:>6} vectors  {:>6.2} s  {:>5.2} ms per vector ({:.2}× the 1× figure)  peak RSS {:>5} MiB  render {:>6.1} ms for {:.1} MB",
            grown.vectors.len(),
            wall.as_secs_f64(),
            each.as_secs_f64() * 1e3,
            each.as_secs_f64() / first.as_secs_f64(),
            peak_rss_kib() / 1024,
            render.as_secs_f64() * 1e3,
            (json.len() + html.len()) as f64 / 1e6
        );
    }
}

/// What the cryptographic operations cost here, each timed in process.
struct Units {
    rsa_sign: Duration,
    rsa_verify: Duration,
    oaep_encrypt: Duration,
    oaep_decrypt: Duration,
    /// A TLS 1.3 handshake with a client certificate, both sides, in memory.
    handshake_mtls: Duration,
    /// The same without a client certificate.
    handshake: Duration,
}

impl Units {
    fn measure(pki: &Pki) -> Units {
        let rng = SystemRandom::new();
        let key = RsaKeyPair::from_pkcs8(&pki.get("ftn-broker-sig-1").expect("key").key_der)
            .expect("RSA key");
        let mut sig = vec![0; key.public_modulus_len()];
        let msg = [7u8; 600];
        let rsa_sign = per_op(200, || {
            key.sign(&signature::RSA_PKCS1_SHA256, &rng, &msg, &mut sig)
                .expect("sign")
        });
        let public = UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            key.public_key().as_ref().to_vec(),
        );
        let rsa_verify = per_op(2000, || public.verify(&msg, &sig).expect("verify"));
        let dec = PrivateDecryptingKey::from_pkcs8(&pki.get("ftn-rp-enc-1").expect("key").key_der)
            .expect("RSA key");
        let enc = OaepPublicEncryptingKey::new(dec.public_key()).expect("public key");
        let dec = OaepPrivateDecryptingKey::new(dec).expect("private key");
        let cek = [9u8; 32];
        let mut ct = vec![0; enc.ciphertext_size()];
        let oaep_encrypt = per_op(2000, || {
            enc.encrypt(&aws_lc_rs::rsa::OAEP_SHA1_MGF1SHA1, &cek, &mut ct, None)
                .expect("encrypt");
        });
        let mut pt = vec![0; dec.min_output_size()];
        let oaep_decrypt = per_op(200, || {
            dec.decrypt(&aws_lc_rs::rsa::OAEP_SHA1_MGF1SHA1, &ct, &mut pt, None)
                .expect("decrypt");
        });
        Units {
            rsa_sign,
            rsa_verify,
            oaep_encrypt,
            oaep_decrypt,
            handshake_mtls: per_op(100, || handshake(pki, true)),
            handshake: per_op(100, || handshake(pki, false)),
        }
    }

    /// The least one vector needs, read from its (full) evidence: a handshake per mock it
    /// talked to (two for a login: the user agent and the RP), a signature and a verification per
    /// RSA-signed JWS it was given or served (the verification only when the RP accepted, as a
    /// rejecting RP may never reach it), an OAEP wrap and unwrap plus the inner JWS per JWE, and
    /// for each login a signature and a verification each for the request object and the client
    /// assertion.
    fn floor(&self, v: &eidconf_report::VectorResult) -> Duration {
        let ev = &v.evidence;
        let accepted = v
            .outcome
            .as_ref()
            .and_then(|o| o.get("verdict"))
            .and_then(Value::as_str)
            == Some("accepted");
        let mut d = Duration::ZERO;
        let provider = &ev["provider"];
        if provider["requests"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            d += self.handshake_mtls;
        }
        let logins = provider["broker"]["logins"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if provider["broker"]["requests"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            d += self.handshake * (1 + logins.len().max(1) as u32);
        }
        for l in &logins {
            for k in ["request_object_header", "client_assertion_header"] {
                if l.get(k).is_some() {
                    d += self.rsa_sign + self.rsa_verify;
                }
            }
        }
        let served = ev["served"].as_array().into_iter().flatten();
        let tokens = ev["given_tokens"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(served.flat_map(|s| s["tokens"].as_array().into_iter().flatten()));
        for t in tokens {
            let alg = |h: &str| t[h]["alg"].as_str().unwrap_or_default().to_owned();
            if t.get("header").is_some()
                && (alg("header").starts_with("RS") || alg("header").starts_with("PS"))
            {
                d += self.rsa_sign;
                if accepted {
                    d += self.rsa_verify;
                }
            }
            if t.get("protected_header").is_some()
                && alg("protected_header").starts_with("RSA-OAEP")
            {
                d += self.oaep_encrypt + self.oaep_decrypt + self.rsa_sign;
                if accepted {
                    d += self.rsa_verify;
                }
            }
        }
        d
    }
}

impl std::fmt::Display for Units {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        write!(
            f,
            "primitives (µs each): RSA-2048 sign {:.0}, verify {:.0}; RSA-OAEP wrap {:.0}, unwrap {:.0}; TLS 1.3 handshake {:.0}, with a client certificate {:.0}",
            us(self.rsa_sign),
            us(self.rsa_verify),
            us(self.oaep_encrypt),
            us(self.oaep_decrypt),
            us(self.handshake),
            us(self.handshake_mtls)
        )
    }
}

/// A whole TLS 1.3 handshake between a client and a server in memory, with the test PKI's
/// `server-localhost` and, if `mtls`, `rp-client`.
fn handshake(pki: &Pki, mtls: bool) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let der = |n: &str| CertificateDer::from(pki.get(n).expect("cert").cert_der.clone());
    let key = |n: &str| {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            pki.get(n).expect("key").key_der.clone(),
        ))
    };
    let chain = |n: &str| -> Vec<CertificateDer<'static>> {
        pki.chain_der(n)
            .expect("chain")
            .into_iter()
            .map(CertificateDer::from)
            .collect()
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der("test-root-ca")).expect("root");
    let roots = Arc::new(roots);
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let server = if mtls {
        server.with_client_cert_verifier(
            rustls::server::WebPkiClientVerifier::builder_with_provider(
                roots.clone(),
                provider.clone(),
            )
            .build()
            .expect("verifier"),
        )
    } else {
        server.with_no_client_auth()
    }
    .with_single_cert(chain("server-localhost"), key("server-localhost"))
    .expect("server config");
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let client = if mtls {
        client
            .with_client_auth_cert(chain("rp-client"), key("rp-client"))
            .expect("client cert")
    } else {
        client.with_no_client_auth()
    };
    let name = ServerName::try_from("localhost").expect("name");
    let mut c = rustls::ClientConnection::new(Arc::new(client), name).expect("client");
    let mut s = rustls::ServerConnection::new(Arc::new(server)).expect("server");
    let mut buf = Vec::new();
    while c.is_handshaking() || s.is_handshaking() {
        buf.clear();
        c.write_tls(&mut buf).expect("write");
        s.read_tls(&mut buf.as_slice()).expect("read");
        s.process_new_packets().expect("server");
        buf.clear();
        s.write_tls(&mut buf).expect("write");
        c.read_tls(&mut buf.as_slice()).expect("read");
        c.process_new_packets().expect("client");
    }
}

/// `freja.jws`, `ftn.flow`, `dn.text`: the first two segments of an id.
fn family(id: &str) -> String {
    id.split('.').take(2).collect::<Vec<_>>().join(".")
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Duration) {
    let (t, c) = (Instant::now(), process_cpu());
    let out = f();
    (out, t.elapsed(), process_cpu() - c)
}

fn per_op(n: u32, mut f: impl FnMut()) -> Duration {
    f();
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed() / n
}

fn median(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut v: Vec<Duration> = (0..n).map(|_| f()).collect();
    v.sort();
    v[n / 2]
}

fn target(what: &str, got: Duration, limit: Duration) {
    println!(
        "{what}: {:.1} ms, target {:.0} ms: {:.2}× the target ({})",
        got.as_secs_f64() * 1e3,
        limit.as_secs_f64() * 1e3,
        got.as_secs_f64() / limit.as_secs_f64(),
        if got <= limit { "met" } else { "not met" }
    );
}

fn ratio(what: &str, got: Duration, base: Duration, limit: f64) {
    let r = got.as_secs_f64() / base.as_secs_f64().max(1e-9);
    println!(
        "{what}: {r:.2}× (target {limit}×: {})",
        if r <= limit { "met" } else { "not met" }
    );
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// User and system CPU time of this process so far.
fn process_cpu() -> Duration {
    // SAFETY: getrusage writes the struct it is given and nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// The process's peak resident memory so far.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
