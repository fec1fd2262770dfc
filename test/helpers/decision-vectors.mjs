#!/usr/bin/env node
// @ts-check
/**
 * Writes test/fixtures/decisions/vectors.json: decision bodies both the kiosk (src/decisions) and the reference
 * receiver (receiver/protocol.mjs) must read the same way — valid ones with a signature from a fixed test key,
 * invalid ones with the reason code both sides must give. Payload texts are spelled out literally here, not built
 * by either implementation, so the vectors cannot inherit a bug from the code they check.
 * Re-run after a schema change: node test/helpers/decision-vectors.mjs (the test key is kept if present).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const OUT = new URL('../fixtures/decisions/vectors.json', import.meta.url);
const subtle = globalThis.crypto.subtle;

/** @type {JsonWebKey} */
let priv;
if (existsSync(OUT)) {
  priv = JSON.parse(readFileSync(OUT, 'utf8')).testKey.private;
} else {
  const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  priv = await subtle.exportKey('jwk', pair.privateKey);
}
const key = await subtle.importKey('jwk', priv, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
const publicJwk = { kty: 'EC', crv: 'P-256', x: priv.x, y: priv.y };
// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
const kid = Buffer.from(
  await subtle.digest('SHA-256', Buffer.from(`{"crv":"P-256","kty":"EC","x":"${priv.x}","y":"${priv.y}"}`, 'utf8')),
).toString('base64url');

// P-256 group order: (r, s) and (r, n - s) both verify; both sides accept only s <= n/2.
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
/** @param {Buffer} raw @param {boolean} high */
function withS(raw, high) {
  const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
  const isHigh = s > N >> 1n;
  if (isHigh === high) return raw;
  return Buffer.concat([raw.subarray(0, 32), Buffer.from((N - s).toString(16).padStart(64, '0'), 'hex')]);
}
/** @param {string} payload @param {boolean} [high] the twin with s > n/2 (valid ECDSA, refused by both sides) */
async function sign(payload, high = false) {
  const sig = await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(payload, 'utf8'));
  return withS(Buffer.from(sig), high).toString('base64url');
}
/** @param {string} payload @param {string} [sig] */
async function envelope(payload, sig) {
  return JSON.stringify({ payload, sig: sig ?? (await sign(payload)) });
}

const NONCE = 'AAECAwQFBgcICQoLDA0ODw'; // 16 bytes 00..0f
const SUB = 'q83vASNFZ4mrze8BI0VniQ';
const K32 = 'k'.repeat(32);
const D32 = 'd'.repeat(32);

const valid = [
  {
    name: 'grant, minimal',
    payload: `{"v":1,"kiosk":"lobby-1","seq":1,"ts":1795000000000,"decision":"grant","nonce":"${NONCE}"}`,
  },
  {
    name: 'deny with door',
    payload: `{"v":1,"kiosk":"lobby-1","seq":2,"ts":1795000000500,"decision":"deny","door":"gate.B_2","nonce":"${NONCE}"}`,
  },
  {
    name: 'stale grant',
    payload: `{"v":1,"kiosk":"lobby-1","seq":3,"ts":1795000001000,"decision":"grant","nonce":"${NONCE}","stale":true}`,
  },
  {
    name: 'manual override grant',
    payload: `{"v":1,"kiosk":"lobby-1","seq":4,"ts":1795000001500,"decision":"grant","nonce":"${NONCE}","manual":true}`,
  },
  {
    name: 'largest possible',
    payload: `{"v":1,"kiosk":"${K32}","seq":9007199254740991,"ts":4102444800000,"decision":"grant","door":"${D32}","nonce":"${NONCE}","stale":true,"sub":"${SUB}","manual":true}`,
  },
];

const base = `{"v":1,"kiosk":"lobby-1","seq":7,"ts":1795000000000,"decision":"grant","nonce":"${NONCE}"}`;
/** @type {{ name: string, body: string, reason: string, field?: string }[]} */
const invalid = [
  {
    name: 'a name smuggled in',
    body: await envelope(base.replace('}', ',"name":"Alice"}')),
    reason: 'extra_field',
    field: 'name',
  },
  {
    name: 'a score smuggled in',
    body: await envelope(base.replace('}', ',"score":0.91}')),
    reason: 'extra_field',
    field: 'score',
  },
  {
    name: 'an image in the envelope',
    body: JSON.stringify({ payload: base, sig: await sign(base), image: 'data:image/png;base64,AAAA' }),
    reason: 'extra_field',
    field: 'image',
  },
  { name: 'payload not JSON', body: await envelope('grant'), reason: 'bad_json', field: 'payload' },
  { name: 'payload an array', body: await envelope('["grant"]'), reason: 'not_object', field: 'payload' },
  {
    name: 'whitespace in payload',
    body: await envelope(base.replace(',"seq"', ', "seq"')),
    reason: 'not_canonical',
    field: 'payload',
  },
  {
    name: 'keys out of order',
    body: await envelope(`{"kiosk":"lobby-1","v":1,"seq":7,"ts":1795000000000,"decision":"grant","nonce":"${NONCE}"}`),
    reason: 'not_canonical',
    field: 'payload',
  },
  {
    name: 'stale false spelled out',
    body: await envelope(base.replace('}', ',"stale":false}')),
    reason: 'bad_field',
    field: 'stale',
  },
  {
    name: 'manual false spelled out',
    body: await envelope(base.replace('}', ',"manual":false}')),
    reason: 'bad_field',
    field: 'manual',
  },
  {
    name: 'manual before sub',
    body: await envelope(base.replace('}', `,"manual":true,"sub":"${SUB}"}`)),
    reason: 'not_canonical',
    field: 'payload',
  },
  { name: 'seq zero', body: await envelope(base.replace('"seq":7', '"seq":0')), reason: 'bad_field', field: 'seq' },
  {
    name: 'seq as string',
    body: await envelope(base.replace('"seq":7', '"seq":"7"')),
    reason: 'bad_field',
    field: 'seq',
  },
  {
    name: 'ts in seconds',
    body: await envelope(base.replace('1795000000000', '1795000000')),
    reason: 'bad_field',
    field: 'ts',
  },
  {
    name: 'unknown decision',
    body: await envelope(base.replace('"grant"', '"open"')),
    reason: 'bad_field',
    field: 'decision',
  },
  { name: 'version 2', body: await envelope(base.replace('"v":1', '"v":2')), reason: 'bad_field', field: 'v' },
  {
    name: 'kiosk id too long',
    body: await envelope(base.replace('lobby-1', 'k'.repeat(33))),
    reason: 'bad_field',
    field: 'kiosk',
  },
  {
    name: 'missing nonce',
    body: await envelope(base.replace(`,"nonce":"${NONCE}"`, '')),
    reason: 'missing_field',
    field: 'nonce',
  },
  { name: 'short signature', body: JSON.stringify({ payload: base, sig: 'AAAA' }), reason: 'bad_field', field: 'sig' },
  { name: 'envelope not canonical', body: ` ${await envelope(base)}`, reason: 'not_canonical' },
  { name: 'not JSON', body: 'grant', reason: 'bad_json' },
  { name: 'array', body: '[]', reason: 'not_object' },
  {
    name: 'over 512 bytes',
    body: await envelope(base.replace('}', `,"pad":"${'x'.repeat(400)}"}`)),
    reason: 'too_large',
  },
];

/** Signatures that parse but must not verify under the test key. */
const forged = [
  { name: 'signature of another payload', body: await envelope(base, await sign(base.replace('"grant"', '"deny"'))) },
  { name: 'payload changed after signing', body: await envelope(base.replace('"grant"', '"deny"'), await sign(base)) },
  { name: 'all-zero signature', body: await envelope(base, 'A'.repeat(86)) },
  { name: 'high-s twin of a valid signature', body: await envelope(base, await sign(base, true)) },
];

const vectors = {
  about:
    'Generated by test/helpers/decision-vectors.mjs. Shared by test/unit/decision-vectors.test.ts and test/receiver/protocol.test.ts.',
  testKey: { public: publicJwk, kid, private: priv },
  valid: await Promise.all(valid.map(async (v) => ({ ...v, body: await envelope(v.payload) }))),
  invalid,
  forged,
};
writeFileSync(OUT, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote ${OUT.pathname}: ${vectors.valid.length} valid, ${invalid.length} invalid, ${forged.length} forged`);
for (const v of vectors.valid) console.log(`  ${v.name}: ${Buffer.byteLength(v.body)} bytes`);
