/**
 * Verifies a WebAuthn assertion (a guard's passkey login) the way a relying party must (W3C WebAuthn level 2,
 * §7.2): the client data is a `webauthn.get` for our challenge and our origin, the authenticator data is for our
 * RP id with user presence *and* user verification set (a passkey without its PIN or biometric is not a guard),
 * and the ES256 signature over authenticatorData ‖ SHA-256(clientDataJSON) verifies with the public key registered
 * for that credential. Only ES256 (P-256) keys are accepted at registration, so only ES256 is checked here. A
 * credential that says it may be backed up or is (flags BE, BS: a passkey synced to an account) is refused: its
 * user verification is whoever unlocks any device of that account, not the guard (attacker review, session 20).
 * Owns parsing and verification; it never calls navigator.credentials (the app layer does) and stores nothing.
 */

export interface AssertionInput {
  credentialId: string;
  clientDataJSON: ArrayBuffer;
  authenticatorData: ArrayBuffer;
  signature: ArrayBuffer;
}

export interface Expected {
  challenge: Uint8Array;
  origin: string;
  rpId: string;
}

export type AssertionProblem = 'client-data' | 'type' | 'challenge' | 'origin' | 'rp-id' | 'user-presence' | 'user-verification' | 'backed-up' | 'signature' | 'counter';

export const COSE_ES256 = -7;
/** Authenticator data flags (WebAuthn level 3 §6.1): backup eligible, backed up. */
export const FLAG_BE = 0x08;
export const FLAG_BS = 0x10;

export function b64url(bytes: ArrayBuffer | Uint8Array): string {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function unb64url(s: string): Uint8Array<ArrayBuffer> {
  const t = s.replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(t + '='.repeat((4 - (t.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

/** DER ECDSA signature (what authenticators send) → the raw r‖s WebCrypto verifies. */
export function derToRaw(der: Uint8Array, size = 32): Uint8Array<ArrayBuffer> {
  const fail = (): never => {
    throw new Error('bad DER signature');
  };
  let i = 0;
  if (der[i++] !== 0x30) fail();
  let len = der[i++]!;
  if (len & 0x80) i += len & 0x7f;
  const out = new Uint8Array(size * 2);
  for (let part = 0; part < 2; part++) {
    if (der[i++] !== 0x02) fail();
    len = der[i++]!;
    let int = der.subarray(i, i + len);
    i += len;
    while (int.length > size && int[0] === 0) int = int.subarray(1);
    if (int.length > size) fail();
    out.set(int, part * size + size - int.length);
  }
  return out;
}

async function sha256(data: ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * The authenticator's signature counter (authenticatorData bytes 33-36, big-endian; WebAuthn §6.1). A security key
 * that keeps one raises it with every assertion, so a value not above the last one seen means another copy of the
 * key signed in between (§6.1.1): the caller compares, as only it knows the stored value. 0 means no counter.
 */
export function signCountOf(authenticatorData: ArrayBuffer): number {
  const auth = new Uint8Array(authenticatorData);
  if (auth.length < 37) return 0;
  return new DataView(auth.buffer, auth.byteOffset + 33, 4).getUint32(0, false);
}

/** Returns null when the assertion is good, else the first check it failed. */
export async function verifyAssertion(a: AssertionInput, spki: Uint8Array<ArrayBuffer>, want: Expected): Promise<AssertionProblem | null> {
  let client: { type?: unknown; challenge?: unknown; origin?: unknown };
  try {
    client = JSON.parse(new TextDecoder().decode(a.clientDataJSON)) as typeof client;
  } catch {
    return 'client-data';
  }
  if (client.type !== 'webauthn.get') return 'type';
  if (typeof client.challenge !== 'string' || !equal(unb64url(client.challenge), want.challenge)) return 'challenge';
  if (client.origin !== want.origin) return 'origin';
  const auth = new Uint8Array(a.authenticatorData);
  if (auth.length < 37) return 'rp-id';
  if (!equal(auth.subarray(0, 32), await sha256(new TextEncoder().encode(want.rpId)))) return 'rp-id';
  const flags = auth[32]!;
  if (!(flags & 0x01)) return 'user-presence';
  if (!(flags & 0x04)) return 'user-verification';
  if (flags & (FLAG_BE | FLAG_BS)) return 'backed-up';
  try {
    const key = await crypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const signed = new Uint8Array(auth.length + 32);
    signed.set(auth, 0);
    signed.set(await sha256(a.clientDataJSON), auth.length);
    const ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, derToRaw(new Uint8Array(a.signature)), signed);
    return ok ? null : 'signature';
  } catch {
    return 'signature';
  }
}
