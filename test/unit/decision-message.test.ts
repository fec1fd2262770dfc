/**
 * Decision builder, signer and pairing request on the kiosk side, with the runtime's real WebCrypto.
 */
import { describe, expect, it } from 'vitest';
import { base64urlDecode, base64urlEncode } from '../../src/decisions/encoding';
import {
  type DecisionPayload,
  MAX_ENVELOPE_BYTES,
  canonicalPayload,
  checkEnvelopeText,
  checkPayloadText,
  serialiseEnvelope,
  upstreamDecisionFor,
} from '../../src/decisions/message';
import { buildPairRequest, normalisePairingCode, pairUrlFor, pairingProof } from '../../src/decisions/pairing';
import {
  exportPublicJwk,
  fingerprint,
  generateSigningKey,
  generateSubjectKey,
  jwkThumbprint,
  restampStale,
  signPayload,
  subjectRef,
  verifyText,
} from '../../src/decisions/signer';
import { isKioskError } from '../../src/shared/errors';

const NONCE = 'AAECAwQFBgcICQoLDA0ODw';
const base: DecisionPayload = {
  v: 1,
  kiosk: 'lobby-1',
  seq: 1,
  ts: 1_795_000_000_000,
  decision: 'grant',
  nonce: NONCE,
};

describe('payload', () => {
  it('serialises in the fixed key order, optional keys only when set, stale only as true', () => {
    expect(
      canonicalPayload({
        sub: 'q83vASNFZ4mrze8BI0VniQ',
        stale: true,
        nonce: NONCE,
        door: 'd1',
        decision: 'deny',
        ts: 1_795_000_000_000,
        seq: 9,
        kiosk: 'k',
        v: 1,
      }),
    ).toBe(
      `{"v":1,"kiosk":"k","seq":9,"ts":1795000000000,"decision":"deny","door":"d1","nonce":"${NONCE}","stale":true,"sub":"q83vASNFZ4mrze8BI0VniQ"}`,
    );
    expect(canonicalPayload(base)).toBe(
      `{"v":1,"kiosk":"lobby-1","seq":1,"ts":1795000000000,"decision":"grant","nonce":"${NONCE}"}`,
    );
  });

  it('has no field that could carry a name, score, template or image', () => {
    for (const field of ['name', 'label', 'score', 'template', 'embedding', 'image', 'plate', 'subjectId']) {
      const text = canonicalPayload(base).replace(/}$/, `,"${field}":"x"}`);
      expect(checkPayloadText(text)).toEqual({ ok: false, reason: 'extra_field', field });
    }
  });

  it('refuses ids that could smuggle text: spaces, unicode, over 32 characters', () => {
    for (const kiosk of ['lobby 1', 'Zoë', 'k'.repeat(33), '-lead', '']) {
      expect(checkPayloadText(canonicalPayload({ ...base, kiosk }))).toMatchObject({ ok: false, field: 'kiosk' });
    }
  });

  it('never exceeds 512 bytes, even with every optional field at its longest', async () => {
    const { privateKey } = await generateSigningKey();
    const worst: DecisionPayload = {
      v: 1,
      kiosk: 'k'.repeat(32),
      seq: Number.MAX_SAFE_INTEGER,
      ts: 4_102_444_800_000,
      decision: 'grant',
      door: 'd'.repeat(32),
      nonce: NONCE,
      stale: true,
      sub: 'q83vASNFZ4mrze8BI0VniQ',
    };
    const body = serialiseEnvelope(await signPayload(privateKey, worst));
    const bytes = new TextEncoder().encode(body).length;
    expect(bytes).toBeLessThan(MAX_ENVELOPE_BYTES);
    expect(checkEnvelopeText(body).ok).toBe(true);
  });
});

describe('signing key', () => {
  it('is P-256, and extractable only for the vault to seal it (its stored copy is not)', async () => {
    // The vault's non-extractable copy: test/browser/vault-integration.test.ts (sealed keys).
    const pair = await generateSigningKey();
    expect(pair.privateKey.extractable).toBe(true);
    expect(pair.privateKey.usages).toEqual(['sign']);
    expect((pair.privateKey.algorithm as EcKeyAlgorithm).namedCurve).toBe('P-256');
    const jwk = await exportPublicJwk(pair.publicKey);
    expect(Object.keys(jwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(await jwkThumbprint(jwk)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fingerprint('AbCdEfGhIjKlMnOpQrSt')).toBe('AbCd-EfGh-IjKl-MnOp');
  });

  it('signs the exact payload bytes with a 64-byte raw r||s signature', async () => {
    const pair = await generateSigningKey();
    const env = await signPayload(pair.privateKey, base);
    expect(base64urlDecode(env.sig)?.length).toBe(64);
    expect(await verifyText(pair.publicKey, env.payload, env.sig)).toBe(true);
    expect(await verifyText(pair.publicKey, env.payload.replace('grant', 'deny'), env.sig)).toBe(false);
    const other = await generateSigningKey();
    expect(await verifyText(other.publicKey, env.payload, env.sig)).toBe(false);
  });

  it('restamps a late decision as stale without changing seq, ts or nonce', async () => {
    const pair = await generateSigningKey();
    const env = await signPayload(pair.privateKey, { ...base, door: 'gate' });
    const late = await restampStale(pair.privateKey, env);
    const checked = checkPayloadText(late.payload);
    expect(checked).toEqual({ ok: true, value: { ...base, door: 'gate', stale: true } });
    expect(await verifyText(pair.publicKey, late.payload, late.sig)).toBe(true);
    expect(await restampStale(pair.privateKey, late)).toBe(late);
  });
});

describe('subject references', () => {
  it('are stable per key, differ per subject, change when the key rotates, and hide the id', async () => {
    const k1 = await generateSubjectKey();
    const k2 = await generateSubjectKey();
    expect(k1.usages).toEqual(['sign']);
    const a = await subjectRef(k1, 'subject-42');
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await subjectRef(k1, 'subject-42')).toBe(a);
    expect(await subjectRef(k1, 'subject-43')).not.toBe(a);
    expect(await subjectRef(k2, 'subject-42')).not.toBe(a);
    // The id's text is not in it (a random reference contains "42" one time in about 200: that check was flaky).
    expect(a).not.toContain('subject');
  });
});

describe('pairing request', () => {
  it('normalises codes as typed by a person', () => {
    expect(normalisePairingCode('abcde-12345')).toBe('ABCDE12345');
    expect(normalisePairingCode(' AbCdE 1234o ')).toBe('ABCDE12340');
    expect(normalisePairingCode('ILLOO-00000')).toBe('11100' + '00000');
    expect(normalisePairingCode('ABCDE-1234')).toBeUndefined();
    expect(normalisePairingCode('ABCDE-1234U')).toBeUndefined();
  });

  it('proves the code with an HMAC the receiver can recompute (shared vector)', async () => {
    // Same vector as test/receiver/protocol.test.ts (computed with node:crypto createHmac).
    expect(await pairingProof('ABCDE12345', 'lobby-1', 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde')).toBe(
      'dBnkBmNQ7lOjUJ2eIMq4evTm-rB6fbKWcpMK_JgCe2A',
    );
  });

  it('never puts the code itself in the body, and signs with the key it registers', async () => {
    const pair = await generateSigningKey();
    const { body, kid } = await buildPairRequest('lobby-1', pair, 'ABCDE-12345', 1_795_000_000_000);
    expect(body).not.toMatch(/ABCDE/i);
    const env = JSON.parse(body) as { payload: string; sig: string };
    const payload = JSON.parse(env.payload) as { kiosk: string; key: { x: string }; proof: string };
    expect(Object.keys(payload)).toEqual(['v', 'kiosk', 'key', 'ts', 'proof']);
    expect(payload.proof).toBe(await pairingProof('ABCDE12345', 'lobby-1', kid));
    expect(await verifyText(pair.publicKey, env.payload, env.sig)).toBe(true);
  });

  it('refuses a malformed code before sending anything', async () => {
    const pair = await generateSigningKey();
    const err = await buildPairRequest('lobby-1', pair, 'nope').catch((e: unknown) => e);
    expect(isKioskError(err, 'UPSTREAM_PAIRING_FAILED')).toBe(true);
  });

  it('finds the pairing endpoint next to the decisions endpoint', () => {
    expect(pairUrlFor('http://127.0.0.1:8787/decisions')).toBe('http://127.0.0.1:8787/pair');
    expect(pairUrlFor('https://door.example/kiosk/decisions')).toBe('https://door.example/kiosk/pair');
  });
});

describe('outcome mapping and encoding', () => {
  it('sends grant or deny only for real decisions', () => {
    expect(upstreamDecisionFor('grant')).toBe('grant');
    expect(upstreamDecisionFor('override-grant')).toBe('grant');
    expect(upstreamDecisionFor('deny-listed')).toBe('deny');
    expect(upstreamDecisionFor('deny-unknown')).toBe('deny');
    expect(upstreamDecisionFor('no-face')).toBeNull();
    expect(upstreamDecisionFor('uncertain')).toBeNull();
  });

  it('decodes only canonical unpadded base64url', () => {
    const bytes = new Uint8Array([0xfb, 0xff, 0x01]);
    expect(base64urlEncode(bytes)).toBe('-_8B');
    expect(base64urlDecode('-_8B')).toEqual(bytes);
    expect(base64urlDecode('+/8B')).toBeUndefined();
    expect(base64urlDecode('AQ==')).toBeUndefined();
    expect(base64urlDecode('AR')).toBeUndefined(); // non-zero trailing bits
  });
});
