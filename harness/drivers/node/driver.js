#!/usr/bin/env node
// An eidconf driver (adapter protocol 1, adapter/PROTOCOL.md) around a small Freja eID relying
// party written with jose (the `details` JWS) and node:https (mutual TLS).
//
//     eidconf run --rp stdio -- node harness/drivers/node/driver.js
//
// Copy it and replace `runFlow` with calls into your own RP code. Requests are answered
// concurrently; stdout carries protocol lines only, logs go to stderr.
//
// Why node:https and not the built-in fetch: fetch has no client-certificate option without
// undici's Agent, and Freja needs mutual TLS.

import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { createInterface } from 'node:readline';
import { compactDecrypt, compactVerify, importX509 } from 'jose';

const PROTOCOL = 1;
const OPERATIONS = [
  'freja.authenticate', 'freja.sign', 'freja.cancel', 'freja.verify_details',
  'freja.set_custom_identifier', 'freja.delete_custom_identifier', 'oidc.validate_id_token', 'dn.validate',
];
const ENDPOINTS = {
  'freja.authenticate': {
    init: ['/authentication/1.0/initAuthentication', 'initAuthRequest'],
    poll: ['/authentication/1.0/getOneResult', 'getOneAuthResultRequest'],
    cancel: ['/authentication/1.0/cancel', 'cancelAuthRequest'],
    ref: 'authRef',
  },
  'freja.sign': {
    init: ['/sign/1.0/initSignature', 'initSignRequest'],
    poll: ['/sign/1.0/getOneResult', 'getOneSignResultRequest'],
    cancel: ['/sign/1.0/cancel', 'cancelSignRequest'],
    ref: 'signRef',
  },
};
// The Organisation ID context: the same calls under /organisation/.
const ORG_ENDPOINTS = {
  'freja.authenticate': {
    init: ['/organisation/authentication/1.0/init', 'initAuthRequest'],
    poll: ['/organisation/authentication/1.0/getOneResult', 'getOneAuthResultRequest'],
    cancel: ['/organisation/authentication/1.0/cancel', 'cancelAuthRequest'],
    ref: 'authRef',
  },
  'freja.sign': {
    init: ['/organisation/sign/1.0/init', 'initSignRequest'],
    poll: ['/organisation/sign/1.0/getOneResult', 'getOneSignResultRequest'],
    cancel: ['/organisation/sign/1.0/cancel', 'cancelSignRequest'],
    ref: 'signRef',
  },
};
// Custom identifier management (the provider's client, MethodUrl.java and RequestTemplate.java).
const SET_CUSTOM_IDENTIFIER = ['/user/manage/1.0/setCustomIdentifier', 'setCustomIdentifierRequest'];
const DELETE_CUSTOM_IDENTIFIER = ['/user/manage/1.0/deleteCustomIdentifier', 'deleteCustomIdentifierRequest'];
// Inner JWS algorithms this driver verifies; the registration narrows them.
const VERIFIABLE = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256'];
const PENDING = new Set(['STARTED', 'DELIVERED_TO_MOBILE']);
const FINAL = new Set(['CANCELED', 'RP_CANCELED', 'EXPIRED', 'REJECTED']);
// Registration levels in ascending order (Freja eID Relying Party Developers' Documentation).
const LEVELS = ['BASIC', 'EXTENDED', 'PLUS'];
// Attributes released only at EXTENDED or PLUS (the provider's documentation).
const NEED_EXTENDED = ['BASIC_USER_INFO', 'DATE_OF_BIRTH', 'SSN'];

// Whether the signed minRegistrationLevel meets the requested one: BASIC < EXTENDED < PLUS; any
// other level (INFERRED, or one added later) meets only itself; an absent one only BASIC.
function levelSatisfies(signed, requested) {
  if (requested === 'BASIC') return true;
  if (typeof signed !== 'string') return false;
  if (LEVELS.includes(requested)) return LEVELS.includes(signed) && LEVELS.indexOf(signed) >= LEVELS.indexOf(requested);
  return signed === requested;
}

class Rejected extends Error {
  constructor(reason, detail, extra = {}) {
    super(detail);
    this.outcome = { verdict: 'rejected', reason, detail, ...extra };
  }
}

const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const parseJson = (s) => {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
};

function b64url(segment) {
  // Strict, like the reference RP: unpadded base64url alphabet only, and canonical (no stray
  // trailing bits), so one token has exactly one encoding.
  if (!/^[A-Za-z0-9_-]*$/.test(segment) || segment.length % 4 === 1) throw new Error('is not base64url');
  const data = Buffer.from(segment, 'base64url');
  if (data.toString('base64url') !== segment) throw new Error('is not canonical base64url');
  return data;
}

class DuplicateMember extends Error {
  constructor(name) {
    super(`has the member ${JSON.stringify(name)} twice`);
    this.member = name;
  }
}

const MAX_DEPTH = 64;

// JSON.parse keeps the last of two equal names and takes 1e99999 as Infinity; a verifier and a
// reader that disagree on what a token says is an attack (RFC 8725 §3.2). This walks text that
// JSON.parse already accepted and refuses duplicate names and absurd nesting.
function checkStructure(text) {
  const stack = []; // per open container: {keys, expectKey} for objects, null for arrays
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1));
        if (top.keys.has(key)) throw new DuplicateMember(key);
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      stack.push(c === '{' ? { keys: new Set(), expectKey: true } : null);
      if (stack.length > MAX_DEPTH) throw new Error('nests too deep');
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top) top.expectKey = true;
    }
  }
}

// A JSON object, strictly: UTF-8, no duplicate member names, no out-of-range numbers.
function strictObject(buf) {
  let v;
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    v = JSON.parse(text, (_, x) => {
      if (typeof x === 'number' && !Number.isFinite(x)) throw new Error('number out of range');
      return x;
    });
  } catch {
    v = undefined;
  }
  if (!isObject(v)) throw new Error('is not a JSON object');
  checkStructure(text);
  return v;
}

// --- Freja eID ------------------------------------------------------------------------------

// A Freja details JWS is a few KiB; refuse anything huge before decoding it.
const MAX_DETAILS = 64 * 1024;

// Verifies a `details` JWS against the pinned signing certificates, selected by x5t.
class DetailsVerifier {
  constructor(certificatesPem) {
    this.pins = new Map();
    for (const pem of certificatesPem.flatMap(splitPems)) {
      const der = new X509Certificate(pem).raw;
      this.pins.set(createHash('sha1').update(der).digest('base64url'), pem);
    }
  }

  async verify(details) {
    if (details.length > MAX_DETAILS) {
      throw new Rejected('signature_invalid', `details: ${details.length} bytes is more than a result can be`);
    }
    const parts = details.split('.');
    if (parts.length !== 3) throw new Rejected('signature_invalid', 'details is not a compact JWS of 3 segments');
    let payload, header;
    try {
      payload = b64url(parts[1]);
      header = strictObject(b64url(parts[0]));
      b64url(parts[2]);
    } catch (e) {
      throw new Rejected('signature_invalid', `details: a segment ${e.message}`);
    }
    if (header.alg !== 'RS256') throw new Rejected('algorithm_rejected', `details: alg ${JSON.stringify(header.alg)} is not RS256`);
    const pem = typeof header.x5t === 'string' ? this.pins.get(header.x5t) : undefined;
    if (!pem) throw new Rejected('key_unknown', `details: x5t ${JSON.stringify(header.x5t)} matches no pinned certificate`);
    try {
      await compactVerify(details, await importX509(pem, 'RS256'), { algorithms: ['RS256'] });
    } catch (e) {
      throw new Rejected('signature_invalid', `details: ${e.code ?? ''} ${e.message}`);
    }
    try {
      return strictObject(payload);
    } catch (e) {
      throw new Rejected('signature_invalid', `details: the payload ${e.message}`);
    }
  }

  // The identity of an APPROVED result whose `details` is this JWS, for a request that asked for
  // `requestedLevel` (and, for a signature, asked the user to sign `askedText`, Base64).
  async result(details, refField, ref, requestedLevel = 'BASIC', askedText = undefined, askedUser = undefined) {
    const payload = await this.verify(details);
    if (payload.status !== 'APPROVED') {
      const extra = 'status' in payload ? { status: typeof payload.status === 'string' ? payload.status : JSON.stringify(payload.status) } : {};
      throw new Rejected('status_not_approved', 'the signed status is not APPROVED', extra);
    }
    if (payload[refField] !== ref) throw new Rejected('reference_mismatch', `the signed ${refField} is not ${ref}`);
    const level = payload.minRegistrationLevel;
    if (!levelSatisfies(level, requestedLevel)) {
      throw new Rejected('claims_invalid', `the signed minRegistrationLevel ${JSON.stringify(level)} is below the requested ${requestedLevel}`, {
        claim: 'minRegistrationLevel',
      });
    }
    // The result names the user this RP asked for (empty, absent or N/A names nobody else).
    if (askedUser !== undefined && !sameUser(payload, ...askedUser)) {
      throw new Rejected('claims_invalid', 'the signed userInfoType/userInfo is not the user this RP asked for', { claim: 'userInfo' });
    }
    // A signature is consent to what was presented: the signed text must be the one asked.
    if (askedText !== undefined && 'dataToSign' in payload) {
      let signed = payload.dataToSign;
      if (typeof signed === 'string') {
        try {
          signed = JSON.parse(signed);
        } catch {
          signed = null;
        }
      }
      if (signed === null || typeof signed !== 'object' || signed.text !== askedText) {
        throw new Rejected('claims_invalid', 'the signed dataToSign is not the text this RP asked the user to sign', {
          claim: 'dataToSign',
        });
      }
    }
    return {
      userInfoType: payload.userInfoType ?? null,
      userInfo: payload.userInfo ?? null,
      requestedAttributes: payload.requestedAttributes ?? {},
    };
  }
}

// Whether the signed userInfoType/userInfo can name the user asked for: an SSN by country and
// number, an e-mail address in any case, anything else verbatim.
function sameUser(payload, kind, sent) {
  const signedKind = payload.userInfoType;
  let signed = payload.userInfo;
  if (signedKind != null && signedKind !== '' && signedKind !== kind) return false;
  if (signed == null || signed === '' || kind === 'INFERRED') return true;
  if (kind === 'SSN') {
    try {
      const asked = JSON.parse(Buffer.from(sent, 'base64').toString('utf8'));
      if (typeof signed === 'string') signed = JSON.parse(signed);
      return isObject(asked) && isObject(signed) && asked.ssn !== undefined && asked.country === signed.country && asked.ssn === signed.ssn;
    } catch {
      return false;
    }
  }
  if (kind === 'EMAIL') return typeof signed === 'string' && signed.toLowerCase() === sent.toLowerCase();
  return signed === sent;
}

function splitPems(pem) {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

// userInfo as sent: Freja wants an SSN as Base64 of {"country", "ssn"}.
function wireUserInfo(r) {
  if (r.user_info_type === 'SSN') return b64(JSON.stringify({ country: r.country ?? 'SE', ssn: r.user_info }));
  return r.user_info;
}

class FrejaRp {
  constructor(env) {
    if (!env.base_url.startsWith('https://')) throw new Rejected('invalid_input', 'the base URL is not https');
    this.env = env;
    this.details = new DetailsVerifier(env.jws_certificates_pem);
  }

  post(path, body) {
    const url = new URL(this.env.base_url.replace(/\/$/, '') + path);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method: 'POST',
          ca: this.env.trust_anchors_pem,
          cert: this.env.client_certificate_pem,
          key: this.env.client_key_pem,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: this.env.http_timeout_ms,
          agent: false,
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => reject(new Rejected('transport', String(e))));
          res.on('aborted', () => reject(new Rejected('transport', 'the response was cut off')));
        },
      );
      req.on('timeout', () => req.destroy(new Rejected('timeout', `no answer within ${this.env.http_timeout_ms} ms`)));
      req.on('error', (e) => {
        if (e instanceof Rejected) return reject(e);
        // Our verification of the server failed; anything else (the server refusing our
        // certificate, a reset) is a transport failure.
        const untrusted = /CERT|SELF_SIGNED|ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO/.test(e.code ?? '');
        reject(new Rejected(untrusted ? 'server_untrusted' : 'transport', `${e.code ?? ''} ${e.message}`));
      });
      req.end(body);
    });
  }

  // noContentOk: a 204 with no body is the answer (cancel, user management), where elsewhere it
  // lacks the body the RP needs.
  async call(path, param, request, noContentOk = false) {
    let body = `${param}=${b64(JSON.stringify(request))}`;
    if (this.env.relying_party_id) body += `&relyingPartyId=${encodeURIComponent(this.env.relying_party_id)}`;
    const { status, body: text } = await this.post(path, body);
    if (status === 204 && noContentOk) return {};
    if (status >= 200 && status < 300) {
      const v = parseJson(text);
      if (!isObject(v)) throw new Rejected('malformed_response', `${path} answered ${status} with a body that is not a JSON object`);
      return v;
    }
    const httpStatus = new Rejected('http_status', `${path} answered HTTP ${status}`, { status: String(status) });
    if (status >= 300 && status < 400) throw httpStatus;
    const v = parseJson(text);
    const code = isObject(v) ? v.code : undefined;
    if (!Number.isSafeInteger(code) || /[.eE]/.test(rawCode(text))) throw httpStatus;
    throw new Rejected('provider_error', `${path} answered HTTP ${status} with error code ${code}`, { code });
  }

  initRequest(op, r) {
    // BASIC is the service's default, but SSN, BASIC_USER_INFO and DATE_OF_BIRTH need more.
    const restricted = (r.attributes_to_return ?? []).some((a) => NEED_EXTENDED.includes(a));
    const init = {
      userInfoType: r.user_info_type,
      userInfo: r.user_info,
      minRegistrationLevel: r.min_registration_level ?? (restricted ? 'EXTENDED' : 'BASIC'),
    };
    init.userInfo = wireUserInfo(r);
    if (r.attributes_to_return?.length) init.attributesToReturn = r.attributes_to_return.map((attribute) => ({ attribute }));
    if (op === 'freja.sign') {
      if (r.title != null) init.title = r.title;
      init.dataToSignType = 'SIMPLE_UTF8_TEXT';
      init.dataToSign = { text: b64(r.text) };
      init.signatureType = 'SIMPLE';
    }
    return init;
  }

  // Initiate; the endpoints, the request sent and the reference the provider gave.
  async start(op, r) {
    const ep = (r.organisation ? ORG_ENDPOINTS : ENDPOINTS)[op];
    const init = this.initRequest(op, r);
    const first = await this.call(...ep.init, init);
    const ref = first[ep.ref];
    if (typeof ref !== 'string' || !ref) throw new Rejected('malformed_response', `init answer has no ${ep.ref}`);
    return { ep, init, ref };
  }

  // Initiate (a signature when `text` is given), then cancel at once without polling.
  async cancel(r) {
    const { ep, ref } = await this.start(r.text != null ? 'freja.sign' : 'freja.authenticate', r);
    await this.call(...ep.cancel, { [ep.ref]: ref }, true);
    return { verdict: 'accepted', identity: {} };
  }

  async manageCustomIdentifier(op, r) {
    if (op === 'freja.set_custom_identifier') {
      const body = { userInfoType: r.user_info_type, userInfo: wireUserInfo(r), customIdentifier: r.custom_identifier };
      await this.call(...SET_CUSTOM_IDENTIFIER, body, true);
    } else {
      await this.call(...DELETE_CUSTOM_IDENTIFIER, { customIdentifier: r.custom_identifier }, true);
    }
    return { verdict: 'accepted', identity: {} };
  }

  async run(op, r) {
    if (op === 'freja.cancel') return this.cancel(r);
    if (op === 'freja.set_custom_identifier' || op === 'freja.delete_custom_identifier') return this.manageCustomIdentifier(op, r);
    // runFlow's race answers at the deadline; this stops the polling loop itself, which would
    // otherwise go on in the background (and keep an exec-mode process from exiting).
    const deadline = Date.now() + this.env.flow_timeout_ms;
    const { ep, init, ref } = await this.start(op, r);
    const refField = ep.ref;
    for (;;) {
      if (Date.now() > deadline) throw new Rejected('timeout', 'the flow did not end in time');
      const answer = await this.call(...ep.poll, { [refField]: ref });
      const status = answer.status;
      if (typeof status !== 'string') throw new Rejected('malformed_response', 'getOneResult answer has no status string');
      if (status === 'APPROVED') {
        return this.approved(answer, refField, ref, init.minRegistrationLevel, init.dataToSign?.text, [init.userInfoType, init.userInfo]);
      }
      if (FINAL.has(status)) throw new Rejected('status_not_approved', `the transaction ended ${status}`, { status });
      // PENDING, or a status we do not know: never approval, keep polling.
      await new Promise((res) => setTimeout(res, this.env.poll_interval_ms));
    }
  }

  async approved(answer, refField, ref, requestedLevel, askedText = undefined, askedUser = undefined) {
    if (typeof answer.details !== 'string') throw new Rejected('malformed_response', 'APPROVED without a details string');
    return { verdict: 'accepted', identity: await this.details.result(answer.details, refField, ref, requestedLevel, askedText, askedUser) };
  }
}

// The error code as written, so that 1002.0 (a float) is not taken for the integer 1002.
function rawCode(text) {
  const m = /"code"\s*:\s*(-?[0-9.eE+-]+)/.exec(text);
  return m ? m[1] : '';
}

// --- FTN ID tokens (OpenID Connect) ---------------------------------------------------------

// The broker JWK as a key for `alg`: use sig (if given), key_ops with verify (if given; RFC 7517
// §4.2, §4.3), its own alg only (RFC 8725 §3.1), a key type that does `alg`.
function usableKey(jwk, alg) {
  if ((jwk.use ?? 'sig') !== 'sig') throw new Rejected('key_unknown', `the broker key is published for use ${JSON.stringify(jwk.use)}`);
  if (has(jwk, 'key_ops') && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) {
    throw new Rejected('key_unknown', "the broker key's key_ops do not include verify");
  }
  if (has(jwk, 'alg') && jwk.alg !== alg) throw new Rejected('algorithm_rejected', `the broker key is for ${JSON.stringify(jwk.alg)}, not ${alg}`);
  const ec = alg === 'ES256';
  const fits = ec ? jwk.kty === 'EC' && jwk.crv === 'P-256' : jwk.kty === 'RSA';
  if (!fits) throw new Rejected('algorithm_rejected', `${alg} cannot verify with a ${JSON.stringify(jwk.kty)} key`);
  try {
    const pub = ec ? { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } : { kty: 'RSA', n: jwk.n, e: jwk.e };
    return createPublicKey({ key: pub, format: 'jwk' });
  } catch {
    throw new Rejected('key_unknown', 'the broker key does not parse');
  }
}

const MAX_ID_TOKEN = 64 * 1024; // refuse anything larger before decoding (eidconf's choice)
const MAX_AGE_SECONDS = 3600; // brokers issue tokens valid for minutes; an hour-old iat is a replay
// The key management algorithms this RP can do at all; the registration narrows them further.
const JWE_KEY_ALGS = ['RSA-OAEP', 'RSA-OAEP-256'];
// The claims that carry a Finnish HETU at the FTN brokers.
const HETU_CLAIMS = ['urn:oid:1.2.246.21', 'personal_identity_code', 'hetu', 'ftn_hetu', 'fi_ssn'];

const badClaim = (name, detail) => new Rejected('claims_invalid', detail, { claim: name });
const has = (o, k) => Object.hasOwn(o, k);

// Validates one signed-then-encrypted ID token for the RP registration in `env`.
class IdTokenValidator {
  constructor(env) {
    this.env = env;
    this.encKeys = env.rp_keys.filter((k) => k.use === 'enc').map((k) => ({ kid: k.kid, key: createPrivateKey(k.private_key_pem) }));
  }

  async validate(request) {
    const token = request.id_token.trim();
    if (token.length > MAX_ID_TOKEN) throw new Rejected('malformed_response', `the ID token is longer than ${MAX_ID_TOKEN} bytes`);
    const parts = token.split('.');
    let signed;
    if (parts.length === 5) {
      signed = await this.decrypt(token, parts);
    } else if (parts.length === 3 && this.env.encryption_required) {
      throw new Rejected('encryption_required', 'encryption is registered but the ID token is a plain JWS');
    } else if (parts.length === 3) {
      signed = Buffer.from(token);
    } else {
      throw new Rejected('malformed_response', `the ID token has ${parts.length} parts, not a compact JWE`);
    }
    const claims = await this.verify(signed);
    this.checkClaims(claims, request);
    return claims;
  }

  async decrypt(token, parts) {
    // Everything the header decides is checked here, before jose sees the token, so that the
    // refusal has the right reason and the registration, not the library, is the allow-list.
    let header;
    try {
      header = strictObject(b64url(parts[0]));
    } catch {
      throw new Rejected('malformed_response', 'the JWE protected header is not a JSON object');
    }
    const { alg, enc } = header;
    if (!JWE_KEY_ALGS.includes(alg) || !this.env.id_token_encryption_alg_values.includes(alg)) {
      throw new Rejected('algorithm_rejected', `JWE alg ${JSON.stringify(alg)} is not registered`);
    }
    if (typeof enc !== 'string' || !this.env.id_token_encryption_enc_values.includes(enc)) {
      throw new Rejected('algorithm_rejected', `JWE enc ${JSON.stringify(enc)} is not registered`);
    }
    if (has(header, 'crit')) throw new Rejected('algorithm_rejected', 'the JWE header has crit; no extension is understood');
    // RFC 8725 §3.6; no FTN broker compresses (jose would inflate DEF up to a limit).
    if (has(header, 'zip')) throw new Rejected('algorithm_rejected', `JWE zip ${JSON.stringify(header.zip)} is refused`);
    const cty = header.cty ?? 'JWT';
    if (typeof cty !== 'string' || cty.toUpperCase() !== 'JWT') throw new Rejected('malformed_response', `JWE cty ${JSON.stringify(cty)} is not JWT`);
    // The key: by kid among the `use: enc` keys only; without a kid, each enc key in turn.
    const keys = this.encKeys.filter((k) => !has(header, 'kid') || header.kid === k.kid);
    if (!keys.length) throw new Rejected('key_unknown', "the JWE kid names none of the RP's encryption keys");
    for (const { key } of keys) {
      try {
        const options = { keyManagementAlgorithms: [alg], contentEncryptionAlgorithms: [enc] };
        return (await compactDecrypt(token, key, options)).plaintext;
      } catch {
        // Every cause is the same refusal (RFC 7516 §11.5); try the next key.
      }
    }
    throw new Rejected('decryption_failed', 'the ID token could not be decrypted');
  }

  async verify(signed) {
    const notSigned = new Rejected('signature_invalid', 'the ID token is not a signed JWT');
    let text, payload, header;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(signed);
      const parts = text.split('.');
      if (parts.length !== 3) throw notSigned;
      payload = b64url(parts[1]);
      header = strictObject(b64url(parts[0]));
      b64url(parts[2]);
    } catch {
      throw notSigned;
    }
    const jwk = this.brokerKey(header);
    const alg = header.alg;
    // What the broker publishes and the registration names, within what this RP verifies.
    if (!VERIFIABLE.includes(alg) || !this.env.id_token_signing_alg_values.includes(alg)) {
      throw new Rejected('algorithm_rejected', `inner JWS alg ${JSON.stringify(alg)} is not registered`);
    }
    if (has(header, 'crit')) throw new Rejected('algorithm_rejected', 'the inner JWS header has crit; no extension is understood');
    const key = usableKey(jwk, alg);
    try {
      await compactVerify(text, key, { algorithms: [alg] });
    } catch {
      throw new Rejected('signature_invalid', `the ${alg} signature does not verify`);
    }
    try {
      return strictObject(payload);
    } catch (e) {
      if (e instanceof DuplicateMember) throw badClaim(e.member, `claim ${JSON.stringify(e.member)} appears twice`);
      throw notSigned;
    }
  }

  // Only the pinned JWKS, by the inner kid: jku, jwk, x5u and x5c are never looked at.
  brokerKey(header) {
    const kid = header.kid;
    const jwk = (this.env.broker_jwks.keys ?? []).find((k) => typeof kid === 'string' && k.kid === kid);
    if (jwk) return jwk;
    throw new Rejected('key_unknown', "the inner kid names none of the broker's signing keys");
  }

  checkClaims(c, request) {
    const env = this.env;
    const client = env.client_id;
    if (c.iss !== env.issuer) throw badClaim('iss', "iss is not the broker's issuer");
    // Every audience must be this client: no untrusted extra audience (Core §3.1.3.7 step 3).
    const aud = c.aud;
    if (!(aud === client || (Array.isArray(aud) && aud.length > 0 && aud.every((a) => a === client)))) {
      throw badClaim('aud', 'aud is not exactly this client');
    }
    if (has(c, 'azp') && c.azp !== client) throw badClaim('azp', 'azp is not this client');
    // Any JSON number, fractions and exponents included (RFC 7519 §2); strictObject already
    // refused non-finite ones. Not a string, a boolean or null.
    const numericDate = (name) => {
      if (has(c, name) && !(typeof c[name] === 'number' && Number.isFinite(c[name]))) throw badClaim(name, `${name} is not a NumericDate`);
      return c[name];
    };
    const now = Math.floor(Date.now() / 1000);
    const skew = env.clock_skew_seconds;
    const exp = numericDate('exp');
    if (exp === undefined) throw badClaim('exp', 'exp is missing');
    if (now >= exp + skew) throw badClaim('exp', 'the ID token has expired');
    const iat = numericDate('iat');
    if (iat === undefined) throw badClaim('iat', 'iat is missing');
    if (iat > now + skew) throw badClaim('iat', 'iat is in the future');
    if (iat < now - MAX_AGE_SECONDS) throw badClaim('iat', 'the ID token was issued too long ago');
    const nbf = numericDate('nbf');
    if (nbf !== undefined && nbf > now + skew) throw badClaim('nbf', 'the ID token is not valid yet');
    numericDate('auth_time');
    if (request.nonce != null && c.nonce !== request.nonce) throw badClaim('nonce', 'nonce is not the one sent');
    const acrValues = request.acr_values ?? [];
    if (acrValues.length && !(typeof c.acr === 'string' && acrValues.includes(c.acr))) {
      throw badClaim('acr', 'acr is not one of the requested values');
    }
    // Core 3.1.3.8: an at_hash binds the access token of the same response (RS256: SHA-256).
    if (request.access_token != null && has(c, 'at_hash')) {
      const digest = createHash('sha256').update(request.access_token, 'latin1').digest();
      if (c.at_hash !== digest.subarray(0, 16).toString('base64url')) throw badClaim('at_hash', 'at_hash is not the hash of the access token');
    }
    if (typeof c.sub !== 'string' || !c.sub) throw badClaim('sub', 'sub is missing or empty');
    for (const name of HETU_CLAIMS) if (has(c, name)) checkIdentifier(name, c[name], hetu);
    if (has(c, 'nin')) {
      const check = has(NIN_CHECKS, c.nin_issuing_country) ? NIN_CHECKS[c.nin_issuing_country] : undefined;
      if (!check) throw badClaim('nin', 'nin_issuing_country is missing or unknown');
      checkIdentifier('nin', c.nin, check);
    }
  }
}

// --- National identifiers (the algorithms of harness/src/pki/ident.rs) ----------------------

function checkIdentifier(claim, value, check) {
  if (typeof value !== 'string') throw badClaim(claim, `${claim} is not a string`);
  const problem = check(value);
  if (problem) throw badClaim(claim, `${claim}: ${problem}`);
}

function validDate(year, month, day) {
  const d = new Date(Date.UTC(year, month - 1, day));
  return month >= 1 && month <= 12 && d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

const isDigits = (s) => /^[0-9]+$/.test(s);
const num = (s) => Number.parseInt(s, 10);

// Century signs of decree 690/2022 (in force 1 Jan 2023), not only the old + - A.
const HETU_CENTURY = { '+': 1800, '-': 1900, Y: 1900, X: 1900, W: 1900, V: 1900, U: 1900, A: 2000, B: 2000, C: 2000, D: 2000, E: 2000, F: 2000 };

// A Finnish henkilötunnus DDMMYYCZZZQ; returns the problem, or undefined.
function hetu(s) {
  if (s.length !== 11 || !/^[\x00-\x7f]*$/.test(s)) return 'a HETU has 11 ASCII characters';
  if (!isDigits(s.slice(0, 6)) || !isDigits(s.slice(7, 10))) return 'a HETU is DDMMYY, a century sign, 3 digits and a check character';
  if (!has(HETU_CENTURY, s[6])) return `unknown century sign ${JSON.stringify(s[6])}`;
  if (!validDate(HETU_CENTURY[s[6]] + num(s.slice(4, 6)), num(s.slice(2, 4)), num(s.slice(0, 2)))) return 'the birth date does not exist';
  if (num(s.slice(7, 10)) < 2) return 'individual numbers 000 and 001 are not issued';
  const want = '0123456789ABCDEFHJKLMNPRSTUVWXY'[num(s.slice(0, 6) + s.slice(7, 10)) % 31];
  if (s[10] !== want) return `check character is ${JSON.stringify(s[10])}, expected ${JSON.stringify(want)}`;
  return undefined;
}

// A Swedish personnummer or samordningsnummer (day + 60), 10 or 12 digits.
function personnummer(s) {
  const digits = s.replace(/[-+]/g, '');
  if (!isDigits(digits) || s.length - digits.length > 1) return 'a personnummer is digits with at most one - or +';
  if (digits.length !== 10 && digits.length !== 12) return 'a personnummer has 10 or 12 digits';
  const ten = digits.slice(-10);
  const [yy, mm] = [num(ten.slice(0, 2)), num(ten.slice(2, 4))];
  let dd = num(ten.slice(4, 6));
  if (dd > 60) dd -= 60;
  const centuries = digits.length === 12 ? [num(digits.slice(0, 2)) * 100] : [1800, 1900, 2000];
  if (!centuries.some((c) => validDate(c + yy, mm, dd))) return 'the birth date does not exist';
  if (num(ten.slice(6, 9)) === 0) return 'the birth number 000 is not issued';
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    const d = num(ten[i]) * (i % 2 === 0 ? 2 : 1);
    sum += Math.floor(d / 10) + (d % 10);
  }
  if (num(ten[9]) !== (10 - (sum % 10)) % 10) return 'the Luhn check digit does not match';
  return undefined;
}

// A Norwegian fødselsnummer, D-nummer (day + 40), H-nummer (month + 40) or synthetic (+ 80).
function fodselsnummer(s) {
  if (s.length !== 11 || !isDigits(s)) return 'a fødselsnummer has 11 digits';
  const d = [...s].map(Number);
  const weighted = (w) => w.reduce((acc, x, i) => acc + x * d[i], 0) % 11;
  // The first control digit accepts the remainders 0-3 of the rule for numbers issued from 2032
  // (a superset; Skatteetaten, "Nye fødselsnummer og d-nummer fra 2032").
  if (weighted([3, 7, 6, 1, 8, 9, 4, 5, 2, 1]) > 3) return 'the first control digit does not match';
  if (weighted([5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1]) !== 0) return 'the second control digit does not match';
  let [dd, mm] = [num(s.slice(0, 2)), num(s.slice(2, 4))];
  const [yy, ind] = [num(s.slice(4, 6)), num(s.slice(6, 9))];
  if (dd > 40) dd -= 40;
  if (mm > 80) mm -= 80;
  else if (mm > 40) mm -= 40;
  let year;
  if (ind <= 499) year = 1900 + yy;
  else if (ind <= 749 && yy >= 54) year = 1800 + yy;
  else if (yy <= 39) year = 2000 + yy;
  else if (ind >= 900) year = 1900 + yy;
  else return 'the individual number does not fit the birth year';
  return validDate(year, mm, dd) ? undefined : 'the birth date does not exist';
}

// A Danish CPR number. Mod-11 is not checked: numbers issued since 2007 need not pass it.
function cpr(s) {
  const digits = s.replace(/-/g, '');
  if (digits.length !== 10 || s.length - digits.length > 1 || !isDigits(digits)) return 'a CPR number has 10 digits, optionally DDMMYY-SSSS';
  const [dd, mm, yy, d7] = [num(digits.slice(0, 2)), num(digits.slice(2, 4)), num(digits.slice(4, 6)), num(digits[6])];
  let year;
  if (d7 <= 3) year = 1900 + yy;
  else if (d7 === 4 || d7 === 9) year = yy <= 36 ? 2000 + yy : 1900 + yy;
  else year = yy <= 57 ? 2000 + yy : 1800 + yy;
  return validDate(year, mm, dd) ? undefined : 'the birth date does not exist';
}

const NIN_CHECKS = { FI: hetu, SE: personnummer, NO: fodselsnummer, DK: cpr };

// --- Subject DN of a Freja client certificate (harness/src/pki/dn.rs, orgnr.rs) -------------

// The provider's DN table lists exactly these five; tools may name them long or by OID.
const DN_FIELDS = new Map();
for (const [short, long, oid] of [
  ['C', 'countryName', '2.5.4.6'],
  ['O', 'organizationName', '2.5.4.10'],
  ['OU', 'organizationalUnitName', '2.5.4.11'],
  ['CN', 'commonName', '2.5.4.3'],
  ['OI', 'organizationIdentifier', '2.5.4.97'],
]) {
  for (const name of [short, long, oid]) DN_FIELDS.set(name, short);
}
const DN_REQUIRED = ['C', 'O', 'OI'];
const DN_FORBIDDEN = '<>~!@#$%^*/\\()?.,&'; // in O and OU, per the provider's table
const UB_NAME = 64; // X.520 upper bound for O, OU and CN
// Zero-width and bidirectional formatting characters and the BOM: invisible, yet different bytes.
const INVISIBLE = /[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/u;
// Characters that render like a forbidden one (besides the fullwidth forms U+FF01..U+FF5E).
const LOOK_ALIKES = {
  '<': '\ufe64\u2039\u2329\u3008\u27e8\u2264', '>': '\ufe65\u203a\u232a\u3009\u27e9\u2265',
  '~': '\u223c\u02dc\u2053\u301c', '!': '\ufe57\u01c3\u203c\u2762', '@': '\ufe6b',
  '#': '\ufe5f\u266f', $: '\ufe69', '%': '\ufe6a\u2030\u066a', '^': '\u02c6\u2038\u02c4',
  '*': '\ufe61\u2217\u204e\u2731\u066d', '/': '\u2215\u2044\u29f8\uff0f',
  '\\': '\u2216\u29f5\u29f9\ufe68', '(': '\ufe59\u2768\u276a\u207d\u208d',
  ')': '\ufe5a\u2769\u276b\u207e\u208e', '?': '\ufe56\u0294\u2e2e',
  '.': '\u2024\ufe52\u3002\uff61\u0701\u00b7', ',': '\u201a\ufe50\u3001\ufe51\u060c\u02cf',
  '&': '\ufe60\u214b',
};
const ISO_3166_1_ALPHA_2 = new Set(`
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW`.split(/\s+/).filter(Boolean));

function lookAlike(ch) {
  const cp = ch.codePointAt(0);
  if (cp >= 0xff01 && cp <= 0xff5e) {
    const ascii = String.fromCodePoint(cp - 0xfee0);
    return DN_FORBIDDEN.includes(ascii) ? ascii : undefined;
  }
  return Object.keys(LOOK_ALIKES).find((f) => LOOK_ALIKES[f].includes(ch));
}

const hex = (ch) => `U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

function dnValueProblem(field, value) {
  if (!value) return 'is empty; leave the attribute out or give it a value';
  const chars = [...value]; // code points, as X.520 counts characters
  for (const [i, ch] of chars.entries()) {
    const pos = i + 1;
    if (/\p{Cc}/u.test(ch)) return `character ${pos} (${hex(ch)}) is a control character`;
    if (INVISIBLE.test(ch)) return `character ${pos} (${hex(ch)}) is an invisible formatting character`;
    if ((field === 'O' || field === 'OU') && DN_FORBIDDEN.includes(ch)) return `character ${pos} ${JSON.stringify(ch)} is forbidden in O and OU`;
    if (lookAlike(ch)) return `character ${pos} ${JSON.stringify(ch)} looks like the forbidden ${JSON.stringify(lookAlike(ch))}`;
    if (ch !== ' ' && /\s/u.test(ch)) return `character ${pos} (${hex(ch)}) is a non-ASCII space`;
  }
  if (value.startsWith(' ') || value.endsWith(' ') || value.includes('  ')) return 'has a leading, trailing or doubled space';
  if (['O', 'OU', 'CN'].includes(field) && chars.length > UB_NAME) return `has ${chars.length} characters; X.520 allows at most ${UB_NAME}`;
  // `SE,,OU=Production,O=ACME AB`: a whole DN typed into one value (openssl -subj separates with /).
  for (const part of value.split(/[,/+;]/).slice(1)) {
    const eq = part.trim().indexOf('=');
    const name = eq < 0 ? '' : part.trim().slice(0, eq).trim();
    if (name && (DN_FIELDS.has(name) || ['L', 'ST', 'emailAddress'].includes(name))) {
      return 'holds what looks like further attributes; several were written into one value';
    }
  }
  return undefined;
}

function countryProblem(value) {
  if (!/^[A-Z]{2}$/.test(value)) return `${JSON.stringify(value)} is not a two-letter upper-case ISO 3166-1 code`;
  if (!ISO_3166_1_ALPHA_2.has(value)) return `${JSON.stringify(value)} is not an assigned ISO 3166-1 alpha-2 code`;
  return undefined;
}

// A Swedish organisation number as the provider writes it (NNNNNN-NNNN) and as Skatteverket
// issues it (third digit at least 2, Luhn). The provider states neither rule: warnings only.
function seOrgNrProblem(value) {
  if (!/^[0-9]{6}-[0-9]{4}$/.test(value)) return `${JSON.stringify(value)} is not written NNNNNN-NNNN`;
  const d = [...value.replace('-', '')].map(Number);
  // Below 2 it reads as a month: a personnummer, not a company.
  if (d[2] < 2) return `${JSON.stringify(value)}: the third digit is below 2`;
  const sum = d.slice(0, 9).reduce((acc, x, i) => acc + (i % 2 === 0 ? (x * 2 > 9 ? x * 2 - 9 : x * 2) : x), 0);
  if ((10 - (sum % 10)) % 10 !== d[9]) return `${JSON.stringify(value)}: the Luhn check digit does not match`;
  return undefined;
}

// Accept the subject, or reject it naming the attribute of the first problem. What the provider
// does not state is a warning on the accepted identity, not a refusal: its DN table is "an
// example list of required fields" and its own example OI 556677-8888 fails Luhn (Freja eID
// Relying Party Developers' Documentation, "Distinguished name").
function validateDn(subject) {
  const country = subject.find((a) => DN_FIELDS.get(a.type) === 'C')?.value;
  const seen = new Set();
  const warnings = [];
  let problem;
  for (const { type, value } of subject) {
    const field = DN_FIELDS.get(type);
    if (!field) {
      warnings.push(`${type} is not one of the attributes the provider's DN table lists (CN, OU, O, OI, C)`);
    } else if (seen.has(field)) {
      problem = [field, 'appears more than once'];
    } else {
      seen.add(field);
      let why = dnValueProblem(field, value);
      if (!why && field === 'C') why = countryProblem(value);
      if (!why && field === 'OI' && country === 'SE') {
        const note = seOrgNrProblem(value);
        if (note) warnings.push(`OI ${note}`);
      }
      if (why) problem = [field, why];
    }
    if (problem) break;
  }
  const missing = DN_REQUIRED.find((f) => !seen.has(f));
  if (!problem && missing) problem = [missing, 'is missing; the provider requires it'];
  if (problem) return { verdict: 'rejected', reason: 'invalid_input', claim: problem[0], detail: `${problem[0]} ${problem[1]}` };
  const identity = { subject: subject.map((a) => `${a.type}=${a.value}`).join(', ') };
  if (warnings.length) identity.warnings = warnings;
  return { verdict: 'accepted', identity };
}

async function perform(environment, operation) {
  const op = operation.op;
  if (!OPERATIONS.includes(op)) return { verdict: 'unsupported' };
  try {
    if (op === 'dn.validate') return validateDn(operation.subject);
    if (op === 'oidc.validate_id_token') {
      if (!environment.oidc) throw new Rejected('invalid_input', 'no OIDC settings');
      return { verdict: 'accepted', identity: await new IdTokenValidator(environment.oidc).validate(operation) };
    }
    const env = environment.freja;
    if (!env) throw new Rejected('invalid_input', 'no Freja settings');
    if (op === 'freja.verify_details') {
      // No initiation: the token stands for a BASIC request, the service's default.
      const verifier = new DetailsVerifier(env.jws_certificates_pem);
      const identity = await verifier.result(operation.details ?? '', operation.sign ? 'signRef' : 'authRef', operation.reference ?? '');
      return { verdict: 'accepted', identity };
    }
    return await runFlow(env, op, operation);
  } catch (e) {
    if (e instanceof Rejected) return e.outcome;
    throw e;
  }
}

// The whole flow is bounded as well, in case a single exchange keeps trickling.
async function runFlow(env, op, operation) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Rejected('timeout', `the flow did not end within ${env.flow_timeout_ms} ms`)), env.flow_timeout_ms);
  });
  try {
    return await Promise.race([new FrejaRp(env).run(op, operation), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const send = (msg) => process.stdout.write(JSON.stringify(msg) + '\n');
const inFlight = new Set();
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (!line.trim()) return;
  const msg = JSON.parse(line);
  if (msg.type === 'hello') {
    if (msg.protocol !== PROTOCOL) {
      console.error(`driver: the harness speaks protocol ${msg.protocol}`);
      process.exit(2);
    }
    send({ type: 'hello', protocol: PROTOCOL, name: 'node-jose', version: '1.0.0', operations: OPERATIONS });
  } else if (msg.type === 'perform') {
    const p = perform(msg.environment, msg.operation)
      .then((outcome) => send({ type: 'outcome', id: msg.id, outcome }))
      .catch((e) => {
        console.error(`driver: ${msg.environment.vector_id}: ${e?.stack ?? e}`);
        send({ type: 'error', id: msg.id, message: String(e) });
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
});
lines.on('close', async () => {
  await Promise.all(inFlight);
});
