//! One test per vector in the RP's own repository, like sqllogictest-rs's `harness!`:
//!
//! ```toml
//! [[test]]
//! name = "eidconf"
//! harness = false
//! ```
//! ```ignore
//! // tests/eidconf.rs
//! eidconf_adapter::harness!(my_rp::MyRp::new());
//! ```
//!
//! The test binary plays two parts. Run by `cargo test` or `cargo nextest run`, it lists the
//! corpus with the `eidconf` binary and runs the selected vectors with
//! `eidconf run --rp stdio -- <this binary>`; started that way (with `EIDCONF_ADAPTER_SERVE` set)
//! it is the driver and serves the RP over the protocol. Vectors of operations the RP does not
//! declare are listed as ignored.
//!
//! `EIDCONF` names the `eidconf` binary (default: next to the test binary in `target/`, then
//! `PATH`); `EIDCONF_CORPUS` the corpus; `EIDCONF_RUN_ARGS` adds arguments to `eidconf run`
//! (e.g. `--strict --timeout 60`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::{Arc, OnceLock};

use libtest_mimic::{Arguments, Failed, Trial};

use serde_json::Value;

use crate::RelyingParty;

/// `eidconf`'s exit code for bad input (`eidconf_report::exit::BAD_INPUT`).
const BAD_INPUT: i32 = 2;

/// Vectors `(id, operation)` and input errors `(location, message)`.
type Listing = (Vec<(String, String)>, Vec<(String, String)>);

/// Set in the environment of the driver process the harness starts.
pub const SERVE_ENV: &str = "EIDCONF_ADAPTER_SERVE";

/// `fn main` of a `harness = false` test target: one test per vector for the RP `$rp`.
#[macro_export]
macro_rules! harness {
    ($rp:expr) => {
        fn main() -> ::std::process::ExitCode {
            $crate::harness::main(|| $rp)
        }
    };
}

/// What [`harness!`] expands to.
pub fn main<R: RelyingParty + 'static>(make: impl Fn() -> R) -> ExitCode {
    if std::env::var_os(SERVE_ENV).is_some() {
        return crate::serve(make());
    }
    let mut args = Arguments::from_args();
    // The vectors already run concurrently inside one `eidconf run`.
    args.test_threads = args.test_threads.or(Some(1));
    let implemented = make().describe().operations;
    let eidconf = Eidconf::locate();
    let only = match (&args.filter, args.exact) {
        (Some(id), true) => Some(id.clone()),
        _ => None,
    };
    let (listing, input_errors) = match eidconf.list(only.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            let trial = Trial::test("eidconf::list", move || Err(Failed::from(e)));
            return libtest_mimic::run(&args, vec![trial]).exit_code();
        }
    };
    // A file or vector that does not load fails on its own, named by its location; the rest runs.
    let mut trials: Vec<Trial> = input_errors
        .into_iter()
        .map(|(at, message)| {
            Trial::test(format!("input-error::{at}"), move || {
                Err(Failed::from(message))
            })
        })
        .collect();
    let shared = Arc::new(Shared {
        eidconf,
        only,
        results: OnceLock::new(),
    });
    trials.extend(listing.into_iter().map(|(id, operation)| {
        let shared = shared.clone();
        let ignored = !implemented.contains(&operation);
        Trial::test(id.clone(), move || shared.verdict(&id)).with_ignored_flag(ignored)
    }));
    libtest_mimic::run(&args, trials).exit_code()
}

/// The `eidconf` binary.
struct Eidconf(PathBuf);

impl Eidconf {
    fn locate() -> Eidconf {
        if let Some(p) = std::env::var_os("EIDCONF") {
            return Eidconf(p.into());
        }
        // `target/<profile>/deps/<test>` → `target/<profile>/eidconf`, as cargo lays it out.
        let exe = format!("eidconf{}", std::env::consts::EXE_SUFFIX);
        let sibling = std::env::current_exe()
            .ok()
            .and_then(|t| Some(t.parent()?.parent()?.join(&exe)))
            .filter(|p| p.is_file());
        Eidconf(sibling.unwrap_or_else(|| exe.into()))
    }

    fn command(&self) -> Command {
        Command::new(&self.0)
    }

    fn describe(&self) -> String {
        format!("`{}` (set EIDCONF to the eidconf binary)", self.0.display())
    }

    /// `(id, operation)` of every vector (or of `only`) that loads, and `(location, message)` of
    /// every input error.
    fn list(&self, only: Option<&str>) -> Result<Listing, String> {
        let mut cmd = self.command();
        cmd.args(["list", "--format", "json"]);
        if let Some(id) = only {
            cmd.args(["--filter", id]);
        }
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.describe()))?;
        // 2 with input errors still lists what loads; anything else is no listing at all.
        if !matches!(out.status.code(), Some(0 | BAD_INPUT)) {
            return Err(format!(
                "{} list failed ({}):\n{}",
                self.describe(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let (mut vectors, mut errors) = (Vec::new(), Vec::new());
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("eidconf list wrote {line:?}: {e}"))?;
            match (&v["id"], &v["operation"], &v["input_error"], &v["message"]) {
                (Value::String(id), Value::String(op), _, _) => {
                    vectors.push((id.clone(), op.clone()))
                }
                (_, _, Value::String(at), Value::String(m)) => errors.push((at.clone(), m.clone())),
                _ => {
                    return Err(format!(
                        "eidconf list wrote {line:?}: no id and operation, no input_error"
                    ));
                }
            }
        }
        if vectors.is_empty() && errors.is_empty() && !out.status.success() {
            return Err(format!(
                "{} list failed ({}):\n{}",
                self.describe(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok((vectors, errors))
    }

    /// Run the vectors (all, or `only`) against this binary as the driver; the report's
    /// `vectors`, by id.
    fn run(&self, only: Option<&str>) -> Result<HashMap<String, serde_json::Value>, String> {
        let dir = std::env::temp_dir().join(format!("eidconf-harness-{}", std::process::id()));
        let driver = std::env::current_exe()
            .map_err(|e| format!("cannot find the test binary to serve the RP: {e}"))?;
        let mut cmd = self.command();
        cmd.args(["run", "--rp", "stdio", "--report-dir"])
            .arg(&dir)
            .env(SERVE_ENV, "1");
        if let Some(id) = only {
            cmd.args(["--filter", id]);
        }
        if let Ok(extra) = std::env::var("EIDCONF_RUN_ARGS") {
            cmd.args(extra.split_whitespace());
        }
        cmd.arg("--").arg(driver);
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.describe()))?;
        // 0 and 1 are verdicts; 2 with a report means some inputs did not load (they fail as
        // `input-error::…` tests) and the rest ran; anything else leaves no report to read.
        let path = dir.join("report.json");
        let ran = matches!(out.status.code(), Some(0 | 1))
            || (out.status.code() == Some(BAD_INPUT) && path.is_file());
        if !ran {
            return Err(format!(
                "{} run failed ({}):\n{}",
                self.describe(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let report = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let _ = std::fs::remove_dir_all(&dir);
        let report: serde_json::Value = serde_json::from_str(&report)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        let vectors = report["vectors"]
            .as_array()
            .ok_or_else(|| format!("{} has no `vectors`", path.display()))?;
        Ok(vectors
            .iter()
            .filter_map(|v| Some((v["id"].as_str()?.to_owned(), v.clone())))
            .collect())
    }
}

struct Shared {
    eidconf: Eidconf,
    only: Option<String>,
    /// One `eidconf run` per test process, on the first test that runs.
    results: OnceLock<Result<HashMap<String, serde_json::Value>, String>>,
}

impl Shared {
    fn verdict(&self, id: &str) -> Result<(), Failed> {
        let results = self
            .results
            .get_or_init(|| self.eidconf.run(self.only.as_deref()))
            .as_ref()
            .map_err(|e| Failed::from(e.as_str()))?;
        let v = results
            .get(id)
            .ok_or_else(|| Failed::from(format!("the report has no result for {id}")))?;
        let result = v["result"].as_str().unwrap_or("?");
        let why = v["failure"]["message"]
            .as_str()
            .or(v["note"].as_str())
            .unwrap_or("");
        match result {
            // A warning, a skip and a known failure do not fail the run, so none fails the test;
            // the last two say why.
            "pass" => Ok(()),
            "xfail" | "skip" => {
                println!("{result}: {why}");
                Ok(())
            }
            "warn" => {
                println!("warn ({}): {why}", v["level"].as_str().unwrap_or("?"));
                Ok(())
            }
            other => Err(Failed::from(format!(
                "{other} at {}: {why}\noutcome: {}\nevidence: {}",
                v["location"].as_str().unwrap_or("?"),
                v["outcome"],
                v["evidence"]
            ))),
        }
    }
}
