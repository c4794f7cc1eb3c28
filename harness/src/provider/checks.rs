//! Request-side checks: what the RP sent to the broker (request object, client assertion, token
//! request) and what it publishes (its JWKS), held against the FTN profile (ftn-oidc.md §6, §7).
//!
//! Every check is made whenever its input exists and lands in the evidence; a vector asserts the
//! ones it is about with `expect.checks`, so one RP bug fails the vectors written for it.

use serde::{Deserialize, Serialize};

/// The outcome of one check on one login (or on the published JWKS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// An id of [`CATALOGUE`].
    pub id: String,
    /// 1-based login the check was made on; absent for `jwks.*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<usize>,
    pub passed: bool,
    /// What was seen, in words.
    pub detail: String,
}

/// Every check id with what it requires. `expect.checks` entries must match at least one id.
pub const CATALOGUE: &[(&str, &str)] = &[
    // The front channel (R1, R4).
    (
        "authorization.endpoint",
        "the authorization URL is the broker's authorization endpoint",
    ),
    (
        "authorization.parameters",
        "the front channel carries `request` and only the parameters the broker asks for \
         in the clear (no personal data, no unsigned duplicates)",
    ),
    // The request object (R2, R3).
    (
        "request_object.signed",
        "a JWS with alg RS256 and the kid of an RP `use: sig` key, whose signature verifies",
    ),
    ("request_object.iss", "`iss` is the client_id"),
    ("request_object.aud", "`aud` is the broker's issuer"),
    ("request_object.client_id", "`client_id` is the client_id"),
    ("request_object.response_type", "`response_type` is `code`"),
    ("request_object.scope", "`scope` contains `openid`"),
    (
        "request_object.redirect_uri",
        "`redirect_uri` is the registered one, exactly",
    ),
    (
        "request_object.state",
        "`state` is present, at least 128 bits, and unique among the vector's logins",
    ),
    (
        "request_object.nonce",
        "`nonce` is present, at least 128 bits (22 base64url characters), and unique among \
         the vector's logins",
    ),
    (
        "request_object.acr_values",
        "`acr_values` are the configured ones",
    ),
    (
        "request_object.exp",
        "`exp` is in the future and at most 60 minutes ahead",
    ),
    (
        "request_object.jti",
        "`jti` is present and unique among the vector's request objects",
    ),
    // PKCE (R7).
    (
        "pkce.s256",
        "a `code_challenge`, when sent, uses method S256 (never `plain`), and the token request's \
         `code_verifier` matches it",
    ),
    // The token request (R5, R6).
    (
        "token_request.parameters",
        "`grant_type=authorization_code`, the code verbatim, the same `redirect_uri`, and \
         `client_assertion_type` jwt-bearer",
    ),
    (
        "client_assertion.signed",
        "a JWS with alg RS256 and the kid of an RP `use: sig` key, whose signature verifies",
    ),
    (
        "client_assertion.iss_sub",
        "`iss` and `sub` are both the client_id",
    ),
    ("client_assertion.aud", "`aud` is the token endpoint URL"),
    (
        "client_assertion.exp",
        "`exp` is in the future and at most 60 minutes ahead",
    ),
    (
        "client_assertion.jti",
        "`jti` is present and unique among the vector's token requests",
    ),
    // Userinfo.
    (
        "userinfo.bearer",
        "userinfo is requested with the access token of this login as a Bearer token",
    ),
    // The RP's published keys (K1, K2).
    (
        "jwks.public_only",
        "no key carries private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`)",
    ),
    (
        "jwks.key_size",
        "every RSA key has a modulus of at least 2048 bits",
    ),
    (
        "jwks.use_separation",
        "every key has `use` `sig` or `enc`, there is one of each, and no key material \
         serves both",
    ),
    ("jwks.kid", "every key has a `kid`, unique in the set"),
];

/// Whether `pattern` (an id, or a glob with `*`) names at least one check.
pub fn known(pattern: &str) -> bool {
    CATALOGUE.iter().any(|(id, _)| matches(pattern, id))
}

/// Glob match of a check id: `*` stands for any run of characters.
pub fn matches(pattern: &str, id: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == id,
        Some((head, tail)) => {
            let Some(rest) = id.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|i| rest.is_char_boundary(*i))
                .any(|i| matches(tail, &rest[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_name_checks() {
        assert!(known("request_object.*"));
        assert!(known("jwks.key_size"));
        assert!(!known("request_object.nonse"));
        assert!(matches("*.jti", "client_assertion.jti"));
        assert!(!matches("request_object.*", "client_assertion.jti"));
    }

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<_> = CATALOGUE.iter().map(|(id, _)| *id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CATALOGUE.len());
    }
}
