//! Deliberate bugs the reference RP can be built with, each one seen in real Freja clients
//! (freja-eid.md §9). The vectors must catch every one of them.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Ord, PartialOrd)]
pub enum Fault {
    RetryOn500,
    Accept422,
    DropErrorCode,
    PanicOnUnknownCode,
    PanicOnUnknownStatus,
    UnknownStatusApproved,
    MisspelledRpCanceled,
    FollowRedirects,
    TrustAnyServerCert,
    NoHttpTimeout,
    SkipSignatureCheck,
    IgnoreReference,
    AcceptUnencryptedIdToken,
    SkipIdTokenSignature,
    HeaderChoosesJweAlg,
    IgnoreAud,
    IgnoreIss,
    IgnoreNonce,
    IgnoreExp,
    InflateZip,
    Pre2023HetuSigns,
    AcceptInnerAlgNone,
    HmacWithPublicKey,
}

impl Fault {
    pub const ALL: &'static [Fault] = &[
        Fault::RetryOn500,
        Fault::Accept422,
        Fault::DropErrorCode,
        Fault::PanicOnUnknownCode,
        Fault::PanicOnUnknownStatus,
        Fault::UnknownStatusApproved,
        Fault::MisspelledRpCanceled,
        Fault::FollowRedirects,
        Fault::TrustAnyServerCert,
        Fault::NoHttpTimeout,
        Fault::SkipSignatureCheck,
        Fault::IgnoreReference,
        Fault::AcceptUnencryptedIdToken,
        Fault::SkipIdTokenSignature,
        Fault::HeaderChoosesJweAlg,
        Fault::IgnoreAud,
        Fault::IgnoreIss,
        Fault::IgnoreNonce,
        Fault::IgnoreExp,
        Fault::InflateZip,
        Fault::Pre2023HetuSigns,
        Fault::AcceptInnerAlgNone,
        Fault::HmacWithPublicKey,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::RetryOn500 => "retry-on-500",
            Fault::Accept422 => "accept-422",
            Fault::DropErrorCode => "drop-error-code",
            Fault::PanicOnUnknownCode => "panic-on-unknown-code",
            Fault::PanicOnUnknownStatus => "panic-on-unknown-status",
            Fault::UnknownStatusApproved => "unknown-status-approved",
            Fault::MisspelledRpCanceled => "misspelled-rp-canceled",
            Fault::FollowRedirects => "follow-redirects",
            Fault::TrustAnyServerCert => "trust-any-server-cert",
            Fault::NoHttpTimeout => "no-http-timeout",
            Fault::SkipSignatureCheck => "skip-signature-check",
            Fault::IgnoreReference => "ignore-reference",
            Fault::AcceptUnencryptedIdToken => "accept-unencrypted-id-token",
            Fault::SkipIdTokenSignature => "skip-id-token-signature",
            Fault::HeaderChoosesJweAlg => "header-chooses-jwe-alg",
            Fault::IgnoreAud => "ignore-aud",
            Fault::IgnoreIss => "ignore-iss",
            Fault::IgnoreNonce => "ignore-nonce",
            Fault::IgnoreExp => "ignore-exp",
            Fault::InflateZip => "inflate-zip",
            Fault::Pre2023HetuSigns => "pre-2023-hetu-signs",
            Fault::AcceptInnerAlgNone => "accept-inner-alg-none",
            Fault::HmacWithPublicKey => "hmac-with-public-key",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Fault::RetryOn500 => {
                "re-sends the same request up to 2 more times on HTTP 500 (the official C# client)"
            }
            Fault::Accept422 => {
                "takes a 422 answer as a success and carries on with whatever it contains"
            }
            Fault::DropErrorCode => {
                "reports provider errors as a bare HTTP status, losing the error code"
            }
            Fault::PanicOnUnknownCode => {
                "crashes on an error code that is not in the documented catalogue"
            }
            Fault::PanicOnUnknownStatus => "crashes on a transaction status it does not know",
            Fault::UnknownStatusApproved => {
                "takes an unknown status as approval and logs in with the unsigned top-level requestedAttributes"
            }
            Fault::MisspelledRpCanceled => {
                "knows RP_CANCELLED instead of RP_CANCELED, so it polls an RP_CANCELED transaction until the flow times out (jsFreja)"
            }
            Fault::FollowRedirects => "follows up to 5 redirects, to any host",
            Fault::TrustAnyServerCert => "accepts any server certificate and host name",
            Fault::NoHttpTimeout => "puts no timeout on HTTP exchanges and no deadline on the flow",
            Fault::SkipSignatureCheck => {
                "decodes the details payload without verifying signature, alg or x5t"
            }
            Fault::IgnoreReference => {
                "does not compare the signed authRef/signRef with the one it initiated"
            }
            Fault::AcceptUnencryptedIdToken => {
                "takes a plain JWS as the ID token although encryption is registered (tunnistus-python-sample, omniauth_openid_federation)"
            }
            Fault::SkipIdTokenSignature => {
                "decrypts the ID token, then decodes the inner JWS payload without verifying its signature (RFC 8725 §2.3)"
            }
            Fault::HeaderChoosesJweAlg => {
                "decrypts with whatever JWE alg and enc the header names, RSA1_5 included, instead of the registered ones"
            }
            Fault::IgnoreAud => "does not check the ID token's aud",
            Fault::IgnoreIss => "does not check the ID token's iss",
            Fault::IgnoreNonce => "does not compare the ID token's nonce with the one it sent",
            Fault::IgnoreExp => "does not check the ID token's exp",
            Fault::InflateZip => {
                "inflates a `zip: DEF` JWE plaintext, with no bound, instead of refusing it"
            }
            Fault::Pre2023HetuSigns => {
                "knows only the HETU century signs + - A, not the 2023 signs Y X W V U B C D E F"
            }
            Fault::AcceptInnerAlgNone => "accepts an inner JWS with alg none and no signature",
            Fault::HmacWithPublicKey => {
                "verifies an inner HS256 JWS with the broker's public key PEM as the HMAC secret"
            }
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Fault, String> {
        Fault::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
                format!("unknown fault `{s}`; valid faults: {}", names.join(", "))
            })
    }
}
