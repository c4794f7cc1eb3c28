//! RSA private keys parsed once per process. aws-lc checks a private key as it imports it, which
//! costs more than a signature with it, and the harness and the reference RP use the same few
//! test keys over and over: per vector, per login, per token.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use aws_lc_rs::error::KeyRejected;
use aws_lc_rs::rsa::PrivateDecryptingKey;
use aws_lc_rs::signature::RsaKeyPair;

/// Past this many distinct keys, a key is parsed each time rather than kept (keys come from
/// vectors and RP replies too).
const MAX_KEYS: usize = 256;

/// The RSA signing key of a PKCS#8 DER, parsed on first use.
pub fn rsa_key_pair(pkcs8: &[u8]) -> Result<RsaKeyPair, KeyRejected> {
    static KEYS: OnceLock<Mutex<HashMap<Vec<u8>, RsaKeyPair>>> = OnceLock::new();
    cached(&KEYS, pkcs8, RsaKeyPair::from_pkcs8)
}

/// The RSA decryption key of a PKCS#8 DER, parsed on first use.
pub fn rsa_decrypting_key(pkcs8: &[u8]) -> Result<PrivateDecryptingKey, KeyRejected> {
    static KEYS: OnceLock<Mutex<HashMap<Vec<u8>, PrivateDecryptingKey>>> = OnceLock::new();
    cached(&KEYS, pkcs8, PrivateDecryptingKey::from_pkcs8)
}

fn cached<K: Clone>(
    keys: &OnceLock<Mutex<HashMap<Vec<u8>, K>>>,
    der: &[u8],
    parse: impl Fn(&[u8]) -> Result<K, KeyRejected>,
) -> Result<K, KeyRejected> {
    let keys = keys.get_or_init(Mutex::default);
    if let Some(k) = keys.lock().unwrap_or_else(|p| p.into_inner()).get(der) {
        return Ok(k.clone());
    }
    // Parsed outside the lock: two threads may both parse a new key once.
    let k = parse(der)?;
    let mut keys = keys.lock().unwrap_or_else(|p| p.into_inner());
    if keys.len() < MAX_KEYS {
        keys.insert(der.to_vec(), k.clone());
    }
    Ok(k)
}
