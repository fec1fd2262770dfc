// @ts-check
/**
 * The receiver's reading of the kiosk wire format: exact schema checks, canonical-form checks, ECDSA P-256
 * verification, RFC 7638 key ids and the pairing proof. Pure functions plus WebCrypto; no I/O.
 *
 * Written independently of the kiosk's src/decisions/message.ts on purpose (a reference receiver that shares the
 * sender's parser would share its bugs); test/fixtures/decisions/vectors.json pins both to the same bytes.
 * Everything not listed is refused: an unknown field is an error, not something to ignore, because a field we
 * ignore today is a channel for biometric data tomorrow. The functions here also serve tests and admins as the
 * schema check of captured bodies (see docs/receiver.md).
 *
 * Envelope: {"payload":"<canonical JSON text>","sig":"<base64url raw r||s>"}; the signature covers the UTF-8 bytes of
 * the payload string. Payload keys, in this order: v, kiosk, seq, ts, decision, [door], nonce, [stale], [sub],
 * [manual].
 */
// Node's global WebCrypto (the same API the kiosk signs with in the browser).
const subtle = globalThis.crypto.subtle;

export const DECISION_VERSION = 1;
/** What the kiosk promises never to exceed; the HTTP layer refuses more than MAX_BODY_BYTES outright. */
export const MAX_DECISION_BYTES = 512;
export const MAX_BODY_BYTES = 1024;

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

/** A kiosk or door id as decisions spell them. @param {unknown} x @returns {x is string} */
export function isId(x) {
  return typeof x === 'string' && ID.test(x);
}
const B64URL_22 = /^[A-Za-z0-9_-]{22}$/;
const B64URL_43 = /^[A-Za-z0-9_-]{43}$/;
const SIG = /^[A-Za-z0-9_-]{86}$/;
const TS_MIN = 1_577_836_800_000; // 2020-01-01, catches seconds sent as milliseconds
const TS_MAX = 4_102_444_800_000; // 2100-01-01

/**
 * @typedef {{ v: 1, kiosk: string, seq: number, ts: number, decision: 'grant' | 'deny', door?: string,
 *   nonce: string, stale?: true, sub?: string, manual?: true }} DecisionPayload
 * @typedef {{ kty: 'EC', crv: 'P-256', x: string, y: string }} PublicJwk
 * @typedef {{ v: 1, kiosk: string, key: PublicJwk, ts: number, proof: string }} PairPayload
 * @typedef {{ payload: string, sig: string }} Envelope
 * @typedef {'bad_json' | 'not_object' | 'extra_field' | 'missing_field' | 'bad_field' | 'not_canonical'
 *   | 'too_large'} SchemaReason
 */

/**
 * @template T
 * @typedef {{ ok: true, value: T } | { ok: false, reason: SchemaReason, field?: string }} Check
 */

/**
 * @param {SchemaReason} reason
 * @param {string} [field]
 * @returns {{ ok: false, reason: SchemaReason, field?: string }}
 */
function no(reason, field) {
  return field === undefined ? { ok: false, reason } : { ok: false, reason, field };
}

/** @param {unknown} x @returns {x is Record<string, unknown>} */
function isObject(x) {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** @param {unknown} x @returns {x is number} */
function isSafeInt(x) {
  return typeof x === 'number' && Number.isSafeInteger(x);
}

/**
 * Parses JSON that must be one object (`field` names where it came from, for the error).
 * @param {string} text @param {string} [field]
 * @returns {Check<Record<string, unknown>>}
 */
function parseObject(text, field) {
  /** @type {unknown} */
  let obj;
  try {
    obj = JSON.parse(text);
  } catch {
    return no('bad_json', field);
  }
  if (!isObject(obj)) return no('not_object', field);
  return { ok: true, value: obj };
}

/**
 * Checks that `obj` has only `allowed` keys and all `required` ones.
 * @param {Record<string, unknown>} obj @param {readonly string[]} allowed @param {readonly string[]} required
 * @returns {{ ok: false, reason: SchemaReason, field?: string } | undefined}
 */
function checkKeys(obj, allowed, required) {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) return no('extra_field', k);
  for (const k of required) if (!Object.hasOwn(obj, k)) return no('missing_field', k);
  return undefined;
}

/** @param {DecisionPayload} p @returns {string} */
export function canonicalDecisionPayload(p) {
  /** @type {Record<string, unknown>} */
  const o = { v: p.v, kiosk: p.kiosk, seq: p.seq, ts: p.ts, decision: p.decision };
  if (p.door !== undefined) o.door = p.door;
  o.nonce = p.nonce;
  if (p.stale === true) o.stale = true;
  if (p.sub !== undefined) o.sub = p.sub;
  if (p.manual === true) o.manual = true;
  return JSON.stringify(o);
}

/** @param {PairPayload} p @returns {string} */
export function canonicalPairPayload(p) {
  return JSON.stringify({
    v: p.v,
    kiosk: p.kiosk,
    key: { kty: p.key.kty, crv: p.key.crv, x: p.key.x, y: p.key.y },
    ts: p.ts,
    proof: p.proof,
  });
}

/**
 * Envelope check shared by decisions and pairing: exact keys, string types, canonical spelling.
 * @param {string} text @param {number} maxBytes
 * @returns {Check<Envelope>}
 */
function checkEnvelope(text, maxBytes) {
  if (Buffer.byteLength(text, 'utf8') > maxBytes) return no('too_large');
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  const obj = parsed.value;
  const bad = checkKeys(obj, ['payload', 'sig'], ['payload', 'sig']);
  if (bad) return bad;
  if (typeof obj.payload !== 'string') return no('bad_field', 'payload');
  if (typeof obj.sig !== 'string' || !SIG.test(obj.sig)) return no('bad_field', 'sig');
  const env = { payload: obj.payload, sig: obj.sig };
  if (JSON.stringify(env) !== text) return no('not_canonical');
  return { ok: true, value: env };
}

/**
 * The exact schema check of a decision body (no signature check). Also the check a test runs over every body a
 * receiver captured.
 * @param {string} text
 * @returns {Check<{ envelope: Envelope, payload: DecisionPayload }>}
 */
export function checkDecisionBody(text) {
  const env = checkEnvelope(text, MAX_DECISION_BYTES);
  if (!env.ok) return env;
  const parsed = parseObject(env.value.payload, 'payload');
  if (!parsed.ok) return parsed;
  const p = parsed.value;
  const bad = checkKeys(
    p,
    ['v', 'kiosk', 'seq', 'ts', 'decision', 'door', 'nonce', 'stale', 'sub', 'manual'],
    ['v', 'kiosk', 'seq', 'ts', 'decision', 'nonce'],
  );
  if (bad) return bad;
  if (p.v !== DECISION_VERSION) return no('bad_field', 'v');
  if (typeof p.kiosk !== 'string' || !ID.test(p.kiosk)) return no('bad_field', 'kiosk');
  if (!isSafeInt(p.seq) || p.seq < 1) return no('bad_field', 'seq');
  if (!isSafeInt(p.ts) || p.ts < TS_MIN || p.ts > TS_MAX) return no('bad_field', 'ts');
  if (p.decision !== 'grant' && p.decision !== 'deny') return no('bad_field', 'decision');
  if (p.door !== undefined && (typeof p.door !== 'string' || !ID.test(p.door))) return no('bad_field', 'door');
  if (typeof p.nonce !== 'string' || !B64URL_22.test(p.nonce)) return no('bad_field', 'nonce');
  if (p.stale !== undefined && p.stale !== true) return no('bad_field', 'stale');
  if (p.sub !== undefined && (typeof p.sub !== 'string' || !B64URL_22.test(p.sub))) return no('bad_field', 'sub');
  if (p.manual !== undefined && p.manual !== true) return no('bad_field', 'manual');
  /** @type {DecisionPayload} */
  const payload = { v: 1, kiosk: p.kiosk, seq: p.seq, ts: p.ts, decision: p.decision, nonce: p.nonce };
  if (p.door !== undefined) payload.door = /** @type {string} */ (p.door);
  if (p.stale === true) payload.stale = true;
  if (p.sub !== undefined) payload.sub = /** @type {string} */ (p.sub);
  if (p.manual === true) payload.manual = true;
  if (canonicalDecisionPayload(payload) !== env.value.payload) return no('not_canonical', 'payload');
  return { ok: true, value: { envelope: env.value, payload } };
}

/**
 * @param {string} text
 * @returns {Check<{ envelope: Envelope, payload: PairPayload }>}
 */
export function checkPairBody(text) {
  const env = checkEnvelope(text, MAX_BODY_BYTES);
  if (!env.ok) return env;
  const parsed = parseObject(env.value.payload, 'payload');
  if (!parsed.ok) return parsed;
  const p = parsed.value;
  const bad = checkKeys(p, ['v', 'kiosk', 'key', 'ts', 'proof'], ['v', 'kiosk', 'key', 'ts', 'proof']);
  if (bad) return bad;
  if (p.v !== 1) return no('bad_field', 'v');
  if (typeof p.kiosk !== 'string' || !ID.test(p.kiosk)) return no('bad_field', 'kiosk');
  if (!isSafeInt(p.ts) || p.ts < TS_MIN || p.ts > TS_MAX) return no('bad_field', 'ts');
  if (typeof p.proof !== 'string' || !B64URL_43.test(p.proof)) return no('bad_field', 'proof');
  const k = p.key;
  if (!isObject(k)) return no('bad_field', 'key');
  const badKey = checkKeys(k, ['kty', 'crv', 'x', 'y'], ['kty', 'crv', 'x', 'y']);
  if (badKey) return { ...badKey, field: `key.${badKey.field}` };
  if (k.kty !== 'EC' || k.crv !== 'P-256') return no('bad_field', 'key');
  // Each coordinate exactly 32 bytes in its one canonical spelling: the last of 43 characters carries 2 spare bits,
  // and a key spelled four ways had four key ids (thumbprints hash the text), so a retired key could pair again
  // (attacker review, session 25).
  const { x, y } = k;
  if (typeof x !== 'string' || typeof y !== 'string') return no('bad_field', 'key');
  for (const c of [x, y]) if (!B64URL_43.test(c) || fromBase64url(c)?.length !== 32) return no('bad_field', 'key');
  /** @type {PairPayload} */
  const payload = { v: 1, kiosk: p.kiosk, key: { kty: 'EC', crv: 'P-256', x, y }, ts: p.ts, proof: p.proof };
  if (canonicalPairPayload(payload) !== env.value.payload) return no('not_canonical', 'payload');
  return { ok: true, value: { envelope: env.value, payload } };
}

/**
 * Strict unpadded base64url decode; undefined for any other spelling.
 * @param {string} text
 * @returns {Uint8Array<ArrayBuffer> | undefined}
 */
export function fromBase64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) return undefined;
  return new Uint8Array(bytes);
}

/** @param {Uint8Array | ArrayBuffer} bytes */
export function toBase64url(bytes) {
  return Buffer.from(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes).toString('base64url');
}

/**
 * Imports a P-256 public JWK for verification; rejects points not on the curve.
 * @param {PublicJwk} jwk
 * @returns {Promise<CryptoKey>}
 */
export function importPublicKey(jwk) {
  return subtle.importKey(
    'jwk',
    { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ext: true },
    { name: 'ECDSA', namedCurve: 'P-256' },
    true,
    ['verify'],
  );
}

/** RFC 7638 thumbprint, the key id both sides show. @param {PublicJwk} jwk */
export async function thumbprint(jwk) {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return toBase64url(await subtle.digest('SHA-256', Buffer.from(canonical, 'utf8')));
}

/** Short grouped form of a key id for logs ("AbCd-EfGh-IjKl-MnOp"). @param {string} kid */
export function fingerprint(kid) {
  return (kid.slice(0, 16).match(/.{1,4}/g) ?? []).join('-');
}

/** Order of the P-256 group, and half of it: the largest `s` of a low-s signature. */
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = P256_N >> 1n;

/**
 * True if the raw r||s signature has s <= n/2. For every valid (r, s), (r, n - s) verifies too; accepting only the
 * low form gives each message exactly one valid signature, so a signature can serve as an identifier and an
 * attacker cannot mint a "new" message (different bytes, same meaning) from a captured one.
 * @param {Uint8Array} raw 64 bytes
 */
export function isLowS(raw) {
  const s = BigInt(`0x${Buffer.from(raw.subarray(32, 64)).toString('hex')}`);
  return s <= P256_HALF_N;
}

/**
 * ECDSA P-256 / SHA-256 over the UTF-8 bytes of `text`, signature raw r||s in its low-s form (see isLowS).
 * @param {CryptoKey} key @param {string} text @param {string} sig
 */
export async function verifySignature(key, text, sig) {
  const raw = fromBase64url(sig);
  if (!raw || raw.length !== 64 || !isLowS(raw)) return false;
  return subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, raw, Buffer.from(text, 'utf8'));
}

/**
 * Signs the UTF-8 bytes of `text` with ECDSA P-256 / SHA-256 and returns raw r||s in low-s form, base64url.
 * WebCrypto returns either form at random; the high one is folded to n - s.
 * @param {CryptoKey} key @param {string} text
 */
export async function signLowS(key, text) {
  const raw = new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(text, 'utf8')));
  if (!isLowS(raw)) {
    const s = BigInt(`0x${Buffer.from(raw.subarray(32)).toString('hex')}`);
    raw.set(Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex'), 32);
  }
  return toBase64url(raw);
}

/**
 * What a kiosk signs to pull a watchlist bundle (GET /watchlist/bundle): its id, the version it has, the receiving
 * key id it asks for (or "-") and its clock. Its own first line keeps it apart from a decision (JSON, starting "{")
 * and from the pairing statement, so no signature made for one can be presented as the other.
 * @param {string} kiosk @param {number} since @param {string | undefined} receivingKey @param {number} ts
 */
export function pullStatement(kiosk, since, receivingKey, ts) {
  return `entrance-kiosk/bundle-pull/v1\n${kiosk}\n${since}\n${receivingKey ?? '-'}\n${ts}`;
}

/** @param {string} kiosk @param {string} kid */
export function pairingStatement(kiosk, kid) {
  return `entrance-kiosk/pair/v1\n${kiosk}\n${kid}`;
}

/**
 * HMAC-SHA-256 keyed by the normalised one-time code over the pairing statement.
 * @param {string} code @param {string} kiosk @param {string} kid
 */
export async function pairingProof(code, kiosk, kid) {
  const key = await subtle.importKey('raw', Buffer.from(code, 'utf8'), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  return toBase64url(await subtle.sign('HMAC', key, Buffer.from(pairingStatement(kiosk, kid), 'utf8')));
}
