/**
 * The guard passkey verifier (src/crypto/webauthn.ts) against assertions built here the way an authenticator builds
 * them: a real ES256 key (Node's WebCrypto), authenticator data = SHA-256(rp id) ‖ flags ‖ sign count, signature
 * over authenticatorData ‖ SHA-256(clientDataJSON), DER-encoded. A good one passes; each field an attacker could
 * change fails with the check's name — and a credential that says it is synced or may be (flags BE / BS) is refused:
 * its user verification is whoever unlocks any device of that account (attacker review, session 20).
 */
import { describe, expect, it } from 'vitest';
import { FLAG_BE, FLAG_BS, b64url, verifyAssertion, type AssertionInput, type Expected } from '../../src/crypto/webauthn';

const UP = 0x01;
const UV = 0x04;
const ORIGIN = 'https://kiosk.site.lan';
const RP = 'kiosk.site.lan';

async function sha256(b: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', b));
}

/** Raw r ‖ s (what WebCrypto signs) to the ASN.1 DER an authenticator returns. */
function rawToDer(raw: Uint8Array): Uint8Array {
  const int = (x: Uint8Array) => {
    let i = 0;
    while (i < x.length - 1 && x[i] === 0) i++;
    const v = x.subarray(i);
    return v[0]! & 0x80 ? [0x02, v.length + 1, 0, ...v] : [0x02, v.length, ...v];
  };
  const body = [...int(raw.subarray(0, 32)), ...int(raw.subarray(32))];
  return Uint8Array.from([0x30, body.length, ...body]);
}

interface Build {
  flags?: number;
  type?: string;
  origin?: string;
  rpId?: string;
  challenge?: Uint8Array<ArrayBuffer>;
  /** Signed by another key than the registered one. */
  otherKey?: boolean;
}

async function setup() {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  const want: Expected = { challenge, origin: ORIGIN, rpId: RP };
  const build = async (b: Build = {}): Promise<AssertionInput> => {
    const client = new TextEncoder().encode(
      JSON.stringify({ type: b.type ?? 'webauthn.get', challenge: b64url(b.challenge ?? challenge), origin: b.origin ?? ORIGIN, crossOrigin: false }),
    );
    const auth = new Uint8Array(37);
    auth.set(await sha256(new TextEncoder().encode(b.rpId ?? RP)), 0);
    auth[32] = b.flags ?? UP | UV;
    auth.set([0, 0, 0, 7], 33);
    const signed = new Uint8Array(37 + 32);
    signed.set(auth, 0);
    signed.set(await sha256(client), 37);
    const key = b.otherKey ? other.privateKey : pair.privateKey;
    const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, signed));
    const der = rawToDer(raw);
    return { credentialId: 'cred', clientDataJSON: client.buffer, authenticatorData: auth.buffer, signature: der.buffer as ArrayBuffer };
  };
  return { spki, want, build };
}

describe('guard passkey assertion verification', () => {
  it('accepts a device-bound, user-verified assertion for our challenge, origin and RP', async () => {
    const { spki, want, build } = await setup();
    expect(await verifyAssertion(await build(), spki, want)).toBeNull();
  });

  it('refuses each field an attacker could change, naming the check', async () => {
    const { spki, want, build } = await setup();
    const cases: [Build, string][] = [
      [{ type: 'webauthn.create' }, 'type'],
      [{ challenge: crypto.getRandomValues(new Uint8Array(32)) }, 'challenge'],
      [{ origin: 'https://evil.site.lan' }, 'origin'],
      [{ rpId: 'evil.site.lan' }, 'rp-id'],
      [{ flags: UV }, 'user-presence'],
      [{ flags: UP }, 'user-verification'],
      [{ otherKey: true }, 'signature'],
    ];
    for (const [b, problem] of cases) expect(await verifyAssertion(await build(b), spki, want), JSON.stringify(b)).toBe(problem);
  });

  it('refuses a passkey that is synced or may be (BE / BS): not the guard’s own key', async () => {
    const { spki, want, build } = await setup();
    expect(await verifyAssertion(await build({ flags: UP | UV | FLAG_BE }), spki, want)).toBe('backed-up');
    expect(await verifyAssertion(await build({ flags: UP | UV | FLAG_BE | FLAG_BS }), spki, want)).toBe('backed-up');
    expect(await verifyAssertion(await build({ flags: UP | UV | FLAG_BS }), spki, want)).toBe('backed-up');
  });
});
