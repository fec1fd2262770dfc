/**
 * The receiver's schema and crypto checks (receiver/protocol.mjs) against the shared vectors, with keys made by
 * Node's WebCrypto: the same file the kiosk's unit tests read, so both sides agree byte for byte.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkDecisionBody,
  isLowS,
  signLowS,
  checkPairBody,
  fromBase64url,
  importPublicKey,
  pairingProof,
  pairingStatement,
  pullStatement,
  thumbprint,
  verifySignature,
} from '../../receiver/protocol.mjs';
import { PairingCodes, displayCode, needsRepairCode, newCode, CROCKFORD } from '../../receiver/pairing.mjs';
import { RateLimiter } from '../../receiver/ratelimit.mjs';
import { ROOT, makeKiosk, pairBody } from './helpers';

interface Vectors {
  testKey: { public: { kty: 'EC'; crv: 'P-256'; x: string; y: string }; kid: string };
  valid: { name: string; payload: string; body: string }[];
  invalid: { name: string; body: string; reason: string; field?: string }[];
  forged: { name: string; body: string }[];
}
const vectors = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/decisions/vectors.json'), 'utf8')) as Vectors;

describe('decision vectors, receiver side', () => {
  it('computes the same RFC 7638 key id', async () => {
    expect(await thumbprint(vectors.testKey.public)).toBe(vectors.testKey.kid);
  });

  it.each(vectors.valid.map((v) => [v.name, v] as const))('accepts and verifies: %s', async (_n, v) => {
    const checked = checkDecisionBody(v.body);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.value.envelope.payload).toBe(v.payload);
    const key = await importPublicKey(vectors.testKey.public);
    expect(await verifySignature(key, checked.value.envelope.payload, checked.value.envelope.sig)).toBe(true);
  });

  it.each(vectors.invalid.map((v) => [v.name, v] as const))('refuses with the agreed reason: %s', (_n, v) => {
    expect(checkDecisionBody(v.body)).toEqual(
      v.field === undefined ? { ok: false, reason: v.reason } : { ok: false, reason: v.reason, field: v.field },
    );
  });

  it.each(vectors.forged.map((v) => [v.name, v] as const))('does not verify: %s', async (_n, v) => {
    const checked = checkDecisionBody(v.body);
    if (!checked.ok) throw new Error(checked.reason);
    const key = await importPublicKey(vectors.testKey.public);
    expect(await verifySignature(key, checked.value.envelope.payload, checked.value.envelope.sig)).toBe(false);
  });

  it('the high-s twin is a real ECDSA signature (plain WebCrypto accepts it); only the low-s rule refuses it', async () => {
    const twin = vectors.forged.find((v) => v.name.startsWith('high-s'));
    const checked = checkDecisionBody(twin!.body);
    if (!checked.ok) throw new Error(checked.reason);
    const key = await importPublicKey(vectors.testKey.public);
    const raw = Buffer.from(checked.value.envelope.sig, 'base64url');
    const bytes = Buffer.from(checked.value.envelope.payload, 'utf8');
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, raw, bytes)).toBe(true);
    expect(isLowS(raw)).toBe(false);
    for (const v of vectors.valid) expect(isLowS(Buffer.from(JSON.parse(v.body).sig, 'base64url'))).toBe(true);
  });

  it('signLowS always produces the low form, and it verifies', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    for (let i = 0; i < 16; i++) {
      const sig = await signLowS(pair.privateKey, `m${i}`);
      expect(isLowS(Buffer.from(sig, 'base64url'))).toBe(true);
      expect(await verifySignature(pair.publicKey, `m${i}`, sig)).toBe(true);
    }
  });

  it('refuses a public key that is not a point on P-256', async () => {
    const bad = { ...vectors.testKey.public, y: vectors.testKey.public.x };
    await expect(importPublicKey(bad)).rejects.toThrow();
  });

  it('decodes only canonical base64url', () => {
    expect(fromBase64url('-_8B')).toEqual(new Uint8Array([0xfb, 0xff, 0x01]));
    expect(fromBase64url('+/8B')).toBeUndefined();
    expect(fromBase64url('AR')).toBeUndefined();
  });
});

describe('pairing', () => {
  it('computes the proof the kiosk computes (shared vector)', async () => {
    expect(await pairingProof('ABCDE12345', 'lobby-1', 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde')).toBe(
      'dBnkBmNQ7lOjUJ2eIMq4evTm-rB6fbKWcpMK_JgCe2A',
    );
  });

  it('draws 10 Crockford characters per code', () => {
    const codes = new Set(Array.from({ length: 200 }, () => newCode()));
    expect(codes.size).toBe(200);
    for (const c of codes) expect([...c].every((ch) => CROCKFORD.includes(ch)) && c.length === 10).toBe(true);
    expect(displayCode('ABCDE12345')).toBe('ABCDE-12345');
  });

  it('accepts the right proof once, burns the code after 5 wrong ones, and expires it', async () => {
    let clock = 1_000_000;
    const codes = new PairingCodes({ ttlMs: 60_000, now: () => clock });
    expect(await codes.verify('x', 'k', 'kid')).toBe('no_pairing_code');
    const { code } = codes.issue();
    const right = await pairingProof(code, 'lobby-1', 'kid1');
    expect(await codes.verify(await pairingProof(code, 'lobby-1', 'kid2'), 'lobby-1', 'kid1')).toBe('bad_code');
    expect(await codes.verify(right, 'lobby-1', 'kid1')).toBe('ok');
    expect(await codes.verify(right, 'lobby-1', 'kid1')).toBe('no_pairing_code');

    const second = codes.issue();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await codes.verify('wrong', 'lobby-1', 'kid1'));
    expect(results).toEqual(['bad_code', 'bad_code', 'bad_code', 'bad_code', 'code_burnt']);
    expect(await codes.verify(await pairingProof(second.code, 'lobby-1', 'kid1'), 'lobby-1', 'kid1')).toBe(
      'no_pairing_code',
    );

    const third = codes.issue();
    clock += 60_001;
    expect(await codes.verify(await pairingProof(third.code, 'lobby-1', 'kid1'), 'lobby-1', 'kid1')).toBe(
      'code_expired',
    );
  });

  it('asks for a re-pair code when a pairing would change what a paired id may do', () => {
    const paired = { kid: 'kid1', doors: ['main', 'garage'] };
    expect(needsRepairCode(undefined, 'kid1', ['main'])).toBe(false); // a new id
    expect(needsRepairCode(paired, 'kid1', undefined)).toBe(false); // same key, doors kept
    expect(needsRepairCode(paired, 'kid1', ['garage', 'main'])).toBe(false); // the same doors
    expect(needsRepairCode(paired, 'kid2', undefined)).toBe(true); // a new key
    expect(needsRepairCode({ ...paired, revoked: true }, 'kid1', undefined)).toBe(true);
    for (const doors of [['main'], ['main', 'garage', 'side'], ['side']])
      expect(needsRepairCode(paired, 'kid1', doors)).toBe(true);
    expect(needsRepairCode({ kid: 'kid1' }, 'kid1', ['main'])).toBe(true); // not bound yet: the code would bind it
  });

  it('checks pairing bodies exactly', async () => {
    const kiosk = await makeKiosk('lobby-1');
    const body = await pairBody(kiosk, 'ABCDE-12345');
    const ok = checkPairBody(body);
    expect(ok.ok).toBe(true);
    const env = JSON.parse(body) as { payload: string; sig: string };
    const extra = JSON.stringify({ payload: env.payload.replace(/}$/, ',"name":"Alice"}'), sig: env.sig });
    expect(checkPairBody(extra)).toEqual({ ok: false, reason: 'extra_field', field: 'name' });
    const withD = JSON.stringify({
      payload: env.payload.replace('"kty":"EC"', '"d":"secret","kty":"EC"'),
      sig: env.sig,
    });
    expect(checkPairBody(withD)).toEqual({ ok: false, reason: 'extra_field', field: 'key.d' });
  });
});

describe('bundle pull statement', () => {
  it('is spelled the same by the kiosk and the receiver, and apart from every other signed text', async () => {
    const kioskSide = (await import('../../src/decisions/message')).pullStatement;
    const key = 'ab'.repeat(32);
    for (const [id, since, k, ts] of [
      ['lobby-1', 0, key, 1_765_000_000_000],
      ['Gate_2.b', 9_007_199_254_740_991, undefined, 1_800_000_000_123],
    ] as const) {
      expect(pullStatement(id, since, k, ts)).toBe(kioskSide(id, since, k, ts));
    }
    expect(pullStatement('lobby-1', 3, key, 1)).toBe(`entrance-kiosk/bundle-pull/v1\nlobby-1\n3\n${key}\n1`);
    expect(pullStatement('lobby-1', 3, undefined, 1)).toBe('entrance-kiosk/bundle-pull/v1\nlobby-1\n3\n-\n1');
    // A pull's signature cannot stand for a decision (JSON) or the pairing statement (its own first line).
    expect(pullStatement('lobby-1', 0, undefined, 1).split('\n')[0]).not.toBe(
      pairingStatement('lobby-1', 'x').split('\n')[0],
    );
    // And a signature over it verifies only over it (the receiver route checks the rest: test/receiver/bundles.test.ts).
    const kiosk = await makeKiosk('lobby-1');
    const text = pullStatement('lobby-1', 3, key, 1_765_000_000_000);
    const sig = await signLowS(kiosk.keys.privateKey, text);
    const pub = await importPublicKey(kiosk.jwk);
    expect(await verifySignature(pub, text, sig)).toBe(true);
    expect(await verifySignature(pub, pullStatement('lobby-1', 4, key, 1_765_000_000_000), sig)).toBe(false);
  });
});

describe('rate limiter', () => {
  it('allows a burst, then one token per 1/rate seconds, per key', () => {
    let clock = 0;
    const rl = new RateLimiter({ burst: 3, perSecond: 2, now: () => clock });
    expect([rl.take('a'), rl.take('a'), rl.take('a')].every((r) => r.ok)).toBe(true);
    expect(rl.take('a')).toEqual({ ok: false, retryAfterMs: 500 });
    expect(rl.take('b').ok).toBe(true);
    clock += 500;
    expect(rl.take('a').ok).toBe(true);
    expect(rl.take('a').ok).toBe(false);
  });

  it('goes on refilling after the clock steps back an hour, and gains nothing from the step', () => {
    let clock = 3_600_000;
    const rl = new RateLimiter({ burst: 2, perSecond: 1, now: () => clock });
    expect([rl.take('a'), rl.take('a')].every((r) => r.ok)).toBe(true);
    clock -= 3_600_000; // NTP steps the clock back an hour
    expect(rl.take('a').ok).toBe(false); // no tokens from the step
    clock += 1_000;
    expect(rl.take('a').ok).toBe(true); // one second later, one token: not an hour's wait
    expect(rl.take('a').ok).toBe(false);
  });

  it('forgets the least recently used key past its bound', () => {
    const rl = new RateLimiter({ burst: 1, perSecond: 0.001, maxKeys: 2, now: () => 0 });
    rl.take('a');
    rl.take('b');
    rl.take('c'); // evicts a
    expect(rl.take('a').ok).toBe(true);
    expect(rl.take('c').ok).toBe(false);
  });
});
