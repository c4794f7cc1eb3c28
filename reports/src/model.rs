//! The report data model: the stable, versioned contract between the harness
//! (which writes it) and CI tools and auditors (which read it).
//!
//! Compatibility rules for `schema_version` (`MAJOR.MINOR`):
//! - a minor bump only adds optional fields or new enum variants that older
//!   readers never see in reports of their own minor version;
//! - anything else (renames, removals, changed meaning) is a major bump, and
//!   [`crate::from_json`] refuses reports of another major version.
//!
//! Readers ignore unknown fields so that a 1.0 reader can still read a 1.1 report.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One run of eidconf against one relying party.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Report {
    /// `MAJOR.MINOR` of this format. This version writes `1.3`; readers accept any `1.x`.
    #[schemars(pattern(r"^[0-9]+\.[0-9]+$"))]
    pub schema_version: String,
    /// The tool that produced the report.
    pub harness: Harness,
    /// The relying party under test, as its adapter described itself.
    pub rp: RpInfo,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
    /// Wall-clock duration of the whole run in milliseconds.
    pub duration_ms: u64,
    /// `sha256:<hex>` over everything that decides a verdict: the vector files, the suites and the
    /// keys manifest, so that a report names the exact vector set it ran.
    pub vector_set_digest: String,
    /// `sha256:<hex>` of the known-failures file, when one was given: it waives failures, so a
    /// report names the exact list it ran with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_failures_digest: Option<String>,
    /// How the vectors were selected and run.
    pub selection: Selection,
    /// Verdict counts over `vectors`.
    pub summary: Summary,
    /// Severity (e.g. `critical`) to the number of vectors with that severity whose verdict is
    /// `fail`, `error` or `xpass`.
    pub failures_by_severity: BTreeMap<String, u32>,
    /// Requirement traceability: each requirement, the vectors that test it, and its status.
    pub requirements: Vec<RequirementResult>,
    /// One entry per selected vector, in run order.
    pub vectors: Vec<VectorResult>,
    /// Material many vectors share, stored once (since 1.3). `env-<digest>`: an environment's
    /// shared part (key sets, certificates, algorithm lists); a vector's `evidence.environment`
    /// names it in `shared_environment`, and the environment the vector was handed is the deep
    /// merge of that entry, the vector's own members (its mock's loopback addresses) and
    /// `vector_id`, the vector's id.
    /// `body-<digest>`: a response body served to several vectors, named by a served response's
    /// `body_shared` in place of its `body`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shared: BTreeMap<String, serde_json::Value>,
    /// Entries of the known-failures file that matched no vector: stale entries to delete.
    pub known_failures_unused: Vec<String>,
    /// Vector files or vectors that could not be loaded, each with its file:line:col. Their vectors
    /// did not run; the run fails with [`crate::exit::BAD_INPUT`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_errors: Vec<String>,
    /// Who ran it, as given with `--operator` (since 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The operator's note for the reader, as given with `--note` (since 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Report {
    /// Record what could not be loaded, and how many vectors or whole files that cost (one
    /// vector may have several errors).
    pub fn set_input_errors(&mut self, errors: Vec<String>, not_loaded: usize) {
        self.summary.not_loaded = u32::try_from(not_loaded).unwrap_or(u32::MAX);
        self.input_errors = errors;
    }
}

/// The tool that produced a report.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Harness {
    /// Always `eidconf`.
    pub name: String,
    /// The harness version (semver).
    pub version: String,
    /// The git commit eidconf was built from, when it was built from a checkout (since 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The relying party under test.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct RpInfo {
    pub name: String,
    pub version: String,
    /// Operations the adapter declared it supports; vectors for others are skipped.
    pub operations: Vec<String>,
    /// Fault injections the adapter declared it supports.
    pub faults: Vec<String>,
    /// How the RP was plugged in, as `eidconf run` arguments (`--rp stdio -- python3 driver.py`):
    /// what a re-run of one vector needs (since 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation: Option<String>,
}

/// How the vectors were selected and run (the relevant command-line options).
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Selection {
    /// Suites selected, e.g. `freja`, `ftn`.
    pub suites: Vec<String>,
    /// The filter expression, if any.
    pub filter: Option<String>,
    /// The partition, e.g. `hash:1/3`, if any.
    pub partition: Option<String>,
    /// Whether `--loose-reasons` accepted a rejection with the wrong error class.
    pub loose_reasons: bool,
    /// The known-failures file used, if any.
    pub known_failures: Option<String>,
    /// Whether `--strict` made deviations from SHOULD and HARDENING requirements failures.
    #[serde(default)]
    pub strict: bool,
    /// Parallel jobs.
    pub jobs: u32,
    /// Per-vector timeout in seconds.
    pub timeout_secs: u64,
    /// `--evidence`: `auto`, a passing vector's evidence in brief (tokens decoded without their
    /// raw form, the responses that carried a token or a short body, endpoints and statuses,
    /// check ids) and every other vector's whole; `full`, every vector's whole (since 1.3;
    /// absent: `full`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// Verdict counts. `total` is the sum of the verdicts; `not_loaded` counts apart.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub total: u32,
    /// Inputs that could not be loaded (since 1.2): each a vector dropped for an error, or a
    /// whole vector file that did not parse, whose vectors nobody can count. Not in `total`;
    /// `input_errors` says which.
    #[serde(default)]
    pub not_loaded: u32,
    pub pass: u32,
    /// Deviations from SHOULD or HARDENING requirements only (since 1.1).
    #[serde(default)]
    pub warn: u32,
    pub fail: u32,
    pub skip: u32,
    pub error: u32,
    pub xfail: u32,
    pub xpass: u32,
}

impl Summary {
    /// Counts one verdict. Saturates rather than overflowing: a report must never panic.
    pub fn add(&mut self, v: Verdict) {
        let slot = match v {
            Verdict::Pass => &mut self.pass,
            Verdict::Warn => &mut self.warn,
            Verdict::Fail => &mut self.fail,
            Verdict::Skip => &mut self.skip,
            Verdict::Error => &mut self.error,
            Verdict::Xfail => &mut self.xfail,
            Verdict::Xpass => &mut self.xpass,
        };
        *slot = slot.saturating_add(1);
        self.total = self.total.saturating_add(1);
    }

    /// The counts over some vector results (`&report.vectors`, or an iterator of references).
    pub fn of<'a>(vectors: impl IntoIterator<Item = &'a VectorResult>) -> Self {
        let mut summary = Self::default();
        for v in vectors {
            summary.add(v.result);
        }
        summary
    }

    /// The status of a requirement whose vectors ended with these counts: a deviation makes it
    /// `not_met`; otherwise anything skipped, waived or in error leaves it `not_fully_tested`
    /// (all skipped: `skipped`); only a clean sweep of passes is `met`.
    pub fn requirement_status(&self) -> RequirementStatus {
        if self.total == 0 {
            RequirementStatus::Untested
        } else if self.fail + self.warn + self.xpass > 0 {
            RequirementStatus::NotMet
        } else if self.skip == self.total {
            RequirementStatus::Skipped
        } else if self.skip + self.xfail + self.error > 0 {
            RequirementStatus::NotFullyTested
        } else {
            RequirementStatus::Met
        }
    }

    /// Number of vectors that make the run fail (`fail + error + xpass`).
    pub fn failing(&self) -> u32 {
        self.fail
            .saturating_add(self.error)
            .saturating_add(self.xpass)
    }
}

/// One requirement and whether the run met it.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct RequirementResult {
    /// e.g. `FREJA-HTTP-3`.
    pub id: String,
    pub suite: String,
    /// `MUST` (a source requires it), `SHOULD` (a source recommends it) or `HARDENING` (no
    /// source requires it; eidconf recommends it for the reason in `rationale`).
    pub level: String,
    pub title: String,
    /// The sources on one line (`document, section: "quote"; …`), for readers of 1.0.
    pub source: String,
    /// Where the requirement comes from, each a public document, section and quoted rule
    /// (since 1.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// eidconf's own reasoning: why a HARDENING requirement is recommended, or how a terse
    /// source is read (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// Ids of the vectors that test this requirement.
    pub vectors: Vec<String>,
    /// The results of those vectors (since 1.1).
    #[serde(default)]
    pub counts: Summary,
    pub status: RequirementStatus,
}

/// A public source of a requirement.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Source {
    /// The document's title, e.g. `RFC 7519: JSON Web Token (JWT)`.
    pub document: String,
    /// Where to read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Section number or heading, e.g. `§4`.
    pub section: String,
    /// The rule, quoted in a few words.
    pub quote: String,
}

/// Whether a requirement was met by the run.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RequirementStatus {
    /// Its vectors ran, and every one of them passed.
    Met,
    /// At least one of its vectors found a deviation (`fail`, `warn` or `xpass`).
    NotMet,
    /// No deviation was found, but some of its vectors were skipped, waived (`xfail`) or ended
    /// in error, so the requirement is not fully tested (`counts` says how many; since 1.1).
    NotFullyTested,
    /// No vector tests it.
    Untested,
    /// Its vectors exist but were all skipped.
    Skipped,
}

impl RequirementStatus {
    /// The serialized name, e.g. `not_met`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::NotMet => "not_met",
            Self::NotFullyTested => "not_fully_tested",
            Self::Untested => "untested",
            Self::Skipped => "skipped",
        }
    }
}

/// The result of one vector.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct VectorResult {
    /// Unique dotted id, e.g. `freja.http.status.500`.
    pub id: String,
    pub title: String,
    /// `path:line:column` of the vector in the vector set.
    pub location: String,
    /// Ids of the requirements this vector tests.
    pub requirements: Vec<String>,
    /// e.g. `critical`, `high`, `medium`, `low`, `info`.
    pub severity: String,
    /// The strongest level among its requirements (`MUST`, `SHOULD`, `HARDENING`): a deviation
    /// from a vector without a `MUST` requirement is `warn` (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    pub tags: Vec<String>,
    /// The adapter operation the vector drives.
    pub operation: String,
    pub result: Verdict,
    /// Why the vector did not pass; present for `fail`, `warn`, `error` and usually `xfail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Extra context: a `--loose-reasons` downgrade, a skip reason or a known-failure reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The vector's expectation.
    pub expected: serde_json::Value,
    /// What the RP reported; absent when the adapter errored.
    pub outcome: Option<serde_json::Value>,
    pub duration_ms: u64,
    /// What the mock provider received and served, and what the RP was given, already redacted
    /// (the members since 1.3): `environment` (its own members and `shared_environment`, see
    /// [`Report::shared`]); `given_tokens` (the tokens in the operation the RP was handed: raw
    /// form cut at 4 KiB, JWS header and payload or JWE protected header decoded); `served`
    /// (each response the mock sent: status, headers, body cut at 2 KiB with `body_bytes` when
    /// cut, each token in it replaced by `<token: tokens[i]>` and decoded under `tokens`;
    /// consecutive equal ones once with `times`); `provider` (the requests the mock saw, same
    /// collapsing; the broker's logins; `checks_passed` ids, or `checks_passed_shared` naming
    /// the list in [`Report::shared`], and `checks_failed` in full) and `driver_stderr`. Under
    /// `selection.evidence: auto` a passing vector's evidence is in brief (see there).
    pub evidence: serde_json::Value,
    /// What serving the vector cost the RP, where the transport measured it (since 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
}

/// What serving one vector cost the RP (since 1.3). A figure the transport could not measure is
/// absent, and `method` says why.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Resources {
    /// CPU time (user + system), in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<u64>,
    /// Peak memory above the RP's resting size, in KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_kib: Option<u64>,
    /// How the figures were taken (`exec: wait4`, `stdio: /proc`, `in process: …`), or why not.
    pub method: String,
}

/// The verdict of one vector.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    /// The RP deviated, but every requirement of the vector is `SHOULD` or `HARDENING`: reported,
    /// and not failing the run unless `--strict` (since 1.1; the OpenID Foundation conformance
    /// suite's WARNING).
    Warn,
    /// The RP accepted what it must reject, rejected what it must accept, or reported the wrong
    /// reason/detail.
    Fail,
    /// Not run (unsupported operation or fault, or deselected by a capability).
    Skip,
    /// The adapter or the harness broke: crash, timeout, protocol violation.
    Error,
    /// Listed as a known failure and still failing.
    Xfail,
    /// Listed as a known failure but now passing: the entry is stale, and this fails the run.
    Xpass,
}

impl Verdict {
    /// The serialized name, e.g. `xpass`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
            Self::Skip => "skip",
            Self::Error => "error",
            Self::Xfail => "xfail",
            Self::Xpass => "xpass",
        }
    }

    /// Whether this verdict fails the run (`fail`, `error`, `xpass`).
    pub fn is_failing(self) -> bool {
        matches!(self, Self::Fail | Self::Error | Self::Xpass)
    }
}

/// Why a vector did not pass.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

/// The class of a failure.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureKind {
    /// Accepted where it must reject, or the reverse.
    WrongVerdict,
    /// Rejected, but with the wrong error class.
    WrongReason,
    /// Right class, wrong detail (provider error code, HTTP status).
    WrongDetail,
    /// Wrong identity attributes (personal number, name, ...).
    Identity,
    /// Wrong traffic to the provider: request counts, canary values leaked.
    Wire,
    /// The adapter reported an error instead of an outcome.
    AdapterError,
    /// The adapter did not answer in time.
    AdapterTimeout,
    /// The adapter panicked or crashed.
    AdapterPanic,
    /// The harness could not stand the vector up.
    Harness,
    /// The RP does not declare an operation the run requires (`--require-operations`,
    /// `--fail-on-skip`; since 1.2).
    Unsupported,
    /// The RP exceeded the vector's CPU or memory bound (`expect.resources`; since 1.3).
    Resources,
}

impl FailureKind {
    /// The serialized name, e.g. `wrong_verdict`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WrongVerdict => "wrong_verdict",
            Self::WrongReason => "wrong_reason",
            Self::WrongDetail => "wrong_detail",
            Self::Identity => "identity",
            Self::Wire => "wire",
            Self::AdapterError => "adapter_error",
            Self::AdapterTimeout => "adapter_timeout",
            Self::AdapterPanic => "adapter_panic",
            Self::Harness => "harness",
            Self::Unsupported => "unsupported",
            Self::Resources => "resources",
        }
    }
}
