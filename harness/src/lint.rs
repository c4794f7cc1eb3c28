//! Cross-reference checks beyond what the loader checks: requirements exist, suites hold every
//! vector, keys exist, expectations are coherent.

use crate::adapter::Operation;
use crate::pki::Pki;
use crate::suite::{Level, Suites};

use crate::vector::load::{Corpus, Diagnostic, Vector};
use crate::vector::model::{BodySpec, Endpoint, ExpectedVerdict, Severity};

/// What lint found: problems that make vectors wrong, and gaps in the requirement catalogue's
/// coverage (errors for `vectors lint`, warnings for `run`).
#[derive(Debug, Default)]
pub struct Findings {
    pub errors: Vec<Diagnostic>,
    /// Ids of the vectors the errors are about.
    pub invalid: std::collections::BTreeSet<String>,
    pub coverage_gaps: Vec<Diagnostic>,
}

/// How far lint goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// What every load checks (`run`, `list`): references, keys, coherent expectations.
    Structure,
    /// Also builds every token recipe (`eidconf vectors lint`, CI): a recipe that names a
    /// segment its token lacks only shows when built, and building signs, encrypts and
    /// compresses, which a run does once, for the vectors it runs, and `list` never needs.
    /// At run time such a recipe is its vector's harness error.
    Build,
}

/// Every problem found, in corpus order.
pub fn lint(corpus: &Corpus, suites: &Suites, pki: &Pki, depth: Depth) -> Findings {
    let mut errors = Vec::new();
    let mut invalid = std::collections::BTreeSet::new();
    for v in &corpus.vectors {
        let before = errors.len();
        lint_vector(v, suites, pki, depth, &mut errors);
        if errors.len() > before {
            invalid.insert(v.id().to_owned());
        }
    }
    Findings {
        errors,
        invalid,
        coverage_gaps: coverage(corpus, suites),
    }
}

fn coverage(corpus: &Corpus, suites: &Suites) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for suite in &suites.suites {
        let at = || crate::vector::Location {
            file: suite.path.clone(),
            line: 1,
            column: 1,
        };
        if !corpus.vectors.iter().any(|v| suite.holds(v.id())) {
            out.push(Diagnostic::new(
                at(),
                format!("suite `{}` holds no vector", suite.name()),
            ));
        }
        for r in &suite.file.requirements {
            if !corpus
                .vectors
                .iter()
                .any(|v| v.spec.requirements.contains(&r.id.value))
            {
                let loc = crate::vector::Location {
                    file: suite.path.clone(),
                    line: r.id.referenced.line(),
                    column: r.id.referenced.column(),
                };
                out.push(Diagnostic::new(
                    loc,
                    format!("requirement `{}` is not tested by any vector", r.id.value),
                ));
            }
        }
    }
    out
}

fn lint_vector(v: &Vector, suites: &Suites, pki: &Pki, depth: Depth, out: &mut Vec<Diagnostic>) {
    let build = depth == Depth::Build;
    let id = v.id();
    let mut err = |m: String| out.push(Diagnostic::new(v.location.clone(), format!("{id}: {m}")));
    let valid_id = id.split('.').count() >= 2
        && id.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        });
    if !valid_id {
        err(
            "ids are namespaced lower-case segments joined by dots, e.g. `freja.http.status-500`"
                .into(),
        );
    }
    let s = &v.spec;
    for (path, url) in fetch_targets(s) {
        if crate::provider::ensure_loopback(&url).is_err() {
            err(format!(
                "`{path}` sends the RP to `{url}`, which is not on loopback: a vector may point \
                 an RP only at 127.0.0.0/8, ::1 or localhost, where the harness's mocks and canary \
                 listen"
            ));
        }
    }
    if s.requirements.is_empty() {
        err("names no requirement; every vector traces to at least one".into());
    }
    for r in &s.requirements {
        if suites.requirement(r).is_none() {
            err(format!(
                "requirement `{r}` is not in any suite under suites/"
            ));
        }
    }
    if suites.suites_of(id).is_empty() {
        err("belongs to no suite: add its id to a suite's `vectors` globs".into());
    }
    let known = s
        .requirements
        .iter()
        .all(|r| suites.requirement(r).is_some());
    if s.severity == Severity::Critical && known && suites.level_of(&s.requirements) != Level::Must
    {
        err(
            "is critical, which is reserved for an authentication bypass under a MUST \
             requirement; its requirements are only SHOULD or HARDENING"
                .into(),
        );
    }
    let mut key = |what: &str, name: &str| {
        if !pki.contains(name) {
            let known: Vec<&str> = pki.names().collect();
            err(format!(
                "{what} `{name}` is not in vectors/keys/manifest.yaml (known: {})",
                known.join(", ")
            ));
        }
    };
    if let Some(n) = &s.environment.client_certificate {
        key("client certificate", n);
    }
    for n in s.environment.jws_certificates.iter().flatten() {
        key("JWS certificate", n);
    }
    if let Some(n) = &s.provider.tls.server_certificate {
        key("server certificate", n);
    }
    for d in s.provider.details_specs() {
        for n in d.key_names() {
            key("key", n);
        }
    }
    for d in s.provider.details_specs() {
        if let Err(m) = crate::forge::mutation::check(&d.mutations) {
            err(m);
        }
    }
    if s.provider.details.is_some() && !matches!(s.operation, Operation::FrejaVerifyDetails(_)) {
        err("`provider.details` is the token of `freja.verify_details`; this operation never receives it".into());
    }
    let mut err = |m: String| out.push(Diagnostic::new(v.location.clone(), format!("{id}: {m}")));
    // A recipe that names a segment the token does not have only shows when it is built.
    if let Some(recipe) = &s.provider.id_token {
        if !matches!(s.operation, Operation::OidcValidateIdToken(_)) {
            err("`provider.id_token` is only used by oidc.validate_id_token".into());
        }
        let ctx = crate::forge::id_token::TokenContext::now();
        if build && let Err(e) = crate::forge::id_token::build(recipe, pki, &ctx) {
            err(format!("`provider.id_token` cannot be built: {e}"));
        }
    }
    let flow = matches!(
        s.operation,
        Operation::OidcBeginLogin(_) | Operation::OidcFinishLogin(_)
    );
    if let Some(b) = &s.provider.broker {
        if !flow {
            err("`provider.broker` is the broker of oidc.begin_login and oidc.finish_login; this operation never talks to it".into());
        }
        if matches!(s.operation, Operation::OidcBeginLogin(_)) && b.logins.len() > 1 {
            err("oidc.begin_login plays one login; several `logins` need oidc.finish_login".into());
        }
        if b.logins.first().is_some_and(|l| l.callback.replay) {
            err("the first login has no previous callback to `replay`".into());
        }
        // The broker's canary exists once it runs; any loopback URL stands for it here.
        let ctx = crate::forge::id_token::TokenContext {
            canary_url: Some("https://127.0.0.1:1/lint/canary".into()),
            ..crate::forge::id_token::TokenContext::now()
        };
        for (i, l) in b.logins.iter().enumerate() {
            let n = i + 1;
            let recipes = l
                .id_token
                .iter()
                .chain(l.userinfo.as_ref().and_then(|u| u.token.as_ref()));
            for recipe in recipes.filter(|_| build) {
                if let Err(e) = crate::forge::id_token::build(recipe, pki, &ctx) {
                    err(format!("login {n}: a token recipe cannot be built: {e}"));
                }
            }
            let scripted = l
                .token
                .iter()
                .chain(l.userinfo.as_ref().and_then(|u| u.response.as_ref()));
            for r in scripted {
                if matches!(
                    r.body,
                    Some(
                        BodySpec::Reference
                            | BodySpec::ReferenceWithExtra(_)
                            | BodySpec::Result(_)
                            | BodySpec::Error { .. }
                    )
                ) {
                    err(format!(
                        "login {n}: a broker answer's body must be `json`, `text`, `empty` or `repeat`; the others are Freja payloads"
                    ));
                }
                if r.redirect_to_canary {
                    err(format!(
                        "login {n}: the broker has no canary to redirect to"
                    ));
                }
            }
        }
    }
    if let Some(sent) = &s.expect.sent {
        let broker = !sent.authorization_parameters.is_empty()
            || !sent.request_object.is_empty()
            || !sent.token_request.is_empty()
            || !sent.client_assertion.is_empty();
        if broker && !flow {
            err("`expect.sent` names messages to the broker; only oidc.begin_login and oidc.finish_login send them".into());
        }
        let freja_init = matches!(
            s.operation,
            Operation::FrejaAuthenticate(_)
                | Operation::FrejaSign(_)
                | Operation::FrejaCancel(_)
                | Operation::FrejaSetCustomIdentifier(_)
                | Operation::FrejaDeleteCustomIdentifier(_)
        );
        if !sent.init_request.is_empty() && !freja_init {
            err("`expect.sent.init_request` is the request that opens a Freja operation; only the freja.* operations that call the provider send one".into());
        }
    }
    for pattern in &s.expect.checks {
        if !crate::provider::checks::known(pattern) {
            let ids: Vec<&str> = crate::provider::checks::CATALOGUE
                .iter()
                .map(|(id, _)| *id)
                .collect();
            err(format!(
                "`expect.checks` names no check: `{pattern}` (known: {})",
                ids.join(", ")
            ));
        }
    }
    let reachable = crate::provider::reachable_endpoints(&s.operation);
    for (ep, responses) in &s.provider.freja {
        if !reachable.contains(&Endpoint::Freja(*ep)) {
            err(format!(
                "`{}` scripts {}, which {} never calls",
                ep.name(),
                ep.path(),
                s.operation.name()
            ));
        }
        for r in responses {
            if r.redirect_to_canary && !(300..400).contains(&r.status) {
                err(format!(
                    "`redirect_to_canary` needs a 3xx status, not {}",
                    r.status
                ));
            }
            if !(100..600).contains(&r.status) {
                err(format!("HTTP status {} is outside 100..599", r.status));
            }
        }
    }
    for ep in s.expect.requests.keys() {
        if !reachable.contains(ep) {
            err(format!(
                "`expect.requests` counts {}, which {} never calls",
                ep.name(),
                s.operation.name()
            ));
        }
    }
    let e = &s.expect;
    match e.verdict {
        ExpectedVerdict::Accepted => {
            if !e.reason.is_empty() || e.code.is_some() || e.status.is_some() || e.claim.is_some() {
                err("an accepted vector cannot expect a reason, code, status or claim".into());
            }
        }
        ExpectedVerdict::Rejected => {
            if e.identity.is_some() {
                err("a rejected vector cannot expect an identity".into());
            }
        }
        ExpectedVerdict::Either => {}
    }
}

/// Members whose value is a place an RP may fetch or follow: header URLs (RFC 7515 §4.1.2,
/// §4.1.5), redirect `Location`s, and metadata endpoints.
fn is_fetch_target(member: &str) -> bool {
    let m = member.to_ascii_lowercase();
    matches!(m.as_str(), "jku" | "x5u" | "location" | "content-location")
        || m.ends_with("_uri")
        || m.ends_with("_endpoint")
}

/// Every absolute URL the vector hands the RP to fetch or follow (`provider`, `operation`,
/// `environment`), with its path in the vector. Relative references are not destinations.
fn fetch_targets(s: &crate::vector::model::VectorSpec) -> Vec<(String, String)> {
    fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let here = format!("{path}.{k}");
                    match v {
                        serde_json::Value::String(url)
                            if is_fetch_target(k) && url.contains("://") =>
                        {
                            out.push((here, url.clone()));
                        }
                        other => walk(other, &here, out),
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(v, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (name, part) in [
        ("provider", serde_json::to_value(&s.provider)),
        ("operation", serde_json::to_value(&s.operation)),
        ("environment", serde_json::to_value(&s.environment)),
    ] {
        if let Ok(v) = part {
            walk(&v, name, &mut out);
        }
    }
    out
}
