//! Deliberate bugs the reference RP can be built with, each one seen in real open-source Freja
//! clients (e.g. DSorlov/eid-provider-net, DSorlov/phpFreja, curityio/freja-eid-authenticator) or
//! FTN relying parties (e.g. telia-oss/tunnistus-python-sample, the OP Identity Service Broker
//! examples, JanssenProject/jans-auth-server#183), or named by RFC 8725. The vectors must catch
//! every one of them.

use std::fmt;
use std::str::FromStr;

/// The `Fault` enum, `Fault::ALL`, `name` and `description`: one entry per fault.
macro_rules! faults {
    ($($variant:ident = $name:literal: $description:literal,)+) => {
        #[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Ord, PartialOrd)]
        pub enum Fault {
            $($variant,)+
        }

        impl Fault {
            pub const ALL: &'static [Fault] = &[$(Fault::$variant),+];

            /// The name `--fault` takes.
            pub fn name(self) -> &'static str {
                match self {
                    $(Fault::$variant => $name,)+
                }
            }

            /// What the faulty RP does, and where real RPs do it.
            pub fn description(self) -> &'static str {
                match self {
                    $(Fault::$variant => $description,)+
                }
            }
        }
    };
}

faults! {
    RetryOn500 = "retry-on-500":
        "re-sends the same request up to 2 more times on HTTP 500 (the official C# client), the FTN token request included",
    Accept422 = "accept-422":
        "takes a 422 answer as a success and carries on with whatever it contains",
    DropErrorCode = "drop-error-code":
        "reports provider errors as a bare HTTP status, losing the error code",
    PanicOnUnknownCode = "panic-on-unknown-code":
        "crashes on an error code that is not in the documented catalogue",
    PanicOnUnknownStatus = "panic-on-unknown-status":
        "crashes on a transaction status it does not know",
    UnknownStatusApproved = "unknown-status-approved":
        "takes an unknown status as approval and logs in with the unsigned top-level requestedAttributes",
    MisspelledRpCanceled = "misspelled-rp-canceled":
        "knows RP_CANCELLED instead of RP_CANCELED, so it polls an RP_CANCELED transaction until the flow times out (jsFreja)",
    FollowRedirects = "follow-redirects":
        "follows up to 5 redirects, to any host",
    TrustAnyServerCert = "trust-any-server-cert":
        "accepts any server certificate and host name",
    NoHttpTimeout = "no-http-timeout":
        "puts no timeout on HTTP exchanges and no deadline on the flow",
    SkipSignatureCheck = "skip-signature-check":
        "decodes the details payload without verifying signature, alg or x5t",
    IgnoreReference = "ignore-reference":
        "does not compare the signed authRef/signRef with the one it initiated",
    DnAllowsAmpersand = "dn-allows-ampersand":
        "subject DN check: forgets `&` in its list of characters forbidden in O and OU",
    DnChecksOOnly = "dn-checks-o-only":
        "subject DN check: refuses the forbidden characters in O but not in OU",
    DnThreeLetterCountry = "dn-three-letter-country":
        "subject DN check: takes a three-letter country code (SWE) as well as two-letter ones",
    DnRefusesUnstatedRules = "dn-refuses-unstated-rules":
        "subject DN check: refuses what the provider does not forbid (an organisation number that fails Luhn, as the provider's own example 556677-8888 does, another spelling of it, an unlisted attribute such as L)",
    DnIgnoresInvisibles = "dn-ignores-invisibles":
        "subject DN check: looks only for the listed ASCII characters, so whitespace, control, invisible and look-alike characters pass",
    DnChecksValuesOnly = "dn-checks-values-only":
        "subject DN check: checks each value but not the set of attributes: missing, repeated and unlisted ones pass",
    AcceptAlgNone = "accept-alg-none":
        "takes a details JWS with alg none (any spelling) as valid without a signature",
    NoKeyAllowsAlgNone = "no-key-allows-alg-none":
        "when the header names no pinned key (x5t or kid absent, unknown, another's) it verifies with no key, which takes alg none with an empty signature (node jsonwebtoken before v9); a named key still refuses none",
    HmacWithPublicKey = "hmac-with-public-key":
        "verifies an HS256/384/512 details JWS with the pinned certificate PEM as the HMAC secret (RS256/HS256 confusion)",
    TrustJwk = "trust-jwk":
        "verifies with the public key in the header's jwk instead of the pinned certificate",
    FetchJku = "fetch-jku":
        "fetches the JWKS at the header's jku and verifies with its key",
    FetchX5u = "fetch-x5u":
        "fetches the certificate at the header's x5u and verifies with its key",
    TrustX5c = "trust-x5c":
        "verifies with the first certificate of the header's x5c instead of the pinned one",
    TryEveryCertificate = "try-every-certificate":
        "ignores x5t and accepts a signature that verifies under any pinned certificate",
    TrustUnsignedAttributes = "trust-unsigned-attributes":
        "returns the unsigned top-level requestedAttributes instead of the signed ones",
    AcceptLowerRegistrationLevel = "accept-lower-registration-level":
        "never compares the signed minRegistrationLevel with the level it requested, so a BASIC user passes where EXTENDED or PLUS was asked for",
    IgnoreCrit = "ignore-crit":
        "ignores crit, so it accepts extensions it does not understand",
    DuplicateMembersFirstWins = "duplicate-members-first-wins":
        "parses header and payload with a parser that keeps the first of duplicate member names (RFC 7515 §4 and RFC 7519 §4 allow only refusing or keeping the last)",
    AcceptUnencryptedIdToken = "accept-unencrypted-id-token":
        "takes a plain JWS as the ID token although encryption is registered (tunnistus-python-sample, omniauth_openid_federation)",
    SkipIdTokenSignature = "skip-id-token-signature":
        "decrypts the ID token, then decodes the inner JWS payload without verifying its signature (RFC 8725 §2.3)",
    HeaderChoosesJweAlg = "header-chooses-jwe-alg":
        "decrypts with whatever JWE alg and enc the header names, RSA1_5 included, instead of the registered ones",
    IgnoreAud = "ignore-aud":
        "does not check the ID token's aud",
    IgnoreIss = "ignore-iss":
        "does not check the ID token's iss",
    IgnoreNonce = "ignore-nonce":
        "does not compare the ID token's nonce with the one it sent",
    SkipAtHash = "skip-at-hash":
        "never compares the ID token's at_hash with the access token of the same response",
    IgnoreExp = "ignore-exp":
        "does not check the ID token's exp",
    IntegerNumericDates = "integer-numeric-dates":
        "refuses a NumericDate with a fraction or an exponent, which RFC 7519 §2 allows",
    RecurseIntoNestedJwe = "recurse-into-nested-jwe":
        "decrypts a JWE found inside the JWE too, and takes whatever it ends at as the token: a JWS is verified, bare claims are taken as an unsecured JWT (a generic parser behind cty JWT)",
    InflateZip = "inflate-zip":
        "inflates a `zip: DEF` JWE plaintext, with no bound, instead of refusing it",
    InflateWithoutCap = "inflate-without-cap":
        "reads an ID token of any size and inflates its `zip` plaintext (raw, zlib or gzip framing) with no bound before refusing `zip`: the right verdict at the cost of the whole bomb (the unbounded inflate of python-jose ≤ 3.3.0, CVE-2024-33664)",
    Pre2023HetuSigns = "pre-2023-hetu-signs":
        "knows only the HETU century signs + - A, not the 2023 signs Y X W V U B C D E F",
    AcceptInnerAlgNone = "accept-inner-alg-none":
        "accepts an inner JWS with alg none and no signature",
    IdTokenHmacWithPublicKey = "id-token-hmac-with-public-key":
        "verifies an inner HS256 JWS with the broker's public key PEM as the HMAC secret",
    IdTokenTrustJwk = "id-token-trust-jwk":
        "verifies the inner JWS with the public key its header carries as jwk instead of the broker's published keys",
    IdTokenTrustX5c = "id-token-trust-x5c":
        "verifies the inner JWS with the first certificate of its header's x5c, chained to no trust anchor",
    IdTokenFetchJku = "id-token-fetch-jku":
        "fetches the JWKS the inner header's jku names and verifies with its key (the one named by kid, else the first)",
    IdTokenFetchX5u = "id-token-fetch-x5u":
        "fetches the certificate the inner header's x5u names and verifies with its key",
    NoStateCheck = "no-state-check":
        "does not compare the callback's state with the one it sent (or notice it is missing)",
    WeakNonce = "weak-nonce":
        "makes the nonce from 8 random bytes, hex: 64 bits, under the 128 the profile asks for",
    StaticNonce = "static-nonce":
        "sends the same hard-coded nonce in every login",
    ReusedJti = "reused-jti":
        "uses one constant jti in every client assertion",
    AssertionAudIssuer = "assertion-aud-issuer":
        "sets the client assertion's aud to the issuer instead of the token endpoint URL",
    PkcePlain = "pkce-plain":
        "uses PKCE method plain: the code challenge is the verifier itself",
    UserinfoSubUnchecked = "userinfo-sub-unchecked":
        "merges userinfo claims without comparing their sub with the ID token's",
    AcceptPlainUserinfo = "accept-plain-userinfo":
        "takes a plain JSON userinfo response although a signed or encrypted one is registered",
    JwksPrivateMembers = "jwks-private-members":
        "publishes its keys as loaded, private members (d, p, q, dp, dq, qi) included",
    PemPkcs1 = "pem-pkcs1":
        "publishes its PEM as PKCS#1 `RSA PUBLIC KEY` blocks instead of the SubjectPublicKeyInfo `PUBLIC KEY` of the Nets example",
    PemPrivateKey = "pem-private-key":
        "asked for PEM, publishes its key files as loaded: the PKCS#8 private keys",
    KeyEnvironmentUnchecked = "key-environment-unchecked":
        "says it checks key markings, yet publishes a key marked for production in a test configuration",
    OneKeySigEnc = "one-key-sig-enc":
        "signs request objects and client assertions with its enc key and publishes that one key without use",
    NoJwksRefresh = "no-jwks-refresh":
        "never refreshes the broker JWKS, so a token signed with a newly published key is refused",
    JwksRefreshEveryLogin = "jwks-refresh-every-login":
        "fetches the broker JWKS again for every token instead of caching it",
    TokenRequestOnCancel = "token-request-on-cancel":
        "ignores the callback's error and calls the token endpoint after error=access_denied",
    TruncateCode = "truncate-code":
        "truncates the authorization code to 256 characters, as an input-length limit would",
    LongLivedRequestObject = "long-lived-request-object":
        "gives its request objects an exp 24 hours ahead",
    ParamsInFrontChannel = "params-in-front-channel":
        "also sends scope, state, nonce, redirect_uri and a login_hint in the clear next to request",
    AcceptWeakRpKey = "accept-weak-rp-key":
        "publishes (and would use) an RSA key under 2048 bits instead of refusing it",
    DecryptWithAnyKey = "decrypt-with-any-key":
        "tries every key it holds, signing keys included, whatever the JWE kid names",
    SkipCbcTagCheck = "skip-cbc-tag-check":
        "decrypts A*CBC-HS* content without checking the HMAC tag (decrypt, never authenticate)",
    PersonnummerWithoutLuhn = "personnummer-without-luhn":
        "checks a Swedish personnummer's shape and date but not its Luhn check digit",
    SsnWithoutCountry = "ssn-without-country":
        "sends an SSN userInfo as Base64 of `{\"ssn\"}`, without the country the provider's client always adds",
    EmptyAttributesToReturn = "empty-attributes-to-return":
        "sends `attributesToReturn: []` when no attribute is wanted (the provider's client refuses an empty list)",
    NoRegistrationLevel = "no-registration-level":
        "leaves `minRegistrationLevel` out of the init request, counting on a default",
    Base64UrlRequests = "base64url-requests":
        "encodes request JSON with the base64url alphabet (RFC 4648 §5) instead of standard Base64",
    IgnoreSignedText = "ignore-signed-text":
        "files a signature without comparing the signed dataToSign with the text it asked the user to sign",
    IgnoreSignedUser = "ignore-signed-user":
        "files a result without comparing the signed userInfoType/userInfo with the user it asked for",
    BasicLevelForExtendedAttributes = "basic-level-for-extended-attributes":
        "leaves `minRegistrationLevel` at BASIC when it asks for SSN, BASIC_USER_INFO or DATE_OF_BIRTH, which need EXTENDED or PLUS",
    SignatureTypeMismatch = "signature-type-mismatch":
        "declares `dataToSignType` EXTENDED_UTF8_TEXT for a SIMPLE signature",
    GiveUpAfterTenPolls = "give-up-after-ten-polls":
        "stops after ten pending answers and reports a timeout, long before its flow deadline (a fixed retry count instead of a deadline)",
    PersonalEndpointsForOrganisation = "personal-endpoints-for-organisation":
        "sends Organisation ID (ORG_ID) transactions to the personal endpoints instead of `/organisation/...`",
    PollWithoutDelay = "poll-without-delay":
        "polls getOneResult again as soon as an answer arrives, ignoring the poll interval",
    NoContentIsFailure = "no-content-is-failure":
        "takes a 204 (no body) answer to cancel or to a custom-identifier call for a failure, because it expects a JSON body",
    TruncateCustomIdentifier = "truncate-custom-identifier":
        "keeps at most 64 characters of a custom identifier, as a VARCHAR(64) column would, where the provider takes 128",
    CustomIdentifierWithoutUserInfo = "custom-identifier-without-user-info":
        "sets a custom identifier sending `userInfoType` and `customIdentifier` but no `userInfo` (jsFreja's NewCustomIdentifier)",
    RelyingPartyIdInJson = "relying-party-id-in-json":
        "puts its relyingPartyId (an integrator RP's) inside the request JSON instead of beside it as a form parameter",
    Rs256Only = "rs256-only":
        "verifies only RS256 ID tokens, whatever other algorithms the broker publishes and the registration names",
    AcceptUnlistedAlg = "accept-unlisted-alg":
        "verifies the inner JWS under any signature algorithm its library implements (RS384, RS512, PS*, ES256), not only those the broker publishes and the registration names",
    IgnoreJwkAlg = "ignore-jwk-alg":
        "verifies with the key the inner kid names under the header's alg, never comparing it with the key's JWK alg",
    IgnoreKeyUse = "ignore-key-use":
        "never reads a broker key's JWK use or key_ops, so it verifies with a key published for encryption or without verify",
    EcdsaDerSignature = "ecdsa-der-signature":
        "accepts an ES256 signature in DER form as well as the 64-byte r || s, as a verifier that converts any encoding before calling OpenSSL does",
    DecryptAnyAlg = "decrypt-any-alg":
        "decrypts with every JWE key management its library has when it holds a key of that type (ECDH-ES with its EC key), not only the registered algorithms",
    LenientPkcs1Padding = "lenient-pkcs1-padding":
        "checks an RS256 details signature by opening it and looking only for 00 01 at the start and the SHA-256 digest at the end, without parsing the padding or DigestInfo (Bleichenbacher 2006; python-rsa CVE-2016-1494, jsrsasign CVE-2020-14967)",
    AcceptJsonSerialization = "accept-json-serialization":
        "reads a JWS or JWE JSON serialization (flattened, or the first signature or recipient of the general form) where a compact token is expected, and accepts it if it verifies (a JOSE library's deserialize-any)",
    VerifySignatureOnly = "verify-signature-only":
        "takes any JWT the broker signed as an ID token: checks iss and the signature, no other claim",
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
