//! Deliberate bugs the reference RP can be built with, each one seen in real open-source Freja
//! clients (e.g. DSorlov/eid-provider-net, DSorlov/phpFreja, curityio/freja-eid-authenticator) or
//! FTN relying parties (e.g. telia-oss/tunnistus-python-sample, the OP Identity Service Broker
//! examples, JanssenProject/jans-auth-server#183), or named by RFC 8725. The vectors must catch
//! every one of them.

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
    DnRefusesUnstatedRules,
    DnIgnoresInvisibles,
    DnChecksValuesOnly,
    AcceptAlgNone,
    HmacWithPublicKey,
    TrustJwk,
    FetchJku,
    FetchX5u,
    TrustX5c,
    TryEveryCertificate,
    TrustUnsignedAttributes,
    AcceptLowerRegistrationLevel,
    IgnoreCrit,
    DuplicateMembersFirstWins,
    AcceptUnencryptedIdToken,
    SkipIdTokenSignature,
    HeaderChoosesJweAlg,
    IgnoreAud,
    IgnoreIss,
    IgnoreNonce,
    IgnoreExp,
    IntegerNumericDates,
    InflateZip,
    Pre2023HetuSigns,
    AcceptInnerAlgNone,
    IdTokenHmacWithPublicKey,
    NoStateCheck,
    WeakNonce,
    StaticNonce,
    ReusedJti,
    AssertionAudIssuer,
    PkcePlain,
    UserinfoSubUnchecked,
    AcceptPlainUserinfo,
    JwksPrivateMembers,
    OneKeySigEnc,
    NoJwksRefresh,
    JwksRefreshEveryLogin,
    TokenRequestOnCancel,
    TruncateCode,
    LongLivedRequestObject,
    ParamsInFrontChannel,
    AcceptWeakRpKey,
    DecryptWithAnyKey,
    SkipCbcTagCheck,
    PersonnummerWithoutLuhn,
    VerifySignatureOnly,
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
        Fault::DnRefusesUnstatedRules,
        Fault::DnIgnoresInvisibles,
        Fault::DnChecksValuesOnly,
        Fault::AcceptAlgNone,
        Fault::HmacWithPublicKey,
        Fault::TrustJwk,
        Fault::FetchJku,
        Fault::FetchX5u,
        Fault::TrustX5c,
        Fault::TryEveryCertificate,
        Fault::TrustUnsignedAttributes,
        Fault::AcceptLowerRegistrationLevel,
        Fault::IgnoreCrit,
        Fault::DuplicateMembersFirstWins,
        Fault::AcceptUnencryptedIdToken,
        Fault::SkipIdTokenSignature,
        Fault::HeaderChoosesJweAlg,
        Fault::IgnoreAud,
        Fault::IgnoreIss,
        Fault::IgnoreNonce,
        Fault::IgnoreExp,
        Fault::IntegerNumericDates,
        Fault::InflateZip,
        Fault::Pre2023HetuSigns,
        Fault::AcceptInnerAlgNone,
        Fault::IdTokenHmacWithPublicKey,
        Fault::NoStateCheck,
        Fault::WeakNonce,
        Fault::StaticNonce,
        Fault::ReusedJti,
        Fault::AssertionAudIssuer,
        Fault::PkcePlain,
        Fault::UserinfoSubUnchecked,
        Fault::AcceptPlainUserinfo,
        Fault::JwksPrivateMembers,
        Fault::OneKeySigEnc,
        Fault::NoJwksRefresh,
        Fault::JwksRefreshEveryLogin,
        Fault::TokenRequestOnCancel,
        Fault::TruncateCode,
        Fault::LongLivedRequestObject,
        Fault::ParamsInFrontChannel,
        Fault::AcceptWeakRpKey,
        Fault::DecryptWithAnyKey,
        Fault::SkipCbcTagCheck,
        Fault::PersonnummerWithoutLuhn,
        Fault::VerifySignatureOnly,
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
            Fault::DnRefusesUnstatedRules => "dn-refuses-unstated-rules",
            Fault::DnIgnoresInvisibles => "dn-ignores-invisibles",
            Fault::DnChecksValuesOnly => "dn-checks-values-only",
            Fault::AcceptAlgNone => "accept-alg-none",
            Fault::HmacWithPublicKey => "hmac-with-public-key",
            Fault::TrustJwk => "trust-jwk",
            Fault::FetchJku => "fetch-jku",
            Fault::FetchX5u => "fetch-x5u",
            Fault::TrustX5c => "trust-x5c",
            Fault::TryEveryCertificate => "try-every-certificate",
            Fault::TrustUnsignedAttributes => "trust-unsigned-attributes",
            Fault::AcceptLowerRegistrationLevel => "accept-lower-registration-level",
            Fault::IgnoreCrit => "ignore-crit",
            Fault::DuplicateMembersFirstWins => "duplicate-members-first-wins",
            Fault::AcceptUnencryptedIdToken => "accept-unencrypted-id-token",
            Fault::SkipIdTokenSignature => "skip-id-token-signature",
            Fault::HeaderChoosesJweAlg => "header-chooses-jwe-alg",
            Fault::IgnoreAud => "ignore-aud",
            Fault::IgnoreIss => "ignore-iss",
            Fault::IgnoreNonce => "ignore-nonce",
            Fault::IgnoreExp => "ignore-exp",
            Fault::IntegerNumericDates => "integer-numeric-dates",
            Fault::InflateZip => "inflate-zip",
            Fault::Pre2023HetuSigns => "pre-2023-hetu-signs",
            Fault::AcceptInnerAlgNone => "accept-inner-alg-none",
            Fault::IdTokenHmacWithPublicKey => "id-token-hmac-with-public-key",
            Fault::NoStateCheck => "no-state-check",
            Fault::WeakNonce => "weak-nonce",
            Fault::StaticNonce => "static-nonce",
            Fault::ReusedJti => "reused-jti",
            Fault::AssertionAudIssuer => "assertion-aud-issuer",
            Fault::PkcePlain => "pkce-plain",
            Fault::UserinfoSubUnchecked => "userinfo-sub-unchecked",
            Fault::AcceptPlainUserinfo => "accept-plain-userinfo",
            Fault::JwksPrivateMembers => "jwks-private-members",
            Fault::OneKeySigEnc => "one-key-sig-enc",
            Fault::NoJwksRefresh => "no-jwks-refresh",
            Fault::JwksRefreshEveryLogin => "jwks-refresh-every-login",
            Fault::TokenRequestOnCancel => "token-request-on-cancel",
            Fault::TruncateCode => "truncate-code",
            Fault::LongLivedRequestObject => "long-lived-request-object",
            Fault::ParamsInFrontChannel => "params-in-front-channel",
            Fault::AcceptWeakRpKey => "accept-weak-rp-key",
            Fault::DecryptWithAnyKey => "decrypt-with-any-key",
            Fault::SkipCbcTagCheck => "skip-cbc-tag-check",
            Fault::PersonnummerWithoutLuhn => "personnummer-without-luhn",
            Fault::VerifySignatureOnly => "verify-signature-only",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Fault::RetryOn500 => {
                "re-sends the same request up to 2 more times on HTTP 500 (the official C# client), the FTN token request included"
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
            Fault::DnRefusesUnstatedRules => {
                "subject DN check: refuses what the provider does not forbid (an organisation number that fails Luhn, as the provider's own example 556677-8888 does, another spelling of it, an unlisted attribute such as L)"
            }
            Fault::DnIgnoresInvisibles => {
                "subject DN check: looks only for the listed ASCII characters, so whitespace, control, invisible and look-alike characters pass"
            }
            Fault::DnChecksValuesOnly => {
                "subject DN check: checks each value but not the set of attributes: missing, repeated and unlisted ones pass"
            }
            Fault::AcceptAlgNone => {
                "takes a details JWS with alg none (any spelling) as valid without a signature"
            }
            Fault::HmacWithPublicKey => {
                "verifies an HS256/384/512 details JWS with the pinned certificate PEM as the HMAC secret (RS256/HS256 confusion)"
            }
            Fault::TrustJwk => {
                "verifies with the public key in the header's jwk instead of the pinned certificate"
            }
            Fault::FetchJku => "fetches the JWKS at the header's jku and verifies with its key",
            Fault::FetchX5u => {
                "fetches the certificate at the header's x5u and verifies with its key"
            }
            Fault::TrustX5c => {
                "verifies with the first certificate of the header's x5c instead of the pinned one"
            }
            Fault::TryEveryCertificate => {
                "ignores x5t and accepts a signature that verifies under any pinned certificate"
            }
            Fault::TrustUnsignedAttributes => {
                "returns the unsigned top-level requestedAttributes instead of the signed ones"
            }
            Fault::AcceptLowerRegistrationLevel => {
                "never compares the signed minRegistrationLevel with the level it requested, so a BASIC user passes where EXTENDED or PLUS was asked for"
            }
            Fault::IgnoreCrit => "ignores crit, so it accepts extensions it does not understand",
            Fault::DuplicateMembersFirstWins => {
                "parses header and payload with a parser that keeps the first of duplicate member names (RFC 7515 §4 and RFC 7519 §4 allow only refusing or keeping the last)"
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
            Fault::IntegerNumericDates => {
                "refuses a NumericDate with a fraction or an exponent, which RFC 7519 §2 allows"
            }
            Fault::InflateZip => {
                "inflates a `zip: DEF` JWE plaintext, with no bound, instead of refusing it"
            }
            Fault::Pre2023HetuSigns => {
                "knows only the HETU century signs + - A, not the 2023 signs Y X W V U B C D E F"
            }
            Fault::AcceptInnerAlgNone => "accepts an inner JWS with alg none and no signature",
            Fault::IdTokenHmacWithPublicKey => {
                "verifies an inner HS256 JWS with the broker's public key PEM as the HMAC secret"
            }
            Fault::NoStateCheck => {
                "does not compare the callback's state with the one it sent (or notice it is missing)"
            }
            Fault::WeakNonce => {
                "makes the nonce from 8 random bytes, hex: 64 bits, under the 128 the profile asks for"
            }
            Fault::StaticNonce => "sends the same hard-coded nonce in every login",
            Fault::ReusedJti => "uses one constant jti in every client assertion",
            Fault::AssertionAudIssuer => {
                "sets the client assertion's aud to the issuer instead of the token endpoint URL"
            }
            Fault::PkcePlain => "uses PKCE method plain: the code challenge is the verifier itself",
            Fault::UserinfoSubUnchecked => {
                "merges userinfo claims without comparing their sub with the ID token's"
            }
            Fault::AcceptPlainUserinfo => {
                "takes a plain JSON userinfo response although a signed or encrypted one is registered"
            }
            Fault::JwksPrivateMembers => {
                "publishes its keys as loaded, private members (d, p, q, dp, dq, qi) included"
            }
            Fault::OneKeySigEnc => {
                "signs request objects and client assertions with its enc key and publishes that one key without use"
            }
            Fault::NoJwksRefresh => {
                "never refreshes the broker JWKS, so a token signed with a newly published key is refused"
            }
            Fault::JwksRefreshEveryLogin => {
                "fetches the broker JWKS again for every token instead of caching it"
            }
            Fault::TokenRequestOnCancel => {
                "ignores the callback's error and calls the token endpoint after error=access_denied"
            }
            Fault::TruncateCode => {
                "truncates the authorization code to 256 characters, as an input-length limit would"
            }
            Fault::LongLivedRequestObject => "gives its request objects an exp 24 hours ahead",
            Fault::ParamsInFrontChannel => {
                "also sends scope, state, nonce, redirect_uri and a login_hint in the clear next to request"
            }
            Fault::AcceptWeakRpKey => {
                "publishes (and would use) an RSA key under 2048 bits instead of refusing it"
            }
            Fault::DecryptWithAnyKey => {
                "tries every key it holds, signing keys included, whatever the JWE kid names"
            }
            Fault::SkipCbcTagCheck => {
                "decrypts A*CBC-HS* content without checking the HMAC tag (decrypt, never authenticate)"
            }
            Fault::PersonnummerWithoutLuhn => {
                "checks a Swedish personnummer's shape and date but not its Luhn check digit"
            }
            Fault::VerifySignatureOnly => {
                "takes any JWT the broker signed as an ID token: checks iss and the signature, no other claim"
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
