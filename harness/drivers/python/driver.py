#!/usr/bin/env python3
"""An eidconf driver (adapter protocol 1, adapter/PROTOCOL.md) around a small Freja eID relying
party written with requests (mutual TLS) and jwcrypto (the `details` JWS).

    eidconf run --rp stdio -- python3 harness/drivers/python/driver.py
    eidconf run --rp exec  -- python3 harness/drivers/python/driver.py

Copy it and replace `FrejaRp` with calls into your own RP code. Requests are answered
concurrently (one thread each); stdout carries protocol lines only, logs go to stderr.
"""

import base64
import concurrent.futures
import datetime
import functools
import hashlib
import json
import os
import re
import sys
import tempfile
import threading
import time
import unicodedata

import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from jwcrypto import jwe, jwk, jws

PROTOCOL = 1
OPERATIONS = ["freja.authenticate", "freja.sign", "freja.cancel", "freja.verify_details",
              "freja.set_custom_identifier", "freja.delete_custom_identifier",
              "oidc.validate_id_token", "dn.validate"]

ENDPOINTS = {
    "freja.authenticate": {
        "init": ("/authentication/1.0/initAuthentication", "initAuthRequest"),
        "poll": ("/authentication/1.0/getOneResult", "getOneAuthResultRequest"),
        "cancel": ("/authentication/1.0/cancel", "cancelAuthRequest"),
        "ref": "authRef",
    },
    "freja.sign": {
        "init": ("/sign/1.0/initSignature", "initSignRequest"),
        "poll": ("/sign/1.0/getOneResult", "getOneSignResultRequest"),
        "cancel": ("/sign/1.0/cancel", "cancelSignRequest"),
        "ref": "signRef",
    },
}
# The Organisation ID context: the same calls under /organisation/.
ORG_ENDPOINTS = {
    "freja.authenticate": {
        "init": ("/organisation/authentication/1.0/init", "initAuthRequest"),
        "poll": ("/organisation/authentication/1.0/getOneResult", "getOneAuthResultRequest"),
        "cancel": ("/organisation/authentication/1.0/cancel", "cancelAuthRequest"),
        "ref": "authRef",
    },
    "freja.sign": {
        "init": ("/organisation/sign/1.0/init", "initSignRequest"),
        "poll": ("/organisation/sign/1.0/getOneResult", "getOneSignResultRequest"),
        "cancel": ("/organisation/sign/1.0/cancel", "cancelSignRequest"),
        "ref": "signRef",
    },
}
# Custom identifier management (the provider's client, MethodUrl.java and RequestTemplate.java).
SET_CUSTOM_IDENTIFIER = ("/user/manage/1.0/setCustomIdentifier", "setCustomIdentifierRequest")
DELETE_CUSTOM_IDENTIFIER = ("/user/manage/1.0/deleteCustomIdentifier", "deleteCustomIdentifierRequest")
# Inner JWS algorithms this driver verifies; the registration narrows them.
VERIFIABLE = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256"}
PENDING = {"STARTED", "DELIVERED_TO_MOBILE"}
FINAL = {"CANCELED", "RP_CANCELED", "EXPIRED", "REJECTED"}
# Registration levels in ascending order (Freja eID Relying Party Developers' Documentation).
LEVELS = ("BASIC", "EXTENDED", "PLUS")
# Attributes released only at EXTENDED or PLUS (the provider's documentation).
NEED_EXTENDED = {"BASIC_USER_INFO", "DATE_OF_BIRTH", "SSN"}


class Rejected(Exception):
    """The RP refuses; `reason` is one of eidconf's reason classes."""

    def __init__(self, reason, detail, **extra):
        super().__init__(detail)
        self.outcome = {"verdict": "rejected", "reason": reason, "detail": detail, **extra}


def b64url(segment):
    """Strict, like the reference RP: unpadded base64url alphabet only, and canonical (no stray
    trailing bits), so one token has exactly one encoding."""
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    if not set(segment) <= alphabet or len(segment) % 4 == 1:
        raise ValueError("is not base64url")
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != segment:
        raise ValueError("is not canonical base64url")
    return data


class DuplicateMember(ValueError):
    def __init__(self, name):
        super().__init__(f"has the member {name!r} twice")
        self.name = name


def _no_duplicates(pairs):
    # Python's json keeps the last of two equal names; a verifier and a reader that disagree on
    # which one counts is an attack (RFC 8725 §3.2), so refuse duplicates outright.
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise DuplicateMember(k)
        seen.add(k)
    return dict(pairs)


def _finite(text):
    value = float(text)
    if value in (float("inf"), float("-inf")) or value != value:
        raise ValueError(f"number {text[:20]}… is out of range")
    return value


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


def strict_object(data):
    """A JSON object, strictly: UTF-8, no duplicate member names, no NaN/Infinity."""
    try:
        value = json.loads(data, object_pairs_hook=_no_duplicates, parse_float=_finite,
                           parse_constant=_no_constants)
    except DuplicateMember:
        raise
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        value = None
    if not isinstance(value, dict):
        raise ValueError("is not a JSON object")
    return value


def is_int64(v):
    return isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63


def level_satisfies(signed, requested):
    """Whether the signed minRegistrationLevel meets the requested one: BASIC < EXTENDED < PLUS;
    any other level (INFERRED, or one added later) meets only itself; an absent one only BASIC."""
    if requested == "BASIC":
        return True
    if not isinstance(signed, str):
        return False
    if requested in LEVELS:
        return signed in LEVELS and LEVELS.index(signed) >= LEVELS.index(requested)
    return signed == requested


# --- Freja eID -------------------------------------------------------------------------------

MAX_DETAILS = 64 * 1024  # a Freja details JWS is a few KiB; refuse anything huge before decoding


class DetailsVerifier:
    """Verifies a `details` JWS against the pinned signing certificates, selected by x5t."""

    def __init__(self, certificates_pem):
        self.pins = {}
        for pem in certificates_pem:
            for cert in x509.load_pem_x509_certificates(pem.encode()):
                der = cert.public_bytes(Encoding.DER)
                x5t = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()
                self.pins[x5t] = jwk.JWK.from_pem(cert.public_bytes(Encoding.PEM))

    def verify(self, details):
        if len(details) > MAX_DETAILS:
            raise Rejected("signature_invalid", f"details: {len(details)} bytes is more than a result can be")
        parts = details.split(".")
        if len(parts) != 3:
            raise Rejected("signature_invalid", "details is not a compact JWS of 3 segments")
        try:
            payload = b64url(parts[1])
            header = strict_object(b64url(parts[0]))
            b64url(parts[2])
        except ValueError as e:
            raise Rejected("signature_invalid", f"details: a segment {e}")
        if header.get("alg") != "RS256":
            raise Rejected("algorithm_rejected", f"details: alg {header.get('alg')!r} is not RS256")
        key = self.pins.get(header.get("x5t")) if isinstance(header.get("x5t"), str) else None
        if key is None:
            raise Rejected("key_unknown", f"details: x5t {header.get('x5t')!r} matches no pinned certificate")
        token = jws.JWS()
        try:
            token.deserialize(details)
            token.allowed_algs = ["RS256"]
            token.verify(key, alg="RS256")
        except Exception as e:  # jwcrypto raises several types; all mean "does not verify"
            raise Rejected("signature_invalid", f"details: {e}")
        try:
            return strict_object(payload)
        except ValueError as e:
            raise Rejected("signature_invalid", f"details: the payload {e}")

    def result(self, details, ref_field, ref, requested_level="BASIC", asked_text=None, asked_user=None):
        """The identity of an APPROVED result whose `details` is this JWS, for a request that
        asked for `requested_level` (and, for a signature, asked the user to sign `asked_text`,
        Base64)."""
        payload = self.verify(details)
        if payload.get("status") != "APPROVED":
            extra = {}
            if "status" in payload:
                s = payload["status"]
                extra["status"] = s if isinstance(s, str) else json.dumps(s)
            raise Rejected("status_not_approved", "the signed status is not APPROVED", **extra)
        if payload.get(ref_field) != ref:
            raise Rejected("reference_mismatch", f"the signed {ref_field} is not {ref}")
        level = payload.get("minRegistrationLevel")
        if not level_satisfies(level, requested_level):
            raise Rejected("claims_invalid", f"the signed minRegistrationLevel {level!r} is below the "
                           f"requested {requested_level}", claim="minRegistrationLevel")
        # The result names the user this RP asked for (empty, absent or N/A names nobody else).
        if asked_user is not None and not same_user(payload, *asked_user):
            raise Rejected("claims_invalid", "the signed userInfoType/userInfo is not the user this RP "
                           "asked for", claim="userInfo")
        # A signature is consent to what was presented: the signed text must be the one asked.
        if asked_text is not None and "dataToSign" in payload:
            signed = payload["dataToSign"]
            try:
                signed = json.loads(signed) if isinstance(signed, str) else signed
            except ValueError:
                signed = None
            if not isinstance(signed, dict) or signed.get("text") != asked_text:
                raise Rejected("claims_invalid", "the signed dataToSign is not the text this RP asked "
                               "the user to sign", claim="dataToSign")
        return {
            "userInfoType": payload.get("userInfoType"),
            "userInfo": payload.get("userInfo"),
            "requestedAttributes": payload.get("requestedAttributes", {}),
        }


def same_user(payload, kind, sent):
    """Whether the signed userInfoType/userInfo can name the user asked for: an SSN by country
    and number, an e-mail address in any case, anything else verbatim."""
    signed_kind, signed = payload.get("userInfoType"), payload.get("userInfo")
    if signed_kind not in (None, "") and signed_kind != kind:
        return False
    if signed in (None, "") or kind == "INFERRED":
        return True
    if kind == "SSN":
        try:
            asked = json.loads(base64.b64decode(sent, validate=True))
            signed = json.loads(signed) if isinstance(signed, str) else signed
        except ValueError:
            return False
        key = lambda v: (v.get("country"), v.get("ssn")) if isinstance(v, dict) else None
        return key(asked) is not None and key(asked) == key(signed)
    if kind == "EMAIL":
        return isinstance(signed, str) and signed.lower() == sent.lower()
    return signed == sent


def wire_user_info(request):
    """`userInfo` as sent: Freja wants an SSN as Base64 of {"country", "ssn"}."""
    if request["user_info_type"] == "SSN":
        ssn = json.dumps({"country": request.get("country") or "SE", "ssn": request["user_info"]})
        return base64.b64encode(ssn.encode()).decode()
    return request["user_info"]


class FrejaRp:
    """A Freja eID RP for one vector's environment."""

    def __init__(self, env):
        self.env = env
        if not env["base_url"].startswith("https://"):
            raise Rejected("invalid_input", "the base URL is not https")
        self.dir = tempfile.TemporaryDirectory(prefix="eidconf-driver-")
        self.ca = self._write("ca.pem", "\n".join(env["trust_anchors_pem"]))
        self.cert = self._write("client.pem", env["client_certificate_pem"])
        self.key = self._write("client.key", env["client_key_pem"])
        self.timeout = env["http_timeout_ms"] / 1000
        self.details = DetailsVerifier(env["jws_certificates_pem"])
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies, no netrc

    def _write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def close(self):
        self.session.close()
        self.dir.cleanup()

    def call(self, path, param, request, no_content_ok=False):
        """One exchange; `no_content_ok`: a 204 with no body is the answer (cancel, user
        management), where elsewhere it lacks the body the RP needs."""
        body = f"{param}=" + base64.b64encode(json.dumps(request).encode()).decode()
        if self.env.get("relying_party_id"):
            body += "&relyingPartyId=" + requests.utils.quote(self.env["relying_party_id"], safe="")
        name = path
        try:
            resp = self.session.post(
                self.env["base_url"].rstrip("/") + path,
                data=body,
                headers={"Content-Type": "application/json"},
                cert=(self.cert, self.key),
                verify=self.ca,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.exceptions.Timeout as e:
            raise Rejected("timeout", str(e))
        except requests.exceptions.SSLError as e:
            # Our verification of the server failed (untrusted, expired, wrong host); anything
            # else in TLS (the server refusing our certificate) is a transport failure.
            reason = "server_untrusted" if "CERTIFICATE_VERIFY_FAILED" in str(e) else "transport"
            raise Rejected(reason, str(e))
        except requests.exceptions.RequestException as e:
            raise Rejected("transport", str(e))
        status = resp.status_code
        if status == 204 and no_content_ok:
            return {}
        if 200 <= status < 300:
            try:
                value = resp.json()
            except ValueError:
                value = None
            if not isinstance(value, dict):
                raise Rejected("malformed_response", f"{name} answered {status} with a body that is not a JSON object")
            return value
        http_status = Rejected("http_status", f"{name} answered HTTP {status}", status=str(status))
        if 300 <= status < 400:
            raise http_status
        try:
            value = resp.json()
        except ValueError:
            value = None
        code = value.get("code") if isinstance(value, dict) else None
        if not is_int64(code):
            raise http_status
        raise Rejected("provider_error", f"{name} answered HTTP {status} with error code {code}", code=code)

    def init_request(self, op, request):
        # BASIC is the service's default, but SSN, BASIC_USER_INFO and DATE_OF_BIRTH need more.
        restricted = set(request.get("attributes_to_return") or ()) & NEED_EXTENDED
        init = {
            "userInfoType": request["user_info_type"],
            "userInfo": request["user_info"],
            "minRegistrationLevel": request.get("min_registration_level")
            or ("EXTENDED" if restricted else "BASIC"),
        }
        init["userInfo"] = wire_user_info(request)
        if request.get("attributes_to_return"):
            init["attributesToReturn"] = [{"attribute": a} for a in request["attributes_to_return"]]
        if op == "freja.sign":
            if request.get("title") is not None:
                init["title"] = request["title"]
            init["dataToSignType"] = "SIMPLE_UTF8_TEXT"
            init["dataToSign"] = {"text": base64.b64encode(request["text"].encode()).decode()}
            init["signatureType"] = "SIMPLE"
        return init

    def start(self, op, request):
        """Initiate; the endpoints, the request sent and the reference the provider gave."""
        ep = (ORG_ENDPOINTS if request.get("organisation") else ENDPOINTS)[op]
        init = self.init_request(op, request)
        answer = self.call(*ep["init"], init)
        ref = answer.get(ep["ref"])
        if not isinstance(ref, str) or not ref:
            raise Rejected("malformed_response", f"init answer has no {ep['ref']}")
        return ep, init, ref

    def cancel(self, request):
        """Initiate (a signature when `text` is given), then cancel at once without polling."""
        op = "freja.sign" if request.get("text") is not None else "freja.authenticate"
        ep, _, ref = self.start(op, request)
        self.call(*ep["cancel"], {ep["ref"]: ref}, no_content_ok=True)
        return {"verdict": "accepted", "identity": {}}

    def manage_custom_identifier(self, op, request):
        if op == "freja.set_custom_identifier":
            body = {"userInfoType": request["user_info_type"], "userInfo": wire_user_info(request),
                    "customIdentifier": request["custom_identifier"]}
            self.call(*SET_CUSTOM_IDENTIFIER, body, no_content_ok=True)
        else:
            self.call(*DELETE_CUSTOM_IDENTIFIER, {"customIdentifier": request["custom_identifier"]},
                      no_content_ok=True)
        return {"verdict": "accepted", "identity": {}}

    def run(self, op, request):
        deadline = time.monotonic() + self.env["flow_timeout_ms"] / 1000
        ep, init, ref = self.start(op, request)
        ref_field = ep["ref"]
        while True:
            if time.monotonic() > deadline:
                raise Rejected("timeout", "the flow did not end in time")
            answer = self.call(*ep["poll"], {ref_field: ref})
            status = answer.get("status")
            if not isinstance(status, str):
                raise Rejected("malformed_response", "getOneResult answer has no status string")
            if status == "APPROVED":
                asked = init["dataToSign"]["text"] if "dataToSign" in init else None
                return self.approved(answer, ref_field, ref, init["minRegistrationLevel"], asked,
                                     (init["userInfoType"], init["userInfo"]))
            if status in FINAL:
                raise Rejected("status_not_approved", f"the transaction ended {status}", status=status)
            # PENDING, or a status we do not know: never approval, keep polling.
            time.sleep(self.env["poll_interval_ms"] / 1000)

    def approved(self, answer, ref_field, ref, requested_level, asked_text=None, asked_user=None):
        details = answer.get("details")
        if not isinstance(details, str):
            raise Rejected("malformed_response", "APPROVED without a details string")
        identity = self.details.result(details, ref_field, ref, requested_level, asked_text, asked_user)
        return {"verdict": "accepted", "identity": identity}


# --- FTN ID tokens (OpenID Connect) ----------------------------------------------------------

MAX_ID_TOKEN = 64 * 1024  # refuse anything larger before decoding (eidconf's choice)
MAX_AGE_SECONDS = 3600  # brokers issue tokens valid for minutes; an hour-old iat is a replay
# The key management algorithms this RP can do at all; the registration narrows them further.
JWE_KEY_ALGS = ("RSA-OAEP", "RSA-OAEP-256")
# The claims that carry a Finnish HETU at the FTN brokers.
HETU_CLAIMS = ("urn:oid:1.2.246.21", "personal_identity_code", "hetu", "ftn_hetu", "fi_ssn")


def bad_claim(name, detail):
    return Rejected("claims_invalid", detail, claim=name)


@functools.lru_cache(maxsize=32)
def private_key(pem):
    # An RP loads its keys once; the harness sends them with every request, and loading an RSA
    # key (with its consistency checks) costs tens of milliseconds under the GIL.
    return jwk.JWK.from_pem(pem.encode())


class IdTokenValidator:
    """Validates one signed-then-encrypted ID token for the RP registration in `env`."""

    def __init__(self, env):
        self.env = env
        self.enc_keys = [(k["kid"], private_key(k["private_key_pem"]))
                         for k in env["rp_keys"] if k["use"] == "enc"]

    def validate(self, request):
        token = request["id_token"].strip()
        if len(token) > MAX_ID_TOKEN:
            raise Rejected("malformed_response", f"the ID token is longer than {MAX_ID_TOKEN} bytes")
        parts = token.split(".")
        if len(parts) == 5:
            signed = self.decrypt(token, parts)
        elif len(parts) == 3 and self.env["encryption_required"]:
            raise Rejected("encryption_required", "encryption is registered but the ID token is a plain JWS")
        elif len(parts) == 3:
            signed = token.encode()
        else:
            raise Rejected("malformed_response", f"the ID token has {len(parts)} parts, not a compact JWE")
        claims = self.verify(signed)
        self.check_claims(claims, request)
        return claims

    def decrypt(self, token, parts):
        # Everything the header decides is checked here, before jwcrypto sees the token: the
        # library would otherwise let the header pick from all the algorithms it implements.
        try:
            header = strict_object(b64url(parts[0]))
        except ValueError:
            raise Rejected("malformed_response", "the JWE protected header is not a JSON object")
        alg, enc = header.get("alg"), header.get("enc")
        if alg not in JWE_KEY_ALGS or alg not in self.env["id_token_encryption_alg_values"]:
            raise Rejected("algorithm_rejected", f"JWE alg {alg!r} is not registered")
        if not isinstance(enc, str) or enc not in self.env["id_token_encryption_enc_values"]:
            raise Rejected("algorithm_rejected", f"JWE enc {enc!r} is not registered")
        if "crit" in header:
            raise Rejected("algorithm_rejected", "the JWE header has crit; no extension is understood")
        if "zip" in header:  # RFC 8725 §3.6; no FTN broker compresses
            raise Rejected("algorithm_rejected", f"JWE zip {header['zip']!r} is refused")
        cty = header.get("cty", "JWT")
        if not isinstance(cty, str) or cty.upper() != "JWT":
            raise Rejected("malformed_response", f"JWE cty {cty!r} is not JWT")
        # The key: by kid among the `use: enc` keys only; without a kid, each enc key in turn.
        keys = [key for kid, key in self.enc_keys if "kid" not in header or header["kid"] == kid]
        if not keys:
            raise Rejected("key_unknown", "the JWE kid names none of the RP's encryption keys")
        for key in keys:
            jwe_token = jwe.JWE()
            jwe_token.allowed_algs = [alg, enc]
            try:
                jwe_token.deserialize(token, key)
                return jwe_token.payload
            except Exception:  # noqa: BLE001 — every cause is the same refusal (RFC 7516 §11.5)
                continue
        raise Rejected("decryption_failed", "the ID token could not be decrypted")

    def verify(self, signed):
        not_signed = Rejected("signature_invalid", "the ID token is not a signed JWT")
        try:
            text = signed.decode("utf-8")
            h, p, s = text.split(".")
            payload = b64url(p)
            header = strict_object(b64url(h))
            b64url(s)
        except ValueError:  # also: not three segments
            raise not_signed
        k = self.broker_key(header)
        alg = header.get("alg")
        # What the broker publishes and the registration names, within what this RP verifies.
        if alg not in VERIFIABLE or alg not in self.env["id_token_signing_alg_values"]:
            raise Rejected("algorithm_rejected", f"inner JWS alg {alg!r} is not registered")
        if "crit" in header:
            raise Rejected("algorithm_rejected", "the inner JWS header has crit; no extension is understood")
        key = self.usable_key(k, alg)
        # ES256 is exactly r || s, 64 octets (RFC 7518 §3.4): never DER, never padded.
        if alg == "ES256" and len(b64url(s)) != 64:
            raise Rejected("signature_invalid", "an ES256 signature is 64 octets")
        token = jws.JWS()
        try:
            token.deserialize(text)
            token.allowed_algs = [alg]
            token.verify(key, alg=alg)
        except Exception:  # noqa: BLE001 — jwcrypto raises several types; all mean "does not verify"
            raise Rejected("signature_invalid", f"the {alg} signature does not verify")
        try:
            return strict_object(payload)
        except DuplicateMember as e:
            raise bad_claim(e.name, f"claim {e.name!r} appears twice")
        except ValueError:
            raise not_signed

    def broker_key(self, header):
        # Only the pinned JWKS, by the inner kid: jku, jwk, x5u and x5c are never looked at.
        kid = header.get("kid")
        for k in self.env["broker_jwks"].get("keys", []):
            if isinstance(kid, str) and k.get("kid") == kid:
                return k
        raise Rejected("key_unknown", "the inner kid names none of the broker's signing keys")

    @staticmethod
    def usable_key(k, alg):
        """The broker JWK `k` as a key for `alg`: use sig (if given), key_ops with verify (if
        given; RFC 7517 §4.2, §4.3), its own alg only (RFC 8725 §3.1), a key type that does alg."""
        if k.get("use", "sig") != "sig":
            raise Rejected("key_unknown", f"the broker key is published for use {k.get('use')!r}")
        if "key_ops" in k and not (isinstance(k["key_ops"], list) and "verify" in k["key_ops"]):
            raise Rejected("key_unknown", "the broker key's key_ops do not include verify")
        if "alg" in k and k["alg"] != alg:
            raise Rejected("algorithm_rejected", f"the broker key is for {k['alg']!r}, not {alg!r}")
        try:
            if alg == "ES256" and k.get("kty") == "EC" and k.get("crv") == "P-256":
                return jwk.JWK(kty="EC", crv="P-256", x=k["x"], y=k["y"])
            if alg != "ES256" and k.get("kty") == "RSA":
                return jwk.JWK(kty="RSA", n=k["n"], e=k["e"])
        except Exception:  # noqa: BLE001 — a broken entry is no key
            raise Rejected("key_unknown", "the broker key does not parse")
        raise Rejected("algorithm_rejected", f"{alg} cannot verify with a {k.get('kty')!r} key")

    def check_claims(self, c, request):
        env = self.env
        if c.get("iss") != env["issuer"]:
            raise bad_claim("iss", "iss is not the broker's issuer")
        aud, client = c.get("aud"), env["client_id"]
        # Every audience must be this client: no untrusted extra audience (Core §3.1.3.7 step 3).
        if not (aud == client or isinstance(aud, list) and aud and all(a == client for a in aud)):
            raise bad_claim("aud", "aud is not exactly this client")
        if "azp" in c and c["azp"] != client:
            raise bad_claim("azp", "azp is not this client")
        def numeric_date(name):
            # Any JSON number, fractions and exponents included (RFC 7519 §2); strict_object
            # already refused non-finite ones. Not a string, a boolean or null.
            v = c.get(name)
            if name in c and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise bad_claim(name, f"{name} is not a NumericDate")
            return v

        now, skew = int(time.time()), env["clock_skew_seconds"]
        exp = numeric_date("exp")
        if exp is None:
            raise bad_claim("exp", "exp is missing")
        if now >= exp + skew:
            raise bad_claim("exp", "the ID token has expired")
        iat = numeric_date("iat")
        if iat is None:
            raise bad_claim("iat", "iat is missing")
        if iat > now + skew:
            raise bad_claim("iat", "iat is in the future")
        if iat < now - MAX_AGE_SECONDS:
            raise bad_claim("iat", "the ID token was issued too long ago")
        nbf = numeric_date("nbf")
        if nbf is not None and nbf > now + skew:
            raise bad_claim("nbf", "the ID token is not valid yet")
        numeric_date("auth_time")
        if request.get("nonce") is not None and c.get("nonce") != request["nonce"]:
            raise bad_claim("nonce", "nonce is not the one sent")
        acr_values = request.get("acr_values") or []
        if acr_values and not (isinstance(c.get("acr"), str) and c["acr"] in acr_values):
            raise bad_claim("acr", "acr is not one of the requested values")
        # Core 3.1.3.8: an at_hash binds the access token of the same response (RS256: SHA-256).
        token = request.get("access_token")
        if token is not None and "at_hash" in c:
            digest = hashlib.sha256(token.encode("ascii", "replace")).digest()
            if c["at_hash"] != base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode():
                raise bad_claim("at_hash", "at_hash is not the hash of the access token")
        if not isinstance(c.get("sub"), str) or not c["sub"]:
            raise bad_claim("sub", "sub is missing or empty")
        for name in HETU_CLAIMS:
            if name in c:
                check_identifier(name, c[name], hetu)
        if "nin" in c:
            country = c.get("nin_issuing_country")
            check = NIN_CHECKS.get(country) if isinstance(country, str) else None
            if check is None:
                raise bad_claim("nin", "nin_issuing_country is missing or unknown")
            check_identifier("nin", c["nin"], check)


# --- National identifiers (the algorithms of harness/src/pki/ident.rs) -----------------------

def check_identifier(claim, value, check):
    if not isinstance(value, str):
        raise bad_claim(claim, f"{claim} is not a string")
    problem = check(value)
    if problem:
        raise bad_claim(claim, f"{claim}: {problem}")


def valid_date(year, month, day):
    try:
        datetime.date(year, month, day)
        return True
    except ValueError:
        return False


def ascii_digits(s):
    return s.isascii() and s.isdigit()


# Century signs of decree 690/2022 (in force 1 Jan 2023), not only the old + - A.
HETU_CENTURY = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900,
                "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000, "F": 2000}


def hetu(s):
    """A Finnish henkilötunnus DDMMYYCZZZQ; returns the problem, or None."""
    if len(s) != 11 or not s.isascii():
        return "a HETU has 11 ASCII characters"
    if not (ascii_digits(s[:6]) and ascii_digits(s[7:10])):
        return "a HETU is DDMMYY, a century sign, 3 digits and a check character"
    if s[6] not in HETU_CENTURY:
        return f"unknown century sign {s[6]!r}"
    if not valid_date(HETU_CENTURY[s[6]] + int(s[4:6]), int(s[2:4]), int(s[:2])):
        return "the birth date does not exist"
    if int(s[7:10]) < 2:
        return "individual numbers 000 and 001 are not issued"
    want = "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(s[:6] + s[7:10]) % 31]
    if s[10] != want:
        return f"check character is {s[10]!r}, expected {want!r}"
    return None


def personnummer(s):
    """A Swedish personnummer or samordningsnummer (day + 60), 10 or 12 digits."""
    digits = "".join(ch for ch in s if ch not in "-+")
    if not ascii_digits(digits) or len(s) - len(digits) > 1:
        return "a personnummer is digits with at most one - or +"
    if len(digits) not in (10, 12):
        return "a personnummer has 10 or 12 digits"
    ten = digits[-10:]
    yy, mm, dd = int(ten[:2]), int(ten[2:4]), int(ten[4:6])
    if dd > 60:
        dd -= 60
    centuries = [int(digits[:2]) * 100] if len(digits) == 12 else [1800, 1900, 2000]
    if not any(valid_date(c + yy, mm, dd) for c in centuries):
        return "the birth date does not exist"
    if int(ten[6:9]) == 0:
        return "the birth number 000 is not issued"
    total = 0
    for i, ch in enumerate(ten[:9]):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    if int(ten[9]) != (10 - total % 10) % 10:
        return "the Luhn check digit does not match"
    return None


def fodselsnummer(s):
    """A Norwegian fødselsnummer, D-nummer (day + 40), H-nummer (month + 40) or synthetic (+ 80)."""
    if len(s) != 11 or not ascii_digits(s):
        return "a fødselsnummer has 11 digits"
    d = [int(ch) for ch in s]

    def weighted(w):
        return sum(a * b for a, b in zip(w, d)) % 11

    # The first control digit accepts the remainders 0-3 of the rule for numbers issued from 2032
    # (a superset; Skatteetaten, "Nye fødselsnummer og d-nummer fra 2032").
    if weighted([3, 7, 6, 1, 8, 9, 4, 5, 2, 1]) > 3:
        return "the first control digit does not match"
    if weighted([5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1]) != 0:
        return "the second control digit does not match"
    dd, mm, yy, ind = int(s[:2]), int(s[2:4]), int(s[4:6]), int(s[6:9])
    dd -= 40 if dd > 40 else 0
    mm -= 80 if mm > 80 else 40 if mm > 40 else 0
    if ind <= 499:
        year = 1900 + yy
    elif ind <= 749 and yy >= 54:
        year = 1800 + yy
    elif yy <= 39:
        year = 2000 + yy
    elif ind >= 900:
        year = 1900 + yy
    else:
        return "the individual number does not fit the birth year"
    return None if valid_date(year, mm, dd) else "the birth date does not exist"


def cpr(s):
    """A Danish CPR number. Mod-11 is not checked: numbers issued since 2007 need not pass it."""
    digits = s.replace("-", "")
    if len(digits) != 10 or len(s) - len(digits) > 1 or not ascii_digits(digits):
        return "a CPR number has 10 digits, optionally DDMMYY-SSSS"
    dd, mm, yy, d7 = int(digits[:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6])
    if d7 <= 3:
        year = 1900 + yy
    elif d7 in (4, 9):
        year = 2000 + yy if yy <= 36 else 1900 + yy
    else:
        year = 2000 + yy if yy <= 57 else 1800 + yy
    return None if valid_date(year, mm, dd) else "the birth date does not exist"


NIN_CHECKS = {"FI": hetu, "SE": personnummer, "NO": fodselsnummer, "DK": cpr}


# --- Subject DN of a Freja client certificate (harness/src/pki/dn.rs, orgnr.rs) --------------

# The provider's DN table lists exactly these five; tools may name them long or by OID.
DN_FIELDS = {}
for _short, _long, _oid in [("C", "countryName", "2.5.4.6"), ("O", "organizationName", "2.5.4.10"),
                            ("OU", "organizationalUnitName", "2.5.4.11"), ("CN", "commonName", "2.5.4.3"),
                            ("OI", "organizationIdentifier", "2.5.4.97")]:
    DN_FIELDS.update({_short: _short, _long: _short, _oid: _short})
DN_REQUIRED = ("C", "O", "OI")
DN_FORBIDDEN = "<>~!@#$%^*/\\()?.,&"  # in O and OU, per the provider's table
UB_NAME = 64  # X.520 upper bound for O, OU and CN
# Zero-width and bidirectional formatting characters and the BOM: invisible, yet different bytes.
INVISIBLE = re.compile("[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                       "\u2066-\u206f\ufeff\ufff9-\ufffb]")
# Characters that render like a forbidden one (besides the fullwidth forms U+FF01..U+FF5E).
LOOK_ALIKES = {
    "<": "\ufe64\u2039\u2329\u3008\u27e8\u2264", ">": "\ufe65\u203a\u232a\u3009\u27e9\u2265",
    "~": "\u223c\u02dc\u2053\u301c", "!": "\ufe57\u01c3\u203c\u2762", "@": "\ufe6b",
    "#": "\ufe5f\u266f", "$": "\ufe69", "%": "\ufe6a\u2030\u066a", "^": "\u02c6\u2038\u02c4",
    "*": "\ufe61\u2217\u204e\u2731\u066d", "/": "\u2215\u2044\u29f8\uff0f",
    "\\": "\u2216\u29f5\u29f9\ufe68", "(": "\ufe59\u2768\u276a\u207d\u208d",
    ")": "\ufe5a\u2769\u276b\u207e\u208e", "?": "\ufe56\u0294\u2e2e",
    ".": "\u2024\ufe52\u3002\uff61\u0701\u00b7", ",": "\u201a\ufe50\u3001\ufe51\u060c\u02cf",
    "&": "\ufe60\u214b",
}
ISO_3166_1_ALPHA_2 = set("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split())


def look_alike(ch):
    if "\uff01" <= ch <= "\uff5e":
        ascii_ch = chr(ord(ch) - 0xFEE0)
        return ascii_ch if ascii_ch in DN_FORBIDDEN else None
    return next((f for f, likes in LOOK_ALIKES.items() if ch in likes), None)


def dn_value_problem(field, value):
    if not value:
        return "is empty; leave the attribute out or give it a value"
    for pos, ch in enumerate(value, 1):
        if unicodedata.category(ch) == "Cc":
            return f"character {pos} (U+{ord(ch):04X}) is a control character"
        if INVISIBLE.match(ch):
            return f"character {pos} (U+{ord(ch):04X}) is an invisible formatting character"
        if field in ("O", "OU") and ch in DN_FORBIDDEN:
            return f"character {pos} {ch!r} is forbidden in O and OU"
        if look_alike(ch):
            return f"character {pos} {ch!r} looks like the forbidden {look_alike(ch)!r}"
        if ch != " " and ch.isspace():
            return f"character {pos} (U+{ord(ch):04X}) is a non-ASCII space"
    if value.startswith(" ") or value.endswith(" ") or "  " in value:
        return "has a leading, trailing or doubled space"
    if field in ("O", "OU", "CN") and len(value) > UB_NAME:
        return f"has {len(value)} characters; X.520 allows at most {UB_NAME}"
    # `SE,,OU=Production,O=ACME AB`: a whole DN typed into one value (openssl -subj separates with /).
    for part in re.split("[,/+;]", value)[1:]:
        name, eq, _ = part.strip().partition("=")
        if eq and (name.strip() in DN_FIELDS or name.strip() in ("L", "ST", "emailAddress")):
            return "holds what looks like further attributes; several were written into one value"
    return None


def country_problem(value):
    if not (len(value) == 2 and value.isascii() and value.isalpha() and value.isupper()):
        return f"{value!r} is not a two-letter upper-case ISO 3166-1 code"
    if value not in ISO_3166_1_ALPHA_2:
        return f"{value!r} is not an assigned ISO 3166-1 alpha-2 code"
    return None


def se_orgnr_problem(value):
    """A Swedish organisation number as the provider writes it (NNNNNN-NNNN) and as Skatteverket
    issues it (third digit at least 2, Luhn). The provider states neither rule: warnings only."""
    if not (len(value) == 11 and value[6] == "-" and ascii_digits(value[:6] + value[7:])):
        return f"{value!r} is not written NNNNNN-NNNN"
    digits = [int(ch) for ch in value[:6] + value[7:]]
    if digits[2] < 2:  # below 2 it reads as a month: a personnummer, not a company
        return f"{value!r}: the third digit is below 2"
    total = sum(d * 2 - 9 * (d > 4) if i % 2 == 0 else d for i, d in enumerate(digits[:9]))
    if (10 - total % 10) % 10 != digits[9]:
        return f"{value!r}: the Luhn check digit does not match"
    return None


def validate_dn(subject):
    """Accept the subject, or reject it naming the attribute of the first problem. What the
    provider does not state is a warning on the accepted identity, not a refusal: its DN table
    is "an example list of required fields" and its own example OI 556677-8888 fails Luhn
    (Freja eID Relying Party Developers' Documentation, "Distinguished name")."""
    country = next((a["value"] for a in subject if DN_FIELDS.get(a["type"]) == "C"), None)
    seen = set()
    problem = None
    warnings = []
    for a in subject:
        field, value = DN_FIELDS.get(a["type"]), a["value"]
        if field is None:
            warnings.append(f"{a['type']} is not one of the attributes the provider's DN table lists "
                            "(CN, OU, O, OI, C)")
        elif field in seen:
            problem = (field, "appears more than once")
        else:
            seen.add(field)
            why = dn_value_problem(field, value)
            if not why and field == "C":
                why = country_problem(value)
            if not why and field == "OI" and country == "SE":
                note = se_orgnr_problem(value)
                if note:
                    warnings.append(f"OI {note}")
            problem = (field, why) if why else None
        if problem:
            break
    missing = [f for f in DN_REQUIRED if f not in seen]
    if not problem and missing:
        problem = (missing[0], "is missing; the provider requires it")
    if problem:
        return {"verdict": "rejected", "reason": "invalid_input", "claim": problem[0],
                "detail": f"{problem[0]} {problem[1]}"}
    identity = {"subject": ", ".join(f"{a['type']}={a['value']}" for a in subject)}
    if warnings:
        identity["warnings"] = warnings
    return {"verdict": "accepted", "identity": identity}


def perform(environment, operation):
    op = operation.get("op")
    if op not in OPERATIONS:
        return {"verdict": "unsupported"}
    try:
        if op == "dn.validate":
            return validate_dn(operation["subject"])
        if op == "oidc.validate_id_token":
            if not environment.get("oidc"):
                raise Rejected("invalid_input", "no OIDC settings")
            identity = IdTokenValidator(environment["oidc"]).validate(operation)
            return {"verdict": "accepted", "identity": identity}
        if not environment.get("freja"):
            raise Rejected("invalid_input", "no Freja settings")
        if op == "freja.verify_details":
            # No initiation: the token stands for a BASIC request, the service's default.
            ref_field = "signRef" if operation.get("sign") else "authRef"
            verifier = DetailsVerifier(environment["freja"]["jws_certificates_pem"])
            identity = verifier.result(operation.get("details", ""), ref_field, operation.get("reference", ""))
            return {"verdict": "accepted", "identity": identity}
        rp = FrejaRp(environment["freja"])
        try:
            if op == "freja.cancel":
                return rp.cancel(operation)
            if op in ("freja.set_custom_identifier", "freja.delete_custom_identifier"):
                return rp.manage_custom_identifier(op, operation)
            return rp.run(op, operation)
        finally:
            rp.close()
    except Rejected as r:
        return r.outcome


def main():
    out_lock = threading.Lock()

    def send(msg):
        with out_lock:
            sys.stdout.write(json.dumps(msg) + "\n")
            sys.stdout.flush()

    def serve(req):
        try:
            outcome = perform(req["environment"], req["operation"])
            send({"type": "outcome", "id": req["id"], "outcome": outcome})
        except Exception as e:  # a driver bug: say so, the vector is an error
            print(f"driver: {req['environment'].get('vector_id')}: {e!r}", file=sys.stderr)
            send({"type": "error", "id": req["id"], "message": repr(e)})

    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        for line in sys.stdin:
            if not line.strip():
                continue
            msg = json.loads(line)
            if msg["type"] == "hello":
                if msg["protocol"] != PROTOCOL:
                    print(f"driver: harness speaks protocol {msg['protocol']}", file=sys.stderr)
                    return 2
                send({"type": "hello", "protocol": PROTOCOL, "name": "python-requests-jwcrypto",
                      "version": "1.0.0", "operations": OPERATIONS})
            elif msg["type"] == "perform":
                pool.submit(serve, msg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
