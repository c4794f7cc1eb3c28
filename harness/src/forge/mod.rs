//! Building tokens by hand: JWS, JWE and nested tokens; every mutation of the attack catalogue
//! (jose-attacks.md), applied from a vector's recipe.

pub mod jwe;
pub mod jws;
pub mod mutation;
pub mod nested;

pub use jws::{Draft, ForgeError, KeyEncoding, MacAlg, SigAlg, Signer};
pub use mutation::{Context, KeyName, Mutation, forge};
