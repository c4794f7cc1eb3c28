//! Building tokens by hand: JWS, JWE, nested; every mutation of the attack catalogue.

pub mod jwe;
pub mod nested;
