//! Building tokens by hand: JWS (`jws`, Freja `details`), JWE (`jwe`) and FTN ID tokens
//! (`id_token`: signed, then encrypted); every named mutation (the JOSE attacks of RFC 8725 §2
//! and known library CVEs), applied from a vector's recipe.

pub mod id_token;
pub mod jwe;
pub mod jws;
pub mod mutation;

pub use jws::{Draft, KeyEncoding, MacAlg, SigAlg, Signer};
pub use mutation::{Context, KeyName, Mutation, forge};

use serde_json::{Map, Value};

/// Why a token could not be forged, the one error of the forge. These are recipe mistakes the
/// loader cannot see (a mutation that needs a JSON header after the header stopped being JSON,
/// a key that is not RSA, …).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ForgeError(pub String);

impl From<String> for ForgeError {
    fn from(m: String) -> Self {
        ForgeError(m)
    }
}

impl From<&str> for ForgeError {
    fn from(m: &str) -> Self {
        ForgeError(m.into())
    }
}

/// For callers whose own errors are still words (the providers' script errors).
impl From<ForgeError> for String {
    fn from(e: ForgeError) -> Self {
        e.0
    }
}

pub(crate) fn err<T>(m: impl Into<String>) -> Result<T, ForgeError> {
    Err(ForgeError(m.into()))
}

/// Merge a recipe's `over` members into `base`; JSON `null` removes a member. Every recipe
/// (Freja details, FTN ID tokens) merges its header and payload overrides this way.
pub fn merge_members(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    for (k, v) in over {
        if v.is_null() {
            base.remove(k);
        } else {
            base.insert(k.clone(), v.clone());
        }
    }
}
