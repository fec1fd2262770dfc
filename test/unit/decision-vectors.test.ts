/**
 * The kiosk's reading of the shared decision vectors (test/fixtures/decisions/vectors.json): the receiver's tests
 * read the same file, so the two independent implementations agree byte for byte on what is valid, why something
 * is not, and whose signature verifies.
 */
import { describe, expect, it } from 'vitest';
import vectorsText from '../fixtures/decisions/vectors.json?raw';
import { MAX_ENVELOPE_BYTES, canonicalPayload, checkEnvelopeText } from '../../src/decisions/message';
import { base64urlDecode, base64urlEncode, utf8 } from '../../src/decisions/encoding';
import { isLowS, jwkThumbprint, toLowS, verifyText, type PublicJwk } from '../../src/decisions/signer';

interface Vectors {
  testKey: { public: PublicJwk; kid: string };
  valid: { name: string; payload: string; body: string }[];
  invalid: { name: string; body: string; reason: string; field?: string }[];
  forged: { name: string; body: string }[];
}
const vectors = JSON.parse(vectorsText) as Vectors;

async function testKey(): Promise<CryptoKey> {
  return crypto.subtle.importKey('jwk', vectors.testKey.public, { name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'verify',
  ]);
}

describe('decision vectors, kiosk side', () => {
  it('computes the same RFC 7638 key id', async () => {
    expect(await jwkThumbprint(vectors.testKey.public)).toBe(vectors.testKey.kid);
  });

  it.each(vectors.valid.map((v) => [v.name, v] as const))('accepts and verifies: %s', async (_name, v) => {
    const checked = checkEnvelopeText(v.body);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.value.envelope.payload).toBe(v.payload);
    expect(canonicalPayload(checked.value.payload)).toBe(v.payload);
    expect(new TextEncoder().encode(v.body).length).toBeLessThanOrEqual(MAX_ENVELOPE_BYTES);
    expect(await verifyText(await testKey(), checked.value.envelope.payload, checked.value.envelope.sig)).toBe(true);
  });

  it.each(vectors.invalid.map((v) => [v.name, v] as const))('refuses with the agreed reason: %s', (_name, v) => {
    const checked = checkEnvelopeText(v.body);
    expect(checked).toEqual(
      v.field === undefined ? { ok: false, reason: v.reason } : { ok: false, reason: v.reason, field: v.field },
    );
  });

  it.each(vectors.forged.map((v) => [v.name, v] as const))('parses but does not verify: %s', async (_name, v) => {
    const checked = checkEnvelopeText(v.body);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(await verifyText(await testKey(), checked.value.envelope.payload, checked.value.envelope.sig)).toBe(false);
  });

  it('signs in low-s form only, and refuses the high-s twin plain WebCrypto would accept', async () => {
    const twin = vectors.forged.find((v) => v.name.startsWith('high-s'))!;
    const env = JSON.parse(twin.body) as { payload: string; sig: string };
    const raw = base64urlDecode(env.sig)!;
    expect(isLowS(raw)).toBe(false);
    const key = await testKey();
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, raw, utf8(env.payload))).toBe(true);
    expect(isLowS(toLowS(raw))).toBe(true);
    expect(await verifyText(key, env.payload, base64urlEncode(toLowS(raw)))).toBe(true);
  });
});
