//! Tamper evidence a recipient checks with standard tools: `report.json.sig` is an OpenSSH
//! signature (PROTOCOL.sshsig, namespace `eidconf-report`) that `ssh-keygen -Y verify` checks
//! without eidconf.

use std::path::{Path, PathBuf};

use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

/// The signature namespace: a signature made for something else never verifies as a report's.
pub const NAMESPACE: &str = "eidconf-report";

/// Sign `report` with the OpenSSH private key at `key`; writes `<report>.sig` and returns it.
pub fn sign_file(report: &Path, key: &Path) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(key)
        .map_err(|e| format!("cannot read the signing key {}: {e}", key.display()))?;
    let key = PrivateKey::from_openssh(&text)
        .map_err(|e| format!("{}: not an OpenSSH private key: {e}", key.display()))?;
    if key.is_encrypted() {
        return Err("the signing key is passphrase-protected; give an unencrypted key (e.g. one kept in the CI's secret store)".into());
    }
    let message =
        std::fs::read(report).map_err(|e| format!("cannot read {}: {e}", report.display()))?;
    let sig = key
        .sign(NAMESPACE, HashAlg::Sha512, &message)
        .map_err(|e| format!("cannot sign: {e}"))?;
    let pem = sig
        .to_pem(LineEnding::LF)
        .map_err(|e| format!("cannot encode the signature: {e}"))?;
    let mut out = report.as_os_str().to_owned();
    out.push(".sig");
    let out = PathBuf::from(out);
    std::fs::write(&out, pem).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(out)
}

/// Check `signature` over `report` against an allowed-signers file (ssh-keygen(1) ALLOWED
/// SIGNERS); with `identity`, only that principal's keys count. Ok is the principal.
pub fn verify_file(
    report: &Path,
    signature: &Path,
    allowed_signers: &Path,
    identity: Option<&str>,
) -> Result<String, Verification> {
    let input = |what: &str, p: &Path, e: std::io::Error| {
        Verification::Input(format!("cannot read the {what} {}: {e}", p.display()))
    };
    let message = std::fs::read(report).map_err(|e| input("report", report, e))?;
    let pem = std::fs::read_to_string(signature).map_err(|e| input("signature", signature, e))?;
    let signers = std::fs::read_to_string(allowed_signers)
        .map_err(|e| input("allowed signers", allowed_signers, e))?;
    let sig = SshSig::from_pem(pem.trim()).map_err(|e| {
        Verification::Input(format!(
            "{}: not an SSH signature: {e}",
            signature.display()
        ))
    })?;
    if sig.namespace() != NAMESPACE {
        return Err(Verification::Bad(format!(
            "the signature is for namespace `{}`, not `{NAMESPACE}`",
            sig.namespace()
        )));
    }
    let signers = parse_allowed_signers(&signers).map_err(|(line, e)| {
        Verification::Input(format!("{}:{line}: {e}", allowed_signers.display()))
    })?;
    let Some(signer) = signers.iter().find(|s| {
        s.key.key_data() == sig.public_key()
            && identity.is_none_or(|id| s.principals.iter().any(|p| p == id || p == "*"))
            && s.namespaces
                .as_ref()
                .is_none_or(|n| n.iter().any(|n| n == NAMESPACE))
    }) else {
        return Err(Verification::Bad(format!(
            "the signing key is not an allowed signer{}",
            identity.map(|i| format!(" for `{i}`")).unwrap_or_default()
        )));
    };
    signer
        .key
        .verify(NAMESPACE, &message, &sig)
        .map_err(|_| Verification::Bad("the signature does not match the report".into()))?;
    Ok(identity
        .map(str::to_owned)
        .unwrap_or_else(|| signer.principals.join(",")))
}

#[derive(Debug)]
pub enum Verification {
    /// Unreadable or malformed input (exit 2).
    Input(String),
    /// A readable signature that does not verify (exit 1).
    Bad(String),
}

struct AllowedSigner {
    principals: Vec<String>,
    namespaces: Option<Vec<String>>,
    key: PublicKey,
}

/// `principals [options] keytype base64 [comment]` per line; `#` comments and blank lines.
fn parse_allowed_signers(text: &str) -> Result<Vec<AllowedSigner>, (usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (principals, rest) = line
            .split_once(char::is_whitespace)
            .ok_or((n + 1, "expected principals, then a public key".to_owned()))?;
        let rest = rest.trim_start();
        // Options come before the key type; values may be quoted.
        let key_at = rest
            .match_indices(|c: char| c.is_ascii_alphanumeric())
            .map(|(i, _)| i)
            .find(|&i| {
                (i == 0 || rest[..i].ends_with(char::is_whitespace))
                    && ["ssh-", "ecdsa-", "sk-"]
                        .iter()
                        .any(|t| rest[i..].starts_with(t))
            })
            .ok_or((
                n + 1,
                "no public key (ssh-ed25519 …) on the line".to_owned(),
            ))?;
        let options = rest[..key_at].trim();
        let key = PublicKey::from_openssh(rest[key_at..].trim())
            .map_err(|e| (n + 1, format!("unreadable public key: {e}")))?;
        let namespaces = options
            .find("namespaces=\"")
            .map(|i| &options[i + "namespaces=\"".len()..])
            .map(|v| v.split('"').next().unwrap_or_default())
            .map(|v| v.split(',').map(|n| n.trim().to_owned()).collect());
        out.push(AllowedSigner {
            principals: principals.split(',').map(str::to_owned).collect(),
            namespaces,
            key,
        });
    }
    Ok(out)
}
