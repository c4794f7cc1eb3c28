//! Building tokens by hand: JWS (`jws`, Freja `details`), JWE (`jwe`) and FTN ID tokens
//! (`id_token`: signed, then encrypted); every named mutation (the JOSE attacks of RFC 8725 §2
//! and known library CVEs), applied from a vector's recipe.

pub mod id_token;
pub mod jwe;
pub mod jws;
pub mod mutation;

pub use jws::{Draft, ForgeError, KeyEncoding, MacAlg, SigAlg, Signer};
pub use mutation::{Context, KeyName, Mutation, forge};

use serde_json::{Map, Value};

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
