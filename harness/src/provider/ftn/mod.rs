//! The mock FTN broker: discovery, authorization (played by the harness as the user agent),
//! token, JWKS and userinfo endpoints on loopback HTTPS, minting what the vector's
//! `provider.broker` asks for and recording what the RP sent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::vector::model::BrokerEndpoint;

/// What the broker saw and minted in one vector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BrokerEvidence {
    /// Every request, in order (`broker_authorize` ones were carried by the harness).
    pub requests: Vec<BrokerRequest>,
    /// One entry per login the harness played.
    pub logins: Vec<LoginEvidence>,
}

impl BrokerEvidence {
    pub fn count(&self, ep: BrokerEndpoint) -> u32 {
        self.requests.iter().filter(|r| r.endpoint == ep).count() as u32
    }
}

/// One request to the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerRequest {
    pub endpoint: BrokerEndpoint,
    pub method: String,
    pub path: String,
    /// The login it belongs to (1-based), when the broker could tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<usize>,
    /// What the broker answered (0 if it reset the connection).
    pub response_status: u16,
}

/// What the RP sent, and the broker minted, in one login. Decoded JWTs are shown as header and
/// claims, whether or not their signature verified (the checks say that).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoginEvidence {
    /// The RP's session the harness used.
    pub session: String,
    /// The authorization URL the RP returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_url: Option<String>,
    /// Its query parameters (`request` included verbatim).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorization_parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object_header: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object: Option<Map<String, Value>>,
    /// The callback URL the harness brought back to the RP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Form parameters of the token request(s) of this login, `client_assertion` excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_request: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_assertion_header: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_assertion: Option<Map<String, Value>>,
    /// The claims the broker signed into this login's ID token: what the RP may trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_claims: Option<Map<String, Value>>,
    /// The claims the broker answered at userinfo, signed or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_claims: Option<Map<String, Value>>,
    /// The RP's outcome for this login (earlier logins of a vector are evidence only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Value>,
}
