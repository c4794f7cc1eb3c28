#!/usr/bin/env node
// An eidconf driver (adapter protocol 1, harness/PROTOCOL.md) around a small Freja eID relying
// party written with jose (the `details` JWS) and node:https (mutual TLS).
//
//     eidconf run --rp stdio -- node harness/drivers/node/driver.js
//
// Copy it and replace `runFlow` with calls into your own RP code. Requests are answered
// concurrently; stdout carries protocol lines only, logs go to stderr.
//
// Why node:https and not the built-in fetch: fetch has no client-certificate option without
// undici's Agent, and Freja needs mutual TLS.

import { createHash, X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { createInterface } from 'node:readline';
import { compactVerify, importX509 } from 'jose';

const PROTOCOL = 1;
const OPERATIONS = ['freja.authenticate', 'freja.sign'];
const ENDPOINTS = {
  'freja.authenticate': {
    init: ['/authentication/1.0/initAuthentication', 'initAuthRequest'],
    poll: ['/authentication/1.0/getOneResult', 'getOneAuthResultRequest'],
    ref: 'authRef',
  },
  'freja.sign': {
    init: ['/sign/1.0/initSignature', 'initSignRequest'],
    poll: ['/sign/1.0/getOneResult', 'getOneSignResultRequest'],
    ref: 'signRef',
  },
};
const PENDING = new Set(['STARTED', 'DELIVERED_TO_MOBILE']);
const FINAL = new Set(['CANCELED', 'RP_CANCELED', 'EXPIRED', 'REJECTED']);

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

// A Freja details JWS is a few KiB; refuse anything huge before decoding it.
const MAX_DETAILS = 64 * 1024;
const MAX_DEPTH = 64;

function b64urlDecode(segment, what) {
  // Strict, like the reference RP: unpadded base64url alphabet only, and canonical (no stray
  // trailing bits), so one token has exactly one encoding.
  if (!/^[A-Za-z0-9_-]*$/.test(segment) || segment.length % 4 === 1) {
    throw new Rejected('signature_invalid', `details: the ${what} is not base64url`);
  }
  const data = Buffer.from(segment, 'base64url');
  if (data.toString('base64url') !== segment) {
    throw new Rejected('signature_invalid', `details: the ${what} is not canonical base64url`);
  }
  return data;
}

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
        if (top.keys.has(key)) throw new Error(`duplicate member name ${key}`);
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      stack.push(c === '{' ? { keys: new Set(), expectKey: true } : null);
      if (stack.length > MAX_DEPTH) throw new Error('nesting too deep');
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top) top.expectKey = true;
    }
  }
}

function jsonObject(buf, what) {
  let v;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    v = JSON.parse(text, (_, x) => {
      if (typeof x === 'number' && !Number.isFinite(x)) throw new Error('number out of range');
      return x;
    });
    checkStructure(text);
  } catch {
    v = undefined;
  }
  if (!isObject(v)) throw new Rejected('signature_invalid', `details: the ${what} is not a JSON object`);
  return v;
}

function splitPems(pem) {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

class FrejaRp {
  constructor(env) {
    if (!env.base_url.startsWith('https://')) throw new Rejected('invalid_input', 'the base URL is not https');
    this.env = env;
    this.pins = new Map();
    for (const pem of env.jws_certificates_pem.flatMap(splitPems)) {
      const der = new X509Certificate(pem).raw;
      this.pins.set(createHash('sha1').update(der).digest('base64url'), pem);
    }
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

  async call(path, param, request) {
    let body = `${param}=${b64(JSON.stringify(request))}`;
    if (this.env.relying_party_id) body += `&relyingPartyId=${encodeURIComponent(this.env.relying_party_id)}`;
    const { status, body: text } = await this.post(path, body);
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

  async verify(details) {
    if (details.length > MAX_DETAILS) {
      throw new Rejected('signature_invalid', `details: ${details.length} bytes is more than a result can be`);
    }
    const parts = details.split('.');
    if (parts.length !== 3) throw new Rejected('signature_invalid', 'details is not a compact JWS of 3 segments');
    const [h, p, s] = parts;
    const payload = b64urlDecode(p, 'payload');
    const header = jsonObject(b64urlDecode(h, 'header'), 'header');
    b64urlDecode(s, 'signature');
    if (header.alg !== 'RS256') throw new Rejected('algorithm_rejected', `details: alg ${JSON.stringify(header.alg)} is not RS256`);
    const pem = typeof header.x5t === 'string' ? this.pins.get(header.x5t) : undefined;
    if (!pem) throw new Rejected('key_unknown', `details: x5t ${JSON.stringify(header.x5t)} matches no pinned certificate`);
    try {
      await compactVerify(details, await importX509(pem, 'RS256'), { algorithms: ['RS256'] });
    } catch (e) {
      throw new Rejected('signature_invalid', `details: ${e.code ?? ''} ${e.message}`);
    }
    return jsonObject(payload, 'payload');
  }

  async run(op, r) {
    const ep = ENDPOINTS[op];
    const init = {
      userInfoType: r.user_info_type,
      userInfo: r.user_info,
      minRegistrationLevel: r.min_registration_level ?? 'BASIC',
    };
    if (r.user_info_type === 'SSN') init.userInfo = b64(JSON.stringify({ country: r.country ?? 'SE', ssn: r.user_info }));
    if (r.attributes_to_return?.length) init.attributesToReturn = r.attributes_to_return.map((attribute) => ({ attribute }));
    if (op === 'freja.sign') {
      if (r.title != null) init.title = r.title;
      init.dataToSignType = 'SIMPLE_UTF8_TEXT';
      init.dataToSign = { text: b64(r.text) };
      init.signatureType = 'SIMPLE';
    }
    const refField = ep.ref;
    const first = await this.call(...ep.init, init);
    const ref = first[refField];
    if (typeof ref !== 'string' || !ref) throw new Rejected('malformed_response', `init answer has no ${refField}`);
    for (;;) {
      const answer = await this.call(...ep.poll, { [refField]: ref });
      const status = answer.status;
      if (typeof status !== 'string') throw new Rejected('malformed_response', 'getOneResult answer has no status string');
      if (status === 'APPROVED') return this.approved(answer, refField, ref);
      if (FINAL.has(status)) throw new Rejected('status_not_approved', `the transaction ended ${status}`, { status });
      // PENDING, or a status we do not know: never approval, keep polling.
      await new Promise((res) => setTimeout(res, this.env.poll_interval_ms));
    }
  }

  async approved(answer, refField, ref) {
    if (typeof answer.details !== 'string') throw new Rejected('malformed_response', 'APPROVED without a details string');
    const payload = await this.verify(answer.details);
    if (payload.status !== 'APPROVED') {
      const extra = 'status' in payload ? { status: typeof payload.status === 'string' ? payload.status : JSON.stringify(payload.status) } : {};
      throw new Rejected('status_not_approved', 'the signed status is not APPROVED', extra);
    }
    if (payload[refField] !== ref) throw new Rejected('reference_mismatch', `the signed ${refField} is not ${ref}`);
    return {
      verdict: 'accepted',
      identity: {
        userInfoType: payload.userInfoType ?? null,
        userInfo: payload.userInfo ?? null,
        requestedAttributes: payload.requestedAttributes ?? {},
      },
    };
  }
}

// The error code as written, so that 1002.0 (a float) is not taken for the integer 1002.
function rawCode(text) {
  const m = /"code"\s*:\s*(-?[0-9.eE+-]+)/.exec(text);
  return m ? m[1] : '';
}

async function perform(environment, operation) {
  const op = operation.op;
  if (!OPERATIONS.includes(op)) return { verdict: 'unsupported' };
  const env = environment.freja;
  if (!env) return { verdict: 'rejected', reason: 'invalid_input', detail: 'no Freja settings' };
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Rejected('timeout', `the flow did not end within ${env.flow_timeout_ms} ms`)), env.flow_timeout_ms);
  });
  try {
    return await Promise.race([new FrejaRp(env).run(op, operation), deadline]);
  } catch (e) {
    if (e instanceof Rejected) return e.outcome;
    throw e;
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
