#!/usr/bin/env python3
"""An eidconf driver (adapter protocol 1, harness/PROTOCOL.md) around a small Freja eID relying
party written with requests (mutual TLS) and jwcrypto (the `details` JWS).

    eidconf run --rp stdio -- python3 harness/drivers/python/driver.py
    eidconf run --rp exec  -- python3 harness/drivers/python/driver.py

Copy it and replace `FrejaRp` with calls into your own RP code. Requests are answered
concurrently (one thread each); stdout carries protocol lines only, logs go to stderr.
"""

import base64
import concurrent.futures
import hashlib
import json
import os
import sys
import tempfile
import threading
import time

import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from jwcrypto import jwk, jws

PROTOCOL = 1
OPERATIONS = ["freja.authenticate", "freja.sign"]

ENDPOINTS = {
    "freja.authenticate": {
        "init": ("/authentication/1.0/initAuthentication", "initAuthRequest"),
        "poll": ("/authentication/1.0/getOneResult", "getOneAuthResultRequest"),
        "ref": "authRef",
    },
    "freja.sign": {
        "init": ("/sign/1.0/initSignature", "initSignRequest"),
        "poll": ("/sign/1.0/getOneResult", "getOneSignResultRequest"),
        "ref": "signRef",
    },
}
PENDING = {"STARTED", "DELIVERED_TO_MOBILE"}
FINAL = {"CANCELED", "RP_CANCELED", "EXPIRED", "REJECTED"}


class Rejected(Exception):
    """The RP refuses; `reason` is one of eidconf's reason classes."""

    def __init__(self, reason, detail, **extra):
        super().__init__(detail)
        self.outcome = {"verdict": "rejected", "reason": reason, "detail": detail, **extra}


MAX_DETAILS = 64 * 1024  # a Freja details JWS is a few KiB; refuse anything huge before decoding


def b64url_decode(segment, what):
    # Strict, like the reference RP: unpadded base64url alphabet only, and canonical (no stray
    # trailing bits), so one token has exactly one encoding.
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    if not set(segment) <= alphabet or len(segment) % 4 == 1:
        raise Rejected("signature_invalid", f"details: the {what} is not base64url")
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != segment:
        raise Rejected("signature_invalid", f"details: the {what} is not canonical base64url")
    return data


def _no_duplicates(pairs):
    # Python's json keeps the last of two equal names; a verifier and a reader that disagree on
    # which one counts is an attack (RFC 8725 §3.2), so refuse duplicates outright.
    names = [k for k, _ in pairs]
    if len(names) != len(set(names)):
        raise ValueError("duplicate member name")
    return dict(pairs)


def _finite(text):
    value = float(text)
    if value in (float("inf"), float("-inf")) or value != value:
        raise ValueError(f"number {text[:20]}… is out of range")
    return value


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


def json_object(data, what):
    try:
        value = json.loads(data, object_pairs_hook=_no_duplicates, parse_float=_finite,
                           parse_constant=_no_constants)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        value = None
    if not isinstance(value, dict):
        raise Rejected("signature_invalid", f"details: the {what} is not a JSON object")
    return value


def is_int64(v):
    return isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63


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
        self.pins = {}
        for pem in env["jws_certificates_pem"]:
            for cert in x509.load_pem_x509_certificates(pem.encode()):
                der = cert.public_bytes(Encoding.DER)
                x5t = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()
                self.pins[x5t] = jwk.JWK.from_pem(cert.public_bytes(Encoding.PEM))
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

    def call(self, path, param, request):
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

    def verify(self, details):
        if len(details) > MAX_DETAILS:
            raise Rejected("signature_invalid", f"details: {len(details)} bytes is more than a result can be")
        parts = details.split(".")
        if len(parts) != 3:
            raise Rejected("signature_invalid", "details is not a compact JWS of 3 segments")
        h, p, s = parts
        payload = b64url_decode(p, "payload")
        header = json_object(b64url_decode(h, "header"), "header")
        b64url_decode(s, "signature")
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
        return json_object(payload, "payload")

    def run(self, op, request):
        ep = ENDPOINTS[op]
        init = {
            "userInfoType": request["user_info_type"],
            "userInfo": request["user_info"],
            "minRegistrationLevel": request.get("min_registration_level") or "BASIC",
        }
        if request["user_info_type"] == "SSN":
            ssn = json.dumps({"country": request.get("country") or "SE", "ssn": request["user_info"]})
            init["userInfo"] = base64.b64encode(ssn.encode()).decode()
        if request.get("attributes_to_return"):
            init["attributesToReturn"] = [{"attribute": a} for a in request["attributes_to_return"]]
        if op == "freja.sign":
            if request.get("title") is not None:
                init["title"] = request["title"]
            init["dataToSignType"] = "SIMPLE_UTF8_TEXT"
            init["dataToSign"] = {"text": base64.b64encode(request["text"].encode()).decode()}
            init["signatureType"] = "SIMPLE"
        deadline = time.monotonic() + self.env["flow_timeout_ms"] / 1000
        ref_field = ep["ref"]
        answer = self.call(*ep["init"], init)
        ref = answer.get(ref_field)
        if not isinstance(ref, str) or not ref:
            raise Rejected("malformed_response", f"init answer has no {ref_field}")
        while True:
            if time.monotonic() > deadline:
                raise Rejected("timeout", "the flow did not end in time")
            answer = self.call(*ep["poll"], {ref_field: ref})
            status = answer.get("status")
            if not isinstance(status, str):
                raise Rejected("malformed_response", "getOneResult answer has no status string")
            if status == "APPROVED":
                return self.approved(answer, ref_field, ref)
            if status in FINAL:
                raise Rejected("status_not_approved", f"the transaction ended {status}", status=status)
            # PENDING, or a status we do not know: never approval, keep polling.
            time.sleep(self.env["poll_interval_ms"] / 1000)

    def approved(self, answer, ref_field, ref):
        details = answer.get("details")
        if not isinstance(details, str):
            raise Rejected("malformed_response", "APPROVED without a details string")
        payload = self.verify(details)
        if payload.get("status") != "APPROVED":
            extra = {}
            if "status" in payload:
                s = payload["status"]
                extra["status"] = s if isinstance(s, str) else json.dumps(s)
            raise Rejected("status_not_approved", "the signed status is not APPROVED", **extra)
        if payload.get(ref_field) != ref:
            raise Rejected("reference_mismatch", f"the signed {ref_field} is not {ref}")
        return {
            "verdict": "accepted",
            "identity": {
                "userInfoType": payload.get("userInfoType"),
                "userInfo": payload.get("userInfo"),
                "requestedAttributes": payload.get("requestedAttributes", {}),
            },
        }


def perform(environment, operation):
    op = operation.get("op")
    if op not in OPERATIONS:
        return {"verdict": "unsupported"}
    if not environment.get("freja"):
        return {"verdict": "rejected", "reason": "invalid_input", "detail": "no Freja settings"}
    rp = None
    try:
        rp = FrejaRp(environment["freja"])
        # The whole flow is bounded as well, in case a single exchange keeps trickling.
        return rp.run(op, operation)
    except Rejected as r:
        return r.outcome
    finally:
        if rp is not None:
            rp.close()


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
