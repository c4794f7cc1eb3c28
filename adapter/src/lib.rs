//! The contract between eidconf and a relying party: what the harness asks ([`Operation`]) in
//! which setting ([`Environment`]), and what the RP answers ([`Outcome`], [`Reason`]).
//!
//! This crate has no engine dependencies. A Rust RP implements [`RelyingParty`] and either serves
//! it to `eidconf run --rp stdio` with [`serve`] or gets one test per vector with [`harness!`].
//! RPs in other languages speak the same types as JSON lines ([`protocol`], `PROTOCOL.md`). The
//! type and field names are the public contract.

#[macro_use]
mod catalogue;
#[cfg(feature = "harness")]
pub mod harness;
pub mod protocol;
#[cfg(feature = "serve")]
mod serve;

#[cfg(feature = "serve")]
pub use serve::serve;

use std::collections::BTreeMap;
use std::time::Duration;

pub use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A relying party under test.
#[async_trait]
pub trait RelyingParty: Send + Sync {
    /// Name, version and the operations this RP implements (the capability handshake).
    fn describe(&self) -> RpDescription;

    /// Perform one operation in the environment the harness stood up for this vector. A refusal
    /// is an `Ok` outcome; `Err` means the RP could not perform the operation at all, and the
    /// vector is an `error`, never a pass.
    async fn perform(&self, env: &Environment, op: Operation) -> Result<Outcome, AdapterError>;

    /// `perform` with a transport's bookkeeping. Out-of-process transports override it to report
    /// the driver's stderr and to enforce `timeout` themselves (they must kill the driver).
    /// In-process RPs keep this default.
    async fn perform_traced(&self, env: &Environment, op: Operation, timeout: Duration) -> Traced {
        let _ = timeout;
        Traced {
            outcome: self.perform(env, op).await,
            stderr: None,
            resources: None,
        }
    }

    /// Whether `perform_traced` enforces the per-vector timeout itself; the harness then waits a
    /// grace period longer before it abandons the call.
    fn enforces_timeout(&self) -> bool {
        false
    }

    /// Release what the RP holds (driver processes) at the end of a run.
    async fn shutdown(&self) {}
}

/// What `perform_traced` produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Traced {
    pub outcome: Result<Outcome, AdapterError>,
    /// What the driver wrote to stderr while it served this vector.
    pub stderr: Option<String>,
    /// What serving the call cost, as the transport measured it; `None`: the harness measures
    /// the in-process call itself.
    pub resources: Option<Resources>,
}

/// What one call cost the RP, as far as the transport could measure it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// CPU time (user + system) spent serving the call, in milliseconds; `None`: not measured.
    pub cpu_ms: Option<u64>,
    /// Peak memory above the RP's resting size while serving the call, in KiB; `None`: not
    /// measured.
    pub memory_kib: Option<u64>,
    /// How the figures were taken, and why one is missing.
    pub method: String,
}

impl Resources {
    /// Nothing measured, for `why`.
    pub fn not_measured(why: impl Into<String>) -> Resources {
        Resources {
            cpu_ms: None,
            memory_kib: None,
            method: format!("not measured: {}", why.into()),
        }
    }

    /// Two calls of one vector: CPU adds up, memory is the larger peak; a figure either call
    /// lacks is not measured.
    pub fn and(self, other: Resources) -> Resources {
        let method = if self.method == other.method {
            self.method
        } else {
            format!("{}; {}", self.method, other.method)
        };
        Resources {
            cpu_ms: self.cpu_ms.zip(other.cpu_ms).map(|(a, b)| a + b),
            memory_kib: self.memory_kib.zip(other.memory_kib).map(|(a, b)| a.max(b)),
            method,
        }
    }
}

/// Why an RP gave no outcome. Never a pass.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AdapterError {
    /// The driver broke the protocol; the message quotes the offending line.
    Protocol(String),
    /// The RP could not perform the operation (an exception, not a refusal); over the protocol,
    /// an `error` reply.
    Driver(String),
    /// The driver process exited, or could not be (re)started, while serving this vector.
    Crashed(String),
    /// No reply within the per-vector timeout; the driver was killed and is restarted.
    Timeout(Duration),
}

impl std::fmt::Display for AdapterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdapterError::Protocol(m) | AdapterError::Crashed(m) => f.write_str(m),
            AdapterError::Driver(m) => write!(f, "the driver reported an error: {m}"),
            AdapterError::Timeout(t) => write!(f, "no reply within {}s", t.as_secs_f64()),
        }
    }
}

impl std::error::Error for AdapterError {}

impl Environment {
    /// An environment for `vector_id` with no provider side yet.
    pub fn new(vector_id: impl Into<String>) -> Environment {
        Environment {
            vector_id: vector_id.into(),
            ..Environment::default()
        }
    }
}

impl FrejaRequest {
    pub fn new(user_info_type: UserInfoType, user_info: impl Into<String>) -> FrejaRequest {
        FrejaRequest {
            user_info_type,
            user_info: user_info.into(),
            country: None,
            min_registration_level: None,
            attributes_to_return: Vec::new(),
            organisation: false,
        }
    }
}

impl FrejaSignRequest {
    pub fn new(
        user_info_type: UserInfoType,
        user_info: impl Into<String>,
        text: impl Into<String>,
    ) -> FrejaSignRequest {
        FrejaSignRequest {
            user_info_type,
            user_info: user_info.into(),
            country: None,
            min_registration_level: None,
            attributes_to_return: Vec::new(),
            title: None,
            text: text.into(),
            organisation: false,
        }
    }
}

impl FrejaCancelRequest {
    /// Cancel an authentication of this user; set `text` to cancel a signature instead.
    pub fn new(user_info_type: UserInfoType, user_info: impl Into<String>) -> FrejaCancelRequest {
        FrejaCancelRequest {
            user_info_type,
            user_info: user_info.into(),
            country: None,
            min_registration_level: None,
            text: None,
            organisation: false,
        }
    }
}

impl SetCustomIdentifierRequest {
    pub fn new(
        user_info_type: UserInfoType,
        user_info: impl Into<String>,
        custom_identifier: impl Into<String>,
    ) -> SetCustomIdentifierRequest {
        SetCustomIdentifierRequest {
            user_info_type,
            user_info: user_info.into(),
            country: None,
            custom_identifier: custom_identifier.into(),
        }
    }
}

impl DeleteCustomIdentifierRequest {
    pub fn new(custom_identifier: impl Into<String>) -> DeleteCustomIdentifierRequest {
        DeleteCustomIdentifierRequest {
            custom_identifier: custom_identifier.into(),
        }
    }
}

impl BeginLogin {
    pub fn new(session: impl Into<String>) -> BeginLogin {
        BeginLogin {
            session: session.into(),
        }
    }
}

impl FinishLogin {
    pub fn new(session: impl Into<String>, callback_url: impl Into<String>) -> FinishLogin {
        FinishLogin {
            session: session.into(),
            callback_url: callback_url.into(),
        }
    }
}

impl DnRequest {
    pub fn new(subject: Vec<DnAttribute>) -> DnRequest {
        DnRequest { subject }
    }
}

/// What an RP says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RpDescription {
    pub name: String,
    pub version: String,
    /// Operation names (`freja.authenticate`, …) the RP implements; others are skipped.
    pub operations: Vec<String>,
}

operations! {
    /// Run a whole Freja eID authentication: init, poll `getOneResult` until a final status,
    /// verify the `details` JWS and return the identity the RP would log in.
    "freja.authenticate" => FrejaAuthenticate(FrejaRequest),
    /// Run a whole Freja eID signature transaction, as above with the signature endpoints.
    "freja.sign" => FrejaSign(FrejaSignRequest),
    /// Validate the subject DN of a Freja client certificate request, as the RP's onboarding
    /// tooling would before the CSR is sent. No provider is involved. Accept, or reject with
    /// `invalid_input` and the offending attribute (`C`, `O`, `OU`, `CN`, `OI`, …) in `claim`.
    "dn.validate" => DnValidate(DnRequest),
    /// Token level: verify a given `details` JWS against the pinned certificates of the
    /// environment and the reference the RP initiated, and return the identity it carries. The
    /// RP sends no Freja request.
    "freja.verify_details" => FrejaVerifyDetails(FrejaVerifyDetails),
    /// Validate one FTN ID token as received from the broker's token endpoint: decrypt it, verify
    /// the inner signature, validate the claims (OIDC Core §3.1.3.7) and return the identity.
    "oidc.validate_id_token" => OidcValidateIdToken(IdTokenRequest),
    /// Start an FTN login: build the signed request object and return the authorization URL the
    /// user agent is sent to (`Accepted` with `authorization_url`). The RP keeps what it needs to
    /// finish (state, nonce, PKCE verifier) under `session`.
    "oidc.begin_login" => OidcBeginLogin(BeginLogin),
    /// Finish the login of `session` with the callback the user agent brought back: check
    /// `state`, redeem the code at the token endpoint with `private_key_jwt`, decrypt and validate
    /// the ID token (and the userinfo response when registered), and return the identity.
    "oidc.finish_login" => OidcFinishLogin(FinishLogin),
    /// Publish the RP's public keys as they would be registered at the broker (`Accepted` with
    /// `jwks`, or `public_keys` in the form asked for: PEM, a JWK, a JWKS or a JWKS URL), or
    /// refuse a key configuration that must not be published.
    "rp.keys" => RpKeys(RpKeysRequest),
    /// Start a Freja eID transaction and cancel it at once, as an RP does when the user gives up
    /// at its end: initiate (a signature when `text` is given, else an authentication), then call
    /// the cancel endpoint with the reference, without polling. `Accepted` (empty identity) when
    /// the provider confirmed the cancellation (200, or 204 with no body); otherwise a rejection
    /// with its reason.
    "freja.cancel" => FrejaCancel(FrejaCancelRequest),
    /// Give a Freja eID user the RP's own identifier for them (the custom identifier the provider
    /// then returns as attribute `CUSTOM_IDENTIFIER`): one call to `setCustomIdentifier` naming
    /// the user and the identifier. `Accepted` (empty identity) on 204 with no body; otherwise a
    /// rejection with its reason (error 5002: the identifier is taken).
    "freja.set_custom_identifier" => FrejaSetCustomIdentifier(SetCustomIdentifierRequest),
    /// Remove a custom identifier: one call to `deleteCustomIdentifier`. `Accepted` (empty
    /// identity) on 204 with no body; otherwise a rejection with its reason (error 5001: no user
    /// has this identifier).
    "freja.delete_custom_identifier" => FrejaDeleteCustomIdentifier(DeleteCustomIdentifierRequest),
}

/// How the end user is addressed in a Freja eID request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserInfoType {
    Email,
    Phone,
    Ssn,
    Inferred,
    OrgId,
    Upi,
}

impl UserInfoType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserInfoType::Email => "EMAIL",
            UserInfoType::Phone => "PHONE",
            UserInfoType::Ssn => "SSN",
            UserInfoType::Inferred => "INFERRED",
            UserInfoType::OrgId => "ORG_ID",
            UserInfoType::Upi => "UPI",
        }
    }
}

/// Inputs of `freja.authenticate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FrejaRequest {
    pub user_info_type: UserInfoType,
    /// The user reference: an e-mail address, a phone number, an SSN, or `N/A` for INFERRED.
    pub user_info: String,
    /// For `SSN`: the country of the SSN (`SE`, `NO`, `FI`, `DK`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `BASIC`, `EXTENDED`, `PLUS` or `INFERRED`. Absent: the RP chooses (BASIC, or EXTENDED
    /// when it asks for `SSN`, `BASIC_USER_INFO` or `DATE_OF_BIRTH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_registration_level: Option<String>,
    /// Attribute names such as `BASIC_USER_INFO`, `SSN`, `EMAIL_ADDRESS`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes_to_return: Vec<String>,
    /// Run the flow at the organisation endpoints (`/organisation/...`): the Organisation ID
    /// context, where `user_info_type` may be `ORG_ID`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub organisation: bool,
}

/// Inputs of `freja.sign`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FrejaSignRequest {
    pub user_info_type: UserInfoType,
    pub user_info: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_registration_level: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes_to_return: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The text shown to the user, plain UTF-8 (the RP Base64-encodes it).
    pub text: String,
    /// Run the flow at the organisation endpoints (`/organisation/...`): the Organisation ID
    /// context, where `user_info_type` may be `ORG_ID`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub organisation: bool,
}

/// Inputs of `freja.cancel`: the transaction to start and then cancel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FrejaCancelRequest {
    pub user_info_type: UserInfoType,
    pub user_info: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_registration_level: Option<String>,
    /// Present: start a signature transaction showing this text; absent: an authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Start and cancel at the organisation endpoints (`/organisation/...`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub organisation: bool,
}

/// Inputs of `freja.set_custom_identifier`: the user as the provider knows them, and the RP's
/// identifier for them (1 to 128 characters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SetCustomIdentifierRequest {
    pub user_info_type: UserInfoType,
    pub user_info: String,
    /// For `SSN`: the country of the SSN (`SE`, `NO`, `FI`, `DK`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub custom_identifier: String,
}

/// Inputs of `freja.delete_custom_identifier`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DeleteCustomIdentifierRequest {
    pub custom_identifier: String,
}

/// Inputs of `freja.verify_details`. A vector leaves `reference` and `details` out: the harness
/// fills in the mock's transaction reference and the token it built from `provider.details`
/// (signed for the user `asa.oberg@example.se`), then runs the operation in the mock's
/// environment (pinned certificates, canary). An explicit value is passed through verbatim.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FrejaVerifyDetails {
    /// A signature result (`signRef`) rather than an authentication result (`authRef`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sign: bool,
    /// The reference the RP initiated and expects inside the signed payload.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reference: String,
    /// The compact JWS to verify.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
}

/// Everything a real deployment would configure, pointing at the mocks the harness stood up.
/// All URLs are loopback.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Environment {
    /// The vector being run, for the RP's logs.
    pub vector_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freja: Option<FrejaEnvironment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcEnvironment>,
}

/// Inputs of `oidc.validate_id_token`: the token and what the RP knows of the login it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IdTokenRequest {
    /// The `id_token` of the token response, compact serialization. In a vector file leave it
    /// out: the harness builds it from `provider.id_token` and fills it in.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_token: String,
    /// The nonce the RP sent in its authorization request; absent: none was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The `acr_values` the RP requested; the token's `acr` must be one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
    /// The `access_token` of the same token response, when the vector gives one: an `at_hash`
    /// in the ID token is checked against it (OpenID Connect Core §3.1.3.8, §3.2.2.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
}

/// Inputs of `oidc.begin_login`. A vector leaves `session` out; the harness fills it in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BeginLogin {
    /// The user agent's session at the RP (what a cookie would carry). `oidc.finish_login` names
    /// the same session. Unique per login and vector.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub session: String,
}

/// Inputs of `oidc.finish_login`. A vector leaves both fields out: the harness runs
/// `oidc.begin_login` first, plays the browser at the mock broker, and fills them in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FinishLogin {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub session: String,
    /// The URL the user agent was redirected to: the registered `redirect_uri` with `code` and
    /// `state`, or with `error` (`access_denied` when the user cancelled).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub callback_url: String,
}

/// Inputs of `rp.keys`: the keys are the environment's `oidc.rp_keys`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RpKeysRequest {
    /// The form to publish the public keys in; absent: the RP's own choice. An RP that does not
    /// publish this form answers `unsupported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<PublicKeyForm>,
    /// The harness asks the RP to check that every marked key is marked for
    /// `oidc.environment`, and to refuse the configuration (`invalid_input`) when one is marked
    /// for another. An RP that does not check key markings answers `unsupported`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub key_environments: bool,
}

/// A broker environment: customer test or production. Nets recommends separate key pairs for
/// each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentEnvironment {
    Test,
    Production,
}

/// A form a broker registers an RP's public keys in (the Nets E-Ident notice: PEM, a JWK, or the
/// URL of a JWKS; the other brokers: a JWKS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublicKeyForm {
    Pem,
    Jwk,
    Jwks,
    JwksUri,
}

/// `rp.keys`: the RP's public keys in one form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "form", rename_all = "snake_case", deny_unknown_fields)]
pub enum PublicKeys {
    /// `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) PEM, one block per key.
    Pem { pem: String },
    /// One public JWK (RFC 7517 §4); `kid` and `use` may be absent, as in the Nets example.
    Jwk { jwk: serde_json::Value },
    /// A JWK Set document (RFC 7517 §5), as the `jwks` member.
    Jwks { jwks: serde_json::Value },
    /// The URL of the JWK Set the RP serves. The harness fetches it once, and only from
    /// loopback (`127.0.0.0/8`, `::1`, `localhost`; `http` or `https`).
    JwksUri { jwks_uri: String },
}

impl PublicKeys {
    pub fn form(&self) -> PublicKeyForm {
        match self {
            PublicKeys::Pem { .. } => PublicKeyForm::Pem,
            PublicKeys::Jwk { .. } => PublicKeyForm::Jwk,
            PublicKeys::Jwks { .. } => PublicKeyForm::Jwks,
            PublicKeys::JwksUri { .. } => PublicKeyForm::JwksUri,
        }
    }
}

/// Where the mock FTN broker listens, and the rest of the RP's registration that only the flow
/// operations need. All URLs are loopback HTTPS, served with a certificate of `trust_anchors_pem`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BrokerEnvironment {
    /// The OpenID Provider metadata (`/.well-known/openid-configuration`), for RPs that discover;
    /// it lists the same endpoints as below.
    pub discovery_url: String,
    pub authorization_endpoint: String,
    /// Also the `aud` of the client assertion.
    pub token_endpoint: String,
    /// The broker's signing keys. Fetched on first use, cached, and refreshed once (rate-limited)
    /// when a token names an unknown `kid`.
    pub jwks_uri: String,
    /// Present when the registration includes userinfo: the RP fetches it after the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// The registered userinfo response: `"json"` (plain claims), `"signed"` (a JWS) or
    /// `"encrypted"` (a JWS in a JWE, like the ID token). A weaker form than registered is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_response: Option<String>,
    /// PEM certificates the RP trusts for the broker's TLS server (and nothing else).
    pub trust_anchors_pem: Vec<String>,
    /// The registered redirect URI, exactly. The harness plays the user agent: nothing listens.
    pub redirect_uri: String,
    /// Requested in every request object, space-separated; the ID token's `acr` must be one.
    pub acr_values: Vec<String>,
    /// Scopes requested (`openid` first).
    pub scope: Vec<String>,
    /// Authorization request parameters sent in the clear next to `request` (`client_id` at
    /// some brokers); everything else goes only in the signed request object.
    pub front_channel_parameters: Vec<String>,
    /// Upper bound on any single HTTP exchange with the broker.
    pub http_timeout_ms: u64,
}

/// The OpenID Connect side of an environment: the RP's registration at the broker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OidcEnvironment {
    /// The broker's Issuer Identifier; `iss` must equal it exactly.
    pub issuer: String,
    pub client_id: String,
    /// The RP's own key pairs, selected by `kid`; only `use: enc` keys decrypt.
    pub rp_keys: Vec<RpKey>,
    /// The broker's public signing keys as a JWKS (`{"keys": [...]}`), selected by the inner `kid`.
    /// Empty in flow operations: the RP fetches `broker.jwks_uri`.
    pub broker_jwks: serde_json::Value,
    /// Signing algorithms the broker publishes and the RP registered (`RS256` unless a vector
    /// lists others: RS512, PS256, ES256, …). The inner JWS alg must be one of them, and the broker
    /// JWK named by its `kid` must allow it (its `alg`, `use`, `key_ops`, key type).
    pub id_token_signing_alg_values: Vec<String>,
    /// Registered `id_token_encrypted_response_alg` values; no other is decrypted.
    pub id_token_encryption_alg_values: Vec<String>,
    /// Registered `id_token_encrypted_response_enc` values.
    pub id_token_encryption_enc_values: Vec<String>,
    /// Encryption was registered: an unencrypted ID token is refused.
    pub encryption_required: bool,
    /// Clock skew tolerated on `exp`, `iat`, `nbf`.
    pub clock_skew_seconds: u64,
    /// The broker the flow operations (`oidc.begin_login`, `oidc.finish_login`) talk to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<BrokerEnvironment>,
    /// The broker environment this configuration is for, when the vector says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<DeploymentEnvironment>,
}

/// One of the RP's key pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RpKey {
    pub kid: String,
    /// `enc` or `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// PKCS#8 PEM. Redacted in reports.
    pub private_key_pem: String,
    /// The environment the key pair was made for, when the configuration marks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<DeploymentEnvironment>,
}

/// The Freja eID side of an environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FrejaEnvironment {
    /// Base URL of the mock services host, e.g. `https://127.0.0.1:40123`.
    pub base_url: String,
    /// PEM certificates the RP must trust for the server (and nothing else).
    pub trust_anchors_pem: Vec<String>,
    /// The RP's TLS client certificate chain (PEM).
    pub client_certificate_pem: String,
    /// The RP's TLS client private key (PKCS#8 PEM). Redacted in reports.
    pub client_key_pem: String,
    /// The provider's JWS signing certificates the RP pins, selected by `x5t`.
    pub jws_certificates_pem: Vec<String>,
    /// Interval between `getOneResult` polls: the RP waits this long after an answer before it
    /// polls again.
    pub poll_interval_ms: u64,
    /// Upper bound on any single HTTP exchange.
    pub http_timeout_ms: u64,
    /// Upper bound on the whole flow (init to final status).
    pub flow_timeout_ms: u64,
    /// For integrator RPs: sent as `relyingPartyId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relying_party_id: Option<String>,
}

/// What the RP reports it did. The harness never infers a rejection from silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "verdict", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// The RP would log the user in (or accept the signature) with this identity.
    Accepted {
        /// The claims the RP would trust.
        #[serde(default)]
        identity: BTreeMap<String, serde_json::Value>,
        /// `oidc.begin_login`: where the RP sends the user agent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authorization_url: Option<String>,
        /// `rp.keys`: the JWKS the RP publishes (the same as `public_keys` of form `jwks`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jwks: Option<serde_json::Value>,
        /// `rp.keys`: the public keys in the form the RP publishes them (instead of `jwks`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        public_keys: Option<PublicKeys>,
    },
    /// The RP refused, and says why.
    Rejected(Rejection),
    /// The RP does not implement this operation.
    Unsupported,
}

/// A refusal with its reason class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    pub reason: Reason,
    /// The provider's error code, for `provider_error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// The transaction status, for `status_not_approved`; the HTTP status for `http_status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The claim at fault, for `claims_invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// Free text for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Rejection {
    pub fn new(reason: Reason) -> Self {
        Rejection {
            reason,
            code: None,
            status: None,
            claim: None,
            detail: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn code(mut self, code: i64) -> Self {
        self.code = Some(code);
        self
    }

    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }
}

impl Outcome {
    /// Accepted with this identity (and nothing else to show).
    pub fn accepted(identity: BTreeMap<String, serde_json::Value>) -> Outcome {
        Outcome::Accepted {
            identity,
            authorization_url: None,
            jwks: None,
            public_keys: None,
        }
    }
}

impl From<Rejection> for Outcome {
    fn from(r: Rejection) -> Self {
        Outcome::Rejected(r)
    }
}

reasons! {
    /// The provider answered with an error payload (`code` carries its code).
    ProviderError = "provider_error",
    /// The provider answered with an HTTP status the RP does not take as success.
    HttpStatus = "http_status",
    /// The response could not be understood (not JSON, missing fields, truncated).
    MalformedResponse = "malformed_response",
    /// The connection failed (refused, reset, TLS alert other than trust).
    Transport = "transport",
    /// The server's certificate is not trusted for this host.
    ServerUntrusted = "server_untrusted",
    /// The transaction ended in a status other than APPROVED (`status` carries it).
    StatusNotApproved = "status_not_approved",
    /// The signed result is for another transaction.
    ReferenceMismatch = "reference_mismatch",
    SignatureInvalid = "signature_invalid",
    AlgorithmRejected = "algorithm_rejected",
    KeyUnknown = "key_unknown",
    DecryptionFailed = "decryption_failed",
    EncryptionRequired = "encryption_required",
    /// A claim is wrong (`claim` names it).
    ClaimsInvalid = "claims_invalid",
    /// The RP refused its own input before calling the provider.
    InvalidInput = "invalid_input",
    /// The provider did not answer in time, or the flow did not end in time.
    Timeout = "timeout",
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Inputs of `dn.validate`: a subject as its attributes in order (repeats and unknown types are
/// part of what is tested, so this is a list, not a map).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DnRequest {
    pub subject: Vec<DnAttribute>,
}

/// One attribute of a subject DN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnAttribute {
    /// `C`, `O`, `OU`, `CN`, `OI` (organizationIdentifier, 2.5.4.97), or any other type name.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}
