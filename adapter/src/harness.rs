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

use crate::RelyingParty;

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
    let listing = match eidconf.list(only.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            let trial = Trial::test("eidconf::list", move || Err(Failed::from(e)));
            return libtest_mimic::run(&args, vec![trial]).exit_code();
        }
    };
    let shared = Arc::new(Shared {
        eidconf,
        only,
        results: OnceLock::new(),
    });
    let trials = listing
        .into_iter()
        .map(|(id, operation)| {
            let shared = shared.clone();
            let ignored = !implemented.contains(&operation);
            Trial::test(id.clone(), move || shared.verdict(&id)).with_ignored_flag(ignored)
        })
        .collect();
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

    /// `(id, operation)` of every vector, or of `only`.
    fn list(&self, only: Option<&str>) -> Result<Vec<(String, String)>, String> {
        let mut cmd = self.command();
        cmd.args(["list", "--format", "json"]);
        if let Some(id) = only {
            cmd.args(["--filter", id]);
        }
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.describe()))?;
        if !out.status.success() {
            return Err(format!(
                "{} list failed ({}):\n{}",
                self.describe(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line)
                    .map_err(|e| format!("eidconf list wrote {line:?}: {e}"))?;
                match (v["id"].as_str(), v["operation"].as_str()) {
                    (Some(id), Some(op)) => Ok((id.to_owned(), op.to_owned())),
                    _ => Err(format!("eidconf list wrote {line:?}: no id or operation")),
                }
            })
            .collect()
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
        // 0 and 1 are verdicts; anything else (2: bad input) means there is no report to read.
        if !matches!(out.status.code(), Some(0 | 1)) {
            return Err(format!(
                "{} run failed ({}):\n{}",
                self.describe(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let path = dir.join("report.json");
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
            // A warning and a known failure do not fail the run, so neither fails the test.
            "pass" | "xfail" | "skip" => Ok(()),
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
