//! The vector model: what a YAML vector file may say. Every struct denies unknown fields, so a typo
//! is an error with its file, line and column. `vectors/schema.json` is generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::Duration;
use crate::adapter::{Operation, Reason};
use crate::forge::{KeyName, Mutation};

/// One vector file: a topic holding any number of vectors.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    pub vectors: Vec<VectorSpec>,
}

/// One vector as written. With `matrix`, it is a template that expands into a family.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VectorSpec {
    /// Unique across the corpus, stable, namespaced: `freja.http.status-500-not-retried`.
    /// In a matrix template it uses `${name}` placeholders so every expansion gets its own id.
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Requirement IDs from `suites/*.yaml`; at least one.
    pub requirements: Vec<String>,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// What the RP performs, with its inputs.
    pub operation: Operation,
    /// Settings of the environment the RP is given, where the defaults do not fit.
    #[serde(default)]
    pub environment: EnvironmentSpec,
    /// What the mock provider does.
    #[serde(default)]
    pub provider: ProviderSpec,
    /// What the RP must do.
    pub expect: Expect,
    /// Run with nothing else in flight, so that a persistent driver's CPU time and memory high-water
    /// mark belong to this vector alone (`expect.resources`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclusive: bool,
    /// Expands this vector into a family: either a map of axes (`status: [400, 404]`, the
    /// cartesian product) or a list of rows (`[{code: 1001, op: …}, …]`). Placeholders
    /// `${name}` in the vector are replaced by each row's values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<Matrix>,
}

impl VectorSpec {
    /// How long the vector makes a correct RP wait at most, on purpose: its flow deadline, its
    /// longest delayed answer (cut at the exchange bound when it outlasts it), its poll interval.
    pub fn inherent_wait(&self) -> std::time::Duration {
        let e = &self.environment;
        let delays = |r: &ResponseSpec| r.delay.map(|d| d.0);
        let logins = self.provider.broker.iter().flat_map(|b| &b.logins);
        let broker = logins.flat_map(|l| {
            l.token
                .iter()
                .chain(l.userinfo.as_ref().and_then(|u| u.response.as_ref()))
        });
        let longest = (self.provider.freja.values().flatten())
            .chain(broker)
            .filter_map(delays)
            .max()
            .unwrap_or_default();
        let delay = match e.http_timeout {
            Some(h) if longest > h.0 => h.0,
            _ => longest,
        };
        [e.flow_timeout, e.poll_interval]
            .into_iter()
            .flatten()
            .map(|d| d.0)
            .fold(delay, std::time::Duration::max)
    }

    /// Whether the vector waits on purpose ([`VectorSpec::inherent_wait`] of 50 ms or more): a
    /// run starts such vectors first and outside the CPU-bound slots, where their waiting would
    /// hold a slot idle.
    pub fn waits_on_purpose(&self) -> bool {
        self.inherent_wait() >= std::time::Duration::from_millis(50)
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Authentication bypass: an attacker logs in as someone else.
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

/// A matrix: axes (cartesian product) or explicit rows.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Matrix {
    Axes(BTreeMap<String, Vec<MatrixValue>>),
    Rows(Vec<BTreeMap<String, MatrixValue>>),
}

/// A scalar a matrix placeholder stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MatrixValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

/// Environment settings a vector may override. Names of keys and certificates refer to
/// `vectors/keys/`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSpec {
    /// Interval between polls (default 5ms: the harness is fast, real deployments are not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<Duration>,
    /// Upper bound the RP is told to put on one HTTP exchange (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_timeout: Option<Duration>,
    /// Upper bound the RP is told to put on the whole flow (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_timeout: Option<Duration>,
    /// The client certificate given to the RP (default `rp-client`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    /// The JWS certificates the RP pins (default `[freja-jws-current]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jws_certificates: Option<Vec<String>>,
    /// Sent as `relyingPartyId` by integrator RPs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relying_party_id: Option<String>,
    /// The RP's OIDC registration, where the FTN defaults do not fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcEnvironmentSpec>,
}

/// What the mock provider does for this vector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderSpec {
    #[serde(default)]
    pub tls: TlsSpec,
    /// Scripted answers per Freja endpoint. An endpoint not listed answers like the real service
    /// on a happy path (init: a fresh reference; getOneResult: APPROVED with signed details).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub freja: BTreeMap<FrejaEndpoint, Vec<ResponseSpec>>,
    /// The `details` token handed to a token-level operation (`freja.verify_details`), built
    /// like an APPROVED result's (default: correctly signed, with the transaction's reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<DetailsSpec>,
    /// The ID token the broker issues, for `oidc.validate_id_token` (default: a valid FTN token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<crate::forge::id_token::TokenRecipe>,
    /// The mock FTN broker of the flow operations (`oidc.begin_login`, `oidc.finish_login`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<BrokerSpec>,
}

/// What the mock FTN broker does (`harness/src/provider/ftn/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrokerSpec {
    /// Claim names, algorithms and front-channel shape of a real broker (default `telia`).
    #[serde(default)]
    pub profile: BrokerProfile,
    /// The logins the harness plays through, in order, against one RP session store and one
    /// broker (default: one happy login). The last login's outcome is judged; earlier ones set
    /// the stage (a cached JWKS, a used state, a used `jti`) and are kept as evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logins: Vec<LoginSpec>,
}

/// The FTN brokers whose differences matter to an RP (per their public integration guides).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BrokerProfile {
    /// OID-named claims, `aud` as an array, RSA-OAEP + A128CBC-HS256, only `request` in the
    /// front channel.
    #[default]
    Telia,
    /// `personal_identity_code`, `aud` as a string, RSA-OAEP + A128CBC-HS256, plain JSON userinfo.
    Op,
    /// `hetu`/`satu`, RSA-OAEP-256 + A256GCM, `client_id` next to `request`, encrypted userinfo.
    Idura,
    /// `nin`/`ftn_hetu`, RSA-OAEP + A256GCM, encrypted userinfo.
    Signicat,
    /// `ssn`/`fi_ssn`, RSA-OAEP-256 + A128GCM.
    Nets,
}

/// One login of a flow vector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginSpec {
    /// The keys the JWKS endpoint publishes during this login (default: the broker's current
    /// key `ftn-broker-sig-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Vec<crate::forge::id_token::KeyName>>,
    /// How the user agent comes back to the RP.
    #[serde(default)]
    pub callback: CallbackSpec,
    /// The ID token of the token response (default: valid for the profile, with the nonce of
    /// this login's request object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<crate::forge::id_token::TokenRecipe>,
    /// A scripted token endpoint answer instead of the token response (`body: {json: …}`,
    /// `text`, `empty`; status, headers, delay and wire faults as for Freja endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<ResponseSpec>,
    /// The userinfo answer, when the registration includes userinfo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<UserinfoSpec>,
}

/// The callback the harness, playing the user agent, brings back to the RP.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackSpec {
    /// An error response instead of a code (`access_denied`: the user cancelled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Return this `state` instead of the one the RP sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Return no `state` at all.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub omit_state: bool,
    /// Length of the authorization code in characters (default 64). Real FTN codes are JWEs of
    /// 700+ characters, which the RP must pass verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_length: Option<usize>,
    /// Bring back the previous login's callback again, on its session, instead of a new login
    /// (the broker honours the code again: only the RP's state check stands in the way).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replay: bool,
}

/// What the userinfo endpoint answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserinfoSpec {
    /// Answer the claims as plain JSON, whatever was registered.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plain: bool,
    /// The userinfo JWT as an ID token recipe; its claims are merged over the profile's identity
    /// with the ID token's `sub`, `iss` and `aud`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<crate::forge::id_token::TokenRecipe>,
    /// A scripted HTTP answer instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseSpec>,
}

impl ProviderSpec {
    /// Every `details` recipe of the script and of `details`.
    pub fn details_specs(&self) -> impl Iterator<Item = &DetailsSpec> {
        let scripted = self.freja.values().flatten().filter_map(|r| match &r.body {
            Some(BodySpec::Result(res)) => res.details.as_ref(),
            _ => None,
        });
        scripted.chain(self.details.as_ref())
    }
}

/// The TLS front of the mock.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// The server certificate presented (default `server-localhost`). Others in the test PKI:
    /// `server-expired`, `server-wrong-host`, `server-untrusted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_certificate: Option<String>,
}

/// The Freja eID REST endpoints the mock serves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FrejaEndpoint {
    AuthInit,
    AuthGetOneResult,
    AuthGetResults,
    AuthCancel,
    SignInit,
    SignGetOneResult,
    SignGetResults,
    SignCancel,
    OrgAuthInit,
    OrgAuthGetOneResult,
    OrgAuthGetResults,
    OrgAuthCancel,
    OrgSignInit,
    OrgSignGetOneResult,
    OrgSignGetResults,
    OrgSignCancel,
    SetCustomIdentifier,
    DeleteCustomIdentifier,
}

impl FrejaEndpoint {
    pub const ALL: &'static [FrejaEndpoint] = &[
        FrejaEndpoint::AuthInit,
        FrejaEndpoint::AuthGetOneResult,
        FrejaEndpoint::AuthGetResults,
        FrejaEndpoint::AuthCancel,
        FrejaEndpoint::SignInit,
        FrejaEndpoint::SignGetOneResult,
        FrejaEndpoint::SignGetResults,
        FrejaEndpoint::SignCancel,
        FrejaEndpoint::OrgAuthInit,
        FrejaEndpoint::OrgAuthGetOneResult,
        FrejaEndpoint::OrgAuthGetResults,
        FrejaEndpoint::OrgAuthCancel,
        FrejaEndpoint::OrgSignInit,
        FrejaEndpoint::OrgSignGetOneResult,
        FrejaEndpoint::OrgSignGetResults,
        FrejaEndpoint::OrgSignCancel,
        FrejaEndpoint::SetCustomIdentifier,
        FrejaEndpoint::DeleteCustomIdentifier,
    ];

    /// The path on the services host (`MethodUrl.java` of the official Java client,
    /// github.com/Freja-eID/frejaeidclient).
    pub fn path(self) -> &'static str {
        use FrejaEndpoint::*;
        match self {
            AuthInit => "/authentication/1.0/initAuthentication",
            AuthGetOneResult => "/authentication/1.0/getOneResult",
            AuthGetResults => "/authentication/1.0/getResults",
            AuthCancel => "/authentication/1.0/cancel",
            SignInit => "/sign/1.0/initSignature",
            SignGetOneResult => "/sign/1.0/getOneResult",
            SignGetResults => "/sign/1.0/getResults",
            SignCancel => "/sign/1.0/cancel",
            OrgAuthInit => "/organisation/authentication/1.0/init",
            OrgAuthGetOneResult => "/organisation/authentication/1.0/getOneResult",
            OrgAuthGetResults => "/organisation/authentication/1.0/getResults",
            OrgAuthCancel => "/organisation/authentication/1.0/cancel",
            OrgSignInit => "/organisation/sign/1.0/init",
            OrgSignGetOneResult => "/organisation/sign/1.0/getOneResult",
            OrgSignGetResults => "/organisation/sign/1.0/getResults",
            OrgSignCancel => "/organisation/sign/1.0/cancel",
            SetCustomIdentifier => "/user/manage/1.0/setCustomIdentifier",
            DeleteCustomIdentifier => "/user/manage/1.0/deleteCustomIdentifier",
        }
    }

    /// The form parameter carrying the Base64 JSON request.
    pub fn param(self) -> &'static str {
        use FrejaEndpoint::*;
        match self {
            AuthInit | OrgAuthInit => "initAuthRequest",
            AuthGetOneResult | OrgAuthGetOneResult => "getOneAuthResultRequest",
            AuthGetResults | OrgAuthGetResults => "getAuthResultsRequest",
            AuthCancel | OrgAuthCancel => "cancelAuthRequest",
            SignInit | OrgSignInit => "initSignRequest",
            SignGetOneResult | OrgSignGetOneResult => "getOneSignResultRequest",
            SignGetResults | OrgSignGetResults => "getSignResultsRequest",
            SignCancel | OrgSignCancel => "cancelSignRequest",
            SetCustomIdentifier => "setCustomIdentifierRequest",
            DeleteCustomIdentifier => "deleteCustomIdentifierRequest",
        }
    }

    /// Which call this endpoint is: one of the four of a transaction, or user management.
    pub fn call(self) -> FrejaCall {
        use FrejaEndpoint::*;
        match self {
            AuthInit | SignInit | OrgAuthInit | OrgSignInit => FrejaCall::Init,
            AuthGetOneResult | SignGetOneResult | OrgAuthGetOneResult | OrgSignGetOneResult => {
                FrejaCall::GetOneResult
            }
            AuthGetResults | SignGetResults | OrgAuthGetResults | OrgSignGetResults => {
                FrejaCall::GetResults
            }
            AuthCancel | SignCancel | OrgAuthCancel | OrgSignCancel => FrejaCall::Cancel,
            SetCustomIdentifier | DeleteCustomIdentifier => FrejaCall::ManageUser,
        }
    }

    /// The `getOneResult` endpoint a `getResults` endpoint polls alongside (itself otherwise):
    /// both poll the same transactions, so they share one script and one count.
    pub fn one_result(self) -> FrejaEndpoint {
        use FrejaEndpoint::*;
        match self {
            AuthGetResults => AuthGetOneResult,
            SignGetResults => SignGetOneResult,
            OrgAuthGetResults => OrgAuthGetOneResult,
            OrgSignGetResults => OrgSignGetOneResult,
            other => other,
        }
    }

    /// The `getResults` endpoint beside a `getOneResult` one (itself otherwise).
    pub fn all_results(self) -> FrejaEndpoint {
        FrejaEndpoint::ALL
            .iter()
            .copied()
            .find(|e| e.call() == FrejaCall::GetResults && e.one_result() == self)
            .unwrap_or(self)
    }

    /// An endpoint of the organisation context (`/organisation/…`).
    pub fn is_organisation(self) -> bool {
        use FrejaEndpoint::*;
        matches!(
            self,
            OrgAuthInit
                | OrgAuthGetOneResult
                | OrgAuthGetResults
                | OrgAuthCancel
                | OrgSignInit
                | OrgSignGetOneResult
                | OrgSignGetResults
                | OrgSignCancel
        )
    }

    /// The cancel endpoint of this endpoint's service and context (itself for user management).
    pub fn cancel(self) -> FrejaEndpoint {
        if self.call() == FrejaCall::ManageUser {
            return self;
        }
        FrejaEndpoint::ALL
            .iter()
            .copied()
            .find(|e| {
                e.call() == FrejaCall::Cancel
                    && e.is_organisation() == self.is_organisation()
                    && e.reference_field() == self.reference_field()
            })
            .unwrap_or(self)
    }

    /// `authRef` or `signRef`.
    pub fn reference_field(self) -> &'static str {
        use FrejaEndpoint::*;
        match self {
            SignInit | SignGetOneResult | SignGetResults | SignCancel | OrgSignInit
            | OrgSignGetOneResult | OrgSignGetResults | OrgSignCancel => "signRef",
            _ => "authRef",
        }
    }

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// The four calls of a Freja transaction, whatever the service and context, and the user
/// management calls, which belong to no transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrejaCall {
    Init,
    GetOneResult,
    GetResults,
    Cancel,
    /// `setCustomIdentifier`, `deleteCustomIdentifier`: answered 204 with no body.
    ManageUser,
}

/// One scripted answer. An endpoint's answers are used in order; the last one repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// HTTP status (default 200).
    #[serde(default = "default_status")]
    pub status: u16,
    /// Extra or replacing headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The body. Absent: the endpoint's happy-path body for 2xx, an empty body otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodySpec>,
    /// Wait this long before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// Misbehave on the wire instead of (or while) answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<WireFault>,
    /// Answer with a redirect (use `status: 301/302/307`) to a loopback canary on another host;
    /// the canary records any request the RP sends it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redirect_to_canary: bool,
}

fn default_status() -> u16 {
    200
}

/// A response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BodySpec {
    /// This JSON, verbatim.
    Json(serde_json::Value),
    /// This text, verbatim (no JSON encoding).
    Text(String),
    /// The documented error payload `{"code": …, "message": …}`; the message defaults to the
    /// documented text for known codes.
    Error {
        code: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// `{"authRef": …}` or `{"signRef": …}` with the transaction's reference.
    Reference,
    /// The reference answer with these extra members (fields a later API version may add).
    ReferenceWithExtra(serde_json::Map<String, serde_json::Value>),
    /// A transaction result object built by the mock.
    Result(Box<ResultSpec>),
    /// No body at all.
    Empty,
    /// `text` repeated `times` times (huge bodies).
    Repeat { text: String, times: u32 },
}

/// A `getOneResult` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultSpec {
    /// `STARTED`, `DELIVERED_TO_MOBILE`, `APPROVED`, `CANCELED`, `RP_CANCELED`, `EXPIRED`,
    /// `REJECTED`, or anything else (an unknown future status).
    pub status: String,
    /// The signed `details`. Default: present when `status` is APPROVED, signed by
    /// `freja-jws-current`, with the transaction's reference and status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<DetailsSpec>,
    /// The unsigned top-level `requestedAttributes` (default: the signed ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_attributes: Option<serde_json::Value>,
    /// Extra top-level fields, e.g. fields a future API version adds.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// How the mock builds the `details` JWS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetailsSpec {
    /// Leave `details` out entirely.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub omit: bool,
    /// The signing key by name (default `freja-jws-current`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Name the `x5t` of this certificate in the header instead of the signing key's: a forgery
    /// that claims a pinned certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5t_of: Option<String>,
    /// Members merged over the default protected header `{"x5t": …, "alg": "RS256"}`; `null`
    /// removes a member.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub header: serde_json::Map<String, serde_json::Value>,
    /// Members merged over the default payload (`authRef`/`signRef`, `status`, `userInfoType`,
    /// `userInfo`, `minRegistrationLevel`, `requestedAttributes`, `timestamp`); `null` removes one.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub payload: serde_json::Map<String, serde_json::Value>,
    /// Named mutations applied in order after the header and payload merge (the token forge,
    /// `harness/src/forge/`): e.g. `- alg_none: {spelling: nOnE}`, `- strip_signature`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<Mutation>,
}

impl DetailsSpec {
    /// Every key name the recipe refers to.
    pub fn key_names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .key
            .iter()
            .chain(&self.x5t_of)
            .map(String::as_str)
            .collect();
        for m in &self.mutations {
            out.extend(m.keys().into_iter().map(KeyName::as_str));
        }
        out
    }
}

/// A misbehaviour on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireFault {
    /// Close the connection without answering.
    Reset,
    /// Send the status line and headers with the full `content-length`, then half the body, then close.
    Truncate,
}

/// What the RP must do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub verdict: ExpectedVerdict,
    /// Acceptable reason classes for a rejection (one or a list). Empty: any reason.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many"
    )]
    #[schemars(with = "OneOrMany<Reason>")]
    pub reason: Vec<Reason>,
    /// The provider error code the RP must report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// The transaction status the RP must report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The claim or field the RP must name (`claims_invalid`, `invalid_input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// For accepted outcomes: identity fields the RP must return, exactly these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<serde_json::Map<String, serde_json::Value>>,
    /// How many requests the mock must have seen per endpoint (Freja endpoints, or the broker's
    /// `broker_authorize`, `broker_token`, `broker_jwks`, `broker_userinfo`, `broker_discovery`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<Endpoint, Count>,
    /// Request-side checks that must have been made and passed, by id or glob
    /// (`request_object.*`); `eidconf checks` lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// What the RP must have sent, in every login (FTN) or init request (Freja): member → exact
    /// value (`null`: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<SentExpect>,
    /// The canary must not have been contacted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_canary_fetch: bool,
    /// What serving the vector may cost the RP at most. Where the transport cannot measure a
    /// figure, the result says so in its note instead of passing on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceBound>,
}

/// Upper bounds on what one vector costs the RP. Keep them generous: a correct RP on a busy
/// machine must stay under them; they exist to catch work in proportion to a bomb.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceBound {
    /// CPU time (user + system) in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<u64>,
    /// Peak memory above the RP's resting size, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
}

/// Exact values the RP must have sent, per message. `null` means the member must be absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SentExpect {
    /// Query parameters of the authorization URL (front channel).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub authorization_parameters: serde_json::Map<String, serde_json::Value>,
    /// Claims of the signed request object.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub request_object: serde_json::Map<String, serde_json::Value>,
    /// Form parameters of the token request (`client_assertion` excluded).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub token_request: serde_json::Map<String, serde_json::Value>,
    /// Claims of the `private_key_jwt` client assertion.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub client_assertion: serde_json::Map<String, serde_json::Value>,
    /// Members of every request's JSON that opens a Freja operation: the init request
    /// (`initAuthRequest`, `initSignRequest`), or the one request of a custom-identifier call.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub init_request: serde_json::Map<String, serde_json::Value>,
}

/// An endpoint of a mock: Freja's or the FTN broker's.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(untagged)]
pub enum Endpoint {
    Freja(FrejaEndpoint),
    Broker(BrokerEndpoint),
}

impl From<FrejaEndpoint> for Endpoint {
    fn from(e: FrejaEndpoint) -> Self {
        Endpoint::Freja(e)
    }
}

impl From<BrokerEndpoint> for Endpoint {
    fn from(e: BrokerEndpoint) -> Self {
        Endpoint::Broker(e)
    }
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Freja(e) => e.path(),
            Endpoint::Broker(e) => e.path(),
        }
    }

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// The mock FTN broker's endpoints. `broker_authorize` counts the authorization requests the
/// harness carried as the user agent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BrokerEndpoint {
    BrokerDiscovery,
    BrokerAuthorize,
    BrokerToken,
    BrokerJwks,
    BrokerUserinfo,
    /// The broker's canary: documents an ID token's `jku`/`x5u` name (the attacker's keys),
    /// counted whenever fetched.
    BrokerCanary,
}

impl BrokerEndpoint {
    /// The path on the broker host.
    pub fn path(self) -> &'static str {
        match self {
            BrokerEndpoint::BrokerDiscovery => "/.well-known/openid-configuration",
            BrokerEndpoint::BrokerAuthorize => "/oauth2/authorize",
            BrokerEndpoint::BrokerToken => "/oauth2/token",
            BrokerEndpoint::BrokerJwks => "/oauth2/jwks",
            BrokerEndpoint::BrokerUserinfo => "/oauth2/userinfo",
            BrokerEndpoint::BrokerCanary => "/canary",
        }
    }
}

// What a vector expects the RP to do (`expect.verdict`); the report's `Verdict` is what eidconf
// concluded. Named `Verdict` in the vector schema, as before. (No doc comment: it would change
// the schema's text.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Verdict")]
pub enum ExpectedVerdict {
    Accepted,
    Rejected,
    /// The source allows both: refusing (then `reason` and the details apply), or accepting
    /// with exactly the identity that was signed (then `identity` applies). For example RFC 7519
    /// §4 lets a recipient reject duplicate claim names or use the lexically last one.
    Either,
}

/// An exact count, or bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Count {
    Exactly(u32),
    Between {
        #[serde(default)]
        min: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u32>,
    },
}

impl Count {
    pub fn admits(self, n: u32) -> bool {
        match self {
            Count::Exactly(k) => n == k,
            Count::Between { min, max } => n >= min && max.is_none_or(|m| n <= m),
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Count::Exactly(k) => write!(f, "exactly {k}"),
            Count::Between {
                min,
                max: Some(max),
            } => write!(f, "between {min} and {max}"),
            Count::Between { min, max: None } => write!(f, "at least {min}"),
        }
    }
}

/// Schema helper for fields that take one value or a list.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

fn one_or_many<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(match Either::deserialize(de)? {
        Either::One(t) => vec![t],
        Either::Many(v) => v,
    })
}

/// Overrides of the RP's OIDC registration. Defaults: issuer and client_id of the test broker;
/// RP keys `ftn-rp-enc-1` and `ftn-rp-enc-2` (`use: enc`) and `ftn-rp-sig` (`use: sig`); broker
/// keys `ftn-broker-sig-1` and `ftn-broker-sig-2`; JWE `RSA-OAEP`, `RSA-OAEP-256` with
/// `A128CBC-HS256`, `A128GCM`, `A256GCM`; encryption required; 60 s clock skew.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcEnvironmentSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The RP's key pairs (their names are their `kid`s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_keys: Option<Vec<RpKeySpec>>,
    /// The broker signing keys the RP trusts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_keys: Option<Vec<crate::forge::id_token::KeyName>>,
    /// Per broker key (by name), members merged over its public JWK (`kty`, `use: sig`, `alg`
    /// RS256 or ES256, `kid` = the name, the key material); `null` removes one. Publishes, e.g.,
    /// a key's JWK `alg`, `use` and `key_ops` as a broker does (RFC 7517 §4.2–4.4).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub broker_jwk: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    /// The ID token signing algorithms the broker publishes (`id_token_signing_alg_values_supported`)
    /// and the RP accepts (default `[RS256]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_alg_values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_alg_values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_enc_values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_required: Option<bool>,
    /// Flow operations: the `acr_values` the RP requests (default `[loa2]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr_values: Option<Vec<String>>,
    /// The broker environment the configuration is for (`test` or `production`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<crate::adapter::DeploymentEnvironment>,
}

/// One RP key pair of the environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RpKeySpec {
    pub key: crate::forge::id_token::KeyName,
    /// `enc` or `sig`.
    #[serde(rename = "use")]
    pub use_: KeyUse,
    /// The environment the key pair is marked for (none: unmarked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<crate::adapter::DeploymentEnvironment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyUse {
    Enc,
    Sig,
}
