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
    DnAllowsAmpersand,
    DnChecksOOnly,
    DnThreeLetterCountry,
    DnSkipsLuhn,
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
        Fault::DnAllowsAmpersand,
        Fault::DnChecksOOnly,
        Fault::DnThreeLetterCountry,
        Fault::DnSkipsLuhn,
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
            Fault::DnAllowsAmpersand => "dn-allows-ampersand",
            Fault::DnChecksOOnly => "dn-checks-o-only",
            Fault::DnThreeLetterCountry => "dn-three-letter-country",
            Fault::DnSkipsLuhn => "dn-skips-luhn",
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
            Fault::DnAllowsAmpersand => {
                "subject DN check: forgets `&` in its list of characters forbidden in O and OU"
            }
            Fault::DnChecksOOnly => {
                "subject DN check: refuses the forbidden characters in O but not in OU"
            }
            Fault::DnThreeLetterCountry => {
                "subject DN check: takes a three-letter country code (SWE) as well as two-letter ones"
            }
            Fault::DnSkipsLuhn => {
                "subject DN check: checks the shape of a Swedish organisation number, not its Luhn check digit"
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
